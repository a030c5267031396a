#pragma once
// Process memory tuning for short batch jobs that allocate many small objects
// (COCO evaluation: ~10k-100k masks and per-image match records).

namespace rgbdseg {

// Restarts the current program (same arguments) with glibc's malloc told to
// back its heaps with transparent huge pages and grow them in large steps
// (GLIBC_TUNABLES glibc.malloc.hugetlb=1, top_pad=256 MiB), unless hugetlb is
// already set. On this project's VM a 4 KiB page fault costs several
// microseconds: `rgbdseg cocoeval` on eval_medium took ~0.10 s with ~4,500
// faults before and ~0.04 s with ~400 after. Tunables must be in place before
// the process starts, hence the re-exec (a few ms).
// Returns normally (doing nothing) if the tunable is set or exec fails.
void reexec_with_huge_page_malloc(char** argv);

// Keeps tensor-sized blocks (up to 32 MiB, glibc's cap) in the malloc heap and
// freed memory in the process, instead of mmap()/munmap() per allocation. A
// model forward pass allocates and frees the same large activations every
// time; with glibc's defaults each one is fresh, page-faulted memory. Measured
// on the Swin-T Mask2Former at 480x640 (2 threads): 2.60 s -> 1.37 s per
// forward. Costs: memory freed between passes is not returned to the system.
void keep_freed_memory_for_reuse();

// Hands the memory freed so far back to the system (glibc malloc_trim). For a
// long job whose phases allocate differently: training evaluates every few
// hundred steps, and the evaluation's freed blocks would otherwise stay in the
// process for good (bench/soak.sh: +216 MB at the first evaluation, +67 MB at
// the second). Costs page faults on the next allocations.
void return_freed_memory();

}  // namespace rgbdseg
