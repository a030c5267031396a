// The whole Mask2Former: HF config loading, HF weights by name, parity of every
// output with Hugging Face, the real Swin-T COCO configuration's parameter count.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <nlohmann/json.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/model/mask2former.h"
#include "rgbdseg/model/weights.h"
#include "test_paths.h"

using namespace rgbdseg;
using ::testing::HasSubstr;

namespace {

double diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

int64_t count_parameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST(Mask2Former, GoldenConfigWeightsAndOutputsMatchHuggingFace) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/m2f_tiny");
  const auto options = model::load_hf_config(dir + "/config.json");
  // save_pretrained() wrote the backbone config as a diff: defaults filled in.
  EXPECT_EQ(options.swin.window_size, 7);
  EXPECT_EQ(options.swin.embed_dim, 32);
  EXPECT_EQ(options.transformer_decoder.layers, 3);
  EXPECT_EQ(options.num_labels, 7);
  model::Mask2Former m(options);
  m->eval();
  EXPECT_EQ(count_parameters(*m), 2590038);  // README: "Total parameters: 2,590,038"
  const auto weights = read_safetensors(dir + "/weights.safetensors");
  model::load_mask2former_weights(*m, weights, "weights.safetensors");
  const auto io = read_safetensors(dir + "/io.safetensors");
  auto golden = [&](const std::string& k) { return model::to_tensor(*io.find(k)); };
  at::NoGradGuard no_grad;
  const auto out = m->forward(golden("pixel_values"));
  ASSERT_EQ(out.class_logits.size(), 4u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_LT(diff(out.class_logits[i], golden("aux." + std::to_string(i) + ".class_queries_logits")), 1e-4);
    EXPECT_LT(diff(out.mask_logits[i], golden("aux." + std::to_string(i) + ".masks_queries_logits")), 2e-4);
  }
  EXPECT_LT(diff(out.class_logits[3], golden("class_queries_logits")), 1e-4);
  EXPECT_LT(diff(out.mask_logits[3], golden("masks_queries_logits")), 2e-4);
  EXPECT_LT(diff(out.pixel_decoder.mask_features, golden("pixel_decoder.mask_features")), 1e-4);
}

TEST(Mask2Former, RealSwinTinyCocoConfigHasTheExactParameterCount) {
  RGBDSEG_REQUIRE_SHARED(path, "golden/hf-configs/mask2former-swin-tiny-coco-instance.config.json");
  const auto options = model::load_hf_config(path);
  EXPECT_EQ(options.num_labels, 80);
  EXPECT_EQ(options.swin.depths, (std::vector<int64_t>{2, 2, 6, 2}));
  EXPECT_EQ(options.transformer_decoder.layers, 9);
  model::Mask2Former m(options);
  EXPECT_EQ(count_parameters(*m), 47421643);  // issue 4 / reference A2: with the 81-class head
}

TEST(Mask2Former, WeightLoadingErrorsListTheKeys) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/m2f_tiny");
  const auto options = model::load_hf_config(dir + "/config.json");
  const auto weights = read_safetensors(dir + "/weights.safetensors");
  model::Mask2Former m(options);
  // A missing tensor.
  SafetensorsFile missing = weights;
  missing.tensors.erase("model.transformer_module.decoder.layernorm.weight");
  try {
    model::load_mask2former_weights(*m, missing, "w.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("w.safetensors: missing weights: model.transformer_module.decoder.layernorm.weight"));
  }
  // An unexpected one.
  SafetensorsFile extra = weights;
  extra.tensors["model.extra.weight"] = weights.tensors.at("class_predictor.bias");
  try {
    model::load_mask2former_weights(*m, extra, "w.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unexpected weights (not in this model): model.extra.weight"));
  }
  // A wrong shape names the key and both shapes.
  SafetensorsFile wrong = weights;
  wrong.tensors["model.transformer_module.decoder.layernorm.weight"] = weights.tensors.at("class_predictor.bias");
  try {
    model::load_mask2former_weights(*m, wrong, "w.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'model.transformer_module.decoder.layernorm.weight' has shape [8], the model expects [64]"));
  }
  // A wrong dtype (integers for a float parameter).
  SafetensorsFile ints = weights;
  ints.tensors["model.transformer_module.decoder.layernorm.weight"] =
      model::from_tensor(at::zeros({64}, at::kLong));
  try {
    model::load_mask2former_weights(*m, ints, "w.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'model.transformer_module.decoder.layernorm.weight' has dtype I64, the model expects a floating-point tensor"));
  }
  // Another number of classes: the head is re-initialised, everything else loads.
  auto three = options;
  three.num_labels = 3;
  model::Mask2Former m3(three);
  model::load_mask2former_weights(*m3, weights, "w.safetensors");
  EXPECT_EQ(m3->class_predictor->weight.size(0), 4);
  EXPECT_TRUE(at::equal(m3->transformer_decoder->named_parameters()["queries_features.weight"],
                        model::to_tensor(*weights.find("model.transformer_module.queries_features.weight"))));
  model::WeightLoadOptions strict;
  strict.allow_new_class_head = false;
  EXPECT_THROW(model::load_mask2former_weights(*m3, weights, "w.safetensors", strict), Error);
}

TEST(Mask2Former, SavedStateRoundTripsUnderHfNames) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/m2f_tiny");
  const auto options = model::load_hf_config(dir + "/config.json");
  model::Mask2Former a(options), b(options);
  SafetensorsFile saved;
  for (const auto& [name, t] : model::mask2former_state(*a)) saved.tensors[name] = model::from_tensor(t);
  // The same key set as Hugging Face's file, less the loss's empty_weight.
  const auto hf = read_safetensors(dir + "/weights.safetensors");
  EXPECT_EQ(saved.tensors.size() + 1, hf.tensors.size());
  for (const auto& [name, t] : saved.tensors) EXPECT_TRUE(hf.find(name)) << name;
  model::load_mask2former_weights(*b, parse_safetensors(serialize_safetensors(saved), "round trip"), "round trip");
  const auto x = at::randn({1, 3, 64, 96});
  at::NoGradGuard g;
  a->eval();
  b->eval();
  EXPECT_TRUE(at::equal(a->forward(x).mask_logits.back(), b->forward(x).mask_logits.back()));
}

TEST(Mask2Former, OddSizesBatchesAndTrainMode) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/m2f_tiny/config.json");
  model::Mask2Former m(model::load_hf_config(dir));
  m->train();
  const auto x = at::randn({3, 3, 70, 45}).requires_grad_(true);
  const auto out = m->forward(x);
  EXPECT_EQ(out.mask_logits.back().sizes(), (at::IntArrayRef{3, 10, 18, 12}));  // ceil(70/4), ceil(45/4)
  EXPECT_EQ(out.class_logits.back().sizes(), (at::IntArrayRef{3, 10, 8}));
  (out.mask_logits.back().sum() + out.class_logits.back().sum()).backward();
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
  EXPECT_FALSE(at::isnan(x.grad()).any().item<bool>());
}

TEST(Mask2Former, RunsUnderBfloat16AutocastCloseToFloat32) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/m2f_tiny");
  model::Mask2Former m(model::load_hf_config(dir + "/config.json"));
  m->eval();
  model::load_mask2former_weights(*m, read_safetensors(dir + "/weights.safetensors"), "weights.safetensors");
  const auto x = model::to_tensor(*read_safetensors(dir + "/io.safetensors").find("pixel_values"));
  at::NoGradGuard g;
  const auto ref = m->forward(x).mask_logits.back();
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  const auto low = m->forward(x).mask_logits.back().to(at::kFloat);
  at::autocast::set_cpu_enabled(false);
  at::autocast::clear_cache();
  // bfloat16 keeps ~3 significant digits, and a few masked-attention decisions
  // near the 0.5 threshold can flip, so compare in aggregate: finite, highly
  // correlated, small mean error relative to the logits' range (~+-40).
  EXPECT_FALSE(at::isnan(low).any().item<bool>());
  const double range = ref.abs().max().item<double>();
  const double mean_err = (low - ref).abs().mean().item<double>();
  const double corr = at::corrcoef(at::stack({low.flatten(), ref.flatten()})).index({0, 1}).item<double>();
  EXPECT_LT(mean_err, 0.02 * range) << "mean |bf16 - f32| " << mean_err;
  EXPECT_GT(corr, 0.99) << "correlation " << corr;
}

TEST(Mask2Former, BadHfConfigsAreOneLineErrors) {
  nlohmann::json c = {{"model_type", "maskformer"}};
  try {
    model::mask2former_options_from_hf(c, "c.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("c.json: model_type is \"maskformer\", expected \"mask2former\""));
  }
  c = {{"model_type", "mask2former"}, {"backbone_config", {{"model_type", "swin"}, {"embed_dim", 30}, {"num_heads", {4, 8, 16, 32}}}}};
  try {
    model::mask2former_options_from_hf(c, "c.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("not divisible by 4 heads"));
  }
}
