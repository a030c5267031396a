#pragma once
// Writes a model's predictions on a dataset as files people and tools use:
// OUT/results.json (COCO results), OUT/images.json (the images as a COCO
// file), OUT/overlays/NAME.png and OUT/instances/NAME.png (16-bit ids).
// Shared by `rgbdseg predict` and `rgbdseg demo`.
#include <cstdint>
#include <string>

#include "rgbdseg/data/dataset.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/train/inference.h"

namespace rgbdseg::app {

struct PredictionSummary {
  std::string results_path;
  int64_t images = 0, instances = 0;
};

PredictionSummary write_predictions(model::RgbdMask2FormerImpl& model, const RgbdDataset& dataset,
                                    const train::LabelMap& labels, const train::InferenceOptions& options,
                                    const std::string& out_dir);

}  // namespace rgbdseg::app
