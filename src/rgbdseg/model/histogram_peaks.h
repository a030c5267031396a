#pragma once
// Peak finding on batched 1-D histograms with SciPy's semantics
// (scipy.signal.find_peaks with a `prominence` threshold), as tensor ops on
// the histogram's device: no host synchronisation, no per-image loop. Used by
// the DSAM depth decomposition (metric mode and the seed-compatible mode).
//
// Semantics (scipy 1.10):
//  * a peak is a sample strictly above its left neighbour and its right
//    neighbour; a flat top (run of equal samples) whose outer neighbours are
//    both strictly smaller counts once, at its middle sample (rounded down);
//    the first and last samples are never peaks;
//  * prominence of peak p: h[p] - max(left_min, right_min), where left_min is
//    the minimum of h over [j+1, p] with j the nearest index left of p with
//    h[j] > h[p] (or the whole prefix if there is none), right_min likewise;
//  * a peak is kept when prominence >= min_prominence (inclusive).
#include <ATen/core/Tensor.h>

namespace rgbdseg::model {

struct HistogramPeaks {
  at::Tensor is_peak;     // [B, N] bool: local maxima (before the prominence filter)
  at::Tensor prominence;  // [B, N] hist's dtype: prominence where is_peak, 0 elsewhere
};

// hist: [B, N] floating (counts as float/double). N >= 1. The prominence
// compares every pair of bins: O(B N^2) time and memory, fine for N <= ~2048.
HistogramPeaks find_histogram_peaks(const at::Tensor& hist);

struct SelectedModes {
  at::Tensor index;    // [B, k] int64 bin index of each selected peak (0 where !present)
  at::Tensor present;  // [B, k] bool: fewer than k peaks pass the filter -> trailing false
};

// Keeps the peaks with prominence >= min_prominence[b] ([B] or scalar tensor),
// sorted by (height, index) descending -- ties on height go to the larger
// index, as the research code's sort of (height, centre) pairs does -- and
// returns the first k.
SelectedModes select_top_peaks(const at::Tensor& hist, const HistogramPeaks& peaks, const at::Tensor& min_prominence,
                               int64_t k);

}  // namespace rgbdseg::model
