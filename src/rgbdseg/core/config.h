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
#include <string>
#include <vector>

namespace rgbdseg {

constexpr int kConfigVersion = 1;

struct RuntimeConfig {
  int threads = 0;                 // intra-op threads; 0 = all cores
  std::string log_level = "info";  // error | warn | info | debug
};

struct EvalConfig {
  std::string iou_type = "segm";  // segm | bbox
  bool use_cats = true;           // false: class-agnostic matching (pycocotools useCats=0)
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
  double min_depth = 0.0;  // readings outside [min_depth, max_depth] metres are invalid (0 = no limit)
  double max_depth = 0.0;
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
  DepthModulesConfig depth;
};

struct Config {
  int version = kConfigVersion;
  RuntimeConfig runtime;
  EvalConfig eval;
  ModelConfig model;
};

// The resolved configuration as JSON (keys in declaration order).
nlohmann::ordered_json config_to_json(const Config& config);

// Strict conversion; `source` names the file (or "--set") in errors.
Config config_from_json(const nlohmann::ordered_json& json, const std::string& source);

// Defaults <- base chain <- file <- overrides ("a.b=value"; value is JSON if it
// parses as JSON, otherwise a string). `path` may be empty (defaults only).
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Applies one "a.b=value" override to a JSON document (exposed for tests).
void apply_override(nlohmann::ordered_json& json, const std::string& assignment);

}  // namespace rgbdseg
