#include "rgbdseg/model/seed_depth.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/histogram_peaks.h"

namespace rgbdseg::model {

namespace {

std::string shape_of(const at::Tensor& t) {
  if (!t.defined()) return "an undefined tensor";
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? "," : "") + std::to_string(t.size(d));
  return s + "] " + c10::toString(t.scalar_type());
}

void check(const at::Tensor& t, int64_t dim, at::ScalarType dtype, const char* fn, const char* what) {
  if (!t.defined() || t.dim() != dim || t.scalar_type() != dtype) {
    throw Error(std::string(fn) + ": expected " + what + ", got " + shape_of(t));
  }
}

}  // namespace

SeedGradientFeatures seed_gradient_features(const at::Tensor& depth8) {
  check(depth8, 2, at::kByte, "seed_gradient_features", "depth8 [H, W] uint8");
  const int64_t H = depth8.size(0), W = depth8.size(1);
  if (H < 2 || W < 2)
    throw Error("seed_gradient_features: reflect-101 borders need H, W >= 2, got " + shape_of(depth8));
  const auto d = depth8.to(at::kCPU).to(at::kFloat);
  // at::reflection_pad2d is OpenCV's BORDER_REFLECT_101 (the edge pixel is not repeated).
  const auto p = at::reflection_pad2d(d.view({1, 1, H, W}), {1, 1, 1, 1}).view({H + 2, W + 2});
  // Sobel as sums of shifted slices: integer-valued float32, so exact in any order
  // (a conv2d backend free to pick Winograd would not be).
  const auto dx = p.slice(1, 2) - p.slice(1, 0, W);  // [H+2, W]
  const auto dy = p.slice(0, 2) - p.slice(0, 0, H);  // [H, W+2]
  const auto gx = dx.slice(0, 0, H) + 2 * dx.slice(0, 1, H + 1) + dx.slice(0, 2);
  const auto gy = dy.slice(1, 0, W) + 2 * dy.slice(1, 1, W + 1) + dy.slice(1, 2);
  auto mag = at::sqrt(gx * gx + gy * gy);
  mag = at::where(d != 0, mag, at::zeros_like(mag));
  const auto M = (mag > 0).to(at::kFloat);
  if (!M.any().item<bool>()) return {at::zeros_like(mag), M};
  // 0-d float32 tensors keep every step in float32, as NumPy's float32 scalars do.
  const auto min_nz = at::where(M > 0, mag, at::full_like(mag, std::numeric_limits<float>::infinity())).min();
  const auto max_all = mag.max();
  if (!(max_all > min_nz).item<bool>()) return {at::zeros_like(mag), M};
  return {(mag - min_nz) / (max_all - min_nz), M};
}

at::Tensor seed_depth_pixel_values(const at::Tensor& resized_u8) {
  check(resized_u8, 2, at::kByte, "seed_depth_pixel_values", "resized depth [H, W] uint8");
  // HF rescale: multiply in float64, then cast; normalise in float32 with
  // float32 mean/std (an all-float32 or all-float64 recipe is 1-2 ulp off).
  const auto x = (resized_u8.to(at::kCPU).to(at::kDouble) * 0.00392156862745098).to(at::kFloat);
  // The preprocessor config's float32 values, spelled out: 0.224 there is
  // 0.2239999920129776, one ulp below float(0.224) (the nearest-float
  // constant changes 38 of 47 grey levels of the golden depth by one ulp).
  const auto mean = at::tensor({0.48500001430511475, 0.4560000002384186, 0.4059999883174896}, at::kDouble)
                        .to(at::kFloat)
                        .view({3, 1, 1});
  const auto std = at::tensor({0.2290000021457672, 0.2239999920129776, 0.22499999403953552}, at::kDouble)
                       .to(at::kFloat)
                       .view({3, 1, 1});
  return (x.unsqueeze(0) - mean) / std;
}

at::Tensor seed_grey(const at::Tensor& depth_pixel_values) {
  const auto& v = depth_pixel_values;
  check(v, 3, at::kFloat, "seed_grey", "depth_pixel_values [3, H, W] float32");
  if (v.size(0) != 3) throw Error("seed_grey: expected 3 channels, got " + shape_of(v));
  // Tensor * Python float multiplies by the weight rounded to float32.
  return v[0] * 0.299 + v[1] * 0.587 + v[2] * 0.114;
}

SeedHistogram seed_histogram(const at::Tensor& D, int64_t bins) {
  if (!D.defined() || D.scalar_type() != at::kFloat)
    throw Error("seed_histogram: expected float32 D, got " + shape_of(D));
  if (bins < 1) throw Error("seed_histogram: expected bins >= 1, got " + std::to_string(bins));
  const auto flat = D.to(at::kCPU).contiguous().view(-1);
  const float* x = flat.data_ptr<float>();
  const int64_t n = flat.numel();

  // range = (nanmin D, nanmax D) as float32.
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (int64_t j = 0; j < n; ++j) {
    if (std::isnan(x[j])) continue;
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
  if (!(lo <= hi) || !std::isfinite(lo) || !std::isfinite(hi)) {
    throw Error("seed_histogram: D has no finite values (range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                "])");
  }
  // A constant D: numpy widens the range by 0.5 each side; float32 scalar minus
  // a Python float is float64 in numpy 1.24, so the widened edges are float64.
  double first = lo, last = hi;
  float denom = hi - lo;  // float32 scalar - float32 scalar stays float32
  if (lo == hi) {
    first = static_cast<double>(lo) - 0.5;
    last = static_cast<double>(hi) + 0.5;
    denom = static_cast<float>(last - first);
  }

  // np.linspace(first, last, bins + 1) in float64 (i * step, then + start,
  // the last value set to stop), then cast to float32.
  const double delta = last - first, step = delta / static_cast<double>(bins);
  auto y = at::arange(bins + 1, at::kDouble);
  y = step == 0 ? y / static_cast<double>(bins) * delta : y * step;  // numpy's denormal-step branch
  y = y + first;
  y[bins] = last;
  const auto edges = y.to(at::kFloat);
  const float* e = edges.data_ptr<float>();

  // numpy's bin index: float32 ((x - first) / (last - first)) * bins, truncated,
  // then corrected by one where the edges disagree.
  const float first_f = static_cast<float>(first), last_f = static_cast<float>(last);
  const float bins_f = static_cast<float>(bins);
  auto counts = at::zeros({bins}, at::kLong);
  int64_t* c = counts.data_ptr<int64_t>();
  for (int64_t j = 0; j < n; ++j) {
    const float v = x[j];
    if (!(v >= first_f && v <= last_f)) continue;  // NaN and out-of-range values are dropped
    const float f = ((v - first_f) / denom) * bins_f;
    int64_t i = static_cast<int64_t>(f);
    if (i == bins) i = bins - 1;
    if (v < e[i] && i > 0) --i;
    if (v >= e[i + 1] && i != bins - 1) ++i;
    ++c[i];
  }
  return {counts, edges};
}

SeedDecomposition seed_depth_decomposition(const at::Tensor& D, double ratio, int64_t num_modes) {
  check(D, 2, at::kFloat, "seed_depth_decomposition", "D [H, W] float32");
  if (num_modes < 1) throw Error("seed_depth_decomposition: expected num_modes >= 1, got " + std::to_string(num_modes));
  const auto d = D.to(at::kCPU).contiguous();
  const int64_t H = d.size(0), W = d.size(1);
  const auto hist = seed_histogram(d, 512);

  // scipy works in float64; its threshold is 0.01 * max(hist) in float64.
  const auto h = hist.counts.to(at::kDouble).unsqueeze(0);
  const auto found = find_histogram_peaks(h);
  const auto min_prominence = h.amax(1) * 0.01;
  const auto kept = found.is_peak.logical_and(found.prominence >= min_prominence.unsqueeze(1));
  const auto selected = select_top_peaks(h, found, min_prominence, num_modes);

  SeedDecomposition out;
  out.peaks = kept[0].nonzero().view(-1);
  const auto index = selected.index[0].masked_select(selected.present[0]);
  const int64_t k = index.numel();
  if (k == 0) {  // the model then uses num_modes + 1 all-zero masks, "remaining" included
    out.modes = at::zeros({0}, at::kDouble);
    out.windows = at::zeros({0, 2}, at::kDouble);
    out.region_masks = at::zeros({num_modes + 1, H, W}, at::kByte);
    return out;
  }

  const float* e = hist.edges.data_ptr<float>();
  const int64_t* idx = index.data_ptr<int64_t>();
  out.modes = at::empty({k}, at::kDouble);
  out.windows = at::empty({k, 2}, at::kDouble);
  std::vector<at::Tensor> masks;
  at::Tensor any = at::zeros({H, W}, at::kBool);
  for (int64_t t = 0; t < k; ++t) {
    // centre = left edge + half the bin width, in float32.
    const float centre = e[idx[t]] + (e[idx[t] + 1] - e[idx[t]]) / 2.0f;
    // float32 scalar * Python float is float64 in numpy 1.24; a negative lower
    // bound becomes 0, so a negative centre gives an empty window.
    const double c = centre, half = c * ratio / 2;
    const double lower = std::max(0.0, c - half), upper = c + half;
    out.modes[t] = c;
    out.windows[t][0] = lower;
    out.windows[t][1] = upper;
    // NumPy compares a float32 array with a float64 scalar in float32.
    const auto mask = (d >= static_cast<double>(static_cast<float>(lower)))
                          .logical_and(d <= static_cast<double>(static_cast<float>(upper)));
    any = any.logical_or(mask);
    masks.push_back(mask.to(at::kByte));
  }
  masks.push_back(any.logical_not().to(at::kByte));
  out.region_masks = at::stack(masks);
  return out;
}

at::Tensor seed_pool_region_masks(const at::Tensor& masks, int64_t h, int64_t w) {
  check(masks, 3, at::kByte, "seed_pool_region_masks", "masks [K, H, W] uint8");
  if (h < 1 || w < 1)
    throw Error("seed_pool_region_masks: expected a positive size, got " + std::to_string(h) + "x" + std::to_string(w));
  if (masks.size(0) == 0) return at::zeros({0, h, w}, at::kByte);
  return std::get<0>(at::adaptive_max_pool2d(masks.to(at::kFloat), {h, w})).to(at::kByte);
}

}  // namespace rgbdseg::model
