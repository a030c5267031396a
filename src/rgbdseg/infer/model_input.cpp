#include "rgbdseg/infer/model_input.h"

#include <ATen/ATen.h>

#include "rgbdseg/core/error.h"

namespace rgbdseg::infer {

int64_t LabelMap::index_of(int64_t category_id) const {
  for (size_t i = 0; i < category_ids.size(); ++i) {
    if (category_ids[i] == category_id) return static_cast<int64_t>(i);
  }
  throw Error("category id " + std::to_string(category_id) + " is not one of the model's " +
              std::to_string(category_ids.size()) + " classes");
}

LabelMap label_map_of(const CocoGroundTruth& gt) {
  LabelMap m;
  for (const auto& c : gt.categories) {
    m.category_ids.push_back(c.id);
    m.names.push_back(c.name);
  }
  return m;
}

ModelInput make_model_input(const Batch& batch, const LabelMap* labels, const c10::Device& device) {
  const int64_t B = batch.size, H = batch.height, W = batch.width;
  ModelInput in;
  // from_blob views the batch's memory; clone/to makes tensors that own theirs.
  auto rgb = at::from_blob(const_cast<uint8_t*>(batch.rgb.data()), {B, H, W, 3}, at::kByte);
  auto mask = at::from_blob(const_cast<uint8_t*>(batch.pixel_mask.data()), {B, H, W}, at::kByte).to(device) > 0;
  const auto mean = at::tensor({0.485, 0.456, 0.406}, at::kFloat).view({1, 3, 1, 1}).to(device);
  const auto std = at::tensor({0.229, 0.224, 0.225}, at::kFloat).view({1, 3, 1, 1}).to(device);
  auto pixels = rgb.to(device).permute({0, 3, 1, 2}).to(at::kFloat).div_(255.0);
  pixels = (pixels - mean) / std * mask.unsqueeze(1);
  in.pixel_values = pixels.contiguous();
  in.depth = at::from_blob(const_cast<float*>(batch.depth.data()), {B, 1, H, W}, at::kFloat).to(device).clone();
  in.pixel_mask = mask;
  for (const auto& s : batch.samples) {
    const int64_t h = s.rgb.rows, w = s.rgb.cols;
    in.heights.push_back(h);
    in.widths.push_back(w);
    if (!labels) continue;
    const int64_t K = static_cast<int64_t>(s.masks.size());
    auto m = at::zeros({K, H, W}, at::kFloat);
    std::vector<int64_t> l;
    for (int64_t k = 0; k < K; ++k) {
      const cv::Mat& src = s.masks[static_cast<size_t>(k)];
      if (!src.isContinuous() || src.type() != CV_8UC1) throw Error("model input: masks must be continuous CV_8UC1");
      m[k].slice(0, 0, h).slice(1, 0, w).copy_(at::from_blob(src.data, {h, w}, at::kByte).to(at::kFloat));
      l.push_back(labels->index_of(s.category_ids[static_cast<size_t>(k)]));
    }
    in.masks.push_back(m.to(device));
    in.labels.push_back(at::tensor(l, at::kLong).to(device));
  }
  return in;
}

}  // namespace rgbdseg::infer
