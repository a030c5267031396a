// rgbdseg capture: frames from a RealSense D4xx camera through raw V4L2 (depth
// node Z16, colour node YUYV), depth aligned to colour with a calibration file
// (`bag info --calib` of a recording made with the same camera), written as a
// canonical dataset like `bag export`. Untested on a camera here (README).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "commands.h"
#include "cmd_convert.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/convert_realsense.h"
#include "rgbdseg/data/dataset_writer.h"
#include "rgbdseg/io/realsense_align.h"
#include "rgbdseg/io/realsense_bag.h"
#include "rgbdseg/io/v4l2_capture.h"

namespace rgbdseg::app {

namespace {

struct CaptureArgs {
  CommonArgs common;
  std::string device, colour_device, calib, out;
  int frames = 30, fps = 30;
  bool force = false;
};

int run_capture(const CaptureArgs& args) {
  start_command("capture", args.common);
  const RealSenseCalibration calib = read_realsense_calibration(args.calib);
  V4l2Stream depth(args.device, calib.depth.width, calib.depth.height, "Z16 ", args.fps);
  V4l2Stream colour(args.colour_device, calib.colour.width, calib.colour.height, "YUYV", args.fps);
  DatasetWriter writer(args.out, {{1, "object"}}, args.force, "RealSense capture " + args.device);
  nlohmann::ordered_json frames = nlohmann::ordered_json::array();
  ProgressBar bar("capture", args.frames, "frames");
  for (int i = 0; i < args.frames; ++i) {
    const V4l2Stream::Frame d = depth.next();
    const V4l2Stream::Frame c = colour.next();
    const cv::Mat aligned = align_depth_to_colour(d.image, calib.depth_units, calib.depth, calib.colour, calib.depth_to_colour);
    const std::string stem = cv::format("%06d", i);
    add_realsense_pair(writer, stem, aligned, calib.depth_units, c.image, calib.colour,
                       args.device + " frame " + std::to_string(d.sequence));
    frames.push_back({{"stem", stem}, {"depth_sequence", d.sequence}, {"colour_sequence", c.sequence},
                      {"depth_time_ns", d.time_ns}, {"colour_time_ns", c.time_ns}});
    bar.advance();
  }
  bar.finish();
  const ConversionSummary summary = writer.finish();
  nlohmann::ordered_json sidecar;
  sidecar["calibration"] = args.calib;
  sidecar["frames"] = frames;
  write_file_atomic(args.out + "/frames.json", sidecar.dump(1) + "\n");
  print_conversion_summary("capture", summary);
  return 0;
}

}  // namespace

Command add_capture_command(CLI::App& parent) {
  auto args = std::make_shared<CaptureArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "capture", "frames from a RealSense D4xx through V4L2 (depth aligned to colour) as a canonical dataset");
  cmd->add_option("--device", args->device, "the depth node, e.g. /dev/video0 (streams Z16)")->required();
  cmd->add_option("--colour-device", args->colour_device, "the colour node, e.g. /dev/video4 (streams YUYV)")->required();
  cmd->add_option("--calib", args->calib, "calibration JSON (rgbdseg bag info REC.bag --calib FILE)")->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", args->out, "output directory")->required();
  cmd->add_option("--frames", args->frames, "frame pairs to capture")->capture_default_str()->check(positive_number());
  cmd->add_option("--fps", args->fps, "frame rate asked of the camera")->capture_default_str()->check(positive_number());
  cmd->add_flag("--force", args->force, "write into a non-empty output directory");
  add_common_options(*cmd, args->common, /*with_config=*/false);
  return {cmd, [args] { return run_capture(*args); }};
}

}  // namespace rgbdseg::app
