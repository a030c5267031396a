// rgbdseg bag info | export: what a RealSense recording (.bag) holds (device,
// streams, resolutions, encodings, frame counts, duration, depth units,
// intrinsics, each stream's offset from the depth camera;
// src/rgbdseg/io/realsense_bag.h), and its frames as a canonical dataset
// (src/rgbdseg/data/convert_realsense.h).
#include <cstdio>

#include "cmd_convert.h"
#include "commands.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/convert_realsense.h"
#include "rgbdseg/io/realsense_bag.h"

namespace rgbdseg::app {

namespace {

struct BagInfoArgs {
  CommonArgs common;
  std::string file, calib;
};

struct BagExportArgs {
  CommonArgs common;
  RealSenseExportOptions options;
  std::string align = "color";
};

int run_bag_export(BagExportArgs args) {
  start_command("bag export", args.common);
  args.options.align = args.align == "color";
  ProgressBar bar("bag export", 0, "depth frames");
  const ConversionSummary summary = export_realsense_bag(args.options, bar.callback());
  bar.finish();
  print_conversion_summary("bag export", summary);
  return 0;
}

int run_bag_info(const BagInfoArgs& args) {
  start_command("bag info", args.common);
  const RealSenseBag bag(args.file);
  if (!args.calib.empty()) write_realsense_calibration(args.calib, realsense_calibration(bag));
  std::printf("%s", describe_realsense_bag(bag).c_str());
  return 0;
}

}  // namespace

Command add_bag_command(CLI::App& parent) {
  CLI::App* cmd = parent.add_subcommand("bag", "read RealSense recordings (.bag): info, export");
  cmd->require_subcommand(1);
  auto info = std::make_shared<BagInfoArgs>();
  CLI::App* info_cmd = cmd->add_subcommand(
      "info", "device, streams, resolutions, frame counts, duration, depth units and intrinsics of a recording");
  info_cmd->add_option("file", info->file, "a RealSense .bag recording")->required()->check(CLI::ExistingFile);
  info_cmd->add_option("--calib", info->calib,
                       "also write the camera's calibration (depth and colour intrinsics, depth-to-colour extrinsics, "
                       "depth units) to this JSON file");
  add_common_options(*info_cmd, info->common, /*with_config=*/false);
  auto exp = std::make_shared<BagExportArgs>();
  CLI::App* export_cmd = cmd->add_subcommand(
      "export", "depth and colour frame pairs as a canonical dataset (colour PNG + 16-bit depth PNG, frames.json)");
  export_cmd->add_option("file", exp->options.bag, "a RealSense .bag recording")->required()->check(CLI::ExistingFile);
  export_cmd->add_option("--out", exp->options.out, "output directory")->required();
  export_cmd->add_option("--align", exp->align, "color: depth seen from the colour camera (as librealsense aligns); "
                                                "none: as recorded (both streams must be the same size)")
      ->capture_default_str()->check(CLI::IsMember({"color", "none"}));
  export_cmd->add_option("--every", exp->options.every, "export every Nth frame pair")->capture_default_str()
      ->check(positive_number());
  export_cmd->add_option("--max-skew-ms", exp->options.max_skew_ms,
                         "pair a depth frame with the nearest colour frame at most this far apart in device time "
                         "(default: half the colour frame period)");
  export_cmd->add_option("--filters", exp->options.filters,
                         "depth filters before alignment, comma-separated: decimation, spatial, temporal, hole_filling (run in that "
                         "order), or research (the research code's preset)")
      ->delimiter(',');
  export_cmd->add_option("--decimation", exp->options.decimation, "decimation magnitude (1-8)")->capture_default_str()
      ->check(CLI::Range(1, 8));
  export_cmd->add_option("--hole-filling", exp->options.hole_filling,
                         "hole filling: 0 from the left, 1 farthest around, 2 nearest around")
      ->capture_default_str()->check(CLI::Range(0, 2));
  export_cmd->add_flag("--force", exp->options.force, "write into a non-empty output directory");
  add_common_options(*export_cmd, exp->common, /*with_config=*/false);
  return {cmd, [info, info_cmd, exp, export_cmd] {
            if (info_cmd->parsed()) return run_bag_info(*info);
            if (export_cmd->parsed()) return run_bag_export(*exp);
            return 2;
          }};
}

}  // namespace rgbdseg::app
