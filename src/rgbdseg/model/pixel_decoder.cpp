#include "rgbdseg/model/pixel_decoder.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/activation.h>

#include <cmath>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/norms.h"

namespace rgbdseg::model {

namespace F = torch::nn::functional;

at::Tensor sine_position_embedding(const at::Tensor& like, int64_t n) {
  const int64_t B = like.size(0), H = like.size(2), W = like.size(3);
  const auto opt = like.options();
  const double scale = 2 * M_PI, eps = 1e-6;
  // Cumulative counts 1..H and 1..W (no padding mask), normalised by the last + eps.
  auto y = at::arange(1, H + 1, opt).view({1, H, 1}).expand({B, H, W});
  auto x = at::arange(1, W + 1, opt).view({1, 1, W}).expand({B, H, W});
  y = y / (static_cast<double>(H) + eps) * scale;
  x = x / (static_cast<double>(W) + eps) * scale;
  const auto dim_t = at::pow(10000.0, 2 * at::floor_divide(at::arange(n, opt), 2) / static_cast<double>(n));
  auto embed = [&](const at::Tensor& t) {
    const auto p = t.unsqueeze(-1) / dim_t;  // [B, H, W, n]
    return at::stack({p.slice(3, 0, n, 2).sin(), p.slice(3, 1, n, 2).cos()}, 4).flatten(3);
  };
  return at::cat({embed(y), embed(x)}, 3).permute({0, 3, 1, 2});
}

PixelDecoderEncoderLayerImpl::PixelDecoderEncoderLayerImpl(const PixelDecoderOptions& o) {
  self_attn_ = register_module("self_attn", MultiScaleDeformableAttention(DeformableAttentionOptions{
                                                o.feature_size, o.heads, o.levels, o.points}));
  self_attn_layer_norm_ = register_module(
      "self_attn_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.feature_size}).eps(o.layer_norm_eps)));
  fc1_ = register_module("fc1", torch::nn::Linear(o.feature_size, o.encoder_ffn_dim));
  fc2_ = register_module("fc2", torch::nn::Linear(o.encoder_ffn_dim, o.feature_size));
  final_layer_norm_ = register_module(
      "final_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.feature_size}).eps(o.layer_norm_eps)));
}

at::Tensor PixelDecoderEncoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& pos,
                                                 const at::Tensor& reference_points, const at::Tensor& spatial_shapes,
                                                 const at::Tensor& level_start_index) {
  // Post-norm: queries carry the position embedding, values do not.
  auto h = apply_norm(self_attn_layer_norm_, 
      x + self_attn_->forward(x + pos, x, reference_points, spatial_shapes, level_start_index));
  return apply_norm(final_layer_norm_, h + fc2_->forward(at::relu(fc1_->forward(h))));
}

PixelDecoderImpl::PixelDecoderImpl(PixelDecoderOptions o) : options_(std::move(o)) {
  const auto& op = options_;
  const int64_t n_in = static_cast<int64_t>(op.in_channels.size());
  if (n_in < op.levels + 1) throw Error("pixel decoder: needs at least levels + 1 backbone maps");
  auto group_norm = [&](int64_t c) { return torch::nn::GroupNorm(torch::nn::GroupNormOptions(op.group_norm_groups, c)); };
  auto projections = register_module("input_projections", torch::nn::ModuleList());
  for (int64_t l = 0; l < op.levels; ++l) {  // coarsest first
    const int64_t in = op.in_channels[static_cast<size_t>(n_in - 1 - l)];
    torch::nn::Sequential seq(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, op.feature_size, 1)), group_norm(op.feature_size));
    projections->push_back(seq);
    input_projections_.push_back(seq);
  }
  level_embed_ = register_parameter("level_embed", at::zeros({op.levels, op.feature_size}));
  auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
  auto layers = encoder->register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < op.encoder_layers; ++i) {
    PixelDecoderEncoderLayer layer(op);
    layers->push_back(layer);
    layers_.push_back(layer);
  }
  // FPN levels below the encoder's finest map, down to stride 4 (adapter_1 / layer_1 is the finest).
  const int64_t fpn_levels = n_in - op.levels;
  for (int64_t i = 0; i < fpn_levels; ++i) {
    const int64_t in = op.in_channels[static_cast<size_t>(fpn_levels - 1 - i)];
    torch::nn::Sequential lateral(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, op.feature_size, 1).bias(false)),
                                  group_norm(op.feature_size));
    torch::nn::Sequential output(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(op.feature_size, op.feature_size, 3).padding(1).bias(false)),
        group_norm(op.feature_size), torch::nn::ReLU());
    lateral_.push_back(register_module("adapter_" + std::to_string(i + 1), lateral));
    output_.push_back(register_module("layer_" + std::to_string(i + 1), output));
  }
  mask_projection_ = register_module(
      "mask_projection", torch::nn::Conv2d(torch::nn::Conv2dOptions(op.feature_size, op.mask_feature_size, 1)));
}

PixelDecoderOutput PixelDecoderImpl::forward(const std::vector<at::Tensor>& features) {
  const auto& op = options_;
  const int64_t n_in = static_cast<int64_t>(op.in_channels.size());
  if (static_cast<int64_t>(features.size()) != n_in) throw Error("pixel decoder: wrong number of feature maps");
  const int64_t B = features[0].size(0);
  std::vector<at::Tensor> tokens, pos;
  std::vector<int64_t> shape_values, starts;
  int64_t start = 0;
  for (int64_t l = 0; l < op.levels; ++l) {
    const auto& f = features[static_cast<size_t>(n_in - 1 - l)];
    const auto projected = apply_sequential(input_projections_[static_cast<size_t>(l)], f);
    tokens.push_back(projected.flatten(2).transpose(1, 2));
    // Position embedding of the (unprojected) map's shape, plus this level's embedding.
    pos.push_back(sine_position_embedding(f, op.feature_size / 2).flatten(2).transpose(1, 2) +
                  level_embed_[l].view({1, 1, -1}));
    shape_values.push_back(f.size(2));
    shape_values.push_back(f.size(3));
    starts.push_back(start);
    start += f.size(2) * f.size(3);
  }
  PixelDecoderOutput out;
  out.encoder_input = at::cat(tokens, 1);
  out.position_embeddings = at::cat(pos, 1);
  // On the features' device, where the attention kernel reads them.
  const auto device = out.encoder_input.device();
  const auto spatial_shapes = at::tensor(shape_values, at::kLong).view({op.levels, 2}).to(device);
  const auto level_start = at::tensor(starts, at::kLong).to(device);
  out.spatial_shapes = spatial_shapes;
  // Reference points: every position's pixel centre, normalised, the same on all levels.
  std::vector<at::Tensor> refs;
  for (int64_t l = 0; l < op.levels; ++l) {
    const int64_t H = shape_values[2 * l], W = shape_values[2 * l + 1];
    const auto opt = out.encoder_input.options();
    const auto ry = ((at::arange(H, opt) + 0.5) / static_cast<double>(H)).view({H, 1}).expand({H, W});
    const auto rx = ((at::arange(W, opt) + 0.5) / static_cast<double>(W)).view({1, W}).expand({H, W});
    refs.push_back(at::stack({rx.reshape(-1), ry.reshape(-1)}, -1));
  }
  out.reference_points = at::cat(refs, 0).view({1, -1, 1, 2}).expand({B, start, op.levels, 2}).contiguous();
  auto x = out.encoder_input;
  for (auto& layer : layers_) x = layer->forward(x, out.position_embeddings, out.reference_points, spatial_shapes, level_start);
  out.encoder_output = x;
  // Split back into maps, coarsest first.
  std::vector<at::Tensor> maps;
  for (int64_t l = 0; l < op.levels; ++l) {
    const int64_t H = shape_values[2 * l], W = shape_values[2 * l + 1];
    maps.push_back(x.slice(1, starts[static_cast<size_t>(l)], starts[static_cast<size_t>(l)] + H * W)
                       .transpose(1, 2)
                       .reshape({B, op.feature_size, H, W}));
  }
  out.multi_scale = maps;
  // FPN down to stride 4: lateral(finer backbone map) + bilinear upsampling of the previous output.
  const int64_t fpn_levels = n_in - op.levels;
  for (int64_t i = 0; i < fpn_levels; ++i) {
    const auto& f = features[static_cast<size_t>(fpn_levels - 1 - i)];
    const auto lateral = apply_sequential(lateral_[static_cast<size_t>(i)], f);
    const auto up = F::interpolate(maps.back(), F::InterpolateFuncOptions()
                                                    .size(std::vector<int64_t>{lateral.size(2), lateral.size(3)})
                                                    .mode(torch::kBilinear)
                                                    .align_corners(false));
    maps.push_back(apply_sequential(output_[static_cast<size_t>(i)], lateral + up));
  }
  out.mask_features = mask_projection_->forward(maps.back());
  return out;
}

}  // namespace rgbdseg::model
