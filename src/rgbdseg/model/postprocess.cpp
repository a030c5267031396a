#include "rgbdseg/model/postprocess.h"

#include <ATen/ATen.h>

#include "rgbdseg/core/error.h"

namespace rgbdseg::model {

namespace {

// Mask logits of the given queries at (height, width): through the padded
// canvas and the crop when the options name one.
at::Tensor resample_logits(const at::Tensor& mask_logits, int64_t height, int64_t width,
                           const InstanceOptions& options) {
  at::Tensor logits = mask_logits.unsqueeze(0);
  if (options.canvas_height > 0 && options.canvas_width > 0) {
    logits = at::upsample_bilinear2d(logits, {options.canvas_height, options.canvas_width}, /*align_corners=*/false)
                 .slice(2, 0, options.image_height)
                 .slice(3, 0, options.image_width);
  }
  return at::upsample_bilinear2d(logits, {height, width}, /*align_corners=*/false).squeeze(0);
}

}  // namespace

Instances instance_postprocess(const at::Tensor& class_logits, const at::Tensor& mask_logits, int64_t height,
                               int64_t width, const InstanceOptions& options) {
  if (class_logits.dim() != 2 || mask_logits.dim() != 3 || class_logits.size(0) != mask_logits.size(0)) {
    throw Error("instance post-processing: expected class logits [Q, C+1] and mask logits [Q, h, w]");
  }
  const bool canvas = options.canvas_height > 0 && options.canvas_width > 0;
  if (canvas && (options.image_height < 1 || options.image_width < 1 || options.image_height > options.canvas_height ||
                 options.image_width > options.canvas_width)) {
    throw Error("instance post-processing: the image must lie inside the padded canvas");
  }
  const int64_t Q = class_logits.size(0), C = class_logits.size(1) - 1;
  const int64_t k = options.top_k > 0 ? std::min(options.top_k, Q * C) : std::min(Q, Q * C);
  const auto probs = at::softmax(class_logits, -1).slice(1, 0, C);  // drop no-object
  auto [values, flat] = probs.flatten().topk(k, 0, /*largest=*/true, /*sorted=*/false);
  Instances out;
  out.topk_label = flat.remainder(C);
  out.topk_query = flat.div(C, "floor");
  out.topk_class_prob = values;
  // Candidates that can still reach the threshold; only their queries' masks
  // are up-sampled, each query once (a query may be a candidate for several classes).
  const auto scored = (values >= options.threshold).nonzero().squeeze(1);
  auto [queries, slot] = at::_unique(out.topk_query.index_select(0, scored), /*sorted=*/true, /*return_inverse=*/true);
  // Score masks at HF's fixed size or directly at the output size.
  const int64_t sh = options.hf_resize > 0 ? options.hf_resize : height;
  const int64_t sw = options.hf_resize > 0 ? options.hf_resize : width;
  const auto logits = queries.numel() == 0 ? at::empty({0, sh, sw}, mask_logits.options())
                                           : resample_logits(mask_logits.index_select(0, queries), sh, sw, options);
  const auto selected = logits.index_select(0, slot);
  const auto binary = selected > 0;
  const auto binary_f = binary.to(selected.scalar_type());
  const auto mask_score = (selected.sigmoid() * binary_f).flatten(1).sum(1) / (binary_f.flatten(1).sum(1) + 1e-6);
  out.topk_mask_score = at::zeros_like(values).index_copy_(0, scored, mask_score.to(values.scalar_type()));
  out.topk_score = values * out.topk_mask_score;
  at::Tensor masks = binary;
  if (options.hf_resize > 0 && (sh != height || sw != width)) {
    masks = at::upsample_nearest2d(binary_f.unsqueeze(0), {height, width}).squeeze(0) > 0.5;
  }
  const auto scored_score = out.topk_score.index_select(0, scored);
  const auto keep = masks.flatten(1).any(1).logical_and(scored_score >= options.threshold).nonzero().squeeze(1);
  const auto idx = scored.index_select(0, keep);
  out.scores = out.topk_score.index_select(0, idx);
  out.labels = out.topk_label.index_select(0, idx);
  out.query_index = out.topk_query.index_select(0, idx);
  out.masks = masks.index_select(0, keep);
  return out;
}

}  // namespace rgbdseg::model
