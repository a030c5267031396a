#pragma once
// DGGM, the Depth Gradient Guidance Module: per backbone scale, the depth
// gradient map (hole-aware, see depth_gradients.h) and its validity are pooled
// to the scale, a learned gate decides from both how much of each edge to
// trust (0 wherever no valid depth exists), and a small processor turns the
// gated edges into a feature residual added to the backbone map. Unlike the
// research code (binary mask gate, 1x1 conv processor) the gate is learned
// and the processor has a hidden layer; the channel width is configurable.
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>

namespace rgbdseg::model {

struct DggmOptions {
  std::vector<int64_t> channels;  // backbone channels per scale (Swin-T: 96, 192, 384, 768)
  int64_t hidden_channels = 32;
};

// One scale: gate = sigmoid(conv1x1(relu(conv3x3([g, v])))) * v; residual =
// conv1x1(relu(conv3x3(gate * g))).
class DggmScaleImpl : public torch::nn::Module {
 public:
  DggmScaleImpl(int64_t channels, int64_t hidden);
  // magnitude, valid: [B, 1, h, w] at this scale (valid = fraction of valid stencils).
  // Returns the residual [B, C, h, w] and (for inspection) the gate [B, 1, h, w].
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& magnitude, const at::Tensor& valid);

  torch::nn::Conv2d gate_hidden{nullptr}, gate_out{nullptr}, process_hidden{nullptr}, process_out{nullptr};
};
TORCH_MODULE(DggmScale);

class DggmImpl : public torch::nn::Module {
 public:
  explicit DggmImpl(DggmOptions options);
  // magnitude, valid: [B, 1, H, W] at input resolution; maps: the backbone maps
  // (only their sizes are used). Returns one residual per map.
  std::vector<at::Tensor> forward(const at::Tensor& magnitude, const at::Tensor& valid,
                                  const std::vector<at::Tensor>& maps);

  torch::nn::ModuleList scales{nullptr};
  const DggmOptions& options() const { return options_; }

 private:
  DggmOptions options_;
};
TORCH_MODULE(Dggm);

}  // namespace rgbdseg::model
