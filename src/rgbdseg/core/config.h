#pragma once
// rgbdseg's configuration: one source of defaults (the structs below, one
// comment per key), JSON files that list only what they change, and
// `--set key=value` overrides. Parsing is strict: an unknown key, a wrong type
// or an unknown enum value is an error that names the file and JSON pointer,
// because a typo must never silently train or evaluate the wrong thing.
//
// A file may name a `"base"` preset (path relative to the file) and override
// parts of it. `"version"` is the format version; older versions are upgraded
// on load, newer ones rejected.
#include <nlohmann/json_fwd.hpp>
#include "rgbdseg/core/depth_encoding.h"
#include <string>
#include <vector>

namespace rgbdseg {

constexpr int kConfigVersion = 1;

struct RuntimeConfig {
  int threads = 0;                 // intra-op threads; 0 = all cores
  std::string log_level = "info";  // error | warn | info | debug
  std::string device = "cpu";      // cpu | cuda | cuda:N: where models, inputs and the optimizer live
};

struct EvalConfig {
  std::string iou_type = "segm";  // segm | bbox
  bool use_cats = true;           // false: class-agnostic matching (pycocotools useCats=0)
  int top_k = 100;                // instances kept per image (Mask2Former: 100)
  double score_threshold = 0.0;   // evaluation keeps every top-k instance; predict uses predict_threshold
  double predict_threshold = 0.5; // `rgbdseg predict` default --threshold
  // Inference resize (short side, px): 0 = the model's training size
  // (model.train_short_side) when recorded, else the original size;
  // -1 = always the original size; N = resize to N.
  int short_side = 0;
  int max_long_side = 1333;
  int batch_size = 2;
};

// Datasets and augmentation (data/transforms.h).
struct DataConfig {
  std::string train;  // canonical dataset JSON; relative paths are relative to the config file
  std::string val;
  int batch_size = 2;
  int workers = 2;
  std::string resize = "short_side";  // none | short_side | fixed | scale_range | large_scale_jitter
  std::vector<int> short_sides = {480};
  int max_long_side = 1333;
  double min_scale = 0.1;  // scale_range / large_scale_jitter
  double max_scale = 2.0;
  int fixed_height = 480;  // fixed; large_scale_jitter uses fixed_height as its square size
  int fixed_width = 640;
  int crop_height = 0;     // random crop (0 = none)
  int crop_width = 0;
  bool hflip = true;
  double colour_jitter = 0.2;       // brightness, contrast and saturation range
  double depth_noise = 0.0;         // sigma of N(0, sigma * z^2) metres; 0 = off
  int depth_dropout_boxes = 0;
  std::string depth_resize = "nearest";  // nearest | hole_aware
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
  std::string init;               // "hf:CONFIG.json,WEIGHTS.safetensors", a .safetensors file, or "" (random)
  int max_steps = 1000;           // optimizer steps
  double lr = 1e-4;
  double weight_decay = 0.05;     // not applied to norms, biases and embeddings
  double backbone_lr_multiplier = 0.1;
  bool freeze_backbone = false;
  std::string schedule = "poly";  // constant | step | poly | cosine (all after a linear warm-up)
  int warmup_steps = 0;
  double warmup_factor = 0.001;   // lr multiplier at step 0 of the warm-up
  double poly_power = 0.9;
  std::vector<int> step_milestones;  // step schedule: lr *= step_gamma at each
  double step_gamma = 0.1;
  double min_lr_factor = 0.0;     // cosine / poly floor
  double clip_grad_norm = 0.01;   // global norm; 0 = off (Mask2Former clips at 0.01)
  int accumulate = 1;             // micro-batches per optimizer step
  std::string precision = "f32";  // f32 | bf16 (CPU autocast) | fp16 (CUDA only)
  int seed = 0;
  int log_every = 10;             // steps between log lines
  int eval_every = 0;             // steps between evaluations (0 = at the end only)
  int checkpoint_every = 200;     // steps between checkpoints (also on SIGINT/SIGTERM and at the end)
  int max_nonfinite = 5;          // stop after this many non-finite losses in a row
  CriterionConfig criterion;
};

// Depth modules (the paper's DGGM and E-DSAM); see model/depth_fusion.h.
struct DepthGradientConfig {
  bool log_depth = false;         // gradients of log depth: near and far edges comparable
  double smooth_sigma = 0.0;      // Gaussian pre-smoothing in pixels (0 = off)
  double norm_percentile = 0.98;  // per-image normalisation by this quantile of valid magnitudes
};

struct DggmConfig {
  int hidden_channels = 32;  // width of each scale's gate and processor convs
};

struct DsamConfig {
  int num_modes = 3;                // T: depth modes (windows) per image
  int bins = 256;                   // histogram bins over [min, max] of valid depth
  double histogram_smoothing = 1.0; // Gaussian smoothing of the histogram, in bins (0 = off)
  double prominence = 0.01;         // peak prominence threshold, fraction of the histogram maximum
  double window_ratio = 0.1;        // window width / depth when no predictor (variant dsam)
  bool soft_windows = true;         // sigmoid window edges (differentiable width); false = hard
  double temperature = 0.02;        // soft edge width, as a fraction of the mode's depth
  int kernel_size = 3;              // branch and projection convs (research code: 3, stride 2)
};

struct RatioPredictorConfig {
  double min_ratio = 0.01;  // predicted window ratio range
  double max_ratio = 0.5;
  int input_stride = 8;     // the predictor sees depth average-pooled by this factor
  int channels = 32;        // width of its conv layers
};

struct DepthModulesConfig {
  // Readings outside [min_depth, max_depth] metres are invalid (max 0 = no
  // limit): for the depth modules and for every reader of depth files.
  double min_depth = 0.0;
  double max_depth = 10.0;
  DepthGradientConfig gradients;
  DggmConfig dggm;
  DsamConfig dsam;
  RatioPredictorConfig predictor;
};

struct ModelConfig {
  std::string variant = "rgb";  // rgb | dggm | dsam | edsam | full (DGGM + E-DSAM)
  // Hugging Face Mask2Former config.json of the RGB part; a relative path is
  // relative to the config file that names it.
  std::string hf_config;
  // Short side (px) of the images the model was trained at: `train` records it
  // in the configs it saves, so inference runs at the scale the model learned
  // (eval.short_side 0). 0 = not recorded.
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

// "cpu", "cuda" or "cuda:N" (the form runtime.device and --device take).
bool is_device_name(const std::string& name);

// train.init's paths ("WEIGHTS" or "hf:CONFIG,WEIGHTS") made absolute against `dir`.
std::string absolute_init_paths(const std::string& init, const std::string& dir);

// Applies one "a.b=value" override to a JSON document (exposed for tests).
void apply_override(nlohmann::ordered_json& json, const std::string& assignment);

}  // namespace rgbdseg
