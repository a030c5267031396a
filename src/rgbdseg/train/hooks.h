#pragma once
// The trainer's extension points. The loop (train/trainer.cpp) only takes
// steps; everything else it does is a hook that sees the run before the first
// step, after every step (taken or skipped) and at its end: progress, the
// JSON-lines log, the non-finite guard, periodic evaluation with the best
// checkpoint, periodic checkpoints. A new behaviour (an extra evaluation set,
// EMA weights) is one more hook (TrainRunOptions::hooks), not an edit of the loop.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rgbdseg/core/config.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/train/checkpoint.h"

namespace rgbdseg::train {

// What one optimizer step did.
struct StepOutcome {
  bool taken = false;  // false: skipped (non-finite loss), no update
  double loss = 0;     // mean over the step's micro-batches (and ranks)
  double lr = 0, grad_norm = 0;
  std::vector<std::pair<std::string, double>> losses;  // the final prediction set's raw terms
  int64_t images = 0;                                   // images the step consumed, all ranks
  double data_wait_s = 0;  // time the step waited for the loader's batches (this rank): > 0 means it starved
};

// The run as hooks see it.
struct TrainContext {
  const Config& config;
  TrainerState& state;  // step, epoch, best AP, ... (saved with every checkpoint)
  model::RgbdMask2FormerImpl& model;
  bool writer = true;   // rank 0: the one that logs and writes files
  std::string out_dir, last_dir, best_dir;
  std::function<void(const nlohmann::ordered_json& record)> log;            // a train.jsonl line (rank 0)
  std::function<void(const std::string& dir, bool with_optimizer)> save;    // a checkpoint of now (rank 0)
};

class TrainHook {
 public:
  virtual ~TrainHook() = default;
  virtual void before_train(TrainContext&) {}
  virtual void after_step(TrainContext&, const StepOutcome&) {}
  virtual void after_train(TrainContext&) {}  // a completed run only (not after an interruption)
};

}  // namespace rgbdseg::train
