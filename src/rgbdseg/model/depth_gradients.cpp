#include "rgbdseg/model/depth_gradients.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/autocast.h"

namespace rgbdseg::model {

namespace {

// Separable Gaussian blur of x [B,1,H,W] (zero padding), radius 3 sigma.
at::Tensor gaussian_blur(const at::Tensor& x, double sigma) {
  const int64_t r = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3 * sigma)));
  auto k = at::arange(-r, r + 1, x.options());
  k = at::exp(-(k * k) / (2 * sigma * sigma));
  k = k / k.sum();
  const auto h = at::conv2d(x, k.view({1, 1, 1, 2 * r + 1}), at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, r});
  return at::conv2d(h, k.view({1, 1, 2 * r + 1, 1}), at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{r, 0});
}

}  // namespace

at::Tensor row_nanquantile(const at::Tensor& x, double q) {
  if (x.dim() != 2 || !(q >= 0 && q <= 1)) throw Error("row_nanquantile: expected x [B, N] and q in [0, 1]");
  const int64_t n = x.size(1);
  const auto count = at::isnan(x).logical_not().sum(1, /*keepdim=*/true);  // [B, 1] int64
  // torch's ranks: q (a tensor of x's dtype) times (count - 1), negative -> 0.
  auto ranks = at::scalar_tensor(q, x.options()) * (count - 1);
  ranks.masked_fill_(ranks < 0, 0);
  const auto below = ranks.to(at::kLong), above = ranks.ceil().to(at::kLong);
  const auto weights = ranks - below;
  // Ascending rank r is descending position count-1-r; the slack covers
  // rounding in ranks. Missing values sort behind every real one.
  const bool from_top = q >= 0.5;
  const double reach = from_top ? (n - 1) * (1 - q) : (n - 1) * q;
  const int64_t k = std::min<int64_t>(n, static_cast<int64_t>(reach) + 3 + (n >> 20));
  const auto filled = at::where(at::isnan(x), at::full({}, from_top ? -INFINITY : INFINITY, x.options()), x);
  const auto selected = std::get<0>(at::topk(filled, k, 1, /*largest=*/from_top, /*sorted=*/true));
  auto position = [&](const at::Tensor& rank) { return (from_top ? (count - 1) - rank : rank).clamp(0, k - 1); };
  auto result = selected.gather(1, position(below)).lerp_(selected.gather(1, position(above)), weights);
  return at::where(count > 0, result, at::full({}, NAN, x.options()));
}

DepthGradients depth_gradients(const at::Tensor& depth, const DepthGradientOptions& o) {
  if (depth.dim() != 4 || depth.size(1) != 1) throw Error("depth_gradients: expected depth [B, 1, H, W]");
  // Convolutions are on autocast's bf16 list: without this, bf16 training
  // would see quantisation contours on every slanted surface, and f32
  // inference clean gradients.
  const AutocastSuspended full_precision;
  const auto valid = at::isfinite(depth).logical_and(depth > 0).to(depth.scalar_type());
  auto z = at::where(valid > 0, depth, at::ones_like(depth));  // placeholder where invalid (masked below)
  if (o.log_depth) z = at::log(z);
  z = z * valid;
  if (o.smooth_sigma > 0) {
    // Normalised convolution: average only the valid readings under the kernel.
    const auto weight = gaussian_blur(valid, o.smooth_sigma);
    z = gaussian_blur(z, o.smooth_sigma) / weight.clamp_min(1e-6) * valid;
  }
  // The stencil is valid when all 9 pixels are (outside the image counts as
  // invalid), and the Sobel filters are separable ([1 2 1] smoothing across a
  // [-1 0 1] difference): shifted slices of the zero-padded maps do both in a
  // few passes, where 3x3 convolutions with one channel run far below the
  // CPU's convolution rate (a 720p frame: ~50 ms of convolutions).
  const auto H = depth.size(2), W = depth.size(3);
  auto rows = [&](const at::Tensor& t, int64_t offset) { return t.slice(2, offset, offset + H); };
  auto cols = [&](const at::Tensor& t, int64_t offset) { return t.slice(3, offset, offset + W); };
  const auto vp = at::constant_pad_nd(valid, {1, 1, 1, 1}, 0);
  const auto v_rows = at::minimum(at::minimum(rows(vp, 0), rows(vp, 1)), rows(vp, 2));  // [B,1,H,W+2]
  const auto stencil = at::minimum(at::minimum(cols(v_rows, 0), cols(v_rows, 1)), cols(v_rows, 2));
  const auto zp = at::constant_pad_nd(z, {1, 1, 1, 1}, 0);
  const auto smooth_rows = rows(zp, 0) + 2 * rows(zp, 1) + rows(zp, 2);  // [B,1,H,W+2]
  const auto smooth_cols = cols(zp, 0) + 2 * cols(zp, 1) + cols(zp, 2);  // [B,1,H+2,W]
  const auto gx = cols(smooth_rows, 2) - cols(smooth_rows, 0), gy = rows(smooth_cols, 2) - rows(smooth_cols, 0);
  // The epsilon keeps the gradient of sqrt finite where the magnitude is 0.
  auto mag = at::sqrt(gx * gx + gy * gy + 1e-12) * stencil;
  if (o.norm_percentile > 0) {
    const int64_t B = depth.size(0);
    const auto masked = at::where(stencil > 0, mag, at::full_like(mag, NAN)).view({B, -1});
    auto scale = row_nanquantile(masked.detach(), o.norm_percentile);
    scale = at::nan_to_num(scale, 1.0).clamp_min(1e-6).view({B, 1, 1, 1});  // no valid pixel: leave as is
    mag = (mag / scale).clamp_max(1.0);
  }
  return {mag, stencil};
}

}  // namespace rgbdseg::model
