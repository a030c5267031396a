// The reference formulation (Hugging Face's multi_scale_deformable_attention):
// one grid_sample per level, then a weighted sum. Differentiable through ATen.
#include <ATen/ATen.h>

#include "rgbdseg/model/ops/ms_deform_attn.h"

namespace rgbdseg::ops {

at::Tensor ms_deform_attn_reference(const at::Tensor& value, const at::Tensor& spatial_shapes,
                                    const at::Tensor& sampling_locations, const at::Tensor& attention_weights) {
  const int64_t B = value.size(0), heads = value.size(2), D = value.size(3);
  const int64_t Q = sampling_locations.size(1), L = sampling_locations.size(3), P = sampling_locations.size(4);
  const auto shapes = spatial_shapes.to(at::kCPU).to(at::kLong).contiguous();
  std::vector<int64_t> sizes;
  for (int64_t l = 0; l < L; ++l) sizes.push_back(shapes[l][0].item<int64_t>() * shapes[l][1].item<int64_t>());
  const auto value_list = value.split(sizes, 1);
  const auto grids = 2 * sampling_locations - 1;  // grid_sample coordinates
  std::vector<at::Tensor> sampled;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t H = shapes[l][0].item<int64_t>(), W = shapes[l][1].item<int64_t>();
    // [B, H*W, heads, D] -> [B*heads, D, H, W]
    const auto v = value_list[static_cast<size_t>(l)].flatten(2).transpose(1, 2).reshape({B * heads, D, H, W});
    // [B, Q, heads, P, 2] -> [B*heads, Q, P, 2]
    const auto g = grids.select(3, l).transpose(1, 2).flatten(0, 1);
    sampled.push_back(at::grid_sampler(v, g, /*bilinear*/ 0, /*zeros*/ 0, /*align_corners=*/false));  // [B*heads, D, Q, P]
  }
  // [B, Q, heads, L, P] -> [B*heads, 1, Q, L*P]
  const auto w = attention_weights.transpose(1, 2).reshape({B * heads, 1, Q, L * P});
  const auto out = (at::stack(sampled, -2).flatten(-2) * w).sum(-1);  // [B*heads, D, Q]
  return out.view({B, heads * D, Q}).transpose(1, 2).contiguous();
}

}  // namespace rgbdseg::ops
