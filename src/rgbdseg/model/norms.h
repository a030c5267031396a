#pragma once
// Normalisation layers that also run under reduced-precision autocast: LibTorch
// 1.13's CPU autocast leaves layer_norm/group_norm alone, and they refuse a
// bfloat16 input with float32 weights. Inputs are cast to the weights' dtype
// (float32), as Hugging Face's models effectively compute norms.
#include <ATen/core/Tensor.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/normalization.h>

namespace rgbdseg::model {

at::Tensor apply_norm(torch::nn::LayerNorm& norm, const at::Tensor& x);
// A Sequential of convolutions, GroupNorms and ReLUs, norms as above.
at::Tensor apply_sequential(torch::nn::Sequential& seq, const at::Tensor& x);

}  // namespace rgbdseg::model
