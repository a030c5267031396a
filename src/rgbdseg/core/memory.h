#pragma once
// Process memory tuning for short batch jobs that allocate many small objects
// (COCO evaluation: ~10k masks, ~10k per-image match records).

namespace rgbdseg {

// Backs the malloc heap with transparent huge pages (where the kernel allows
// them, "madvise" mode included) and keeps allocations in one arena. On this
// project's VM a 4 KiB page fault costs several microseconds; evaluating
// eval_medium touched ~8,000 fresh pages (~40 ms, a third of the run) before
// this, ~100 after. Call once, early, before other threads start. Harmless
// where THP is unavailable (the kernel ignores the advice).
void prefer_huge_pages_for_heap();

}  // namespace rgbdseg
