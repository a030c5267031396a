// The "torch" plugin: commands that run LibTorch.
#include "plugins.h"

extern "C" void rgbdseg_register_commands(CLI::App* app, std::vector<rgbdseg::app::Command>* commands) {
  using namespace rgbdseg::app;
  commands->push_back(add_info_command(*app));
  commands->push_back(add_forward_command(*app));
  commands->push_back(add_bench_command(*app));
  commands->push_back(add_train_command(*app));
  commands->push_back(add_eval_command(*app));
  commands->push_back(add_predict_command(*app));
  commands->push_back(add_demo_command(*app));
  // The model-capable `inspect` (the executable's own cannot build models).
  bool has_inspect = true;
  try {
    app->get_subcommand("inspect");
  } catch (const CLI::OptionNotFound&) {
    has_inspect = false;
  }
  if (!has_inspect) commands->push_back(add_inspect_command(*app));
}
