#pragma once
// Finite-difference gradient check (central differences, float64): compares
// autograd's gradient of a scalar function with numerical derivatives at a
// few entries of a tensor. The tensor is perturbed in place and restored.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <functional>

namespace rgbdseg::testing {

// x: a float64 leaf with requires_grad. Checks up to `entries` entries spread over x.
inline void expect_gradient_matches_finite_differences(const std::function<at::Tensor()>& f, at::Tensor x,
                                                       int entries = 6, double eps = 1e-6, double tolerance = 1e-5) {
  ASSERT_EQ(x.scalar_type(), at::kDouble);
  const auto y = f();
  const auto grad = torch::autograd::grad({y}, {x}, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                          /*allow_unused=*/true)[0];
  const auto g = grad.defined() ? grad.reshape(-1) : at::zeros({x.numel()}, x.options());
  auto flat = x.detach().view(-1);
  const int64_t n = x.numel();
  for (int e = 0; e < entries && e < n; ++e) {
    const int64_t i = (n <= entries) ? e : (e * (n - 1)) / (entries - 1);
    const double old = flat[i].item<double>();
    double plus, minus;
    {
      at::NoGradGuard no_grad;
      flat[i].fill_(old + eps);
      plus = f().item<double>();
      flat[i].fill_(old - eps);
      minus = f().item<double>();
      flat[i].fill_(old);
    }
    const double numeric = (plus - minus) / (2 * eps), analytic = g[i].item<double>();
    EXPECT_NEAR(analytic, numeric, tolerance * std::max(1.0, std::abs(numeric))) << "entry " << i;
  }
}

}  // namespace rgbdseg::testing
