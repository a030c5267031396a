#pragma once
// Mask2Former's masked-attention transformer decoder as Hugging Face's
// Mask2FormerTransformerModule computes it: learnable queries (content +
// position) attend, layer by layer, to the pixel decoder's three coarsest maps
// in round-robin (1/32, 1/16, 1/8), each cross-attention restricted to the
// foreground of the previous layer's mask prediction (rows that would be fully
// blocked are opened); post-norm layers: masked cross-attention, self-attention,
// FFN. A prediction head (LayerNorm -> mask MLP . mask features) runs on the
// initial queries and after every layer. Key names are HF's
// (model.transformer_module.*); the class head (top-level `class_predictor`)
// belongs to the full model.
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace rgbdseg::model {

struct TransformerDecoderOptions {
  int64_t hidden_dim = 256;
  int64_t heads = 8;
  int64_t ffn_dim = 2048;
  int64_t layers = 9;          // HF decoder_layers - 1
  int64_t num_queries = 100;
  int64_t mask_feature_size = 256;
  int64_t levels = 3;
  double layer_norm_eps = 1e-5;
};

struct TransformerDecoderOutput {
  std::vector<at::Tensor> intermediate;  // [Q, B, C] after decoder.layernorm, one per prediction set
  std::vector<at::Tensor> mask_logits;   // [B, Q, H/4, W/4], one per prediction set
  at::Tensor last_hidden_state;          // [B, Q, C], last layer output without the final norm
  std::vector<at::Tensor> attention_masks;  // [B*heads, Q, HW_l] bool, true = blocked, as used by layer l
  std::vector<at::Tensor> layer_outputs;    // [Q, B, C]
};

class MaskedAttentionDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit MaskedAttentionDecoderLayerImpl(const TransformerDecoderOptions& o);
  // Sequence-first: x, query_pos [Q, B, C]; memory, memory_pos [HW, B, C]; mask [B*heads, Q, HW] bool.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& query_pos, const at::Tensor& memory,
                     const at::Tensor& memory_pos, const at::Tensor& mask);

 private:
  int64_t heads_;
  at::Tensor in_proj_weight_, in_proj_bias_;
  torch::nn::Linear cross_out_{nullptr}, q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, self_out_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::LayerNorm cross_norm_{nullptr}, self_norm_{nullptr}, final_norm_{nullptr};
};
TORCH_MODULE(MaskedAttentionDecoderLayer);

class TransformerDecoderImpl : public torch::nn::Module {
 public:
  explicit TransformerDecoderImpl(TransformerDecoderOptions options);
  // multi_scale: the pixel decoder's maps, coarsest first; mask_features [B, C, H/4, W/4].
  TransformerDecoderOutput forward(const std::vector<at::Tensor>& multi_scale, const at::Tensor& mask_features);

 private:
  // Mask logits of a query state, and the attention mask at `size` for the next layer.
  std::pair<at::Tensor, at::Tensor> predict(const at::Tensor& normed, const at::Tensor& mask_features,
                                            at::IntArrayRef size);
  TransformerDecoderOptions options_;
  torch::nn::Embedding queries_embedder_{nullptr}, queries_features_{nullptr}, level_embed_{nullptr};
  std::vector<MaskedAttentionDecoderLayer> layers_;
  torch::nn::LayerNorm layernorm_{nullptr};
  std::vector<torch::nn::Linear> mask_mlp_;
};
TORCH_MODULE(TransformerDecoder);

}  // namespace rgbdseg::model
