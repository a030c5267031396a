#include "rgbdseg/data/convert_cots.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>

#include <opencv2/core.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/parallel.h"
#include "rgbdseg/data/convert_folder.h"
#include "rgbdseg/io/image_io.h"

namespace rgbdseg {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

struct Entry {
  std::string name, path;
};

// Entries of `dir` (hidden ones left out), sorted by name: folders or regular files.
std::vector<Entry> list(const std::string& dir, bool folders) {
  std::vector<Entry> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code ec2;
    if (name.empty() || name[0] == '.') continue;
    if (folders ? fs::is_directory(it->path(), ec2) : fs::is_regular_file(it->path(), ec2)) {
      out.push_back({name, it->path().string()});
    }
  }
  if (ec) throw Error(dir + ": cannot list folder (" + ec.message() + ")");
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

// Frame number as a number when it is one, for "2" < "10".
bool frame_less(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

}  // namespace

std::string cots_object_group(const std::string& scene) {
  std::vector<std::string> tokens;
  size_t start = 0;
  while (start <= scene.size()) {
    const size_t end = std::min(scene.find('_', start), scene.size());
    if (end > start) tokens.push_back(scene.substr(start, end - start));
    start = end + 1;
  }
  // Condition tags at the end: no / oc / oc2 (occlusion), nw / w.
  static const std::regex kTag("(no|oc|nw|w)[0-9]*", std::regex::icase);
  while (tokens.size() > 1 && std::regex_match(tokens.back(), kTag)) tokens.pop_back();
  if (tokens.empty()) return lower(scene);
  // Set letter: booksA, bottlesB (an upper-case letter after a lower-case one).
  std::string& last = tokens.back();
  if (last.size() >= 2 && std::isupper(static_cast<unsigned char>(last.back())) &&
      std::islower(static_cast<unsigned char>(last[last.size() - 2]))) {
    last.pop_back();
  }
  std::string group = lower(join(tokens, "_"));
  // Scenes whose objects reappear under another name (see convert_cots.h).
  static const std::map<std::string, std::string> kSameObjects = {
      {"academic_book", "books"}, {"lp_book", "books"}, {"reading", "books"}, {"book", "books"},
      {"head_gear", "headgear"}};
  const auto it = kSameObjects.find(group);
  if (it != kSameObjects.end()) return it->second;
  // The masks folders spell names in lower case ("booksc_w_oc"): a known group plus one letter.
  static const std::set<std::string> kKnown = {"books", "bottles", "food", "footwear", "headgear",
                                               "mugs", "shooters", "souvenirs", "statues"};
  if (!kKnown.count(group) && group.size() > 1 && kKnown.count(group.substr(0, group.size() - 1))) group.pop_back();
  return group;
}

CotsScan scan_cots(const std::string& root) {
  std::error_code ec;
  if (!fs::exists(root, ec)) throw Error(root + ": no such folder");
  if (!fs::is_directory(root, ec)) throw Error(root + ": not a folder");
  static const std::regex kPart("part\\s*([0-9]+).*", std::regex::icase);
  static const std::regex kColour("([0-9]+)_colou?r\\.(jpe?g|png)", std::regex::icase);
  static const std::regex kObjectMask("(?:^|_)([0-9]+)_colou?r_mask", std::regex::icase);
  auto rel = [&](const std::string& p) { return fs::path(p).lexically_relative(root).generic_string(); };

  CotsScan scan;
  std::set<std::string> groups;
  bool any_part = false;
  for (const auto& part : list(root, true)) {
    std::smatch m;
    if (!std::regex_match(part.name, m, kPart)) continue;
    any_part = true;
    const std::string part_id = "part" + m[1].str();
    // The part's shared instance-map folder, if any: masks/<scene in any case>/.
    std::map<std::string, Entry> shared;  // lower-case scene -> folder
    std::string shared_dir;
    for (const auto& d : list(part.path, true)) {
      if (lower(d.name) == "masks") shared_dir = d.path;
    }
    if (!shared_dir.empty()) {
      for (const auto& d : list(shared_dir, true)) shared[lower(d.name)] = d;
    }
    std::set<std::string> used_shared;
    for (const auto& scene : list(part.path, true)) {
      if (scene.path == shared_dir) continue;
      const std::string group = cots_object_group(scene.name);
      groups.insert(group);
      auto skip = [&](const std::string& item, const std::string& reason) {
        scan.skipped.push_back({item, reason, group});
      };
      std::map<std::string, std::string> colour, files_lower;  // frame -> colour file; lower name -> path
      std::string scene_masks;
      for (const auto& f : list(scene.path, false)) {
        files_lower[lower(f.name)] = f.path;
        if (std::regex_match(f.name, m, kColour)) colour[m[1].str()] = f.path;
      }
      for (const auto& d : list(scene.path, true)) {
        if (lower(d.name) == "masks") scene_masks = d.path;
      }
      // Per-object masks in the scene, grouped by the frame their names give.
      std::map<std::string, std::vector<std::string>> object_masks;
      if (!scene_masks.empty()) {
        for (const auto& f : list(scene_masks, false)) {
          if (lower_extension(f.name) != "png") {
            skip(rel(f.path), "not a PNG mask");
          } else if (!std::regex_search(f.name, m, kObjectMask)) {
            skip(rel(f.path), "mask file name does not give its frame (expected '..._<k>_colour_mask_<j>_mask.png')");
          } else if (!colour.count(m[1].str())) {
            skip(rel(f.path), "no colour image " + m[1].str() + "_colour.jpeg for this mask");
          } else {
            object_masks[m[1].str()].push_back(f.path);
          }
        }
      }
      // Otherwise the part's instance maps, found case-insensitively.
      std::map<std::string, std::string> maps_lower;  // lower file name -> path
      std::string map_folder_name = lower(scene.name);
      if (scene_masks.empty()) {
        const auto it = shared.find(lower(scene.name));
        if (it != shared.end()) {
          used_shared.insert(it->first);
          map_folder_name = it->second.name;
          for (const auto& f : list(it->second.path, false)) maps_lower[lower(f.name)] = f.path;
        }
      }
      std::vector<std::string> frames;
      for (const auto& [k, path] : colour) frames.push_back(k);
      std::sort(frames.begin(), frames.end(), frame_less);
      for (const auto& k : frames) {
        CotsFrame f;
        f.stem = part_id + "/" + scene.name + "/" + k;
        f.source = rel(colour[k]);
        f.group = group;
        f.colour = colour[k];
        const auto depth = files_lower.find(k + "_depth16.png");
        if (depth == files_lower.end()) {
          skip(f.stem, "no depth file " + k + "_depth16.png");
          continue;
        }
        f.depth = depth->second;
        if (!scene_masks.empty()) {
          const auto masks = object_masks.find(k);
          if (masks == object_masks.end()) {
            skip(f.stem, "not annotated: no " + k + "_colour_mask_* file in " + rel(scene_masks) + "/");
            continue;
          }
          f.object_masks = masks->second;
        } else {
          const auto map = maps_lower.find(k + "_colour.png");
          const auto map_us = maps_lower.find(k + "_color.png");
          if (map == maps_lower.end() && map_us == maps_lower.end()) {
            skip(f.stem, "no instance map " + (shared_dir.empty() ? std::string("masks") : rel(shared_dir)) + "/" +
                             map_folder_name + "/" + k + "_colour.png");
            continue;
          }
          f.instance_map = map != maps_lower.end() ? map->second : map_us->second;
        }
        scan.frames.push_back(std::move(f));
      }
    }
    for (const auto& [name, folder] : shared) {
      if (!used_shared.count(name)) {
        scan.skipped.push_back({rel(folder.path), "instance maps of a scene that has no images", cots_object_group(name)});
        groups.insert(cots_object_group(name));
      }
    }
  }
  if (!any_part) {
    throw Error(root +
                ": not a COTS folder: no 'Part N - ...' folders in it (expected 'Part 2 - Multiple Objects', "
                "'Part 3 - Complex Background')");
  }
  std::sort(scan.frames.begin(), scan.frames.end(),
            [](const CotsFrame& a, const CotsFrame& b) { return a.stem < b.stem; });
  scan.groups.assign(groups.begin(), groups.end());
  return scan;
}

std::vector<CotsSubset> convert_cots(const CotsOptions& o, const ProgressCallback& progress) {
  const CotsScan scan = scan_cots(o.root);
  if (scan.frames.empty()) {
    throw Error(o.root + ": no frame could be converted (" + std::to_string(scan.skipped.size()) + " items skipped" +
                (scan.skipped.empty() ? std::string() : ", e.g. " + scan.skipped[0].item + ": " + scan.skipped[0].reason) +
                ")");
  }
  std::set<std::string> val;
  for (const auto& name : o.val_groups) {
    const std::string g = lower(name);
    if (g.empty()) continue;
    if (!std::binary_search(scan.groups.begin(), scan.groups.end(), g)) {
      throw Error("--val-groups: unknown object group '" + name + "' (groups in " + o.root + ": " +
                  join(scan.groups, ", ") + ")");
    }
    val.insert(g);
  }
  const bool split = !val.empty();
  if (split && val.size() == scan.groups.size()) {
    throw Error("--val-groups: every object group (" + join(scan.groups, ", ") +
                ") is in validation; nothing is left to train on");
  }
  std::error_code ec;
  const fs::path out_canon = fs::weakly_canonical(o.out, ec);
  if (!ec && out_canon == fs::weakly_canonical(o.root, ec)) {
    throw Error(o.out + ": the output folder must differ from the input folder");
  }
  std::vector<CotsSubset> subsets(split ? 2 : 1);
  std::vector<std::unique_ptr<DatasetWriter>> writers;
  const std::vector<std::pair<int64_t, std::string>> categories = {{1, "object"}};
  const std::string description = "COTS (Seychell et al. 2021), class-agnostic, from " + o.root;
  if (!split) {
    writers.push_back(std::make_unique<DatasetWriter>(o.out, categories, o.force, description));
    subsets[0].groups = scan.groups;
  } else {
    // The same rule as DatasetWriter's, for the folder that holds train/ and val/.
    if (fs::exists(o.out, ec) && !fs::is_directory(o.out, ec)) throw Error(o.out + ": exists and is not a directory");
    if (fs::is_directory(o.out, ec) && !fs::is_empty(o.out, ec) && !o.force) {
      throw Error(o.out + ": output directory is not empty (pass --force to write into it)");
    }
    subsets[0].name = "train";
    subsets[1].name = "val";
    for (const auto& g : scan.groups) subsets[val.count(g) ? 1 : 0].groups.push_back(g);
    for (const auto& s : subsets) {
      writers.push_back(std::make_unique<DatasetWriter>(
          o.out + "/" + s.name, categories, o.force,
          description + ", " + s.name + " subset (object groups " + join(s.groups, ", ") + ")"));
    }
  }
  auto writer_of = [&](const std::string& group) -> DatasetWriter& { return *writers[val.count(group) ? 1 : 0]; };
  for (const auto& s : scan.skipped) writer_of(s.group).skip(s.item, s.reason);

  DepthReadOptions depth_options;
  depth_options.encoding = DepthEncoding::MillimetrePng16;
  depth_options.scale = 0.001;
  depth_options.max_depth = o.max_depth;
  auto rel = [&](const std::string& p) { return fs::path(p).lexically_relative(o.root).generic_string(); };
  std::atomic<int64_t> done{0};
  std::atomic<bool> cancelled{false};
  std::mutex progress_mutex;
  const int64_t total = static_cast<int64_t>(scan.frames.size());
  parallel_for(scan.frames.size(), o.threads, [&](size_t i) {
    if (cancelled) return;
    const CotsFrame& f = scan.frames[i];
    DatasetWriter& writer = writer_of(f.group);
    const cv::Mat rgb = read_rgb(f.colour);
    const cv::Mat depth = read_depth(f.depth, depth_options);
    check_same_size(rgb, f.colour, depth, f.depth);
    auto check_size = [&](const cv::Size& size, const std::string& file) {
      if (size != rgb.size()) {
        throw Error(file + ": mask size " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                    " does not match colour image '" + f.colour + "' " + std::to_string(rgb.cols) + "x" +
                    std::to_string(rgb.rows));
      }
    };
    std::vector<InstanceMask> instances;
    for (const auto& path : f.object_masks) {
      cv::Mat mask = read_binary_mask(path);
      check_size(mask.size(), path);
      if (cv::countNonZero(mask) == 0) {
        writer.skip(rel(path), "empty mask");
        continue;
      }
      instances.push_back({1, std::move(mask), false});
    }
    if (!f.instance_map.empty()) {
      cv::Size size;
      auto objects = read_instance_map(f.instance_map, &size);
      check_size(size, f.instance_map);
      for (auto& obj : objects) instances.push_back({1, std::move(obj.mask), false});
    }
    writer.add(f.stem, rgb, depth, instances, {}, f.source);
    const int64_t n = ++done;
    if (progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      if (!progress(n, total)) cancelled = true;
    }
  });
  if (cancelled) throw Error(o.out + ": conversion cancelled; annotations.json not written");
  for (size_t s = 0; s < subsets.size(); ++s) subsets[s].summary = writers[s]->finish();
  return subsets;
}

}  // namespace rgbdseg
