#pragma once
// The training loop: data (sharded across ranks), the RGB-D model of the
// configured variant, Mask2Former's criterion, AdamW with a backbone learning
// rate multiplier and a warm-up schedule, gradient clipping and accumulation,
// bf16 autocast, periodic COCO evaluation with the best checkpoint kept,
// atomic checkpoints (periodic, at the end, and on SIGINT/SIGTERM), exact
// resume, and JSON-lines logs. Rank 0 writes; every rank computes.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include "rgbdseg/core/config.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/train/hooks.h"
#include "rgbdseg/core/depth_encoding.h"

namespace rgbdseg::train {

// Averages gradients (and scalars) across processes; null for one process.
class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // In place: every tensor becomes the mean over ranks.
  virtual void average(std::vector<at::Tensor>& tensors) = 0;
};

struct TrainRunOptions {
  std::string out_dir;
  bool resume = false;
  bool force = false;  // start over in a non-empty out_dir (its last/ and best/ are removed); else refused
  // Run after the built-in hooks (progress, log, non-finite guard, evaluation, checkpoints).
  std::vector<std::shared_ptr<TrainHook>> hooks;
  // How the datasets' depth files are read; unset: the config's (depth_read_options(config)).
  std::optional<DepthReadOptions> depth_read;
  std::shared_ptr<GradientReducer> reducer;  // null: single process
  bool handle_signals = true;                // SIGINT/SIGTERM: checkpoint, then stop
  ProgressCallback progress;  // (steps done, max_steps), rank 0 only; the program draws the bar; null = none
  // Stop as a signal would after this many steps in this run (0 = never):
  // a deterministic interruption, for tests and for time-sliced jobs.
  int64_t stop_after_steps = 0;
};

struct TrainResult {
  int64_t steps = 0;
  double final_loss = 0;
  double best_ap = -1;
  int64_t best_step = -1;
  bool interrupted = false;
  std::string last_checkpoint, best_checkpoint;
};

TrainResult train_model(const Config& config, const TrainRunOptions& options);

// Set by the signal handler; exposed so tests can simulate an interruption.
void request_stop();

// --resume after a SIGKILL during a checkpoint's swap: OUT/last and OUT/best come
// back from their .old copies (recover_checkpoint). train_model calls it when it
// runs alone; a launcher of several ranks calls it once before starting them.
void recover_run_checkpoints(const std::string& out_dir);

}  // namespace rgbdseg::train
