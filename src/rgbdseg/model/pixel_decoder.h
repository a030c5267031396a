#pragma once
// Mask2Former's pixel decoder as Hugging Face's Mask2FormerPixelDecoder
// computes it: 1x1 projections + GroupNorm of the three coarsest backbone maps,
// sine position embeddings + level embeddings, a deformable-attention
// encoder (post-norm layers), then an FPN step to stride 4 and the mask
// feature projection. Key names are HF's.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "rgbdseg/model/deformable_attention.h"

namespace rgbdseg::model {

struct PixelDecoderOptions {
  std::vector<int64_t> in_channels = {96, 192, 384, 768};  // backbone stages, stride 4..32
  int64_t feature_size = 256;
  int64_t mask_feature_size = 256;
  int64_t encoder_layers = 6;
  int64_t encoder_ffn_dim = 1024;
  int64_t heads = 8;
  int64_t points = 4;
  int64_t levels = 3;         // the coarsest maps fed to the encoder
  int64_t group_norm_groups = 32;
  double layer_norm_eps = 1e-5;
};

struct PixelDecoderOutput {
  at::Tensor mask_features;                 // [B, mask_feature_size, H/4, W/4]
  std::vector<at::Tensor> multi_scale;      // coarsest first: strides 32, 16, 8
  // Intermediates, for parity tests: [B, S, C] tokens coarsest first.
  at::Tensor encoder_input, position_embeddings, reference_points, encoder_output, spatial_shapes;
};

// Sine position embedding of a [B, C, H, W] map's shape (DETR, normalised to 2*pi,
// temperature 10000): `features_per_axis` channels for y then x.
at::Tensor sine_position_embedding(const at::Tensor& like, int64_t features_per_axis);

class PixelDecoderEncoderLayerImpl : public torch::nn::Module {
 public:
  PixelDecoderEncoderLayerImpl(const PixelDecoderOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pos, const at::Tensor& reference_points,
                     const at::Tensor& spatial_shapes, const at::Tensor& level_start_index);

 private:
  MultiScaleDeformableAttention self_attn_{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm_{nullptr}, final_layer_norm_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(PixelDecoderEncoderLayer);

class PixelDecoderImpl : public torch::nn::Module {
 public:
  explicit PixelDecoderImpl(PixelDecoderOptions options);
  // features: backbone maps, finest first (strides 4, 8, 16, 32).
  PixelDecoderOutput forward(const std::vector<at::Tensor>& features);

 private:
  PixelDecoderOptions options_;
  std::vector<torch::nn::Sequential> input_projections_;
  at::Tensor level_embed_;
  std::vector<PixelDecoderEncoderLayer> layers_;
  std::vector<torch::nn::Sequential> lateral_, output_;  // adapter_i, layer_i (finest FPN level last)
  torch::nn::Conv2d mask_projection_{nullptr};
};
TORCH_MODULE(PixelDecoder);

}  // namespace rgbdseg::model
