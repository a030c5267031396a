#include "rgbdseg/model/swin.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/padding.h>

#include <cmath>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/norms.h"
#include "rgbdseg/model/key_scope.h"

namespace rgbdseg::model {

namespace F = torch::nn::functional;

void SwinOptions::validate() const {
  if (embed_dim <= 0 || window_size <= 0 || patch_size <= 0) throw Error("swin: sizes must be positive");
  if (depths.size() != num_heads.size() || depths.empty()) {
    throw Error("swin: depths and num_heads must have the same, non-zero length");
  }
  for (size_t s = 0; s < depths.size(); ++s) {
    if (stage_channels(s) % num_heads[s] != 0) {
      throw Error("swin: stage " + std::to_string(s + 1) + " has " + std::to_string(stage_channels(s)) +
                  " channels, not divisible by " + std::to_string(num_heads[s]) + " heads");
    }
  }
}

namespace {

// [B, H, W, C] -> [B*nW, ws, ws, C]
at::Tensor window_partition(const at::Tensor& x, int64_t ws) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  return x.view({B, H / ws, ws, W / ws, ws, C}).permute({0, 1, 3, 2, 4, 5}).contiguous().view({-1, ws, ws, C});
}

// [B*nW, ws, ws, C] -> [B, H, W, C]
at::Tensor window_reverse(const at::Tensor& windows, int64_t ws, int64_t H, int64_t W) {
  const int64_t C = windows.size(3);
  return windows.view({-1, H / ws, W / ws, ws, ws, C}).permute({0, 1, 3, 2, 4, 5}).contiguous().view({-1, H, W, C});
}

}  // namespace

SwinLayerImpl::SwinLayerImpl(int64_t dim, int64_t heads, int64_t window, int64_t shift, double mlp_ratio,
                             bool qkv_bias, double eps)
    : dim_(dim), heads_(heads), window_(window), shift_(shift) {
  layernorm_before_ = register_module("layernorm_before", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps)));
  auto attention = key_scope(*this, "attention");
  auto self = key_scope(*attention, "self");
  query_ = self->register_module("query", torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(qkv_bias)));
  key_ = self->register_module("key", torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(qkv_bias)));
  value_ = self->register_module("value", torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(qkv_bias)));
  relative_position_bias_table_ =
      self->register_parameter("relative_position_bias_table", at::zeros({(2 * window - 1) * (2 * window - 1), heads}));
  // Standard Swin index: (dy + w - 1) * (2w - 1) + (dx + w - 1) for every pair of window positions.
  const auto coords = at::stack(at::meshgrid({at::arange(window), at::arange(window)}, "ij")).flatten(1);  // [2, N]
  auto rel = (coords.unsqueeze(2) - coords.unsqueeze(1)).permute({1, 2, 0}).contiguous();  // [N, N, 2]
  rel = rel + (window - 1);
  relative_position_index_ = self->register_buffer(
      "relative_position_index", rel.select(2, 0) * (2 * window - 1) + rel.select(2, 1));
  auto output = key_scope(*attention, "output");
  attn_out_ = output->register_module("dense", torch::nn::Linear(dim, dim));
  layernorm_after_ = register_module("layernorm_after", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps)));
  const auto hidden = static_cast<int64_t>(mlp_ratio * dim);
  fc1_ = key_scope(*this, "intermediate")->register_module("dense", torch::nn::Linear(dim, hidden));
  fc2_ = key_scope(*this, "output")->register_module("dense", torch::nn::Linear(hidden, dim));
}

at::Tensor SwinLayerImpl::shift_mask(int64_t Hp, int64_t Wp, const at::TensorOptions& options) const {
  // Label the three bands [0, H-w), [H-w, H-s), [H-s, H) on each axis; pairs of
  // positions from different regions of the rolled map must not attend.
  auto img = at::zeros({1, Hp, Wp, 1}, options);
  const int64_t hb[4] = {0, Hp - window_, Hp - shift_, Hp}, wb[4] = {0, Wp - window_, Wp - shift_, Wp};
  double count = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      if (hb[i + 1] > hb[i] && wb[j + 1] > wb[j]) {
        img.slice(1, hb[i], hb[i + 1]).slice(2, wb[j], wb[j + 1]).fill_(count);
      }
      count += 1;
    }
  const auto windows = window_partition(img, window_).view({-1, window_ * window_});
  const auto diff = windows.unsqueeze(1) - windows.unsqueeze(2);
  return at::where(diff != 0, at::full({}, -100.0, options), at::zeros({}, options));
}

at::Tensor SwinLayerImpl::attention(const at::Tensor& windows, const at::Tensor& mask) {
  const int64_t BW = windows.size(0), N = windows.size(1), hd = dim_ / heads_;
  auto split = [&](const at::Tensor& t) { return t.view({BW, N, heads_, hd}).permute({0, 2, 1, 3}); };
  const auto q = split(query_->forward(windows)), k = split(key_->forward(windows)), v = split(value_->forward(windows));
  auto scores = at::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(hd));
  // Module::to(dtype) converts integer buffers too; the index is small and exact either way.
  const auto index = relative_position_index_.scalar_type() == at::kLong ? relative_position_index_
                                                                          : relative_position_index_.to(at::kLong);
  const auto bias = relative_position_bias_table_.index_select(0, index.view(-1))
                        .view({N, N, heads_})
                        .permute({2, 0, 1});
  scores = scores + bias.unsqueeze(0);
  if (mask.defined()) {
    const int64_t nW = mask.size(0);
    scores = (scores.view({BW / nW, nW, heads_, N, N}) + mask.unsqueeze(1).unsqueeze(0)).view({-1, heads_, N, N});
  }
  const auto context = at::matmul(at::softmax(scores, -1), v).permute({0, 2, 1, 3}).contiguous().view({BW, N, dim_});
  return attn_out_->forward(context);
}

at::Tensor SwinLayerImpl::forward(const at::Tensor& x, int64_t H, int64_t W) {
  const int64_t B = x.size(0), C = x.size(2);
  auto h = apply_norm(layernorm_before_, x).view({B, H, W, C});
  // Pad right/bottom to whole windows (after the norm: padding tokens are zeros).
  const int64_t pad_r = (window_ - W % window_) % window_, pad_b = (window_ - H % window_) % window_;
  if (pad_r > 0 || pad_b > 0) h = F::pad(h, F::PadFuncOptions({0, 0, 0, pad_r, 0, pad_b}));
  const int64_t Hp = H + pad_b, Wp = W + pad_r;
  if (shift_ > 0) h = at::roll(h, {-shift_, -shift_}, {1, 2});
  const auto windows = window_partition(h, window_).view({-1, window_ * window_, C});
  const auto mask = shift_ > 0 ? shift_mask(Hp, Wp, x.options()) : at::Tensor();
  auto out = window_reverse(attention(windows, mask).view({-1, window_, window_, C}), window_, Hp, Wp);
  if (shift_ > 0) out = at::roll(out, {shift_, shift_}, {1, 2});
  if (pad_r > 0 || pad_b > 0) out = out.slice(1, 0, H).slice(2, 0, W).contiguous();
  const auto hidden = x + out.view({B, H * W, C});
  return hidden + fc2_->forward(F::gelu(fc1_->forward(apply_norm(layernorm_after_, hidden))));
}

SwinPatchMergingImpl::SwinPatchMergingImpl(int64_t dim, double eps) {
  reduction_ = register_module("reduction", torch::nn::Linear(torch::nn::LinearOptions(4 * dim, 2 * dim).bias(false)));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({4 * dim}).eps(eps)));
}

at::Tensor SwinPatchMergingImpl::forward(const at::Tensor& x, int64_t H, int64_t W) {
  const int64_t B = x.size(0), C = x.size(2);
  auto h = x.view({B, H, W, C});
  if (H % 2 || W % 2) h = F::pad(h, F::PadFuncOptions({0, 0, 0, W % 2, 0, H % 2}));
  auto phase = [&](int64_t r, int64_t c) { return h.slice(1, r, h.size(1), 2).slice(2, c, h.size(2), 2); };
  // (even row, even col), (odd, even), (even, odd), (odd, odd), as HF concatenates them.
  h = at::cat({phase(0, 0), phase(1, 0), phase(0, 1), phase(1, 1)}, -1).view({B, -1, 4 * C});
  return reduction_->forward(apply_norm(norm_, h));
}

SwinBackboneImpl::SwinBackboneImpl(SwinOptions options) : options_(std::move(options)) {
  options_.validate();
  const auto& o = options_;
  auto embeddings = key_scope(*this, "embeddings");
  projection_ = key_scope(*embeddings, "patch_embeddings")
                    ->register_module("projection", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_channels, o.embed_dim,
                                                                                                 o.patch_size)
                                                                          .stride(o.patch_size)));
  embeddings_norm_ = embeddings->register_module(
      "norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.embed_dim}).eps(o.layer_norm_eps)));
  auto layers = key_scope(*key_scope(*this, "encoder"), "layers");
  auto norms = key_scope(*this, "hidden_states_norms");
  for (size_t s = 0; s < o.depths.size(); ++s) {
    const int64_t dim = o.stage_channels(s);
    auto stage = key_scope(*layers, std::to_string(s));
    auto blocks = key_scope(*stage, "blocks");
    blocks_.emplace_back();
    for (int64_t b = 0; b < o.depths[s]; ++b) {
      blocks_.back().push_back(blocks->register_module(
          std::to_string(b), SwinLayer(dim, o.num_heads[s], o.window_size, b % 2 ? o.window_size / 2 : 0, o.mlp_ratio,
                                       o.qkv_bias, o.layer_norm_eps)));
    }
    if (s + 1 < o.depths.size()) {
      downsample_.push_back(stage->register_module("downsample", SwinPatchMerging(dim, o.layer_norm_eps)));
    }
    stage_norms_.push_back(norms->register_module(
        "stage" + std::to_string(s + 1), torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(o.layer_norm_eps))));
  }
}

SwinFeatures SwinBackboneImpl::forward(const at::Tensor& pixel_values) {
  const auto& o = options_;
  if (pixel_values.dim() != 4 || pixel_values.size(1) != o.in_channels) {
    throw Error("swin: expected pixel_values [B, " + std::to_string(o.in_channels) + ", H, W]");
  }
  auto x = pixel_values;
  const int64_t pad_r = (o.patch_size - x.size(3) % o.patch_size) % o.patch_size;
  const int64_t pad_b = (o.patch_size - x.size(2) % o.patch_size) % o.patch_size;
  if (pad_r > 0 || pad_b > 0) x = F::pad(x, F::PadFuncOptions({0, pad_r, 0, pad_b}));
  x = projection_->forward(x);
  int64_t H = x.size(2), W = x.size(3);
  const int64_t B = x.size(0);
  x = apply_norm(embeddings_norm_, x.flatten(2).transpose(1, 2));
  SwinFeatures out;
  out.embeddings = x;
  for (size_t s = 0; s < blocks_.size(); ++s) {
    for (auto& block : blocks_[s]) x = block->forward(x, H, W);
    const int64_t C = x.size(2);
    auto to_map = [&](const at::Tensor& t) { return t.view({B, H, W, C}).permute({0, 3, 1, 2}).contiguous(); };
    out.pre_norm.push_back(to_map(x));
    out.maps.push_back(to_map(apply_norm(stage_norms_[s], x)));
    if (s < downsample_.size()) {
      x = downsample_[s]->forward(x, H, W);
      H = (H + 1) / 2;
      W = (W + 1) / 2;
    }
  }
  return out;
}

}  // namespace rgbdseg::model
