#include "rgbdseg/core/config.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"

namespace rgbdseg {

using ojson = nlohmann::ordered_json;

ojson config_to_json(const Config& c) {
  ojson j;
  j["version"] = c.version;
  j["runtime"]["threads"] = c.runtime.threads;
  j["runtime"]["log_level"] = c.runtime.log_level;
  j["eval"]["iou_type"] = c.eval.iou_type;
  j["eval"]["use_cats"] = c.eval.use_cats;
  return j;
}

namespace {

std::string type_of(const ojson& j) {
  if (j.is_number_integer()) return "an integer";
  if (j.is_number()) return "a number";
  return std::string(j.is_object() ? "an object" : j.is_array() ? "an array" : j.is_string() ? "a string"
                     : j.is_boolean() ? "a boolean" : "null");
}

std::string keys_of(const ojson& obj) {
  std::string out;
  for (auto it = obj.begin(); it != obj.end(); ++it) out += (out.empty() ? "" : ", ") + it.key();
  return out;
}

// Merges `patch` into `target`, using `target`'s existing keys and value types
// as the schema. Unknown keys and type mismatches are errors.
void merge_strict(ojson& target, const ojson& patch, const std::string& source, const std::string& pointer) {
  if (!patch.is_object()) {
    throw Error(source + ": " + (pointer.empty() ? "/" : pointer) + ": expected an object, got " + type_of(patch));
  }
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string ptr = pointer + "/" + it.key();
    if (!target.contains(it.key())) {
      throw Error(source + ": " + ptr + ": unknown key (valid keys here: " + keys_of(target) + ")");
    }
    ojson& slot = target[it.key()];
    const ojson& value = it.value();
    if (slot.is_object()) {
      merge_strict(slot, value, source, ptr);
    } else if (slot.is_boolean() ? value.is_boolean()
               : slot.is_number_integer() ? value.is_number_integer()
               : slot.is_number() ? value.is_number()
               : slot.is_string() ? value.is_string()
               : slot.is_array() ? value.is_array()
               : true) {
      slot = value;
    } else {
      throw Error(source + ": " + ptr + ": expected " + type_of(slot) + ", got " + type_of(value) + " (" +
                  value.dump() + ")");
    }
  }
}

std::string one_of(const std::string& source, const std::string& pointer, const std::string& value,
                   const std::vector<std::string>& valid) {
  for (const auto& v : valid) {
    if (v == value) return value;
  }
  std::string list;
  for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
  throw Error(source + ": " + pointer + ": expected one of " + list + "; got \"" + value + "\"");
}

// Reads a config file and its base chain into one JSON patch (base first).
ojson read_layered(const std::string& path, std::set<std::string>& seen) {
  const std::string canonical = std::filesystem::weakly_canonical(path).string();
  if (!seen.insert(canonical).second) throw Error(path + ": \"base\" chain loops back to this file");
  ojson j;
  try {
    j = ojson::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path + ": invalid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(path + ": /: expected an object, got " + type_of(j));
  // Check each file on its own, so a mistake in a base preset names that preset.
  ojson own = j;
  own.erase("base");
  config_from_json(own, path);
  if (!j.contains("base")) return j;
  if (!j["base"].is_string()) throw Error(path + ": /base: expected a string (a path), got " + type_of(j["base"]));
  std::filesystem::path base = j["base"].get<std::string>();
  if (base.is_relative()) base = std::filesystem::path(path).parent_path() / base;
  if (!file_exists(base.string())) throw Error(path + ": /base: file '" + base.string() + "' not found");
  ojson merged = read_layered(base.string(), seen);
  j.erase("base");
  merged.merge_patch(j);
  return merged;
}

}  // namespace

Config config_from_json(const ojson& json, const std::string& source) {
  ojson resolved = config_to_json(Config{});
  merge_strict(resolved, json, source, "");
  Config c;
  c.version = resolved["version"];
  if (c.version > kConfigVersion || c.version < 1) {
    throw Error(source + ": /version: config format version " + std::to_string(c.version) +
                " is not supported (this build reads 1.." + std::to_string(kConfigVersion) + ")");
  }
  c.version = kConfigVersion;  // upgraded: no older formats exist yet
  c.runtime.threads = resolved["runtime"]["threads"];
  if (c.runtime.threads < 0) throw Error(source + ": /runtime/threads: must be >= 0 (0 = all cores)");
  c.runtime.log_level = one_of(source, "/runtime/log_level", resolved["runtime"]["log_level"],
                               {"error", "warn", "info", "debug"});
  c.eval.iou_type = one_of(source, "/eval/iou_type", resolved["eval"]["iou_type"], {"segm", "bbox"});
  c.eval.use_cats = resolved["eval"]["use_cats"];
  return c;
}

void apply_override(ojson& json, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error("--set " + assignment + ": expected key=value, e.g. runtime.threads=2");
  }
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  ojson value;
  try {
    value = ojson::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    value = text;  // bare words are strings: eval.iou_type=bbox
  }
  ojson* node = &json;
  size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw Error("--set " + assignment + ": empty key segment");
    if (!node->is_object()) *node = ojson::object();
    node = &(*node)[part];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  *node = value;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  ojson resolved = config_to_json(Config{});
  if (!path.empty()) {
    std::set<std::string> seen;
    const ojson file = read_layered(path, seen);
    merge_strict(resolved, file, path, "");
    config_from_json(resolved, path);  // validate now, so errors name the file
  }
  for (const auto& assignment : overrides) {
    ojson patch = ojson::object();
    apply_override(patch, assignment);
    const std::string source = "--set " + assignment.substr(0, assignment.find('='));
    merge_strict(resolved, patch, source, "");
    config_from_json(resolved, source);
  }
  return config_from_json(resolved, path.empty() ? "config" : path);
}

}  // namespace rgbdseg
