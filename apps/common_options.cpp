#include "common_options.h"

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
  cmd.add_option("--threads", args.threads, "threads to use (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd.add_flag("-v,--verbose", args.verbose, "debug logging");
  cmd.add_flag("-q,--quiet", args.quiet, "only warnings and errors");
}

std::pair<int, int> parse_size(const std::string& text) {
  int h = 0, w = 0;
  char x = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &h, &x, &w, &extra) != 3 || (x != 'x' && x != 'X') || h <= 0 || w <= 0) {
    throw Error("--size: expected HxW with positive numbers, e.g. 480x640; got \"" + text + "\"");
  }
  return {h, w};
}

Config start_command(const std::string& name, const CommonArgs& args) {
  Config config = load_config(args.config, args.set);
  LogLevel level = parse_log_level(config.runtime.log_level);
  if (args.verbose) level = LogLevel::Debug;
  if (args.quiet) level = LogLevel::Warn;
  set_log_level(level);
  if (args.threads >= 0) config.runtime.threads = args.threads;
  // Torch commands pass this to torch_api().configure_runtime(); torch-free
  // work (evaluation, conversion) uses it directly.
  if (config.runtime.threads == 0) config.runtime.threads = hardware_threads();
  RGBDSEG_LOG(Debug) << name << ": " << config.runtime.threads << " threads";
  return config;
}

}  // namespace rgbdseg::app
