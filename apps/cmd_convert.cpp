// rgbdseg convert <format>: write a canonical RGB-D dataset from another format.
// The formats live in their own files (cmd_convert_cots_folder.cpp,
// cmd_convert_nyuv2_seed.cpp); this file owns the `convert` command.
#include "cmd_convert.h"

#include <cstdio>
#include <memory>

#include "rgbdseg/core/log.h"
#include "rgbdseg/data/dataset_writer.h"

namespace rgbdseg::app {

void print_conversion_summary(const std::string& label, const ConversionSummary& summary) {
  RGBDSEG_LOG(Info) << label << ": " << format_summary(summary);
  std::printf("%s\n", summary.annotations_path.c_str());
  std::fflush(stdout);
}

Command add_convert_command(CLI::App& parent) {
  CLI::App* cmd = parent.add_subcommand(
      "convert", "write a canonical RGB-D dataset (COCO JSON + depth) from NYUv2, COTS, the research code's format "
                 "or a generic folder");
  cmd->require_subcommand(1);
  auto formats = std::make_shared<std::vector<Command>>();
  add_convert_cots_folder(cmd, *formats);
  add_convert_nyuv2_seed(cmd, *formats);
  return {cmd, [formats] {
            for (const auto& f : *formats) {
              if (f.app->parsed()) return f.run();
            }
            return 2;  // require_subcommand(1) makes this unreachable
          }};
}

}  // namespace rgbdseg::app
