#include "rgbdseg/data/annotation_import.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"

namespace rgbdseg {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> depth_candidates(const DepthLookup& d, const std::string& relative_image) {
  const fs::path rel = fs::path(relative_image).lexically_normal();
  const std::string stem = rel.stem().string() + d.suffix;
  // The image's folders below its root, then with leading folders dropped one
  // by one (rgb/part2/a.png -> part2/a, then a), so DIR may mirror any part of it.
  std::vector<fs::path> bases;
  std::vector<fs::path> folders;
  for (const auto& part : rel.parent_path()) {
    if (part == ".." || part == "." || part.empty() || part == rel.root_path()) {
      folders.clear();  // nothing above a "..": DIR never reaches outside itself
      continue;
    }
    folders.push_back(part);
  }
  for (size_t first = 0; first <= folders.size(); ++first) {
    fs::path base = d.dir;
    for (size_t k = first; k < folders.size(); ++k) base /= folders[k];
    bases.push_back(base / stem);
  }
  std::vector<std::string> out;
  for (const auto& base : bases) {
    for (const char* ext : {".png", ".tif", ".tiff", ".PNG", ".TIF", ".TIFF"}) out.push_back(base.string() + ext);
  }
  return out;
}

}  // namespace

std::string DepthLookup::find(const std::string& relative_image) const {
  for (const auto& c : depth_candidates(*this, relative_image)) {
    if (is_regular_file(c)) return c;
  }
  return "";
}

std::string DepthLookup::expected(const std::string& relative_image) const {
  return depth_candidates(*this, relative_image).front();
}

std::vector<std::pair<int64_t, std::string>> load_category_list(const std::string& path) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::set<std::string> names;
  std::set<int64_t> ids;
  auto add = [&](int64_t id, const std::string& name, const std::string& where) {
    if (name.empty()) throw Error(path + ": " + where + ": empty category name");
    if (!names.insert(name).second) throw Error(path + ": " + where + ": category '" + name + "' listed twice");
    if (id <= 0) throw Error(path + ": " + where + ": category id " + std::to_string(id) + " is not positive");
    if (!ids.insert(id).second) throw Error(path + ": " + where + ": category id " + std::to_string(id) + " listed twice");
    out.emplace_back(id, name);
  };
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".json") {
    const nlohmann::ordered_json j = read_json_file(path);
    if (!j.is_object() || !j.contains("categories") || !j["categories"].is_array()) {
      throw Error(path + ": expected a COCO file with a \"categories\" list");
    }
    size_t k = 0;
    for (const auto& c : j["categories"]) {
      const std::string where = "categories[" + std::to_string(k++) + "]";
      if (!c.is_object() || !c.contains("id") || !c["id"].is_number_integer() || !c.contains("name") ||
          !c["name"].is_string()) {
        throw Error(path + ": " + where + ": expected {\"id\": <integer>, \"name\": <string>}");
      }
      add(c["id"].get<int64_t>(), c["name"].get<std::string>(), where);
    }
  } else {
    std::istringstream in(read_file(path));
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const std::string name = trim_line(line);
      if (name.empty() || name[0] == '#' || name == "__ignore__" || name == "_background_") continue;
      add(static_cast<int64_t>(out.size()) + 1, name, "line " + std::to_string(line_no));
    }
  }
  if (out.empty()) throw Error(path + ": lists no category");
  return out;
}

std::string find_image_file(const std::string& base) {
  for (const char* ext : {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".PNG", ".JPG", ".JPEG", ".BMP", ".TIF",
                          ".TIFF"}) {
    if (is_regular_file(base + ext)) return base + ext;
  }
  return "";
}

std::string coco_image_root(const std::string& annotations_path, const std::vector<CocoImage>& images,
                            const std::string& given) {
  std::error_code ec;
  if (!given.empty()) {
    if (!fs::is_directory(given, ec)) throw Error(given + ": no such image folder");
    return given;
  }
  const fs::path json_dir =
      fs::path(annotations_path).parent_path().empty() ? fs::path(".") : fs::path(annotations_path).parent_path();
  std::vector<fs::path> candidates = {json_dir};
  const std::string stem = fs::path(annotations_path).stem().string();
  if (stem.rfind("instances_", 0) == 0) candidates.push_back(json_dir / ".." / "images" / stem.substr(10));
  candidates.push_back(json_dir / ".." / "images");
  for (const auto& img : images) {
    const fs::path rel = tool_image_path(img.file_name);
    if (rel.is_absolute()) return json_dir.string();
    for (const auto& c : candidates) {
      if (is_regular_file((c / rel).string())) return c.lexically_normal().string();
    }
  }
  std::string tried;
  for (const auto& c : candidates) tried += (tried.empty() ? "" : ", ") + c.lexically_normal().string() + "/";
  throw Error(annotations_path + ": none of its images is in " + tried + " (pass --images DIR)");
}

fs::path tool_image_path(std::string name) {
  std::replace(name.begin(), name.end(), '\\', '/');
  return fs::path(name).lexically_normal();
}

std::string trim_line(const std::string& line) {
  size_t a = 0, b = line.size();
  while (a < b && std::isspace(static_cast<unsigned char>(line[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(line[b - 1]))) --b;
  return line.substr(a, b - a);
}

std::string roboflow_original_stem(const std::string& stem) {
  // <original>_<ext>.rf.<hex>
  const size_t rf = stem.rfind(".rf.");
  if (rf == std::string::npos || rf + 4 >= stem.size()) return stem;
  for (size_t i = rf + 4; i < stem.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(stem[i]))) return stem;
  }
  const size_t us = stem.rfind('_', rf);
  if (us == std::string::npos || us == 0 || us + 1 == rf) return stem;
  for (size_t i = us + 1; i < rf; ++i) {
    if (!std::isalnum(static_cast<unsigned char>(stem[i]))) return stem;
  }
  return stem.substr(0, us);
}

}  // namespace rgbdseg
