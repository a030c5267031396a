// rgbdseg: the command-line tool. Parses, dispatches to one command, and turns
// every failure into one line on stderr: exit 1 for errors, 2 for usage errors.
#include <cstdio>

#include "commands.h"
#include "torch_plugin.h"

int main(int argc, char** argv) {
  using namespace rgbdseg::app;
  CLI::App app{"rgbdseg: RGB-D instance segmentation (Mask2Former with depth modules DGGM and E-DSAM)", "rgbdseg"};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  app.fallthrough();
  const std::vector<Command> commands = {
      add_cocoeval_command(app),
      add_inspect_command(app),
      add_demo_command(app),
      add_info_command(app),
      add_synth_command(app),
  };

  auto active_name = [&]() -> std::string {
    for (const auto& c : commands) {
      if (c.app->parsed()) return "rgbdseg " + c.app->get_name();
    }
    return "rgbdseg";
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help, --version
    const std::string name = active_name();
    std::fprintf(stderr, "%s: error: %s (see '%s --help')\n", name.c_str(), e.what(), name.c_str());
    return 2;
  }
  for (const auto& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rgbdseg %s: error: %s\n", c.app->get_name().c_str(),
                   describe_exception(e).c_str());
      return 1;
    }
  }
  return 2;
}
