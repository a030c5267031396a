#include "rgbdseg/model/histogram_peaks.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <string>

#include "rgbdseg/core/error.h"

namespace rgbdseg::model {

namespace {

void check_hist(const at::Tensor& hist, const char* fn) {
  if (!hist.defined() || hist.dim() != 2 || hist.size(1) < 1) {
    throw Error(std::string(fn) + ": expected hist [B, N] with N >= 1, got " +
                (hist.defined() ? std::to_string(hist.dim()) + "-d tensor" : std::string("an undefined tensor")));
  }
  if (!at::isFloatingType(hist.scalar_type())) {
    throw Error(std::string(fn) + ": expected a floating-point hist, got " + c10::toString(hist.scalar_type()));
  }
}

}  // namespace

HistogramPeaks find_histogram_peaks(const at::Tensor& hist) {
  check_hist(hist, "find_histogram_peaks");
  const int64_t B = hist.size(0), N = hist.size(1);
  const auto long_opts = hist.options().dtype(at::kLong);
  const auto idx = at::arange(N, long_opts).unsqueeze(0).expand({B, N});

  // Runs of equal samples: [start, end] for every sample, by cummax over the
  // indices where a run starts (and, on the flipped row, where one ends).
  const auto differs = hist.slice(1, 1) != hist.slice(1, 0, N - 1);  // [B, N-1]
  const auto edge = at::ones({B, 1}, differs.options());
  const auto is_start = at::cat({edge, differs}, 1), is_end = at::cat({differs, edge}, 1);
  const auto start = std::get<0>(at::cummax(at::where(is_start, idx, at::zeros_like(idx)), 1));
  const auto rev = (N - 1) - idx;  // index counted from the right
  const auto end =
      (N - 1) - std::get<0>(at::cummax(at::where(is_end, rev, at::zeros_like(rev)).flip({1}), 1)).flip({1});

  // A run is a peak when both outer neighbours exist and are strictly lower;
  // scipy reports its middle sample, rounded down.
  const auto left = hist.gather(1, (start - 1).clamp_min(0)), right = hist.gather(1, (end + 1).clamp_max(N - 1));
  const auto is_peak = (start >= 1)
                           .logical_and(end <= N - 2)
                           .logical_and(left < hist)
                           .logical_and(right < hist)
                           .logical_and(idx == at::div(start + end, 2, "floor"));

  // Prominence, all rows p at once as [B, N(p), N(i)] matrices: the nearest
  // strictly higher sample on each side bounds the walk, and the lowest
  // sample between that bound and p on each side is the base.
  const auto hp = hist.unsqueeze(2), hi = hist.unsqueeze(1);
  const auto p = at::arange(N, long_opts).view({1, N, 1}), i = at::arange(N, long_opts).view({1, 1, N});
  const auto higher = hi > hp;
  const auto left_bound =
      at::where(higher.logical_and(i < p), i, at::scalar_tensor(-1, long_opts)).amax(2, /*keepdim=*/true);
  const auto right_bound =
      at::where(higher.logical_and(i > p), i, at::scalar_tensor(N, long_opts)).amin(2, /*keepdim=*/true);
  const auto inf = at::scalar_tensor(std::numeric_limits<double>::infinity(), hist.options());
  const auto left_min = at::where((i > left_bound).logical_and(i <= p), hi, inf).amin(2);
  const auto right_min = at::where((i < right_bound).logical_and(i >= p), hi, inf).amin(2);
  const auto prominence = at::where(is_peak, hist - at::maximum(left_min, right_min), at::zeros_like(hist));
  return {is_peak, prominence};
}

SelectedModes select_top_peaks(const at::Tensor& hist, const HistogramPeaks& peaks, const at::Tensor& min_prominence,
                               int64_t k) {
  check_hist(hist, "select_top_peaks");
  const int64_t B = hist.size(0), N = hist.size(1);
  if (k < 0) throw Error("select_top_peaks: expected k >= 0, got " + std::to_string(k));
  if (!peaks.is_peak.defined() || peaks.is_peak.sizes() != hist.sizes() || peaks.prominence.sizes() != hist.sizes()) {
    throw Error("select_top_peaks: peaks do not match hist [B, N]");
  }
  at::Tensor threshold = min_prominence.to(hist.scalar_type());
  if (threshold.dim() == 1 && threshold.size(0) == B) {
    threshold = threshold.unsqueeze(1);
  } else if (threshold.dim() != 0) {
    throw Error("select_top_peaks: expected min_prominence [B] or a scalar tensor, got " +
                std::to_string(threshold.dim()) + "-d with " + std::to_string(threshold.numel()) + " elements");
  }
  const auto kept = peaks.is_peak.logical_and(peaks.prominence >= threshold);

  // Sort by height descending; a stable sort of the flipped row puts the
  // larger index first among equal heights. Non-kept samples sort last.
  const auto key =
      at::where(kept, hist, at::scalar_tensor(-std::numeric_limits<double>::infinity(), hist.options())).flip({1});
  const auto order = (N - 1) - std::get<1>(at::sort(key, /*stable=*/true, /*dim=*/1, /*descending=*/true));
  const int64_t m = std::min(k, N);
  auto index = order.slice(1, 0, m);
  auto present = kept.gather(1, index);
  index = at::where(present, index, at::zeros_like(index));
  if (k > m) {  // more modes asked for than bins: pad with absent entries
    index = at::cat({index, at::zeros({B, k - m}, index.options())}, 1);
    present = at::cat({present, at::zeros({B, k - m}, present.options())}, 1);
  }
  return {index, present};
}

}  // namespace rgbdseg::model
