#pragma once
// Writes a model's predictions on a dataset as files people and tools use:
// OUT/results.json (COCO results), OUT/images.json (the images as a COCO
// file, a dataset that loads back, with each image's output files),
// OUT/overlays/NAME.png and OUT/instances/NAME.png (16-bit ids).
// NAME keeps the image's path relative to its dataset (without a leading
// rgb/ or color/ folder and the extension), so images of different folders
// never share a name: rgb/part2/mugs_no/3.png -> overlays/part2/mugs_no/3.png.
// Shared by `rgbdseg predict` and `rgbdseg demo`.
#include <cstdint>
#include <string>
#include <vector>

#include "rgbdseg/data/dataset.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/infer/inference.h"

namespace rgbdseg::app {

struct PredictionSummary {
  std::string results_path;
  int64_t images = 0, instances = 0;
};

// Writes the overlay PNGs, in order, as an MP4 video (OpenCV's writer, mp4v)
// at `fps`; frames of another size are resized to the first one's.
void write_overlay_video(const std::vector<std::string>& overlay_pngs, const std::string& path, double fps);

// The output name of every image (unique; see above).
std::vector<std::string> prediction_names(const RgbdDataset& dataset);

// Where the time went (seconds). Writing runs beside inference, so the stages
// add up to more than the total when they overlap.
struct PredictionTimes {
  infer::InferenceTimes inference;
  double writing_s = 0;  // RLE encoding, overlays, PNGs
  double total_s = 0;    // wall time of write_predictions
};

// Writes into `out_dir`, which the caller has checked and created. Images are
// encoded and written on a thread of their own while the model runs on the
// next batch; `options.progress` counts written images.
PredictionSummary write_predictions(model::RgbdMask2FormerImpl& model, const RgbdDataset& dataset,
                                    const infer::LabelMap& labels, const infer::InferenceOptions& options,
                                    const std::string& out_dir, PredictionTimes* times = nullptr);

}  // namespace rgbdseg::app
