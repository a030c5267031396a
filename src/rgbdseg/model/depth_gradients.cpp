#include "rgbdseg/model/depth_gradients.h"

#include <ATen/ATen.h>

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
  // The stencil is valid when all 9 pixels are (outside the image counts as invalid).
  const auto ones = at::ones({1, 1, 3, 3}, depth.options());
  const auto stencil = (at::conv2d(valid, ones, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{1, 1}) > 8.5).to(depth.scalar_type());
  const auto sobel_x = at::tensor({-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0}, depth.options()).view({1, 1, 3, 3});
  const auto sobel_y = sobel_x.transpose(2, 3).contiguous();
  const auto gx = at::conv2d(z, sobel_x, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{1, 1}),
             gy = at::conv2d(z, sobel_y, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{1, 1});
  // The epsilon keeps the gradient of sqrt finite where the magnitude is 0.
  auto mag = at::sqrt(gx * gx + gy * gy + 1e-12) * stencil;
  if (o.norm_percentile > 0) {
    const int64_t B = depth.size(0);
    const auto masked = at::where(stencil > 0, mag, at::full_like(mag, NAN)).view({B, -1});
    auto scale = at::nanquantile(masked.detach(), o.norm_percentile, 1, /*keepdim=*/true);
    scale = at::nan_to_num(scale, 1.0).clamp_min(1e-6).view({B, 1, 1, 1});  // no valid pixel: leave as is
    mag = (mag / scale).clamp_max(1.0);
  }
  return {mag, stencil};
}

}  // namespace rgbdseg::model
