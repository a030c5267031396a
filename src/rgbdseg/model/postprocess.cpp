#include "rgbdseg/model/postprocess.h"

#include <ATen/ATen.h>

#include "rgbdseg/core/error.h"

namespace rgbdseg::model {

Instances instance_postprocess(const at::Tensor& class_logits, const at::Tensor& mask_logits, int64_t height,
                               int64_t width, const InstanceOptions& options) {
  if (class_logits.dim() != 2 || mask_logits.dim() != 3 || class_logits.size(0) != mask_logits.size(0)) {
    throw Error("instance post-processing: expected class logits [Q, C+1] and mask logits [Q, h, w]");
  }
  const int64_t Q = class_logits.size(0), C = class_logits.size(1) - 1;
  const int64_t k = options.top_k > 0 ? std::min(options.top_k, Q * C) : std::min(Q, Q * C);
  const auto probs = at::softmax(class_logits, -1).slice(1, 0, C);  // drop no-object
  auto [values, flat] = probs.flatten().topk(k, 0, /*largest=*/true, /*sorted=*/false);
  Instances out;
  out.topk_label = flat.remainder(C);
  out.topk_query = flat.div(C, "floor");
  out.topk_class_prob = values;
  // Score masks at HF's fixed size or directly at the output size.
  const int64_t sh = options.hf_resize > 0 ? options.hf_resize : height;
  const int64_t sw = options.hf_resize > 0 ? options.hf_resize : width;
  const auto logits = at::upsample_bilinear2d(mask_logits.unsqueeze(0), {sh, sw}, /*align_corners=*/false).squeeze(0);
  const auto selected = logits.index_select(0, out.topk_query);
  const auto binary = selected > 0;
  const auto binary_f = binary.to(selected.scalar_type());
  out.topk_mask_score = (selected.sigmoid() * binary_f).flatten(1).sum(1) / (binary_f.flatten(1).sum(1) + 1e-6);
  out.topk_score = values * out.topk_mask_score;
  at::Tensor masks = binary;
  if (options.hf_resize > 0 && (sh != height || sw != width)) {
    masks = at::upsample_nearest2d(binary_f.unsqueeze(0), {height, width}).squeeze(0) > 0.5;
  }
  const auto keep = masks.flatten(1).any(1).logical_and(out.topk_score >= options.threshold);
  const auto idx = keep.nonzero().squeeze(1);
  out.scores = out.topk_score.index_select(0, idx);
  out.labels = out.topk_label.index_select(0, idx);
  out.query_index = out.topk_query.index_select(0, idx);
  out.masks = masks.index_select(0, idx);
  return out;
}

}  // namespace rgbdseg::model
