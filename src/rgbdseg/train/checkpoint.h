#pragma once
// Training checkpoints: a directory holding
//   model.safetensors      the weights (Hugging Face key names + depth.*)
//   optimizer.safetensors  AdamW moments and step counts by parameter name
//   trainer_state.json     step, epoch, position in the epoch, best AP, seed
//   config.json            the resolved rgbdseg config, model.hf_config -> hf_config.json
//   hf_config.json         the Mask2Former config with the dataset's labels
// so that `rgbdseg eval --config DIR/config.json --weights DIR/model.safetensors`
// works on any checkpoint. A checkpoint is written into a temporary sibling
// directory and renamed into place: an interrupted write never leaves a
// half-written checkpoint under the final name (tests/apps/test_fault_injection.cpp
// kills training at every step of this with SIGKILL).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace rgbdseg::train {

struct TrainerState {
  int64_t step = 0;            // optimizer steps done
  int64_t epoch = 0;           // current epoch
  int64_t batch_in_epoch = 0;  // next batch of that epoch
  double best_ap = -1;
  int64_t best_step = -1;
  int64_t seed = 0;
  int64_t nonfinite_in_a_row = 0;
};

nlohmann::ordered_json state_to_json(const TrainerState& s);
TrainerState state_from_json(const nlohmann::json& j, const std::string& source);

struct CheckpointContents {
  std::vector<std::pair<std::string, at::Tensor>> model;
  std::vector<std::pair<std::string, at::Tensor>> optimizer;  // empty: weights only (best/)
  TrainerState state;
  nlohmann::ordered_json config;     // rgbdseg config (model.hf_config is rewritten to hf_config.json)
  nlohmann::ordered_json hf_config;  // Mask2Former config.json
};

void save_checkpoint(const std::string& dir, const CheckpointContents& contents);

// After a crash in save_checkpoint's swap (DIR moved to DIR.old, DIR.tmp not yet
// renamed), moves DIR.old back to DIR. Returns whether it did; a no-op otherwise.
bool recover_checkpoint(const std::string& dir);

// Reads trainer_state.json and optimizer.safetensors of `dir` (the weights are
// loaded by the caller through load_rgbd_weights). Errors name the file.
TrainerState load_trainer_state(const std::string& dir);
std::vector<std::pair<std::string, at::Tensor>> load_optimizer_state(const std::string& dir);

// A Hugging Face Mask2Former config.json re-labelled for a dataset: id2label,
// label2id, num_labels and rgbdseg_category_ids.
nlohmann::ordered_json relabelled_hf_config(nlohmann::ordered_json hf, const std::vector<int64_t>& category_ids,
                                            const std::vector<std::string>& names);

}  // namespace rgbdseg::train
