#pragma once
// Instance post-processing of Mask2Former outputs (Hugging Face's
// post_process_instance_segmentation): the top-k (query, class) pairs by class
// probability, each scored by class probability x mean foreground mask
// probability. By default masks are scored and returned at the requested
// output size (the original image size); `hf_resize` reproduces Hugging Face's
// fixed 384x384 scoring resolution with nearest-neighbour resizing of the
// binary masks, for comparisons.
#include <ATen/core/Tensor.h>

namespace rgbdseg::model {

struct InstanceOptions {
  int64_t top_k = 0;       // 0 = number of queries
  double threshold = 0.0;  // keep instances scoring at least this
  int64_t hf_resize = 0;   // e.g. 384: HF's behaviour; 0 = score at the output size
};

struct Instances {
  at::Tensor scores;       // [K] float
  at::Tensor labels;       // [K] int64 (class index, no-object excluded)
  at::Tensor query_index;  // [K] int64
  at::Tensor masks;        // [K, H, W] bool at the output size
  // All top-k candidates before the keep test, in top-k order (for parity tests).
  at::Tensor topk_query, topk_label, topk_class_prob, topk_mask_score, topk_score;
};

// class_logits [Q, C+1], mask_logits [Q, h, w] of one image; output size H x W.
Instances instance_postprocess(const at::Tensor& class_logits, const at::Tensor& mask_logits, int64_t height,
                               int64_t width, const InstanceOptions& options = {});

}  // namespace rgbdseg::model
