// AdamW against LibTorch's torch::optim::AdamW (the reference: the same
// arithmetic as torch.optim.AdamW): several steps over parameter groups with
// their own learning-rate multiplier and weight decay, the learning rate
// changing every step, a parameter that has no gradient at first, and the
// named state written out and read back mid-run.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "error_message.h"
#include "rgbdseg/train/adamw.h"

using namespace rgbdseg;
using namespace rgbdseg::train;
using ::testing::HasSubstr;

namespace {

// Initial values of three parameters (fixed, not random: every run the same).
struct Init {
  at::Tensor w = at::linspace(-1.5, 2.0, 12, at::kFloat).reshape({3, 4});
  at::Tensor b = at::tensor({0.25f, -0.5f, 0.75f});
  at::Tensor late = at::tensor({1.0f, -2.0f});  // no gradient before step 3
};

// Gradients at step s (1-based): fixed, sign-changing, of different scales.
at::Tensor grad_w(int s) { return at::sin(at::arange(12, at::kFloat).reshape({3, 4}) * (0.7 * s) + 0.3) * (0.5 * s); }
at::Tensor grad_b(int s) { return at::tensor({0.1f * s, -0.3f, 0.05f * s * s}); }
at::Tensor grad_late(int s) { return at::tensor({0.2f / s, 1.5f}); }
bool late_has_grad(int s) { return s >= 3; }

// Base learning rate per step: changes every step, as a schedule would.
double lr_at(int s) { return 1e-2 * (1.0 + 0.5 * s) / (1.0 + s * s * 0.1); }

constexpr double kWeightDecay = 0.05, kBackboneMult = 0.1;

struct Ours {
  at::Tensor w, b, late;
  std::unique_ptr<AdamW> opt;
  explicit Ours(const Init& init) {
    w = init.w.clone().requires_grad_(true);
    b = init.b.clone().requires_grad_(true);
    late = init.late.clone().requires_grad_(true);
    std::vector<ParamGroup> groups(2);
    groups[0].params = {{"w", w}, {"late", late}};  // "backbone": lr x 0.1, decayed
    groups[0].lr_multiplier = kBackboneMult;
    groups[0].weight_decay = kWeightDecay;
    groups[1].params = {{"b", b}};  // no decay
    AdamWOptions o;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
    opt = std::make_unique<AdamW>(groups, o);
  }
  void set_grads(int s) {
    opt->zero_grad();
    w.mutable_grad() = grad_w(s);
    b.mutable_grad() = grad_b(s);
    if (late_has_grad(s)) late.mutable_grad() = grad_late(s);
  }
  void step(int s) {
    set_grads(s);
    opt->step(lr_at(s));
  }
};

struct Reference {
  at::Tensor w, b, late;
  std::unique_ptr<torch::optim::AdamW> opt;
  explicit Reference(const Init& init) {
    w = init.w.clone().requires_grad_(true);
    b = init.b.clone().requires_grad_(true);
    late = init.late.clone().requires_grad_(true);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(std::vector<at::Tensor>{w, late},
                        std::make_unique<torch::optim::AdamWOptions>(
                            torch::optim::AdamWOptions(1.0).betas({0.9, 0.999}).eps(1e-8).weight_decay(kWeightDecay)));
    groups.emplace_back(std::vector<at::Tensor>{b},
                        std::make_unique<torch::optim::AdamWOptions>(
                            torch::optim::AdamWOptions(1.0).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.0)));
    opt = std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions(1.0));
  }
  void step(int s) {
    auto& g = opt->param_groups();
    static_cast<torch::optim::AdamWOptions&>(g[0].options()).lr(lr_at(s) * kBackboneMult);
    static_cast<torch::optim::AdamWOptions&>(g[1].options()).lr(lr_at(s));
    w.mutable_grad() = grad_w(s);
    b.mutable_grad() = grad_b(s);
    late.mutable_grad() = late_has_grad(s) ? grad_late(s) : at::Tensor();
    opt->step();
  }
};

// max |a - b| / max(|b|, 1e-3) elementwise.
double max_rel(const at::Tensor& a, const at::Tensor& b) {
  const auto x = a.detach().to(at::kDouble), y = b.detach().to(at::kDouble);
  return ((x - y).abs() / y.abs().clamp_min(1e-3)).max().item<double>();
}

void expect_close(const Ours& ours, const Reference& ref, const std::string& when) {
  SCOPED_TRACE(when);
  EXPECT_LT(max_rel(ours.w, ref.w), 1e-6);
  EXPECT_LT(max_rel(ours.b, ref.b), 1e-6);
  EXPECT_LT(max_rel(ours.late, ref.late), 1e-6);
}

}  // namespace

TEST(AdamW, MatchesLibTorchOverStepsWithDecayGroupsAndChangingLr) {
  const Init init;
  Ours ours(init);
  Reference ref(init);
  for (int s = 1; s <= 5; ++s) {
    ours.step(s);
    ref.step(s);
    expect_close(ours, ref, "step " + std::to_string(s));
  }
  EXPECT_EQ(ours.opt->steps(), 5);
  // The parameters did move (the comparison is not between two no-ops).
  EXPECT_GT((ours.w.detach() - init.w).abs().max().item<double>(), 1e-4);
  EXPECT_GT((ours.late.detach() - init.late).abs().max().item<double>(), 1e-4);
}

TEST(AdamW, FirstStepIsHandComputed) {
  // One step: m = (1-b1) g, v = (1-b2) g^2, m_hat = g, v_hat = g^2, so
  // p <- p (1 - lr wd) - lr g / (|g| + eps).
  at::Tensor p = at::tensor({2.0, -1.0, 0.5}, at::kDouble).requires_grad_(true);
  std::vector<ParamGroup> groups(1);
  groups[0].params = {{"p", p}};
  groups[0].weight_decay = 0.1;
  groups[0].lr_multiplier = 0.5;
  AdamW opt(groups);
  p.mutable_grad() = at::tensor({0.5, -4.0, 0.0}, at::kDouble);
  opt.step(0.2);  // group lr 0.1
  const double lr = 0.1, wd = 0.1;
  const std::vector<double> expected = {2.0 * (1 - lr * wd) - lr * 0.5 / (0.5 + 1e-8),
                                        -1.0 * (1 - lr * wd) + lr * 4.0 / (4.0 + 1e-8), 0.5 * (1 - lr * wd)};
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(p[i].item<double>(), expected[static_cast<size_t>(i)], 1e-12) << i;
}

TEST(AdamW, ParameterWithoutGradientIsUntouched) {
  const Init init;
  Ours ours(init);
  for (int s = 1; s <= 2; ++s) ours.step(s);              // `late` has no gradient in steps 1 and 2
  EXPECT_TRUE(at::equal(ours.late.detach(), init.late));  // not even weight decay
  EXPECT_FALSE(at::equal(ours.w.detach(), init.w));
  // ... and it has no state yet: none in the named state.
  for (const auto& [name, t] : ours.opt->state()) EXPECT_EQ(name.find("late"), std::string::npos) << name;
}

TEST(AdamW, ZeroGradClearsGradients) {
  const Init init;
  Ours ours(init);
  ours.set_grads(3);
  ASSERT_TRUE(ours.late.grad().defined());
  ours.opt->zero_grad();
  EXPECT_FALSE(ours.w.grad().defined());
  EXPECT_FALSE(ours.b.grad().defined());
  EXPECT_FALSE(ours.late.grad().defined());
}

TEST(AdamW, StateRoundTripContinuesIdentically) {
  const Init init;
  Ours a(init);
  Reference ref(init);
  for (int s = 1; s <= 3; ++s) {
    a.step(s);
    ref.step(s);
  }
  // A second optimizer over copies of the parameters, loaded from a's state
  // (cloned: the state must not share storage with a's moments).
  std::vector<std::pair<std::string, at::Tensor>> state;
  for (const auto& [name, t] : a.opt->state()) state.emplace_back(name, t.clone());
  Ours b(init);
  {
    at::NoGradGuard no_grad;
    b.w.copy_(a.w);
    b.b.copy_(a.b);
    b.late.copy_(a.late);
  }
  b.opt->load_state(state, "opt.safetensors");
  EXPECT_EQ(b.opt->steps(), 3);
  for (int s = 4; s <= 6; ++s) {
    a.step(s);
    b.step(s);
    ref.step(s);
    EXPECT_TRUE(at::equal(a.w.detach(), b.w.detach())) << "step " << s;
    EXPECT_TRUE(at::equal(a.b.detach(), b.b.detach())) << "step " << s;
    EXPECT_TRUE(at::equal(a.late.detach(), b.late.detach())) << "step " << s;
    expect_close(b, ref, "resumed, step " + std::to_string(s));
  }
  EXPECT_EQ(b.opt->steps(), 6);
}

TEST(AdamW, StateNamesEveryMomentByParameter) {
  const Init init;
  Ours ours(init);
  for (int s = 1; s <= 3; ++s) ours.step(s);
  std::map<std::string, at::Tensor> by_name;
  for (const auto& [name, t] : ours.opt->state()) by_name[name] = t;
  for (const char* key : {"optimizer_steps", "exp_avg/w", "exp_avg_sq/w", "step/w", "exp_avg/b", "exp_avg_sq/b",
                          "step/b", "exp_avg/late", "exp_avg_sq/late", "step/late"}) {
    EXPECT_TRUE(by_name.count(key)) << key;
  }
  EXPECT_EQ(by_name.size(), 10u);
  EXPECT_EQ(by_name["optimizer_steps"].item<int64_t>(), 3);
  EXPECT_EQ(by_name["step/w"].item<int64_t>(), 3);
  EXPECT_EQ(by_name["step/late"].item<int64_t>(), 1);  // first gradient at step 3
  // exp_avg of `late` after one update: (1 - beta1) g.
  EXPECT_TRUE(at::allclose(by_name["exp_avg/late"], grad_late(3) * 0.1, 1e-6, 1e-7));
}

TEST(AdamW, BadStateErrorsNameTheSource) {
  const Init init;
  Ours ours(init);
  for (int s = 1; s <= 3; ++s) ours.step(s);
  const auto good = ours.opt->state();
  auto without = [&](const std::string& key) {
    std::vector<std::pair<std::string, at::Tensor>> s;
    for (const auto& [n, t] : good) {
      if (n != key) s.emplace_back(n, t);
    }
    return s;
  };
  Ours fresh(init);
  std::string msg =
      error_message([&] { fresh.opt->load_state(without("optimizer_steps"), "run/last/optimizer.safetensors"); });
  EXPECT_THAT(msg, HasSubstr("run/last/optimizer.safetensors"));
  EXPECT_THAT(msg, HasSubstr("optimizer_steps"));

  msg = error_message([&] { fresh.opt->load_state(without("exp_avg_sq/w"), "opt.safetensors"); });
  EXPECT_THAT(msg, HasSubstr("opt.safetensors"));
  EXPECT_THAT(msg, HasSubstr("incomplete optimizer state for w"));

  msg = error_message([&] { fresh.opt->load_state(without("step/b"), "opt.safetensors"); });
  EXPECT_THAT(msg, HasSubstr("incomplete optimizer state for b"));

  auto misshapen = good;
  for (auto& [n, t] : misshapen) {
    if (n == "exp_avg/w") t = at::zeros({4, 3});
  }
  msg = error_message([&] { fresh.opt->load_state(misshapen, "opt.safetensors"); });
  EXPECT_THAT(msg, HasSubstr("opt.safetensors"));
  EXPECT_THAT(msg, HasSubstr("for w has the wrong shape"));
}
