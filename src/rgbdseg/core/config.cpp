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
  auto& m = j["model"];
  m["variant"] = c.model.variant;
  m["hf_config"] = c.model.hf_config;
  const auto& d = c.model.depth;
  m["depth"]["min_depth"] = d.min_depth;
  m["depth"]["max_depth"] = d.max_depth;
  m["depth"]["gradients"]["log_depth"] = d.gradients.log_depth;
  m["depth"]["gradients"]["smooth_sigma"] = d.gradients.smooth_sigma;
  m["depth"]["gradients"]["norm_percentile"] = d.gradients.norm_percentile;
  m["depth"]["dggm"]["hidden_channels"] = d.dggm.hidden_channels;
  auto& ds = m["depth"]["dsam"];
  ds["num_modes"] = d.dsam.num_modes;
  ds["bins"] = d.dsam.bins;
  ds["histogram_smoothing"] = d.dsam.histogram_smoothing;
  ds["prominence"] = d.dsam.prominence;
  ds["window_ratio"] = d.dsam.window_ratio;
  ds["soft_windows"] = d.dsam.soft_windows;
  ds["temperature"] = d.dsam.temperature;
  ds["kernel_size"] = d.dsam.kernel_size;
  auto& p = m["depth"]["predictor"];
  p["min_ratio"] = d.predictor.min_ratio;
  p["max_ratio"] = d.predictor.max_ratio;
  p["input_stride"] = d.predictor.input_stride;
  p["channels"] = d.predictor.channels;
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
  // Paths inside a config are relative to the file that names them.
  if (j.contains("model") && j["model"].contains("hf_config")) {
    const std::string p = j["model"]["hf_config"];
    if (!p.empty() && std::filesystem::path(p).is_relative()) {
      j["model"]["hf_config"] = (std::filesystem::path(path).parent_path() / p).lexically_normal().string();
    }
  }
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

void require(bool ok, const std::string& source, const std::string& pointer, const std::string& what) {
  if (!ok) throw Error(source + ": " + pointer + ": " + what);
}

void model_from_json(const ojson& m, const std::string& source, ModelConfig& c) {
  c.variant = one_of(source, "/model/variant", m["variant"], {"rgb", "dggm", "dsam", "edsam", "full"});
  c.hf_config = m["hf_config"];
  const ojson& d = m["depth"];
  auto& o = c.depth;
  o.min_depth = d["min_depth"];
  o.max_depth = d["max_depth"];
  require(o.min_depth >= 0, source, "/model/depth/min_depth", "must be >= 0");
  require(o.max_depth >= 0 && (o.max_depth == 0 || o.max_depth > o.min_depth), source, "/model/depth/max_depth",
          "must be 0 (no limit) or above min_depth");
  o.gradients.log_depth = d["gradients"]["log_depth"];
  o.gradients.smooth_sigma = d["gradients"]["smooth_sigma"];
  o.gradients.norm_percentile = d["gradients"]["norm_percentile"];
  require(o.gradients.smooth_sigma >= 0, source, "/model/depth/gradients/smooth_sigma", "must be >= 0");
  require(o.gradients.norm_percentile >= 0 && o.gradients.norm_percentile <= 1, source,
          "/model/depth/gradients/norm_percentile", "must be in [0, 1] (0 = no normalisation)");
  o.dggm.hidden_channels = d["dggm"]["hidden_channels"];
  require(o.dggm.hidden_channels >= 1, source, "/model/depth/dggm/hidden_channels", "must be >= 1");
  const ojson& s = d["dsam"];
  o.dsam.num_modes = s["num_modes"];
  o.dsam.bins = s["bins"];
  o.dsam.histogram_smoothing = s["histogram_smoothing"];
  o.dsam.prominence = s["prominence"];
  o.dsam.window_ratio = s["window_ratio"];
  o.dsam.soft_windows = s["soft_windows"];
  o.dsam.temperature = s["temperature"];
  o.dsam.kernel_size = s["kernel_size"];
  require(o.dsam.num_modes >= 1 && o.dsam.num_modes <= 16, source, "/model/depth/dsam/num_modes", "must be in 1..16");
  require(o.dsam.bins >= 3 && o.dsam.bins <= 1024, source, "/model/depth/dsam/bins", "must be in 3..1024");
  require(o.dsam.histogram_smoothing >= 0, source, "/model/depth/dsam/histogram_smoothing", "must be >= 0");
  require(o.dsam.prominence >= 0 && o.dsam.prominence <= 1, source, "/model/depth/dsam/prominence", "must be in [0, 1]");
  require(o.dsam.window_ratio > 0, source, "/model/depth/dsam/window_ratio", "must be > 0");
  require(o.dsam.temperature > 0, source, "/model/depth/dsam/temperature", "must be > 0");
  require(o.dsam.kernel_size == 1 || o.dsam.kernel_size == 3, source, "/model/depth/dsam/kernel_size", "must be 1 or 3");
  const ojson& p = d["predictor"];
  o.predictor.min_ratio = p["min_ratio"];
  o.predictor.max_ratio = p["max_ratio"];
  o.predictor.input_stride = p["input_stride"];
  o.predictor.channels = p["channels"];
  require(o.predictor.min_ratio > 0 && o.predictor.max_ratio > o.predictor.min_ratio, source,
          "/model/depth/predictor/max_ratio", "need 0 < min_ratio < max_ratio");
  require(o.predictor.input_stride >= 1, source, "/model/depth/predictor/input_stride", "must be >= 1");
  require(o.predictor.channels >= 1, source, "/model/depth/predictor/channels", "must be >= 1");
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
  model_from_json(resolved["model"], source, c.model);
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
