// rgbdseg train: train a model variant on a canonical RGB-D dataset (see
// train/trainer.h). Checkpoints go to OUT/last (with the optimizer, for
// --resume) and the best weights by validation mask AP to OUT/best.
//
// Data parallel: `--nproc N` starts N copies of this command (train/launcher.h)
// that meet on loopback, like torchrun would; a process started with RANK and
// WORLD_SIZE in its environment (torchrun, or those children) joins that group.

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "plugins.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/runtime/device.h"
#include "rgbdseg/runtime/runtime.h"
#include "rgbdseg/train/distributed.h"
#include "rgbdseg/train/launcher.h"
#include "rgbdseg/train/trainer.h"

namespace rgbdseg::app {

namespace {

struct TrainArgs {
  CommonArgs common;
  std::string out, init;
  bool resume = false, force = false;
  int nproc = 1;
  int64_t stop_after = 0;
  DepthArgs depth_args;
};

// ---- one process (a rank of a group, or alone) ----

int run_train(const TrainArgs& args) {
  if (args.resume && args.force) throw UsageError("--resume and --force: give one (continue the run, or start over)");
  Config config = start_command("train", args.common);
  resolve_device(config.runtime.device);  // a build without the device fails here, in one line
  if (!args.init.empty()) config.train.init = absolute_init_paths(args.init, std::filesystem::current_path().string());
  const auto group = train::distributed_options_from_environment();
  if (args.nproc > 1) {
    if (group) {
      throw Error("--nproc " + std::to_string(args.nproc) + ": this process is already rank " +
                  std::to_string(group->rank) + " of " + std::to_string(group->world_size) +
                  " (RANK/WORLD_SIZE are set, e.g. by torchrun); drop --nproc");
    }
    if (!train::distributed_available()) {
      throw Error("--nproc " + std::to_string(args.nproc) +
                  ": this build's LibTorch has no Gloo (c10d), so multi-process training is unavailable");
    }
    train::check_distributed_device(resolve_device(config.runtime.device));
    // Checked here too, so a refusal is one line rather than one per rank.
    if (!args.resume) require_empty_output_dir(args.out, args.force, "a previous run? --resume continues it, --force starts over in it");
    else train::recover_run_checkpoints(args.out);  // before the ranks start reading it
    return train::launch_local_workers(args.nproc, config.runtime.threads);
  }
  const int rank = group ? group->rank : 0;
  // Rank 0 reports; the others only warn (and fail loudly).
  if (rank != 0 && log_level() == LogLevel::Info) set_log_level(LogLevel::Warn);
  const int threads = configure_runtime(config.runtime.threads);
  (void)threads;
  RGBDSEG_LOG(Info) << "train: " << system_info() << "; variant " << config.model.variant
                    << (group ? "; rank " + std::to_string(rank) + " of " + std::to_string(group->world_size) + " (Gloo, " +
                                    group->master_addr + ":" + std::to_string(group->master_port) + ")"
                              : std::string());
  train::TrainRunOptions run;
  run.out_dir = args.out;
  run.resume = args.resume;
  run.force = args.force;
  run.depth_read = apply_depth_flags(args.depth_args, depth_read_options(config));
  run.stop_after_steps = args.stop_after;
  std::optional<ProgressBar> bar;  // rank 0 reports
  if (rank == 0) {
    bar.emplace("train", config.train.max_steps, "steps");
    run.progress = bar->callback();
  }
  if (group) run.reducer = train::make_reducer(*group, resolve_device(config.runtime.device));
  const auto r = train::train_model(config, run);
  if (bar) bar->finish();
  if (r.interrupted) {
    if (rank == 0) std::printf("%s\n", r.last_checkpoint.c_str());
    return 130;  // like a shell's SIGINT exit status: stopped, resumable
  }
  if (rank != 0) return 0;  // results are rank 0's to report
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
  cmd->add_flag("--force", args->force, "start over in a non-empty OUT (its last/ and best/ are removed)");
  cmd->add_option("--init", args->init,
                  "initial weights: hf:CONFIG.json,WEIGHTS.safetensors (a Hugging Face Mask2Former; new class head) "
                  "or one of our .safetensors (overrides train.init)");
  cmd->add_option("--nproc", args->nproc,
                  "data-parallel processes on this machine (data.batch_size is per process; rank 0 writes); "
                  "torchrun-style RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT also work")
      ->capture_default_str()
      ->check(positive_number());
  cmd->add_option("--stop-after", args->stop_after,
                  "stop like SIGINT after this many steps of this run: checkpoint, exit 130 (resume with --resume)")
      ->check(non_negative_number());
  add_depth_options(*cmd, args->depth_args);
  add_device_option(*cmd, args->common);
  add_common_options(*cmd, args->common);
  return {cmd, [args] { return run_train(*args); }};
}

}  // namespace rgbdseg::app
