#pragma once
// Commands live in three places so each start-up pays only for what it uses:
//   built in  (the rgbdseg executable): torch- and OpenCV-free: cocoeval, inspect
//   "images"  (librgbdseg_cmd_images.so, OpenCV, ~0.13 s to load): synth, show, plot, convert
//   "torch"   (librgbdseg_cmd_torch.so, LibTorch, ~0.7 s to load): demo, train, eval, predict, info,
//             forward, bench, and inspect of a model (--hf-config, --model, --all-variants)
// The table itself is in plugins.cpp.
// The executable knows every command's name and summary, and loads a plugin
// only when one of its commands runs.
#include <string>
#include <vector>

#include "commands.h"

namespace rgbdseg::app {

struct CommandInfo {
  const char* name;
  const char* summary;
  const char* plugin;  // nullptr: built in
};

const std::vector<CommandInfo>& command_table();

// Loads librgbdseg_cmd_<plugin>.so (next to the executable's ../lib) and lets
// it add its commands to `app`. Throws Error naming the file on failure.
void load_plugin_commands(const std::string& plugin, CLI::App& app, std::vector<Command>& commands);

// `rgbdseg --version` text (compile-time facts only: loads nothing).
std::string version_text();

}  // namespace rgbdseg::app

// What each plugin exports.
extern "C" void rgbdseg_register_commands(CLI::App* app, std::vector<rgbdseg::app::Command>* commands);
