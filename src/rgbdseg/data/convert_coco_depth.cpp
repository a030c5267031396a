#include "rgbdseg/data/convert_coco_depth.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "rgbdseg/coco/coco_dataset.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/parallel.h"
#include "rgbdseg/io/image_io.h"

namespace rgbdseg {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

}  // namespace

ConversionSummary convert_coco_depth(const CocoDepthOptions& o, const ProgressCallback& progress) {
  std::error_code ec;
  if (o.annotations.empty()) throw Error("convert coco-depth: no annotations file given");
  if (o.depth.dir.empty()) throw Error("convert coco-depth: no depth folder given (--depth-dir)");
  if (!fs::is_directory(o.depth.dir, ec)) throw Error(o.depth.dir + ": no such depth folder");
  // Every segmentation decoded: a malformed file fails here, naming the entry.
  const CocoGroundTruth gt = load_coco_ground_truth(o.annotations, IouType::Segm, o.threads);
  const Json raw = read_json_file(o.annotations);
  const Json& raw_annotations = raw["annotations"];
  if (!raw_annotations.is_array() || raw_annotations.size() != gt.annotations.size()) {
    throw Error(o.annotations + ": the annotations list changed while reading");
  }
  if (gt.images.empty()) throw Error(o.annotations + ": lists no images");
  const fs::path image_root = coco_image_root(o.annotations, gt.images, o.images);

  // Categories, without Roboflow's workspace superclass.
  std::set<int64_t> used;
  for (const auto& a : gt.annotations) used.insert(a.category_id);
  std::vector<std::pair<int64_t, std::string>> categories;
  std::vector<std::pair<std::string, std::string>> dropped_categories;
  const Json& raw_categories = raw["categories"];
  for (size_t k = 0; k < gt.categories.size(); ++k) {
    const CocoCategory& c = gt.categories[k];
    bool superclass = !used.count(c.id) && gt.categories.size() > 1;
    for (size_t q = 0; q < gt.categories.size() && superclass; ++q) {
      if (q == k) continue;
      const Json& other = raw_categories[q];
      superclass = other.contains("supercategory") && other["supercategory"].is_string() &&
                   other["supercategory"].get<std::string>() == c.name;
    }
    if (superclass) {
      dropped_categories.emplace_back("category " + std::to_string(c.id) + " '" + c.name + "'",
                                      "no annotation uses it and it is every other category's supercategory "
                                      "(Roboflow's workspace class)");
      continue;
    }
    if (c.id <= 0) throw Error(o.annotations + ": category '" + c.name + "' has id " + std::to_string(c.id) +
                               "; rgbdseg needs positive category ids");
    categories.emplace_back(c.id, c.name);
  }

  // Annotations per image, in file order.
  std::map<int64_t, std::vector<size_t>> annotations_of;
  for (size_t k = 0; k < gt.annotations.size(); ++k) annotations_of[gt.annotations[k].image_id].push_back(k);
  // pycocotools (and our exact evaluator) records "matched" as the object's id, so an
  // object with id 0 is never matched; Roboflow numbers annotations from 0. Such
  // files (and ones with repeated ids) get ids 1..N in file order.
  std::set<int64_t> annotation_ids;
  bool renumber = false;
  for (const auto& a : gt.annotations) renumber = renumber || a.id <= 0 || !annotation_ids.insert(a.id).second;

  DatasetWriter writer(o.out, categories, o.force, "rgbdseg convert coco-depth " + o.annotations);
  for (const auto& [item, reason] : dropped_categories) writer.skip(item, reason);

  ConversionTracker tracker(writer, static_cast<int64_t>(gt.images.size()), progress);
  // Depth file of every image, by its original name.
  const size_t n = gt.images.size();
  std::vector<std::string> depth_of(n), rgb_of(n);
  std::map<std::string, std::vector<size_t>> images_of_depth;
  for (size_t i = 0; i < n; ++i) {
    const CocoImage& img = gt.images[i];
    const fs::path rel = tool_image_path(img.file_name);
    const fs::path rgb = rel.is_absolute() ? rel : image_root / rel;
    std::string original = roboflow_original_stem(rel.stem().string());
    const Json& entry = raw["images"][i];
    if (entry.contains("extra") && entry["extra"].is_object() && entry["extra"].contains("name") &&
        entry["extra"]["name"].is_string()) {
      original = fs::path(entry["extra"]["name"].get<std::string>()).stem().string();
    }
    const std::string depth_rel = (rel.parent_path() / (original + ".png")).generic_string();
    const std::string annotated = " (" + std::to_string(annotations_of[img.id].size()) + " annotations)";
    if (!is_regular_file(rgb.string())) {
      tracker.skip_image(img.file_name, "image file not found: " + rgb.string() + annotated);
      tracker.step_done();
      continue;
    }
    const std::string depth = o.depth.find(depth_rel);
    if (depth.empty()) {
      tracker.skip_image(img.file_name, "no depth file " + o.depth.expected(depth_rel) + annotated);
      tracker.step_done();
      continue;
    }
    rgb_of[i] = rgb.string();
    depth_of[i] = depth;
    images_of_depth[depth].push_back(i);
  }
  for (const auto& [depth, images] : images_of_depth) {
    if (images.size() < 2) continue;
    for (size_t i : images) {
      tracker.skip_image(gt.images[i].file_name, "shares depth file " + depth + " with " +
                                                     std::to_string(images.size() - 1) +
                                                     " other image(s) (augmented copies do not match the depth; "
                                                     "export without augmentation)");
      tracker.step_done();
      depth_of[i].clear();
    }
  }
  // Output names: file_name without extension; one taken twice (a.jpg and a.png, or
  // absolute paths cut to their file name) gets the image id.
  std::vector<size_t> items;
  std::vector<std::string> stem_of(n);
  std::set<std::string> stems;
  for (size_t i = 0; i < n; ++i) {
    if (depth_of[i].empty()) continue;
    items.push_back(i);
    fs::path rel = tool_image_path(gt.images[i].file_name);
    if (rel.is_absolute() || *rel.begin() == "..") rel = rel.filename();
    std::string stem = rel.replace_extension().generic_string();
    for (int k = 0; !stems.insert(stem).second; ++k) {
      stem = rel.generic_string() + "_id" + std::to_string(gt.images[i].id) + (k ? "_" + std::to_string(k) : "");
    }
    stem_of[i] = stem;
  }

  std::atomic<int64_t> crowd{0};
  parallel_for(items.size(), o.threads, [&](size_t q) {
    if (tracker.cancelled()) return;
    const size_t i = items[q];
    const CocoImage& img = gt.images[i];
    const cv::Mat rgb = read_rgb(rgb_of[i]);
    if (rgb.rows != img.height || rgb.cols != img.width) {
      throw Error(rgb_of[i] + ": image is " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + " but " +
                  o.annotations + " says " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                  " (image id " + std::to_string(img.id) + ")");
    }
    const cv::Mat depth_m = read_depth(depth_of[i], o.depth.read);
    check_same_size(rgb, rgb_of[i], depth_m, depth_of[i]);
    Json anns = Json::array();
    for (size_t k : annotations_of[img.id]) {
      const CocoObject& a = gt.annotations[k];
      if (rle_area(a.mask) == 0) {
        writer.skip(img.file_name + ": annotation " + std::to_string(a.id), "no mask (an empty segmentation: a box only)");
        continue;
      }
      Json ann = raw_annotations[k];
      if (renumber) ann["id"] = static_cast<int64_t>(k) + 1;
      if (a.iscrowd) {
        if (o.uncrowd) {
          ann["iscrowd"] = 0;
        } else {
          ++crowd;
        }
      }
      anns.push_back(std::move(ann));
    }
    writer.add_coco(stem_of[i], img.id, rgb, depth_m, std::move(anns), o.intrinsics, img.file_name);
    tracker.converted();
    tracker.step_done();
  });
  tracker.check_finished(o.annotations, o.out);
  ConversionSummary summary = writer.finish();
  if (renumber) {
    summary.notes.push_back("annotation ids renumbered 1..N in file order: the file has id 0 or a repeated id, and "
                            "COCO evaluation never matches an object with id 0");
  }
  if (crowd > 0) {
    summary.notes.push_back(std::to_string(crowd.load()) +
                            " annotations are iscrowd=1, not training targets and ignored by evaluation (CVAT exports "
                            "brush masks so); --uncrowd makes them objects");
  }
  return summary;
}

}  // namespace rgbdseg
