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

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// `file_name` as a path below the image folder ("sub/a.jpg"); Windows separators accepted.
fs::path relative_name(std::string name) {
  std::replace(name.begin(), name.end(), '\\', '/');
  fs::path p = fs::path(name).lexically_normal();
  if (p.is_absolute() || (!p.empty() && *p.begin() == "..")) return p;  // kept: may still exist
  return p;
}

// The image folder: the first candidate that holds the first image found.
fs::path find_image_root(const CocoDepthOptions& o, const CocoGroundTruth& gt) {
  if (!o.images.empty()) {
    std::error_code ec;
    if (!fs::is_directory(o.images, ec)) throw Error(o.images + ": no such image folder");
    return o.images;
  }
  const fs::path json_dir = fs::path(o.annotations).parent_path().empty() ? fs::path(".") : fs::path(o.annotations).parent_path();
  std::vector<fs::path> candidates = {json_dir};
  const std::string stem = fs::path(o.annotations).stem().string();
  if (stem.rfind("instances_", 0) == 0) candidates.push_back(json_dir / ".." / "images" / stem.substr(10));
  candidates.push_back(json_dir / ".." / "images");
  for (const auto& img : gt.images) {
    const fs::path rel = relative_name(img.file_name);
    if (rel.is_absolute()) return json_dir;
    for (const auto& c : candidates) {
      if (is_file(c / rel)) return c.lexically_normal();
    }
  }
  std::string tried;
  for (const auto& c : candidates) tried += (tried.empty() ? "" : ", ") + c.lexically_normal().string() + "/";
  throw Error(o.annotations + ": none of its images is in " + tried + " (pass --images DIR)");
}

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
  const fs::path image_root = find_image_root(o, gt);

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

  DatasetWriter writer(o.out, categories, o.force, "rgbdseg convert coco-depth " + o.annotations);
  for (const auto& [item, reason] : dropped_categories) writer.skip(item, reason);

  // Depth file of every image, by its original name.
  const size_t n = gt.images.size();
  std::vector<std::string> depth_of(n), rgb_of(n);
  std::map<std::string, std::vector<size_t>> images_of_depth;
  for (size_t i = 0; i < n; ++i) {
    const CocoImage& img = gt.images[i];
    const fs::path rel = relative_name(img.file_name);
    const fs::path rgb = rel.is_absolute() ? rel : image_root / rel;
    std::string original = roboflow_original_stem(rel.stem().string());
    const Json& entry = raw["images"][i];
    if (entry.contains("extra") && entry["extra"].is_object() && entry["extra"].contains("name") &&
        entry["extra"]["name"].is_string()) {
      original = fs::path(entry["extra"]["name"].get<std::string>()).stem().string();
    }
    const std::string depth_rel = (rel.parent_path() / (original + ".png")).generic_string();
    const std::string annotated = " (" + std::to_string(annotations_of[img.id].size()) + " annotations)";
    if (!is_file(rgb)) {
      writer.skip(img.file_name, "image file not found: " + rgb.string() + annotated);
      continue;
    }
    const std::string depth = o.depth.find(depth_rel);
    if (depth.empty()) {
      writer.skip(img.file_name, "no depth file " + o.depth.expected(depth_rel) + annotated);
      continue;
    }
    rgb_of[i] = rgb.string();
    depth_of[i] = depth;
    images_of_depth[depth].push_back(i);
  }
  for (const auto& [depth, images] : images_of_depth) {
    if (images.size() < 2) continue;
    for (size_t i : images) {
      writer.skip(gt.images[i].file_name, "shares depth file " + depth + " with " + std::to_string(images.size() - 1) +
                                              " other image(s) (augmented copies do not match the depth; export "
                                              "without augmentation)");
      depth_of[i].clear();
    }
  }
  std::vector<size_t> items;
  for (size_t i = 0; i < n; ++i) {
    if (!depth_of[i].empty()) items.push_back(i);
  }
  if (items.empty()) {
    throw Error(o.annotations + ": no image has both its image file and a depth file in " + o.depth.dir + " (e.g. " +
                o.depth.expected(relative_name(gt.images[0].file_name).replace_extension(".png").generic_string()) + ")");
  }

  std::atomic<int64_t> crowd{0};
  ConversionTracker tracker(writer, static_cast<int64_t>(items.size()), progress);
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
      if (a.iscrowd) {
        if (o.uncrowd) {
          ann["iscrowd"] = 0;
        } else {
          ++crowd;
        }
      }
      anns.push_back(std::move(ann));
    }
    fs::path stem = relative_name(img.file_name);
    if (stem.is_absolute() || *stem.begin() == "..") stem = stem.filename();
    writer.add_coco(stem.replace_extension().generic_string(), img.id, rgb, depth_m, std::move(anns), o.intrinsics,
                    img.file_name);
    tracker.converted();
    tracker.step_done();
  });
  tracker.check_finished(o.annotations, o.out);
  ConversionSummary summary = writer.finish();
  if (crowd > 0) {
    summary.notes.push_back(std::to_string(crowd.load()) +
                            " annotations are iscrowd=1, not training targets and ignored by evaluation (CVAT exports "
                            "brush masks so); --uncrowd makes them objects");
  }
  return summary;
}

}  // namespace rgbdseg
