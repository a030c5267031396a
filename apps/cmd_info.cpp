// rgbdseg info: where we run (threads, BLAS, LibTorch, device), for bug reports
// and to check a machine's set-up.
#include <cstdio>

#include "plugins.h"
#include "rgbdseg/runtime/runtime.h"

namespace rgbdseg::app {

namespace {

int run_info(const CommonArgs& args) {
  const Config config = start_command("info", args);
  const int threads = configure_runtime(config.runtime.threads);
  std::printf("%s", version_text().c_str());
  std::printf("runtime %s\n", system_info().c_str());
  std::printf("threads in use %d\n", threads);
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& parent) {
  auto args = std::make_shared<CommonArgs>();
  CLI::App* cmd = parent.add_subcommand("info", "print build and runtime facts: threads, BLAS, LibTorch, device");
  add_common_options(*cmd, *args, /*with_config=*/false);
  return {cmd, [args] { return run_info(*args); }};
}

}  // namespace rgbdseg::app
