// The NYUv2 recipe (configs/nyuv2-*.json) cannot rot: the exact preset, given
// only a dataset, a batch that fits a CPU and 2 steps, converts the official
// layout (the HDF5 fixture of the converter's tests), starts from a
// Hugging Face Swin-T checkpoint (randomly initialised here, in HF's key
// layout, as `--init hf:` takes the published one), trains on the CPU,
// evaluates and checkpoints with a 37-class head.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/run_tool.h"
#include "data/nyu_fixture.h"
#include "rgbdseg/core/config.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/model/mask2former.h"
#include "rgbdseg/model/weights.h"
#include "temp_dir.h"
#include "test_paths.h"
#include "training_log_lines.h"

namespace rgbdseg {
namespace {

using ::testing::HasSubstr;
using testing::run_tool;

const std::string kConfigs = std::string(RGBDSEG_SOURCE_DIR) + "/configs";

TEST(Nyuv2Recipe, TheFullPresetTrainsTwoStepsFromAnHfCheckpointOnTheOfficialLayout) {
  RGBDSEG_REQUIRE_SHARED(mapping40, "data/nyuv2-samples/meta/classMapping40.mat");
  testing::ScopedTempDir dir;

  // The official file (frames 1 and 2 test, 3 train, as a splits.mat says), converted as the README does.
  const std::string mat = dir.file("nyu_depth_v2_labeled.mat"), splits = dir.file("splits.mat");
  testing::nyu::write_nyu_mat(mat, 3, testing::nyu::designed_frames());
  testing::nyu::write_mat_v5(splits, {testing::nyu::mat_doubles("trainNdxs", {3}),
                                      testing::nyu::mat_doubles("testNdxs", {1, 2})});
  for (const char* split : {"train", "test"}) {
    const auto r = run_tool({"convert", "nyuv2", "-q", "--mat", mat, "--splits", splits, "--mapping40", mapping40,
                             "--split", split, "--out", dir.file(std::string("nyu-") + split)});
    ASSERT_EQ(r.exit_code, 0) << r;
  }

  // A Swin-T Mask2Former in Hugging Face's layout (80 COCO classes), random weights.
  const std::string hf_config = kConfigs + "/hf/mask2former-swin-tiny-coco-instance.json";
  {
    at::manual_seed(0);
    model::Mask2Former coco(model::load_hf_config(hf_config));
    SafetensorsFile file;
    for (const auto& [name, t] : model::mask2former_state(*coco)) file.tensors.emplace(name, model::from_tensor(t));
    write_safetensors(dir.file("coco.safetensors"), file);
  }

  const std::string out = dir.file("run");
  const auto r = run_tool({"train", "--config", kConfigs + "/nyuv2-full.json", "--init",
                           "hf:" + hf_config + "," + dir.file("coco.safetensors"), "--out", out,
                           // What a CPU test can afford; everything else is the preset.
                           "--set", "data.train=" + dir.file("nyu-train/annotations.json"), "--set",
                           "data.val=" + dir.file("nyu-test/annotations.json"), "--set", "data.batch_size=1", "--set",
                           "data.workers=1", "--set", "eval.batch_size=1", "--set", "train.max_steps=2", "--set",
                           "train.eval_every=2", "--set", "train.log_every=1"});
  ASSERT_EQ(r.exit_code, 0) << r;

  // The resolved run is the preset's: the paper's model, Mask2Former's fine-tuning optimiser.
  const Config c = load_config(out + "/config.json");
  EXPECT_EQ(c.model.variant, "full");
  EXPECT_EQ(c.train.lr, 1e-4);
  EXPECT_EQ(c.train.backbone_lr_multiplier, 0.1);
  EXPECT_EQ(c.train.clip_grad_norm, 0.01);
  EXPECT_EQ(c.data.crop_height, 480);
  EXPECT_EQ(c.data.crop_width, 640);
  EXPECT_THAT(c.train.init, HasSubstr("coco.safetensors"));

  // Two finite steps and one evaluation.
  const auto steps = testing::log_lines(out + "/train.jsonl", "train");
  ASSERT_EQ(steps.size(), 2u);
  for (const auto& s : steps) EXPECT_TRUE(std::isfinite(s["loss"].get<double>())) << s.dump();
  const auto evals = testing::log_lines(out + "/train.jsonl", "eval");
  ASSERT_EQ(evals.size(), 1u);
  EXPECT_GE(evals[0]["AP"].get<double>(), 0.0);

  // The checkpoint: a Swin-T with NYU40's 37 thing classes (+ no-object), depth modules included.
  const auto hf = nlohmann::json::parse(read_file(out + "/best/hf_config.json"));
  EXPECT_EQ(hf["backbone_config"]["embed_dim"], 96);
  const SafetensorsFile weights = read_safetensors(out + "/best/model.safetensors");
  const auto head = weights.tensors.find("class_predictor.weight");
  ASSERT_NE(head, weights.tensors.end());
  EXPECT_EQ(head->second.shape[0], 38);
}

}  // namespace
}  // namespace rgbdseg
