#include "rgbdseg/model/dsam.h"

#include <ATen/ATen.h>

#include <cmath>

#include "rgbdseg/core/error.h"

namespace rgbdseg::model {

DsamBlockImpl::DsamBlockImpl(DsamBlockOptions o) : options_(o) {
  if (o.regions < 1 || (o.kernel_size != 1 && o.kernel_size != 3)) throw Error("DSAM: need regions >= 1 and kernel_size 1 or 3");
  auto conv = [&](bool bias) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_channels, o.out_channels, o.kernel_size)
                                 .stride(2).padding(o.kernel_size / 2).bias(bias));
  };
  branches = register_module("branches", torch::nn::ModuleList());
  for (int64_t t = 0; t < o.regions; ++t) branches->push_back(conv(true));
  projection = register_module("projection", conv(false));
  // The block's output is added to a pretrained backbone map: start it at about
  // a tenth of that map's scale (PyTorch's default init would match it and wash
  // out what the pretrained decoder expects), never at zero, so that the
  // window ratio receives gradients from the first step.
  torch::NoGradGuard no_grad;
  const double fan_in = static_cast<double>(o.in_channels * o.kernel_size * o.kernel_size * (o.regions + 1));
  for (auto& p : parameters()) {
    if (p.dim() > 1) p.normal_(0, 0.1 / std::sqrt(fan_in));
    else p.zero_();
  }
}

at::Tensor DsamBlockImpl::forward(const at::Tensor& feature, const at::Tensor& regions) {
  if (feature.dim() != 4 || feature.size(1) != options_.in_channels) {
    throw Error("DSAM: expected a feature map with " + std::to_string(options_.in_channels) + " channels");
  }
  if (regions.dim() != 4 || regions.size(1) != options_.regions || regions.size(0) != feature.size(0)) {
    throw Error("DSAM: expected " + std::to_string(options_.regions) + " region maps per image");
  }
  const auto pooled = std::get<0>(at::adaptive_max_pool2d(regions, {feature.size(2), feature.size(3)})).to(feature.scalar_type());
  std::vector<at::Tensor> inputs, weights;
  at::Tensor bias;
  for (int64_t t = 0; t < options_.regions; ++t) {
    auto* branch = branches[t]->as<torch::nn::Conv2dImpl>();
    inputs.push_back(feature * pooled.slice(1, t, t + 1));
    weights.push_back(branch->weight);
    bias = bias.defined() ? bias + branch->bias : branch->bias;
  }
  inputs.push_back(feature);
  weights.push_back(projection->weight);
  // sum_t W_t * x_t == [W_0 .. W_R] * [x_0 .. x_R] (concatenated along input channels).
  const int64_t k = options_.kernel_size;
  return at::conv2d(at::cat(inputs, 1), at::cat(weights, 1), bias, {2, 2}, {k / 2, k / 2});
}

}  // namespace rgbdseg::model
