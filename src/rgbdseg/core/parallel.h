#pragma once
// A small thread pool-free parallel loop for torch-free code (evaluation,
// encoding). Torch code uses at::parallel_for instead.
#include <cstddef>
#include <functional>

namespace rgbdseg {

// Number of hardware threads (at least 1).
int hardware_threads();

// Calls fn(i) for i in [0, n) on up to `threads` threads (0 = all cores).
// Items are handed out dynamically, one at a time. The first exception thrown
// by fn is rethrown in the caller after all threads stop.
void parallel_for(size_t n, int threads, const std::function<void(size_t)>& fn);

}  // namespace rgbdseg
