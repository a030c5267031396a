// The "images" plugin: commands that read or write images (OpenCV).
#include "cmd_convert.h"
#include "plugins.h"

extern "C" void rgbdseg_register_commands(CLI::App* app, std::vector<rgbdseg::app::Command>* commands) {
  using namespace rgbdseg::app;
  commands->push_back(add_synth_command(*app));
  commands->push_back(add_show_command(*app));
  commands->push_back(add_plot_command(*app));
  commands->push_back(add_convert_command(*app));
  commands->push_back(add_compare_command(*app));
  commands->push_back(add_bag_command(*app));
  commands->push_back(add_capture_command(*app));
}
