#include "common_options.h"

#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <cmath>
#include <cstdio>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/parallel.h"

namespace rgbdseg::app {

void add_common_options(CLI::App& cmd, CommonArgs& args, bool with_config) {
  if (with_config) {
    cmd.add_option("--config", args.config, "JSON config file (presets in configs/)")->check(CLI::ExistingFile);
    cmd.add_option("--set", args.set, "override a config key, e.g. --set runtime.threads=2 (repeatable)");
  }
  cmd.add_option("--threads", args.threads, "threads to use; 0 = all cores (default: runtime.threads, 0)")
      ->check(CLI::Validator(
          [](std::string& text) {
            int n = -1;
            char extra = 0;
            if (std::sscanf(text.c_str(), "%d%c", &n, &extra) != 1 || n < 0) {
              return "expected 0 (all cores) or a positive number of threads, got " + text;
            }
            return std::string();
          },
          "N"));
  cmd.add_flag("-v,--verbose", args.verbose, "debug logging");
  cmd.add_flag("-q,--quiet", args.quiet, "only warnings and errors");
}

namespace {

// <dir of this executable>, or "" when /proc/self/exe cannot be read.
std::filesystem::path executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::filesystem::path(std::string(buf, static_cast<size_t>(n))).parent_path();
}

bool is_model_dir(const std::filesystem::path& dir) {
  return std::filesystem::is_regular_file(dir / "config.json") && std::filesystem::is_regular_file(dir / "model.safetensors");
}

}  // namespace

ModelFiles resolve_model(const std::string& name_or_dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  const bool looks_like_path = name_or_dir.find('/') != std::string::npos || name_or_dir == "." || name_or_dir == "..";
  if (looks_like_path || fs::is_directory(name_or_dir)) {
    candidates.emplace_back(name_or_dir);
  } else {
    if (const char* env = std::getenv("RGBDSEG_MODELS"); env && *env) candidates.push_back(fs::path(env) / name_or_dir);
    const fs::path exe = executable_dir();
    if (!exe.empty()) {
      candidates.push_back(exe.parent_path().parent_path() / "models" / name_or_dir);  // build/bin -> source tree
      candidates.push_back(exe.parent_path() / "share" / "rgbdseg" / "models" / name_or_dir);
    }
#ifdef RGBDSEG_SOURCE_MODELS_DIR
    candidates.push_back(fs::path(RGBDSEG_SOURCE_MODELS_DIR) / name_or_dir);
#endif
  }
  for (const auto& dir : candidates) {
    if (is_model_dir(dir)) {
      const fs::path canonical = fs::weakly_canonical(dir);
      return {canonical.string(), (canonical / "config.json").string(), (canonical / "model.safetensors").string()};
    }
  }
  std::string looked;
  for (const auto& dir : candidates) looked += (looked.empty() ? "" : ", ") + dir.string();
  throw UsageError("--model " + name_or_dir + ": no model folder (config.json + model.safetensors) at " + looked);
}

void apply_model_option(const std::string& model, CommonArgs& common, std::string& weights) {
  if (model.empty()) {
    if (weights.empty()) throw UsageError("give --model NAME|DIR or --weights FILE");
    return;
  }
  if (!weights.empty()) throw UsageError("--model and --weights exclude each other (the model folder has its weights)");
  if (!common.config.empty()) {
    throw UsageError("--model and --config exclude each other (the model folder has its config; --set changes it)");
  }
  const ModelFiles files = resolve_model(model);
  common.config = files.config;
  weights = files.weights;
}

void add_device_option(CLI::App& cmd, CommonArgs& args) {
  cmd.add_option("--device", args.device, "where the model runs: cpu, cuda or cuda:N (default: runtime.device, cpu)")
      ->check(CLI::Validator(
          [](std::string& text) {
            return is_device_name(text) ? std::string() : "expected cpu, cuda or cuda:N, got " + text;
          },
          "DEVICE"));
}

std::pair<int, int> parse_size(const std::string& text) {
  int h = 0, w = 0;
  char x = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &h, &x, &w, &extra) != 3 || (x != 'x' && x != 'X') || h <= 0 || w <= 0) {
    throw UsageError("--size: expected HxW (height x width) with positive numbers, e.g. 480x640; got \"" + text + "\"");
  }
  return {h, w};
}

namespace {

// A validator that parses a number and applies `ok`, else "expected <what>, got <text>".
CLI::Validator number_check(const std::string& what, bool (*ok)(double), const std::string& name) {
  return CLI::Validator(
      [what, ok](std::string& text) {
        double v = 0;
        char extra = 0;
        if (std::sscanf(text.c_str(), "%lf%c", &v, &extra) != 1 || !ok(v)) return "expected " + what + ", got " + text;
        return std::string();
      },
      name);
}

}  // namespace

CLI::Validator positive_number() {
  return number_check("a positive number", [](double v) { return v > 0 && v < HUGE_VAL; }, "POSITIVE");
}
CLI::Validator non_negative_number() {
  return number_check("a number >= 0", [](double v) { return v >= 0 && v < HUGE_VAL; }, "NONNEGATIVE");
}
CLI::Validator unit_interval() {
  return number_check("a number in [0, 1]", [](double v) { return v >= 0 && v <= 1; }, "[0,1]");
}

void add_depth_options(CLI::App& cmd, DepthArgs& args) {
  cmd.add_option("--depth-encoding", args.encoding,
                 "how depth files store depth: auto (16-bit = png16, float = float; 8-bit needs png8), png16, "
                 "sunrgbd, float, png8 (default: the dataset's \"depth_encoding\", else auto)")
      ->check(CLI::IsMember({"auto", "png16", "sunrgbd", "float", "png8"}))
      ->capture_default_str();
  cmd.add_option("--depth-scale", args.scale,
                 "metres per stored depth unit (default: the dataset's \"depth_scale\", else 0.001 for png16, "
                 "1 for float; png8 has no default)")
      ->check(positive_number());
  cmd.add_option("--min-depth", args.min_depth,
                 "metres; depth at or below is invalid (default: model.depth.min_depth of the config, 0)")
      ->check(non_negative_number());
  cmd.add_option("--max-depth", args.max_depth,
                 "metres; depth beyond is invalid, 0 = no limit (default: model.depth.max_depth of the config, 10)")
      ->check(non_negative_number());
}

DepthReadOptions apply_depth_flags(const DepthArgs& args, DepthReadOptions o) {
  o.encoding = parse_depth_encoding(args.encoding);
  o.scale = args.scale;
  if (args.min_depth >= 0) o.min_depth = args.min_depth;
  if (args.max_depth >= 0) o.max_depth = args.max_depth > 0 ? args.max_depth : HUGE_VAL;
  if (!(o.max_depth > o.min_depth)) {
    throw UsageError("the depth range is empty: --min-depth " + std::to_string(o.min_depth) + " is not below --max-depth " +
                     std::to_string(o.max_depth));
  }
  return o;
}

Config start_command(const std::string& name, const CommonArgs& args) {
  Config config = load_config(args.config, args.set);
  LogLevel level = config.runtime.log_level;
  if (args.verbose) level = LogLevel::Debug;
  if (args.quiet) level = LogLevel::Warn;
  set_log_level(level);
  if (args.threads >= 0) config.runtime.threads = args.threads;
  if (!args.device.empty()) config.runtime.device = args.device;
  // Torch commands pass this to torch_api().configure_runtime(); torch-free
  // work (evaluation, conversion) uses it directly.
  if (config.runtime.threads == 0) config.runtime.threads = hardware_threads();
  RGBDSEG_LOG(Debug) << name << ": " << config.runtime.threads << " threads";
  return config;
}

}  // namespace rgbdseg::app
