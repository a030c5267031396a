#include "rgbdseg/model/transformer_decoder.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/upsampling.h>

#include <cmath>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/norms.h"
#include "rgbdseg/model/pixel_decoder.h"
#include "rgbdseg/model/key_scope.h"

namespace rgbdseg::model {

namespace F = torch::nn::functional;

namespace {

// Multi-head attention, sequence-first [L, B, C] in and out; q, k, v already
// projected. mask: [B*heads, Lq, Lk] bool, true = blocked (or undefined).
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads, const at::Tensor& mask) {
  const int64_t Lq = q.size(0), Lk = k.size(0), B = q.size(1), C = q.size(2), hd = C / heads;
  auto split = [&](const at::Tensor& t, int64_t L) { return t.reshape({L, B * heads, hd}).transpose(0, 1); };
  auto scores = at::bmm(split(q, Lq) / std::sqrt(static_cast<double>(hd)), split(k, Lk).transpose(1, 2));
  if (mask.defined()) scores = scores.masked_fill(mask, -std::numeric_limits<double>::infinity());
  const auto out = at::bmm(at::softmax(scores, -1), split(v, Lk));  // [B*heads, Lq, hd]
  return out.transpose(0, 1).reshape({Lq, B, C});
}

}  // namespace

MaskedAttentionDecoderLayerImpl::MaskedAttentionDecoderLayerImpl(const TransformerDecoderOptions& o) : heads_(o.heads) {
  const int64_t C = o.hidden_dim;
  if (C % o.heads != 0) throw Error("transformer decoder: hidden_dim is not divisible by the number of heads");
  // Cross-attention as torch.nn.MultiheadAttention stores it (packed q, k, v projections).
  auto cross = key_scope(*this, "cross_attn");
  in_proj_weight_ = cross->register_parameter("in_proj_weight", at::empty({3 * C, C}));
  in_proj_bias_ = cross->register_parameter("in_proj_bias", at::zeros({3 * C}));
  cross_out_ = cross->register_module("out_proj", torch::nn::Linear(C, C));
  {
    at::NoGradGuard g;
    const double bound = std::sqrt(6.0 / (C + 3 * C));  // xavier_uniform_ on [3C, C]
    in_proj_weight_.uniform_(-bound, bound);
  }
  cross_norm_ = register_module("cross_attn_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C}).eps(o.layer_norm_eps)));
  auto self = key_scope(*this, "self_attn");
  q_proj_ = self->register_module("q_proj", torch::nn::Linear(C, C));
  k_proj_ = self->register_module("k_proj", torch::nn::Linear(C, C));
  v_proj_ = self->register_module("v_proj", torch::nn::Linear(C, C));
  self_out_ = self->register_module("out_proj", torch::nn::Linear(C, C));
  self_norm_ = register_module("self_attn_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C}).eps(o.layer_norm_eps)));
  fc1_ = register_module("fc1", torch::nn::Linear(C, o.ffn_dim));
  fc2_ = register_module("fc2", torch::nn::Linear(o.ffn_dim, C));
  final_norm_ = register_module("final_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C}).eps(o.layer_norm_eps)));
}

at::Tensor MaskedAttentionDecoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& query_pos,
                                                    const at::Tensor& memory, const at::Tensor& memory_pos,
                                                    const at::Tensor& mask) {
  const int64_t C = x.size(2);
  const auto w = in_proj_weight_.split(C, 0);
  const auto b = in_proj_bias_.split(C, 0);
  // Masked cross-attention: queries with their positions, keys with the map's, values plain.
  const auto q = at::linear(x + query_pos, w[0], b[0]);
  const auto k = at::linear(memory + memory_pos, w[1], b[1]);
  const auto v = at::linear(memory, w[2], b[2]);
  auto h = apply_norm(cross_norm_, x + cross_out_->forward(attend(q, k, v, heads_, mask)));
  // Self-attention among queries.
  const auto qk = h + query_pos;
  h = apply_norm(self_norm_, 
      h + self_out_->forward(attend(q_proj_->forward(qk), k_proj_->forward(qk), v_proj_->forward(h), heads_, {})));
  return apply_norm(final_norm_, h + fc2_->forward(at::relu(fc1_->forward(h))));
}

TransformerDecoderImpl::TransformerDecoderImpl(TransformerDecoderOptions o) : options_(std::move(o)) {
  const auto& op = options_;
  queries_embedder_ = register_module("queries_embedder", torch::nn::Embedding(op.num_queries, op.hidden_dim));
  queries_features_ = register_module("queries_features", torch::nn::Embedding(op.num_queries, op.hidden_dim));
  level_embed_ = register_module("level_embed", torch::nn::Embedding(op.levels, op.hidden_dim));
  auto decoder = key_scope(*this, "decoder");
  auto layers = key_scope(*decoder, "layers");
  for (int64_t i = 0; i < op.layers; ++i) {
    layers_.push_back(layers->register_module(std::to_string(i), MaskedAttentionDecoderLayer(op)));
  }
  layernorm_ = decoder->register_module("layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({op.hidden_dim}).eps(op.layer_norm_eps)));
  // mask_predictor.mask_embedder.{0,1,2}.0: a 3-layer MLP (ReLU between), HF's prediction blocks.
  auto mlp = key_scope(*key_scope(*decoder, "mask_predictor"), "mask_embedder");
  for (int i = 0; i < 3; ++i) {
    const int64_t out_dim = i < 2 ? op.hidden_dim : op.mask_feature_size;
    mask_mlp_.push_back(key_scope(*mlp, std::to_string(i))->register_module("0", torch::nn::Linear(op.hidden_dim, out_dim)));
  }
}

std::pair<at::Tensor, at::Tensor> TransformerDecoderImpl::predict(const at::Tensor& normed,
                                                                  const at::Tensor& mask_features,
                                                                  at::IntArrayRef size) {
  auto e = normed.transpose(0, 1);  // [B, Q, C]
  for (size_t i = 0; i < mask_mlp_.size(); ++i) {
    e = mask_mlp_[i]->forward(e);
    if (i + 1 < mask_mlp_.size()) e = at::relu(e);
  }
  const auto logits = at::einsum("bqc,bchw->bqhw", {e, mask_features});
  const auto resized = F::interpolate(logits, F::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>(size.begin(), size.end()))
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false));
  const int64_t B = logits.size(0), Q = logits.size(1);
  const auto blocked = (resized.sigmoid().flatten(2) < 0.5)
                           .unsqueeze(1)
                           .expand({B, options_.heads, Q, resized.size(2) * resized.size(3)})
                           .reshape({B * options_.heads, Q, -1});
  return {logits, blocked.detach()};
}

TransformerDecoderOutput TransformerDecoderImpl::forward(const std::vector<at::Tensor>& multi_scale,
                                                         const at::Tensor& mask_features) {
  const auto& op = options_;
  if (static_cast<int64_t>(multi_scale.size()) != op.levels) throw Error("transformer decoder: wrong number of maps");
  const int64_t B = mask_features.size(0);
  std::vector<at::Tensor> memory, memory_pos;
  std::vector<std::vector<int64_t>> sizes;
  for (int64_t l = 0; l < op.levels; ++l) {
    const auto& m = multi_scale[static_cast<size_t>(l)];
    if (m.size(1) != op.hidden_dim) {
      throw Error("transformer decoder: maps have " + std::to_string(m.size(1)) + " channels, hidden_dim is " +
                  std::to_string(op.hidden_dim) + " (input projections are not supported)");
    }
    sizes.push_back({m.size(2), m.size(3)});
    memory_pos.push_back(sine_position_embedding(m, op.hidden_dim / 2).flatten(2).permute({2, 0, 1}));
    memory.push_back((m.flatten(2) + level_embed_->weight[l].view({1, -1, 1})).permute({2, 0, 1}));
  }
  const auto query_pos = queries_embedder_->weight.unsqueeze(1).repeat({1, B, 1});
  auto x = queries_features_->weight.unsqueeze(1).repeat({1, B, 1});
  TransformerDecoderOutput out;
  auto normed = apply_norm(layernorm_, x);
  out.intermediate.push_back(normed);
  auto [logits, mask] = predict(normed, mask_features, sizes[0]);
  out.mask_logits.push_back(logits);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const size_t level = i % static_cast<size_t>(op.levels);
    // A query whose mask blocks everything attends everywhere instead.
    const auto full = mask.all(-1, /*keepdim=*/true);
    mask = mask.logical_and(full.logical_not());
    out.attention_masks.push_back(mask);
    x = layers_[i]->forward(x, query_pos, memory[level], memory_pos[level], mask);
    out.layer_outputs.push_back(x);
    normed = apply_norm(layernorm_, x);
    out.intermediate.push_back(normed);
    std::tie(logits, mask) = predict(normed, mask_features, sizes[(i + 1) % static_cast<size_t>(op.levels)]);
    out.mask_logits.push_back(logits);
  }
  out.last_hidden_state = x.transpose(0, 1);
  return out;
}

}  // namespace rgbdseg::model
