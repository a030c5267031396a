// rgbdseg predict: instance masks for RGB-D images with trained weights.
// Writes OUT/results.json (COCO results: compressed RLE, boxes, scores),
// OUT/images.json (the images as a COCO file, so the two form a pair),
// OUT/overlays/NAME.png (masks, class names, scores on the image) and
// OUT/instances/NAME.png (16-bit instance ids, 0 = background, the higher
// score wins where masks overlap).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include <ATen/ATen.h>
#include <opencv2/core.hpp>

#include "commands.h"
#include "prediction_writer.h"
#include "plugins.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/eval/rle.h"
#include "rgbdseg/io/image_header.h"
#include "rgbdseg/io/image_io.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/runtime/runtime.h"
#include "rgbdseg/train/inference.h"
#include "rgbdseg/viz/overlay.h"

namespace rgbdseg::app {

namespace {

namespace fs = std::filesystem;

struct PredictArgs {
  CommonArgs common;
  std::string weights, rgb, depth, dir, data, out;
  double threshold = -1;  // < 0: eval.predict_threshold of the config
  double depth_scale = 0;  // 0: the encoding's default (16-bit PNG: mm; float TIFF: metres)
};

bool is_image(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".tif" || e == ".tiff" || e == ".exr";
}

// An in-memory dataset of unannotated RGB-D pairs (absolute paths).
RgbdDataset pairs_dataset(const std::vector<std::pair<std::string, std::string>>& pairs, double depth_scale) {
  RgbdDataset ds;
  ds.path = "(images)";
  ds.root = "";
  int64_t id = 1;
  for (const auto& [rgb, depth] : pairs) {
    for (const auto& f : {rgb, depth}) {
      if (!file_exists(f)) throw Error(f + ": not found");
    }
    const ImageSize a = read_image_size(rgb), b = read_image_size(depth);
    if (a.height != b.height || a.width != b.width) {
      throw Error(depth + ": " + std::to_string(b.width) + "x" + std::to_string(b.height) + ", but " + rgb + " is " +
                  std::to_string(a.width) + "x" + std::to_string(a.height) + " (RGB and depth must be aligned)");
    }
    CocoImage img;
    img.id = id++;
    img.height = a.height;
    img.width = a.width;
    img.file_name = fs::absolute(rgb).string();
    img.depth_file = fs::absolute(depth).string();
    img.depth_scale = depth_scale;
    ds.coco.image_index[img.id] = ds.coco.images.size();
    ds.coco.images.push_back(img);
    ds.annotations_of_image.emplace_back();
  }
  return ds;
}

// FOLDER/rgb/NAME.* paired with FOLDER/depth/NAME.* (as `rgbdseg synth` writes them).
std::vector<std::pair<std::string, std::string>> folder_pairs(const std::string& dir) {
  const fs::path rgb_dir = fs::path(dir) / "rgb", depth_dir = fs::path(dir) / "depth";
  if (!fs::is_directory(rgb_dir) || !fs::is_directory(depth_dir)) {
    throw Error(dir + ": expected subfolders rgb/ and depth/ with images of the same names");
  }
  std::vector<fs::path> rgbs;
  for (const auto& e : fs::directory_iterator(rgb_dir)) {
    if (e.is_regular_file() && is_image(e.path())) rgbs.push_back(e.path());
  }
  std::sort(rgbs.begin(), rgbs.end());
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : rgbs) {
    std::string depth;
    for (const char* ext : {".png", ".tif", ".tiff", ".exr"}) {
      const fs::path d = depth_dir / (r.stem().string() + ext);
      if (fs::exists(d)) {
        depth = d.string();
        break;
      }
    }
    if (depth.empty()) throw Error(r.string() + ": no depth image " + (depth_dir / r.stem()).string() + ".png/.tif");
    out.emplace_back(r.string(), depth);
  }
  if (out.empty()) throw Error(rgb_dir.string() + ": no images");
  return out;
}

std::string stem_of(const std::string& path) { return fs::path(path).stem().string(); }

int run_predict(const PredictArgs& args) {
  const Config config = start_command("predict", args.common);
  const int sources = !args.rgb.empty() + !args.dir.empty() + !args.data.empty();
  if (sources != 1) throw Error("predict: give exactly one of --rgb/--depth, --dir or --data");
  if (!args.rgb.empty() && args.depth.empty()) throw Error("predict: --rgb needs --depth (the aligned depth image)");
  configure_runtime(config.runtime.threads);
  RgbdDataset dataset;
  if (!args.data.empty()) {
    DatasetOptions o;
    o.threads = config.runtime.threads;
    dataset = load_rgbd_dataset(args.data, o);
  } else if (!args.dir.empty()) {
    dataset = pairs_dataset(folder_pairs(args.dir), args.depth_scale);
  } else {
    dataset = pairs_dataset({{args.rgb, args.depth}}, args.depth_scale);
  }
  auto net = model::load_model_for_inference(config, args.weights);
  const train::LabelMap labels = train::model_label_map(net->options(), args.data.empty() ? nullptr : &dataset.coco);

  train::InferenceOptions io = train::inference_options(config);
  io.threshold = args.threshold >= 0 ? args.threshold : config.eval.predict_threshold;
  const PredictionSummary summary = write_predictions(*net, dataset, labels, io, args.out);
  const std::string& results_path = summary.results_path;
  const int64_t instances_total = summary.instances;
  RGBDSEG_LOG(Info) << "predict: " << dataset.coco.images.size() << " images, " << instances_total << " instances (score >= "
                    << io.threshold << ")";
  std::printf("%s\n", results_path.c_str());
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& parent) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = parent.add_subcommand("predict", "instance masks for RGB-D images: COCO results, overlays, id PNGs");
  cmd->add_option("--weights", args->weights, "model.safetensors (e.g. OUT/best/model.safetensors)")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("--rgb", args->rgb, "one colour image (with --depth)");
  cmd->add_option("--depth", args->depth, "its aligned depth image (16-bit PNG in --depth-scale units, or float TIFF)");
  cmd->add_option("--dir", args->dir, "a folder with rgb/NAME.png and depth/NAME.png pairs");
  cmd->add_option("--data", args->data, "a canonical dataset JSON");
  cmd->add_option("--out", args->out, "output directory")->required();
  cmd->add_option("--threshold", args->threshold, "keep instances scoring at least this (default eval.predict_threshold, 0.5)");
  cmd->add_option("--depth-scale", args->depth_scale,
                  "metres per stored depth unit for --rgb/--dir (default: 0.001 for 16-bit PNG, 1 for float TIFF)");
  add_common_options(*cmd, args->common);
  return {cmd, [args] { return run_predict(*args); }};
}

}  // namespace rgbdseg::app
