#include "rgbdseg/model/depth_decomposition.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/histogram_peaks.h"

namespace rgbdseg::model {

namespace {

void check_depth(const at::Tensor& depth, const at::Tensor& valid, const char* where) {
  if (depth.dim() != 4 || depth.size(1) != 1) throw Error(std::string(where) + ": expected depth [B, 1, H, W]");
  if (!valid.sizes().equals(depth.sizes())) throw Error(std::string(where) + ": valid must have depth's shape");
}

// Smooths each row of hist [B, N] with a Gaussian (zero padding: no mass leaks in).
at::Tensor smooth_rows(const at::Tensor& hist, double sigma) {
  const int64_t r = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3 * sigma)));
  auto k = at::arange(-r, r + 1, hist.options());
  k = at::exp(-(k * k) / (2 * sigma * sigma));
  k = (k / k.sum()).view({1, 1, -1});
  return at::conv1d(hist.unsqueeze(1), k, at::Tensor(), 1, r).squeeze(1);
}

}  // namespace

DepthModes find_depth_modes(const at::Tensor& depth_in, const at::Tensor& valid_in, const DepthDecompositionOptions& o) {
  check_depth(depth_in, valid_in, "find_depth_modes");
  if (o.num_modes < 1 || o.bins < 3) throw Error("find_depth_modes: need num_modes >= 1 and bins >= 3");
  at::NoGradGuard no_grad;
  // Histograms in float64: counts stay exact and bin positions do not depend on rounding.
  const auto depth = depth_in.detach().to(at::kDouble), valid = valid_in.detach().to(at::kDouble) > 0.5;
  const int64_t B = depth.size(0), N = o.bins;
  const auto flat = depth.view({B, -1}), ok = valid.view({B, -1});
  const double inf = std::numeric_limits<double>::infinity();
  const auto any = ok.any(1, /*keepdim=*/true);
  auto lo = at::where(ok, flat, inf).amin(1, true), hi = at::where(ok, flat, -inf).amax(1, true);
  lo = at::where(any, lo, at::zeros_like(lo));
  hi = at::where(any, hi, at::ones_like(hi));
  // clamp_min: a single depth value has zero range (it gets no mode, below).
  const auto width = (hi - lo).clamp_min(1e-9) / static_cast<double>(N);
  const auto index = ((flat - lo) / width).floor().clamp(0, N - 1).nan_to_num(0).to(at::kLong);
  auto hist = at::zeros({B, N}, depth.options()).scatter_add_(1, index, ok.to(at::kDouble));
  if (o.histogram_smoothing > 0) hist = smooth_rows(hist, o.histogram_smoothing);
  // One empty bin at each end: the research code's histogram can never have a
  // mode in its first or last bin (SciPy's rule), i.e. at the nearest or farthest depth.
  const auto padded = at::constant_pad_nd(hist, {1, 1}, 0.0);
  const auto peaks = find_histogram_peaks(padded);
  const auto threshold = o.prominence * padded.amax(1);
  const auto sel = select_top_peaks(padded, peaks, threshold, o.num_modes);
  const auto bin = (sel.index - 1).clamp(0, N - 1).to(at::kDouble);
  // One depth value (zero range) is no distribution to decompose: no modes, as in the research code.
  const auto present = sel.present.logical_and(any).logical_and(hi > lo);
  auto centres = lo + (bin + 0.5) * width;
  centres = at::where(present, centres, at::zeros_like(centres)).to(depth_in.scalar_type());
  return {centres, present};
}

at::Tensor depth_region_maps(const at::Tensor& depth, const at::Tensor& valid, const DepthModes& modes,
                             const at::Tensor& ratio, const DepthDecompositionOptions& o) {
  check_depth(depth, valid, "depth_region_maps");
  const int64_t B = depth.size(0), T = modes.centres.size(1);
  if (modes.centres.size(0) != B || ratio.numel() != B) throw Error("depth_region_maps: batch sizes differ");
  const auto dtype = depth.scalar_type();
  const auto c = modes.centres.to(dtype).view({B, T, 1, 1});
  const auto present = modes.present.to(dtype).view({B, T, 1, 1});
  const auto half = c * ratio.to(dtype).view({B, 1, 1, 1}) * 0.5;
  const auto ok = valid.to(dtype);
  // Holes may hold NaN or inf; 0 * NaN would still be NaN, so replace them first.
  const auto d = at::where(ok > 0.5, depth, at::zeros_like(depth));
  const auto distance = (d - c).abs();  // [B, T, H, W]
  at::Tensor region;
  if (o.soft_windows) {
    // Edge width scales with depth, as the window does; clamp keeps absent modes (c = 0) finite.
    const auto edge = (c * o.temperature).clamp_min(1e-6);
    region = at::sigmoid((half - distance) / edge);
  } else {
    region = (distance <= half).to(dtype);
  }
  region = region * present * ok;
  const auto remaining = (1 - region).prod(1, /*keepdim=*/true);
  return at::cat({region, remaining}, 1);
}

}  // namespace rgbdseg::model
