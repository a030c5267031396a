// rgbdseg bag info: what a RealSense recording (.bag) holds: device, streams,
// resolutions, encodings, frame counts, duration, depth units, intrinsics and
// each stream's offset from the depth camera (src/rgbdseg/io/realsense_bag.h).
#include <cstdio>

#include "commands.h"
#include "rgbdseg/io/realsense_bag.h"

namespace rgbdseg::app {

namespace {

struct BagInfoArgs {
  CommonArgs common;
  std::string file;
};

int run_bag_info(const BagInfoArgs& args) {
  start_command("bag info", args.common);
  const RealSenseBag bag(args.file);
  std::printf("%s", describe_realsense_bag(bag).c_str());
  return 0;
}

}  // namespace

Command add_bag_command(CLI::App& parent) {
  CLI::App* cmd = parent.add_subcommand("bag", "read RealSense recordings (.bag): info");
  cmd->require_subcommand(1);
  auto info = std::make_shared<BagInfoArgs>();
  CLI::App* info_cmd = cmd->add_subcommand(
      "info", "device, streams, resolutions, frame counts, duration, depth units and intrinsics of a recording");
  info_cmd->add_option("file", info->file, "a RealSense .bag recording")->required()->check(CLI::ExistingFile);
  add_common_options(*info_cmd, info->common, /*with_config=*/false);
  return {cmd, [info, info_cmd] { return info_cmd->parsed() ? run_bag_info(*info) : 2; }};
}

}  // namespace rgbdseg::app
