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
  if (committed_ || !was_empty_) return;  // done, or --force into someone's folder: leave it
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

DatasetWriter::PendingImage DatasetWriter::write_image_files(const std::string& stem, const cv::Mat& rgb,
                                                             const cv::Mat& depth_m,
                                                             const std::optional<Intrinsics>& intrinsics,
                                                             const std::string& source) {
  const std::string what = source.empty() ? stem : source;
  if (rgb.empty() || depth_m.empty()) throw Error(what + ": empty colour or depth image");
  if (rgb.size() != depth_m.size()) {
    throw Error(what + ": depth size " + std::to_string(depth_m.cols) + "x" + std::to_string(depth_m.rows) +
                " does not match colour size " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stems_.insert(stem).second) {
      throw Error(what + ": two images named '" + stem + "' in " + out_dir_ + " (rgb/" + stem + ".png)");
    }
  }
  PendingImage img;
  img.stem = stem;
  img.source = source;
  img.height = rgb.rows;
  img.width = rgb.cols;
  img.intrinsics = intrinsics;
  const std::string dir_rgb = out_dir_ + "/rgb/" + stem + ".png", dir_depth = out_dir_ + "/depth/" + stem + ".png";
  if (stem.find('/') != std::string::npos) {
    make_directories(std::filesystem::path(dir_rgb).parent_path().string());
    make_directories(std::filesystem::path(dir_depth).parent_path().string());
  }
  write_rgb_png(dir_rgb, rgb);
  write_depth_png16_mm(dir_depth, depth_m);
  return img;
}

void DatasetWriter::record(PendingImage img) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) throw Error(out_dir_ + ": add() after finish()");
  images_.push_back(std::move(img));
}

void DatasetWriter::add(const std::string& stem, const cv::Mat& rgb, const cv::Mat& depth_m,
                        const std::vector<InstanceMask>& instances, const std::optional<Intrinsics>& intrinsics,
                        const std::string& source) {
  const std::string what = source.empty() ? stem : source;
  std::vector<std::pair<int64_t, std::string>> masks;
  std::vector<bool> crowd;
  for (const auto& inst : instances) {
    if (inst.mask.size() != rgb.size() || inst.mask.type() != CV_8UC1) {
      throw Error(what + ": instance mask must be 8-bit, single channel, image size");
    }
    const cv::Mat mask = inst.mask.isContinuous() ? inst.mask : inst.mask.clone();
    const Rle rle = rle_encode(mask.ptr<uint8_t>(), mask.rows, mask.cols);
    if (rle_area(rle) == 0) continue;
    masks.emplace_back(inst.category_id, rle_to_string(rle));
    crowd.push_back(inst.iscrowd);
  }
  PendingImage img = write_image_files(stem, rgb, depth_m, intrinsics, source);
  img.masks = std::move(masks);
  img.crowd = std::move(crowd);
  record(std::move(img));
}

void DatasetWriter::add_coco(const std::string& stem, int64_t image_id, const cv::Mat& rgb, const cv::Mat& depth_m,
                             nlohmann::ordered_json annotations, const std::optional<Intrinsics>& intrinsics,
                             const std::string& source) {
  if (!annotations.is_array()) throw Error((source.empty() ? stem : source) + ": annotations must be a list");
  PendingImage img = write_image_files(stem, rgb, depth_m, intrinsics, source);
  img.from_coco = true;
  img.image_id = image_id;
  img.coco_annotations = std::move(annotations);
  record(std::move(img));
}

void DatasetWriter::skip(const std::string& item, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  skipped_.emplace_back(item, reason);
}

void DatasetWriter::sort_skipped() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::stable_sort(skipped_.begin(), skipped_.end());
}

ConversionSummary DatasetWriter::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  finished_ = true;
  std::sort(images_.begin(), images_.end(), [](const PendingImage& a, const PendingImage& b) { return a.stem < b.stem; });
  for (size_t i = 1; i < images_.size(); ++i) {
    if (images_[i].stem == images_[i - 1].stem) throw Error(out_dir_ + ": two images named '" + images_[i].stem + "'");
  }
  const size_t kept_ids = static_cast<size_t>(
      std::count_if(images_.begin(), images_.end(), [](const PendingImage& p) { return p.from_coco; }));
  if (kept_ids != 0 && kept_ids != images_.size()) throw Error(out_dir_ + ": add() and add_coco() mixed in one dataset");
  if (kept_ids != 0) {
    std::vector<int64_t> ids;
    for (const auto& p : images_) ids.push_back(p.image_id);
    std::sort(ids.begin(), ids.end());
    const auto dup = std::adjacent_find(ids.begin(), ids.end());
    if (dup != ids.end()) throw Error(out_dir_ + ": two images with id " + std::to_string(*dup));
  }
  std::map<int64_t, std::string> names(categories_.begin(), categories_.end());
  nlohmann::ordered_json coco;
  coco["info"] = {{"description", description_}, {"format", "rgbdseg canonical RGB-D dataset"}, {"version", 1}};
  coco["images"] = nlohmann::ordered_json::array();
  coco["annotations"] = nlohmann::ordered_json::array();
  coco["categories"] = nlohmann::ordered_json::array();
  for (const auto& [id, name] : categories_) coco["categories"].push_back({{"id", id}, {"name", name}});
  ConversionSummary summary;
  int64_t ann_id = 1, coco_instances = 0;
  for (size_t i = 0; i < images_.size(); ++i) {
    const PendingImage& img = images_[i];
    const int64_t image_id = img.from_coco ? img.image_id : static_cast<int64_t>(i) + 1;
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
    for (auto ann : img.coco_annotations) {  // add_coco: as given
      const int64_t cat = ann.value("category_id", int64_t{0});
      const auto name = names.find(cat);
      if (name == names.end()) {
        throw Error(out_dir_ + ": image '" + img.stem + "' has category id " + std::to_string(cat) +
                    " that is not among the dataset's categories");
      }
      ann["image_id"] = image_id;
      coco["annotations"].push_back(std::move(ann));
      ++summary.instances_per_category[name->second];
      ++coco_instances;
    }
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
  summary.instances = ann_id - 1 + coco_instances;
  summary.skipped = skipped_;
  write_file_atomic(summary.annotations_path, coco.dump() + "\n");
  committed_ = true;
  return summary;
}

void ConversionTracker::skip_image(const std::string& item, const std::string& reason) {
  writer_.skip(item, reason);
  std::lock_guard<std::mutex> lock(mutex_);
  if (first_skip_.empty()) first_skip_ = item + ": " + reason;
}

void ConversionTracker::step_done() {
  const int64_t n = ++done_;
  if (!progress_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!progress_(n, total_)) cancelled_ = true;
}

void ConversionTracker::check_finished(const std::string& input, const std::string& out) const {
  writer_.sort_skipped();  // threads skipped images in any order
  if (cancelled_) throw Error(out + ": conversion cancelled; annotations.json not written");
  if (converted_ == 0) {
    throw Error(input + ": no image could be converted (" + std::to_string(total_) + " skipped, e.g. " + first_skip_ +
                ")");
  }
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
  for (const auto& note : s.notes) out += "\nnote: " + note;
  return out;
}

}  // namespace rgbdseg
