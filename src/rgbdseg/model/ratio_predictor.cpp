#include "rgbdseg/model/ratio_predictor.h"

#include <ATen/ATen.h>

#include <cmath>

#include "rgbdseg/core/error.h"

namespace rgbdseg::model {

RatioPredictorImpl::RatioPredictorImpl(RatioPredictorOptions o) : options_(o) {
  if (!(o.min_ratio > 0 && o.max_ratio > o.min_ratio)) throw Error("ratio predictor: need 0 < min_ratio < max_ratio");
  if (!(o.initial_ratio > o.min_ratio && o.initial_ratio < o.max_ratio)) {
    throw Error("ratio predictor: initial_ratio must lie inside (min_ratio, max_ratio)");
  }
  if (o.input_stride < 1 || o.channels < 1) throw Error("ratio predictor: need input_stride >= 1 and channels >= 1");
  const int64_t c = o.channels;
  auto conv = [](int64_t in, int64_t out) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(2).padding(1));
  };
  conv1 = register_module("conv1", conv(2, c));
  conv2 = register_module("conv2", conv(c, c));
  conv3 = register_module("conv3", conv(c, c));
  hidden = register_module("hidden", torch::nn::Linear(c, c));
  out = register_module("out", torch::nn::Linear(c, 1));
  // Start at initial_ratio with a small random last layer: the first steps
  // behave like DSAM with a fixed ratio, and every layer gets gradients.
  torch::NoGradGuard no_grad;
  out->weight.normal_(0, 0.01);
  const double p = (o.initial_ratio - o.min_ratio) / (o.max_ratio - o.min_ratio);
  out->bias.fill_(std::log(p / (1 - p)));
}

at::Tensor RatioPredictorImpl::forward(const at::Tensor& depth, const at::Tensor& valid) {
  if (depth.dim() != 4 || depth.size(1) != 1 || !valid.sizes().equals(depth.sizes())) {
    throw Error("ratio predictor: expected depth and valid [B, 1, H, W]");
  }
  const int64_t B = depth.size(0), s = options_.input_stride;
  const auto dtype = conv1->weight.scalar_type();
  const auto ok = valid.to(dtype);
  const auto d = at::where(ok > 0.5, depth.to(dtype), at::ones_like(ok));
  // ceil_mode keeps the whole image for sizes that are no multiple of the stride.
  const auto v = at::avg_pool2d(ok, {s, s}, {s, s}, {0, 0}, /*ceil_mode=*/true);
  const auto log_sum = at::avg_pool2d(at::log(d) * ok, {s, s}, {s, s}, {0, 0}, true);
  const auto log_depth = log_sum / v.clamp_min(1e-6);
  // Relative depth: the window ratio is a relative width, so the input is too.
  const auto mean = (log_depth * v).sum({1, 2, 3}, true) / v.sum({1, 2, 3}, true).clamp_min(1e-6);
  const auto x = at::cat({(log_depth - mean) * (v > 0).to(dtype), v}, 1);
  auto h = at::relu(conv1->forward(x));
  h = at::relu(conv2->forward(h));
  h = at::relu(conv3->forward(h));
  h = h.mean({2, 3});
  const auto z = out->forward(at::relu(hidden->forward(h))).view({B});
  return options_.min_ratio + (options_.max_ratio - options_.min_ratio) * at::sigmoid(z);
}

}  // namespace rgbdseg::model
