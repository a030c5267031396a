// rgbdseg demo: the main job on the embedded default data. (Placeholder; filled in below.)
#include "commands.h"

namespace rgbdseg::app {

Command add_demo_command(CLI::App& parent) {
  auto args = std::make_shared<CommonArgs>();
  CLI::App* cmd = parent.add_subcommand("demo", "synthetic RGB-D scenes -> evaluation, end to end");
  add_common_options(*cmd, *args);
  return {cmd, [args] { return 0; }};
}

}  // namespace rgbdseg::app
