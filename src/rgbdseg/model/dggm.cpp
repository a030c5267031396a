#include "rgbdseg/model/dggm.h"

#include <ATen/ATen.h>

#include "rgbdseg/core/error.h"

namespace rgbdseg::model {

namespace {
torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).padding(k / 2));
}
}  // namespace

DggmScaleImpl::DggmScaleImpl(int64_t channels, int64_t hidden) {
  gate_hidden = register_module("gate_hidden", conv(2, hidden, 3));
  gate_out = register_module("gate_out", conv(hidden, 1, 1));
  process_hidden = register_module("process_hidden", conv(1, hidden, 3));
  process_out = register_module("process_out", conv(hidden, channels, 1));
  // A small residual at the start: the pretrained decoder first sees almost
  // its usual features, yet every layer receives gradients from step one.
  torch::NoGradGuard no_grad;
  process_out->weight.normal_(0, 0.02);
  process_out->bias.zero_();
}

std::pair<at::Tensor, at::Tensor> DggmScaleImpl::forward(const at::Tensor& magnitude, const at::Tensor& valid) {
  const auto gate = at::sigmoid(gate_out->forward(at::relu(gate_hidden->forward(at::cat({magnitude, valid}, 1))))) * valid;
  const auto residual = process_out->forward(at::relu(process_hidden->forward(gate * magnitude)));
  return {residual, gate};
}

DggmImpl::DggmImpl(DggmOptions options) : options_(std::move(options)) {
  if (options_.channels.empty() || options_.hidden_channels < 1) throw Error("DGGM: needs channels and hidden_channels >= 1");
  scales = register_module("scales", torch::nn::ModuleList());
  for (const int64_t c : options_.channels) scales->push_back(DggmScale(c, options_.hidden_channels));
}

std::vector<at::Tensor> DggmImpl::forward(const at::Tensor& magnitude, const at::Tensor& valid,
                                          const std::vector<at::Tensor>& maps) {
  if (maps.size() != scales->size()) throw Error("DGGM: expected " + std::to_string(scales->size()) + " feature maps");
  std::vector<at::Tensor> out;
  const auto dtype = maps[0].scalar_type();
  for (size_t i = 0; i < maps.size(); ++i) {
    const std::vector<int64_t> size{maps[i].size(2), maps[i].size(3)};  // owned: an IntArrayRef of a braced list dangles
    // Area pooling: every input edge contributes to its cell (a bilinear 2-tap sample would skip most).
    const auto g = at::adaptive_avg_pool2d(magnitude, size).to(dtype);
    const auto v = at::adaptive_avg_pool2d(valid, size).to(dtype);
    out.push_back(scales[i]->as<DggmScaleImpl>()->forward(g, v).first);
  }
  return out;
}

}  // namespace rgbdseg::model
