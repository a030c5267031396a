#include "rgbdseg/core/config.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"

namespace rgbdseg {

using ojson = nlohmann::ordered_json;

namespace {

// ---- one member's value <-> JSON, by member type ----

template <typename T>
struct IsNamed : std::false_type {};
template <typename E>
struct IsNamed<Named<E>> : std::true_type {
  using Enum = E;
};

template <typename T>
ojson value_to_json(const T& value) {
  if constexpr (IsNamed<T>::value || std::is_same_v<T, DeviceName>) {
    return value.name();
  } else {
    return value;
  }
}

// `json` already has the default's JSON type (merge_strict checked that);
// what is left: enum and device names, list elements, the int range.
template <typename T>
void value_from_json(const ojson& json, T& out, const std::string& where) {
  if constexpr (IsNamed<T>::value) {
    using E = typename IsNamed<T>::Enum;
    const std::string name = json.get<std::string>();
    E value{};
    if (!enum_from_name<E>(name, value)) throw Error(where + ": " + enum_expected<E>(name));
    out = value;
  } else if constexpr (std::is_same_v<T, DeviceName>) {
    const std::string name = json.get<std::string>();
    if (!is_device_name(name)) throw Error(where + ": expected cpu, cuda or cuda:N; got \"" + name + "\"");
    out = DeviceName(name);
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    out.clear();
    for (const auto& v : json) {
      if (!v.is_number_integer()) throw Error(where + ": expected a list of integers, got " + json.dump());
      out.push_back(v.get<int>());
    }
  } else if constexpr (std::is_same_v<T, int>) {
    const auto wide = json.get<int64_t>();
    if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
      throw Error(where + ": " + json.dump() + " is out of range");
    }
    out = static_cast<int>(wide);
  } else {
    out = json.get<T>();
  }
}

template <typename T>
std::string type_name() {
  if constexpr (IsNamed<T>::value) {
    std::string out;
    for (const auto& entry : EnumNames<typename IsNamed<T>::Enum>::names) out += (out.empty() ? "" : " | ") + std::string(entry.second);
    return out;
  } else if constexpr (std::is_same_v<T, DeviceName>) {
    return "cpu | cuda | cuda:N";
  } else if constexpr (std::is_same_v<T, bool>) {
    return "boolean";
  } else if constexpr (std::is_same_v<T, int>) {
    return "integer";
  } else if constexpr (std::is_same_v<T, double>) {
    return "number";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return "string";
  } else {
    static_assert(std::is_same_v<T, std::vector<int>>, "a config member type without a JSON form");
    return "list of integers";
  }
}

// ---- the table ----

// One key: where it sits in the JSON, how to reach its member, what values
// it accepts and what it does. The default is the member's initialiser.
struct Row {
  std::string pointer;  // "/train/lr"
  std::string type;
  std::string doc;
  std::function<ojson(const Config&)> write;
  std::function<void(const ojson&, Config&, const std::string& where)> read;
  std::function<std::string(const Config&)> check;  // "" = acceptable, else what is wrong
};

// The member reached through a chain of member pointers, for a const or a
// mutable Config: path(&Config::train, &TrainConfig::lr).
template <typename... Members>
auto path(Members... members) {
  return [=](auto& config) -> auto& { return (config .* ... .* members); };
}

template <typename Access>
using ValueOf = std::decay_t<decltype(std::declval<Access>()(std::declval<Config&>()))>;

template <typename Access, typename Rule>
Row key(const char* pointer, Access access, Rule rule, const char* doc) {
  using T = ValueOf<Access>;
  Row row;
  row.pointer = pointer;
  row.type = type_name<T>();
  row.doc = doc;
  row.write = [access](const Config& c) { return value_to_json<T>(access(c)); };
  row.read = [access](const ojson& j, Config& c, const std::string& where) { value_from_json<T>(j, access(c), where); };
  if constexpr (!std::is_same_v<Rule, std::nullptr_t>) {
    row.check = [access, rule](const Config& c) -> std::string { return rule(access(c), c); };
  }
  return row;
}

template <typename Access>
Row key(const char* pointer, Access access, const char* doc) {
  return key(pointer, access, nullptr, doc);
}

// Rules: generic, so a bound is compared in the member's own type.
std::string number(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", x);
  return text;
}
std::string with_note(std::string what, const char* note) { return note ? what + " (" + note + ")" : what; }

auto at_least(double low, const char* note = nullptr) {
  return [=](const auto& v, const Config&) { return v >= low ? std::string() : with_note("must be >= " + number(low), note); };
}
auto above(double low) {
  return [=](const auto& v, const Config&) { return v > low ? std::string() : "must be > " + number(low); };
}
auto within(double low, double high, const char* note = nullptr) {  // closed interval
  return [=](const auto& v, const Config&) {
    return v >= low && v <= high ? std::string() : with_note("must be in [" + number(low) + ", " + number(high) + "]", note);
  };
}
auto in_range(int low, int high) {  // integers
  return [=](int v, const Config&) {
    return v >= low && v <= high ? std::string() : "must be in " + std::to_string(low) + ".." + std::to_string(high);
  };
}

using M = ModelConfig;
using D = DepthModulesConfig;
using Dt = DataConfig;
using Tr = TrainConfig;
using Cr = CriterionConfig;

// Every key, in the order config_to_json writes them.
const std::vector<Row>& rows() {
  static const std::vector<Row> table = {
      // runtime
      key("/runtime/threads", path(&Config::runtime, &RuntimeConfig::threads), at_least(0, "0 = all cores"),
          "intra-op threads; 0 = all cores"),
      key("/runtime/log_level", path(&Config::runtime, &RuntimeConfig::log_level), "messages on stderr from this level up"),
      key("/runtime/device", path(&Config::runtime, &RuntimeConfig::device),
          "where models, inputs and the optimizer live (--device)"),
      // eval
      key("/eval/iou_type", path(&Config::eval, &EvalConfig::iou_type), "what evaluation compares: masks or boxes"),
      key("/eval/use_cats", path(&Config::eval, &EvalConfig::use_cats),
          "false: class-agnostic matching (pycocotools useCats=0)"),
      key("/eval/top_k", path(&Config::eval, &EvalConfig::top_k), at_least(1),
          "instances kept per image (Mask2Former: 100)"),
      key("/eval/score_threshold", path(&Config::eval, &EvalConfig::score_threshold),
          "evaluation keeps every top-k instance above this score (0: all, as COCO expects)"),
      key("/eval/predict_threshold", path(&Config::eval, &EvalConfig::predict_threshold),
          "`rgbdseg predict`'s default --threshold"),
      key("/eval/short_side", path(&Config::eval, &EvalConfig::short_side),
          [](int v, const Config&) {
            return v >= -1 ? std::string()
                           : std::string("must be -1 (original size), 0 (the model's training size) or a size in pixels");
          },
          "inference resize (short side, px): 0 = the model's training size (model.train_short_side) when "
          "recorded, else the original size; -1 = always the original size; N = resize to N"),
      key("/eval/max_long_side", path(&Config::eval, &EvalConfig::max_long_side), "inference resize: long-side cap (px)"),
      key("/eval/batch_size", path(&Config::eval, &EvalConfig::batch_size), at_least(1), "images per inference batch"),
      key("/eval/precision", path(&Config::eval, &EvalConfig::precision),
          "inference precision of eval and predict: f32 (the default, and every AP in the README), bf16 (autocast: "
          "faster where the CPU has native bf16), fp16 (CUDA only) or auto (bf16 where native, else f32)"),
      // model
      key("/model/variant", path(&Config::model, &M::variant),
          "depth modules: rgb (none), dggm, dsam, edsam (DSAM with predicted windows), full (DGGM + E-DSAM)"),
      key("/model/hf_config", path(&Config::model, &M::hf_config),
          "Hugging Face Mask2Former config.json of the RGB part (relative to the config file naming it)"),
      key("/model/train_short_side", path(&Config::model, &M::train_short_side), at_least(0, "0 = not recorded"),
          "short side (px) the model was trained at; `train` records it so inference runs at that scale"),
      key("/model/depth/min_depth", path(&Config::model, &M::depth, &D::min_depth), at_least(0),
          "metres; readings at or below are invalid, for every depth reader and the depth modules"),
      key("/model/depth/max_depth", path(&Config::model, &M::depth, &D::max_depth),
          [](double v, const Config& c) {
            return v >= 0 && (v == 0 || v > c.model.depth.min_depth) ? std::string()
                                                                      : std::string("must be 0 (no limit) or above min_depth");
          },
          "metres; readings above are invalid (0 = no limit), for every depth reader and the depth modules"),
      key("/model/depth/gradients/log_depth", path(&Config::model, &M::depth, &D::gradients, &DepthGradientConfig::log_depth),
          "gradients of log depth: near and far edges comparable"),
      key("/model/depth/gradients/smooth_sigma",
          path(&Config::model, &M::depth, &D::gradients, &DepthGradientConfig::smooth_sigma), at_least(0),
          "Gaussian pre-smoothing in pixels (0 = off)"),
      key("/model/depth/gradients/norm_percentile",
          path(&Config::model, &M::depth, &D::gradients, &DepthGradientConfig::norm_percentile),
          within(0, 1, "0 = no normalisation"), "per-image normalisation by this quantile of valid gradient magnitudes"),
      key("/model/depth/dggm/hidden_channels", path(&Config::model, &M::depth, &D::dggm, &DggmConfig::hidden_channels),
          at_least(1), "width of each scale's gate and processor convs"),
      key("/model/depth/dsam/num_modes", path(&Config::model, &M::depth, &D::dsam, &DsamConfig::num_modes), in_range(1, 16),
          "T: depth modes (windows) per image"),
      key("/model/depth/dsam/bins", path(&Config::model, &M::depth, &D::dsam, &DsamConfig::bins), in_range(3, 1024),
          "histogram bins over [min, max] of valid depth"),
      key("/model/depth/dsam/histogram_smoothing",
          path(&Config::model, &M::depth, &D::dsam, &DsamConfig::histogram_smoothing), at_least(0),
          "Gaussian smoothing of the histogram, in bins (0 = off)"),
      key("/model/depth/dsam/prominence", path(&Config::model, &M::depth, &D::dsam, &DsamConfig::prominence), within(0, 1),
          "peak prominence threshold, fraction of the histogram maximum"),
      key("/model/depth/dsam/window_ratio", path(&Config::model, &M::depth, &D::dsam, &DsamConfig::window_ratio), above(0),
          "window width / depth when no predictor (variant dsam)"),
      key("/model/depth/dsam/soft_windows", path(&Config::model, &M::depth, &D::dsam, &DsamConfig::soft_windows),
          "sigmoid window edges (differentiable width); false = hard"),
      key("/model/depth/dsam/temperature", path(&Config::model, &M::depth, &D::dsam, &DsamConfig::temperature), above(0),
          "soft edge width, as a fraction of the mode's depth"),
      key("/model/depth/dsam/kernel_size", path(&Config::model, &M::depth, &D::dsam, &DsamConfig::kernel_size),
          [](int v, const Config&) { return v == 1 || v == 3 ? std::string() : std::string("must be 1 or 3"); },
          "branch and projection convs (research code: 3, stride 2)"),
      key("/model/depth/predictor/min_ratio",
          path(&Config::model, &M::depth, &D::predictor, &RatioPredictorConfig::min_ratio), "predicted window ratio: lowest"),
      key("/model/depth/predictor/max_ratio",
          path(&Config::model, &M::depth, &D::predictor, &RatioPredictorConfig::max_ratio),
          [](double v, const Config& c) {
            const double low = c.model.depth.predictor.min_ratio;
            return low > 0 && v > low ? std::string() : std::string("need 0 < min_ratio < max_ratio");
          },
          "predicted window ratio: highest"),
      key("/model/depth/predictor/input_stride",
          path(&Config::model, &M::depth, &D::predictor, &RatioPredictorConfig::input_stride), at_least(1),
          "the predictor sees depth average-pooled by this factor"),
      key("/model/depth/predictor/channels", path(&Config::model, &M::depth, &D::predictor, &RatioPredictorConfig::channels),
          at_least(1), "width of the predictor's conv layers"),
      // data
      key("/data/train", path(&Config::data, &Dt::train), "training dataset JSON (relative to the config file)"),
      key("/data/val", path(&Config::data, &Dt::val), "validation dataset JSON (relative to the config file)"),
      key("/data/batch_size", path(&Config::data, &Dt::batch_size), at_least(1), "images per training micro-batch"),
      key("/data/workers", path(&Config::data, &Dt::workers), at_least(0), "loader threads (0 = load on the training thread)"),
      key("/data/resize", path(&Config::data, &Dt::resize), "how training images are resized"),
      key("/data/short_sides", path(&Config::data, &Dt::short_sides),
          [](const std::vector<int>& v, const Config&) {
            if (v.empty()) return std::string("needs at least one size");
            for (int s : v) {
              if (s < 1) return std::string("sizes must be >= 1");
            }
            return std::string();
          },
          "short_side: one picked at random per image"),
      key("/data/max_long_side", path(&Config::data, &Dt::max_long_side), "short_side: long-side cap (px)"),
      key("/data/min_scale", path(&Config::data, &Dt::min_scale), above(0), "scale_range / large_scale_jitter: lowest scale"),
      key("/data/max_scale", path(&Config::data, &Dt::max_scale),
          [](double v, const Config& c) {
            return v >= c.data.min_scale ? std::string() : std::string("need 0 < min_scale <= max_scale");
          },
          "scale_range / large_scale_jitter: highest scale"),
      key("/data/fixed_height", path(&Config::data, &Dt::fixed_height), at_least(1),
          "fixed: output height; large_scale_jitter: its square size"),
      key("/data/fixed_width", path(&Config::data, &Dt::fixed_width), at_least(1), "fixed: output width"),
      key("/data/crop_height", path(&Config::data, &Dt::crop_height), at_least(0), "random crop height (0 = no crop)"),
      key("/data/crop_width", path(&Config::data, &Dt::crop_width), at_least(0), "random crop width (0 = no crop)"),
      key("/data/hflip", path(&Config::data, &Dt::hflip), "random horizontal flips"),
      key("/data/colour_jitter", path(&Config::data, &Dt::colour_jitter),
          [](double v, const Config&) { return v >= 0 && v < 1 ? std::string() : std::string("must be in [0, 1)"); },
          "brightness, contrast and saturation range"),
      key("/data/depth_noise", path(&Config::data, &Dt::depth_noise), at_least(0),
          "sigma of N(0, sigma * z^2) metres added to depth; 0 = off"),
      key("/data/depth_dropout_boxes", path(&Config::data, &Dt::depth_dropout_boxes), at_least(0),
          "random boxes of depth set invalid per image"),
      key("/data/depth_resize", path(&Config::data, &Dt::depth_resize),
          "nearest, or hole_aware (area average of valid readings only)"),
      // train
      key("/train/init", path(&Config::train, &Tr::init),
          "\"hf:CONFIG.json,WEIGHTS.safetensors\", a .safetensors file, or \"\" (random)"),
      key("/train/max_steps", path(&Config::train, &Tr::max_steps), at_least(1), "optimizer steps"),
      key("/train/lr", path(&Config::train, &Tr::lr), above(0), "peak learning rate"),
      key("/train/weight_decay", path(&Config::train, &Tr::weight_decay), at_least(0),
          "AdamW weight decay; not applied to norms, biases and embeddings"),
      key("/train/backbone_lr_multiplier", path(&Config::train, &Tr::backbone_lr_multiplier), at_least(0),
          "the backbone's learning rate relative to lr"),
      key("/train/freeze_backbone", path(&Config::train, &Tr::freeze_backbone), "keep the backbone's weights fixed"),
      key("/train/schedule", path(&Config::train, &Tr::schedule), "learning-rate schedule after the linear warm-up"),
      key("/train/warmup_steps", path(&Config::train, &Tr::warmup_steps), at_least(0), "linear warm-up steps"),
      key("/train/warmup_factor", path(&Config::train, &Tr::warmup_factor),
          [](double v, const Config&) { return v > 0 && v <= 1 ? std::string() : std::string("must be in (0, 1]"); },
          "lr multiplier at step 0 of the warm-up"),
      key("/train/poly_power", path(&Config::train, &Tr::poly_power), "poly: exponent"),
      key("/train/step_milestones", path(&Config::train, &Tr::step_milestones), "step: lr *= step_gamma at each"),
      key("/train/step_gamma", path(&Config::train, &Tr::step_gamma), "step: factor at each milestone"),
      key("/train/min_lr_factor", path(&Config::train, &Tr::min_lr_factor), within(0, 1), "cosine / poly: floor, relative to lr"),
      key("/train/clip_grad_norm", path(&Config::train, &Tr::clip_grad_norm), at_least(0, "0 = off"),
          "global gradient-norm clip; 0 = off (Mask2Former: 0.01)"),
      key("/train/accumulate", path(&Config::train, &Tr::accumulate), at_least(1), "micro-batches per optimizer step"),
      key("/train/precision", path(&Config::train, &Tr::precision), "f32, bf16 (autocast), fp16 (CUDA only) or auto (bf16 where the device has it natively: CUDA, CPUs with AVX512-BF16 or AMX; else f32)"),
      key("/train/seed", path(&Config::train, &Tr::seed), "seeds initialisation, sampling and augmentation"),
      key("/train/log_every", path(&Config::train, &Tr::log_every), at_least(1), "steps between log lines"),
      key("/train/eval_every", path(&Config::train, &Tr::eval_every), at_least(0),
          "steps between evaluations on data.val (0 = at the end only)"),
      key("/train/checkpoint_every", path(&Config::train, &Tr::checkpoint_every), at_least(0),
          "steps between checkpoints (also on SIGINT/SIGTERM and at the end)"),
      key("/train/max_nonfinite", path(&Config::train, &Tr::max_nonfinite), at_least(1),
          "stop after this many non-finite losses in a row"),
      key("/train/criterion/num_points", path(&Config::train, &Tr::criterion, &Cr::num_points), at_least(1),
          "points sampled per mask for the mask losses (Mask2Former: 112 * 112)"),
      key("/train/criterion/oversample_ratio", path(&Config::train, &Tr::criterion, &Cr::oversample_ratio), at_least(1),
          "uncertainty sampling: candidates per point"),
      key("/train/criterion/importance_sample_ratio", path(&Config::train, &Tr::criterion, &Cr::importance_sample_ratio),
          within(0, 1), "uncertainty sampling: share of points taken by uncertainty"),
      key("/train/criterion/class_weight", path(&Config::train, &Tr::criterion, &Cr::class_weight), "classification loss weight"),
      key("/train/criterion/mask_weight", path(&Config::train, &Tr::criterion, &Cr::mask_weight), "mask BCE loss weight"),
      key("/train/criterion/dice_weight", path(&Config::train, &Tr::criterion, &Cr::dice_weight), "mask dice loss weight"),
      key("/train/criterion/no_object_weight", path(&Config::train, &Tr::criterion, &Cr::no_object_weight),
          "classification weight of the no-object class"),
      key("/train/criterion/matcher_class_weight", path(&Config::train, &Tr::criterion, &Cr::matcher_class_weight),
          "matching cost of classification (Mask2Former's paper: 2; Hugging Face: 1)"),
  };
  return table;
}

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

}  // namespace

ojson config_to_json(const Config& c) {
  ojson j;
  j["version"] = c.version;
  for (const Row& row : rows()) j[ojson::json_pointer(row.pointer)] = row.write(c);
  return j;
}

std::vector<ConfigKey> config_keys() {
  const Config defaults;
  std::vector<ConfigKey> out;
  for (const Row& row : rows()) {
    std::string name = row.pointer.substr(1);
    for (char& ch : name) ch = ch == '/' ? '.' : ch;
    out.push_back({name, row.type, row.write(defaults).dump(), row.doc});
  }
  return out;
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

}  // namespace

Config config_from_json(const ojson& json, const std::string& source) {
  ojson resolved = config_to_json(Config{});  // the defaults are the schema: keys and JSON types
  merge_strict(resolved, json, source, "");
  Config c;
  const int version = resolved["version"];
  if (version > kConfigVersion || version < 1) {
    throw Error(source + ": /version: config format version " + std::to_string(version) +
                " is not supported (this build reads 1.." + std::to_string(kConfigVersion) + ")");
  }
  c.version = kConfigVersion;  // upgraded: no older formats exist yet
  for (const Row& row : rows()) row.read(resolved[ojson::json_pointer(row.pointer)], c, source + ": " + row.pointer);
  // Rules run on the whole config, so a range may depend on another key.
  for (const Row& row : rows()) {
    if (!row.check) continue;
    const std::string problem = row.check(c);
    if (!problem.empty()) throw Error(source + ": " + row.pointer + ": " + problem);
  }
  return c;
}

void apply_override(ojson& json, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error("--set " + assignment + ": expected key=value, e.g. runtime.threads=2");
  }
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  // Config text is JSON, which is UTF-8: other bytes would only fail later, in
  // whatever message or file first prints the value (found by fuzz_config).
  try {
    (void)ojson(assignment).dump();
  } catch (const nlohmann::json::type_error&) {
    throw Error("--set: an assignment that is not valid UTF-8 text (" + std::to_string(assignment.size()) +
                " bytes; config keys and values are JSON, which is UTF-8)");
  }
  ojson value;
  try {
    value = ojson::parse(text);
  } catch (const nlohmann::json::exception&) {  // not JSON (or a number beyond double, 1E999)
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
