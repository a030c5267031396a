// The depth modules on their own: DSAM's metric depth decomposition (modes,
// soft and hard windows), the DGGM gate and processor, the DSAM block and the
// E-DSAM ratio predictor. Gradients are checked against finite differences in
// float64; degenerate depth (no reading at all, one depth value) stays finite.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "model/gradient_check.h"
#include "rgbdseg/model/depth_decomposition.h"
#include "rgbdseg/model/dggm.h"
#include "rgbdseg/model/dsam.h"
#include "rgbdseg/model/ratio_predictor.h"

using namespace rgbdseg;
using rgbdseg::testing::expect_gradient_matches_finite_differences;

namespace {

at::Tensor valid_of(const at::Tensor& depth) { return (depth > 0).to(depth.scalar_type()); }

// Left 60% of the image at 1.2 m, right 40% at 3.0 m, a little noise on both.
at::Tensor two_planes(int64_t h, int64_t w, uint64_t seed) {
  at::manual_seed(seed);
  auto d = at::full({1, 1, h, w}, 1.2, at::kDouble);
  d.slice(3, w * 6 / 10).fill_(3.0);
  return d + at::randn({1, 1, h, w}, at::kDouble) * 0.005;
}

}  // namespace

TEST(DepthDecomposition, FindsThePlanesAsModesInOrderOfSize) {
  const auto depth = two_planes(40, 50, 1);
  model::DepthDecompositionOptions o;
  const auto modes = model::find_depth_modes(depth, valid_of(depth), o);
  ASSERT_EQ(modes.centres.sizes(), (at::IntArrayRef{1, 3}));
  EXPECT_TRUE(modes.present[0][0].item<bool>());
  EXPECT_TRUE(modes.present[0][1].item<bool>());
  // Bin width (3.02 - 1.18) / 256 ~ 7 mm; smoothing moves a peak by at most a bin.
  EXPECT_NEAR(modes.centres[0][0].item<double>(), 1.2, 0.015);  // the larger plane first; at the minimum depth
  EXPECT_NEAR(modes.centres[0][1].item<double>(), 3.0, 0.015);  // at the maximum depth
}

TEST(DepthDecomposition, HardWindowsSelectEachPlaneAndTheRestIsRemaining) {
  const auto depth = two_planes(40, 50, 2);
  model::DepthDecompositionOptions o;
  o.soft_windows = false;
  o.num_modes = 2;
  const auto valid = valid_of(depth);
  const auto modes = model::find_depth_modes(depth, valid, o);
  const auto maps = model::depth_region_maps(depth, valid, modes, at::full({1}, 0.1, at::kDouble), o);
  ASSERT_EQ(maps.sizes(), (at::IntArrayRef{1, 3, 40, 50}));
  // Windows of +-5% around 1.2 m and 3.0 m hold the planes exactly (noise is 5 mm).
  EXPECT_TRUE(maps[0][0].slice(1, 0, 30).eq(1).all().item<bool>());
  EXPECT_EQ(maps[0][0].sum().item<double>(), 40.0 * 30);
  EXPECT_EQ(maps[0][1].sum().item<double>(), 40.0 * 20);
  EXPECT_EQ(maps[0][2].sum().item<double>(), 0.0);
  // A hole is in no window and in the remaining map.
  auto holed = depth.clone();
  holed.index_put_({0, 0, 5, 5}, 0.0);
  const auto m2 = model::depth_region_maps(holed, valid_of(holed), modes, at::full({1}, 0.1, at::kDouble), o);
  EXPECT_EQ(m2[0][0][5][5].item<double>(), 0.0);
  EXPECT_EQ(m2[0][2][5][5].item<double>(), 1.0);
}

TEST(DepthDecomposition, SoftWindowsApproachHardOnesAsTemperatureFalls) {
  const auto depth = 0.5 + at::rand({1, 1, 16, 16}, at::kDouble) * 4;
  const auto valid = valid_of(depth);
  model::DepthDecompositionOptions hard, soft;
  hard.soft_windows = false;
  soft.temperature = 1e-5;
  const auto modes = model::find_depth_modes(depth, valid, hard);
  const auto ratio = at::full({1}, 0.3, at::kDouble);
  const auto a = model::depth_region_maps(depth, valid, modes, ratio, hard);
  const auto b = model::depth_region_maps(depth, valid, modes, ratio, soft);
  // Equal except for pixels within a few soft edge widths of a window edge.
  EXPECT_GT((a - b).abs().lt(1e-3).to(at::kDouble).mean().item<double>(), 0.99);
}

TEST(DepthDecomposition, SoftWindowGradientMatchesFiniteDifferences) {
  at::manual_seed(3);
  auto depth = two_planes(12, 14, 3);
  depth.slice(2, 0, 6).slice(3, 0, 4).mul_(1.03);  // pixels near the window edges
  const auto valid = valid_of(depth);
  model::DepthDecompositionOptions o;
  const auto modes = model::find_depth_modes(depth, valid, o);
  const auto weights = at::randn({1, 4, 12, 14}, at::kDouble);
  auto ratio = at::full({1}, 0.07, at::kDouble).requires_grad_(true);
  const auto f = [&] { return (model::depth_region_maps(depth, valid, modes, ratio, o) * weights).sum(); };
  expect_gradient_matches_finite_differences(f, ratio, 1);
  // And the gradient is not trivially zero: the window width matters.
  const auto y = f();
  y.backward();
  EXPECT_GT(ratio.grad().abs().item<double>(), 1e-3);
}

TEST(DepthDecomposition, NoValidDepthAndSingleDepthGiveNoModesAndNoNan) {
  model::DepthDecompositionOptions o;
  // Image 0: no reading at all; image 1: every pixel at 2.5 m; image 2: NaN and inf holes.
  auto depth = at::zeros({3, 1, 9, 11});
  depth[1].fill_(2.5);
  depth[2].fill_(NAN);
  depth[2][0][0][0] = INFINITY;
  const auto valid = at::isfinite(depth).logical_and(depth > 0).to(at::kFloat);
  const auto modes = model::find_depth_modes(depth, valid, o);
  EXPECT_FALSE(modes.present.any().item<bool>());
  const auto ratio = at::full({3}, 0.1).requires_grad_(true);
  const auto maps = model::depth_region_maps(depth, valid, modes, ratio, o);
  EXPECT_FALSE(at::isnan(maps).any().item<bool>());
  EXPECT_EQ(maps.slice(1, 0, 3).abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(maps.select(1, 3).eq(1).all().item<bool>());
  maps.sum().backward();
  EXPECT_FALSE(at::isnan(ratio.grad()).any().item<bool>());
}

TEST(DepthDecomposition, BatchedEqualsOneImageAtATime) {
  at::manual_seed(4);
  const auto a = two_planes(20, 24, 5), b = 0.8 + at::rand({1, 1, 20, 24}, at::kDouble) * 5;
  const auto both = at::cat({a, b});
  model::DepthDecompositionOptions o;
  const auto batched = model::find_depth_modes(both, valid_of(both), o);
  const auto ratio = at::tensor({0.1, 0.3}, at::kDouble);
  const auto maps = model::depth_region_maps(both, valid_of(both), batched, ratio, o);
  for (int64_t i = 0; i < 2; ++i) {
    const auto one = both.slice(0, i, i + 1);
    const auto m = model::find_depth_modes(one, valid_of(one), o);
    EXPECT_TRUE(at::equal(m.present, batched.present.slice(0, i, i + 1)));
    EXPECT_TRUE(at::allclose(m.centres, batched.centres.slice(0, i, i + 1)));
    const auto r = model::depth_region_maps(one, valid_of(one), m, ratio.slice(0, i, i + 1), o);
    EXPECT_TRUE(at::allclose(r, maps.slice(0, i, i + 1)));
  }
}

TEST(Dggm, GateIsZeroWithoutValidDepthAndEdgesThenDoNotMatter) {
  at::manual_seed(5);
  model::DggmScale scale(6, 4);
  const auto magnitude = at::rand({2, 1, 5, 7});
  const auto [residual, gate] = scale->forward(magnitude, at::zeros({2, 1, 5, 7}));
  EXPECT_EQ(gate.abs().max().item<double>(), 0.0);
  const auto [residual2, gate2] = scale->forward(at::rand({2, 1, 5, 7}), at::zeros({2, 1, 5, 7}));
  EXPECT_TRUE(at::allclose(residual, residual2));
  // With valid depth the gate is learned: strictly between 0 and 1, not a copy of the mask.
  const auto [r3, g3] = scale->forward(magnitude, at::ones({2, 1, 5, 7}));
  EXPECT_GT(g3.min().item<double>(), 0.0);
  EXPECT_LT(g3.max().item<double>(), 1.0);
}

TEST(Dggm, GateAndProcessorGradientsMatchFiniteDifferences) {
  at::manual_seed(6);
  model::DggmScale scale(5, 3);
  scale->to(at::kDouble);
  const auto magnitude = at::rand({2, 1, 6, 5}, at::kDouble);
  const auto valid = (at::rand({2, 1, 6, 5}, at::kDouble) > 0.2).to(at::kDouble);
  const auto weights = at::randn({2, 5, 6, 5}, at::kDouble);
  const auto f = [&] { return (scale->forward(magnitude, valid).first * weights).sum(); };
  for (auto* p : {&scale->gate_hidden->weight, &scale->gate_out->weight, &scale->gate_out->bias,
                  &scale->process_hidden->weight, &scale->process_out->weight}) {
    expect_gradient_matches_finite_differences(f, *p);
  }
}

TEST(Dggm, OneResidualPerScaleAtThatScale) {
  model::DggmOptions o;
  o.channels = {4, 8, 16};
  model::Dggm dggm(o);
  const std::vector<at::Tensor> maps{at::zeros({2, 4, 13, 9}), at::zeros({2, 8, 7, 5}), at::zeros({2, 16, 4, 3})};
  const auto out = dggm->forward(at::rand({2, 1, 51, 35}), at::ones({2, 1, 51, 35}), maps);
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(out[i].sizes(), maps[i].sizes());
}

TEST(DsamBlock, FusedConvolutionEqualsTheSumOfBranches) {
  at::manual_seed(7);
  model::DsamBlock block(model::DsamBlockOptions{3, 5, 4, 3});
  block->to(at::kDouble);
  for (auto& p : block->parameters()) p.data().normal_();  // non-zero biases too
  const auto feature = at::randn({2, 3, 9, 7}, at::kDouble);
  const auto regions = at::rand({2, 4, 36, 28}, at::kDouble);
  const auto out = block->forward(feature, regions);
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{2, 5, 5, 4}));  // ceil(9/2), ceil(7/2): Swin's patch merging sizes
  // The research code's form: adaptive max pool of each map, one conv per branch, a projection.
  const auto pooled = std::get<0>(at::adaptive_max_pool2d(regions, {9, 7}));
  auto expected = block->projection->forward(feature);
  for (int64_t t = 0; t < 4; ++t) {
    expected = expected + block->branches[t]->as<torch::nn::Conv2dImpl>()->forward(feature * pooled.slice(1, t, t + 1));
  }
  EXPECT_LT((out - expected).abs().max().item<double>(), 1e-10);
}

TEST(RatioPredictor, StartsAtTheInitialRatioStaysInRangeAndIgnoresScale) {
  at::manual_seed(8);
  model::RatioPredictor p(model::RatioPredictorOptions{});
  p->eval();
  const auto depth = 0.5 + at::rand({3, 1, 37, 45}) * 4;
  auto valid = at::ones_like(depth);
  valid[2].zero_();  // no valid depth at all
  const auto r = p->forward(depth * valid, valid);
  ASSERT_EQ(r.sizes(), (at::IntArrayRef{3}));
  EXPECT_FALSE(at::isnan(r).any().item<bool>());
  EXPECT_NEAR(r[0].item<double>(), 0.1, 0.01);  // small random last layer around the initial bias
  // The window ratio is relative, so metres vs millimetres must not matter.
  EXPECT_LT((p->forward(depth * valid * 1000, valid) - r).abs().max().item<double>(), 1e-4);
  // Whatever the weights, the output stays inside [min_ratio, max_ratio].
  for (auto& q : p->parameters()) q.data().normal_(0, 10);
  const auto wild = p->forward(depth * valid, valid);
  EXPECT_GE(wild.min().item<float>(), 0.01f);  // saturated sigmoids give the float32 bounds
  EXPECT_LE(wild.max().item<float>(), 0.5f);
}
