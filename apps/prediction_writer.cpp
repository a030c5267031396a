#include "prediction_writer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include <ATen/ATen.h>
#include <opencv2/core.hpp>

#include "rgbdseg/core/file_util.h"
#include "rgbdseg/eval/rle.h"
#include "rgbdseg/io/image_io.h"
#include "rgbdseg/viz/overlay.h"

namespace rgbdseg::app {

namespace fs = std::filesystem;

PredictionSummary write_predictions(model::RgbdMask2FormerImpl& net, const RgbdDataset& dataset,
                                    const train::LabelMap& labels, const train::InferenceOptions& options,
                                    const std::string& out_dir) {
  fs::create_directories(fs::path(out_dir) / "overlays");
  fs::create_directories(fs::path(out_dir) / "instances");
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  int64_t instances_total = 0;
  train::predict_dataset(net, dataset, options, [&](size_t i, const model::Instances& inst) {
    const CocoImage& img = dataset.coco.images[i];
    const auto dets = train::to_coco_results(img.id, inst, labels);
    const cv::Mat rgb = read_rgb(dataset.rgb_path(i));
    std::vector<LabelledMask> drawn;
    cv::Mat ids(static_cast<int>(img.height), static_cast<int>(img.width), CV_16UC1, cv::Scalar(0));
    // Ascending score: where masks overlap, the higher score is painted last and wins.
    std::vector<size_t> order(dets.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return dets[a].score < dets[b].score; });
    for (size_t k : order) {
      const auto& d = dets[k];
      const std::vector<uint8_t> px = rle_decode(d.mask);
      cv::Mat mask(static_cast<int>(img.height), static_cast<int>(img.width), CV_8UC1, const_cast<uint8_t*>(px.data()));
      ids.setTo(cv::Scalar(static_cast<double>(k + 1)), mask);
      char label[128];
      std::snprintf(label, sizeof label, "%s %.2f", labels.names[static_cast<size_t>(labels.index_of(d.category_id))].c_str(), d.score);
      drawn.push_back({mask.clone(), label});
      results.push_back({{"image_id", d.image_id}, {"category_id", d.category_id}, {"score", d.score},
                         {"segmentation", {{"size", {d.mask.h, d.mask.w}}, {"counts", rle_to_string(d.mask)}}},
                         {"bbox", {d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3]}}});
    }
    instances_total += static_cast<int64_t>(dets.size());
    const std::string name = fs::path(img.file_name).stem().string();
    write_png((fs::path(out_dir) / "overlays" / (name + ".png")).string(), draw_instances(rgb, drawn));
    write_png((fs::path(out_dir) / "instances" / (name + ".png")).string(), ids);
  });
  nlohmann::ordered_json images;
  images["images"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < dataset.coco.images.size(); ++i) {
    const CocoImage& img = dataset.coco.images[i];
    // Absolute paths: images.json lives in the output folder, not beside the images.
    const auto absolute = [](const std::string& p) { return fs::absolute(p).lexically_normal().string(); };
    images["images"].push_back({{"id", img.id}, {"file_name", absolute(dataset.rgb_path(i))},
                                {"depth_file", absolute(dataset.depth_path(i))},
                                {"depth_scale", img.depth_scale}, {"height", img.height}, {"width", img.width}});
  }
  images["annotations"] = nlohmann::ordered_json::array();
  images["categories"] = nlohmann::ordered_json::array();
  for (size_t c = 0; c < labels.size(); ++c) images["categories"].push_back({{"id", labels.category_ids[c]}, {"name", labels.names[c]}});
  write_file_atomic((fs::path(out_dir) / "images.json").string(), images.dump(1) + "\n");
  const std::string results_path = (fs::path(out_dir) / "results.json").string();
  write_file_atomic(results_path, results.dump() + "\n");
  PredictionSummary summary;
  summary.results_path = results_path;
  summary.images = static_cast<int64_t>(dataset.coco.images.size());
  summary.instances = instances_total;
  return summary;
}

}  // namespace rgbdseg::app
