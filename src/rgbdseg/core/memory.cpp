#include "rgbdseg/core/memory.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace rgbdseg {

void reexec_with_huge_page_malloc(char** argv) {
  const char* current = std::getenv("GLIBC_TUNABLES");
  std::string tunables = current ? current : "";
  if (tunables.find("glibc.malloc.hugetlb") != std::string::npos) return;  // already set (or we re-executed)
  // hugetlb=1: madvise(MADV_HUGEPAGE) on every heap growth; top_pad: grow in
  // 256 MiB steps (virtual; pages are only backed when touched).
  tunables += (tunables.empty() ? "" : ":") + std::string("glibc.malloc.hugetlb=1:glibc.malloc.top_pad=268435456");
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // exec failed: carry on with the default allocator.
}

void keep_freed_memory_for_reuse() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // also turns off glibc's dynamic threshold
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void return_freed_memory() { malloc_trim(0); }

}  // namespace rgbdseg
