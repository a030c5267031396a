// rgbdseg convert cots | folder: the COTS folders and generic RGB-D folders
// as canonical datasets (src/rgbdseg/data/convert_cots.h, convert_folder.h).
#include <cstdio>

#include "cmd_convert.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/convert_cots.h"
#include "rgbdseg/data/convert_folder.h"

namespace rgbdseg::app {

namespace {

struct CotsArgs {
  CommonArgs common;
  std::string root, out;
  bool force = false;
  std::vector<std::string> val_groups;
  double max_depth = 10.0;
};

struct FolderArgs {
  CommonArgs common;
  std::string root, out, classes;
  bool force = false;
  std::string depth_encoding = "auto";
  double depth_scale = 0.0;
  double min_depth = 0.0, max_depth = 10.0;
  std::string intrinsics;
};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

int run_convert_cots(const CotsArgs& args) {
  const Config config = start_command("convert cots", args.common);
  CotsOptions options;
  options.root = args.root;
  options.out = args.out;
  options.force = args.force;
  options.threads = config.runtime.threads;
  options.max_depth = args.max_depth;
  options.val_groups = args.val_groups;
  ProgressBar bar("convert cots", 0, "images");
  const std::vector<CotsSubset> subsets = convert_cots(options, bar.callback());
  bar.finish();
  for (const auto& s : subsets) {
    const std::string label = s.name.empty() ? "convert cots" : "convert cots: " + s.name + " (" + join(s.groups) + ")";
    print_conversion_summary(label, s.summary);
  }
  return 0;
}

int run_convert_folder(const FolderArgs& args) {
  const Config config = start_command("convert folder", args.common);
  FolderOptions options;
  options.root = args.root;
  options.out = args.out;
  options.classes = args.classes;
  options.force = args.force;
  options.threads = config.runtime.threads;
  options.depth.encoding = parse_depth_encoding(args.depth_encoding);
  options.depth.scale = args.depth_scale;
  options.depth.min_depth = args.min_depth;
  options.depth.max_depth = args.max_depth;
  if (!args.intrinsics.empty()) options.intrinsics = parse_intrinsics(args.intrinsics);
  ProgressBar bar("convert folder", 0, "images");
  const ConversionSummary summary = convert_folder(options, bar.callback());
  bar.finish();
  print_conversion_summary("convert folder", summary);
  return 0;
}

}  // namespace

void add_convert_cots_folder(CLI::App* convert, std::vector<Command>& out) {
  {
    auto args = std::make_shared<CotsArgs>();
    CLI::App* cmd = convert->add_subcommand(
        "cots", "COTS (Part 2 per-object masks, Part 3 instance maps), class-agnostic; optional train/val split by "
                "object group");
    cmd->footer(
        "Object groups (frames of the same objects): books, bottles, food, footwear, headgear, mugs, shooters,\n"
        "souvenirs, statues. With --val-groups, OUT/train and OUT/val are written, each a canonical dataset,\n"
        "and no group is in both. Depth beyond --max-depth (COTS has 14-27 m outliers and 65535) is invalid.");
    cmd->add_option("--root", args->root, "the COTS folder (holds 'Part 2 - Multiple Objects', 'Part 3 - ...')")
        ->required()
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--out", args->out, "output directory (rgb/, depth/, annotations.json; or train/ and val/)")
        ->required();
    cmd->add_flag("--force", args->force, "write into a non-empty output directory");
    cmd->add_option("--val-groups", args->val_groups, "object groups for OUT/val, comma-separated, e.g. books,mugs")
        ->delimiter(',');
    cmd->add_option("--max-depth", args->max_depth, "metres; farther depth readings become invalid (0)")
        ->capture_default_str()
        ->check(positive_number());
    add_common_options(*cmd, args->common, /*with_config=*/false);
    out.push_back({cmd, [args] { return run_convert_cots(*args); }});
  }
  {
    auto args = std::make_shared<FolderArgs>();
    CLI::App* cmd = convert->add_subcommand(
        "folder", "a folder of rgb/, depth/ and per-object masks (masks/<name>/*.png) or instance maps "
                  "(instances/<name>.png)");
    cmd->footer(
        "Layout (files matched by name without extension):\n"
        "  ROOT/rgb/<name>.png|jpg        colour\n"
        "  ROOT/depth/<name>.png|tif      depth (16-bit mm unless --depth-encoding/--depth-scale say otherwise)\n"
        "  ROOT/masks/<name>/<obj>.png    one binary mask per object (non-zero = object), or\n"
        "  ROOT/instances/<name>.png      one flat colour per object (black = background)\n"
        "  ROOT/classes.json              optional class map (or --classes):\n"
        "    {\"categories\": [\"mug\", \"book\"],            ids 1..N (optional)\n"
        "     \"prefixes\": {\"mug\": \"mug\"},                mask file name prefix -> class\n"
        "     \"colours\": {\"#800000\": \"book\"},            instance colour -> class\n"
        "     \"default\": \"object\"}                       anything else\n"
        "  Without a class map every object is 'object'. RGB files without depth or masks are skipped.");
    cmd->add_option("--root", args->root, "input folder")->required()->check(CLI::ExistingDirectory);
    cmd->add_option("--out", args->out, "output directory (rgb/, depth/, annotations.json)")->required();
    cmd->add_option("--classes", args->classes, "class map JSON (default: ROOT/classes.json if present)")
        ->check(CLI::ExistingFile);
    cmd->add_flag("--force", args->force, "write into a non-empty output directory");
    cmd->add_option("--depth-encoding", args->depth_encoding,
                    "how depth files store depth: auto (16-bit = png16, float = float), png16, sunrgbd, float, png8")
        ->check(CLI::IsMember({"auto", "png16", "sunrgbd", "float", "png8"}))
        ->capture_default_str();
    cmd->add_option("--depth-scale", args->depth_scale,
                    "metres per stored depth unit (0 = the encoding's default: 0.001 for png16, 1 for float)")
        ->capture_default_str()
        ->check(non_negative_number());
    cmd->add_option("--min-depth", args->min_depth, "metres; depth at or below is invalid")
        ->capture_default_str()
        ->check(non_negative_number());
    cmd->add_option("--max-depth", args->max_depth, "metres; depth beyond is invalid")
        ->capture_default_str()
        ->check(positive_number());
    cmd->add_option("--intrinsics", args->intrinsics, "camera intrinsics fx,fy,cx,cy in pixels, for every image")
        ->check(intrinsics_validator());
    add_common_options(*cmd, args->common, /*with_config=*/false);
    out.push_back({cmd, [args] { return run_convert_folder(*args); }});
  }
}

}  // namespace rgbdseg::app
