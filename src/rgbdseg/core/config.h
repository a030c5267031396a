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

struct Config {
  int version = kConfigVersion;
  RuntimeConfig runtime;
  EvalConfig eval;
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
