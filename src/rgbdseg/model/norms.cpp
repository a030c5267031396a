#include "rgbdseg/model/norms.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>

#include "rgbdseg/core/error.h"

namespace rgbdseg::model {

at::Tensor apply_norm(torch::nn::LayerNorm& norm, const at::Tensor& x) {
  const auto dtype = norm->weight.defined() ? norm->weight.scalar_type() : x.scalar_type();
  return norm->forward(x.scalar_type() == dtype ? x : x.to(dtype));
}

at::Tensor apply_sequential(torch::nn::Sequential& seq, const at::Tensor& input) {
  at::Tensor x = input;
  for (const auto& m : seq->children()) {
    if (auto* gn = m->as<torch::nn::GroupNormImpl>()) {
      const auto dtype = gn->weight.defined() ? gn->weight.scalar_type() : x.scalar_type();
      x = gn->forward(x.scalar_type() == dtype ? x : x.to(dtype));
    } else if (auto* conv = m->as<torch::nn::Conv2dImpl>()) {
      x = conv->forward(x);
    } else if (auto* relu = m->as<torch::nn::ReLUImpl>()) {
      x = relu->forward(x);
    } else {
      throw Error("apply_sequential: unsupported layer " + m->name());
    }
  }
  return x;
}

}  // namespace rgbdseg::model
