#pragma once
// A loader Batch (torch-free: uint8 colour, float depth, OpenCV masks) as the
// model's tensors: ImageNet-normalised pixel values (0 in padding, as Hugging
// Face's processor pads after normalising), metric depth, and per-image
// target masks padded to the batch size with their class indices.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "rgbdseg/data/loader.h"
#include "rgbdseg/coco/coco_dataset.h"

namespace rgbdseg::infer {

// Dataset category ids <-> the model's class indices 0..L-1.
struct LabelMap {
  std::vector<int64_t> category_ids;  // [class index] -> category id
  std::vector<std::string> names;
  int64_t index_of(int64_t category_id) const;  // Error for an unknown id
  size_t size() const { return category_ids.size(); }
};
// The categories of a dataset, in file order.
LabelMap label_map_of(const CocoGroundTruth& gt);

struct ModelInput {
  at::Tensor pixel_values;           // [B, 3, H, W] float32
  at::Tensor depth;                  // [B, 1, H, W] float32 metres, 0 = invalid or padding
  at::Tensor pixel_mask;             // [B, H, W] bool, true = image pixel
  std::vector<at::Tensor> masks;     // per image [K, H, W] float32 0/1 (padded to H x W)
  std::vector<at::Tensor> labels;    // per image [K] int64 class indices
  std::vector<int64_t> heights, widths;  // each image's size in the batch (before padding)
};

// `labels` may be null when targets are not needed (inference).
ModelInput make_model_input(const Batch& batch, const LabelMap* labels, const c10::Device& device = c10::kCPU);

}  // namespace rgbdseg::infer
