#pragma once
// Swin Transformer backbone exactly as Hugging Face's SwinBackbone computes it
// for Mask2Former (modeling_swin.py, always_partition=True): patch embedding
// with right/bottom padding, windowed attention with relative position bias
// and shifted windows (the window stays 7 even on maps smaller than 7x7: they
// are padded), patch merging, and per-stage output LayerNorms. Submodules are
// registered under HF's key names, so HF safetensors load by name.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace rgbdseg::model {

struct SwinOptions {
  int64_t embed_dim = 96;
  std::vector<int64_t> depths = {2, 2, 6, 2};
  std::vector<int64_t> num_heads = {3, 6, 12, 24};
  int64_t window_size = 7;
  int64_t patch_size = 4;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double layer_norm_eps = 1e-5;
  int64_t in_channels = 3;

  static SwinOptions tiny() { return {}; }
  static SwinOptions small() { return {96, {2, 2, 18, 2}, {3, 6, 12, 24}}; }
  static SwinOptions base() { return {128, {2, 2, 18, 2}, {4, 8, 16, 32}, 12}; }
  static SwinOptions large() { return {192, {2, 2, 18, 2}, {6, 12, 24, 48}, 12}; }
  int64_t stage_channels(size_t stage) const { return embed_dim << stage; }
  void validate() const;  // throws rgbdseg::Error
};

// Feature maps before each patch merging, after that stage's LayerNorm: NCHW,
// strides 4, 8, 16, 32. `pre_norm` keeps the same maps before the norm (for parity tests).
struct SwinFeatures {
  std::vector<at::Tensor> maps;
  std::vector<at::Tensor> pre_norm;
  at::Tensor embeddings;  // [B, H/4*W/4, C] after the patch-embedding LayerNorm
};

class SwinLayerImpl : public torch::nn::Module {
 public:
  SwinLayerImpl(int64_t dim, int64_t heads, int64_t window, int64_t shift, double mlp_ratio, bool qkv_bias, double eps);
  // x: [B, H*W, C] tokens, row-major.
  at::Tensor forward(const at::Tensor& x, int64_t height, int64_t width);

 private:
  at::Tensor attention(const at::Tensor& windows, const at::Tensor& mask);  // [nW*B, N, C]
  at::Tensor shift_mask(int64_t height_pad, int64_t width_pad, const at::TensorOptions& options) const;
  int64_t dim_, heads_, window_, shift_;
  torch::nn::LayerNorm layernorm_before_{nullptr}, layernorm_after_{nullptr};
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, attn_out_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
  at::Tensor relative_position_bias_table_, relative_position_index_;
};
TORCH_MODULE(SwinLayer);

class SwinPatchMergingImpl : public torch::nn::Module {
 public:
  explicit SwinPatchMergingImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x, int64_t height, int64_t width);  // -> [B, ceil(H/2)*ceil(W/2), 2C]

 private:
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear reduction_{nullptr};
};
TORCH_MODULE(SwinPatchMerging);

class SwinBackboneImpl : public torch::nn::Module {
 public:
  explicit SwinBackboneImpl(SwinOptions options);
  // pixel_values: [B, 3, H, W] (any H, W).
  SwinFeatures forward(const at::Tensor& pixel_values);
  const SwinOptions& options() const { return options_; }

 private:
  SwinOptions options_;
  torch::nn::Conv2d projection_{nullptr};
  torch::nn::LayerNorm embeddings_norm_{nullptr};
  std::vector<std::vector<SwinLayer>> blocks_;
  std::vector<SwinPatchMerging> downsample_;
  std::vector<torch::nn::LayerNorm> stage_norms_;
};
TORCH_MODULE(SwinBackbone);

}  // namespace rgbdseg::model
