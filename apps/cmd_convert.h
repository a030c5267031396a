#pragma once
// `rgbdseg convert <format>`: apps/cmd_convert.cpp owns the `convert` command;
// each format is a sub-subcommand added by the file that implements it.
#include <string>
#include <vector>

#include "commands.h"

namespace rgbdseg {
struct ConversionSummary;
}

namespace rgbdseg::app {

// `convert` itself (require one format); dispatches to the parsed format.
Command add_convert_command(CLI::App& parent);

// Format groups, each in its own file; push one Command per format into `out`.
void add_convert_cots_folder(CLI::App* convert, std::vector<Command>& out);  // cmd_convert_cots_folder.cpp
void add_convert_nyuv2_seed(CLI::App* convert, std::vector<Command>& out);   // cmd_convert_nyuv2_seed.cpp

// What every converter prints when done: the summary (images, instances per
// class, skipped items with reasons) on stderr, the annotations path on stdout.
// `label` names the output, e.g. "convert cots" or "convert cots (val)".
void print_conversion_summary(const std::string& label, const ConversionSummary& summary);

}  // namespace rgbdseg::app
