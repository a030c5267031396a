#include "rgbdseg/runtime/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "rgbdseg/core/memory.h"
#include "rgbdseg/core/parallel.h"

namespace rgbdseg {

int configure_runtime(int threads) {
  // glog (used by torch warnings) reads this when it first logs.
  setenv("GLOG_minloglevel", "2", /*overwrite=*/0);
  keep_freed_memory_for_reuse();  // activations are re-allocated every pass: keep them mapped
  const int n = threads > 0 ? threads : hardware_threads();
  at::set_num_threads(n);
  // Denormal floats (below 1.2e-38) make x86 multiplies ~100x slower, and the
  // models make them: Swin's shifted-window mask adds -100 before a softmax,
  // so masked probabilities are ~e^-100, and every product with them in the
  // next matmul crawls (a 360x49x49 batched product took 7.8 ms instead of
  // ~1). Flush them to zero on this thread and on every intra-op thread
  // (threads started later inherit the setting); no result moves by more than
  // 1e-38 per product.
  at::globalContext().setFlushDenormal(true);
  at::parallel_for(0, n, 1, [](int64_t, int64_t) { at::globalContext().setFlushDenormal(true); });
  return n;
}

namespace {

// Which BLAS libblas.so.3 resolves to (Debian's alternatives); the reference
// BLAS is ~35x slower than OpenBLAS, so say it loudly.
std::string blas_name() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("openblas") != std::string::npos) return "OpenBLAS";
    if (line.find("libblis") != std::string::npos) return "BLIS";
    if (line.find("libmkl") != std::string::npos) return "MKL";
  }
  return "reference BLAS (slow: run scripts/setup.sh to install OpenBLAS)";
}

}  // namespace

bool cpu_has_native_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
  return false;
#endif
}

std::string system_info() {
  return "threads " + std::to_string(at::get_num_threads()) + ", BLAS " + blas_name() + ", device cpu" +
         (cpu_has_native_bf16() ? " (native bf16)" : "") +
         std::string(at::hasCUDA() ? " (CUDA available)" : "") + ", LibTorch " + TORCH_VERSION +
         (at::hasMKLDNN() ? ", oneDNN on" : "");
}


}  // namespace rgbdseg
