#pragma once
// rgbdseg's configuration: JSON files that list only what they change, and
// `--set key=value` overrides. Parsing is strict: an unknown key, a wrong type
// or an unknown enum value is an error that names the file and JSON pointer,
// because a typo must never silently train or evaluate the wrong thing.
//
// Every key is one row of the table in config.cpp (its JSON pointer, the
// member it fills, its rule and its doc line): that table reads, writes,
// validates and documents the configuration (`rgbdseg inspect --keys`). The
// structs below hold the values; their initialisers are the defaults. Adding
// a key: a member here, a row there, and its use in train/build.cpp (or
// wherever it takes effect).
//
// A file may name a `"base"` preset (path relative to the file) and override
// parts of it. `"version"` is the format version; older versions are upgraded
// on load, newer ones rejected.
#include <nlohmann/json_fwd.hpp>
#include "rgbdseg/core/depth_encoding.h"
#include "rgbdseg/core/enums.h"
#include "rgbdseg/core/log.h"
#include <string>
#include <vector>

namespace rgbdseg {

constexpr int kConfigVersion = 1;

struct RuntimeConfig {
  int threads = 0;
  Named<LogLevel> log_level = LogLevel::Info;
  DeviceName device;
};

struct EvalConfig {
  Named<IouType> iou_type = IouType::Segm;
  bool use_cats = true;
  int top_k = 100;
  double score_threshold = 0.0;
  double predict_threshold = 0.5;
  int short_side = 0;
  int max_long_side = 1333;
  int batch_size = 2;
  Named<Precision> precision = Precision::F32;  // inference (eval, predict); training's evaluations use train.precision
};

// Datasets and augmentation (data/transforms.h).
struct DataConfig {
  std::string train;
  std::string val;
  int batch_size = 2;
  int workers = 2;
  Named<ResizeMode> resize = ResizeMode::ShortSide;
  std::vector<int> short_sides = {480};
  int max_long_side = 1333;
  double min_scale = 0.1;
  double max_scale = 2.0;
  int fixed_height = 480;
  int fixed_width = 640;
  int crop_height = 0;
  int crop_width = 0;
  bool hflip = true;
  double colour_jitter = 0.2;
  double depth_noise = 0.0;
  int depth_dropout_boxes = 0;
  Named<DepthResize> depth_resize = DepthResize::Nearest;
};

// Mask2Former's loss (train/criterion.h).
struct CriterionConfig {
  int num_points = 12544;
  double oversample_ratio = 3.0;
  double importance_sample_ratio = 0.75;
  double class_weight = 2.0;
  double mask_weight = 5.0;
  double dice_weight = 5.0;
  double no_object_weight = 0.1;
  double matcher_class_weight = 2.0;  // Mask2Former's paper; Hugging Face uses 1.0
};

struct TrainConfig {
  std::string init;
  int max_steps = 1000;
  double lr = 1e-4;
  double weight_decay = 0.05;
  double backbone_lr_multiplier = 0.1;
  bool freeze_backbone = false;
  Named<LrSchedule> schedule = LrSchedule::Poly;
  int warmup_steps = 0;
  double warmup_factor = 0.001;
  double poly_power = 0.9;
  std::vector<int> step_milestones;
  double step_gamma = 0.1;
  double min_lr_factor = 0.0;
  double clip_grad_norm = 0.01;  // Mask2Former clips the global norm at 0.01
  int accumulate = 1;
  Named<Precision> precision = Precision::F32;
  int seed = 0;
  int log_every = 10;
  int eval_every = 0;
  int checkpoint_every = 200;
  int max_nonfinite = 5;
  CriterionConfig criterion;
};

// Depth modules (the paper's DGGM and E-DSAM); see model/depth_fusion.h.
struct DepthGradientConfig {
  bool log_depth = false;
  double smooth_sigma = 0.0;
  double norm_percentile = 0.98;
};

struct DggmConfig {
  int hidden_channels = 32;
};

struct DsamConfig {
  int num_modes = 3;
  int bins = 256;
  double histogram_smoothing = 1.0;
  double prominence = 0.01;
  double window_ratio = 0.1;
  bool soft_windows = true;
  double temperature = 0.02;
  int kernel_size = 3;  // research code: 3, stride 2
};

struct RatioPredictorConfig {
  double min_ratio = 0.01;
  double max_ratio = 0.5;
  int input_stride = 8;
  int channels = 32;
};

struct DepthModulesConfig {
  double min_depth = 0.0;
  double max_depth = 10.0;  // the one valid-depth range (readers and model); 0 = no limit
  DepthGradientConfig gradients;
  DggmConfig dggm;
  DsamConfig dsam;
  RatioPredictorConfig predictor;
};

struct ModelConfig {
  Named<ModelVariant> variant = ModelVariant::Rgb;
  std::string hf_config;
  int train_short_side = 0;
  DepthModulesConfig depth;
};

struct Config {
  int version = kConfigVersion;
  RuntimeConfig runtime;
  EvalConfig eval;
  ModelConfig model;
  DataConfig data;
  TrainConfig train;
};

// How depth files are read under this config: the valid range is
// model.depth.min_depth / max_depth (max 0 = no limit), the range the depth
// modules apply, so a reading the model may use is never dropped on the way
// in. Encoding and scale stay Auto / 0: each dataset image's own, else the
// encoding's default. The one owner of the valid-depth policy.
DepthReadOptions depth_read_options(const Config& config);

// The resolved configuration as JSON (keys in declaration order).
nlohmann::ordered_json config_to_json(const Config& config);

// Strict conversion; `source` names the file (or "--set") in errors.
Config config_from_json(const nlohmann::ordered_json& json, const std::string& source);

// Defaults <- base chain <- file <- overrides ("a.b=value"; value is JSON if it
// parses as JSON, otherwise a string). `path` may be empty (defaults only).
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// One key of the table, for documentation (`rgbdseg inspect --keys`).
struct ConfigKey {
  std::string name;       // "train.lr"
  std::string type;       // "integer", "number", "boolean", "string", "list of integers", "rgb | dggm | ..."
  std::string default_value;  // as JSON text
  std::string doc;        // what it does, its range and its special values
};
std::vector<ConfigKey> config_keys();

// train.init's paths ("WEIGHTS" or "hf:CONFIG,WEIGHTS") made absolute against `dir`.
std::string absolute_init_paths(const std::string& init, const std::string& dir);

// Applies one "a.b=value" override to a JSON document (exposed for tests).
void apply_override(nlohmann::ordered_json& json, const std::string& assignment);

}  // namespace rgbdseg
