#pragma once
// E-DSAM's window-ratio predictor: a few strided convolutions over the depth
// map average-pooled by `input_stride` (scale-free: log depth minus the
// image's mean log depth, plus the validity fraction), global pooling and a
// small MLP, then r = min + (max - min) * sigmoid(z). The research code's
// predictor runs at full resolution (~144 GMAC at 640x640, more than the
// backbone); this one costs a few MFLOPs. It stays in the autograd graph (the
// research code cuts it with .item()), so it trains through the soft windows.
#include <ATen/core/Tensor.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

namespace rgbdseg::model {

struct RatioPredictorOptions {
  double min_ratio = 0.01;
  double max_ratio = 0.5;
  int64_t input_stride = 8;
  int64_t channels = 32;
  double initial_ratio = 0.1;  // the output before training (DSAM's fixed default)
};

class RatioPredictorImpl : public torch::nn::Module {
 public:
  explicit RatioPredictorImpl(RatioPredictorOptions options);
  // depth, valid: [B, 1, H, W] (metres, 0/1). Returns the ratio [B].
  at::Tensor forward(const at::Tensor& depth, const at::Tensor& valid);
  const RatioPredictorOptions& options() const { return options_; }

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::Linear hidden{nullptr}, out{nullptr};

 private:
  RatioPredictorOptions options_;
};
TORCH_MODULE(RatioPredictor);

}  // namespace rgbdseg::model
