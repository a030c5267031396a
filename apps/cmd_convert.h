#pragma once
// `rgbdseg convert <format>`: apps/cmd_convert.cpp owns the `convert` command;
// each format is a sub-subcommand added by the file that implements it.
#include <string>
#include <vector>

#include "commands.h"

#include "rgbdseg/core/camera.h"

namespace rgbdseg {
struct ConversionSummary;
}

namespace rgbdseg::app {

// `convert` itself (require one format); dispatches to the parsed format.
Command add_convert_command(CLI::App& parent);

// Format groups, each in its own file; push one Command per format into `out`.
void add_convert_cots_folder(CLI::App* convert, std::vector<Command>& out);  // cmd_convert_cots_folder.cpp
void add_convert_nyuv2_seed(CLI::App* convert, std::vector<Command>& out);   // cmd_convert_nyuv2_seed.cpp
void add_convert_annotation_tools(CLI::App* convert, std::vector<Command>& out);  // cmd_convert_annotation_tools.cpp

// "fx,fy,cx,cy" in pixels (--intrinsics); Error with an example otherwise.
Intrinsics parse_intrinsics(const std::string& text);
// The CLI check of an --intrinsics option.
CLI::Validator intrinsics_validator();

// What every converter prints when done: the summary (images, instances per
// class, skipped items with reasons) on stderr, the annotations path on stdout.
// `label` names the output, e.g. "convert cots" or "convert cots (val)".
void print_conversion_summary(const std::string& label, const ConversionSummary& summary);

}  // namespace rgbdseg::app
