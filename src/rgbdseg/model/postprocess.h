#pragma once
// Instance post-processing of Mask2Former outputs (Hugging Face's
// post_process_instance_segmentation): the top-k (query, class) pairs by class
// probability, each scored by class probability x mean foreground mask
// probability. By default masks are scored and returned at the requested
// output size (the original image size); `hf_resize` reproduces Hugging Face's
// fixed 384x384 scoring resolution with nearest-neighbour resizing of the
// binary masks, for comparisons.
//
// Only the masks of candidate queries are up-sampled (a 720p frame's 50 full
// masks are ~180 MB of floats): up-sampling works per query, so the result is
// the same as up-sampling all of them first (tests/model/test_postprocess.cpp
// checks it against that path).
#include <ATen/core/Tensor.h>

namespace rgbdseg::model {

struct InstanceOptions {
  int64_t top_k = 0;       // 0 = number of queries
  double threshold = 0.0;  // keep instances scoring at least this
  int64_t hf_resize = 0;   // e.g. 384: HF's behaviour; 0 = score at the output size
  // Batched inputs are padded: when canvas_height/width are set, the mask
  // logits cover a canvas of that size whose top-left image_height x
  // image_width pixels are this image; logits are up-sampled to the canvas and
  // cropped to the image before they are scored at the output size.
  int64_t canvas_height = 0, canvas_width = 0, image_height = 0, image_width = 0;
};

struct Instances {
  at::Tensor scores;       // [K] float
  at::Tensor labels;       // [K] int64 (class index, no-object excluded)
  at::Tensor query_index;  // [K] int64
  at::Tensor masks;        // [K, H, W] bool at the output size
  // All top-k candidates before the keep test, in top-k order (for parity
  // tests). A candidate whose class probability alone is below the threshold
  // cannot be kept (its score is at most that probability), so its mask is
  // not scored: its topk_mask_score and topk_score are 0.
  at::Tensor topk_query, topk_label, topk_class_prob, topk_mask_score, topk_score;
};

// class_logits [Q, C+1], mask_logits [Q, h, w] of one image; output size H x W.
Instances instance_postprocess(const at::Tensor& class_logits, const at::Tensor& mask_logits, int64_t height,
                               int64_t width, const InstanceOptions& options = {});

}  // namespace rgbdseg::model
