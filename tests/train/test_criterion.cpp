// The Mask2Former criterion: parity with Hugging Face's Mask2FormerLoss on
// replayed random points (costs, matches, loss points, losses, gradients), and
// behaviour on perfect predictions, images without targets and the matcher's
// class weight.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <utility>

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "error_message.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/model/weights.h"
#include "rgbdseg/train/criterion.h"
#include "test_paths.h"

using namespace rgbdseg;
using namespace rgbdseg::train;
using ::testing::HasSubstr;

namespace {

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  if (a.numel() == 0) return 0;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// The largest |a - b| / |b| of two (flattened) scalars.
double rel(const at::Tensor& a, const at::Tensor& b) {
  const double x = a.item<double>(), y = b.reshape({}).item<double>();
  return std::abs(x - y) / std::abs(y);
}

// Sets as loss.safetensors names them, in the loss's order (final first).
const std::vector<std::string> kSets = {"final", "aux0", "aux1", "aux2"};

struct Golden {
  SafetensorsFile file;
  at::Tensor operator()(const std::string& key) const {
    const auto* t = file.find(key);
    if (!t) throw Error("loss.safetensors has no tensor '" + key + "'");
    return model::to_tensor(*t);
  }
  Targets targets() const {
    Targets t;
    for (int b = 0; b < 2; ++b) {
      t.masks.push_back((*this)("targets.mask_labels." + std::to_string(b)));
      t.labels.push_back((*this)("targets.class_labels." + std::to_string(b)));
    }
    return t;
  }
  // The prediction sets in the model's order (aux 0, 1, 2, then final).
  std::vector<at::Tensor> preds(const std::string& kind) const {
    std::vector<at::Tensor> out;
    for (const char* s : {"aux0", "aux1", "aux2", "final"}) out.push_back((*this)(std::string("pred.") + s + "." + kind));
    return out;
  }
  // The 16 draws in the order HF's loss made them.
  std::vector<at::Tensor> draws() const {
    std::vector<at::Tensor> out;
    for (const auto& s : kSets)
      for (const char* k : {"matcher.0", "matcher.1", "oversampled", "random"})
        out.push_back((*this)("points." + s + "." + k));
    return out;
  }
};

}  // namespace

TEST(Criterion, GoldenParityWithHuggingFace) {
  RGBDSEG_REQUIRE_SHARED(path, "golden/m2f_tiny/loss.safetensors");
  const Golden g{read_safetensors(path)};
  CriterionOptions options;
  options.matcher_class_weight = 1.0;  // HF hard-codes it
  options.record_details = true;
  auto replay = std::make_shared<ReplayPointSource>(g.draws());
  Mask2FormerCriterion criterion(options, replay);
  // Leaf copies, so the gradients of every set can be compared.
  auto class_logits = g.preds("class_queries_logits"), mask_logits = g.preds("masks_queries_logits");
  for (auto& t : class_logits) t = t.clone().requires_grad_(true);
  for (auto& t : mask_logits) t = t.clone().requires_grad_(true);
  const auto out = criterion.forward(class_logits, mask_logits, g.targets());
  EXPECT_EQ(replay->remaining(), 0u);
  EXPECT_EQ(out.num_masks, g("num_masks").item<double>());

  ASSERT_EQ(out.matches.size(), 4u);
  ASSERT_EQ(out.details.size(), 4u);
  for (size_t s = 0; s < kSets.size(); ++s) {
    const std::string set = kSets[s];
    SCOPED_TRACE("set " + set);
    for (int b = 0; b < 2; ++b) {
      const std::string key = set + "." + std::to_string(b);
      const auto& c = out.details[s].costs[b];
      // float32 sums of 12544 point terms: the kernel's summation order (AVX-512 or not)
      // moves the last bits, so the bound is 4 float32 ulps of the largest cost.
      for (const auto& [mine, name] : {std::pair<at::Tensor, std::string>{c.total, ""}, {c.class_cost, ".class"},
                                       {c.mask, ".mask"}, {c.dice, ".dice"}}) {
        const at::Tensor golden = g("cost." + key + name);
        const double bound = 4 * 1.1920929e-7 * std::max(1.0, golden.abs().max().item<double>());
        EXPECT_LE(max_abs(mine, golden), bound) << "cost" << name;
      }
      EXPECT_TRUE(out.matches[s][b].first.equal(g("match." + key + ".pred"))) << out.matches[s][b].first;
      EXPECT_TRUE(out.matches[s][b].second.equal(g("match." + key + ".tgt"))) << out.matches[s][b].second;
    }
    // Same predictions and candidates: topk picks the same points, bit for bit.
    EXPECT_EQ(max_abs(out.details[s].selected_points, g("points." + set + ".selected")), 0.0);
  }

  ASSERT_EQ(out.raw.size(), 12u);
  const std::vector<std::string> names = {"loss_mask",   "loss_dice",   "loss_cross_entropy",   "loss_mask_0",
                                          "loss_dice_0", "loss_cross_entropy_0", "loss_mask_1", "loss_dice_1",
                                          "loss_cross_entropy_1", "loss_mask_2", "loss_dice_2", "loss_cross_entropy_2"};
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(out.raw[i].first, names[i]);
    EXPECT_EQ(out.weighted[i].first, names[i]);
    EXPECT_LE(rel(out.raw[i].second, g("loss.raw." + names[i])), 1e-5) << names[i];
    EXPECT_LE(rel(out.weighted[i].second, g("loss.weighted." + names[i])), 1e-5) << names[i];
  }
  EXPECT_LE(rel(out.total, g("loss.total")), 1e-5);
  EXPECT_NEAR(out.total.item<double>(), 58.589489, 1e-4);  // README

  out.total.backward();
  const std::vector<std::string> model_order = {"aux0", "aux1", "aux2", "final"};
  for (size_t s = 0; s < model_order.size(); ++s) {
    SCOPED_TRACE("set " + model_order[s]);
    ASSERT_TRUE(class_logits[s].grad().defined());
    ASSERT_TRUE(mask_logits[s].grad().defined());
    EXPECT_LE(max_abs(class_logits[s].grad(), g("grad." + model_order[s] + ".class_queries_logits")), 1e-6);
    EXPECT_LE(max_abs(mask_logits[s].grad(), g("grad." + model_order[s] + ".masks_queries_logits")), 1e-6);
  }
}

TEST(Criterion, GoldenPointLossesOnTheSelectedPoints) {
  // The BCE / dice kernels alone, bypassing importance sampling.
  RGBDSEG_REQUIRE_SHARED(path, "golden/m2f_tiny/loss.safetensors");
  const Golden g{read_safetensors(path)};
  const auto targets = g.targets();
  for (size_t s = 0; s < kSets.size(); ++s) {
    const std::string set = kSets[s];
    std::vector<at::Tensor> preds, tgts;
    const auto logits = g("pred." + set + ".masks_queries_logits");
    for (int b = 0; b < 2; ++b) {
      const std::string key = "match." + set + "." + std::to_string(b);
      preds.push_back(logits[b].index_select(0, g(key + ".pred")));
      tgts.push_back(targets.masks[b].index_select(0, g(key + ".tgt")));
    }
    const auto points = g("points." + set + ".selected");
    const auto point_logits = sample_points(at::cat(preds).unsqueeze(1), points).squeeze(1);
    const auto point_labels = sample_points(at::cat(tgts).unsqueeze(1), points).squeeze(1);
    const auto losses = point_losses(point_logits, point_labels, 5.0);
    const std::string suffix = s == 0 ? "" : "_" + std::to_string(s - 1);
    EXPECT_LE(rel(losses.mask, g("loss.raw.loss_mask" + suffix)), 1e-6) << set;
    EXPECT_LE(rel(losses.dice, g("loss.raw.loss_dice" + suffix)), 1e-6) << set;
  }
}

namespace {

// A filled rectangle [y0, y1) x [x0, x1) on an h x w canvas.
at::Tensor rect(int64_t h, int64_t w, int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
  auto m = at::zeros({h, w});
  m.slice(0, y0, y1).slice(1, x0, x1).fill_(1);
  return m;
}

}  // namespace

TEST(Criterion, PerfectPredictionHasNearZeroLoss) {
  const int64_t B = 2, Q = 5, L = 3, H = 256, W = 256;
  Targets targets;
  targets.masks = {at::stack({rect(H, W, 20, 140, 30, 200), rect(H, W, 150, 240, 10, 120)}),
                   at::stack({rect(H, W, 40, 220, 60, 230)})};
  targets.labels = {at::tensor({0, 2}, at::kLong), at::tensor({1}, at::kLong)};
  // Query q of image b predicts target k: image 0: 1 -> 0, 3 -> 1; image 1: 2 -> 0.
  const std::vector<std::vector<std::pair<int64_t, int64_t>>> design = {{{1, 0}, {3, 1}}, {{2, 0}}};
  auto cls = at::full({B, Q, L + 1}, -20.0);
  cls.select(2, L).fill_(20.0);  // no-object everywhere ...
  auto masks = at::full({B, Q, H, W}, -20.0);
  for (int64_t b = 0; b < B; ++b)
    for (const auto& [q, k] : design[b]) {
      cls[b][q].fill_(-20.0);
      cls[b][q][targets.labels[b][k].item<int64_t>()].fill_(20.0);  // ... but the right class here
      masks[b][q].copy_(targets.masks[b][k] * 40.0 - 20.0);
    }
  Mask2FormerCriterion criterion({}, std::make_shared<UniformPointSource>(3));
  const auto out = criterion.forward({cls}, {masks}, targets);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> pred, tgt;
    for (const auto& [q, k] : design[b]) {
      pred.push_back(q);
      tgt.push_back(k);
    }
    EXPECT_TRUE(out.matches[0][b].first.equal(at::tensor(pred, at::kLong)));
    EXPECT_TRUE(out.matches[0][b].second.equal(at::tensor(tgt, at::kLong)));
  }
  ASSERT_EQ(out.raw.size(), 3u);
  // What remains comes from points within half a pixel of a mask edge, where
  // the bilinear target is fractional; importance sampling seeks them out
  // (about a quarter of the loss points): 0.047 and 0.012 here.
  EXPECT_LT(out.raw[0].second.item<double>(), 0.1) << "loss_mask";
  EXPECT_LT(out.raw[1].second.item<double>(), 0.03) << "loss_dice";
  EXPECT_LT(out.raw[2].second.item<double>(), 1e-6) << "loss_cross_entropy";
  // With uniform points only, edges are ~1% of the points (0.015 and 0.004 here).
  CriterionOptions uniform;
  uniform.importance_sample_ratio = 0;
  Mask2FormerCriterion plain(uniform, std::make_shared<UniformPointSource>(3));
  const auto u = plain.forward({cls}, {masks}, targets);
  EXPECT_LT(u.raw[0].second.item<double>(), 0.03) << "loss_mask";
  EXPECT_LT(u.raw[1].second.item<double>(), 0.01) << "loss_dice";
  // A wrong prediction (masks inverted) is far worse.
  const auto bad = criterion.forward({cls}, {-masks}, targets);
  EXPECT_GT(bad.raw[0].second.item<double>(), 10.0);
  EXPECT_GT(bad.total.item<double>(), 100 * out.total.item<double>());
}

TEST(Criterion, ImagesWithoutTargetsOnlyGetTheNoObjectCrossEntropy) {
  at::manual_seed(1);
  const int64_t B = 2, Q = 6, L = 4, H = 32, W = 40;
  auto cls = at::randn({B, Q, L + 1}).requires_grad_(true);
  auto masks = at::randn({B, Q, H / 4, W / 4}).requires_grad_(true);
  Targets targets;
  targets.masks = {at::stack({rect(H, W, 2, 20, 3, 30), rect(H, W, 10, 30, 0, 12)}), at::zeros({0, H, W})};
  targets.labels = {at::tensor({3, 0}, at::kLong), at::zeros({0}, at::kLong)};
  Mask2FormerCriterion criterion({}, std::make_shared<UniformPointSource>(5));
  auto out = criterion.forward({cls}, {masks}, targets);
  EXPECT_EQ(out.num_masks, 2.0);
  ASSERT_EQ(out.matches[0][0].first.numel(), 2);
  EXPECT_EQ(out.matches[0][1].first.numel(), 0);
  EXPECT_EQ(out.matches[0][1].second.numel(), 0);
  // The cross-entropy by hand: weights 1 for classes, 0.1 for no-object.
  auto target = at::full({B, Q}, L, at::kLong);
  for (int64_t k = 0; k < 2; ++k)
    target[0][out.matches[0][0].first[k].item<int64_t>()] =
        targets.labels[0][out.matches[0][0].second[k].item<int64_t>()].item<int64_t>();
  const auto ce = at::cross_entropy_loss(cls.detach().reshape({B * Q, L + 1}), target.reshape({-1}), {},
                                         at::Reduction::None);
  const auto w = at::where(target.reshape({-1}) == L, at::full({B * Q}, 0.1), at::ones({B * Q}));
  EXPECT_NEAR(out.raw[2].second.item<double>(), ((w * ce).sum() / w.sum()).item<double>(), 1e-6);
  out.total.backward();
  // Image 1's masks match nothing: no gradient reaches them.
  EXPECT_EQ(masks.grad()[1].abs().max().item<double>(), 0.0);
  EXPECT_GT(masks.grad()[0].abs().max().item<double>(), 0.0);

  // No target in the whole batch: mask terms are 0 (and differentiable), CE is the plain mean.
  Targets none;
  none.masks = {at::zeros({0, H, W}), at::zeros({0, H, W})};
  none.labels = {at::zeros({0}, at::kLong), at::zeros({0}, at::kLong)};
  out = criterion.forward({cls}, {masks}, none);
  EXPECT_EQ(out.num_masks, 1.0);
  EXPECT_EQ(out.raw[0].second.item<double>(), 0.0);
  EXPECT_EQ(out.raw[1].second.item<double>(), 0.0);
  const auto all_none =
      at::cross_entropy_loss(cls.detach().reshape({B * Q, L + 1}), at::full({B * Q}, L, at::kLong));
  EXPECT_NEAR(out.raw[2].second.item<double>(), all_none.item<double>(), 1e-6);
  out.total.backward();
  EXPECT_TRUE(cls.grad().defined());
}

TEST(Criterion, MatcherClassWeightChangesTheCostByTheClassTermOnly) {
  at::manual_seed(2);
  const int64_t Q = 7, K = 3, L = 5;
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  const auto cls = at::randn({Q, L + 1}, opts), logits = at::randn({Q, 12, 16}, opts) * 4;
  const auto tmasks = (at::rand({K, 48, 64}, opts) > 0.5).to(at::kDouble);
  const auto labels = at::tensor({4, 0, 4}, at::kLong);
  const auto points = at::rand({1, 500, 2}, opts);
  CriterionOptions one, two;
  one.matcher_class_weight = 1.0;
  two.matcher_class_weight = 2.0;
  const auto a = match_image(cls, logits, tmasks, labels, points, one);
  const auto b = match_image(cls, logits, tmasks, labels, points, two);
  EXPECT_LE(max_abs(b.costs.total - a.costs.total, a.costs.class_cost), 1e-12);
  EXPECT_TRUE(a.costs.mask.equal(b.costs.mask));
  EXPECT_TRUE(a.costs.dice.equal(b.costs.dice));
  // The class term is minus the softmax probability of the target's class.
  EXPECT_LE(max_abs(a.costs.class_cost, -cls.softmax(-1).index_select(1, labels)), 1e-15);
  EXPECT_EQ(a.pred.numel(), K);
}

TEST(Criterion, PointSources) {
  UniformPointSource a(42), b(42), c(43);
  const auto x = a.rand({3, 100, 2}, at::kFloat);
  EXPECT_TRUE(x.equal(b.rand({3, 100, 2}, at::kFloat)));
  EXPECT_FALSE(x.equal(c.rand({3, 100, 2}, at::kFloat)));
  EXPECT_FALSE(x.equal(a.rand({3, 100, 2}, at::kFloat)));  // the generator advances
  EXPECT_GE(x.min().item<float>(), 0.0f);
  EXPECT_LT(x.max().item<float>(), 1.0f);

  ReplayPointSource r({at::zeros({1, 4, 2}), at::ones({2, 3, 2})});
  EXPECT_TRUE(r.rand({1, 4, 2}, at::kDouble).equal(at::zeros({1, 4, 2}, at::kDouble)));
  EXPECT_THAT(error_message([&] { r.rand({2, 4, 2}, at::kFloat); }),
              HasSubstr("ReplayPointSource: draw 1 expects shape [2,4,2], the saved tensor has [2,3,2]"));
  EXPECT_THAT(error_message([&] { r.rand({1, 4, 2}, at::kFloat); }), HasSubstr("all saved draws are used"));
}

TEST(Criterion, InvalidInputsAreErrors) {
  CriterionOptions bad;
  bad.importance_sample_ratio = 1.5;
  EXPECT_THAT(error_message([&] { Mask2FormerCriterion c(bad); }), HasSubstr("importance_sample_ratio"));
  Mask2FormerCriterion criterion;
  Targets t;
  t.masks = {at::zeros({1, 8, 8})};
  t.labels = {at::tensor({3}, at::kLong)};
  EXPECT_THAT(error_message([&] { criterion.forward({at::zeros({1, 2, 4})}, {at::zeros({1, 2, 4, 4})}, t); }),
              HasSubstr("target label outside [0, 3)"));
  EXPECT_THAT(error_message([&] { criterion.forward({at::zeros({1, 2, 4})}, {at::zeros({1, 3, 4, 4})}, t); }),
              HasSubstr("mask logits of set 0 are [1,3,4,4], expected [1, 2, h, w]"));
  EXPECT_THAT(error_message([&] { criterion.forward({at::zeros({2, 2, 4})}, {at::zeros({2, 2, 4, 4})}, t); }),
              HasSubstr("1 target masks and 1 label sets for a batch of 2"));
}
