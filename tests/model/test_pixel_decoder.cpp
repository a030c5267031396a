// Pixel decoder parity with Hugging Face's Mask2FormerPixelDecoder on the
// golden fixture, fed with HF's own backbone features (and end to end from pixels).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "rgbdseg/model/pixel_decoder.h"
#include "rgbdseg/model/swin.h"
#include "rgbdseg/model/weights.h"
#include "test_paths.h"

using namespace rgbdseg;

namespace {

model::PixelDecoderOptions golden_options() {
  // m2f_tiny/config.json: feature_size 64, mask_feature_size 64, encoder_layers 2,
  // encoder_feedforward_dim 128, num_attention_heads 4; Swin stage channels 32..256.
  model::PixelDecoderOptions o;
  o.in_channels = {32, 64, 128, 256};
  o.feature_size = 64;
  o.mask_feature_size = 64;
  o.encoder_layers = 2;
  o.encoder_ffn_dim = 128;
  o.heads = 4;
  return o;
}

double diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace

TEST(PixelDecoder, MatchesHuggingFaceOnGoldenFixture) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/m2f_tiny");
  const auto weights = read_safetensors(dir + "/weights.safetensors");
  const auto io = read_safetensors(dir + "/io.safetensors");
  auto golden = [&](const std::string& k) { return model::to_tensor(*io.find(k)); };
  model::PixelDecoder decoder(golden_options());
  decoder->eval();
  const auto report = model::load_weights(*decoder, weights, "model.pixel_level_module.decoder.", "weights.safetensors");
  EXPECT_TRUE(report.missing.empty()) << report.missing.front();
  EXPECT_TRUE(report.unexpected.empty()) << report.unexpected.front();
  std::vector<at::Tensor> features;
  for (int s = 1; s <= 4; ++s) features.push_back(golden("backbone.stage" + std::to_string(s)));
  at::NoGradGuard no_grad;
  const auto out = decoder->forward(features);
  EXPECT_TRUE(at::equal(out.spatial_shapes, golden("debug.pixel_decoder.spatial_shapes")));
  EXPECT_LT(diff(out.encoder_input, golden("debug.pixel_decoder.encoder_input")), 1e-4);
  EXPECT_LT(diff(out.position_embeddings, golden("debug.pixel_decoder.pos_embed")), 1e-5);
  EXPECT_LT(diff(out.reference_points, golden("debug.pixel_decoder.reference_points")), 1e-7);
  EXPECT_LT(diff(out.encoder_output, golden("debug.pixel_decoder.encoder_output")), 1e-4);
  for (int l = 0; l < 3; ++l) {
    EXPECT_LT(diff(out.multi_scale[static_cast<size_t>(l)], golden("pixel_decoder.multi_scale." + std::to_string(l))), 1e-4)
        << "level " << l;
  }
  EXPECT_LT(diff(out.mask_features, golden("pixel_decoder.mask_features")), 1e-4);

  // End to end from pixels through our Swin: the same within the same tolerance.
  model::SwinOptions so;
  so.embed_dim = 32;
  so.depths = {2, 2, 2, 2};
  so.num_heads = {1, 2, 4, 8};
  model::SwinBackbone swin(so);
  swin->eval();
  model::load_weights(*swin, weights, "model.pixel_level_module.encoder.", "weights.safetensors");
  const auto chained = decoder->forward(swin->forward(golden("pixel_values")).maps);
  EXPECT_LT(diff(chained.mask_features, golden("pixel_decoder.mask_features")), 1e-4);
  EXPECT_LT(diff(chained.multi_scale[0], golden("pixel_decoder.multi_scale.0")), 1e-4);
}

TEST(PixelDecoder, OddSizesAndGradientsReachTheBackboneMaps) {
  model::PixelDecoder decoder(golden_options());
  std::vector<at::Tensor> features;
  const int64_t h = 25, w = 19;  // stride-4 map of an odd image
  int64_t hh = h, ww = w;
  for (int64_t c : {32, 64, 128, 256}) {
    features.push_back(at::randn({2, c, hh, ww}).requires_grad_(true));
    hh = (hh + 1) / 2;
    ww = (ww + 1) / 2;
  }
  const auto out = decoder->forward(features);
  EXPECT_EQ(out.mask_features.sizes(), (at::IntArrayRef{2, 64, h, w}));
  EXPECT_EQ(out.multi_scale[0].sizes(), (at::IntArrayRef{2, 64, 4, 3}));
  out.mask_features.sum().backward();
  for (const auto& f : features) {
    ASSERT_TRUE(f.grad().defined());
    EXPECT_GT(f.grad().abs().sum().item<double>(), 0.0);
    EXPECT_FALSE(at::isnan(f.grad()).any().item<bool>());
  }
}
