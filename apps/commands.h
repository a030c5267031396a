#pragma once
// The command table: one add_*_command per file in apps/.
#include "common_options.h"

namespace rgbdseg::app {

Command add_cocoeval_command(CLI::App& parent);
Command add_inspect_command(CLI::App& parent);
Command add_demo_command(CLI::App& parent);
Command add_info_command(CLI::App& parent);
Command add_forward_command(CLI::App& parent);
Command add_bench_command(CLI::App& parent);
Command add_synth_command(CLI::App& parent);
Command add_show_command(CLI::App& parent);
Command add_bag_command(CLI::App& parent);
Command add_capture_command(CLI::App& parent);
Command add_plot_command(CLI::App& parent);
Command add_compare_command(CLI::App& parent);
Command add_train_command(CLI::App& parent);
Command add_eval_command(CLI::App& parent);
Command add_predict_command(CLI::App& parent);

}  // namespace rgbdseg::app
