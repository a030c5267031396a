#pragma once
// Process-wide LibTorch set-up and facts about where we run. The header is
// torch-free so command files can use it without paying torch's compile time.
#include <exception>
#include <string>

namespace rgbdseg {

// Sets LibTorch's intra-op threads (0 = all cores; Debian's libtorch starts
// with 1), keeps freed tensor memory for reuse (core/memory.h), flushes
// denormal floats to zero on every intra-op thread (they are ~100x slower to
// multiply, and Swin's masked softmax makes them), and quiets glog's "Logging
// before InitGoogleLogging" noise.
// Returns the thread count in effect.
int configure_runtime(int threads);

// True when this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16): there,
// bf16 autocast is faster than float32; elsewhere it is emulated and slower.
bool cpu_has_native_bf16();

// One line: threads, BLAS, device, LibTorch version (logged at start-up).
std::string system_info();

}  // namespace rgbdseg
