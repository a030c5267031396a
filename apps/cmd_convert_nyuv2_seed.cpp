// rgbdseg convert nyuv2 | seed: the NYU Depth V2 labelled .mat and the research
// code's format as canonical datasets (src/rgbdseg/data/convert_nyuv2.h, convert_seed.h).
#include "cmd_convert.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/convert_nyuv2.h"
#include "rgbdseg/data/convert_seed.h"

namespace rgbdseg::app {

namespace {

struct NyuArgs {
  CommonArgs common;
  NyuConvertOptions options;
  std::string split = "all", classes = "nyu40-things", depth = "filled";  // parsed by the library's parse_nyu_*
};

struct SeedArgs {
  CommonArgs common;
  SeedConvertOptions options;
};

int run_convert_nyuv2(NyuArgs& args) {
  const Config config = start_command("convert nyuv2", args.common);
  NyuConvertOptions& o = args.options;
  o.threads = config.runtime.threads;
  o.split = parse_nyu_split(args.split);
  o.classes = parse_nyu_class_set(args.classes);
  o.depth = parse_nyu_depth_field(args.depth);
  ProgressBar bar("convert nyuv2", 0, "images");
  const ConversionSummary summary = convert_nyuv2(o, bar.callback());
  bar.finish();
  print_conversion_summary(std::string("convert nyuv2 (") + nyu_split_name(o.split) + ")", summary);
  return 0;
}

int run_convert_seed(SeedArgs& args) {
  const Config config = start_command("convert seed", args.common);
  args.options.threads = config.runtime.threads;
  ProgressBar bar("convert seed", 0, "images");
  const ConversionSummary summary = convert_seed(args.options, bar.callback());
  bar.finish();
  print_conversion_summary("convert seed", summary);
  return 0;
}

}  // namespace

void add_convert_nyuv2_seed(CLI::App* convert, std::vector<Command>& out) {
  {
    auto args = std::make_shared<NyuArgs>();
    NyuConvertOptions& o = args->options;
    CLI::App* cmd = convert->add_subcommand(
        "nyuv2",
        "NYU Depth V2 labelled set (nyu_depth_v2_labeled.mat, MATLAB v7.3) with its splits and class mappings");
    cmd->footer(
        "Objects are (label, instance) pairs with label > 0. nyu40-things = NYU40 without wall, floor and ceiling\n"
        "(37 classes; NYU40 ids kept as category ids). Images are written as rgb/<split>/NNNNNN.png and\n"
        "depth/<split>/NNNNNN.png (16-bit mm), NNNNNN = the 1-based frame index of splits.mat.");
    cmd->add_option("--mat", o.mat_path, "nyu_depth_v2_labeled.mat (MATLAB v7.3 / HDF5)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--splits", o.splits_path, "splits.mat (trainNdxs, testNdxs)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--mapping40", o.mapping40_path, "classMapping40.mat (className, mapClass: 894 -> 40)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--mapping13", o.mapping13_path, "class13Mapping.mat (40 -> 13); needed for --classes nyu13")
        ->check(CLI::ExistingFile);
    cmd->add_option("--out", o.out_dir, "output directory (rgb/, depth/, annotations.json)")->required();
    cmd->add_option("--split", args->split,
                    "frames to convert: train (795), test (654) or all (both, in train/ and test/)")
        ->capture_default_str()
        ->check(CLI::IsMember({"train", "test", "all"}));
    cmd->add_option("--classes", args->classes, "class set: nyu40-things (37 classes), nyu40 or nyu13")
        ->capture_default_str()
        ->check(CLI::IsMember({"nyu40-things", "nyu40", "nyu13"}));
    cmd->add_option("--depth", args->depth, "depth field: filled (`depths`, hole-filled) or raw (`rawDepths`)")
        ->capture_default_str()
        ->check(CLI::IsMember({"filled", "raw"}));
    cmd->add_option("--min-area-frac", o.min_area_frac,
                    "drop instances smaller than this fraction of the image (0.0025 = 768 px at 640x480)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 0.999999));
    cmd->add_flag("--force", o.force, "write into a non-empty output directory");
    add_common_options(*cmd, args->common, /*with_config=*/false);
    out.push_back({cmd, [args] { return run_convert_nyuv2(*args); }});
  }
  {
    auto args = std::make_shared<SeedArgs>();
    SeedConvertOptions& o = args->options;
    CLI::App* cmd = convert->add_subcommand(
        "seed", "the research code's format: JSON list of {image: [rgb, depth], annotation: mask} + label2id.json");
    cmd->footer(
        "Masks are read in OpenCV's BGR order: G = instance id (0 = none), R = class id (label2id.json, 0 =\n"
        "background). 16-bit depth is millimetres unless --depth-scale says otherwise; 8-bit depth has no\n"
        "known unit and needs --depth-scale (metres per stored unit).");
    cmd->add_option("--json", o.json_path, "the JSON list (train.json, valid_m.json, ...)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--label2id", o.label2id_path, "label2id.json ({class name: id}, background = 0)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--out", o.out_dir, "output directory (rgb/, depth/, annotations.json)")->required();
    cmd->add_option("--root", o.root,
                    "directory that relative paths in the JSON start from (default: the current directory, as the "
                    "research code resolves them)")
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--depth-scale", o.depth_scale,
                    "metres per stored depth unit (needed for 8-bit depth; default 0.001 for 16-bit)")
        ->check(positive_number());
    cmd->add_flag("--force", o.force, "write into a non-empty output directory");
    add_common_options(*cmd, args->common, /*with_config=*/false);
    out.push_back({cmd, [args] { return run_convert_seed(*args); }});
  }
}

}  // namespace rgbdseg::app
