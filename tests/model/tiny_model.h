#pragma once
// A Mask2Former small enough to run forward and backward in milliseconds, and
// a plain segmentation loss for tests that need one before the Hungarian
// criterion (train/) exists: query t is assigned to target t.
#include <ATen/ATen.h>

#include "rgbdseg/core/config.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/train/build.h"

namespace rgbdseg::testing {

inline model::Mask2FormerOptions tiny_mask2former() {
  model::Mask2FormerOptions o;
  o.swin.embed_dim = 8;
  o.swin.depths = {1, 1, 1, 1};
  o.swin.num_heads = {1, 1, 2, 2};
  o.swin.window_size = 4;
  o.pixel_decoder.in_channels = {8, 16, 32, 64};
  o.pixel_decoder.feature_size = 16;
  o.pixel_decoder.mask_feature_size = 16;
  o.pixel_decoder.encoder_layers = 1;
  o.pixel_decoder.encoder_ffn_dim = 32;
  o.pixel_decoder.heads = 2;
  o.pixel_decoder.group_norm_groups = 4;
  o.transformer_decoder.hidden_dim = 16;
  o.transformer_decoder.heads = 2;
  o.transformer_decoder.ffn_dim = 32;
  o.transformer_decoder.layers = 2;
  o.transformer_decoder.num_queries = 4;
  o.transformer_decoder.mask_feature_size = 16;
  o.num_labels = 3;
  return o;
}

inline model::RgbdModelOptions tiny_rgbd(const std::string& variant) {
  ModelConfig c;
  c.variant = variant;
  c.depth.dggm.hidden_channels = 4;
  c.depth.predictor.channels = 4;
  return train::model_options(c, tiny_mask2former());
}

// targets: [B, K, H, W] 0/1 masks at the input size, labels: [B, K] int64 (K <= queries).
// Sigmoid BCE + dice on the final prediction set's mask logits (at 1/4 size)
// and cross-entropy on its classes, with query k assigned to target k.
inline at::Tensor fixed_assignment_loss(const model::Mask2FormerOutput& out, const at::Tensor& targets,
                                        const at::Tensor& labels) {
  const auto& logits = out.mask_logits.back();  // [B, Q, h, w]
  const int64_t K = targets.size(1);
  const auto t = at::adaptive_avg_pool2d(targets.to(logits.scalar_type()), {logits.size(2), logits.size(3)}).round();
  const auto m = logits.slice(1, 0, K);
  const auto bce = at::binary_cross_entropy_with_logits(m, t);
  const auto p = at::sigmoid(m).flatten(2);
  const auto tt = t.flatten(2);
  const auto dice = (1 - (2 * (p * tt).sum(-1) + 1) / (p.sum(-1) + tt.sum(-1) + 1)).mean();
  const auto& classes = out.class_logits.back();  // [B, Q, L + 1]
  const auto ce = at::cross_entropy_loss(classes.slice(1, 0, K).flatten(0, 1), labels.flatten());
  return bce + dice + ce;
}

}  // namespace rgbdseg::testing
