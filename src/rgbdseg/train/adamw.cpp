#include "rgbdseg/train/adamw.h"

#include <ATen/ATen.h>

#include <cmath>
#include <map>

#include "rgbdseg/core/error.h"

namespace rgbdseg::train {

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options) : groups_(std::move(groups)), options_(options) {
  for (const auto& g : groups_) slots_.emplace_back(g.params.size());
}

void AdamW::zero_grad() {
  for (auto& g : groups_) {
    for (auto& [name, p] : g.params) {
      if (p.grad().defined()) p.mutable_grad() = at::Tensor();
    }
  }
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  ++steps_;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& group = groups_[gi];
    const double group_lr = lr * group.lr_multiplier;
    for (size_t pi = 0; pi < group.params.size(); ++pi) {
      at::Tensor p = group.params[pi].second;
      if (!p.grad().defined()) continue;
      const at::Tensor g = p.grad();
      Slot& s = slots_[gi][pi];
      if (!s.exp_avg.defined()) {
        s.exp_avg = at::zeros_like(p);
        s.exp_avg_sq = at::zeros_like(p);
      }
      ++s.step;
      // torch.optim.AdamW's order: decay, moments, bias-corrected step.
      if (group.weight_decay != 0) p.mul_(1 - group_lr * group.weight_decay);
      s.exp_avg.mul_(options_.beta1).add_(g, 1 - options_.beta1);
      s.exp_avg_sq.mul_(options_.beta2).addcmul_(g, g, 1 - options_.beta2);
      const double bc1 = 1 - std::pow(options_.beta1, static_cast<double>(s.step));
      const double bc2 = 1 - std::pow(options_.beta2, static_cast<double>(s.step));
      const auto denom = (s.exp_avg_sq.sqrt() / std::sqrt(bc2)).add_(options_.eps);
      p.addcdiv_(s.exp_avg, denom, -group_lr / bc1);
    }
  }
}

std::vector<std::pair<std::string, at::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  out.emplace_back("optimizer_steps", at::tensor({steps_}, at::kLong));
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      const Slot& s = slots_[gi][pi];
      if (!s.exp_avg.defined()) continue;
      const std::string& name = groups_[gi].params[pi].first;
      out.emplace_back("exp_avg/" + name, s.exp_avg);
      out.emplace_back("exp_avg_sq/" + name, s.exp_avg_sq);
      out.emplace_back("step/" + name, at::tensor({s.step}, at::kLong));
    }
  }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, at::Tensor>>& state, const std::string& source) {
  std::map<std::string, at::Tensor> by_name(state.begin(), state.end());
  auto it = by_name.find("optimizer_steps");
  if (it == by_name.end()) throw Error(source + ": not an optimizer state (no optimizer_steps)");
  steps_ = it->second.item<int64_t>();
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      const auto& [name, p] = groups_[gi].params[pi];
      Slot& s = slots_[gi][pi];
      const auto m = by_name.find("exp_avg/" + name), v = by_name.find("exp_avg_sq/" + name),
                 n = by_name.find("step/" + name);
      if (m == by_name.end() && v == by_name.end()) {
        s = Slot{};  // never updated (e.g. no gradient so far)
        continue;
      }
      if (m == by_name.end() || v == by_name.end() || n == by_name.end()) {
        throw Error(source + ": incomplete optimizer state for " + name);
      }
      if (!m->second.sizes().equals(p.sizes()) || !v->second.sizes().equals(p.sizes())) {
        throw Error(source + ": optimizer state for " + name + " has the wrong shape");
      }
      s.exp_avg = m->second.to(p.options()).clone();
      s.exp_avg_sq = v->second.to(p.options()).clone();
      s.step = n->second.item<int64_t>();
    }
  }
}

}  // namespace rgbdseg::train
