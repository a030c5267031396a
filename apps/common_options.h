#pragma once
// Flags every command shares (--config, --set, --threads, -v/-q), declared
// once, and the start-up every command runs after parsing.
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rgbdseg/core/config.h"
#include "rgbdseg/core/depth_encoding.h"

namespace rgbdseg::app {

struct CommonArgs {
  std::string config;               // JSON config file (optional)
  std::vector<std::string> set;     // key=value overrides
  int threads = -1;                 // -1: from config (0 = all cores)
  bool verbose = false;
  bool quiet = false;
  std::string device;               // --device (model commands); "" = runtime.device of the config
};

// with_config: whether the command reads a config file (--config/--set).
void add_common_options(CLI::App& cmd, CommonArgs& args, bool with_config = true);

// --device cpu|cuda|cuda:N for the commands that run a model (runtime.device).
void add_device_option(CLI::App& cmd, CommonArgs& args);

// Resolves the config, applies log level and threads, logs where we run.
Config start_command(const std::string& name, const CommonArgs& args);

// "480x640" -> {480, 640} (height x width, as every command takes sizes);
// UsageError naming --size otherwise.
std::pair<int, int> parse_size(const std::string& text);

// Number checks with one-line messages (CLI11's NonNegativeNumber and
// PositiveNumber print their range as a 300-digit number).
CLI::Validator positive_number();      // > 0
CLI::Validator non_negative_number();  // >= 0
CLI::Validator unit_interval();        // in [0, 1]

// A flag taking the names of an enumerated setting (core/enums.h): checked
// against the same table the config reader uses.
template <typename E>
CLI::Validator one_of_names() {
  std::string names;
  for (const auto& entry : EnumNames<E>::names) names += (names.empty() ? "" : ",") + std::string(entry.second);
  return CLI::Validator(
      [](std::string& text) {
        E value{};
        return enum_from_name<E>(text, value) ? std::string() : enum_expected<E>(text);
      },
      "{" + names + "}");
}

// The depth flags of every command that reads depth files (as `convert
// folder` has them): --depth-encoding, --depth-scale, --min-depth, --max-depth.
// Flags not given leave the base (the config's range: depth_read_options()).
struct DepthArgs {
  std::string encoding = "auto";  // auto: the dataset's "depth_encoding", else from the file
  double scale = 0;               // 0: the dataset's "depth_scale", else the encoding's default
  double min_depth = -1;          // < 0: not given
  double max_depth = -1;          // < 0: not given; 0 = no limit
};
void add_depth_options(CLI::App& cmd, DepthArgs& args);
DepthReadOptions apply_depth_flags(const DepthArgs& args, DepthReadOptions base);

// A trained model as one folder: config.json + model.safetensors (what
// models/tabletop/ ships, what `train` writes as OUT/config.json + OUT/best/).
// `name_or_dir` is a folder with those two files, or the name of a shipped
// model, looked up in $RGBDSEG_MODELS, then models/ of the source tree the
// executable was built from (build/bin/../../models), then
// <prefix>/share/rgbdseg/models. UsageError listing where it looked otherwise.
struct ModelFiles {
  std::string dir, config, weights;
};
ModelFiles resolve_model(const std::string& name_or_dir);

// --model NAME|DIR for the commands that run weights (predict, eval): it sets
// --weights and --config, so it excludes both; --set still applies on top.
// Call after parsing, before start_command.
void apply_model_option(const std::string& model, CommonArgs& common, std::string& weights);

// A subcommand and the function that runs it after parsing.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

}  // namespace rgbdseg::app
