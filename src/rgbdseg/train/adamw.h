#pragma once
// AdamW (decoupled weight decay, Loshchilov & Hutter) over named parameter
// groups, with its state addressable by parameter name so that checkpoints
// are plain safetensors ("exp_avg/<name>", "exp_avg_sq/<name>") and resume
// is exact. Same arithmetic as torch.optim.AdamW (tested against LibTorch's).
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace rgbdseg::train {

struct ParamGroup {
  std::vector<std::pair<std::string, at::Tensor>> params;  // name, parameter
  double lr_multiplier = 1.0;
  double weight_decay = 0.0;
};

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

class AdamW {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
  // One update with base learning rate `lr` (each group scales it); parameters
  // without a gradient are left alone (their state does not advance).
  void step(double lr);
  void zero_grad();
  int64_t steps() const { return steps_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }

  // State as named tensors, and back (an error names a missing or misshapen entry).
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  void load_state(const std::vector<std::pair<std::string, at::Tensor>>& state, const std::string& source);

 private:
  struct Slot {
    at::Tensor exp_avg, exp_avg_sq;
    int64_t step = 0;
  };
  std::vector<ParamGroup> groups_;
  AdamWOptions options_;
  std::vector<std::vector<Slot>> slots_;  // [group][param]
  int64_t steps_ = 0;
};

}  // namespace rgbdseg::train
