// rgbdseg train: train a model variant on a canonical RGB-D dataset (see
// train/trainer.h). Checkpoints go to OUT/last (with the optimizer, for
// --resume) and the best weights by validation mask AP to OUT/best.
#include <cstdio>

#include "commands.h"
#include "plugins.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/runtime/runtime.h"
#include "rgbdseg/train/trainer.h"

namespace rgbdseg::app {

namespace {

struct TrainArgs {
  CommonArgs common;
  std::string out, init;
  bool resume = false;
  int nproc = 1;
  int64_t stop_after = 0;
};

int run_train(const TrainArgs& args) {
  Config config = start_command("train", args.common);
  if (!args.init.empty()) config.train.init = args.init;
  if (args.nproc != 1) {
    throw Error("--nproc " + std::to_string(args.nproc) +
                ": multi-process training is not available in this build yet (see the README)");
  }
  const int threads = configure_runtime(config.runtime.threads);
  RGBDSEG_LOG(Info) << "train: " << system_info() << "; variant " << config.model.variant;
  (void)threads;
  train::TrainRunOptions run;
  run.out_dir = args.out;
  run.resume = args.resume;
  run.stop_after_steps = args.stop_after;
  const auto r = train::train_model(config, run);
  if (r.interrupted) {
    std::printf("%s\n", r.last_checkpoint.c_str());
    return 130;  // like a shell's SIGINT exit status: stopped, resumable
  }
  std::printf("%s/model.safetensors\n", r.best_checkpoint.c_str());
  RGBDSEG_LOG(Info) << "train: " << r.steps << " steps, final loss " << r.final_loss
                    << (r.best_ap >= 0 ? ", best val mask AP " + std::to_string(r.best_ap) : std::string());
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& parent) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = parent.add_subcommand("train", "train a model (variant from the config) on a canonical RGB-D dataset");
  cmd->add_option("--out", args->out, "output directory: last/, best/, train.jsonl, config.json")->required();
  cmd->add_flag("--resume", args->resume, "continue from OUT/last exactly where it stopped");
  cmd->add_option("--init", args->init,
                  "initial weights: hf:CONFIG.json,WEIGHTS.safetensors (a Hugging Face Mask2Former; new class head) "
                  "or one of our .safetensors (overrides train.init)");
  cmd->add_option("--nproc", args->nproc, "processes for data-parallel training")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--stop-after", args->stop_after,
                  "stop like SIGINT after this many steps of this run: checkpoint, exit 130 (resume with --resume)")
      ->check(CLI::NonNegativeNumber);
  add_common_options(*cmd, args->common);
  return {cmd, [args] { return run_train(*args); }};
}

}  // namespace rgbdseg::app
