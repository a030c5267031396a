#pragma once
// The multi-scale deformable attention layer (Deformable DETR / Mask2Former's
// pixel-decoder encoder): queries predict sampling offsets around their
// reference points and softmax weights; the op in ops/ms_deform_attn.h samples.
// Parameter names are Hugging Face's (value_proj, sampling_offsets,
// attention_weights, output_proj).
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace rgbdseg::model {

struct DeformableAttentionOptions {
  int64_t dim = 256;
  int64_t heads = 8;
  int64_t levels = 3;
  int64_t points = 4;
};

class MultiScaleDeformableAttentionImpl : public torch::nn::Module {
 public:
  explicit MultiScaleDeformableAttentionImpl(DeformableAttentionOptions options);
  // query: [B, Q, C] (with position embedding); value_input: [B, S, C];
  // reference_points: [B, Q, L, 2] normalised (x, y); spatial_shapes [L, 2] int64 (H, W);
  // level_start_index [L] int64. Returns [B, Q, C].
  at::Tensor forward(const at::Tensor& query, const at::Tensor& value_input, const at::Tensor& reference_points,
                     const at::Tensor& spatial_shapes, const at::Tensor& level_start_index);
  // Deformable DETR's initialisation (offsets in 8 directions, zero attention logits).
  void reset_parameters();

 private:
  DeformableAttentionOptions options_;
  torch::nn::Linear sampling_offsets_{nullptr}, attention_weights_{nullptr}, value_proj_{nullptr}, output_proj_{nullptr};
};
TORCH_MODULE(MultiScaleDeformableAttention);

}  // namespace rgbdseg::model
