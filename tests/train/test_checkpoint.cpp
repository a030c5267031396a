// Training checkpoints: the files a checkpoint directory holds, a config.json
// that loads on its own (model.hf_config relative to it), atomic overwrites,
// re-labelled Hugging Face configs and trainer-state errors naming the file.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "error_message.h"
#include "rgbdseg/core/config.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/model/weights.h"
#include "rgbdseg/train/checkpoint.h"
#include "rgbdseg/train/build.h"
#include "temp_dir.h"
#include "tiny_hf_config.h"

using namespace rgbdseg;
using namespace rgbdseg::train;
using rgbdseg::testing::ScopedTempDir;
using ::testing::HasSubstr;
using json = nlohmann::json;

namespace {

const char* const kTinyHf = rgbdseg::testing::kTinyHfConfig;

CheckpointContents contents(int64_t step) {
  CheckpointContents c;
  c.model = {{"model.a.weight", at::arange(6, at::kFloat).reshape({2, 3}) + static_cast<double>(step)},
             {"depth.b", at::tensor({1.5f, -2.5f})}};
  c.optimizer = {{"optimizer_steps", at::tensor({step}, at::kLong)}, {"exp_avg/model.a.weight", at::ones({2, 3})}};
  c.state.step = step;
  c.state.epoch = 2;
  c.state.batch_in_epoch = 1;
  c.state.best_ap = 0.625;
  c.state.best_step = 4;
  c.state.seed = 17;
  c.state.nonfinite_in_a_row = 1;
  Config config;
  config.model.variant = "full";
  config.model.hf_config = "/somewhere/else/original_hf.json";  // rewritten in the checkpoint
  config.train.max_steps = 77;
  c.config = config_to_json(config);
  c.hf_config = relabelled_hf_config(nlohmann::ordered_json::parse(kTinyHf), {3, 7}, {"mug", "book"});
  return c;
}

at::Tensor tensor_in(const std::string& file, const std::string& name) {
  const SafetensorsFile f = read_safetensors(file);
  const StoredTensor* t = f.find(name);
  if (!t) {
    ADD_FAILURE() << file << " has no " << name;
    return at::Tensor();
  }
  return model::to_tensor(*t);
}

}  // namespace

TEST(Checkpoint, WritesEveryFile) {
  ScopedTempDir tmp;
  const std::string dir = tmp.file("run/last");
  save_checkpoint(dir, contents(5));
  EXPECT_EQ(tmp.list("run/last"), (std::vector<std::string>{"config.json", "hf_config.json", "model.safetensors",
                                                            "optimizer.safetensors", "trainer_state.json"}));
  EXPECT_TRUE(at::equal(tensor_in(dir + "/model.safetensors", "model.a.weight"),
                        at::tensor({5.f, 6.f, 7.f, 8.f, 9.f, 10.f}).reshape({2, 3})));
  EXPECT_TRUE(at::equal(tensor_in(dir + "/model.safetensors", "depth.b"), at::tensor({1.5f, -2.5f})));

  const auto opt = load_optimizer_state(dir);
  std::map<std::string, at::Tensor> by_name(opt.begin(), opt.end());
  ASSERT_EQ(by_name.size(), 2u);
  EXPECT_EQ(by_name["optimizer_steps"].item<int64_t>(), 5);
  EXPECT_TRUE(at::equal(by_name["exp_avg/model.a.weight"], at::ones({2, 3})));

  const TrainerState s = load_trainer_state(dir);
  EXPECT_EQ(s.step, 5);
  EXPECT_EQ(s.epoch, 2);
  EXPECT_EQ(s.batch_in_epoch, 1);
  EXPECT_EQ(s.best_ap, 0.625);
  EXPECT_EQ(s.best_step, 4);
  EXPECT_EQ(s.seed, 17);
  EXPECT_EQ(s.nonfinite_in_a_row, 1);

  const json hf = json::parse(read_file(dir + "/hf_config.json"));
  EXPECT_EQ(hf["num_labels"], 2);
  EXPECT_EQ(hf["id2label"]["1"], "book");
  EXPECT_EQ(hf["backbone_config"]["embed_dim"], 8);
}

TEST(Checkpoint, WeightsOnlyCheckpointHasNoOptimizerFile) {
  ScopedTempDir tmp;
  auto c = contents(3);
  c.optimizer.clear();
  save_checkpoint(tmp.file("best"), c);
  EXPECT_FALSE(file_exists(tmp.file("best/optimizer.safetensors")));
  EXPECT_TRUE(file_exists(tmp.file("best/model.safetensors")));
  EXPECT_TRUE(file_exists(tmp.file("best/config.json")));
}

TEST(Checkpoint, ConfigJsonLoadsOnItsOwnWithTheRelativeHfConfig) {
  ScopedTempDir tmp;
  const std::string dir = tmp.file("ckpt");
  save_checkpoint(dir, contents(5));
  const json raw = json::parse(read_file(dir + "/config.json"));
  EXPECT_EQ(raw["model"]["hf_config"], "hf_config.json");  // relative: the directory can move
  EXPECT_EQ(raw["train"]["max_steps"], 77);

  // Moved elsewhere, it still loads (the path resolves against config.json's folder).
  std::filesystem::rename(dir, tmp.file("moved"));
  const Config config = load_config(tmp.file("moved/config.json"));
  EXPECT_EQ(std::filesystem::path(config.model.hf_config).lexically_normal(),
            std::filesystem::path(tmp.file("moved/hf_config.json")).lexically_normal());
  EXPECT_EQ(config.model.variant, "full");
  EXPECT_EQ(config.train.max_steps, 77);
  const model::RgbdModelOptions o = train::model_options(config);
  EXPECT_EQ(o.variant, "full");
  EXPECT_EQ(o.mask2former.num_labels, 2);
  EXPECT_EQ(o.mask2former.labels, (std::vector<std::string>{"mug", "book"}));
  EXPECT_EQ(o.mask2former.category_ids, (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(o.mask2former.swin.embed_dim, 8);
  EXPECT_EQ(o.mask2former.transformer_decoder.num_queries, 8);
}

TEST(Checkpoint, OverwriteReplacesAndLeavesNoTemporaries) {
  ScopedTempDir tmp;
  const std::string dir = tmp.file("last");
  save_checkpoint(dir, contents(5));
  // Left-overs of an earlier interrupted write are cleaned up too.
  tmp.write("last.tmp/model.safetensors", "partial");
  tmp.write("last.old/junk", "x");
  save_checkpoint(dir, contents(9));
  EXPECT_EQ(tmp.list(), (std::vector<std::string>{"last"}));
  EXPECT_EQ(load_trainer_state(dir).step, 9);
  EXPECT_TRUE(at::equal(tensor_in(dir + "/model.safetensors", "model.a.weight"),
                        at::tensor({9.f, 10.f, 11.f, 12.f, 13.f, 14.f}).reshape({2, 3})));
  // A weights-only overwrite drops the old optimizer file (the directory is replaced, not merged).
  auto c = contents(11);
  c.optimizer.clear();
  save_checkpoint(dir, c);
  EXPECT_FALSE(file_exists(dir + "/optimizer.safetensors"));
  EXPECT_EQ(tmp.list(), (std::vector<std::string>{"last"}));
}

TEST(Checkpoint, RelabelledHfConfig) {
  const auto hf =
      relabelled_hf_config(nlohmann::ordered_json::parse(kTinyHf), {1, 5, 9}, {"box", "cylinder", "sphere"});
  EXPECT_EQ(hf["num_labels"], 3);
  EXPECT_EQ(json::parse(hf["id2label"].dump()), json::parse(R"({"0": "box", "1": "cylinder", "2": "sphere"})"));
  EXPECT_EQ(json::parse(hf["label2id"].dump()), json::parse(R"({"box": 0, "cylinder": 1, "sphere": 2})"));
  EXPECT_EQ(json::parse(hf["rgbdseg_category_ids"].dump()), json::parse("[1, 5, 9]"));
  EXPECT_EQ(hf["hidden_dim"], 32);  // the architecture is kept
  EXPECT_EQ(hf["model_type"], "mask2former");
  // Existing labels are replaced, not merged.
  auto again = relabelled_hf_config(hf, {4}, {"object"});
  EXPECT_EQ(json::parse(again["id2label"].dump()), json::parse(R"({"0": "object"})"));
  EXPECT_EQ(json::parse(again["label2id"].dump()), json::parse(R"({"object": 0})"));
  EXPECT_EQ(again["num_labels"], 1);
  // And the model reads them back.
  const auto o = model::mask2former_options_from_hf(json::parse(hf.dump()), "hf.json");
  EXPECT_EQ(o.num_labels, 3);
  EXPECT_EQ(o.category_ids, (std::vector<int64_t>{1, 5, 9}));
  EXPECT_EQ(o.labels, (std::vector<std::string>{"box", "cylinder", "sphere"}));
}

TEST(Checkpoint, TrainerStateErrorsNameTheFile) {
  ScopedTempDir tmp;
  std::string msg = error_message([&] { load_trainer_state(tmp.file("nothing")); });
  EXPECT_THAT(msg, HasSubstr(tmp.file("nothing/trainer_state.json")));
  EXPECT_THAT(msg, HasSubstr("not found"));

  tmp.write("bad/trainer_state.json", "{\"step\": 3,");
  msg = error_message([&] { load_trainer_state(tmp.file("bad")); });
  EXPECT_THAT(msg, HasSubstr(tmp.file("bad/trainer_state.json")));
  EXPECT_THAT(msg, HasSubstr("invalid JSON"));

  tmp.write("incomplete/trainer_state.json", R"({"step": 3, "epoch": 0})");
  msg = error_message([&] { load_trainer_state(tmp.file("incomplete")); });
  EXPECT_THAT(msg, HasSubstr(tmp.file("incomplete/trainer_state.json")));
  EXPECT_THAT(msg, HasSubstr("not a trainer state"));

  tmp.write("wrongtype/trainer_state.json",
            R"({"step": "three", "epoch": 0, "batch_in_epoch": 0, "best_ap": -1, "best_step": -1, "seed": 0})");
  msg = error_message([&] { load_trainer_state(tmp.file("wrongtype")); });
  EXPECT_THAT(msg, HasSubstr(tmp.file("wrongtype/trainer_state.json")));

  msg = error_message([&] { load_optimizer_state(tmp.file("incomplete")); });
  EXPECT_THAT(msg, HasSubstr(tmp.file("incomplete/optimizer.safetensors")));
}

TEST(Checkpoint, StateJsonRoundTrip) {
  TrainerState s;
  s.step = 12;
  s.epoch = 3;
  s.batch_in_epoch = 2;
  s.best_ap = 0.5;
  s.best_step = 10;
  s.seed = 42;
  s.nonfinite_in_a_row = 2;
  const auto j = state_to_json(s);
  EXPECT_EQ(
      j.dump(),
      R"({"step":12,"epoch":3,"batch_in_epoch":2,"best_ap":0.5,"best_step":10,"seed":42,"nonfinite_in_a_row":2})");
  const TrainerState t = state_from_json(json::parse(j.dump()), "x.json");
  EXPECT_EQ(t.step, 12);
  EXPECT_EQ(t.epoch, 3);
  EXPECT_EQ(t.batch_in_epoch, 2);
  EXPECT_EQ(t.best_ap, 0.5);
  EXPECT_EQ(t.best_step, 10);
  EXPECT_EQ(t.seed, 42);
  EXPECT_EQ(t.nonfinite_in_a_row, 2);
}
