// rgbdseg show: RGB | colourised depth | instance overlay PNGs for a dataset,
// so a person can check a conversion by eye.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/io/image_io.h"
#include "rgbdseg/viz/overlay.h"

namespace rgbdseg::app {

namespace {

struct ShowArgs {
  CommonArgs common;
  std::string data, out;
  int64_t num = 8;
  int64_t first = 0;
  bool force = false;
  DepthArgs depth_args;
};

int run_show(const ShowArgs& args) {
  const Config config = start_command("show", args.common);
  const DepthReadOptions depth = apply_depth_flags(args.depth_args, depth_read_options(config));
  require_empty_output_dir(args.out, args.force);
  DatasetOptions options;
  options.threads = config.runtime.threads;
  RgbdDataset ds = load_rgbd_dataset(args.data, options);
  ds.depth_read = depth;
  const size_t n = ds.coco.images.size();
  if (static_cast<size_t>(args.first) >= n) {
    throw Error(args.data + ": --first " + std::to_string(args.first) + " is past the last image (" +
                std::to_string(n) + " images)");
  }
  const size_t end = std::min(n, static_cast<size_t>(args.first + args.num));
  OutputDirGuard out(args.out);  // removed again if a picture cannot be made
  require_empty_output_dir(args.out, args.force);  // again, under the folder's lock
  ProgressBar bar("show", static_cast<int64_t>(end - args.first), "images");
  for (size_t i = static_cast<size_t>(args.first); i < end; ++i) {
    const CocoImage& img = ds.coco.images[i];
    const cv::Mat rgb = read_rgb(ds.rgb_path(i));
    const cv::Mat depth = read_depth(ds.depth_path(i), ds.depth_options(i));
    std::vector<LabelledMask> instances;
    for (size_t a : ds.annotations_of_image[i]) {
      const CocoObject& ann = ds.coco.annotations[a];
      const cv::Mat mask = decode_mask(ann.mask);
      const auto& cat = ds.coco.categories[ds.coco.category_index.at(ann.category_id)];
      instances.push_back({mask, cat.name + (ann.iscrowd ? " (crowd)" : "")});
    }
    // rgb/part2/mugs_no/3.png -> part2_mugs_no_3: unique and readable.
    std::filesystem::path rel(img.file_name);
    if (rel.begin() != rel.end() && *rel.begin() == "rgb") rel = rel.lexically_relative("rgb");
    std::string stem = rel.replace_extension().string();
    std::replace(stem.begin(), stem.end(), '/', '_');
    write_rgb_png(args.out + "/" + std::to_string(img.id) + "_" + stem + ".png", rgbd_panel(rgb, depth, instances));
    bar.advance();
  }
  bar.finish();
  out.commit();
  std::printf("%s\n", args.out.c_str());
  return 0;
}

}  // namespace

Command add_show_command(CLI::App& parent) {
  auto args = std::make_shared<ShowArgs>();
  CLI::App* cmd = parent.add_subcommand("show", "write RGB | depth | instances PNGs of a dataset to check it by eye");
  cmd->add_option("--data", args->data, "canonical dataset JSON")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", args->out, "output directory")->required();
  cmd->add_option("--num", args->num, "how many images")->capture_default_str()->check(positive_number());
  cmd->add_option("--first", args->first, "index of the first image (file order)")->capture_default_str()
      ->check(non_negative_number());
  cmd->add_flag("--force", args->force, "write into a non-empty output directory");
  add_depth_options(*cmd, args->depth_args);
  add_common_options(*cmd, args->common, /*with_config=*/false);
  return {cmd, [args] { return run_show(*args); }};
}

}  // namespace rgbdseg::app
