#include "rgbdseg/train/checkpoint.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/fault_injection.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/model/weights.h"

namespace rgbdseg::train {

namespace fs = std::filesystem;

nlohmann::ordered_json state_to_json(const TrainerState& s) {
  nlohmann::ordered_json j;
  j["step"] = s.step;
  j["epoch"] = s.epoch;
  j["batch_in_epoch"] = s.batch_in_epoch;
  j["best_ap"] = s.best_ap;
  j["best_step"] = s.best_step;
  j["seed"] = s.seed;
  j["nonfinite_in_a_row"] = s.nonfinite_in_a_row;
  return j;
}

TrainerState state_from_json(const nlohmann::json& j, const std::string& source) {
  TrainerState s;
  try {
    s.step = j.at("step");
    s.epoch = j.at("epoch");
    s.batch_in_epoch = j.at("batch_in_epoch");
    s.best_ap = j.at("best_ap");
    s.best_step = j.at("best_step");
    s.seed = j.at("seed");
    s.nonfinite_in_a_row = j.value("nonfinite_in_a_row", 0);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": not a trainer state (" + e.what() + ")");
  }
  return s;
}

namespace {

SafetensorsFile to_file(const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  SafetensorsFile f;
  f.metadata["format"] = "pt";
  for (const auto& [name, t] : tensors) f.tensors.emplace(name, model::from_tensor(t.detach().cpu().contiguous()));
  return f;
}

}  // namespace

void save_checkpoint(const std::string& dir, const CheckpointContents& c) {
  const fs::path final_dir(dir), tmp = fs::path(dir + ".tmp"), old = fs::path(dir + ".old");
  std::error_code ec;
  fs::remove_all(tmp, ec);
  try {
    make_directories(tmp.string());
    write_safetensors((tmp / "model.safetensors").string(), to_file(c.model));
    if (!c.optimizer.empty()) write_safetensors((tmp / "optimizer.safetensors").string(), to_file(c.optimizer));
    write_file_atomic((tmp / "trainer_state.json").string(), state_to_json(c.state).dump(2) + "\n");
    auto config = c.config;
    config["model"]["hf_config"] = "hf_config.json";  // relative to config.json: the directory is self-contained
    write_file_atomic((tmp / "config.json").string(), config.dump(2) + "\n");
    write_file_atomic((tmp / "hf_config.json").string(), c.hf_config.dump(2) + "\n");
  } catch (...) {
    fs::remove_all(tmp, ec);  // a checkpoint that could not be written whole (disk full) leaves nothing
    throw;
  }
  fault_point("checkpoint:written");
  // Swap: the old checkpoint stays complete under .old until the new one is in
  // place; a process killed between the two renames is mended by recover_checkpoint.
  fs::remove_all(old, ec);
  if (fs::exists(final_dir)) {
    fs::rename(final_dir, old, ec);
    if (ec) throw Error(dir + ": cannot move the previous checkpoint aside (" + ec.message() + ")");
    fault_point("checkpoint:old_moved");
  }
  fs::rename(tmp, final_dir, ec);
  if (ec) throw Error(dir + ": cannot move the new checkpoint into place (" + ec.message() + ")");
  fault_point("checkpoint:swapped");
  fs::remove_all(old, ec);
}

bool recover_checkpoint(const std::string& dir) {
  const fs::path final_dir(dir), old = fs::path(dir + ".old");
  std::error_code ec;
  if (fs::exists(final_dir, ec) || !fs::exists(old / "trainer_state.json", ec)) return false;
  // Killed between moving the previous checkpoint aside and putting the new one
  // in place: the previous one is complete (.tmp may not be), so it comes back.
  fs::rename(old, final_dir, ec);
  if (ec) throw Error(dir + ": cannot restore the previous checkpoint from " + old.string() + " (" + ec.message() + ")");
  return true;
}

TrainerState load_trainer_state(const std::string& dir) {
  const std::string path = dir + "/trainer_state.json";
  if (!file_exists(path)) throw Error(path + ": not found (not a training checkpoint directory)");
  return state_from_json(nlohmann::json::parse(read_json_file(path).dump()), path);
}

std::vector<std::pair<std::string, at::Tensor>> load_optimizer_state(const std::string& dir) {
  const std::string path = dir + "/optimizer.safetensors";
  const SafetensorsFile f = read_safetensors(path);
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& [name, t] : f.tensors) out.emplace_back(name, model::to_tensor(t));
  return out;
}

nlohmann::ordered_json relabelled_hf_config(nlohmann::ordered_json hf, const std::vector<int64_t>& ids,
                                            const std::vector<std::string>& names) {
  nlohmann::ordered_json id2label = nlohmann::ordered_json::object(), label2id = nlohmann::ordered_json::object();
  for (size_t i = 0; i < names.size(); ++i) {
    id2label[std::to_string(i)] = names[i];
    label2id[names[i]] = i;
  }
  hf["id2label"] = id2label;
  hf["label2id"] = label2id;
  hf["num_labels"] = names.size();
  hf["rgbdseg_category_ids"] = ids;
  return hf;
}

}  // namespace rgbdseg::train
