// Multi-scale deformable attention: the CPU kernel against an independent
// float64 loop reference, against the grid_sample formulation Hugging Face
// uses, and its backward against central finite differences.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/ops/ms_deform_attn.h"

using namespace rgbdseg;
using ::testing::HasSubstr;

namespace {

struct Problem {
  at::Tensor value, shapes, starts, loc, attn;
};

// Levels 3x4 and 2x2 (+ optionally 1x3), locations spread beyond [0, 1] so that
// zero padding is exercised, softmax-normalised weights.
Problem make_problem(at::ScalarType dtype, int64_t B = 2, int64_t Q = 5, int64_t heads = 2, int64_t D = 3,
                     int64_t P = 3, uint64_t seed = 0) {
  at::manual_seed(seed);
  Problem p;
  p.shapes = at::tensor({3, 4, 2, 2, 1, 3}, at::kLong).view({3, 2});
  p.starts = at::tensor({0, 12, 16}, at::kLong);
  const int64_t S = 12 + 4 + 3, L = 3;
  const auto opt = at::TensorOptions().dtype(dtype);
  p.value = at::randn({B, S, heads, D}, opt);
  p.loc = at::rand({B, Q, heads, L, P, 2}, opt) * 1.4 - 0.2;
  p.attn = at::softmax(at::randn({B, Q, heads, L * P}, opt), -1).view({B, Q, heads, L, P});
  return p;
}

// Plain loops in double: bilinear sampling with zeros outside, pixel centre
// convention of grid_sample(align_corners=false): pixel i covers [i, i+1) in
// units of 1/W, so location u maps to u*W - 0.5.
at::Tensor naive_forward(const Problem& p) {
  const auto v = p.value.to(at::kDouble), loc = p.loc.to(at::kDouble), attn = p.attn.to(at::kDouble);
  const int64_t B = v.size(0), heads = v.size(2), D = v.size(3), Q = loc.size(1), L = loc.size(3), P = loc.size(4);
  auto out = at::zeros({B, Q, heads * D}, at::kDouble);
  auto va = v.accessor<double, 4>();
  auto la = loc.accessor<double, 6>();
  auto aa = attn.accessor<double, 5>();
  auto oa = out.accessor<double, 3>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t q = 0; q < Q; ++q)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t l = 0; l < L; ++l) {
          const int64_t H = p.shapes[l][0].item<int64_t>(), W = p.shapes[l][1].item<int64_t>();
          const int64_t start = p.starts[l].item<int64_t>();
          for (int64_t k = 0; k < P; ++k) {
            const double x = la[b][q][h][l][k][0] * W - 0.5, y = la[b][q][h][l][k][1] * H - 0.5;
            for (int64_t yy = 0; yy < H; ++yy)
              for (int64_t xx = 0; xx < W; ++xx) {
                // Bilinear weight of pixel (xx, yy): the tent function in each axis.
                const double wx = std::max(0.0, 1 - std::fabs(x - xx)), wy = std::max(0.0, 1 - std::fabs(y - yy));
                if (wx == 0 || wy == 0) continue;
                for (int64_t c = 0; c < D; ++c)
                  oa[b][q][h * D + c] += aa[b][q][h][l][k] * wx * wy * va[b][start + yy * W + xx][h][c];
              }
          }
        }
  return out;
}

}  // namespace

TEST(MsDeformAttn, ForwardMatchesNaiveLoopsInDouble) {
  const Problem p = make_problem(at::kDouble);
  const auto ours = ops::ms_deform_attn_forward_cpu(p.value, p.shapes, p.starts, p.loc, p.attn);
  const auto ref = naive_forward(p);
  EXPECT_LT((ours - ref).abs().max().item<double>(), 1e-12);
  EXPECT_GT(ref.abs().max().item<double>(), 0.1);  // not trivially zero
}

TEST(MsDeformAttn, ForwardMatchesGridSampleReference) {
  for (auto dtype : {at::kDouble, at::kFloat}) {
    const Problem p = make_problem(dtype, 2, 7, 3, 4, 2, 1);
    const auto ours = ops::ms_deform_attn(p.value, p.shapes, p.starts, p.loc, p.attn);
    const auto ref = ops::ms_deform_attn_reference(p.value, p.shapes, p.loc, p.attn);
    ASSERT_EQ(ours.sizes(), ref.sizes());
    EXPECT_LT((ours - ref).abs().max().item<double>(), dtype == at::kDouble ? 1e-12 : 1e-5);
  }
}

TEST(MsDeformAttn, SamplesOutsideTheMapAreZero) {
  Problem p = make_problem(at::kDouble);
  p.loc.fill_(1.6);  // 1.6 * W - 0.5 > W for every level: all four corners outside
  EXPECT_EQ(ops::ms_deform_attn_forward_cpu(p.value, p.shapes, p.starts, p.loc, p.attn).abs().max().item<double>(), 0.0);
  // Exactly on a pixel centre: the value itself.
  p.loc.select(-1, 0).fill_(0.5 / 4);  // x centre of column 0 at level 0 (W = 4)
  p.loc.select(-1, 1).fill_(0.5 / 3);  // y centre of row 0 (H = 3)
  p.attn.zero_();
  p.attn.select(3, 0).select(3, 0).fill_(1.0);  // level 0, point 0 only
  const auto out = ops::ms_deform_attn_forward_cpu(p.value, p.shapes, p.starts, p.loc, p.attn);
  const int64_t D = p.value.size(3);
  EXPECT_LT((out[0][0].slice(0, 0, D) - p.value[0][0][0]).abs().max().item<double>(), 1e-15);
}

TEST(MsDeformAttn, BackwardMatchesFiniteDifferences) {
  Problem p = make_problem(at::kDouble, 1, 3, 2, 2, 2, 2);
  const auto weights = at::randn({1, 3, 4}, at::kDouble);  // loss = sum(out * weights)
  auto loss_of = [&](const at::Tensor& v, const at::Tensor& loc, const at::Tensor& attn) {
    return (ops::ms_deform_attn_forward_cpu(v, p.shapes, p.starts, loc, attn) * weights).sum().item<double>();
  };
  const auto v = p.value.clone().requires_grad_(true);
  const auto loc = p.loc.clone().requires_grad_(true);
  const auto attn = p.attn.clone().requires_grad_(true);
  (ops::ms_deform_attn(v, p.shapes, p.starts, loc, attn) * weights).sum().backward();
  const double eps = 1e-6;
  // Central differences for every element of each input (tolerance: eps^2 truncation + rounding).
  auto check = [&](const at::Tensor& x, const at::Tensor& grad, int which) {
    const auto flat = x.detach().clone().contiguous().view(-1);
    double worst = 0;
    for (int64_t i = 0; i < flat.numel(); ++i) {
      auto plus = flat.clone(), minus = flat.clone();
      plus[i] += eps;
      minus[i] -= eps;
      auto as = [&](const at::Tensor& f) { return f.view(x.sizes()); };
      const at::Tensor vv = which == 0 ? as(plus) : p.value, lv = which == 1 ? as(plus) : p.loc, av = which == 2 ? as(plus) : p.attn;
      const at::Tensor vm = which == 0 ? as(minus) : p.value, lm = which == 1 ? as(minus) : p.loc, am = which == 2 ? as(minus) : p.attn;
      const double fd = (loss_of(vv, lv, av) - loss_of(vm, lm, am)) / (2 * eps);
      worst = std::max(worst, std::fabs(fd - grad.contiguous().view(-1)[i].item<double>()));
    }
    return worst;
  };
  EXPECT_LT(check(p.value, v.grad(), 0), 1e-7);
  EXPECT_LT(check(p.loc, loc.grad(), 1), 1e-6);  // locations: piecewise bilinear, away from kinks
  EXPECT_LT(check(p.attn, attn.grad(), 2), 1e-7);
  EXPECT_GT(loc.grad().abs().max().item<double>(), 1e-3);
}

TEST(MsDeformAttn, BackwardMatchesGridSampleAutograd) {
  const Problem p = make_problem(at::kDouble, 2, 6, 2, 3, 3, 3);
  const auto w = at::randn({2, 6, 6}, at::kDouble);
  auto grads = [&](bool reference) {
    const auto v = p.value.clone().requires_grad_(true), l = p.loc.clone().requires_grad_(true),
               a = p.attn.clone().requires_grad_(true);
    const auto out = reference ? ops::ms_deform_attn_reference(v, p.shapes, l, a)
                               : ops::ms_deform_attn(v, p.shapes, p.starts, l, a);
    (out * w).sum().backward();
    return std::vector<at::Tensor>{v.grad(), l.grad(), a.grad()};
  };
  const auto ours = grads(false), ref = grads(true);
  for (size_t i = 0; i < 3; ++i) EXPECT_LT((ours[i] - ref[i]).abs().max().item<double>(), 1e-10) << "input " << i;
}

TEST(MsDeformAttn, SameResultOnOneOrTwoThreads) {
  const Problem p = make_problem(at::kFloat, 2, 40, 4, 8, 4, 4);
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = ops::ms_deform_attn_forward_cpu(p.value, p.shapes, p.starts, p.loc, p.attn);
  const auto g1 = ops::ms_deform_attn_backward_cpu(at::ones_like(one), p.value, p.shapes, p.starts, p.loc, p.attn);
  at::set_num_threads(2);
  const auto two = ops::ms_deform_attn_forward_cpu(p.value, p.shapes, p.starts, p.loc, p.attn);
  const auto g2 = ops::ms_deform_attn_backward_cpu(at::ones_like(two), p.value, p.shapes, p.starts, p.loc, p.attn);
  at::set_num_threads(before);
  EXPECT_TRUE(at::equal(one, two));
  EXPECT_TRUE(at::equal(g1.value, g2.value));
  EXPECT_TRUE(at::equal(g1.sampling_locations, g2.sampling_locations));
}

TEST(MsDeformAttn, BadInputsSayExpectedVersusGot) {
  const Problem p = make_problem(at::kFloat);
  try {
    ops::ms_deform_attn(p.value.flatten(2), p.shapes, p.starts, p.loc, p.attn);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("value must be [B, S, heads, D], got [2,19,6]"));
  }
  try {
    ops::ms_deform_attn(p.value, p.shapes, at::tensor({0, 12, 15}, at::kLong), p.loc, p.attn);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("level_start_index[2] is 15, expected 16"));
  }
  try {
    ops::ms_deform_attn(p.value.to(at::kDouble), p.shapes, p.starts, p.loc, p.attn);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("must share a dtype"));
  }
  // Empty batch: an empty result, no crash.
  const Problem e = make_problem(at::kFloat, 0, 3);
  EXPECT_EQ(ops::ms_deform_attn(e.value, e.shapes, e.starts, e.loc, e.attn).numel(), 0);
}
