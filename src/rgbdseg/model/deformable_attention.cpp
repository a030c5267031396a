#include "rgbdseg/model/deformable_attention.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/ops/ms_deform_attn.h"

#include <ATen/record_function.h>

namespace rgbdseg::model {

MultiScaleDeformableAttentionImpl::MultiScaleDeformableAttentionImpl(DeformableAttentionOptions o) : options_(o) {
  if (o.dim % o.heads != 0) {
    throw Error("deformable attention: dim " + std::to_string(o.dim) + " is not divisible by " + std::to_string(o.heads) +
                " heads");
  }
  sampling_offsets_ = register_module("sampling_offsets", torch::nn::Linear(o.dim, o.heads * o.levels * o.points * 2));
  attention_weights_ = register_module("attention_weights", torch::nn::Linear(o.dim, o.heads * o.levels * o.points));
  value_proj_ = register_module("value_proj", torch::nn::Linear(o.dim, o.dim));
  output_proj_ = register_module("output_proj", torch::nn::Linear(o.dim, o.dim));
  reset_parameters();
}

void MultiScaleDeformableAttentionImpl::reset_parameters() {
  at::NoGradGuard no_grad;
  const auto& o = options_;
  sampling_offsets_->weight.zero_();
  // Head h looks in direction 2*pi*h/heads; point p at distance p+1 (max-abs normalised).
  const auto thetas = at::arange(o.heads, at::kFloat) * (2.0 * M_PI / static_cast<double>(o.heads));
  auto grid = at::stack({thetas.cos(), thetas.sin()}, -1);
  grid = grid / std::get<0>(grid.abs().max(-1, true));
  grid = grid.view({o.heads, 1, 1, 2}).repeat({1, o.levels, o.points, 1});
  for (int64_t p = 0; p < o.points; ++p) grid.select(2, p).mul_(static_cast<double>(p + 1));
  sampling_offsets_->bias.copy_(grid.view(-1));
  attention_weights_->weight.zero_();
  attention_weights_->bias.zero_();
  torch::nn::init::xavier_uniform_(value_proj_->weight);
  value_proj_->bias.zero_();
  torch::nn::init::xavier_uniform_(output_proj_->weight);
  output_proj_->bias.zero_();
}

at::Tensor MultiScaleDeformableAttentionImpl::forward(const at::Tensor& query, const at::Tensor& value_input,
                                                      const at::Tensor& reference_points,
                                                      const at::Tensor& spatial_shapes,
                                                      const at::Tensor& level_start_index) {
  const auto& o = options_;
  const int64_t B = query.size(0), Q = query.size(1), S = value_input.size(1);
  const auto value = value_proj_->forward(value_input).view({B, S, o.heads, o.dim / o.heads});
  const auto offsets = sampling_offsets_->forward(query).view({B, Q, o.heads, o.levels, o.points, 2});
  const auto weights =
      at::softmax(attention_weights_->forward(query).view({B, Q, o.heads, o.levels * o.points}), -1)
          .view({B, Q, o.heads, o.levels, o.points});
  // Offsets are in pixels of each level: divide by (W_l, H_l).
  const auto normalizer = at::stack({spatial_shapes.select(1, 1), spatial_shapes.select(1, 0)}, -1).to(query.dtype());
  const auto locations = reference_points.view({B, Q, 1, o.levels, 1, 2}) +
                         offsets / normalizer.view({1, 1, 1, o.levels, 1, 2});
  // The sampling runs in float32 under reduced-precision autocast, as the original implementation does.
  const bool reduced = value.scalar_type() == at::kBFloat16 || value.scalar_type() == at::kHalf ||
                       locations.scalar_type() != value.scalar_type() || weights.scalar_type() != value.scalar_type();
  const auto compute = reduced ? at::kFloat : value.scalar_type();
  at::Tensor sampled;
  {
    RECORD_USER_SCOPE("rgbdseg::ms_deform_attn");  // our kernel, as an operator in profiles
    sampled = ops::ms_deform_attn(value.to(compute), spatial_shapes, level_start_index, locations.to(compute),
                                  weights.to(compute));
  }
  return output_proj_->forward(sampled);
}

}  // namespace rgbdseg::model
