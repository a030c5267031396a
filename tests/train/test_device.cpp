// The device is one parameter: a training step and inference keep every tensor
// on the requested device. Runs on RGBDSEG_TEST_DEVICE (default "cpu"), so the
// same test runs unchanged on a CUDA build (RGBDSEG_TEST_DEVICE=cuda).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <cstdlib>
#include <fstream>
#include <string>
#include <opencv2/core.hpp>

#include "error_message.h"
#include "model/tiny_model.h"
#include "rgbdseg/data/loader.h"
#include "rgbdseg/model/autocast.h"
#include "rgbdseg/model/ops/ms_deform_attn.h"
#include "rgbdseg/runtime/device.h"
#include "rgbdseg/runtime/runtime.h"
#include "rgbdseg/train/adamw.h"
#include "rgbdseg/train/criterion.h"
#include "rgbdseg/infer/inference.h"
#include "rgbdseg/infer/model_input.h"
#include "apps/run_tool.h"
#include "rgbdseg/core/file_util.h"
#include "temp_dir.h"

using namespace rgbdseg;
using ::testing::HasSubstr;

namespace {

std::string test_device_name() {
  const char* name = std::getenv("RGBDSEG_TEST_DEVICE");
  return name && *name ? name : "cpu";
}

// Two 40x56 images, each with a box and a disc (classes 1 and 2) and depth.
Batch scene_batch() {
  std::vector<Sample> samples;
  for (int i = 0; i < 2; ++i) {
    Sample s;
    s.rgb = cv::Mat(40, 56, CV_8UC3, cv::Scalar(40 + 50 * i, 90, 160));
    s.depth = cv::Mat(40, 56, CV_32FC1, cv::Scalar(1.5f));
    cv::Mat box(40, 56, CV_8UC1, cv::Scalar(0)), disc(40, 56, CV_8UC1, cv::Scalar(0));
    box(cv::Rect(4 + 3 * i, 5, 16, 12)).setTo(1);
    s.depth.setTo(1.1f, box);
    for (int y = 0; y < 40; ++y) {
      for (int x = 0; x < 56; ++x) disc.at<uint8_t>(y, x) = (x - 38) * (x - 38) + (y - 24) * (y - 24) < 64;
    }
    s.depth.setTo(0.9f, disc);
    s.masks = {box, disc};
    s.category_ids = {1, 2};
    s.image_id = i + 1;
    s.original_height = 40;
    s.original_width = 56;
    samples.push_back(s);
  }
  return collate(std::move(samples), 32);
}

#define EXPECT_ON(tensor, device) \
  EXPECT_EQ((tensor).device(), (device)) << #tensor

}  // namespace

TEST(Device, ATrainingStepKeepsEveryTensorOnTheRequestedDevice) {
  const c10::Device device = resolve_device(test_device_name());
  at::manual_seed(0);
  model::RgbdMask2Former net(rgbdseg::testing::tiny_rgbd("full"));
  net->to(device);
  net->train();
  std::vector<train::ParamGroup> groups(1);
  for (auto& p : net->named_parameters()) groups[0].params.emplace_back(p.key(), p.value());
  train::AdamW optimizer(groups);

  infer::LabelMap labels;
  labels.category_ids = {1, 2, 3};
  labels.names = {"box", "disc", "other"};
  const Batch batch = scene_batch();
  const infer::ModelInput input = infer::make_model_input(batch, &labels, device);
  EXPECT_ON(input.pixel_values, device);
  EXPECT_ON(input.depth, device);
  EXPECT_ON(input.pixel_mask, device);
  for (const auto& m : input.masks) EXPECT_ON(m, device);
  for (const auto& l : input.labels) EXPECT_ON(l, device);

  model::RgbdOutput out;
  {
    model::Autocast autocast(device.type(), "f32");
    out = net->forward(input.pixel_values, input.depth);
  }
  for (const auto& t : out.class_logits) EXPECT_ON(t, device);
  for (const auto& t : out.mask_logits) EXPECT_ON(t, device);
  for (const auto& t : out.depth.maps) EXPECT_ON(t, device);

  train::CriterionOptions co;
  co.num_points = 64;
  train::Mask2FormerCriterion criterion(co);
  const auto loss = criterion.forward(out.class_logits, out.mask_logits, train::Targets{input.masks, input.labels});
  EXPECT_ON(loss.total, device);
  for (const auto& [name, t] : loss.weighted) EXPECT_ON(t, device);
  loss.total.backward();
  optimizer.step(1e-3);
  for (const auto& p : net->named_parameters()) {
    EXPECT_EQ(p.value().device(), device) << p.key();
    if (p.value().grad().defined()) {
      EXPECT_EQ(p.value().grad().device(), device) << p.key();
    }
  }
  for (const auto& b : net->named_buffers()) EXPECT_EQ(b.value().device(), device) << b.key();
  size_t state_tensors = 0;
  for (const auto& [name, t] : optimizer.state()) {
    if (name.rfind("exp_avg", 0) == 0) {
      EXPECT_EQ(t.device(), device) << name;
      ++state_tensors;
    }
  }
  EXPECT_GT(state_tensors, 0u);
}

TEST(Device, InferenceKeepsTheModelAndItsOutputsOnTheRequestedDevice) {
  const c10::Device device = resolve_device(test_device_name());
  at::manual_seed(0);
  model::RgbdMask2Former net(rgbdseg::testing::tiny_rgbd("full"));
  net->to(device);
  net->eval();
  infer::InferenceOptions options;
  options.device = device;
  const Batch batch = scene_batch();
  const infer::ModelInput input = infer::make_model_input(batch, nullptr, device);
  const auto instances = infer::predict_batch(*net, input, {40, 40}, {56, 56}, options);
  ASSERT_EQ(instances.size(), 2u);
  for (const auto& inst : instances) {
    EXPECT_ON(inst.masks, device);
    EXPECT_ON(inst.scores, device);
    EXPECT_EQ(inst.masks.size(1), 40);
    EXPECT_EQ(inst.masks.size(2), 56);
  }
  // COCO results come back to the host (RLE), whatever the device.
  infer::LabelMap labels;
  labels.category_ids = {1, 2, 3};
  labels.names = {"a", "b", "c"};
  const auto dets = infer::to_coco_results(1, instances[0], labels);
  EXPECT_EQ(dets.size(), static_cast<size_t>(instances[0].masks.size(0)));
}

TEST(Device, UnavailableDevicesAreOneLineErrors) {
  EXPECT_EQ(resolve_device("cpu"), c10::Device(c10::kCPU));
  EXPECT_THAT(error_message([] { resolve_device("gpu"); }), HasSubstr("expected cpu, cuda or cuda:N"));
  if (at::hasCUDA()) GTEST_SKIP() << "this LibTorch has CUDA";
  for (const char* name : {"cuda", "cuda:1"}) {
    EXPECT_THAT(error_message([&] { resolve_device(name); }),
                HasSubstr(std::string("--device ") + name + ": CUDA is not available in this LibTorch build"));
  }
  // Autocast per device type: fp16 is a CUDA precision.
  EXPECT_THAT(error_message([] { model::Autocast a(c10::DeviceType::CPU, "fp16"); }), HasSubstr("needs a CUDA device"));
}

// precision auto: bf16 where the hardware has it (CUDA; CPUs whose
// /proc/cpuinfo lists avx512_bf16 or amx_bf16), float32 elsewhere.
TEST(Device, AutoPrecisionFollowsTheHardware) {
  std::ifstream in("/proc/cpuinfo");
  if (!in) GTEST_SKIP() << "no /proc/cpuinfo";
  std::string line;
  bool listed = false;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    line += ' ';
    listed = line.find(" avx512_bf16 ") != std::string::npos || line.find(" amx_bf16 ") != std::string::npos;
    break;
  }
  EXPECT_EQ(cpu_has_native_bf16(), listed);
  const Precision cpu = model::resolve_precision(Precision::Auto, c10::DeviceType::CPU);
  EXPECT_EQ(cpu, listed ? Precision::Bf16 : Precision::F32);
  EXPECT_EQ(model::resolve_precision(Precision::Auto, c10::DeviceType::CUDA), Precision::Bf16);
  for (Precision p : {Precision::F32, Precision::Bf16, Precision::Fp16}) {
    EXPECT_EQ(model::resolve_precision(p, c10::DeviceType::CPU), p);
  }
  {
    model::Autocast autocast(c10::DeviceType::CPU, "auto");
    EXPECT_EQ(at::autocast::is_cpu_enabled(), listed);
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
}

TEST(Device, DeformableAttentionDispatchesByDeviceType) {
  // The CPU kernel is registered; a device type without one is a clear error.
  EXPECT_NO_THROW(ops::ms_deform_attn_kernel(c10::DeviceType::CPU));
  EXPECT_THAT(error_message([] { ops::ms_deform_attn_kernel(c10::DeviceType::CUDA); }),
              HasSubstr("no kernel for device type cuda in this build (kernels: cpu)"));
  const auto meta = at::TensorOptions().device(c10::kMeta);
  EXPECT_THAT(error_message([&] {
                ops::ms_deform_attn(at::empty({1, 4, 1, 2}, meta), at::empty({1, 2}, meta.dtype(at::kLong)),
                                    at::empty({1}, meta.dtype(at::kLong)), at::empty({1, 3, 1, 1, 1, 2}, meta),
                                    at::empty({1, 3, 1, 1, 1}, meta));
              }),
              HasSubstr("no kernel for device type meta"));
}

TEST(Device, CommandsTakeDeviceAndRefuseAMissingOneInOneLine) {
  if (at::hasCUDA()) GTEST_SKIP() << "this LibTorch has CUDA";
  rgbdseg::testing::ScopedTempDir dir;
  for (const char* command : {"train", "eval", "predict", "bench", "forward"}) {
    std::vector<std::string> args{command, "--device", "cuda", "--out", dir.file("o"), "--weights", "/dev/null",
                                  "--dir", dir.path()};
    if (std::string(command) == "train") args = {command, "--device", "cuda", "--out", dir.file("o")};
    if (std::string(command) == "eval") args = {command, "--device", "cuda", "--weights", "/dev/null", "--data", "x.json"};
    if (std::string(command) == "bench") args = {command, "--device", "cuda", "--hf-config", "/dev/null"};
    if (std::string(command) == "forward") {
      args = {command, "--device", "cuda", "--hf-config", "/dev/null", "--weights", "/dev/null", "--input", "/dev/null",
              "--out", dir.file("o")};
    }
    const auto r = rgbdseg::testing::run_tool(args);
    SCOPED_TRACE(command);
    rgbdseg::testing::expect_one_error_line(r, command);
    EXPECT_THAT(r.err, HasSubstr("--device cuda: CUDA is not available in this LibTorch build"));
  }
  const auto bad = rgbdseg::testing::run_tool({"train", "--device", "gpu", "--out", dir.file("o")});
  rgbdseg::testing::expect_one_error_line(bad, "train", 2);
  EXPECT_THAT(bad.err, HasSubstr("expected cpu, cuda or cuda:N, got gpu"));
  EXPECT_FALSE(rgbdseg::file_exists(dir.file("o")));
}
