// The RGB-D model variants end to end on a tiny Mask2Former: key names, a
// training step of every variant on odd sizes with degenerate depth, gradients
// reaching the backbone and the E-DSAM predictor, checkpoint loading, and the
// configs/ presets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include <filesystem>

#include "error_message.h"
#include "model/tiny_model.h"
#include "rgbdseg/core/config.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/model/complexity.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/model/weights.h"
#include "rgbdseg/train/build.h"

using namespace rgbdseg;
using ::testing::HasSubstr;

namespace {

// A batch of 3 at an odd size: no valid depth at all, one depth value, and a scene.
struct OddBatch {
  at::Tensor images, depth, targets, labels;
};

OddBatch odd_batch() {
  at::manual_seed(11);
  const int64_t H = 61, W = 83;
  OddBatch b;
  b.images = at::randn({3, 3, H, W});
  b.depth = at::zeros({3, 1, H, W});
  b.depth[1].fill_(2.0);
  b.depth[2].fill_(3.5);
  b.depth[2].slice(1, 10, 40).slice(2, 20, 60).fill_(1.5);  // a box in front of a wall
  b.depth[2].slice(1, 0, 5).zero_();                         // and a strip without readings
  b.targets = at::zeros({3, 2, H, W});
  b.targets.slice(2, 10, 40).slice(3, 20, 60).fill_(1);
  b.targets.select(1, 1).slice(1, 45, 60).fill_(1);
  b.labels = at::tensor({0, 2, 1, 1, 2, 0}, at::kLong).view({3, 2});
  return b;
}

bool all_finite(const at::Tensor& t) { return at::isfinite(t).all().item<bool>(); }

std::vector<std::string> keys(torch::nn::Module& m) {
  std::vector<std::string> k;
  for (const auto& p : m.named_parameters()) k.push_back(p.key());
  for (const auto& p : m.named_buffers()) k.push_back(p.key());
  return k;
}

SafetensorsFile state_file(model::RgbdMask2FormerImpl& m) {
  SafetensorsFile f;
  for (const auto& [name, t] : model::mask2former_state(m)) f.tensors.emplace(name, model::from_tensor(t));
  return f;
}

}  // namespace

TEST(RgbdModel, RgbVariantHasExactlyMask2FormersKeysAndDepthVariantsAddDepthPrefixed) {
  model::RgbdMask2Former rgb(rgbdseg::testing::tiny_rgbd("rgb"));
  model::Mask2Former plain(rgbdseg::testing::tiny_mask2former());
  EXPECT_EQ(keys(*rgb), keys(*plain));
  model::RgbdMask2Former full(rgbdseg::testing::tiny_rgbd("full"));
  std::vector<std::string> depth_keys;
  for (const auto& k : keys(*full)) {
    if (k.rfind("depth.", 0) == 0) depth_keys.push_back(k);
  }
  EXPECT_EQ(keys(*full).size() - depth_keys.size(), keys(*rgb).size());
  EXPECT_THAT(depth_keys, ::testing::Contains("depth.dggm.scales.0.gate_hidden.weight"));
  EXPECT_THAT(depth_keys, ::testing::Contains("depth.dsam.2.branches.3.weight"));
  EXPECT_THAT(depth_keys, ::testing::Contains("depth.predictor.out.bias"));
  model::RgbdMask2Former dggm(rgbdseg::testing::tiny_rgbd("dggm"));
  for (const auto& k : keys(*dggm)) EXPECT_EQ(k.find("depth.dsam"), std::string::npos) << k;
}

TEST(RgbdModel, EveryVariantTrainsAStepOnOddSizesAndDegenerateDepthWithoutNan) {
  const OddBatch b = odd_batch();
  for (const auto& variant : model::model_variants()) {
    SCOPED_TRACE(variant);
    at::manual_seed(12);
    model::RgbdMask2Former m(rgbdseg::testing::tiny_rgbd(variant));
    m->train();
    torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-3));
    const auto out = m->forward(b.images, b.depth);
    ASSERT_EQ(out.mask_logits.back().sizes(), (at::IntArrayRef{3, 4, 16, 21}));  // ceil(61/4), ceil(83/4)
    const auto loss = rgbdseg::testing::fixed_assignment_loss(out, b.targets, b.labels);
    ASSERT_TRUE(all_finite(loss));
    opt.zero_grad();
    loss.backward();
    for (const auto& p : m->named_parameters()) {
      if (p.value().grad().defined()) {
        EXPECT_TRUE(all_finite(p.value().grad())) << p.key();
      }
    }
    opt.step();
    for (const auto& p : m->named_parameters()) EXPECT_TRUE(all_finite(p.value())) << p.key();
    const auto again = m->forward(b.images, b.depth);
    EXPECT_TRUE(all_finite(again.mask_logits.back()));
    EXPECT_TRUE(all_finite(again.class_logits.back()));
  }
}

TEST(RgbdModel, FullModelSendsGradientsToTheBackboneAndThePredictor) {
  const OddBatch b = odd_batch();
  at::manual_seed(13);
  model::RgbdMask2Former m(rgbdseg::testing::tiny_rgbd("full"));
  m->train();
  const auto out = m->forward(b.images, b.depth);
  rgbdseg::testing::fixed_assignment_loss(out, b.targets, b.labels).backward();
  auto grad_norm = [](torch::nn::Module& module) {
    double s = 0;
    for (const auto& p : module.parameters()) {
      if (p.grad().defined()) s += p.grad().pow(2).sum().item<double>();
    }
    return s;
  };
  EXPECT_GT(grad_norm(*m->backbone), 0.0);  // no detach: Swin trains
  EXPECT_GT(grad_norm(*m->depth->dggm), 0.0);
  EXPECT_GT(grad_norm(*m->depth->dsam), 0.0);
  // Every predictor tensor, not just its last layer, gets a gradient through the soft windows.
  for (const auto& p : m->depth->predictor->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
  // Its parameters change under an optimizer step driven by the segmentation loss.
  std::vector<at::Tensor> before;
  for (const auto& p : m->depth->predictor->parameters()) before.push_back(p.detach().clone());
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-3));
  opt.step();
  size_t i = 0;
  for (const auto& p : m->depth->predictor->parameters()) EXPECT_FALSE(at::equal(p, before[i++]));
  const auto ratio = m->forward(b.images, b.depth).depth.ratio;
  EXPECT_FALSE(at::equal(ratio, out.depth.ratio.detach()));
}

TEST(RgbdModel, HuggingFaceCheckpointInitialisesTheMask2FormerPartOfEveryVariant) {
  at::manual_seed(14);
  model::RgbdMask2Former rgb(rgbdseg::testing::tiny_rgbd("rgb"));
  const SafetensorsFile hf = state_file(*rgb);
  for (const auto& variant : model::model_variants()) {
    SCOPED_TRACE(variant);
    model::RgbdMask2Former m(rgbdseg::testing::tiny_rgbd(variant));
    model::load_rgbd_weights(*m, hf, "hf.safetensors");
    EXPECT_TRUE(at::equal(m->class_predictor->weight, rgb->class_predictor->weight));
    EXPECT_TRUE(at::equal(m->backbone->parameters()[0], rgb->backbone->parameters()[0]));
  }
  // Our own checkpoint of a depth variant restores its depth modules too...
  model::RgbdMask2Former full(rgbdseg::testing::tiny_rgbd("full"));
  SafetensorsFile ours = state_file(*full);
  model::RgbdMask2Former restored(rgbdseg::testing::tiny_rgbd("full"));
  model::load_rgbd_weights(*restored, ours, "ours.safetensors");
  EXPECT_TRUE(at::equal(restored->depth->predictor->conv1->weight, full->depth->predictor->conv1->weight));
  // ...and one with part of them missing is an error naming the key.
  ours.tensors.erase("depth.dsam.1.projection.weight");
  model::RgbdMask2Former partial(rgbdseg::testing::tiny_rgbd("full"));
  EXPECT_THAT(error_message([&] { model::load_rgbd_weights(*partial, ours, "ours.safetensors"); }),
              HasSubstr("ours.safetensors: missing weights: depth.dsam.1.projection.weight"));
  // Depth modules a variant does not have are unexpected.
  model::RgbdMask2Former dggm(rgbdseg::testing::tiny_rgbd("dggm"));
  EXPECT_THAT(error_message([&] { model::load_rgbd_weights(*dggm, state_file(*full), "full.safetensors"); }),
              HasSubstr("unexpected weights"));
}

TEST(RgbdModel, MisalignedOrMissingDepthIsAClearError) {
  model::RgbdMask2Former m(rgbdseg::testing::tiny_rgbd("dsam"));
  EXPECT_THAT(error_message([&] { m->forward(at::zeros({1, 3, 32, 32}), at::zeros({1, 1, 16, 32})); }),
              HasSubstr("depth is 16x32, the image 32x32"));
  EXPECT_THAT(error_message([&] { m->forward(at::zeros({1, 3, 32, 32}), at::Tensor()); }),
              HasSubstr("model variant 'dsam' needs a depth map"));
  // The rgb variant ignores depth, present or not.
  model::RgbdMask2Former rgb(rgbdseg::testing::tiny_rgbd("rgb"));
  EXPECT_NO_THROW(rgb->forward(at::zeros({1, 3, 32, 32}), at::Tensor()));
}

TEST(RgbdModel, PresetsInConfigsBuildEachVariantFromTheBundledSwinTinyConfig) {
  const std::string root = RGBDSEG_SOURCE_DIR;
  int64_t rgb_params = 0;
  for (const auto& variant : model::model_variants()) {
    SCOPED_TRACE(variant);
    const Config c = load_config(root + "/configs/" + variant + ".json");
    EXPECT_EQ(c.model.variant, variant);
    EXPECT_TRUE(std::filesystem::exists(c.model.hf_config)) << c.model.hf_config;
    const auto options = train::model_options(c);
    EXPECT_EQ(options.mask2former.num_labels, 80);
    model::RgbdMask2Former m(options);
    const auto costs = model::rgbd_model_costs(*m, 640, 640);
    int64_t params = 0, depth_params = 0;
    double flops = 0, predictor_flops = 0;
    for (const auto& cost : costs) {
      params += cost.params;
      flops += cost.flops;
      if (cost.name.rfind("depth.", 0) == 0) depth_params += cost.params;
      if (cost.name == "depth.predictor") predictor_flops = cost.flops;
    }
    if (variant == "rgb") rgb_params = params;
    EXPECT_EQ(params - depth_params, 47421643);  // Swin-T Mask2Former, as counted from HF's model
    // E-DSAM's predictor: under 1% of the full model's FLOPs at 640x640 (the research code's: ~144 GMAC).
    if (variant == "edsam" || variant == "full") {
      EXPECT_GT(predictor_flops, 0.0);
      EXPECT_LT(predictor_flops, 0.01 * flops);
    }
  }
  EXPECT_EQ(rgb_params, 47421643);
}
