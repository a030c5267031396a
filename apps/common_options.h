#pragma once
// Flags every command shares (--config, --set, --threads, -v/-q), declared
// once, and the start-up every command runs after parsing.
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rgbdseg/core/config.h"

namespace rgbdseg::app {

struct CommonArgs {
  std::string config;               // JSON config file (optional)
  std::vector<std::string> set;     // key=value overrides
  int threads = -1;                 // -1: from config (0 = all cores)
  bool verbose = false;
  bool quiet = false;
};

// with_config: whether the command reads a config file (--config/--set).
void add_common_options(CLI::App& cmd, CommonArgs& args, bool with_config = true);

// Resolves the config, applies log level and threads, logs where we run.
Config start_command(const std::string& name, const CommonArgs& args);

// "480x640" -> {480, 640}; Error naming --size otherwise.
std::pair<int, int> parse_size(const std::string& text);

// A subcommand and the function that runs it after parsing.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

}  // namespace rgbdseg::app
