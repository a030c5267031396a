// rgbdseg: the command-line tool. Parses, dispatches to one command, and turns
// every failure into one line on stderr: exit 1 for errors, 2 for usage errors.
#include <cstdio>
#include <cstring>

#include "plugins.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/memory.h"

namespace {

using namespace rgbdseg::app;

// The first argument not starting with '-': the command's name, or "".
std::string first_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') return argv[i];
  }
  return "";
}

const CommandInfo* find_command(const std::string& name) {
  for (const auto& c : command_table()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

// "convert nyuv2": the command and the sub-subcommands that were given.
std::string command_path(const CLI::App* app) {
  std::string path = app->get_name();
  for (const CLI::App* sub = app; !sub->get_subcommands().empty();) {
    sub = sub->get_subcommands().front();
    path += " " + sub->get_name();
  }
  return path;
}

// First line only: LibTorch errors carry multi-line context and backtraces.
std::string one_line(const char* what) {
  std::string s = what;
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rgbdseg: RGB-D instance segmentation (Mask2Former with depth modules DGGM and E-DSAM)", "rgbdseg"};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  std::vector<Command> commands;
  const std::string word = first_word(argc, argv);
  // Batch evaluation allocates ~100k small objects: huge pages halve its time here.
  if (word == "cocoeval") rgbdseg::reexec_with_huge_page_malloc(argv);
  const CommandInfo* wanted = find_command(word);
  if (!word.empty() && !wanted) {
    std::string names;
    for (const auto& c : command_table()) names += (names.empty() ? "" : ", ") + std::string(c.name);
    std::fprintf(stderr, "rgbdseg: error: unknown command '%s' (commands: %s)\n", word.c_str(), names.c_str());
    return 2;
  }
  // `inspect` of a model configuration needs LibTorch: the torch plugin provides that variant.
  bool model_inspect = false;
  if (word == "inspect") {
    for (int i = 1; i < argc; ++i) {
      model_inspect |= std::strncmp(argv[i], "--hf-config", 11) == 0 || std::strcmp(argv[i], "--model") == 0 ||
                       std::strcmp(argv[i], "--all-variants") == 0;
    }
  }
  const char* plugin = model_inspect ? "torch" : (wanted ? wanted->plugin : nullptr);
  try {
    commands.push_back(add_cocoeval_command(app));
    if (!model_inspect) commands.push_back(add_inspect_command(app));
    if (plugin) load_plugin_commands(plugin, app, commands);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rgbdseg: error: %s\n", one_line(e.what()).c_str());
    return 1;
  }
  // Other plugins' commands appear in `rgbdseg --help` without being loaded.
  for (const auto& c : command_table()) {
    if (c.plugin && !(plugin && std::strcmp(c.plugin, plugin) == 0)) {
      app.add_subcommand(c.name, c.summary)->allow_extras();
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help, --version
    std::string name = "rgbdseg";
    for (const auto& c : commands) {
      if (c.app->parsed()) name += " " + command_path(c.app);
    }
    std::fprintf(stderr, "%s: error: %s (see '%s --help')\n", name.c_str(), e.what(), name.c_str());
    return 2;
  }
  for (const auto& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const rgbdseg::UsageError& e) {
      const std::string name = "rgbdseg " + command_path(c.app);
      std::fprintf(stderr, "%s: error: %s (see '%s --help')\n", name.c_str(), one_line(e.what()).c_str(), name.c_str());
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rgbdseg %s: error: %s\n", command_path(c.app).c_str(), one_line(e.what()).c_str());
      return 1;
    }
  }
  return 2;
}
