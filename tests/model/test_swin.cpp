// Swin backbone parity with Hugging Face Transformers on the golden fixture
// (../shared/golden/m2f_tiny: produced by HF's SwinBackbone inside Mask2Former).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/swin.h"
#include "rgbdseg/model/weights.h"
#include "test_paths.h"

using namespace rgbdseg;
using ::testing::HasSubstr;

namespace {

model::SwinOptions golden_options() {
  // m2f_tiny/config.json backbone_config (+ SwinConfig defaults for the absent keys).
  model::SwinOptions o;
  o.embed_dim = 32;
  o.depths = {2, 2, 2, 2};
  o.num_heads = {1, 2, 4, 8};
  return o;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace

TEST(Swin, MatchesHuggingFaceOnGoldenFixture) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/m2f_tiny");
  const auto weights = read_safetensors(dir + "/weights.safetensors");
  const auto io = read_safetensors(dir + "/io.safetensors");
  model::SwinBackbone swin(golden_options());
  swin->eval();
  const auto report = model::load_weights(*swin, weights, "model.pixel_level_module.encoder.", "weights.safetensors");
  EXPECT_TRUE(report.missing.empty()) << report.missing.front();
  EXPECT_TRUE(report.unexpected.empty()) << report.unexpected.front();
  EXPECT_EQ(report.loaded, 8u * 18 + 4 + 9 + 8);  // 8 blocks x 18 tensors, 4 embedding, 3x3 merging, 4x2 norms
  const auto pixels = model::to_tensor(*io.find("pixel_values"));
  for (auto dtype : {at::kFloat, at::kDouble}) {
    SCOPED_TRACE(dtype == at::kFloat ? "float32" : "float64");
    swin->to(dtype);
    at::NoGradGuard no_grad;
    const model::SwinFeatures f = swin->forward(pixels.to(dtype));
    // Tolerance from DESIGN.md: 1e-4 in float32 against HF's float32 outputs.
    EXPECT_LT(max_abs_diff(f.embeddings, model::to_tensor(*io.find("debug.swin.embeddings"))), 1e-4);
    for (int s = 0; s < 4; ++s) {
      const std::string n = std::to_string(s + 1);
      EXPECT_LT(max_abs_diff(f.pre_norm[s], model::to_tensor(*io.find("debug.swin.stage" + n + ".pre_norm"))), 1e-4)
          << "stage " << n << " before its norm";
      EXPECT_LT(max_abs_diff(f.maps[s], model::to_tensor(*io.find("backbone.stage" + n))), 1e-4) << "stage " << n;
    }
  }
}

TEST(Swin, RelativePositionIndexEqualsTheStoredBuffer) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/m2f_tiny/weights.safetensors");
  const auto weights = read_safetensors(dir);
  model::SwinBackbone swin(golden_options());
  const std::string key = "encoder.layers.2.blocks.1.attention.self.relative_position_index";
  const auto ours = swin->named_buffers()[key];
  const auto stored = model::to_tensor(*weights.find("model.pixel_level_module.encoder." + key));
  EXPECT_TRUE(at::equal(ours, stored));
}

TEST(Swin, OddSizesBatchesAndTrainMode) {
  model::SwinOptions o = golden_options();
  model::SwinBackbone swin(o);
  for (auto [h, w] : {std::pair<int64_t, int64_t>{97, 45}, {33, 200}, {4, 4}}) {
    const auto x = at::randn({3, 3, h, w});
    const auto f = swin->forward(x);
    int64_t eh = (h + 3) / 4, ew = (w + 3) / 4;
    for (int s = 0; s < 4; ++s) {
      EXPECT_EQ(f.maps[s].sizes(), (at::IntArrayRef{3, o.stage_channels(s), eh, ew})) << h << "x" << w << " stage " << s;
      eh = (eh + 1) / 2;
      ew = (ew + 1) / 2;
    }
    EXPECT_FALSE(at::isnan(f.maps[3]).any().item<bool>());
  }
  // Images of a batch do not influence each other.
  const auto x = at::randn({2, 3, 40, 56});
  const auto both = swin->forward(x).maps[2];
  const auto one = swin->forward(x.slice(0, 1, 2)).maps[2];
  EXPECT_LT((both.slice(0, 1, 2) - one).abs().max().item<double>(), 1e-5);
}

TEST(Swin, ShapeMismatchWhenLoadingNamesTheKey) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/m2f_tiny/weights.safetensors");
  const auto weights = read_safetensors(dir);
  model::SwinOptions wrong = golden_options();
  wrong.embed_dim = 48;
  wrong.num_heads = {1, 2, 4, 8};
  model::SwinBackbone swin(wrong);
  try {
    model::load_weights(*swin, weights, "model.pixel_level_module.encoder.", "weights.safetensors");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("weights.safetensors: tensor 'model.pixel_level_module.encoder."));
    EXPECT_THAT(e.what(), HasSubstr("the model expects"));
  }
}
