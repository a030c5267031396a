// Transformer decoder and class head parity with Hugging Face on the golden
// fixture: every prediction set's class and mask logits, the attention masks
// each layer used, layer outputs and the last hidden state.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>

#include "rgbdseg/model/transformer_decoder.h"
#include "rgbdseg/model/weights.h"
#include "test_paths.h"

using namespace rgbdseg;

namespace {

double diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

model::TransformerDecoderOptions golden_options() {
  // m2f_tiny/config.json: hidden_dim 64, num_attention_heads 4, dim_feedforward 128,
  // decoder_layers 4 (=> 3 layers), num_queries 10, mask_feature_size 64.
  model::TransformerDecoderOptions o;
  o.hidden_dim = 64;
  o.heads = 4;
  o.ffn_dim = 128;
  o.layers = 3;
  o.num_queries = 10;
  o.mask_feature_size = 64;
  return o;
}

}  // namespace

TEST(TransformerDecoder, MatchesHuggingFaceOnGoldenFixture) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/m2f_tiny");
  const auto weights = read_safetensors(dir + "/weights.safetensors");
  const auto io = read_safetensors(dir + "/io.safetensors");
  auto golden = [&](const std::string& k) { return model::to_tensor(*io.find(k)); };
  model::TransformerDecoder decoder(golden_options());
  decoder->eval();
  const auto report = model::load_weights(*decoder, weights, "model.transformer_module.", "weights.safetensors");
  EXPECT_TRUE(report.missing.empty()) << report.missing.front();
  EXPECT_TRUE(report.unexpected.empty()) << report.unexpected.front();
  torch::nn::Linear class_predictor(64, 8);
  const auto class_report = model::load_weights(*class_predictor, weights, "class_predictor.", "weights.safetensors");
  EXPECT_EQ(class_report.loaded, 2u);

  at::NoGradGuard no_grad;
  const auto out = decoder->forward(
      {golden("pixel_decoder.multi_scale.0"), golden("pixel_decoder.multi_scale.1"), golden("pixel_decoder.multi_scale.2")},
      golden("pixel_decoder.mask_features"));
  ASSERT_EQ(out.mask_logits.size(), 4u);
  for (int l = 0; l < 3; ++l) {
    const std::string n = std::to_string(l);
    EXPECT_TRUE(at::equal(out.attention_masks[static_cast<size_t>(l)].to(at::kByte), golden("debug.decoder.attn_mask." + n)))
        << "attention mask of layer " << l;
    EXPECT_LT(diff(out.layer_outputs[static_cast<size_t>(l)], golden("debug.decoder.layer_output." + n)), 1e-4);
  }
  for (int k = 0; k < 4; ++k) {
    EXPECT_LT(diff(out.intermediate[static_cast<size_t>(k)], golden("debug.decoder.intermediate." + std::to_string(k))), 1e-4);
  }
  auto class_logits = [&](size_t k) { return class_predictor->forward(out.intermediate[k].transpose(0, 1)); };
  for (size_t i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    EXPECT_LT(diff(class_logits(i), golden("aux." + n + ".class_queries_logits")), 1e-4) << "aux " << i;
    EXPECT_LT(diff(out.mask_logits[i], golden("aux." + n + ".masks_queries_logits")), 2e-4) << "aux " << i;
  }
  EXPECT_LT(diff(class_logits(3), golden("class_queries_logits")), 1e-4);
  EXPECT_LT(diff(out.mask_logits[3], golden("masks_queries_logits")), 2e-4);  // DESIGN.md: 2e-4 on mask logits
  EXPECT_LT(diff(out.last_hidden_state, golden("transformer_decoder_last_hidden_state")), 1e-4);
}
