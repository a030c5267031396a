// configure_runtime: the thread count it reports, and denormals flushed to
// zero on the calling thread and on every intra-op thread.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <cfloat>

#include "rgbdseg/runtime/runtime.h"

namespace {
// 1e-30 * 1e-10 = 1e-40: a denormal float, unless the CPU flushes it to zero.
float denormal_product() {
  volatile float a = 1e-30f, b = 1e-10f;
  return a * b;
}
}  // namespace

TEST(Runtime, DenormalsAreFlushedOnEveryIntraOpThread) {
  ASSERT_GT(denormal_product(), 0.0f) << "this CPU flushes denormals by default: the test has nothing to check";
  EXPECT_EQ(rgbdseg::configure_runtime(2), 2);
  EXPECT_EQ(at::get_num_threads(), 2);
  EXPECT_EQ(denormal_product(), 0.0f);
  std::atomic<int> nonzero{0}, chunks{0};
  at::parallel_for(0, 2, 1, [&](int64_t, int64_t) {
    ++chunks;
    if (denormal_product() != 0.0f) ++nonzero;
  });
  EXPECT_EQ(chunks.load(), 2);
  EXPECT_EQ(nonzero.load(), 0);
  // A tensor product that makes denormals gives zeros.
  const auto t = at::full({64}, 1e-30f) * at::full({64}, 1e-10f);
  EXPECT_EQ(t.abs().max().item<float>(), 0.0f);
  at::globalContext().setFlushDenormal(false);  // leave other tests' arithmetic as it was
}
