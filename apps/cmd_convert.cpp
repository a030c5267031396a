// rgbdseg convert <format>: write a canonical RGB-D dataset from another format.
// The formats live in their own files (cmd_convert_cots_folder.cpp,
// cmd_convert_nyuv2_seed.cpp); this file owns the `convert` command.
#include "cmd_convert.h"

#include <cstdio>
#include <memory>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/data/dataset_writer.h"

namespace rgbdseg::app {

void print_conversion_summary(const std::string& label, const ConversionSummary& summary) {
  RGBDSEG_LOG(Info) << label << ": " << format_summary(summary);
  std::printf("%s\n", summary.annotations_path.c_str());
  std::fflush(stdout);
}

Intrinsics parse_intrinsics(const std::string& text) {
  Intrinsics k;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%lf,%lf,%lf,%lf%c", &k.fx, &k.fy, &k.cx, &k.cy, &extra) != 4 || !(k.fx > 0) ||
      !(k.fy > 0)) {
    throw Error("expected fx,fy,cx,cy in pixels with positive focal lengths, e.g. "
                "518.9,519.5,325.6,253.7; got \"" + text + "\"");
  }
  return k;
}

CLI::Validator intrinsics_validator() {
  return CLI::Validator(
      [](std::string& text) {
        try {
          parse_intrinsics(text);
          return std::string();
        } catch (const Error& e) {
          return std::string(e.what());
        }
      },
      "FX,FY,CX,CY");
}

Command add_convert_command(CLI::App& parent) {
  CLI::App* cmd = parent.add_subcommand(
      "convert", "write a canonical RGB-D dataset (COCO JSON + depth) from NYUv2, COTS, the research code's format, "
                 "a generic folder or an annotation tool's export (LabelMe, COCO, CVAT masks)");
  cmd->require_subcommand(1);
  auto formats = std::make_shared<std::vector<Command>>();
  add_convert_cots_folder(cmd, *formats);
  add_convert_nyuv2_seed(cmd, *formats);
  add_convert_annotation_tools(cmd, *formats);
  return {cmd, [formats] {
            for (const auto& f : *formats) {
              if (f.app->parsed()) return f.run();
            }
            return 2;  // require_subcommand(1) makes this unreachable
          }};
}

}  // namespace rgbdseg::app
