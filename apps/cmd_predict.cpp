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
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/convert_realsense.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/coco/rle.h"
#include "rgbdseg/io/image_header.h"
#include "rgbdseg/io/image_io.h"
#include "rgbdseg/io/realsense_bag.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/runtime/device.h"
#include "rgbdseg/runtime/runtime.h"
#include "rgbdseg/infer/inference.h"
#include "rgbdseg/viz/overlay.h"
#include "rgbdseg/train/build.h"

namespace rgbdseg::app {

namespace {

namespace fs = std::filesystem;

struct PredictArgs {
  CommonArgs common;
  std::string model, weights, rgb, depth, dir, data, bag, out;
  double max_skew_ms = -1;  // --bag: pairing limit (< 0: half the colour frame period)
  int every = 1;            // --bag: every Nth frame pair
  double threshold = -1;  // < 0: eval.predict_threshold of the config
  DepthArgs depth_args;
  bool force = false, class_agnostic = false;
};

bool is_image(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".tif" || e == ".tiff" || e == ".exr";
}

// An in-memory dataset of unannotated RGB-D pairs (absolute paths). Each
// depth file's encoding and scale are resolved now, from its header: a bad
// file fails before anything is written, and images.json records the units.
RgbdDataset pairs_dataset(const std::vector<std::pair<std::string, std::string>>& pairs, const DepthReadOptions& depth) {
  RgbdDataset ds;
  ds.path = "(images)";
  ds.root = "";
  ds.depth_read.min_depth = depth.min_depth;
  ds.depth_read.max_depth = depth.max_depth;
  int64_t id = 1;
  for (const auto& [rgb, depth_file] : pairs) {
    for (const auto& f : {rgb, depth_file}) {
      if (!file_exists(f)) throw Error(f + ": not found");
    }
    const ImageSize a = read_image_size(rgb), b = read_image_size(depth_file);
    if (a.height != b.height || a.width != b.width) {
      throw Error(depth_file + ": " + std::to_string(b.width) + "x" + std::to_string(b.height) + ", but " + rgb + " is " +
                  std::to_string(a.width) + "x" + std::to_string(a.height) + " (RGB and depth must be aligned)");
    }
    const DepthReadOptions resolved = resolve_depth_options(depth_file, depth);
    CocoImage img;
    img.id = id++;
    img.height = a.height;
    img.width = a.width;
    img.file_name = fs::absolute(rgb).string();
    img.depth_file = fs::absolute(depth_file).string();
    img.depth_scale = resolved.scale;
    img.depth_encoding = resolved.encoding;
    ds.coco.image_index[img.id] = ds.coco.images.size();
    ds.coco.images.push_back(img);
    ds.annotations_of_image.emplace_back();
  }
  return ds;
}

// FOLDER/rgb/NAME.* (or color/, colour/: NYUv2's and other datasets' name)
// paired with FOLDER/depth/NAME.* (as `rgbdseg synth` writes them).
std::vector<std::pair<std::string, std::string>> folder_pairs(const std::string& dir) {
  fs::path rgb_dir;
  for (const char* name : {"rgb", "color", "colour"}) {
    if (fs::is_directory(fs::path(dir) / name)) {
      rgb_dir = fs::path(dir) / name;
      break;
    }
  }
  const fs::path depth_dir = fs::path(dir) / "depth";
  if (rgb_dir.empty() || !fs::is_directory(depth_dir)) {
    throw Error(dir + ": expected subfolders rgb/ (or color/) and depth/ with images of the same names");
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

int run_predict(PredictArgs args) {
  apply_model_option(args.model, args.common, args.weights);
  const int sources = !args.rgb.empty() + !args.dir.empty() + !args.data.empty() + !args.bag.empty();
  if (sources != 1) throw UsageError("give exactly one of --rgb/--depth, --dir, --data or --bag");
  if (!args.rgb.empty() && args.depth.empty()) throw UsageError("--rgb needs --depth (the aligned depth image)");
  if (args.rgb.empty() && !args.depth.empty()) throw UsageError("--depth goes with --rgb");
  if (args.class_agnostic && args.data.empty()) {
    throw UsageError("--class-agnostic needs --data (it scores against a dataset's categories)");
  }
  const Config config = start_command("predict", args.common);
  resolve_device(config.runtime.device);  // a build without the device fails here, in one line
  const DepthReadOptions depth = apply_depth_flags(args.depth_args, depth_read_options(config));
  require_empty_output_dir(args.out, args.force);
  configure_runtime(config.runtime.threads);
  // Nothing half-written on failure: a failed run removes what it wrote.
  OutputDirGuard out(args.out);
  // Again under the folder's lock: a process that held it a moment ago may have filled it.
  require_empty_output_dir(args.out, args.force);
  RgbdDataset dataset;
  double video_fps = 0;
  if (!args.bag.empty()) {
    // A RealSense recording: its frame pairs as a dataset in OUT/frames (depth aligned to colour), then predicted.
    RealSenseExportOptions eo;
    eo.bag = args.bag;
    eo.out = (fs::path(args.out) / "frames").string();
    eo.max_skew_ms = args.max_skew_ms;
    eo.every = args.every;
    {
      ProgressBar bar("bag export", 0, "depth frames");
      export_realsense_bag(eo, bar.callback());
      bar.finish();
    }
    const RealSenseBag recording(args.bag);
    video_fps = recording.find_stream("Color")->fps / static_cast<double>(args.every);
    DatasetOptions o;
    o.threads = config.runtime.threads;
    dataset = load_rgbd_dataset(eo.out + "/annotations.json", o);
    dataset.depth_read = depth;
  } else if (!args.data.empty()) {
    DatasetOptions o;
    o.threads = config.runtime.threads;
    dataset = load_rgbd_dataset(args.data, o);
    dataset.depth_read = depth;
  } else if (!args.dir.empty()) {
    dataset = pairs_dataset(folder_pairs(args.dir), depth);
  } else {
    dataset = pairs_dataset({{args.rgb, args.depth}}, depth);
  }
  auto net = train::load_model_for_inference(config, args.weights);
  infer::LabelMap labels;
  if (args.class_agnostic) {
    // The model's own classes, whatever the dataset has: all become one.
    labels = infer::class_agnostic_labels(infer::model_label_map(net->options(), nullptr));
  } else {
    labels = infer::model_label_map(net->options(), args.data.empty() ? nullptr : &dataset.coco);
    const std::string mismatch = args.data.empty() ? "" : infer::category_mismatch(labels, dataset.coco);
    if (!mismatch.empty()) {
      RGBDSEG_LOG(Warn) << "predict: " << args.data << ": " << mismatch
                        << "; results carry the model's categories (--class-agnostic: all as one 'object')";
    }
  }

  infer::InferenceOptions io = train::inference_options(config);
  io.threshold = args.threshold >= 0 ? args.threshold : config.eval.predict_threshold;
  ProgressBar bar("predict", static_cast<int64_t>(dataset.coco.images.size()), "images");
  io.progress = bar.callback();
  PredictionTimes times;
  const PredictionSummary summary = write_predictions(*net, dataset, labels, io, args.out, &times);
  bar.finish();
  if (!args.bag.empty()) {
    // The overlays in frame order, as a video beside them.
    std::vector<std::string> overlays;
    for (const auto& name : prediction_names(dataset)) overlays.push_back((fs::path(args.out) / "overlays" / (name + ".png")).string());
    const std::string video = (fs::path(args.out) / "overlays.mp4").string();
    write_overlay_video(overlays, video, video_fps > 0 ? video_fps : 6.0);
    RGBDSEG_LOG(Info) << "predict: " << overlays.size() << " frames -> " << video;
  }
  out.commit();
  const double images = static_cast<double>(dataset.coco.images.size());
  char rate[320];
  std::snprintf(rate, sizeof rate,
                "%.0f images in %.2f s, %.2f images/s (per image: forward %.0f ms, post-processing %.0f ms, waiting for "
                "data %.0f ms; writing %.0f ms, beside inference)",
                images, times.total_s, images / std::max(times.total_s, 1e-9), 1e3 * times.inference.forward_s / images,
                1e3 * times.inference.postprocess_s / images, 1e3 * times.inference.data_wait_s / images,
                1e3 * times.writing_s / images);
  RGBDSEG_LOG(Info) << "predict: " << rate;
  RGBDSEG_LOG(Info) << "predict: " << dataset.coco.images.size() << " images, " << summary.instances
                    << " instances (score >= " << io.threshold << ")";
  std::printf("%s\n", summary.results_path.c_str());
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& parent) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = parent.add_subcommand("predict", "instance masks for RGB-D images: COCO results, overlays, id PNGs");
  cmd->add_option("--model", args->model,
                  "a shipped model by name (tabletop) or a folder with config.json + model.safetensors; "
                  "instead of --weights and --config");
  cmd->add_option("--weights", args->weights, "model.safetensors (e.g. OUT/best/model.safetensors), with --config")
      ->check(CLI::ExistingFile);
  cmd->add_option("--rgb", args->rgb, "one colour image (with --depth)");
  cmd->add_option("--depth", args->depth, "its aligned depth image (16-bit mm PNG or float TIFF in metres; see --depth-encoding)");
  cmd->add_option("--dir", args->dir, "a folder with rgb/NAME.png (or color/NAME.png) and depth/NAME.png pairs");
  cmd->add_option("--data", args->data, "a canonical dataset JSON");
  cmd->add_option("--bag", args->bag,
                  "a RealSense recording (.bag): its depth/colour pairs, depth aligned to colour, are written to "
                  "OUT/frames/ and predicted; OUT/overlays.mp4 shows the overlays in order")
      ->check(CLI::ExistingFile);
  cmd->add_option("--max-skew-ms", args->max_skew_ms,
                  "with --bag: pair frames at most this far apart in device time (default: half the colour frame period)");
  cmd->add_option("--every", args->every, "with --bag: every Nth frame pair")->capture_default_str()->check(positive_number());
  cmd->add_option("--out", args->out, "output directory")->required();
  cmd->add_option("--threshold", args->threshold,
                  "keep instances scoring at least this, in [0, 1] (default eval.predict_threshold, 0.5; `eval` keeps "
                  "every top-k instance, so its AP is higher than that of these results)")
      ->check(unit_interval());
  cmd->add_flag("--force", args->force, "write into a non-empty output directory");
  cmd->add_flag("--class-agnostic", args->class_agnostic,
                "with --data: every prediction as one category 'object' (unseen-object segmentation)");
  add_depth_options(*cmd, args->depth_args);
  add_device_option(*cmd, args->common);
  add_common_options(*cmd, args->common);
  return {cmd, [args] { return run_predict(*args); }};
}

}  // namespace rgbdseg::app
