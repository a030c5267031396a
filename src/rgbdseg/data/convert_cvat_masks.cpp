#include "rgbdseg/data/convert_cvat_masks.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include <opencv2/core.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/parallel.h"
#include "rgbdseg/data/convert_folder.h"
#include "rgbdseg/io/image_io.h"

namespace rgbdseg {

namespace fs = std::filesystem;

namespace {

std::string colour_text(int r, int g, int b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", r, g, b);
  return buf;
}

// Image names of the export: the ImageSets lists, else every SegmentationObject PNG.
std::vector<std::string> item_names(const CvatMasksOptions& o) {
  const fs::path sets = fs::path(o.root) / "ImageSets" / "Segmentation";
  std::vector<fs::path> lists;
  std::error_code ec;
  if (!o.subset.empty()) {
    const fs::path list = sets / (o.subset + ".txt");
    if (!is_regular_file(list.string())) throw Error(list.string() + ": no such subset list");
    lists.push_back(list);
  } else if (fs::is_directory(sets, ec)) {
    for (const auto& e : fs::directory_iterator(sets, ec)) {
      if (e.path().extension() == ".txt") lists.push_back(e.path());
    }
    std::sort(lists.begin(), lists.end());
  }
  std::set<std::string> names;
  for (const auto& list : lists) {
    std::istringstream in(read_file(list.string()));
    std::string line;
    while (std::getline(in, line)) {
      const std::string name = trim_line(line);
      if (!name.empty()) names.insert(name);
    }
  }
  if (lists.empty()) {
    const fs::path objects = fs::path(o.root) / "SegmentationObject";
    if (!fs::is_directory(objects, ec)) {
      throw Error(o.root + ": neither ImageSets/Segmentation/*.txt nor SegmentationObject/ (not a CVAT "
                           "'Segmentation mask 1.1' export)");
    }
    for (fs::recursive_directory_iterator it(objects, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file() && lower_extension(it->path().string()) == "png") {
        names.insert(it->path().lexically_relative(objects).replace_extension().generic_string());
      }
    }
  }
  return {names.begin(), names.end()};
}

}  // namespace

std::vector<CvatLabel> read_cvat_labelmap(const std::string& path) {
  std::istringstream in(read_file(path));
  std::string line;
  int line_no = 0;
  std::vector<CvatLabel> out;
  std::set<std::string> names;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string text = trim_line(line);
    if (text.empty() || text[0] == '#') continue;
    const std::string where = path + ": line " + std::to_string(line_no);
    // name:r,g,b:parts:actions; the name may itself hold ':', so split from the right.
    size_t cut[3];
    size_t end = text.size();
    for (int k = 2; k >= 0; --k) {
      const size_t c = end == 0 ? std::string::npos : text.rfind(':', end - 1);
      if (c == std::string::npos) throw Error(where + ": expected 'label:r,g,b:parts:actions', got '" + text + "'");
      cut[k] = c;
      end = c;
    }
    CvatLabel label;
    label.name = text.substr(0, cut[0]);
    const std::string colour = text.substr(cut[0] + 1, cut[1] - cut[0] - 1);
    char extra = 0;
    if (label.name.empty() ||
        std::sscanf(colour.c_str(), "%d,%d,%d%c", &label.r, &label.g, &label.b, &extra) != 3 ||
        std::min({label.r, label.g, label.b}) < 0 || std::max({label.r, label.g, label.b}) > 255) {
      throw Error(where + ": expected 'label:r,g,b:parts:actions' with colour values 0..255, got '" + text + "'");
    }
    if (!names.insert(label.name).second) throw Error(where + ": label '" + label.name + "' listed twice");
    out.push_back(label);
  }
  if (out.empty()) throw Error(path + ": lists no label");
  return out;
}

ConversionSummary convert_cvat_masks(const CvatMasksOptions& o, const ProgressCallback& progress) {
  std::error_code ec;
  if (o.root.empty()) throw Error("convert cvat-masks: no input folder given");
  if (!fs::is_directory(o.root, ec)) throw Error(o.root + ": no such folder");
  if (o.depth.dir.empty()) throw Error("convert cvat-masks: no depth folder given (--depth-dir)");
  if (!fs::is_directory(o.depth.dir, ec)) throw Error(o.depth.dir + ": no such depth folder");
  const fs::path root = o.root;
  const std::string labelmap_path = (root / "labelmap.txt").string();
  if (!is_regular_file(labelmap_path)) {
    throw Error(o.root + ": no labelmap.txt (not a CVAT 'Segmentation mask 1.1' export; unzip the export and pass "
                         "its folder)");
  }
  const std::vector<CvatLabel> labels = read_cvat_labelmap(labelmap_path);
  const fs::path images = o.images.empty() ? root / "JPEGImages" : fs::path(o.images);
  if (!fs::is_directory(images, ec)) {
    throw Error(images.string() + ": no image folder (export with 'Save images', or pass --images DIR)");
  }

  // Class colour -> category id (0 = background).
  std::vector<std::pair<int64_t, std::string>> categories;
  std::map<std::string, int64_t> id_of_name;
  if (!o.categories.empty()) {
    categories = load_category_list(o.categories);
    for (const auto& [id, name] : categories) id_of_name[name] = id;
  }
  std::unordered_map<std::string, int64_t> category_of_colour;
  std::unordered_map<std::string, std::string> label_of_colour;
  for (const auto& l : labels) {
    const std::string key = colour_text(l.r, l.g, l.b);
    if (label_of_colour.count(key)) {
      throw Error(labelmap_path + ": labels '" + label_of_colour[key] + "' and '" + l.name + "' share colour " + key);
    }
    label_of_colour[key] = l.name;
    const bool background = l.r == 0 && l.g == 0 && l.b == 0;
    if (background) {
      category_of_colour[key] = 0;
      continue;
    }
    if (o.categories.empty()) {
      categories.emplace_back(static_cast<int64_t>(categories.size()) + 1, l.name);
      category_of_colour[key] = categories.back().first;
    } else {
      const auto it = id_of_name.find(l.name);
      category_of_colour[key] = it == id_of_name.end() ? -1 : it->second;  // -1: an error if used
    }
  }
  if (categories.empty()) throw Error(labelmap_path + ": lists only the background");

  const std::vector<std::string> names = item_names(o);
  if (names.empty()) throw Error(o.root + ": the export lists no images");
  DatasetWriter writer(o.out, categories, o.force, "rgbdseg convert cvat-masks " + o.root);
  ConversionTracker tracker(writer, static_cast<int64_t>(names.size()), progress);
  parallel_for(names.size(), o.threads, [&](size_t i) {
    if (tracker.cancelled()) return;
    const std::string& name = names[i];
    const std::string image_path = find_image_file((images / name).string());
    const std::string depth_path = o.depth.find(name + ".png");
    if (image_path.empty()) {
      tracker.skip_image(name, "no image file " + (images / name).string() + ".jpg (or .png, ...)");
    } else if (depth_path.empty()) {
      tracker.skip_image(name, "no depth file " + o.depth.expected(name + ".png"));
    } else {
      const cv::Mat rgb = read_rgb(image_path);
      const cv::Mat depth_m = read_depth(depth_path, o.depth.read);
      check_same_size(rgb, image_path, depth_m, depth_path);
      const fs::path object_png = root / "SegmentationObject" / (name + ".png");
      const fs::path class_png = root / "SegmentationClass" / (name + ".png");
      std::vector<InstanceMask> instances;
      if (is_regular_file(object_png.string()) != is_regular_file(class_png.string())) {
        const fs::path missing = is_regular_file(object_png.string()) ? class_png : object_png;
        throw Error(missing.string() + ": missing (the export has the other mask file of '" + name + "')");
      }
      if (is_regular_file(object_png.string())) {
        cv::Size object_size;
        std::vector<MapInstance> objects = read_instance_map(object_png.string(), &object_size);
        const cv::Mat classes = read_image_unchanged(class_png.string());
        auto size_error = [&](const fs::path& file, const cv::Size& size) {
          return Error(file.string() + ": mask size " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                       " does not match image '" + image_path + "' " + std::to_string(rgb.cols) + "x" +
                       std::to_string(rgb.rows));
        };
        if (object_size != rgb.size()) throw size_error(object_png, object_size);
        if (classes.size() != rgb.size()) throw size_error(class_png, classes.size());
        if (classes.depth() != CV_8U || (classes.channels() != 3 && classes.channels() != 4)) {
          throw Error(class_png.string() + ": expected an 8-bit colour image (CVAT writes RGB PNGs)");
        }
        const int ch = classes.channels();
        for (auto& obj : objects) {
          std::map<std::string, int64_t> votes;  // class colour -> pixels of this object
          for (int y = 0; y < classes.rows; ++y) {
            const uint8_t* m = obj.mask.ptr<uint8_t>(y);
            const uint8_t* c = classes.ptr<uint8_t>(y);
            for (int x = 0; x < classes.cols; ++x) {
              if (m[x]) {
                const uint8_t* p = c + static_cast<size_t>(x) * ch;  // BGR
                ++votes[colour_text(p[2], p[1], p[0])];
              }
            }
          }
          for (const auto& [colour, count] : votes) {
            if (!category_of_colour.count(colour)) {
              throw Error(class_png.string() + ": colour " + colour + " is not in " + labelmap_path);
            }
          }
          const auto best = std::max_element(votes.begin(), votes.end(),
                                             [](const auto& a, const auto& b) { return a.second < b.second; });
          const int64_t category = category_of_colour.at(best->first);
          if (category == 0) {
            throw Error(object_png.string() + ": object " + obj.key + " lies on background in " + class_png.string());
          }
          if (category < 0) {
            throw Error(class_png.string() + ": label '" + label_of_colour.at(best->first) +
                        "' is not in the category list " + o.categories);
          }
          instances.push_back({category, std::move(obj.mask), false});
        }
      }
      writer.add(name, rgb, depth_m, instances, o.intrinsics, name);
      tracker.converted();
    }
    tracker.step_done();
  });
  tracker.check_finished(o.root, o.out);
  return writer.finish();
}

}  // namespace rgbdseg
