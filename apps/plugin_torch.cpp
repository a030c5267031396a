// The "torch" plugin: commands that run LibTorch.
#include "plugins.h"

extern "C" void rgbdseg_register_commands(CLI::App* app, std::vector<rgbdseg::app::Command>* commands) {
  using namespace rgbdseg::app;
  commands->push_back(add_info_command(*app));
  commands->push_back(add_forward_command(*app));
  commands->push_back(add_bench_command(*app));
}
