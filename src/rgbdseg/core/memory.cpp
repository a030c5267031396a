#include "rgbdseg/core/memory.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace rgbdseg {

void prefer_huge_pages_for_heap() {
  constexpr size_t kHuge = size_t{2} << 20;
  mallopt(M_ARENA_MAX, 1);                // worker threads share the (advised) main heap
  mallopt(M_MMAP_THRESHOLD, 32 << 20);    // big buffers from the heap too (32 MiB is glibc's cap)
  mallopt(M_TOP_PAD, 256 << 20);          // grow the heap in large steps, so one advice covers it
  mallopt(M_TRIM_THRESHOLD, 512 << 20);   // and do not hand it back between phases
  // Force one growth now, then advise everything from here to the top.
  void* probe = std::malloc(16 << 20);
  if (!probe) return;
  const auto begin = (reinterpret_cast<uintptr_t>(probe) + kHuge - 1) & ~(kHuge - 1);
  const auto end = reinterpret_cast<uintptr_t>(sbrk(0));
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  std::free(probe);
}

}  // namespace rgbdseg
