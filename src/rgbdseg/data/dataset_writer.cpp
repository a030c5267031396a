#include "rgbdseg/data/dataset_writer.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/coco/rle.h"
#include "rgbdseg/io/image_io.h"

namespace rgbdseg {

DatasetWriter::DatasetWriter(std::string out_dir, std::vector<std::pair<int64_t, std::string>> categories, bool force,
                             std::string description)
    : out_dir_(std::move(out_dir)), categories_(std::move(categories)), description_(std::move(description)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  existed_ = fs::exists(out_dir_, ec);
  if (existed_ && !fs::is_directory(out_dir_, ec)) throw Error(out_dir_ + ": exists and is not a directory");
  was_empty_ = !existed_ || fs::is_empty(out_dir_, ec);
  if (!was_empty_ && !force) {
    throw Error(out_dir_ + ": output directory is not empty (pass --force to write into it)");
  }
  if (categories_.empty()) throw Error(out_dir_ + ": a dataset needs at least one category");
  make_directories(out_dir_ + "/rgb");
  make_directories(out_dir_ + "/depth");
}

DatasetWriter::~DatasetWriter() {
  if (finished_ || !was_empty_) return;  // done, or --force into someone's folder: leave it
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!existed_) {
    fs::remove_all(out_dir_, ec);
    return;
  }
  std::vector<fs::path> children;
  for (const auto& e : fs::directory_iterator(out_dir_, ec)) children.push_back(e.path());
  for (const auto& p : children) fs::remove_all(p, ec);
}

void DatasetWriter::add(const std::string& stem, const cv::Mat& rgb, const cv::Mat& depth_m,
                        const std::vector<InstanceMask>& instances, const std::optional<Intrinsics>& intrinsics,
                        const std::string& source) {
  const std::string what = source.empty() ? stem : source;
  if (rgb.empty() || depth_m.empty()) throw Error(what + ": empty colour or depth image");
  if (rgb.size() != depth_m.size()) {
    throw Error(what + ": depth size " + std::to_string(depth_m.cols) + "x" + std::to_string(depth_m.rows) +
                " does not match colour size " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows));
  }
  PendingImage img;
  img.stem = stem;
  img.source = source;
  img.height = rgb.rows;
  img.width = rgb.cols;
  img.intrinsics = intrinsics;
  for (const auto& inst : instances) {
    if (inst.mask.size() != rgb.size() || inst.mask.type() != CV_8UC1) {
      throw Error(what + ": instance mask must be 8-bit, single channel, image size");
    }
    const cv::Mat mask = inst.mask.isContinuous() ? inst.mask : inst.mask.clone();
    const Rle rle = rle_encode(mask.ptr<uint8_t>(), mask.rows, mask.cols);
    if (rle_area(rle) == 0) continue;
    img.masks.emplace_back(inst.category_id, rle_to_string(rle));
    img.crowd.push_back(inst.iscrowd);
  }
  const std::string dir_rgb = out_dir_ + "/rgb/" + stem + ".png", dir_depth = out_dir_ + "/depth/" + stem + ".png";
  if (stem.find('/') != std::string::npos) {
    make_directories(std::filesystem::path(dir_rgb).parent_path().string());
    make_directories(std::filesystem::path(dir_depth).parent_path().string());
  }
  write_rgb_png(dir_rgb, rgb);
  write_depth_png16_mm(dir_depth, depth_m);
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) throw Error(out_dir_ + ": add() after finish()");
  images_.push_back(std::move(img));
}

void DatasetWriter::skip(const std::string& item, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  skipped_.emplace_back(item, reason);
}

ConversionSummary DatasetWriter::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  finished_ = true;
  std::sort(images_.begin(), images_.end(), [](const PendingImage& a, const PendingImage& b) { return a.stem < b.stem; });
  for (size_t i = 1; i < images_.size(); ++i) {
    if (images_[i].stem == images_[i - 1].stem) throw Error(out_dir_ + ": two images named '" + images_[i].stem + "'");
  }
  std::map<int64_t, std::string> names(categories_.begin(), categories_.end());
  nlohmann::ordered_json coco;
  coco["info"] = {{"description", description_}, {"format", "rgbdseg canonical RGB-D dataset"}, {"version", 1}};
  coco["images"] = nlohmann::ordered_json::array();
  coco["annotations"] = nlohmann::ordered_json::array();
  coco["categories"] = nlohmann::ordered_json::array();
  for (const auto& [id, name] : categories_) coco["categories"].push_back({{"id", id}, {"name", name}});
  ConversionSummary summary;
  int64_t ann_id = 1;
  for (size_t i = 0; i < images_.size(); ++i) {
    const PendingImage& img = images_[i];
    const int64_t image_id = static_cast<int64_t>(i) + 1;
    nlohmann::ordered_json entry = {{"id", image_id},
                                    {"file_name", "rgb/" + img.stem + ".png"},
                                    {"depth_file", "depth/" + img.stem + ".png"},
                                    {"depth_scale", 0.001},
                                    {"height", img.height},
                                    {"width", img.width}};
    if (img.intrinsics) {
      entry["intrinsics"] = {{"fx", img.intrinsics->fx}, {"fy", img.intrinsics->fy}, {"cx", img.intrinsics->cx},
                             {"cy", img.intrinsics->cy}};
    }
    if (!img.source.empty()) entry["source"] = img.source;
    coco["images"].push_back(entry);
    for (size_t k = 0; k < img.masks.size(); ++k) {
      const auto& [cat, counts] = img.masks[k];
      const auto name = names.find(cat);
      if (name == names.end()) {
        throw Error(out_dir_ + ": image '" + img.stem + "' has category id " + std::to_string(cat) +
                    " that is not among the dataset's categories");
      }
      const Rle rle = rle_from_string(counts, img.height, img.width);
      const BBox box = rle_to_bbox(rle);
      coco["annotations"].push_back({{"id", ann_id++},
                                     {"image_id", image_id},
                                     {"category_id", cat},
                                     {"segmentation", {{"size", {img.height, img.width}}, {"counts", counts}}},
                                     {"area", rle_area(rle)},
                                     {"bbox", {box[0], box[1], box[2], box[3]}},
                                     {"iscrowd", img.crowd[k] ? 1 : 0}});
      ++summary.instances_per_category[name->second];
    }
  }
  summary.annotations_path = out_dir_ + "/annotations.json";
  summary.images = static_cast<int64_t>(images_.size());
  summary.instances = ann_id - 1;
  summary.skipped = skipped_;
  write_file_atomic(summary.annotations_path, coco.dump() + "\n");
  return summary;
}

std::string format_summary(const ConversionSummary& s, size_t max_skipped_listed) {
  std::string out = std::to_string(s.images) + " images, " + std::to_string(s.instances) + " instances";
  if (!s.instances_per_category.empty()) {
    out += " (";
    bool first = true;
    for (const auto& [name, n] : s.instances_per_category) {
      out += (first ? "" : ", ") + name + " " + std::to_string(n);
      first = false;
    }
    out += ")";
  }
  if (!s.skipped.empty()) {
    out += "; skipped " + std::to_string(s.skipped.size()) + ":";
    for (size_t i = 0; i < s.skipped.size() && i < max_skipped_listed; ++i) {
      out += "\n  " + s.skipped[i].first + ": " + s.skipped[i].second;
    }
    if (s.skipped.size() > max_skipped_listed) out += "\n  ...";
  }
  return out;
}

}  // namespace rgbdseg
