#include "rgbdseg/core/config.h"

#include <filesystem>
#include <limits>
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
  j["runtime"]["device"] = c.runtime.device;
  j["eval"]["iou_type"] = c.eval.iou_type;
  j["eval"]["use_cats"] = c.eval.use_cats;
  j["eval"]["top_k"] = c.eval.top_k;
  j["eval"]["score_threshold"] = c.eval.score_threshold;
  j["eval"]["predict_threshold"] = c.eval.predict_threshold;
  j["eval"]["short_side"] = c.eval.short_side;
  j["eval"]["max_long_side"] = c.eval.max_long_side;
  j["eval"]["batch_size"] = c.eval.batch_size;
  auto& m = j["model"];
  m["variant"] = c.model.variant;
  m["hf_config"] = c.model.hf_config;
  m["train_short_side"] = c.model.train_short_side;
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
  auto& da = j["data"];
  const auto& dc = c.data;
  da["train"] = dc.train;
  da["val"] = dc.val;
  da["batch_size"] = dc.batch_size;
  da["workers"] = dc.workers;
  da["resize"] = dc.resize;
  da["short_sides"] = dc.short_sides;
  da["max_long_side"] = dc.max_long_side;
  da["min_scale"] = dc.min_scale;
  da["max_scale"] = dc.max_scale;
  da["fixed_height"] = dc.fixed_height;
  da["fixed_width"] = dc.fixed_width;
  da["crop_height"] = dc.crop_height;
  da["crop_width"] = dc.crop_width;
  da["hflip"] = dc.hflip;
  da["colour_jitter"] = dc.colour_jitter;
  da["depth_noise"] = dc.depth_noise;
  da["depth_dropout_boxes"] = dc.depth_dropout_boxes;
  da["depth_resize"] = dc.depth_resize;
  auto& t = j["train"];
  const auto& tc = c.train;
  t["init"] = tc.init;
  t["max_steps"] = tc.max_steps;
  t["lr"] = tc.lr;
  t["weight_decay"] = tc.weight_decay;
  t["backbone_lr_multiplier"] = tc.backbone_lr_multiplier;
  t["freeze_backbone"] = tc.freeze_backbone;
  t["schedule"] = tc.schedule;
  t["warmup_steps"] = tc.warmup_steps;
  t["warmup_factor"] = tc.warmup_factor;
  t["poly_power"] = tc.poly_power;
  t["step_milestones"] = tc.step_milestones;
  t["step_gamma"] = tc.step_gamma;
  t["min_lr_factor"] = tc.min_lr_factor;
  t["clip_grad_norm"] = tc.clip_grad_norm;
  t["accumulate"] = tc.accumulate;
  t["precision"] = tc.precision;
  t["seed"] = tc.seed;
  t["log_every"] = tc.log_every;
  t["eval_every"] = tc.eval_every;
  t["checkpoint_every"] = tc.checkpoint_every;
  t["max_nonfinite"] = tc.max_nonfinite;
  auto& cr = t["criterion"];
  cr["num_points"] = tc.criterion.num_points;
  cr["oversample_ratio"] = tc.criterion.oversample_ratio;
  cr["importance_sample_ratio"] = tc.criterion.importance_sample_ratio;
  cr["class_weight"] = tc.criterion.class_weight;
  cr["mask_weight"] = tc.criterion.mask_weight;
  cr["dice_weight"] = tc.criterion.dice_weight;
  cr["no_object_weight"] = tc.criterion.no_object_weight;
  cr["matcher_class_weight"] = tc.criterion.matcher_class_weight;
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

}  // namespace

bool is_device_name(const std::string& name) {
  if (name == "cpu" || name == "cuda") return true;
  if (name.rfind("cuda:", 0) != 0 || name.size() == 5 || name.size() > 8) return false;
  return name.find_first_not_of("0123456789", 5) == std::string::npos;
}

std::string absolute_init_paths(const std::string& init, const std::string& dir) {
  auto absolute = [&](const std::string& p) {
    return p.empty() || std::filesystem::path(p).is_absolute() ? p : (std::filesystem::path(dir) / p).lexically_normal().string();
  };
  if (init.rfind("hf:", 0) != 0) return absolute(init);
  const auto comma = init.find(',', 3);
  if (comma == std::string::npos) return init;  // malformed: the trainer names the expected form
  return "hf:" + absolute(init.substr(3, comma - 3)) + "," + absolute(init.substr(comma + 1));
}

namespace {

// The keys that hold file paths, made absolute against `dir`: for a file,
// its directory; for --set, the current directory (where the user typed it).
// train.init may be "hf:CONFIG.json,WEIGHTS.safetensors" (both paths resolved).
void make_paths_absolute(ojson& j, const std::filesystem::path& dir) {
  auto absolute = [&](const std::string& p) {
    return p.empty() || std::filesystem::path(p).is_absolute() ? p : (dir / p).lexically_normal().string();
  };
  for (const auto& [section, key] : {std::pair<const char*, const char*>{"model", "hf_config"}, {"data", "train"}, {"data", "val"}}) {
    if (j.is_object() && j.contains(section) && j[section].is_object() && j[section].contains(key) && j[section][key].is_string()) {
      j[section][key] = absolute(j[section][key].get<std::string>());
    }
  }
  if (j.is_object() && j.contains("train") && j["train"].is_object() && j["train"].contains("init") && j["train"]["init"].is_string()) {
    j["train"]["init"] = absolute_init_paths(j["train"]["init"].get<std::string>(), dir.string());
  }
}

// Reads a config file and its base chain into one JSON patch (base first).
ojson read_layered(const std::string& path, std::set<std::string>& seen) {
  const std::string canonical = std::filesystem::weakly_canonical(path).string();
  if (!seen.insert(canonical).second) throw Error(path + ": \"base\" chain loops back to this file");
  ojson j = read_json_file(path);
  if (!j.is_object()) throw Error(path + ": /: expected an object, got " + type_of(j));
  // Check each file on its own, so a mistake in a base preset names that preset.
  ojson own = j;
  own.erase("base");
  config_from_json(own, path);
  // Paths inside a config are relative to the file that names them; resolved
  // to absolute paths, so that a resolved config written elsewhere (a
  // checkpoint's config.json) still names the same files.
  make_paths_absolute(j, std::filesystem::absolute(std::filesystem::path(path)).parent_path());
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
  c.train_short_side = m["train_short_side"];
  require(c.train_short_side >= 0, source, "/model/train_short_side", "must be >= 0 (0 = not recorded)");
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

template <typename T>
std::vector<T> int_list(const ojson& j, const std::string& source, const std::string& pointer) {
  std::vector<T> out;
  for (const auto& v : j) {
    if (!v.is_number_integer()) throw Error(source + ": " + pointer + ": expected a list of integers, got " + j.dump());
    out.push_back(v.get<T>());
  }
  return out;
}

void data_from_json(const ojson& d, const std::string& source, DataConfig& c) {
  c.train = d["train"];
  c.val = d["val"];
  c.batch_size = d["batch_size"];
  c.workers = d["workers"];
  c.resize = one_of(source, "/data/resize", d["resize"], {"none", "short_side", "fixed", "scale_range", "large_scale_jitter"});
  c.short_sides = int_list<int>(d["short_sides"], source, "/data/short_sides");
  c.max_long_side = d["max_long_side"];
  c.min_scale = d["min_scale"];
  c.max_scale = d["max_scale"];
  c.fixed_height = d["fixed_height"];
  c.fixed_width = d["fixed_width"];
  c.crop_height = d["crop_height"];
  c.crop_width = d["crop_width"];
  c.hflip = d["hflip"];
  c.colour_jitter = d["colour_jitter"];
  c.depth_noise = d["depth_noise"];
  c.depth_dropout_boxes = d["depth_dropout_boxes"];
  c.depth_resize = one_of(source, "/data/depth_resize", d["depth_resize"], {"nearest", "hole_aware"});
  require(c.batch_size >= 1, source, "/data/batch_size", "must be >= 1");
  require(c.workers >= 0, source, "/data/workers", "must be >= 0");
  require(!c.short_sides.empty(), source, "/data/short_sides", "needs at least one size");
  for (int s : c.short_sides) require(s >= 1, source, "/data/short_sides", "sizes must be >= 1");
  require(c.min_scale > 0 && c.max_scale >= c.min_scale, source, "/data/max_scale", "need 0 < min_scale <= max_scale");
  require(c.fixed_height >= 1 && c.fixed_width >= 1, source, "/data/fixed_height", "sizes must be >= 1");
  require(c.crop_height >= 0 && c.crop_width >= 0, source, "/data/crop_height", "must be >= 0");
  require(c.colour_jitter >= 0 && c.colour_jitter < 1, source, "/data/colour_jitter", "must be in [0, 1)");
  require(c.depth_noise >= 0, source, "/data/depth_noise", "must be >= 0");
}

void train_from_json(const ojson& t, const std::string& source, TrainConfig& c) {
  c.init = t["init"];
  c.max_steps = t["max_steps"];
  c.lr = t["lr"];
  c.weight_decay = t["weight_decay"];
  c.backbone_lr_multiplier = t["backbone_lr_multiplier"];
  c.freeze_backbone = t["freeze_backbone"];
  c.schedule = one_of(source, "/train/schedule", t["schedule"], {"constant", "step", "poly", "cosine"});
  c.warmup_steps = t["warmup_steps"];
  c.warmup_factor = t["warmup_factor"];
  c.poly_power = t["poly_power"];
  c.step_milestones = int_list<int>(t["step_milestones"], source, "/train/step_milestones");
  c.step_gamma = t["step_gamma"];
  c.min_lr_factor = t["min_lr_factor"];
  c.clip_grad_norm = t["clip_grad_norm"];
  c.accumulate = t["accumulate"];
  c.precision = one_of(source, "/train/precision", t["precision"], {"f32", "bf16", "fp16"});
  c.seed = t["seed"];
  c.log_every = t["log_every"];
  c.eval_every = t["eval_every"];
  c.checkpoint_every = t["checkpoint_every"];
  c.max_nonfinite = t["max_nonfinite"];
  require(c.max_steps >= 1, source, "/train/max_steps", "must be >= 1");
  require(c.lr > 0, source, "/train/lr", "must be > 0");
  require(c.weight_decay >= 0, source, "/train/weight_decay", "must be >= 0");
  require(c.backbone_lr_multiplier >= 0, source, "/train/backbone_lr_multiplier", "must be >= 0");
  require(c.warmup_steps >= 0, source, "/train/warmup_steps", "must be >= 0");
  require(c.warmup_factor > 0 && c.warmup_factor <= 1, source, "/train/warmup_factor", "must be in (0, 1]");
  require(c.clip_grad_norm >= 0, source, "/train/clip_grad_norm", "must be >= 0 (0 = off)");
  require(c.accumulate >= 1, source, "/train/accumulate", "must be >= 1");
  require(c.log_every >= 1, source, "/train/log_every", "must be >= 1");
  require(c.eval_every >= 0 && c.checkpoint_every >= 0, source, "/train/eval_every", "must be >= 0");
  require(c.max_nonfinite >= 1, source, "/train/max_nonfinite", "must be >= 1");
  require(c.min_lr_factor >= 0 && c.min_lr_factor <= 1, source, "/train/min_lr_factor", "must be in [0, 1]");
  const ojson& k = t["criterion"];
  auto& cr = c.criterion;
  cr.num_points = k["num_points"];
  cr.oversample_ratio = k["oversample_ratio"];
  cr.importance_sample_ratio = k["importance_sample_ratio"];
  cr.class_weight = k["class_weight"];
  cr.mask_weight = k["mask_weight"];
  cr.dice_weight = k["dice_weight"];
  cr.no_object_weight = k["no_object_weight"];
  cr.matcher_class_weight = k["matcher_class_weight"];
  require(cr.num_points >= 1, source, "/train/criterion/num_points", "must be >= 1");
  require(cr.oversample_ratio >= 1, source, "/train/criterion/oversample_ratio", "must be >= 1");
  require(cr.importance_sample_ratio >= 0 && cr.importance_sample_ratio <= 1, source,
          "/train/criterion/importance_sample_ratio", "must be in [0, 1]");
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
  c.runtime.device = resolved["runtime"]["device"];
  if (!is_device_name(c.runtime.device)) {
    throw Error(source + ": /runtime/device: expected cpu, cuda or cuda:N; got \"" + c.runtime.device + "\"");
  }
  c.eval.iou_type = one_of(source, "/eval/iou_type", resolved["eval"]["iou_type"], {"segm", "bbox"});
  c.eval.use_cats = resolved["eval"]["use_cats"];
  model_from_json(resolved["model"], source, c.model);
  c.eval.top_k = resolved["eval"]["top_k"];
  c.eval.score_threshold = resolved["eval"]["score_threshold"];
  c.eval.predict_threshold = resolved["eval"]["predict_threshold"];
  c.eval.short_side = resolved["eval"]["short_side"];
  c.eval.max_long_side = resolved["eval"]["max_long_side"];
  c.eval.batch_size = resolved["eval"]["batch_size"];
  require(c.eval.top_k >= 1, source, "/eval/top_k", "must be >= 1");
  require(c.eval.short_side >= -1, source, "/eval/short_side",
          "must be -1 (original size), 0 (the model's training size) or a size in pixels");
  require(c.eval.batch_size >= 1, source, "/eval/batch_size", "must be >= 1");
  data_from_json(resolved["data"], source, c.data);
  train_from_json(resolved["train"], source, c.train);
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

DepthReadOptions depth_read_options(const Config& config) {
  DepthReadOptions o;
  o.min_depth = config.model.depth.min_depth;
  o.max_depth = config.model.depth.max_depth > 0 ? config.model.depth.max_depth : std::numeric_limits<double>::infinity();
  return o;
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
    make_paths_absolute(patch, std::filesystem::current_path());
    const std::string source = "--set " + assignment.substr(0, assignment.find('='));
    merge_strict(resolved, patch, source, "");
    config_from_json(resolved, source);
  }
  return config_from_json(resolved, path.empty() ? "config" : path);
}

}  // namespace rgbdseg
