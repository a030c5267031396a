#include "rgbdseg/train/trainer.h"

#include <ATen/ATen.h>
#include "rgbdseg/model/autocast.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rgbdseg/coco/coco_metrics.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/memory.h"
#include "rgbdseg/core/progress.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/data/loader.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/runtime/device.h"
#include "rgbdseg/train/adamw.h"
#include "rgbdseg/train/build.h"
#include "rgbdseg/train/checkpoint.h"
#include "rgbdseg/train/criterion.h"
#include "rgbdseg/infer/inference.h"
#include "rgbdseg/train/lr_schedule.h"
#include "rgbdseg/infer/model_input.h"

namespace rgbdseg::train {

// The trainer evaluates and builds model inputs with infer/.
using infer::evaluate_dataset;
using infer::InferenceOptions;
using infer::label_map_of;
using infer::LabelMap;
using infer::make_model_input;
using infer::ModelInput;

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop = true; }

// Restores the previous handlers when training ends.
class SignalGuard {
 public:
  explicit SignalGuard(bool active) : active_(active) {
    if (!active_) return;
    old_int_ = std::signal(SIGINT, on_stop_signal);
    old_term_ = std::signal(SIGTERM, on_stop_signal);
  }
  ~SignalGuard() {
    if (!active_) return;
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }

 private:
  bool active_;
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

struct InitSpec {
  std::string hf_config;  // architecture (and labels) of the Mask2Former part
  std::string weights;    // "" = fresh initialisation
};

// "hf:CONFIG,WEIGHTS" | "WEIGHTS.safetensors" | "".
InitSpec parse_init(const std::string& init, const std::string& config_hf) {
  InitSpec s{config_hf, ""};
  if (init.rfind("hf:", 0) == 0) {
    const std::string rest = init.substr(3);
    const auto comma = rest.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == rest.size()) {
      throw Error("--init " + init + ": expected hf:CONFIG.json,WEIGHTS.safetensors");
    }
    s.hf_config = rest.substr(0, comma);
    s.weights = rest.substr(comma + 1);
  } else {
    s.weights = init;
  }
  if (s.hf_config.empty()) {
    throw Error("config: /model/hf_config is not set and --init names no Hugging Face config (hf:CONFIG,WEIGHTS)");
  }
  for (const auto& f : {s.hf_config, s.weights}) {
    if (!f.empty() && !file_exists(f)) throw Error(f + ": not found (--init / model.hf_config)");
  }
  return s;
}

// The short side the model sees in training at scale 1: the middle of the
// short-side choices, the fixed size, or (no resize, or scales relative to
// each image) the training images' median short side. Recorded in the saved
// config as model.train_short_side so inference runs at the learned scale.
int nominal_training_short_side(const DataConfig& d, const RgbdDataset& train_set) {
  switch (d.resize) {
    case ResizeMode::ShortSide: {
      std::vector<int> sides = d.short_sides;
      std::sort(sides.begin(), sides.end());
      return sides[sides.size() / 2];
    }
    case ResizeMode::Fixed: return std::min(d.fixed_height, d.fixed_width);
    case ResizeMode::LargeScaleJitter: return d.fixed_height;
    case ResizeMode::None:
    case ResizeMode::ScaleRange: break;  // relative to each image: the images' median
  }
  std::vector<int64_t> sides;
  for (const auto& img : train_set.coco.images) sides.push_back(std::min(img.height, img.width));
  if (sides.empty()) return 0;
  std::nth_element(sides.begin(), sides.begin() + static_cast<std::ptrdiff_t>(sides.size() / 2), sides.end());
  return static_cast<int>(sides[sides.size() / 2]);
}

bool is_backbone(const std::string& name) { return name.rfind("model.pixel_level_module.encoder.", 0) == 0; }

// Mask2Former/detectron2: no weight decay on norms, biases and embeddings.
bool decays(const std::string& name, const at::Tensor& p) {
  return p.dim() > 1 && name.find("embed") == std::string::npos &&
         name.find("relative_position_bias_table") == std::string::npos;
}

double clip_gradients(const std::vector<at::Tensor>& params, double max_norm) {
  at::NoGradGuard no_grad;
  // One norm per tensor on the device, one host read for the total (no copy of
  // the gradients, no synchronisation per parameter).
  std::vector<at::Tensor> norms;
  for (const auto& p : params) {
    if (p.grad().defined()) norms.push_back(at::linalg_vector_norm(p.grad(), 2, c10::nullopt, false, at::kDouble));
  }
  const double norm = norms.empty() ? 0.0 : at::stack(norms).norm().item<double>();
  if (max_norm > 0 && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (const auto& p : params) {
      if (p.grad().defined()) p.grad().mul_(scale);
    }
  }
  return norm;
}

// Keeps the log lines of steps up to `step` (resume: later lines are redone).
void truncate_log(const std::string& path, int64_t step) {
  if (!file_exists(path)) return;
  std::istringstream in(read_file(path));
  std::string line, kept;
  while (std::getline(in, line)) {
    try {
      const auto j = nlohmann::json::parse(line);
      if (j.value("step", int64_t{0}) > step) continue;
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut by the interruption
    }
    kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

class JsonLog {
 public:
  explicit JsonLog(const std::string& path) : out_(path, std::ios::app) {
    if (!out_) throw Error(path + ": cannot open for writing");
  }
  void write(const nlohmann::ordered_json& j) {
    out_ << j.dump() << "\n";
    out_.flush();  // a crash keeps every line written so far
  }

 private:
  std::ofstream out_;
};

// ---- building: what the loop runs on ----

// AdamW's four groups: backbone (lr x backbone_lr_multiplier) or not, decayed
// or not (norms, biases and embeddings are not). A frozen backbone is left
// out; `trainable` receives every parameter that is in a group.
std::vector<ParamGroup> parameter_groups(model::RgbdMask2FormerImpl& net, const TrainConfig& tc,
                                         std::vector<at::Tensor>& trainable) {
  std::vector<ParamGroup> groups(4);
  for (int g = 0; g < 4; ++g) {
    groups[g].lr_multiplier = g < 2 ? tc.backbone_lr_multiplier : 1.0;
    groups[g].weight_decay = g % 2 == 0 ? tc.weight_decay : 0.0;
  }
  for (auto& p : net.named_parameters()) {
    const bool backbone = is_backbone(p.key());
    if (backbone && tc.freeze_backbone) {
      p.value().set_requires_grad(false);
      continue;
    }
    groups[(backbone ? 0 : 2) + (decays(p.key(), p.value()) ? 0 : 1)].params.emplace_back(p.key(), p.value());
    trainable.push_back(p.value());
  }
  return groups;
}

// Shuffled, augmented batches of this rank's slice of every global batch.
LoaderOptions training_loader_options(const Config& config, size_t images, int rank, int world) {
  LoaderOptions lo;
  lo.batch_size = config.data.batch_size;
  lo.workers = std::max(1, config.data.workers);
  lo.shuffle = true;
  lo.drop_last = world > 1 || static_cast<int64_t>(images) >= 2 * lo.batch_size;
  lo.seed = static_cast<uint64_t>(config.train.seed);
  lo.augment = true;
  lo.augment_options = augment_options(config.data);
  lo.rank = rank;
  lo.world_size = world;
  return lo;
}

// One optimizer step: the micro-batches, forward, loss, backward, the
// all-reduce across ranks, clipping and the update. Owns nothing.
class StepRunner {
 public:
  StepRunner(const TrainConfig& tc, model::RgbdMask2FormerImpl& net, AdamW& optimizer,
             const std::vector<at::Tensor>& trainable, DataLoader& loader, const LabelMap& labels,
             const CriterionOptions& criterion, const ScheduleOptions& schedule, GradientReducer* reducer,
             c10::Device device, int batch_size, int64_t num_queries)
      : tc_(tc), net_(net), optimizer_(optimizer), trainable_(trainable), loader_(loader), labels_(labels),
        criterion_(criterion), schedule_(schedule), reducer_(reducer), device_(device), batch_size_(batch_size),
        num_queries_(num_queries), rank_(reducer ? reducer->rank() : 0), world_(reducer ? reducer->world_size() : 1) {}

  // With several ranks, `stop_agreed` becomes true once any rank asked to stop.
  StepOutcome run(TrainerState& state, bool& stop_agreed) {
    // Seeds derived from the step: a resumed run draws exactly what the uninterrupted one did.
    at::manual_seed(static_cast<uint64_t>(tc_.seed) * 1000003ULL + static_cast<uint64_t>(state.step));
    // Loss points keyed by (seed, step, set, global image index): the same
    // whether the global batch runs in one process or is split across ranks.
    Mask2FormerCriterion criterion(criterion_, std::make_shared<KeyedPointSource>(static_cast<uint64_t>(tc_.seed), state.step));
    optimizer_.zero_grad();
    StepOutcome outcome;
    double loss_sum = 0;
    bool finite = true;
    LossOutput last_loss;
    // The step's micro-batches first: their loss normalisers (target count and
    // cross-entropy weight sum) are global-batch values, averaged over ranks
    // as Hugging Face does for num_masks, in one small all-reduce.
    std::vector<ModelInput> inputs;
    std::vector<double> normalisers;
    for (int micro = 0; micro < tc_.accumulate; ++micro) {
      Batch batch;
      const auto wait_start = std::chrono::steady_clock::now();
      while (!loader_.next(batch)) {
        ++state.epoch;
        state.batch_in_epoch = 0;
        loader_.start_epoch(state.epoch);
      }
      outcome.data_wait_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
      ++state.batch_in_epoch;
      outcome.images += static_cast<int64_t>(batch.size) * world_;
      inputs.push_back(make_model_input(batch, &labels_, device_));
      const Targets targets{inputs.back().masks, inputs.back().labels};
      double count = 0;
      for (const auto& l : targets.labels) count += static_cast<double>(l.size(0));
      normalisers.push_back(count);
      normalisers.push_back(cross_entropy_weight_sum(targets, num_queries_, criterion_.no_object_weight));
    }
    if (reducer_) {
      std::vector<at::Tensor> t{at::tensor(normalisers, at::kDouble)};
      reducer_->average(t);
      normalisers.assign(t[0].data_ptr<double>(), t[0].data_ptr<double>() + t[0].numel());
    }
    for (int micro = 0; micro < tc_.accumulate; ++micro) {
      const ModelInput& input = inputs[static_cast<size_t>(micro)];
      model::RgbdOutput out;
      {
        model::Autocast autocast(device_.type(), tc_.precision);
        out = net_.forward(input.pixel_values, input.depth);
      }
      std::vector<at::Tensor> classes, masks;
      for (const auto& t : out.class_logits) classes.push_back(t.to(at::kFloat));
      for (const auto& t : out.mask_logits) masks.push_back(t.to(at::kFloat));
      LossContext context;
      // The loader's layout: micro-batch m of rank r holds global images (m * world + r) * batch_size + [0, batch_size).
      context.first_image = (static_cast<int64_t>(micro) * world_ + rank_) * batch_size_;
      // Clamped as the global count (>= 1), not per rank: one process with the combined batch divides by the same.
      context.num_masks = std::max(normalisers[2 * static_cast<size_t>(micro)], 1.0 / world_);
      const double weight_sum = normalisers[2 * static_cast<size_t>(micro) + 1];
      if (weight_sum > 0) context.class_weight_sum = weight_sum;
      last_loss = criterion.forward(classes, masks, Targets{input.masks, input.labels}, context);
      const double value = last_loss.total.item<double>();
      if (!std::isfinite(value)) {
        finite = false;
        break;
      }
      loss_sum += value;
      (last_loss.total / static_cast<double>(tc_.accumulate)).backward();
    }
    // The logged loss terms; with several ranks, their means: each rank's
    // loss is normalised by global counts, so the mean is the global batch's loss.
    std::vector<double> terms;
    for (size_t i = 0; i < 3 && i < last_loss.raw.size(); ++i) terms.push_back(last_loss.raw[i].second.item<double>());
    if (reducer_) {
      // Gradients averaged over ranks, with the non-finite and stop flags (any
      // rank's counts: every rank skips or stops together) and the loss.
      std::vector<double> scalars{finite ? 0.0 : 1.0, g_stop ? 1.0 : 0.0, loss_sum};
      scalars.insert(scalars.end(), terms.begin(), terms.end());
      std::vector<at::Tensor> grads{at::tensor(scalars, at::kDouble)};
      for (auto p : trainable_) {
        if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
        grads.push_back(p.grad());
      }
      reducer_->average(grads);
      const auto mean = grads[0].contiguous();
      finite = mean[0].item<double>() == 0.0;
      stop_agreed = mean[1].item<double>() > 0.0;
      loss_sum = mean[2].item<double>();
      for (size_t i = 0; i < terms.size(); ++i) terms[i] = mean[3 + static_cast<int64_t>(i)].item<double>();
    }
    if (!finite) {
      optimizer_.zero_grad();
      return outcome;  // skipped
    }
    outcome.taken = true;
    outcome.grad_norm = clip_gradients(trainable_, tc_.clip_grad_norm);
    outcome.lr = tc_.lr * lr_factor(schedule_, state.step);
    optimizer_.step(outcome.lr);
    ++state.step;
    outcome.loss = loss_sum / tc_.accumulate;
    for (size_t i = 0; i < terms.size(); ++i) outcome.losses.emplace_back(last_loss.raw[i].first, terms[i]);
    return outcome;
  }

 private:
  const TrainConfig& tc_;
  model::RgbdMask2FormerImpl& net_;
  AdamW& optimizer_;
  const std::vector<at::Tensor>& trainable_;
  DataLoader& loader_;
  const LabelMap& labels_;
  const CriterionOptions criterion_;
  const ScheduleOptions schedule_;
  GradientReducer* reducer_;
  c10::Device device_;
  int batch_size_;
  int64_t num_queries_;
  int rank_, world_;
};

// ---- the built-in hooks ----

class ProgressHook : public TrainHook {
 public:
  explicit ProgressHook(ProgressCallback progress) : progress_(std::move(progress)) {}
  void before_train(TrainContext& c) override { progress_(c.state.step, c.config.train.max_steps); }
  void after_step(TrainContext& c, const StepOutcome& o) override {
    if (o.taken) progress_(c.state.step, c.config.train.max_steps);
  }

 private:
  ProgressCallback progress_;
};

// train.jsonl: a "train" record every train.log_every steps (and the first and
// last), a "skip" record for every skipped step.
class JsonLogHook : public TrainHook {
 public:
  void before_train(TrainContext&) override { last_ = std::chrono::steady_clock::now(); }
  void after_step(TrainContext& c, const StepOutcome& o) override {
    const auto& s = c.state;
    if (!o.taken) {
      c.log({{"type", "skip"}, {"step", s.step}, {"epoch", s.epoch}, {"reason", "non-finite loss"}});
      return;
    }
    images_ += o.images;
    data_wait_s_ += o.data_wait_s;
    const int64_t max_steps = c.config.train.max_steps;
    if (s.step % c.config.train.log_every != 0 && s.step != max_steps && s.step != 1) return;
    const auto now = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(now - last_).count();
    nlohmann::ordered_json losses = nlohmann::ordered_json::object();
    for (const auto& [name, value] : o.losses) losses[name] = value;
    c.log({{"type", "train"}, {"step", s.step}, {"epoch", s.epoch}, {"lr", o.lr}, {"loss", o.loss}, {"losses", losses},
           {"grad_norm", o.grad_norm}, {"images_per_s", dt > 0 ? static_cast<double>(images_) / dt : 0.0},
           {"time_s", dt}, {"data_wait_s", data_wait_s_}});
    last_ = now;
    images_ = 0;
    data_wait_s_ = 0;
  }

 private:
  std::chrono::steady_clock::time_point last_;
  int64_t images_ = 0;
  double data_wait_s_ = 0;  // of time_s: waiting for the loader (the step starved)
};

// train.max_nonfinite skipped steps in a row stop the run.
class NonFiniteGuard : public TrainHook {
 public:
  void after_step(TrainContext& c, const StepOutcome& o) override {
    auto& s = c.state;
    if (o.taken) {
      s.nonfinite_in_a_row = 0;
      return;
    }
    ++s.nonfinite_in_a_row;
    RGBDSEG_LOG(Warn) << "train: non-finite loss at step " << s.step << ": step skipped (" << s.nonfinite_in_a_row
                      << " in a row)";
    if (s.nonfinite_in_a_row >= c.config.train.max_nonfinite) {
      throw Error("train: " + std::to_string(s.nonfinite_in_a_row) +
                  " non-finite losses in a row; stopping (lower train.lr, or check the data: depth in metres?)");
    }
  }
};

// COCO mask AP on the validation set every train.eval_every steps and at the
// end; the best weights go to best/ (the final ones when there is nothing to
// select on: no validation set, or no annotations in it).
class EvalHook : public TrainHook {
 public:
  using Evaluate = std::function<CocoEvalResult()>;
  EvalHook(Evaluate evaluate, bool has_val) : evaluate_(std::move(evaluate)), has_val_(has_val) {}
  void after_step(TrainContext& c, const StepOutcome& o) override {
    const auto& tc = c.config.train;
    if (o.taken && tc.eval_every > 0 && c.state.step % tc.eval_every == 0 && c.state.step < tc.max_steps) run(c);
  }
  void after_train(TrainContext& c) override {
    run(c);
    if (!has_val_ || c.state.best_step < 0) {
      c.state.best_step = c.state.step;
      c.save(c.best_dir, /*with_optimizer=*/false);
    }
  }

 private:
  void run(TrainContext& c) {
    if (!has_val_ || !c.writer) return;
    const CocoEvalResult result = evaluate_();
    return_freed_memory();  // the evaluation's blocks, kept otherwise (keep_freed_memory_for_reuse)
    const auto& s = result.stats;
    auto& state = c.state;
    // The summary keys `rgbdseg plot` reads, then the metrics in their one shape.
    nlohmann::ordered_json record{{"type", "eval"}, {"step", state.step}, {"epoch", state.epoch}, {"AP", s[0]},
                                  {"AP50", s[1]}, {"AP75", s[2]}, {"APs", s[3]}, {"APm", s[4]}, {"APl", s[5]}};
    const nlohmann::ordered_json metrics = coco_metrics_json(result);
    for (const auto& [key, value] : metrics.items()) record[key] = value;
    c.log(record);
    RGBDSEG_LOG(Info) << "train: step " << state.step << ": val mask AP " << s[0] << ", AP50 " << s[1];
    if (s[0] > state.best_ap) {
      state.best_ap = s[0];
      state.best_step = state.step;
      c.save(c.best_dir, /*with_optimizer=*/false);
    }
  }
  Evaluate evaluate_;
  bool has_val_;
};

// last/ (with the optimizer, for --resume) every train.checkpoint_every steps and at the end.
class CheckpointHook : public TrainHook {
 public:
  void after_step(TrainContext& c, const StepOutcome& o) override {
    const auto& tc = c.config.train;
    if (o.taken && tc.checkpoint_every > 0 && c.state.step % tc.checkpoint_every == 0 && c.state.step < tc.max_steps) {
      c.save(c.last_dir, true);
    }
  }
  void after_train(TrainContext& c) override { c.save(c.last_dir, true); }
};

}  // namespace

void request_stop() { g_stop = true; }

void recover_run_checkpoints(const std::string& out_dir) {
  for (const auto& dir : {out_dir + "/last", out_dir + "/best"}) {
    if (recover_checkpoint(dir)) {
      RGBDSEG_LOG(Warn) << "train: " << dir << " restored from " << dir << ".old (the run was killed while saving it)";
    }
  }
}

TrainResult train_model(const Config& config_in, const TrainRunOptions& run) {
  Config config = config_in;
  const auto& tc = config.train;
  const int rank = run.reducer ? run.reducer->rank() : 0;
  const int world = run.reducer ? run.reducer->world_size() : 1;
  const bool writer = rank == 0;
  if (config.data.train.empty()) throw Error("config: /data/train is not set (the training dataset JSON)");
  const c10::Device device = resolve_device(config.runtime.device);
  if (tc.precision == Precision::Fp16 && !device.is_cuda()) {
    throw Error("config: /train/precision fp16 needs a CUDA device; use bf16 on the CPU");
  }
  if (tc.precision == Precision::Auto && writer) {
    RGBDSEG_LOG(Info) << "train: precision auto -> " << Named<Precision>(model::resolve_precision(tc.precision, device.type()));
  }
  if (writer && !run.resume) {
    require_empty_output_dir(run.out_dir, run.force,
                             "a previous run? --resume continues it, --force starts over in it");
  }
  g_stop = false;
  SignalGuard signals(run.handle_signals);

  DatasetOptions dataset_options;
  dataset_options.threads = config.runtime.threads;
  RgbdDataset train_set = load_rgbd_dataset(config.data.train, dataset_options);
  const DepthReadOptions depth_read = run.depth_read ? *run.depth_read : depth_read_options(config);
  train_set.depth_read = depth_read;
  std::unique_ptr<RgbdDataset> val_set;
  if (!config.data.val.empty()) {
    val_set = std::make_unique<RgbdDataset>(load_rgbd_dataset(config.data.val, dataset_options));
    val_set->depth_read = depth_read;
  }
  const LabelMap labels = label_map_of(train_set.coco);
  if (labels.size() == 0) throw Error(config.data.train + ": the dataset has no categories");
  if (config.model.train_short_side == 0) {
    config.model.train_short_side = nominal_training_short_side(config.data, train_set);
  }

  // The model: architecture from the HF config, classes from the dataset.
  const InitSpec init = parse_init(tc.init, config.model.hf_config);
  const nlohmann::ordered_json hf_json = relabelled_hf_config(read_json_file(init.hf_config), labels.category_ids, labels.names);
  model::Mask2FormerOptions m2f = model::mask2former_options_from_hf(nlohmann::json::parse(hf_json.dump()), init.hf_config);
  at::manual_seed(static_cast<uint64_t>(tc.seed));  // the fresh modules' initialisation
  model::RgbdMask2Former net(model_options(config.model, m2f));

  const std::string last_dir = run.out_dir + "/last", best_dir = run.out_dir + "/best";
  TrainerState state;
  state.seed = tc.seed;
  std::vector<std::pair<std::string, at::Tensor>> optimizer_state;
  // Several processes: the launcher recovered before starting them (no rank may rename under another).
  if (run.resume && world == 1) recover_run_checkpoints(run.out_dir);
  const bool resuming = run.resume && file_exists(last_dir + "/trainer_state.json");
  if (run.resume && !resuming) {
    RGBDSEG_LOG(Info) << "train: --resume: no checkpoint in " << last_dir << "; starting fresh";
  }
  if (resuming) {
    state = load_trainer_state(last_dir);
    model::load_rgbd_weights(*net, read_safetensors(last_dir + "/model.safetensors"), last_dir + "/model.safetensors");
    optimizer_state = load_optimizer_state(last_dir);
    RGBDSEG_LOG(Info) << "train: resuming from " << last_dir << " at step " << state.step;
  } else if (!init.weights.empty()) {
    model::load_rgbd_weights(*net, read_safetensors(init.weights), init.weights);
  }
  net->to(device);  // before the optimizer sees the parameters: its state is made on their device
  net->train();

  std::vector<at::Tensor> trainable;
  AdamW optimizer(parameter_groups(*net, tc, trainable));
  if (resuming) optimizer.load_state(optimizer_state, last_dir + "/optimizer.safetensors");

  const CriterionOptions co = criterion_options(tc.criterion);
  const ScheduleOptions schedule = schedule_options(tc);

  const LoaderOptions lo = training_loader_options(config, train_set.coco.images.size(), rank, world);
  DataLoader loader(train_set, lo);
  if (loader.batches_per_epoch() == 0) {
    throw Error(config.data.train + ": fewer images than one global batch (" + std::to_string(lo.batch_size * world) + ")");
  }

  nlohmann::ordered_json resolved = config_to_json(config);
  if (writer) {
    std::filesystem::create_directories(run.out_dir);
    if (!resuming && run.force) {
      // --force: nothing of an earlier run may pass for this one's.
      for (const auto& dir : {last_dir, best_dir}) std::filesystem::remove_all(dir);
    }
    if (resuming) truncate_log(run.out_dir + "/train.jsonl", state.step);
    else write_file_atomic(run.out_dir + "/train.jsonl", "");
    write_file_atomic(run.out_dir + "/config.json", resolved.dump(2) + "\n");
  }
  std::unique_ptr<JsonLog> log;
  if (writer) log = std::make_unique<JsonLog>(run.out_dir + "/train.jsonl");

  auto save = [&](const std::string& dir, bool with_optimizer) {
    if (!writer) return;
    CheckpointContents c;
    c.model = model::mask2former_state(*net);
    if (with_optimizer) c.optimizer = optimizer.state();
    c.state = state;
    c.config = resolved;
    c.hf_config = hf_json;
    save_checkpoint(dir, c);
  };
  InferenceOptions io = inference_options(config);
  io.precision = tc.precision;
  io.device = device;
  io.progress = nullptr;  // evaluation inside training reports through the log, not a second bar
  auto evaluate = [&] {
    CocoEvalParams params;
    params.num_threads = config.runtime.threads;
    params.use_cats = config.eval.use_cats;
    return evaluate_dataset(*net, *val_set, labels, io, params).coco;
  };
  TrainContext context{config, state, *net, writer, run.out_dir, last_dir, best_dir,
                       [&](const nlohmann::ordered_json& record) {
                         if (log) log->write(record);
                       },
                       save};
  // Per step, in this order: progress, log, non-finite guard, evaluation, checkpoint; then the caller's.
  std::vector<std::shared_ptr<TrainHook>> hooks;
  if (writer && run.progress) hooks.push_back(std::make_shared<ProgressHook>(run.progress));
  hooks.push_back(std::make_shared<JsonLogHook>());
  hooks.push_back(std::make_shared<NonFiniteGuard>());
  hooks.push_back(std::make_shared<EvalHook>(evaluate, val_set != nullptr));
  hooks.push_back(std::make_shared<CheckpointHook>());
  hooks.insert(hooks.end(), run.hooks.begin(), run.hooks.end());

  StepRunner step(tc, *net, optimizer, trainable, loader, labels, co, schedule, run.reducer.get(), device,
                  lo.batch_size, m2f.transformer_decoder.num_queries);
  TrainResult result;
  loader.start_epoch(state.epoch, state.batch_in_epoch);
  for (auto& h : hooks) h->before_train(context);
  const int64_t first_step = state.step;
  bool stop_agreed = false;  // several processes: a stop request every rank has seen (exchanged each step)
  while (state.step < tc.max_steps) {
    const bool stop_after = run.stop_after_steps > 0 && state.step - first_step >= run.stop_after_steps;
    if (stop_after) g_stop = true;
    // Ranks stop together: at a step count they share, or once the request went round.
    if (run.reducer ? stop_after || stop_agreed : g_stop.load()) {
      save(last_dir, true);
      result.interrupted = true;
      if (writer) {
        RGBDSEG_LOG(Warn) << "train: stopped " << (stop_after ? "by --stop-after" : "by a signal") << " at step "
                          << state.step << "; checkpoint in " << last_dir << " (continue with --resume)";
      }
      break;
    }
    const StepOutcome outcome = step.run(state, stop_agreed);
    if (outcome.taken) result.final_loss = outcome.loss;
    for (auto& h : hooks) h->after_step(context, outcome);
  }
  if (!result.interrupted) {
    for (auto& h : hooks) h->after_train(context);
  }
  result.steps = state.step;
  result.best_ap = state.best_ap;
  result.best_step = state.best_step;
  result.last_checkpoint = last_dir;
  if (state.best_step >= 0) result.best_checkpoint = best_dir;
  return result;
}

}  // namespace rgbdseg::train
