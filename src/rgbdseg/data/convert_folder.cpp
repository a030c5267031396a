#include "rgbdseg/data/convert_folder.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/parallel.h"

namespace rgbdseg {

namespace fs = std::filesystem;

namespace {

std::string size_text(const cv::Size& s) { return std::to_string(s.width) + "x" + std::to_string(s.height); }


template <typename T>
cv::Mat any_nonzero(const cv::Mat& m) {
  const int ch = m.channels();
  // Alpha (2 or 4 channels) gates the colour: transparent pixels are background.
  const bool alpha = ch == 2 || ch == 4;
  const int colour = alpha ? ch - 1 : ch;
  cv::Mat out(m.size(), CV_8UC1);
  for (int y = 0; y < m.rows; ++y) {
    const T* p = m.ptr<T>(y);
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < m.cols; ++x, p += ch) {
      bool on = false;
      for (int c = 0; c < colour; ++c) on = on || p[c] != 0;
      if (alpha && p[colour] == 0) on = false;
      o[x] = on ? 1 : 0;
    }
  }
  return out;
}

std::string hex_colour(uint32_t rgb) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%06x", rgb & 0xFFFFFFu);
  return buf;
}

bool is_image_extension(const std::string& ext, bool lossless_only) {
  static const char* const kLossless[] = {"png", "bmp", "tif", "tiff"};
  for (const char* e : kLossless) {
    if (ext == e) return true;
  }
  return !lossless_only && (ext == "jpg" || ext == "jpeg");
}

// Regular files (following links) in `dir`, by stem, skipping hidden files.
// Files whose extension is not accepted go to `others`.
std::map<std::string, std::string> files_by_stem(const std::string& dir, bool lossless_only,
                                                 std::vector<std::string>* others) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path p = it->path();
    const std::string name = p.filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code ec2;
    if (!fs::is_regular_file(p, ec2)) continue;
    if (!is_image_extension(lower_extension(name), lossless_only)) {
      if (others) others->push_back(p.string());
      continue;
    }
    const std::string stem = p.stem().string();
    const auto [pos, inserted] = out.emplace(stem, p.string());
    if (!inserted) {
      const std::string a = std::min(pos->second, p.string()), b = std::max(pos->second, p.string());
      throw Error(dir + ": two files for '" + stem + "': " + fs::path(a).filename().string() + " and " +
                  fs::path(b).filename().string());
    }
  }
  if (ec) throw Error(dir + ": cannot list folder (" + ec.message() + ")");
  return out;
}

std::vector<std::string> subfolders(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code ec2;
    if (!name.empty() && name[0] != '.' && fs::is_directory(it->path(), ec2)) out.push_back(name);
  }
  if (ec) throw Error(dir + ": cannot list folder (" + ec.message() + ")");
  std::sort(out.begin(), out.end());
  return out;
}

bool same_directory(const std::string& a, const std::string& b) {
  std::error_code ec1, ec2;
  const fs::path pa = fs::weakly_canonical(a, ec1), pb = fs::weakly_canonical(b, ec2);
  return !ec1 && !ec2 && pa == pb;
}

}  // namespace

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

cv::Mat read_binary_mask(const std::string& path) {
  const cv::Mat m = read_image_unchanged(path);
  if (m.depth() == CV_8U) return any_nonzero<uint8_t>(m);
  if (m.depth() == CV_16U) return any_nonzero<uint16_t>(m);
  throw Error(path + ": mask must be an 8- or 16-bit integer image, got element type " + std::to_string(m.depth()));
}

std::vector<MapInstance> read_instance_map(const std::string& path, cv::Size* size) {
  const cv::Mat m = read_image_unchanged(path);
  if (size) *size = m.size();
  const int ch = m.channels();
  const bool colour = ch == 3 || ch == 4;
  if (!((colour && m.depth() == CV_8U) || (ch == 1 && (m.depth() == CV_8U || m.depth() == CV_16U)))) {
    throw Error(path + ": instance map must be 8-bit colour (3 or 4 channels) or 8/16-bit single channel, got " +
                std::to_string(ch) + " channels of element type " + std::to_string(m.depth()));
  }
  // Pass 1: a key per pixel (0 = background), distinct keys counted.
  constexpr size_t kMaxInstances = 1000;
  cv::Mat keys(m.size(), CV_32SC1);
  std::unordered_map<uint32_t, int64_t> area;
  for (int y = 0; y < m.rows; ++y) {
    int32_t* k = keys.ptr<int32_t>(y);
    for (int x = 0; x < m.cols; ++x) {
      uint32_t key = 0;
      if (colour) {
        const uint8_t* p = m.ptr<uint8_t>(y) + static_cast<size_t>(x) * ch;
        if (ch == 4 && p[3] == 0) {
          key = 0;
        } else {
          key = (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | p[0];  // OpenCV order is BGR
        }
      } else {
        key = m.depth() == CV_8U ? m.ptr<uint8_t>(y)[x] : m.ptr<uint16_t>(y)[x];
      }
      k[x] = static_cast<int32_t>(key);
      if (key != 0) ++area[key];
    }
    if (area.size() > kMaxInstances) {
      throw Error(path + ": more than " + std::to_string(kMaxInstances) +
                  " distinct colours; an instance map needs one flat colour per object (a JPEG or a photo "
                  "will not do)");
    }
  }
  std::vector<uint32_t> sorted;
  for (const auto& [key, n] : area) sorted.push_back(key);
  std::sort(sorted.begin(), sorted.end());
  std::vector<MapInstance> out;
  std::unordered_map<uint32_t, size_t> index;
  for (uint32_t key : sorted) {
    index[key] = out.size();
    MapInstance inst;
    inst.key = colour ? hex_colour(key) : std::to_string(key);
    inst.mask = cv::Mat::zeros(m.size(), CV_8UC1);
    inst.area = area[key];
    out.push_back(std::move(inst));
  }
  // Pass 2: masks.
  for (int y = 0; y < m.rows && !out.empty(); ++y) {
    const int32_t* k = keys.ptr<int32_t>(y);
    uint32_t last_key = 0;
    size_t last = 0;
    for (int x = 0; x < m.cols; ++x) {
      const uint32_t key = static_cast<uint32_t>(k[x]);
      if (key == 0) continue;
      if (key != last_key) {
        last_key = key;
        last = index.at(key);
      }
      out[last].mask.ptr<uint8_t>(y)[x] = 1;
    }
  }
  return out;
}

// --- class maps ---

ClassMap single_class_map(const std::string& name) {
  ClassMap map;
  map.categories = {{1, name}};
  map.default_id = 1;
  return map;
}

namespace {

// "#RRGGBB" -> "#rrggbb"; "007" -> "7"; "" when neither.
std::string normalise_colour_key(const std::string& key) {
  if (key.size() == 7 && key[0] == '#') {
    std::string out = "#";
    for (size_t i = 1; i < 7; ++i) {
      const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(key[i])));
      if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
      out += c;
    }
    return out;
  }
  if (key.empty() || key.size() > 5) return "";
  for (char c : key) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return "";
  }
  const unsigned long v = std::stoul(key);
  if (v == 0 || v > 65535) return "";
  return std::to_string(v);
}

}  // namespace

ClassMap load_class_map(const std::string& path) {
  const nlohmann::ordered_json j = read_json_file(path);
  if (!j.is_object()) throw Error(path + ": a class map must be a JSON object ({\"prefixes\": {...}, ...})");
  for (const auto& [key, value] : j.items()) {
    if (key != "categories" && key != "prefixes" && key != "colours" && key != "default") {
      throw Error(path + ": unknown key '" + key + "' (expected categories, prefixes, colours, default)");
    }
  }
  ClassMap map;
  map.path = path;
  std::map<std::string, int64_t> ids;
  const bool fixed = j.contains("categories");
  auto add_category = [&](const std::string& name) {
    ids.emplace(name, static_cast<int64_t>(map.categories.size()) + 1);
    map.categories.emplace_back(static_cast<int64_t>(map.categories.size()) + 1, name);
  };
  if (fixed) {
    const auto& cats = j["categories"];
    if (!cats.is_array() || cats.empty()) throw Error(path + ": \"categories\" must be a non-empty list of names");
    for (const auto& c : cats) {
      if (!c.is_string() || c.get<std::string>().empty()) {
        throw Error(path + ": \"categories\" must list non-empty strings, got " + c.dump());
      }
      if (ids.count(c.get<std::string>())) throw Error(path + ": \"categories\" lists '" + c.get<std::string>() + "' twice");
      add_category(c.get<std::string>());
    }
  }
  // The id of a class named by a rule (a new category unless "categories" fixes them).
  auto class_id = [&](const std::string& where, const nlohmann::ordered_json& value) -> int64_t {
    if (!value.is_string() || value.get<std::string>().empty()) {
      throw Error(path + ": " + where + ": class must be a non-empty string, got " + value.dump());
    }
    const std::string name = value.get<std::string>();
    const auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    if (fixed) throw Error(path + ": " + where + ": class '" + name + "' is not in \"categories\"");
    add_category(name);
    return ids.at(name);
  };
  if (j.contains("prefixes")) {
    const auto& p = j["prefixes"];
    if (!p.is_object()) throw Error(path + ": \"prefixes\" must be an object {\"<file name prefix>\": \"<class>\"}");
    for (const auto& [prefix, value] : p.items()) {
      map.prefixes.emplace_back(prefix, class_id("prefixes: '" + prefix + "'", value));
    }
    std::stable_sort(map.prefixes.begin(), map.prefixes.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }
  if (j.contains("colours")) {
    const auto& c = j["colours"];
    if (!c.is_object()) throw Error(path + ": \"colours\" must be an object {\"#rrggbb\": \"<class>\"}");
    for (const auto& [key, value] : c.items()) {
      const std::string norm = normalise_colour_key(key);
      if (norm.empty()) {
        throw Error(path + ": colours: key '" + key +
                    "' is neither a colour \"#rrggbb\" nor a value 1..65535 of a single-channel map");
      }
      if (map.colours.count(norm)) throw Error(path + ": colours: '" + key + "' is listed twice");
      map.colours[norm] = class_id("colours: '" + key + "'", value);
    }
  }
  if (j.contains("default")) map.default_id = class_id("default", j["default"]);
  if (map.categories.empty()) throw Error(path + ": names no class (give \"prefixes\", \"colours\" or \"default\")");
  return map;
}

int64_t ClassMap::for_mask(const std::string& name, const std::string& file) const {
  for (const auto& [prefix, id] : prefixes) {
    if (name.compare(0, prefix.size(), prefix) == 0) return id;
  }
  if (default_id > 0) return default_id;
  throw Error(file + ": no class for mask '" + name + "': no prefix in " + (path.empty() ? "the class map" : path) +
              " matches and it has no \"default\"");
}

int64_t ClassMap::for_colour(const std::string& key, const std::string& file) const {
  const auto it = colours.find(key);
  if (it != colours.end()) return it->second;
  if (default_id > 0) return default_id;
  throw Error(file + ": no class for colour " + key + ": it is not in " + (path.empty() ? "the class map" : path) +
              " \"colours\" and there is no \"default\"");
}

// --- the converter ---

ConversionSummary convert_folder(const FolderOptions& o, const ProgressCallback& progress) {
  std::error_code ec;
  if (o.root.empty()) throw Error("convert folder: no input folder given");
  if (!fs::exists(o.root, ec)) throw Error(o.root + ": no such folder");
  if (!fs::is_directory(o.root, ec)) throw Error(o.root + ": not a folder");
  if (same_directory(o.root, o.out)) throw Error(o.out + ": the output folder must differ from the input folder");
  const std::string layout = " (expected rgb/, depth/, and masks/ or instances/; see 'rgbdseg convert folder --help')";
  const std::string rgb_dir = o.root + "/rgb", depth_dir = o.root + "/depth";
  const std::string masks_dir = o.root + "/masks", inst_dir = o.root + "/instances";
  if (!fs::is_directory(rgb_dir, ec)) throw Error(o.root + ": no rgb/ folder" + layout);
  if (!fs::is_directory(depth_dir, ec)) throw Error(o.root + ": no depth/ folder" + layout);
  const bool use_masks = fs::is_directory(masks_dir, ec), use_maps = fs::is_directory(inst_dir, ec);
  if (use_masks && use_maps) {
    throw Error(o.root + ": has both masks/ and instances/; use one style of annotation per folder");
  }
  if (!use_masks && !use_maps) throw Error(o.root + ": no masks/ or instances/ folder" + layout);

  ClassMap classes;
  if (!o.classes.empty()) {
    classes = load_class_map(o.classes);
  } else if (fs::is_regular_file(o.root + "/classes.json", ec)) {
    classes = load_class_map(o.root + "/classes.json");
  } else {
    classes = single_class_map();
  }

  std::vector<std::string> not_images;
  const auto rgb = files_by_stem(rgb_dir, /*lossless_only=*/false, &not_images);
  const auto depth = files_by_stem(depth_dir, true, &not_images);
  std::map<std::string, std::string> annotations;
  if (use_masks) {
    for (const auto& name : subfolders(masks_dir)) annotations[name] = masks_dir + "/" + name;
  } else {
    annotations = files_by_stem(inst_dir, true, &not_images);
  }
  DatasetWriter writer(o.out, classes.categories, o.force, "rgbdseg convert folder " + o.root);
  auto rel = [&](const std::string& p) { return fs::path(p).lexically_relative(o.root).generic_string(); };
  for (const auto& p : not_images) writer.skip(rel(p), "not an image file this converter reads");
  for (const auto& [name, path] : depth) {
    if (!rgb.count(name)) writer.skip(rel(path), "no colour image rgb/" + name + ".*");
  }
  for (const auto& [name, path] : annotations) {
    if (!rgb.count(name)) writer.skip(rel(path), "no colour image rgb/" + name + ".*");
  }
  std::vector<std::pair<std::string, std::string>> items(rgb.begin(), rgb.end());

  if (items.empty()) throw Error(rgb_dir + ": no colour images (png, jpg, bmp, tif)");
  ConversionTracker tracker(writer, static_cast<int64_t>(items.size()), progress);
  parallel_for(items.size(), o.threads, [&](size_t i) {
    if (tracker.cancelled()) return;
    const std::string& name = items[i].first;
    const std::string& rgb_path = items[i].second;  // (not a structured binding: lambdas below capture it)
    const std::string item = rel(rgb_path);
    const auto d = depth.find(name);
    const auto a = annotations.find(name);
    if (d == depth.end()) {
      tracker.skip_image(item, "no depth file depth/" + name + ".png (or .tif)");
    } else if (a == annotations.end()) {
      tracker.skip_image(item, use_masks ? "no masks folder masks/" + name + "/" : "no instance map instances/" + name + ".png");
    } else {
      const cv::Mat image = read_rgb(rgb_path);
      const cv::Mat depth_m = read_depth(d->second, o.depth);
      check_same_size(image, rgb_path, depth_m, d->second);
      std::vector<InstanceMask> instances;
      auto check_size = [&](const cv::Size& size, const std::string& file) {
        if (size != image.size()) {
          throw Error(file + ": mask size " + size_text(size) + " does not match colour image '" + rgb_path + "' " +
                      size_text(image.size()));
        }
      };
      if (use_masks) {
        std::vector<std::string> others;
        for (const auto& [mask_name, mask_path] : files_by_stem(a->second, true, &others)) {
          const cv::Mat mask = read_binary_mask(mask_path);
          check_size(mask.size(), mask_path);
          const int64_t id = classes.for_mask(mask_name, mask_path);
          if (cv::countNonZero(mask) == 0) {
            writer.skip(rel(mask_path), "empty mask");
            continue;
          }
          instances.push_back({id, mask, false});
        }
        for (const auto& p : others) writer.skip(rel(p), "not a lossless mask image (png, bmp, tif)");
      } else {
        cv::Size map_size;
        auto map = read_instance_map(a->second, &map_size);
        check_size(map_size, a->second);
        for (auto& inst : map) {
          instances.push_back({classes.for_colour(inst.key, a->second), std::move(inst.mask), false});
        }
      }
      writer.add(name, image, depth_m, instances, o.intrinsics, item);
      tracker.converted();
    }
    tracker.step_done();
  });
  tracker.check_finished(o.root, o.out);
  return writer.finish();
}

}  // namespace rgbdseg
