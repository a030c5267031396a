// rgbdseg demo: the main job on built-in data, end to end, from a fresh clone:
// synthetic RGB-D scenes (train and held-out), training of the paper's model
// (`full`: DGGM + E-DSAM) in a CPU-sized configuration, COCO mask AP on the
// held-out scenes, predictions with overlays, and training curves.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "demo_configs.h"
#include "plugins.h"
#include "prediction_writer.h"
#include "rgbdseg/coco/coco_metrics.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/data/synthetic_scenes.h"
#include "rgbdseg/runtime/device.h"
#include "rgbdseg/runtime/runtime.h"
#include "rgbdseg/infer/inference.h"
#include "rgbdseg/train/distributed.h"
#include "rgbdseg/train/launcher.h"
#include "rgbdseg/train/trainer.h"
#include "rgbdseg/viz/curves.h"
#include "rgbdseg/viz/training_log.h"
#include "rgbdseg/io/image_io.h"
#include "rgbdseg/train/build.h"

namespace rgbdseg::app {

SynthSummary run_synth_into(const std::string& out, int64_t num, const SynthOptions& options, int threads, bool force);

namespace {

struct DemoArgs {
  CommonArgs common;
  std::string out = "rgbdseg-demo";
  int64_t num_train = 5200, num_val = 24;  // each training scene seen once
  std::string size = "240x320";
  uint64_t seed = 1;
  int nproc = 1;
  bool force = false;
};

// --nproc N needs Gloo and a batch that splits into N equal parts.
void check_process_split(const Config& config, int nproc) {
  if (nproc <= 1) return;
  if (config.data.batch_size % nproc != 0) {
    throw UsageError("--nproc " + std::to_string(nproc) + ": data.batch_size " +
                     std::to_string(config.data.batch_size) + " must split evenly over the processes");
  }
  if (!train::distributed_available()) {
    throw Error("--nproc " + std::to_string(nproc) +
                ": this build's LibTorch has no Gloo (c10d), so multi-process training is unavailable");
  }
}

// Trains in `nproc` data-parallel processes (`rgbdseg train --nproc`, the
// global batch and the threads split evenly) and reads back what they wrote.
train::TrainResult train_in_processes(const Config& config, const std::string& config_path,
                                      const std::vector<std::string>& overrides, const DemoArgs& args,
                                      const std::string& train_dir) {
  const int nproc = args.nproc;
  const int batch = config.data.batch_size;
  std::vector<std::string> command{"train", "--config", config_path, "--out", train_dir, "--force",
                                   "--device", config.runtime.device.name()};
  if (args.common.verbose) command.push_back("-v");
  if (args.common.quiet) command.push_back("-q");
  for (const auto& s : overrides) command.insert(command.end(), {"--set", s});
  command.insert(command.end(), {"--set", "data.batch_size=" + std::to_string(batch / nproc)});
  const int code = train::launch_local_workers(nproc, config.runtime.threads, command);
  train::TrainResult result;
  result.interrupted = code == 130;
  if (code != 0 && !result.interrupted) throw Error("demo: training failed (exit status " + std::to_string(code) + ")");
  result.last_checkpoint = train_dir + "/last";
  const auto state = nlohmann::json::parse(read_file(result.last_checkpoint + "/trainer_state.json"));
  result.steps = state.at("step").get<int64_t>();
  if (std::filesystem::exists(train_dir + "/best/model.safetensors")) result.best_checkpoint = train_dir + "/best";
  return result;
}

int run_demo(const DemoArgs& args) {
  const auto t0 = std::chrono::steady_clock::now();
  Config base = start_command("demo", args.common);
  resolve_device(base.runtime.device);  // a build without the device fails here, in one line
  const auto [h, w] = parse_size(args.size);
  require_empty_output_dir(args.out, args.force, "an earlier demo? pass --force to replace its outputs");
  configure_runtime(base.runtime.threads);
  namespace fs = std::filesystem;
  const fs::path out(args.out);
  if (args.force) fs::remove_all(out / "predictions");  // no stale overlays among the new ones

  // 1. The recipe (configs/demo.json, embedded), written beside the outputs so
  // it can be reused, and checked with the --set overrides before anything long runs.
  fs::create_directories(out / "configs" / "hf");
  const std::string recipe = (out / "configs" / "demo.json").string();
  write_file_atomic(recipe, kDemoConfig);
  write_file_atomic((out / "configs" / "hf" / "demo-tiny.json").string(), kDemoHfConfig);
  check_process_split(load_config(recipe, args.common.set), args.nproc);

  // 2. Data: training scenes and held-out scenes from another seed.
  SynthOptions synth;
  synth.height = h;
  synth.width = w;
  synth.seed = args.seed;
  const SynthSummary train_data = run_synth_into((out / "data" / "train").string(), args.num_train, synth, base.runtime.threads, true);
  synth.seed = args.seed + 1000;
  const SynthSummary val_data = run_synth_into((out / "data" / "val").string(), args.num_val, synth, base.runtime.threads, true);
  std::vector<std::string> overrides{"data.train=" + train_data.annotations_path, "data.val=" + val_data.annotations_path};
  for (const auto& s : args.common.set) overrides.push_back(s);
  Config config = load_config(recipe, overrides);
  config.runtime = base.runtime;

  // 3. Training, in this process or in --nproc data-parallel ones.
  train::TrainRunOptions run;
  run.out_dir = (out / "train").string();
  run.force = args.force;
  train::TrainResult trained;
  if (args.nproc > 1) {
    trained = train_in_processes(config, recipe, overrides, args, run.out_dir);
  } else {
    ProgressBar train_bar("train", config.train.max_steps, "steps");
    run.progress = train_bar.callback();
    trained = train::train_model(config, run);
    train_bar.finish();
  }
  if (trained.interrupted) {
    std::printf("rgbdseg demo: interrupted; the training checkpoint is in %s\n", trained.last_checkpoint.c_str());
    return 130;
  }

  // 4. Held-out evaluation with the best weights, 5. predictions, 6. curves.
  const std::string best = trained.best_checkpoint + "/model.safetensors";
  const Config best_config = load_config(trained.best_checkpoint + "/config.json");
  auto net = train::load_model_for_inference(best_config, best);
  DatasetOptions dataset_options;
  dataset_options.threads = config.runtime.threads;
  RgbdDataset val = load_rgbd_dataset(val_data.annotations_path, dataset_options);
  val.depth_read = depth_read_options(best_config);
  const infer::LabelMap labels = infer::model_label_map(net->options(), &val.coco);
  infer::InferenceOptions io = train::inference_options(best_config);  // at the recorded training size
  CocoEvalParams params;
  params.num_threads = config.runtime.threads;
  const int64_t val_images = static_cast<int64_t>(val.coco.images.size());
  ProgressBar eval_bar("inference", val_images, "images");
  io.progress = eval_bar.callback();
  const auto evaluation = infer::evaluate_dataset(*net, val, labels, io, params);
  eval_bar.finish();
  io.threshold = config.eval.predict_threshold;
  ProgressBar predict_bar("predict", val_images, "images");
  io.progress = predict_bar.callback();
  const auto predictions = write_predictions(*net, val, labels, io, (out / "predictions").string());
  predict_bar.finish();
  const std::string curves = (out / "curves.png").string();
  write_rgb_png(curves, draw_training_curves(read_training_log(run.out_dir + "/train.jsonl")));

  const auto& s = evaluation.coco.stats;
  nlohmann::ordered_json metrics = coco_metrics_json(evaluation.coco);
  metrics["variant"] = config.model.variant;
  metrics["train_images"] = args.num_train;
  metrics["heldout_images"] = args.num_val;
  metrics["steps"] = trained.steps;
  const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60.0;
  metrics["minutes"] = minutes;
  const std::string metrics_path = (out / "metrics.json").string();
  write_file_atomic(metrics_path, metrics.dump(2) + "\n");

  std::printf("rgbdseg demo: %s model trained for %lld steps on %lld synthetic RGB-D scenes in %.1f min\n",
              config.model.variant.name(), static_cast<long long>(trained.steps), static_cast<long long>(args.num_train),
              minutes);
  std::printf("  held-out scenes: %lld, mask AP %.3f, AP50 %.3f, AP75 %.3f (COCO, pycocotools-exact)\n",
              static_cast<long long>(args.num_val), s[0], s[1], s[2]);
  std::printf("  weights      %s\n", best.c_str());
  std::printf("  metrics      %s\n", metrics_path.c_str());
  std::printf("  predictions  %s (overlays/, instances/, results.json)\n", (out / "predictions").string().c_str());
  std::printf("  curves       %s\n", curves.c_str());
  std::printf("  training log %s/train.jsonl\n", run.out_dir.c_str());
  return 0;
}

}  // namespace

Command add_demo_command(CLI::App& parent) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "demo", "synthetic RGB-D scenes -> train the full model -> held-out COCO AP -> predictions and curves");
  cmd->add_option("--out", args->out, "output directory")->capture_default_str();
  cmd->add_option("--num", args->num_train, "training scenes")->capture_default_str()->check(positive_number());
  cmd->add_option("--num-val", args->num_val, "held-out scenes")->capture_default_str()->check(positive_number());
  cmd->add_option("--size", args->size, "scene size HxW")->capture_default_str();
  cmd->add_option("--seed", args->seed, "random seed of the scenes")->capture_default_str();
  cmd->add_option("--nproc", args->nproc,
                  "train in this many data-parallel processes (rgbdseg train --nproc), the batch and the threads "
                  "split evenly; 1 = in this process")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_flag("--force", args->force, "replace the outputs of an earlier demo in --out");
  add_device_option(*cmd, args->common);
  add_common_options(*cmd, args->common);
  return {cmd, [args] { return run_demo(*args); }};
}

}  // namespace rgbdseg::app
