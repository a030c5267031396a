// train/build.h, the one place where a config becomes options, and the one
// valid-depth policy (core/config.h's depth_read_options): a reading the
// config allows reaches the model, whatever io's own default range is.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <cmath>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "rgbdseg/core/config.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/data/loader.h"
#include "rgbdseg/model/depth_fusion.h"
#include "rgbdseg/train/build.h"
#include "rgbdseg/infer/model_input.h"
#include "temp_dir.h"
#include "tiny_hf_config.h"

using namespace rgbdseg;
using rgbdseg::testing::ScopedTempDir;

namespace {

// A one-image dataset whose depth is 12 m everywhere but one pixel at 3 m.
std::string write_far_depth_dataset(const ScopedTempDir& dir) {
  cv::Mat depth(8, 10, CV_16UC1, cv::Scalar(12000));  // millimetres
  depth.at<uint16_t>(0, 0) = 3000;
  EXPECT_TRUE(cv::imwrite(dir.file("depth.png"), depth));
  EXPECT_TRUE(cv::imwrite(dir.file("rgb.png"), cv::Mat(8, 10, CV_8UC3, cv::Scalar(10, 20, 30))));
  return dir.write("data.json", R"({"images": [{"id": 1, "file_name": "rgb.png", "depth_file": "depth.png",
    "depth_scale": 0.001, "height": 8, "width": 10}], "annotations": [], "categories": [{"id": 1, "name": "object"}]})");
}

// The depth tensor the model receives for the dataset's one image, read as `config` says.
at::Tensor model_depth(const std::string& path, const Config& config) {
  RgbdDataset ds = load_rgbd_dataset(path);
  ds.depth_read = depth_read_options(config);
  const Batch batch = collate({load_sample(ds, 0)}, 1);
  return infer::make_model_input(batch, nullptr).depth;
}

}  // namespace

TEST(ValidDepthRange, AReadingBeyondTenMetresReachesTheModelWhenTheConfigAllowsIt) {
  ScopedTempDir dir;
  const std::string path = write_far_depth_dataset(dir);

  // Default range (10 m): the 12 m readings are invalid on the way in, as in the model.
  const Config near = load_config("");
  EXPECT_EQ(near.model.depth.max_depth, 10.0);
  const at::Tensor d10 = model_depth(path, near);
  EXPECT_FLOAT_EQ(d10[0][0][0][0].item<float>(), 3.0f);
  EXPECT_EQ(d10[0][0][4][5].item<float>(), 0.0f);

  // model.depth.max_depth 20: the loader keeps 12 m and the depth modules count it valid.
  const Config far = load_config("", {"model.depth.max_depth=20"});
  const at::Tensor d20 = model_depth(path, far);
  EXPECT_FLOAT_EQ(d20[0][0][4][5].item<float>(), 12.0f);
  const auto options = train::model_options(far.model, model::mask2former_options_from_hf(
                                                           nlohmann::json::parse(rgbdseg::testing::kTinyHfConfig), "tiny"));
  EXPECT_EQ(options.depth.max_depth, 20.0);
  const at::Tensor valid = model::depth_validity(d20, options.depth.min_depth, options.depth.max_depth);
  EXPECT_EQ(valid.sum().item<int64_t>(), 80);

  // 0 = no limit, for the reader as for the model.
  const Config unlimited = load_config("", {"model.depth.max_depth=0"});
  EXPECT_TRUE(std::isinf(depth_read_options(unlimited).max_depth));
  EXPECT_FLOAT_EQ(model_depth(path, unlimited)[0][0][4][5].item<float>(), 12.0f);
  // A minimum drops the near reading.
  const at::Tensor d_min = model_depth(path, load_config("", {"model.depth.min_depth=5", "model.depth.max_depth=20"}));
  EXPECT_EQ(d_min[0][0][0][0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(d_min[0][0][4][5].item<float>(), 12.0f);
}

TEST(BuildOptions, EachSectionMapsToItsOptions) {
  const Config c = load_config("", {"data.resize=fixed", "data.fixed_height=96", "data.colour_jitter=0.3",
                                    "train.schedule=step", "train.step_milestones=[5,9]", "train.max_steps=20",
                                    "train.criterion.num_points=64", "train.criterion.no_object_weight=0.2",
                                    "eval.short_side=0", "model.train_short_side=240", "eval.top_k=7"});
  const AugmentOptions a = train::augment_options(c.data);
  EXPECT_EQ(a.resize, AugmentOptions::Resize::Fixed);
  EXPECT_EQ(a.fixed_height, 96);
  EXPECT_DOUBLE_EQ(a.brightness, 0.3);
  const train::ScheduleOptions s = train::schedule_options(c.train);
  EXPECT_EQ(s.kind, train::ScheduleOptions::Kind::Step);
  EXPECT_EQ(s.step_milestones, (std::vector<int>{5, 9}));
  EXPECT_EQ(s.max_steps, 20);
  const train::CriterionOptions co = train::criterion_options(c.train.criterion);
  EXPECT_EQ(co.num_points, 64);
  EXPECT_DOUBLE_EQ(co.no_object_weight, 0.2);
  const infer::InferenceOptions io = train::inference_options(c);
  EXPECT_EQ(io.short_side, 240);  // 0 = the recorded training size
  EXPECT_EQ(io.top_k, 7);
  EXPECT_EQ(train::inference_options(load_config("", {"eval.short_side=-1", "model.train_short_side=240"})).short_side, 0);
  EXPECT_EQ(train::inference_options(load_config("", {"eval.short_side=300", "model.train_short_side=240"})).short_side, 300);
  EXPECT_EQ(io.precision, Precision::F32);  // inference defaults to f32, whatever training used
  EXPECT_EQ(train::inference_options(load_config("", {"eval.precision=bf16"})).precision, Precision::Bf16);
  EXPECT_NE(train::inference_options(load_config("", {"eval.precision=auto"})).precision, Precision::Auto);  // resolved
  EXPECT_THROW(train::inference_options(load_config("", {"eval.precision=fp16"})), Error);  // the CPU has no fp16 autocast
  // Every resize mode the config accepts has an option (no silent fallback).
  for (const char* mode : {"none", "short_side", "fixed", "scale_range", "large_scale_jitter"}) {
    EXPECT_NO_THROW(train::augment_options(load_config("", {std::string("data.resize=") + mode}).data)) << mode;
  }
}
