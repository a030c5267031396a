#include "rgbdseg/data/convert_labelme.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "rgbdseg/coco/rle.h"
#include "rgbdseg/core/base64.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/parallel.h"
#include "rgbdseg/data/convert_folder.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/io/image_header.h"
#include "rgbdseg/io/image_io.h"

namespace rgbdseg {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

constexpr const char* kBackgroundLabel = "_background_";  // LabelMe's reserved labels
constexpr const char* kIgnoreLabel = "__ignore__";

bool is_labelme_file(const Json& j) { return j.is_object() && j.contains("shapes") && j["shapes"].is_array(); }

bool is_colour_image_name(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "bmp" || ext == "tif" || ext == "tiff";
}

fs::path same_file_key(const fs::path& p) { return canonical_or_absolute(p.string()); }

// Files under `root` (recursively, hidden entries skipped), except those in `excluded` folders.
void walk(const fs::path& root, const std::vector<fs::path>& excluded, std::vector<fs::path>& json_files,
          std::vector<fs::path>& image_files) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink, ec), end;
  if (ec) throw Error(root.string() + ": cannot list folder (" + ec.message() + ")");
  for (; it != end; it.increment(ec)) {
    if (ec) throw Error(root.string() + ": cannot list folder (" + ec.message() + ")");
    const fs::path p = it->path();
    const std::string name = p.filename().string();
    std::error_code ec2;
    if (it->is_directory(ec2)) {
      const fs::path c = same_file_key(p);
      const bool skip = name.empty() || name[0] == '.' ||
                        std::any_of(excluded.begin(), excluded.end(), [&](const fs::path& e) { return c == e; });
      if (skip) it.disable_recursion_pending();
      continue;
    }
    if (name.empty() || name[0] == '.' || !it->is_regular_file(ec2)) continue;
    if (lower_extension(name) == "json") {
      json_files.push_back(p);
    } else if (is_colour_image_name(name)) {
      image_files.push_back(p);
    }
  }
  std::sort(json_files.begin(), json_files.end());
  std::sort(image_files.begin(), image_files.end());
}

double number(const Json& v, const std::string& where) {
  if (!v.is_number()) throw Error(where + ": coordinates must be numbers, got " + v.dump());
  const double d = v.get<double>();
  if (!std::isfinite(d) || std::abs(d) > 1e7) throw Error(where + ": coordinate " + v.dump() + " out of range");
  return d;
}

std::vector<cv::Point2d> read_points(const Json& shape, const std::string& where) {
  if (!shape.contains("points") || !shape["points"].is_array()) throw Error(where + ": no \"points\" list");
  std::vector<cv::Point2d> pts;
  for (const auto& p : shape["points"]) {
    if (!p.is_array() || p.size() != 2) throw Error(where + ": each point must be [x, y], got " + p.dump());
    pts.emplace_back(number(p[0], where), number(p[1], where));
  }
  return pts;
}

// `where` names the shape in the rasteriser's errors (coordinates out of range, outlines too long).
cv::Mat polygon_mask(const std::vector<cv::Point2d>& pts, int h, int w, const std::string& where) {
  std::vector<double> xy;
  for (const auto& p : pts) {
    xy.push_back(p.x);
    xy.push_back(p.y);
  }
  try {
    return decode_mask(rle_from_polygon(xy, h, w));
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

// The shape's pixels (CV_8UC1, 1 = inside), or an empty Mat for shapes that are not regions.
cv::Mat shape_mask(const Json& shape, const std::string& type, const std::string& where, int h, int w) {
  const std::vector<cv::Point2d> pts = read_points(shape, where);
  if (type == "polygon") {
    if (pts.size() < 3) throw Error(where + ": a polygon needs at least 3 points, has " + std::to_string(pts.size()));
    return polygon_mask(pts, h, w, where);
  }
  if (type == "rectangle") {
    if (pts.size() != 2) throw Error(where + ": a rectangle needs 2 points (opposite corners), has " + std::to_string(pts.size()));
    const double x1 = std::min(pts[0].x, pts[1].x), x2 = std::max(pts[0].x, pts[1].x);
    const double y1 = std::min(pts[0].y, pts[1].y), y2 = std::max(pts[0].y, pts[1].y);
    return polygon_mask({{x1, y1}, {x2, y1}, {x2, y2}, {x1, y2}}, h, w, where);
  }
  if (type == "circle") {
    if (pts.size() != 2) throw Error(where + ": a circle needs 2 points (centre, a point on it), has " + std::to_string(pts.size()));
    const double r = std::hypot(pts[1].x - pts[0].x, pts[1].y - pts[0].y);
    if (!(r > 0)) throw Error(where + ": a circle of radius 0");
    // As labelme2coco: enough vertices that the chords stay within a pixel of the arc.
    const int n = r > 1 ? std::max(static_cast<int>(M_PI / std::acos(1 - 1 / r)), 12) : 12;
    std::vector<cv::Point2d> poly;
    for (int i = 0; i < n; ++i) {
      const double a = 2 * M_PI / n * i;
      poly.emplace_back(pts[0].x + r * std::sin(a), pts[0].y + r * std::cos(a));
    }
    return polygon_mask(poly, h, w, where);
  }
  if (type == "mask") {
    if (pts.size() != 2) throw Error(where + ": a mask shape needs 2 points (its box corners), has " + std::to_string(pts.size()));
    if (!shape.contains("mask") || !shape["mask"].is_string()) throw Error(where + ": a mask shape without \"mask\" data");
    const auto png = base64_decode(shape["mask"].get<std::string>());
    if (!png || png->empty()) throw Error(where + ": \"mask\" is not base64 data");
    // The size from the header first: a damaged mask must not allocate a huge image.
    const ImageSize size = image_size_of_bytes(*png, where + ": \"mask\"");
    if (size.width > w || size.height > h) {
      throw Error(where + ": mask is " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                  " pixels, larger than the " + std::to_string(w) + "x" + std::to_string(h) + " image");
    }
    cv::Mat bits = cv::imdecode(*png, cv::IMREAD_GRAYSCALE);
    if (bits.empty()) throw Error(where + ": \"mask\" is not a PNG image");
    // The first corner anchors the mask (LabelMe rounds it); the mask's own size
    // is the box, which must agree with the second corner to a pixel.
    const int x1 = static_cast<int>(std::lround(std::min(pts[0].x, pts[1].x)));
    const int y1 = static_cast<int>(std::lround(std::min(pts[0].y, pts[1].y)));
    const double span_x = std::abs(pts[1].x - pts[0].x) + 1, span_y = std::abs(pts[1].y - pts[0].y) + 1;
    if (std::abs(bits.cols - span_x) > 1.5 || std::abs(bits.rows - span_y) > 1.5) {
      throw Error(where + ": mask is " + std::to_string(bits.cols) + "x" + std::to_string(bits.rows) +
                  " pixels but its corners span " + std::to_string(static_cast<int>(span_x)) + "x" +
                  std::to_string(static_cast<int>(span_y)));
    }
    const int x2 = x1 + bits.cols - 1, y2 = y1 + bits.rows - 1;
    if (x1 < 0 || y1 < 0 || x2 >= w || y2 >= h) {
      throw Error(where + ": mask box (" + std::to_string(x1) + "," + std::to_string(y1) + ")-(" + std::to_string(x2) +
                  "," + std::to_string(y2) + ") lies outside the " + std::to_string(w) + "x" + std::to_string(h) + " image");
    }
    cv::Mat m = cv::Mat::zeros(h, w, CV_8UC1);
    m(cv::Rect(x1, y1, bits.cols, bits.rows)).setTo(1, bits != 0);
    return m;
  }
  if (type == "line" || type == "linestrip" || type == "point" || type == "points") return {};
  throw Error(where + ": unknown shape_type '" + type + "' (expected polygon, rectangle, circle, mask, line, linestrip, point)");
}

std::string shape_type(const Json& shape, const std::string& where) {
  if (!shape.contains("shape_type") || shape["shape_type"].is_null()) return "polygon";  // LabelMe's default
  if (!shape["shape_type"].is_string()) throw Error(where + ": shape_type must be a string");
  return shape["shape_type"].get<std::string>();
}

std::string shape_label(const Json& shape, const std::string& where) {
  if (!shape.is_object()) throw Error(where + ": a shape must be an object");
  if (!shape.contains("label") || !shape["label"].is_string() || shape["label"].get<std::string>().empty()) {
    throw Error(where + ": no \"label\"");
  }
  return shape["label"].get<std::string>();
}

// The colour image of a LabelMe file: the imagePath file when it exists (the
// original pixels, and its EXIF can be checked), else the embedded imageData
// (which LabelMe re-encodes when it had to turn the image).
cv::Mat labelme_image(const Json& j, const fs::path& json_path, const fs::path& image_path) {
  const std::string file = json_path.string();
  std::error_code ec;
  const bool have_file = !image_path.empty() && fs::is_regular_file(image_path, ec);
  if (!have_file && j.contains("imageData") && j["imageData"].is_string() &&
      !j["imageData"].get<std::string>().empty()) {
    const auto bytes = base64_decode(j["imageData"].get<std::string>());
    if (!bytes || bytes->empty()) throw Error(file + ": imageData is not base64 data");
    const ImageSize size = image_size_of_bytes(*bytes, file + ": imageData");
    constexpr int64_t kMaxSide = 1 << 15;  // what OpenCV's PNG and JPEG codecs take
    if (size.width > kMaxSide || size.height > kMaxSide) {
      throw Error(file + ": imageData is " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                  " pixels, more than " + std::to_string(kMaxSide) + " on a side");
    }
    cv::Mat bgr = cv::imdecode(*bytes, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    if (bgr.empty()) throw Error(file + ": imageData is not an image OpenCV can decode");
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return rgb;
  }
  if (image_path.empty()) throw Error(file + ": neither imageData nor imagePath names the image");
  if (!have_file) {
    throw Error(file + ": imagePath '" + j["imagePath"].get<std::string>() + "' not found (" + image_path.string() + ")");
  }
  const cv::Mat rgb = read_rgb(image_path.string());
  // LabelMe turns a photo by its EXIF orientation before it is annotated; rgbdseg never does
  // (colour stays registered to depth), so such a file's annotations would not fit its pixels.
  const std::string ext = lower_extension(image_path.string());
  if (ext == "jpg" || ext == "jpeg") {
    const cv::Mat oriented = cv::imread(image_path.string(), cv::IMREAD_COLOR);  // EXIF applied
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    if (!oriented.empty() && (oriented.size() != bgr.size() || cv::norm(oriented, bgr, cv::NORM_INF) != 0)) {
      throw Error(image_path.string() + ": has an EXIF orientation, which LabelMe applied before annotating and "
                  "rgbdseg does not (colour must stay registered to depth); save the image without it");
    }
  }
  return rgb;
}

fs::path image_path_of(const Json& j, const fs::path& json_path) {
  if (!j.contains("imagePath") || j["imagePath"].is_null()) return {};
  if (!j["imagePath"].is_string()) throw Error(json_path.string() + ": imagePath must be a string");
  const fs::path p = tool_image_path(j["imagePath"].get<std::string>());  // saved on Windows too
  if (p.empty() || p == ".") return {};
  const fs::path joined = (json_path.parent_path() / p).lexically_normal();
  // A path from another machine (C:/Users/...) or a folder moved since: the file beside the JSON.
  const fs::path beside = json_path.parent_path() / p.filename();
  if (!file_exists(joined.string()) && is_regular_file(beside.string())) return beside.lexically_normal();
  return joined;
}

}  // namespace

ConversionSummary convert_labelme(const LabelmeOptions& o, const ProgressCallback& progress) {
  std::error_code ec;
  if (o.root.empty()) throw Error("convert labelme: no input folder given");
  if (!fs::exists(o.root, ec)) throw Error(o.root + ": no such folder");
  if (!fs::is_directory(o.root, ec)) throw Error(o.root + ": not a folder");
  if (o.depth.dir.empty()) throw Error("convert labelme: no depth folder given (--depth-dir)");
  if (!fs::is_directory(o.depth.dir, ec)) throw Error(o.depth.dir + ": no such depth folder");
  const fs::path root = o.root;
  if (same_file_key(root) == same_file_key(o.out)) {
    throw Error(o.out + ": the output folder must differ from the input folder");
  }

  std::vector<fs::path> json_files, image_files;
  walk(root, {same_file_key(o.out), same_file_key(o.depth.dir)}, json_files, image_files);
  if (json_files.empty()) throw Error(o.root + ": no .json files (expected LabelMe annotation files)");

  // Pass 1: which files are LabelMe files, their labels and images.
  std::vector<char> is_labelme(json_files.size(), 0);
  std::vector<fs::path> image_of(json_files.size());
  std::vector<std::set<std::string>> labels_of(json_files.size());
  parallel_for(json_files.size(), o.threads, [&](size_t i) {
    const std::string file = json_files[i].string();
    const Json j = read_json_file(file);
    if (!is_labelme_file(j)) return;
    is_labelme[i] = 1;
    image_of[i] = image_path_of(j, json_files[i]);
    size_t k = 0;
    for (const auto& shape : j["shapes"]) {
      const std::string where = file + ": shapes[" + std::to_string(k++) + "]";
      const std::string label = shape_label(shape, where);
      const std::string type = shape_type(shape, where);
      const bool region = type != "line" && type != "linestrip" && type != "point" && type != "points";
      if (region && label != kBackgroundLabel && label != kIgnoreLabel) labels_of[i].insert(label);
    }
  });
  std::set<std::string> all_labels;
  for (const auto& s : labels_of) all_labels.insert(s.begin(), s.end());

  std::vector<std::pair<int64_t, std::string>> categories;
  if (!o.categories.empty()) {
    categories = load_category_list(o.categories);
  } else {
    int64_t id = 1;
    for (const auto& name : all_labels) categories.emplace_back(id++, name);
    if (categories.empty()) throw Error(o.root + ": the LabelMe files label no object (no categories)");
  }
  std::map<std::string, int64_t> category_id;
  for (const auto& [id, name] : categories) category_id[name] = id;
  for (size_t i = 0; i < json_files.size(); ++i) {
    for (const auto& label : labels_of[i]) {
      if (!category_id.count(label)) {
        throw Error(json_files[i].string() + ": label '" + label + "' is not in the category list " + o.categories);
      }
    }
  }

  DatasetWriter writer(o.out, categories, o.force, "rgbdseg convert labelme " + o.root);
  // Paths below ROOT as written (JSON files found under it), or, for an absolute
  // imagePath, relative to ROOT made absolute.
  const fs::path root_abs = fs::absolute(root).lexically_normal();
  auto rel = [&](const fs::path& p) {
    return (p.is_absolute() ? p.lexically_relative(root_abs) : p.lexically_relative(root)).generic_string();
  };
  std::set<fs::path> annotated;
  std::vector<size_t> items;
  for (size_t i = 0; i < json_files.size(); ++i) {
    if (!is_labelme[i]) {
      writer.skip(rel(json_files[i]), "not a LabelMe file (no \"shapes\" list)");
      continue;
    }
    items.push_back(i);
    if (!image_of[i].empty()) annotated.insert(same_file_key(image_of[i]));
  }
  for (const auto& p : image_files) {
    if (!annotated.count(same_file_key(p))) writer.skip(rel(p), "no LabelMe file annotates this image");
  }
  if (items.empty()) throw Error(o.root + ": none of its .json files is a LabelMe file (no \"shapes\" list)");

  // Pass 2: the images.
  ConversionTracker tracker(writer, static_cast<int64_t>(items.size()), progress);
  parallel_for(items.size(), o.threads, [&](size_t n) {
    if (tracker.cancelled()) return;
    const size_t i = items[n];
    const fs::path& json_path = json_files[i];
    const std::string file = json_path.string(), item = rel(json_path);
    const Json j = read_json_file(file);
    // Depth by the image's name (the JSON's own name when the image is only embedded).
    const fs::path image_path = image_of[i];
    const std::string image_rel =
        image_path.empty() ? fs::path(item).replace_extension(".png").generic_string() : rel(image_path);
    const std::string depth_path = o.depth.find(image_rel);
    if (depth_path.empty()) {
      tracker.skip_image(item, "no depth file " + o.depth.expected(image_rel));
    } else {
      const cv::Mat rgb = labelme_image(j, json_path, image_path);
      const int h = rgb.rows, w = rgb.cols;
      for (const char* key : {"imageHeight", "imageWidth"}) {
        if (!j.contains(key) || j[key].is_null()) continue;
        const int expected = std::string(key) == "imageHeight" ? h : w;
        if (!j[key].is_number_integer() || j[key].get<int64_t>() != expected) {
          throw Error(file + ": " + key + " " + j[key].dump() + " does not match the image (" + std::to_string(w) +
                      "x" + std::to_string(h) + ")");
        }
      }
      const cv::Mat depth_m = read_depth(depth_path, o.depth.read);
      check_same_size(rgb, image_path.empty() ? file : image_path.string(), depth_m, depth_path);

      // Objects in order of first appearance; each shape painted over the earlier ones.
      struct Object {
        std::string label;
        int64_t category = 0;
        cv::Mat mask;
      };
      std::vector<Object> objects;
      std::map<std::pair<std::string, std::string>, size_t> by_group;  // (label, group_id) -> object
      size_t k = 0;
      for (const auto& shape : j["shapes"]) {
        const std::string where = file + ": shapes[" + std::to_string(k++) + "]";
        const std::string label = shape_label(shape, where);
        const std::string type = shape_type(shape, where);
        const std::string where_named = where + " ('" + label + "', " + type + ")";
        const cv::Mat m = shape_mask(shape, type, where_named, h, w);
        if (m.empty()) {
          writer.skip(item + ": " + where.substr(file.size() + 2) + " ('" + label + "')",
                      type + " shape is not a region");
          continue;
        }
        if (label == kBackgroundLabel || label == kIgnoreLabel) {  // a hole in everything drawn before
          for (auto& obj : objects) obj.mask.setTo(0, m);
          continue;
        }
        size_t index = objects.size();
        const Json* group = shape.contains("group_id") ? &shape["group_id"] : nullptr;
        if (group && !group->is_null()) {
          if (!group->is_number_integer() && !group->is_string()) throw Error(where_named + ": group_id must be an integer");
          const auto key = std::make_pair(label, group->dump());
          const auto it = by_group.find(key);
          if (it != by_group.end()) {
            index = it->second;
          } else {
            by_group[key] = index;
          }
        }
        if (index == objects.size()) objects.push_back({label, category_id.at(label), cv::Mat::zeros(h, w, CV_8UC1)});
        if (o.overlap == LabelmeOptions::Overlap::Paint) {
          for (size_t q = 0; q < objects.size(); ++q) {
            if (q != index) objects[q].mask.setTo(0, m);
          }
        }
        cv::bitwise_or(objects[index].mask, m, objects[index].mask);
      }
      std::vector<InstanceMask> instances;
      for (auto& obj : objects) {
        if (cv::countNonZero(obj.mask) == 0) {
          writer.skip(item + ": '" + obj.label + "'", "object has no pixels (covered by later shapes or outside the image)");
          continue;
        }
        instances.push_back({obj.category, std::move(obj.mask), false});
      }
      const std::string stem = fs::path(item).replace_extension().generic_string();
      writer.add(stem, rgb, depth_m, instances, o.intrinsics, item);
      tracker.converted();
    }
    tracker.step_done();
  });
  tracker.check_finished(o.root, o.out);
  return writer.finish();
}

}  // namespace rgbdseg
