#pragma once
// DSAM, the Depth-Sensitive Attention Module, in the research code's
// cross-stage form: the feature map of stage i is multiplied by each depth
// region map (pooled to its size), each product goes through its own
// stride-2 convolution, and the sum plus a stride-2 projection of the
// unmasked map is added to stage i + 1:
//   DSAM(F) = sum_t conv_t(F * P_t) + proj(F).
// The T + 1 branch convolutions and the projection run as one convolution
// over the concatenated inputs (same arithmetic, one larger GEMM).
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>

namespace rgbdseg::model {

struct DsamBlockOptions {
  int64_t in_channels = 96;
  int64_t out_channels = 192;
  int64_t regions = 4;      // T region maps + the remaining map
  int64_t kernel_size = 3;  // 3 as in the research code; 1 is cheaper
};

class DsamBlockImpl : public torch::nn::Module {
 public:
  explicit DsamBlockImpl(DsamBlockOptions options);
  // feature: [B, C_in, h, w]; regions: [B, R, H, W] at any resolution (max-pooled
  // to h x w here). Returns [B, C_out, ceil(h/2), ceil(w/2)].
  at::Tensor forward(const at::Tensor& feature, const at::Tensor& regions);

  torch::nn::ModuleList branches{nullptr};
  torch::nn::Conv2d projection{nullptr};

 private:
  DsamBlockOptions options_;
};
TORCH_MODULE(DsamBlock);

}  // namespace rgbdseg::model
