// rgbdseg eval: COCO mask AP of trained weights on a canonical dataset, at
// each image's original size (pycocotools-exact evaluation).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "plugins.h"
#include "rgbdseg/coco/coco_metrics.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/runtime/device.h"
#include "rgbdseg/runtime/runtime.h"
#include "rgbdseg/infer/inference.h"
#include "rgbdseg/train/build.h"

namespace rgbdseg::app {

namespace {

struct EvalArgs {
  CommonArgs common;
  std::string model, weights, data, json_out, protocol = "coco";
  bool class_agnostic = false;
  DepthArgs depth_args;
};

int run_eval(EvalArgs args) {
  apply_model_option(args.model, args.common, args.weights);
  const Config config = start_command("eval", args.common);
  resolve_device(config.runtime.device);  // a build without the device fails here, in one line
  const std::string data = args.data.empty() ? config.data.val : args.data;
  if (data.empty()) throw UsageError("no dataset (--data D.json, or data.val in the config)");
  if (!args.json_out.empty()) require_writable_output_file(args.json_out);
  const DepthReadOptions depth = apply_depth_flags(args.depth_args, depth_read_options(config));
  configure_runtime(config.runtime.threads);
  DatasetOptions dataset_options;
  dataset_options.threads = config.runtime.threads;
  RgbdDataset dataset = load_rgbd_dataset(data, dataset_options);
  dataset.depth_read = depth;
  auto net = train::load_model_for_inference(config, args.weights);
  infer::LabelMap labels;
  if (args.class_agnostic) {
    // Unseen-object segmentation: any mask that covers an object counts,
    // whatever its class; the model's own classes all become one.
    labels = infer::class_agnostic_labels(infer::model_label_map(net->options(), nullptr));
    dataset.coco = infer::class_agnostic_ground_truth(dataset.coco);
  } else {
    labels = infer::model_label_map(net->options(), &dataset.coco);
    const std::string mismatch = infer::category_mismatch(labels, dataset.coco);
    if (!mismatch.empty()) {
      RGBDSEG_LOG(Warn) << "eval: " << data << ": " << mismatch
                        << "; AP compares mismatched categories (--class-agnostic scores all as one 'object')";
    }
  }
  infer::InferenceOptions io = train::inference_options(config);
  if (args.protocol == "seed") {
    // The research code's numbers: 640x640 warped input, HF's 384x384 mask
    // scoring, ground truth warped to 640x640 (areas at that size).
    io.short_side = 0;
    io.warp_height = io.warp_width = 640;
    io.hf_resize = 384;
  }
  CocoEvalParams params;
  params.num_threads = config.runtime.threads;
  params.use_cats = config.eval.use_cats;
  ProgressBar bar("inference", static_cast<int64_t>(dataset.coco.images.size()), "images");
  io.progress = bar.callback();
  const auto r = infer::evaluate_dataset(*net, dataset, labels, io, params);
  bar.finish();
  // The file first: if it cannot be written (disk full), the command fails before printing results.
  if (!args.json_out.empty()) {
    nlohmann::ordered_json j = coco_metrics_json(r.coco);
    j["dataset"] = data;
    j["weights"] = args.weights;
    j["variant"] = config.model.variant;
    j["protocol"] = args.protocol;
    j["class_agnostic"] = args.class_agnostic;
    j["images"] = dataset.coco.images.size();
    j["detections"] = r.detections.size();
    write_file_atomic(args.json_out, j.dump(2) + "\n");
  }
  for (const auto& line : r.coco.summary_lines) std::printf("%s\n", line.c_str());
  if (!args.json_out.empty()) {
    RGBDSEG_LOG(Info) << "eval: wrote " << args.json_out;
  }
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& parent) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = parent.add_subcommand("eval", "COCO mask AP of trained weights on a dataset (original image sizes)");
  cmd->add_option("--model", args->model,
                  "a shipped model by name (tabletop) or a folder with config.json + model.safetensors; "
                  "instead of --weights and --config");
  cmd->add_option("--weights", args->weights, "model.safetensors (e.g. OUT/best/model.safetensors), with --config")
      ->check(CLI::ExistingFile);
  cmd->add_option("--data", args->data, "canonical dataset JSON (default: data.val of the config)");
  cmd->add_option("--protocol", args->protocol,
                  "coco: original image sizes (default); seed: the research code's protocol (640x640 warped, "
                  "384x384 mask scoring), for comparison with its numbers")
      ->capture_default_str()->check(CLI::IsMember({"coco", "seed"}));
  cmd->add_flag("--class-agnostic", args->class_agnostic,
                "score every prediction and ground-truth object as one category 'object' (unseen-object "
                "segmentation, e.g. a synthetic-shapes model on COTS)");
  add_depth_options(*cmd, args->depth_args);
  cmd->add_option("--json", args->json_out, "write {stats: [12 numbers, pycocotools order], stats_names, per_category: [{id, name, AP, AP50, AP75}]} here");
  add_device_option(*cmd, args->common);
  add_common_options(*cmd, args->common);
  return {cmd, [args] { return run_eval(*args); }};
}

}  // namespace rgbdseg::app
