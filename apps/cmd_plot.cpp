// rgbdseg plot: training curves (loss, learning rate, eval AP) from the
// trainer's JSON-lines log, as one PNG drawn with OpenCV.
#include <cstdio>

#include "commands.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/io/image_io.h"
#include "rgbdseg/viz/curves.h"
#include "rgbdseg/viz/training_log.h"

namespace rgbdseg::app {

namespace {

struct PlotArgs {
  CommonArgs common;
  std::string log, out;
  std::string size = "900x1200";  // HxW, as every command takes sizes
  double smoothing = 0.9;
};

// "900x1200" -> height 900, width 1200 (HxW, like every other --size).
void parse_picture_size(const std::string& text, CurvesOptions& options) {
  const std::string minimum = std::to_string(CurvesOptions::kMinHeight) + "x" + std::to_string(CurvesOptions::kMinWidth);
  std::pair<int, int> hw;
  try {
    hw = parse_size(text);
  } catch (const UsageError&) {
    throw UsageError("--size: expected HxW (height x width) of at least " + minimum + ", e.g. 900x1200; got \"" + text + "\"");
  }
  if (hw.first < CurvesOptions::kMinHeight || hw.second < CurvesOptions::kMinWidth) {
    throw UsageError("--size: expected HxW (height x width) of at least " + minimum + ", e.g. 900x1200; got \"" + text + "\"");
  }
  options.height = hw.first;
  options.width = hw.second;
}

int run_plot(const PlotArgs& args) {
  start_command("plot", args.common);
  CurvesOptions options;
  parse_picture_size(args.size, options);
  if (!(args.smoothing >= 0 && args.smoothing < 1)) {
    throw UsageError("--smoothing: expected a factor in [0, 1), got " + std::to_string(args.smoothing));
  }
  options.smoothing = args.smoothing;
  const std::string ext = args.out.size() >= 4 ? args.out.substr(args.out.size() - 4) : "";
  if (ext != ".png" && ext != ".PNG")
    throw UsageError("--out: writes a PNG, the name must end in .png; got \"" + args.out + "\"");

  const TrainingLog log = read_training_log(args.log);
  if (log.partial_last_line) {
    RGBDSEG_LOG(Warn) << "plot: " << args.log << ": the last line is incomplete (still being written?); left out";
  }
  if (log.train.empty()) {
    throw Error(args.log + ": no train records (lines with \"type\": \"train\"), nothing to plot");
  }
  RGBDSEG_LOG(Info) << "plot: " << log.train.size() << " train records, " << log.eval.size() << " eval records, "
                    << log.skipped_steps.size() << " skipped steps";
  write_rgb_png(args.out, draw_training_curves(log, options));
  std::printf("%s\n", args.out.c_str());
  return 0;
}

}  // namespace

Command add_plot_command(CLI::App& parent) {
  auto args = std::make_shared<PlotArgs>();
  CLI::App* cmd = parent.add_subcommand("plot",
                                        "draw training curves (loss, learning "
                                        "rate, eval AP) from a training log");
  cmd->add_option("--log", args->log, "the trainer's JSON-lines log (train.jsonl)")->required();
  cmd->add_option("--out", args->out, "output PNG")->required();
  cmd->add_option("--size", args->size, "picture size, HxW (height x width)")->capture_default_str();
  cmd->add_option("--smoothing", args->smoothing, "EMA factor for the smoothed loss, in [0, 1)")->capture_default_str();
  add_common_options(*cmd, args->common, /*with_config=*/false);
  return {cmd, [args] { return run_plot(*args); }};
}

}  // namespace rgbdseg::app
