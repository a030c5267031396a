#include "rgbdseg/data/convert_seed.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/parallel.h"
#include "rgbdseg/io/image_io.h"

namespace rgbdseg {
namespace {

nlohmann::json parse_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
}

struct SeedEntry {
  std::string rgb, depth, mask;  // resolved paths; depth empty for an RGB-only entry
  std::string rgb_as_written;
};

std::string resolve(const std::string& root, const std::string& p) {
  if (root.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(root) / p).string();
}

std::vector<SeedEntry> read_entries(const std::string& json_path, const std::string& root) {
  const nlohmann::json j = parse_json_file(json_path);
  if (!j.is_array()) throw Error(json_path + ": expected a JSON list of {\"image\", \"annotation\"} entries");
  std::vector<SeedEntry> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const nlohmann::json& e = j[i];
    const std::string where = json_path + ": entry " + std::to_string(i);
    if (!e.is_object()) throw Error(where + ": expected an object with \"image\" and \"annotation\"");
    if (!e.contains("image")) throw Error(where + ": no \"image\"");
    if (!e.contains("annotation") || !e["annotation"].is_string()) {
      throw Error(where + ": \"annotation\" (the mask PNG path) is missing or not a string");
    }
    SeedEntry s;
    const nlohmann::json& image = e["image"];
    std::vector<std::string> paths;
    if (image.is_string()) {
      paths.push_back(image.get<std::string>());
    } else if (image.is_array() && !image.empty()) {
      for (const auto& p : image) {
        if (!p.is_string()) throw Error(where + ": \"image\" must be a path or a list of paths");
        paths.push_back(p.get<std::string>());
      }
    } else {
      throw Error(where + ": \"image\" must be a path or a non-empty list of paths");
    }
    s.rgb_as_written = paths[0];
    s.rgb = resolve(root, paths[0]);
    if (paths.size() > 1) s.depth = resolve(root, paths[1]);
    s.mask = resolve(root, e["annotation"].get<std::string>());
    out.push_back(std::move(s));
  }
  return out;
}


// A grey image stored with 3 or 4 equal colour channels (PIL "RGB" of a grey
// depth map) becomes one channel; truly coloured depth (a colour-mapped
// visualisation) is refused.
cv::Mat single_channel(const cv::Mat& raw, const std::string& path) {
  if (raw.channels() == 1) return raw;
  if (raw.channels() != 3 && raw.channels() != 4) {
    throw Error(path + ": depth image has " + std::to_string(raw.channels()) + " channels, expected 1 (or grey as 3)");
  }
  std::vector<cv::Mat> ch;
  cv::split(raw, ch);
  if (cv::countNonZero(ch[0] != ch[1]) != 0 || cv::countNonZero(ch[0] != ch[2]) != 0) {
    throw Error(path + ": depth image has 3 different colour channels (a colour-mapped visualisation?), expected grey");
  }
  return ch[0];
}

// Stored depth -> CV_32FC1 metres (0 = no reading), values kept as they are.
cv::Mat depth_metres(const cv::Mat& stored, const std::string& path, double scale) {
  const cv::Mat raw = single_channel(stored, path);
  double s = scale;
  switch (raw.depth()) {
    case CV_8U:
      if (s <= 0) {
        throw Error(path +
                    ": 8-bit depth image: its unit cannot be known (the research code's depth is an 8-bit "
                    "visualisation); pass --depth-scale, metres per stored unit");
      }
      break;
    case CV_16U:
      if (s <= 0) s = 0.001;
      break;
    case CV_32F:
    case CV_64F:
      if (s <= 0) s = 1.0;
      break;
    default:
      throw Error(path + ": depth image has element type " + std::to_string(raw.depth()) +
                  ", expected 8-bit or 16-bit unsigned, or float");
  }
  cv::Mat as_double;
  raw.convertTo(as_double, CV_64F, s);
  cv::Mat out(raw.size(), CV_32FC1);
  for (int y = 0; y < raw.rows; ++y) {
    const double* src = as_double.ptr<double>(y);
    float* dst = out.ptr<float>(y);
    for (int x = 0; x < raw.cols; ++x) {
      const double m = src[x];
      if (!std::isfinite(m) || m <= 0) {
        dst[x] = 0.0f;
        continue;
      }
      if (m > 65.535) {
        char buf[160];
        std::snprintf(buf, sizeof buf,
                      ": depth %.4g m at (x %d, y %d) exceeds what a 16-bit millimetre PNG holds "
                      "(65.535 m); check the depth scale",
                      m, x, y);
        throw Error(path + buf);
      }
      dst[x] = static_cast<float>(m);
    }
  }
  return out;
}

// "1 instance", "3 instances".
std::string count_of(int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

struct MaskCounts {
  int64_t background = 0;  // instances whose class is 0
  int64_t mixed = 0;       // instances whose pixels carry several class ids
};

// Instances of a BGR mask (G = instance id, R = class id), in instance id order.
std::vector<InstanceMask> mask_instances(const cv::Mat& mask, const std::string& path,
                                         const std::map<int64_t, std::string>& names, const std::string& label2id_path,
                                         MaskCounts& counts) {
  if ((mask.channels() != 3 && mask.channels() != 4) || (mask.depth() != CV_8U && mask.depth() != CV_16U)) {
    throw Error(path + ": mask has " + std::to_string(mask.channels()) + " channel(s) of element type " +
                std::to_string(mask.depth()) +
                ", expected an 8- or 16-bit 3-channel PNG (BGR: G = instance id, R = class id)");
  }
  cv::Mat g, r;
  cv::extractChannel(mask, g, 1);
  cv::extractChannel(mask, r, 2);
  g.convertTo(g, CV_32S);
  r.convertTo(r, CV_32S);
  const size_t ids = mask.depth() == CV_8U ? 256 : 65536;
  std::vector<int64_t> area(ids, 0);
  std::vector<int> min_class(ids, std::numeric_limits<int>::max()), max_class(ids, -1);
  for (int y = 0; y < mask.rows; ++y) {
    const int* gi = g.ptr<int>(y);
    const int* ri = r.ptr<int>(y);
    for (int x = 0; x < mask.cols; ++x) {
      if (gi[x] == 0) continue;
      const auto id = static_cast<size_t>(gi[x]);
      ++area[id];
      min_class[id] = std::min(min_class[id], ri[x]);
      max_class[id] = std::max(max_class[id], ri[x]);
    }
  }
  std::vector<InstanceMask> out;
  std::vector<int> slot(ids, -1);
  for (size_t id = 1; id < ids; ++id) {
    if (area[id] == 0) continue;
    const int cls = max_class[id];  // the research loader: the last of the sorted (instance, class) pairs wins
    if (min_class[id] != max_class[id]) ++counts.mixed;
    if (cls == 0) {
      ++counts.background;
      continue;
    }
    if (!names.count(cls)) {
      std::string known;
      size_t listed = 0;
      for (const auto& [k, name] : names) {
        if (listed++ == 20) {
          known += ", ...";
          break;
        }
        known += (known.empty() ? "" : ", ") + std::to_string(k) + " " + name;
      }
      throw Error(path + ": instance " + std::to_string(id) + " has class id " + std::to_string(cls) +
                  " (R channel), which " + std::filesystem::path(label2id_path).filename().string() +
                  " does not name (it has: " + known + ")");
    }
    slot[id] = static_cast<int>(out.size());
    out.push_back({cls, cv::Mat::zeros(mask.rows, mask.cols, CV_8UC1), false});
  }
  if (out.empty()) return out;
  for (int y = 0; y < mask.rows; ++y) {
    const int* gi = g.ptr<int>(y);
    for (int x = 0; x < mask.cols; ++x) {
      if (gi[x] == 0) continue;
      const int s = slot[static_cast<size_t>(gi[x])];
      if (s >= 0) out[static_cast<size_t>(s)].mask.ptr<uint8_t>(y)[x] = 1;
    }
  }
  return out;
}

}  // namespace

std::vector<std::pair<int64_t, std::string>> read_label2id(const std::string& path) {
  const nlohmann::json j = parse_json_file(path);
  if (!j.is_object()) throw Error(path + ": expected a JSON object {class name: id}");
  std::map<int64_t, std::string> by_id;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer()) {
      throw Error(path + ": \"" + it.key() + "\": expected an integer id, got " + it.value().dump());
    }
    const auto id = it.value().get<int64_t>();
    if (id < 0) throw Error(path + ": \"" + it.key() + "\": id " + std::to_string(id) + " is negative");
    const auto [prev, fresh] = by_id.emplace(id, it.key());
    if (!fresh) {
      throw Error(path + ": id " + std::to_string(id) + " is given to both \"" + prev->second + "\" and \"" + it.key() +
                  "\"");
    }
  }
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& [id, name] : by_id) {
    if (id != 0) out.emplace_back(id, name);
  }
  if (out.empty()) throw Error(path + ": no classes besides background (id 0)");
  return out;
}

ConversionSummary convert_seed(const SeedConvertOptions& o, const ProgressCallback& progress) {
  if (!std::isfinite(o.depth_scale) || o.depth_scale < 0) {
    throw Error("seed: depth scale must be a positive number of metres per stored unit (0: the default), got " +
                std::to_string(o.depth_scale));
  }
  const auto categories = read_label2id(o.label2id_path);
  std::map<int64_t, std::string> names(categories.begin(), categories.end());
  const std::vector<SeedEntry> entries = read_entries(o.json_path, o.root);
  if (entries.empty()) throw Error(o.json_path + ": empty list, nothing to convert");
  size_t with_depth = 0;
  for (const auto& e : entries) with_depth += !e.depth.empty();
  if (with_depth == 0) {
    throw Error(o.json_path + ": no entry has a depth image (\"image\" is RGB only); rgbdseg datasets are RGB-D");
  }

  DatasetWriter writer(
      o.out_dir, categories, o.force,
      "converted from the research code's format: " + std::filesystem::path(o.json_path).filename().string());
  const auto total = static_cast<int64_t>(entries.size());
  std::atomic<int64_t> done{0};
  std::atomic<bool> cancelled{false};
  std::mutex mutex;
  MaskCounts totals;
  if (progress && !progress(0, total)) cancelled = true;
  // RGB-only entries first, in list order (the summary lists them in a stable order).
  std::vector<size_t> todo;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].depth.empty()) {
      writer.skip("entry " + std::to_string(i) + " (" + entries[i].rgb_as_written + ")",
                  "no depth image (RGB-only entry)");
      done += 1;
    } else {
      todo.push_back(i);
    }
  }
  parallel_for(todo.size(), o.threads, [&](size_t k) {
    if (cancelled) return;
    const size_t i = todo[k];
    const SeedEntry& e = entries[i];
    MaskCounts counts;
    try {
      const cv::Mat rgb = read_rgb(e.rgb);
      const cv::Mat depth = depth_metres(read_image_unchanged(e.depth), e.depth, o.depth_scale);
      check_same_size(rgb, e.rgb, depth, e.depth);
      const cv::Mat mask = read_image_unchanged(e.mask);
      check_same_size(rgb, e.rgb, mask, e.mask);
      const std::vector<InstanceMask> instances = mask_instances(mask, e.mask, names, o.label2id_path, counts);
      char stem[32];
      std::snprintf(stem, sizeof stem, "%06zu", i);
      writer.add(stem, rgb, depth, instances, std::nullopt, e.rgb_as_written);
    } catch (const std::exception& ex) {
      rethrow_with_context(o.json_path + ": entry " + std::to_string(i), ex);
    }
    std::lock_guard<std::mutex> lock(mutex);
    totals.background += counts.background;
    totals.mixed += counts.mixed;
    const int64_t d = ++done;
    if (progress && !progress(d, total)) cancelled = true;
  });
  if (cancelled) throw Error("seed: conversion cancelled");
  if (totals.background > 0) {
    writer.skip(count_of(totals.background, "instance"), "class id 0 (background) in the R channel");
  }
  if (totals.mixed > 0) {
    RGBDSEG_LOG(Warn) << "seed: " << totals.mixed
                      << " instances carry several class ids (R) in their pixels; each got the largest, as the "
                         "research loader does";
  }
  ConversionSummary summary = writer.finish();
  return summary;
}

}  // namespace rgbdseg
