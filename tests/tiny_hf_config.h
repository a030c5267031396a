#pragma once
// A tiny Mask2Former in Hugging Face's config.json format (~0.2 M parameters),
// for tests that train, run or benchmark a whole model in milliseconds.
// Training relabels it for the dataset's classes.
namespace rgbdseg::testing {

inline constexpr const char* kTinyHfConfig = R"({"model_type": "mask2former",
  "backbone_config": {"model_type": "swin", "embed_dim": 8, "depths": [1, 1, 1, 1], "num_heads": [1, 1, 1, 1],
                      "window_size": 4},
  "feature_size": 32, "mask_feature_size": 32, "hidden_dim": 32, "encoder_layers": 1, "decoder_layers": 2,
  "num_queries": 8, "num_attention_heads": 2, "dim_feedforward": 64, "encoder_feedforward_dim": 64,
  "num_labels": 80})";

}  // namespace rgbdseg::testing
