// Multi-scale deformable attention at Mask2Former's pixel-decoder size for a
// 480x640 image (levels 15x20, 30x40, 60x80: 6,300 queries and values; 8 heads
// of 32 channels, 4 points per level): our CPU kernel vs the grid_sample
// reference path (what Hugging Face runs), forward and forward+backward,
// median of N runs on the current thread count. One JSON line per case, and
// one with the kernel's data rates against a same-run copy of its value map
// (in cache) and of 256 MB (memory).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "rgbdseg/model/ops/ms_deform_attn.h"

using namespace rgbdseg;

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  at::set_num_threads(threads);
  const int64_t B = 1, heads = 8, D = 32, L = 3, P = 4;
  const auto shapes = at::tensor({15, 20, 30, 40, 60, 80}, at::kLong).view({3, 2});
  const auto starts = at::tensor({0, 300, 1500}, at::kLong);
  const int64_t S = 300 + 1200 + 4800, Q = S;
  at::manual_seed(0);
  const auto value = at::randn({B, S, heads, D});
  const auto loc = at::rand({B, Q, heads, L, P, 2});
  const auto attn = at::softmax(at::randn({B, Q, heads, L * P}), -1).view({B, Q, heads, L, P});
  auto time_it = [&](auto fn) {
    fn();  // warm-up
    std::vector<double> t;
    for (int r = 0; r < runs; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      fn();
      t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  };
  for (bool reference : {false, true}) {
    const char* name = reference ? "grid_sample reference" : "rgbdseg CPU kernel";
    const double fwd = time_it([&] {
      at::NoGradGuard g;
      return reference ? ops::ms_deform_attn_reference(value, shapes, loc, attn)
                       : ops::ms_deform_attn(value, shapes, starts, loc, attn);
    });
    const double fwd_bwd = time_it([&] {
      const auto v = value.clone().requires_grad_(true), l = loc.clone().requires_grad_(true),
                 a = attn.clone().requires_grad_(true);
      const auto out = reference ? ops::ms_deform_attn_reference(v, shapes, l, a)
                                 : ops::ms_deform_attn(v, shapes, starts, l, a);
      out.sum().backward();
    });
    std::printf("{\"path\": \"%s\", \"threads\": %d, \"forward_ms\": %.1f, \"forward_backward_ms\": %.1f}\n", name,
                threads, fwd, fwd_bwd);
    if (reference) continue;
    // What bounds the kernel: the bytes it must move against what this CPU
    // moves in the same run. Each sampling point reads 4 corner rows of D
    // floats (the forward); the backward reads them again and adds into the
    // same rows of the value gradient (read + write), so it moves 3x the
    // forward's bytes. The value map (6.4 MB) stays in cache, so the yardstick
    // is a copy of a buffer its size, and of one far larger than any cache.
    const double gathered = static_cast<double>(B * Q * heads * L * P * 4 * D) * sizeof(float);
    auto copy_rate = [&](int64_t floats) {
      const auto src = at::randn({floats}), dst = at::empty({floats});
      const double ms = time_it([&] { dst.copy_(src); });
      return 2.0 * static_cast<double>(floats) * sizeof(float) / 1e6 / ms;  // read + write, GB/s
    };
    const double cache_rate = copy_rate(B * S * heads * D), dram_rate = copy_rate(int64_t{64} << 20);
    const double fwd_rate = gathered / 1e6 / fwd, bwd_rate = 3 * gathered / 1e6 / (fwd_bwd - fwd);
    std::printf("{\"gathered_MB\": %.0f, \"forward_GBps\": %.1f, \"backward_GBps\": %.1f, "
                "\"copy_value_sized_GBps\": %.1f, \"copy_256MB_GBps\": %.1f}\n",
                gathered / 1e6, fwd_rate, bwd_rate, cache_rate, dram_rate);
    // The same arithmetic with every query sampling near its own position
    // (locations = the query's own cell plus small offsets, as a trained
    // model's mostly are) instead of anywhere in the map: if the time drops,
    // scattered gathers, not arithmetic, bound the kernel.
    const auto own = at::arange(Q, at::kFloat).div(Q).view({B, Q, 1, 1, 1, 1});
    const auto near = (own.expand({B, Q, heads, L, P, 2}) + (at::rand({B, Q, heads, L, P, 2}) - 0.5) * 0.02).clamp(0, 1)
                          .contiguous();
    const double near_fwd = time_it([&] {
      at::NoGradGuard g;
      return ops::ms_deform_attn(value, shapes, starts, near, attn);
    });
    const double near_fwd_bwd = time_it([&] {
      const auto v = value.clone().requires_grad_(true), l = near.clone().requires_grad_(true),
                 a = attn.clone().requires_grad_(true);
      ops::ms_deform_attn(v, shapes, starts, l, a).sum().backward();
    });
    std::printf("{\"path\": \"rgbdseg CPU kernel, local sampling\", \"threads\": %d, \"forward_ms\": %.1f, "
                "\"forward_backward_ms\": %.1f}\n",
                threads, near_fwd, near_fwd_bwd);
  }
  return 0;
}
