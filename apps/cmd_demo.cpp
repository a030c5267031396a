// rgbdseg demo: the main job on the embedded default data, end to end.
//
// Today (foundation stage) it generates synthetic RGB-D scenes, reads every
// image back through the depth IO and the dataset loader, and runs COCO
// evaluation twice: the ground truth as its own results (must give AP = 1),
// and the ground truth shifted by a few pixels (how AP reacts to misaligned
// masks). Training, prediction and the model join as they land.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/data/synthetic_scenes.h"
#include "rgbdseg/eval/coco_eval.h"
#include "rgbdseg/io/image_io.h"

namespace rgbdseg::app {

SynthSummary run_synth_into(const std::string& out, int64_t num, const SynthOptions& options, int threads, bool force);

namespace {

struct DemoArgs {
  CommonArgs common;
  std::string out = "rgbdseg-demo";
  int64_t num = 24;
  uint64_t seed = 1;
};

// Every image through the dataset loader (files, sizes) and the depth reader.
void check_images(const RgbdDataset& ds) {
  ProgressBar bar("demo: reading back", static_cast<int64_t>(ds.coco.images.size()), "images");
  for (size_t i = 0; i < ds.coco.images.size(); ++i) {
    const cv::Mat rgb = read_rgb(ds.rgb_path(i));
    DepthReadOptions depth_options;
    depth_options.scale = ds.coco.images[i].depth_scale;
    const cv::Mat depth = read_depth(ds.depth_path(i), depth_options);
    check_same_size(rgb, ds.rgb_path(i), depth, ds.depth_path(i));
    bar.advance();
  }
}

// The ground truth as detections, optionally shifted right/down by `shift` px.
std::vector<CocoObject> gt_as_results(const CocoGroundTruth& gt, int shift) {
  std::vector<CocoObject> out;
  for (const auto& a : gt.annotations) {
    CocoObject d = a;
    d.id = static_cast<int64_t>(out.size() + 1);
    d.score = 1.0 - 0.001 * static_cast<double>(out.size() % 100);
    if (shift != 0) {
      std::vector<uint8_t> px = rle_decode(a.mask), moved(px.size(), 0);
      const int64_t h = a.mask.h, w = a.mask.w;
      for (int64_t y = 0; y + shift < h; ++y)
        for (int64_t x = 0; x + shift < w; ++x) moved[static_cast<size_t>((y + shift) * w + x + shift)] = px[static_cast<size_t>(y * w + x)];
      d.mask = rle_encode(moved.data(), h, w);
    }
    d.area = static_cast<double>(rle_area(d.mask));
    d.bbox = rle_to_bbox(d.mask);
    out.push_back(std::move(d));
  }
  return out;
}

int run_demo(const DemoArgs& args) {
  const Config config = start_command("demo", args.common);
  const std::string data_dir = args.out + "/data";
  SynthOptions options;
  options.seed = args.seed;
  // The demo owns its output folder: re-running it regenerates the data in place.
  const SynthSummary synth = run_synth_into(data_dir, args.num, options, config.runtime.threads, /*force=*/true);

  DatasetOptions dataset_options;
  dataset_options.threads = config.runtime.threads;
  dataset_options.strict = true;  // our own generator must produce a spotless dataset
  const RgbdDataset ds = load_rgbd_dataset(synth.annotations_path, dataset_options);
  check_images(ds);
  const CocoGroundTruth& gt = ds.coco;

  CocoEvalParams params;
  params.num_threads = config.runtime.threads;
  const CocoEvalResult self = CocoEvaluator(gt, gt_as_results(gt, 0), params).run();
  if (self.stats[0] != 1.0 && std::fabs(self.stats[0] - 1.0) > 1e-12) {
    throw Error("demo: evaluation self-check failed: ground truth scored AP " + std::to_string(self.stats[0]));
  }
  const CocoEvalResult shifted = CocoEvaluator(gt, gt_as_results(gt, 3), params).run();

  nlohmann::ordered_json metrics;
  metrics["dataset"] = synth.annotations_path;
  metrics["images"] = gt.images.size();
  metrics["instances"] = gt.annotations.size();
  metrics["ground_truth_as_results"]["stats"] = std::vector<double>(self.stats.begin(), self.stats.end());
  metrics["shifted_3px"]["stats"] = std::vector<double>(shifted.stats.begin(), shifted.stats.end());
  const std::string metrics_path = args.out + "/metrics.json";
  write_file_atomic(metrics_path, metrics.dump(2) + "\n");

  std::printf("rgbdseg demo: %zu synthetic RGB-D scenes, %zu instances\n", gt.images.size(), gt.annotations.size());
  std::printf("  ground truth as results: mask AP %.3f (self-check)\n", self.stats[0]);
  std::printf("  ground truth shifted by 3 px: mask AP %.3f, AP50 %.3f, AP75 %.3f\n", shifted.stats[0],
              shifted.stats[1], shifted.stats[2]);
  std::printf("  dataset  %s\n  metrics  %s\n", synth.annotations_path.c_str(), metrics_path.c_str());
  std::printf("  (training and prediction join the demo as the model lands)\n");
  return 0;
}

}  // namespace

Command add_demo_command(CLI::App& parent) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* cmd = parent.add_subcommand("demo", "synthetic RGB-D scenes -> dataset -> evaluation, end to end");
  cmd->add_option("--out", args->out, "output directory")->capture_default_str();
  cmd->add_option("--num", args->num, "number of synthetic scenes")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "random seed")->capture_default_str();
  add_common_options(*cmd, args->common, /*with_config=*/false);
  return {cmd, [args] { return run_demo(*args); }};
}

}  // namespace rgbdseg::app
