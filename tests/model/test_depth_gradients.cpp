// Hole-aware depth gradients: exact Sobel responses on ramps, holes that never
// become edges, scale invariance in log-depth, robustness with no valid depth.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "rgbdseg/model/autocast.h"
#include "rgbdseg/model/depth_gradients.h"

using namespace rgbdseg;

namespace {
model::DepthGradientOptions raw() {
  model::DepthGradientOptions o;
  o.norm_percentile = 0;
  return o;
}
}  // namespace

TEST(DepthGradients, RampGivesTheSobelResponseEverywhereInside) {
  // depth = 1 + 0.01 * x: Sobel x-response is 8 * 0.01 (kernel weights 1 + 2 + 1 on each side).
  const auto x = at::arange(16, at::kDouble).view({1, 1, 1, 16}).expand({1, 1, 12, 16});
  const auto d = model::depth_gradients(1.0 + 0.01 * x, raw());
  const auto inner = d.magnitude.slice(2, 1, 11).slice(3, 1, 15);
  EXPECT_NEAR(inner.min().item<double>(), 0.08, 1e-9);
  EXPECT_NEAR(inner.max().item<double>(), 0.08, 1e-9);
  EXPECT_EQ(d.valid.sum().item<double>(), 10.0 * 14.0);  // the 1-pixel image border has no full stencil
  EXPECT_EQ(d.magnitude.select(3, 0).abs().max().item<double>(), 0.0);
}

TEST(DepthGradients, HolesAndTheirNeighboursAreNeverEdges) {
  auto depth = at::full({1, 1, 9, 9}, 2.0, at::kDouble);
  depth.index_put_({0, 0, 4, 4}, 0.0);  // one missing reading
  const auto d = model::depth_gradients(depth, raw());
  // A plain Sobel would see a 2 m step around the hole; here its 3x3 neighbourhood is masked.
  EXPECT_EQ(d.valid.slice(2, 3, 6).slice(3, 3, 6).sum().item<double>(), 0.0);
  EXPECT_LT(d.magnitude.max().item<double>(), 1e-5);  // flat elsewhere
  // Non-finite readings count as holes too.
  depth.index_put_({0, 0, 2, 2}, NAN);
  EXPECT_FALSE(at::isnan(model::depth_gradients(depth, raw()).magnitude).any().item<bool>());
}

TEST(DepthGradients, LogDepthIsScaleInvariant) {
  at::manual_seed(0);
  const auto depth = 0.5 + at::rand({2, 1, 16, 20}, at::kDouble) * 3;
  model::DepthGradientOptions o = raw();
  o.log_depth = true;
  const auto a = model::depth_gradients(depth, o).magnitude, b = model::depth_gradients(depth * 4.0, o).magnitude;
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-9);
}

TEST(DepthGradients, NormalisedWithNoValidDepthOrFlatDepthStaysFinite) {
  const auto none = model::depth_gradients(at::zeros({2, 1, 8, 8}));
  EXPECT_EQ(none.magnitude.abs().max().item<double>(), 0.0);
  EXPECT_EQ(none.valid.sum().item<double>(), 0.0);
  model::DepthGradientOptions smooth;
  smooth.smooth_sigma = 1.0;
  const auto flat = model::depth_gradients(at::full({1, 1, 8, 8}, 1.5), smooth);
  EXPECT_FALSE(at::isnan(flat.magnitude).any().item<bool>());
  EXPECT_LE(flat.magnitude.max().item<double>(), 1.0);
  // A step edge after normalisation reaches 1 at the edge.
  auto step = at::full({1, 1, 8, 8}, 1.0);
  step.slice(3, 4, 8).fill_(2.0);
  EXPECT_NEAR(model::depth_gradients(step).magnitude.max().item<double>(), 1.0, 1e-6);
}

TEST(DepthGradients, GradientsReachTheDepthWithoutNaN) {
  auto depth = (1.0 + at::rand({1, 1, 10, 10}, at::kDouble)).requires_grad_(true);
  {
    at::NoGradGuard g;
    depth.index_put_({0, 0, 5, 5}, 0.0);  // a hole
  }
  model::DepthGradientOptions o;
  o.smooth_sigma = 0.8;
  o.log_depth = true;
  model::depth_gradients(depth, o).magnitude.sum().backward();
  EXPECT_FALSE(at::isnan(depth.grad()).any().item<bool>());
  EXPECT_GT(depth.grad().abs().sum().item<double>(), 0.0);
}

TEST(DepthGradients, Bf16AutocastLeavesDepthArithmeticInFloat32) {
  // A table seen at a slant: 1.2-1.6 m, rising 1.5 mm a pixel, with a 10 cm step
  // (an object's edge). bf16 keeps 8 bits (7.8 mm steps at 1-2 m), so a Sobel
  // in bf16 would turn the smooth slope into quantisation contours.
  const auto x = at::arange(48, at::kFloat).view({1, 1, 1, 48}).expand({1, 1, 40, 48});
  auto depth = (1.2 + 0.0015 * x).contiguous();
  depth.slice(2, 10, 30).slice(3, 20, 34).sub_(0.1);
  for (const bool smoothed : {false, true}) {
    model::DepthGradientOptions o;
    if (smoothed) o.smooth_sigma = 1.0;
    const auto f32 = model::depth_gradients(depth, o);
    model::DepthGradients bf16_run;
    {
      const model::CpuAutocast autocast(true);
      bf16_run = model::depth_gradients(depth, o);
      EXPECT_TRUE(at::autocast::is_cpu_enabled()) << "autocast must be restored on return";
    }
    EXPECT_EQ(bf16_run.magnitude.scalar_type(), at::kFloat);
    EXPECT_TRUE(at::equal(bf16_run.magnitude, f32.magnitude)) << "smoothed " << smoothed;
    EXPECT_TRUE(at::equal(bf16_run.valid, f32.valid));
  }
  // What the guard prevents, for the record: the same Sobel in bf16 is far off on the slope.
  const auto slope = depth.slice(2, 1, 9).slice(3, 1, 47);
  const auto sobel = at::tensor({-1.0f, 0.0f, 1.0f, -2.0f, 0.0f, 2.0f, -1.0f, 0.0f, 1.0f}).view({1, 1, 3, 3});
  const auto exact = at::conv2d(slope, sobel);
  const auto coarse = at::conv2d(slope.to(at::kBFloat16), sobel.to(at::kBFloat16)).to(at::kFloat);
  EXPECT_NEAR(exact.mean().item<double>(), 8 * 0.0015, 1e-5);
  EXPECT_GT((coarse - exact).abs().max().item<double>(), 0.5 * 8 * 0.0015);
}

TEST(DepthGradients, RowQuantileBySelectionIsTorchsNanquantileBitForBit) {
  at::manual_seed(3);
  for (const int64_t n : {1, 2, 7, 1000, 100003}) {
    auto x = at::rand({5, n}) * 10;
    x.masked_fill_(at::rand({5, n}) < 0.3, NAN);  // holes
    x[1].fill_(NAN);                               // no valid value at all
    x[2].fill_(NAN);
    x[2][n / 2] = 4.25;                            // one valid value
    x[3].copy_(at::round(x[3]));                   // ties
    for (const double q : {0.0, 0.02, 0.3, 0.5, 0.75, 0.9, 0.98, 0.999, 1.0}) {
      const auto expected = at::nanquantile(x, q, 1, /*keepdim=*/true);
      const auto got = model::row_nanquantile(x, q);
      ASSERT_EQ(got.sizes(), expected.sizes());
      EXPECT_TRUE(at::allclose(got, expected, /*rtol=*/0, /*atol=*/0, /*equal_nan=*/true))
          << "n=" << n << " q=" << q << "\n" << got << "\n" << expected;
    }
  }
  EXPECT_THROW(model::row_nanquantile(at::rand({4}), 0.5), std::exception);
  EXPECT_THROW(model::row_nanquantile(at::rand({2, 4}), 1.5), std::exception);
}

TEST(DepthGradients, SeparableSobelIsThe3x3ConvolutionsOnHolesAndBorders) {
  // The unoptimised path, written out: 3x3 Sobel and box convolutions with zero padding.
  at::manual_seed(5);
  auto depth = 0.4 + at::rand({2, 1, 23, 31}, at::kDouble) * 4;
  depth.masked_fill_(at::rand({2, 1, 23, 31}, at::kDouble) < 0.15, 0.0);
  depth[1][0][4].fill_(NAN);
  const auto valid = at::isfinite(depth).logical_and(depth > 0).to(at::kDouble);
  const auto z = at::where(valid > 0, depth, at::ones_like(depth)) * valid;
  const auto sx = at::tensor({-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0}, at::kDouble).view({1, 1, 3, 3});
  const auto gx = at::conv2d(z, sx, {}, 1, 1), gy = at::conv2d(z, sx.transpose(2, 3).contiguous(), {}, 1, 1);
  const auto stencil = (at::conv2d(valid, at::ones({1, 1, 3, 3}, at::kDouble), {}, 1, 1) > 8.5).to(at::kDouble);
  const auto expected = at::sqrt(gx * gx + gy * gy + 1e-12) * stencil;
  const auto got = model::depth_gradients(depth, raw());
  EXPECT_TRUE(at::equal(got.valid, stencil));
  EXPECT_LT((got.magnitude - expected).abs().max().item<double>(), 1e-12);
  EXPECT_GT(stencil.sum().item<double>(), 100.0);  // the case has edges and holes on both sides
  EXPECT_LT(stencil.sum().item<double>(), 0.9 * 2 * 23 * 31);
}
