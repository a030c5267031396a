// Research-code ("seed") format converter on tiny generated sets: 8-bit depth
// with an explicit scale, 16-bit millimetre depth, BGR masks (G = instance id,
// R = class id) in 8 and 16 bits, RGB-only entries, and the errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/data/convert_seed.h"
#include "rgbdseg/coco/coco_dataset.h"
#include "rgbdseg/coco/rle.h"
#include "rgbdseg/io/image_io.h"
#include "data/self_eval.h"
#include "error_message.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace rgbdseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr int kW = 6, kH = 5;

// cv::imwrite into path, creating its folder first.
bool write_image(const std::string& path, const cv::Mat& image) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  return cv::imwrite(path, image);
}

// An RGB test image (stored BGR by imwrite): pixel (y, x) = (R 40+x, G 60+y, B seed).
cv::Mat make_rgb(int seed) {
  cv::Mat bgr(kH, kW, CV_8UC3);
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(seed), 60 + y, 40 + x);
  }
  return bgr;
}

// A BGR mask: B (unused) noise, G instance id, R class id.
template <typename T>
cv::Mat make_mask(const std::vector<std::vector<int>>& instance, const std::vector<std::vector<int>>& cls) {
  cv::Mat m(kH, kW, CV_MAKETYPE(cv::DataType<T>::depth, 3));
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) {
      m.at<cv::Vec<T, 3>>(y, x) =
          cv::Vec<T, 3>(static_cast<T>(7 * y + x), static_cast<T>(instance[y][x]), static_cast<T>(cls[y][x]));
    }
  }
  return m;
}

std::vector<uint8_t> where_equal(const std::vector<std::vector<int>>& grid, int value) {
  std::vector<uint8_t> m;
  for (const auto& row : grid) {
    for (int v : row) m.push_back(v == value);
  }
  return m;
}

std::vector<const CocoObject*> annotations_of(const CocoGroundTruth& gt, int64_t image_id) {
  std::vector<const CocoObject*> out;
  for (const auto& a : gt.annotations) {
    if (a.image_id == image_id) out.push_back(&a);
  }
  return out;
}

// Instance ids (G) and class ids (R) of the first 8-bit mask.
const std::vector<std::vector<int>> kInst0 = {
    {1, 1, 0, 2, 2, 0}, {1, 1, 0, 2, 2, 0}, {0, 0, 0, 0, 3, 3},  // instance 3: background class (0)
    {4, 4, 4, 0, 0, 0},  // instance 4: classes 1 and 2 -> 2 (the largest, as the research loader)
    {0, 0, 0, 0, 0, 0},
};
const std::vector<std::vector<int>> kCls0 = {
    {2, 2, 0, 1, 1, 0}, {2, 2, 0, 1, 1, 0},
    {0, 0, 0, 0, 0, 0}, {1, 2, 2, 0, 1, 1},  // (3, 4..5): stuff (class 1, no instance): ignored
    {0, 0, 0, 0, 0, 0},
};

class ConvertSeed : public ::testing::Test {
 protected:
  void SetUp() override {
    label2id_ = dir_.write("meta/label2id.json", R"({"background": 0, "organ": 1, "shrimp": 2})");
  }
  SeedConvertOptions options(const std::string& json, const std::string& out) const {
    SeedConvertOptions o;
    o.json_path = json;
    o.label2id_path = label2id_;
    o.out_dir = dir_.file(out);
    o.root = dir_.path();
    o.threads = 2;
    return o;
  }
  testing::ScopedTempDir dir_;
  std::string label2id_;
};

TEST_F(ConvertSeed, EightBitDepthWithScaleAndEightBitMasks) {
  // Entry 0: 8-bit grey depth, values 10 + 5y + x, one hole.
  cv::Mat d8(kH, kW, CV_8UC1);
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) d8.at<uint8_t>(y, x) = static_cast<uint8_t>(10 + 5 * y + x);
  }
  d8.at<uint8_t>(4, 5) = 0;
  ASSERT_TRUE(write_image(dir_.file("data/rgb0.png"), make_rgb(1)));
  ASSERT_TRUE(write_image(dir_.file("data/depth0.png"), d8));
  ASSERT_TRUE(write_image(dir_.file("data/mask0.png"), make_mask<uint8_t>(kInst0, kCls0)));
  // Entry 2: depth saved as 3 equal channels (PIL "RGB" of a grey image), a mask without instances.
  cv::Mat d8c;
  cv::cvtColor(d8, d8c, cv::COLOR_GRAY2BGR);
  const std::vector<std::vector<int>> zeros(kH, std::vector<int>(kW, 0)), stuff(kH, std::vector<int>(kW, 2));
  ASSERT_TRUE(write_image(dir_.file("data/rgb2.png"), make_rgb(3)));
  ASSERT_TRUE(write_image(dir_.file("data/depth2.png"), d8c));
  ASSERT_TRUE(write_image(dir_.file("data/mask2.png"), make_mask<uint8_t>(zeros, stuff)));
  const std::string json = dir_.write("train.json", R"([
    {"image": ["data/rgb0.png", "data/depth0.png"], "annotation": "data/mask0.png",
     "semantic_class_to_id": {"background": 0, "organ": 1, "shrimp": 2}},
    {"image": "data/rgb1.png", "annotation": "data/mask1.png"},
    {"image": ["data/rgb2.png", "data/depth2.png", "data/extra_variant.png"], "annotation": "data/mask2.png"}
  ])");
  SeedConvertOptions o = options(json, "out");
  o.depth_scale = 0.02;  // 1 unit = 2 cm
  int64_t last_done = -1;
  const ConversionSummary s = convert_seed(o, [&](int64_t done, int64_t total) {
    EXPECT_EQ(total, 3);
    last_done = done;
    return true;
  });
  EXPECT_EQ(last_done, 3);
  EXPECT_EQ(s.images, 2);
  EXPECT_EQ(s.instances, 3);
  EXPECT_THAT(s.instances_per_category, ElementsAre(Pair("organ", 1), Pair("shrimp", 2)));
  EXPECT_THAT(s.skipped, ElementsAre(Pair("entry 1 (data/rgb1.png)", "no depth image (RGB-only entry)"),
                                     Pair("1 instance", "class id 0 (background) in the R channel")));

  const CocoGroundTruth gt = load_coco_ground_truth(s.annotations_path, IouType::Segm);
  rgbdseg::testing::expect_valid_dataset_with_perfect_self_eval(s.annotations_path);
  ASSERT_EQ(gt.categories.size(), 2u);
  EXPECT_EQ(gt.categories[0].id, 1);
  EXPECT_EQ(gt.categories[0].name, "organ");
  EXPECT_EQ(gt.categories[1].id, 2);
  EXPECT_EQ(gt.categories[1].name, "shrimp");
  ASSERT_EQ(gt.images.size(), 2u);
  EXPECT_EQ(gt.images[0].file_name, "rgb/000000.png");
  EXPECT_EQ(gt.images[1].file_name, "rgb/000002.png");
  EXPECT_EQ(gt.images[0].depth_scale, 0.001);
  EXPECT_FALSE(gt.images[0].intrinsics.has_value());
  const auto a0 = annotations_of(gt, gt.images[0].id);
  ASSERT_EQ(a0.size(), 3u);  // instance ids 1, 2, 4 (3 is background)
  EXPECT_EQ(a0[0]->category_id, 2);
  EXPECT_EQ(a0[1]->category_id, 1);
  EXPECT_EQ(a0[2]->category_id, 2);
  EXPECT_EQ(rle_decode(a0[0]->mask), where_equal(kInst0, 1));
  EXPECT_EQ(rle_decode(a0[1]->mask), where_equal(kInst0, 2));
  EXPECT_EQ(rle_decode(a0[2]->mask), where_equal(kInst0, 4));
  EXPECT_EQ(a0[2]->area, 3);
  EXPECT_TRUE(annotations_of(gt, gt.images[1].id).empty());

  // Colour unchanged; depth = 8-bit value x 20 mm, the hole stays 0.
  EXPECT_EQ(cv::norm(read_rgb(o.out_dir + "/rgb/000000.png"), read_rgb(dir_.file("data/rgb0.png")), cv::NORM_INF), 0);
  for (const char* stem : {"000000", "000002"}) {
    const cv::Mat depth = cv::imread(o.out_dir + "/depth/" + stem + ".png", cv::IMREAD_UNCHANGED);
    ASSERT_EQ(depth.type(), CV_16UC1);
    for (int y = 0; y < kH; ++y) {
      for (int x = 0; x < kW; ++x) {
        EXPECT_EQ(depth.at<uint16_t>(y, x), 20 * d8.at<uint8_t>(y, x)) << stem << " " << y << " " << x;
      }
    }
  }
}

TEST_F(ConvertSeed, SixteenBitDepthIsMillimetresAndSixteenBitMasks) {
  cv::Mat d16(kH, kW, CV_16UC1);
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) d16.at<uint16_t>(y, x) = static_cast<uint16_t>(1000 + 300 * y + x);
  }
  d16.at<uint16_t>(0, 0) = 0;
  d16.at<uint16_t>(4, 5) = 60000;  // far, but representable: kept as it is
  std::vector<std::vector<int>> inst(kH, std::vector<int>(kW, 0)), cls(kH, std::vector<int>(kW, 0));
  for (int x = 0; x < kW; ++x) {
    inst[1][x] = 300;  // instance ids beyond 255 in a 16-bit mask
    cls[1][x] = 1;
    inst[3][x] = 7;
    cls[3][x] = 2;
  }
  ASSERT_TRUE(write_image(dir_.file("a/rgb.png"), make_rgb(9)));
  ASSERT_TRUE(write_image(dir_.file("a/depth.png"), d16));
  ASSERT_TRUE(write_image(dir_.file("a/mask.png"), make_mask<uint16_t>(inst, cls)));
  // Absolute paths work whatever the root.
  const std::string json =
      dir_.write("valid.json", "[{\"image\": [\"" + dir_.file("a/rgb.png") + "\", \"" + dir_.file("a/depth.png") +
                                   "\"], \"annotation\": \"" + dir_.file("a/mask.png") + "\"}]");
  SeedConvertOptions o = options(json, "out16");
  o.root = "/nonexistent";
  const ConversionSummary s = convert_seed(o);
  EXPECT_EQ(s.images, 1);
  EXPECT_TRUE(s.skipped.empty());
  const CocoGroundTruth gt = load_coco_ground_truth(s.annotations_path, IouType::Segm);
  rgbdseg::testing::expect_valid_dataset_with_perfect_self_eval(s.annotations_path);
  ASSERT_EQ(gt.annotations.size(), 2u);
  EXPECT_EQ(gt.annotations[0].category_id, 2);  // instance 7 before instance 300
  EXPECT_EQ(rle_decode(gt.annotations[0].mask), where_equal(inst, 7));
  EXPECT_EQ(gt.annotations[1].category_id, 1);
  EXPECT_EQ(rle_decode(gt.annotations[1].mask), where_equal(inst, 300));
  const cv::Mat depth = cv::imread(o.out_dir + "/depth/000000.png", cv::IMREAD_UNCHANGED);
  ASSERT_EQ(depth.type(), CV_16UC1);
  EXPECT_EQ(cv::norm(depth, d16, cv::NORM_INF), 0);
}

TEST_F(ConvertSeed, ErrorsNameTheFile) {
  cv::Mat d8(kH, kW, CV_8UC1, cv::Scalar(50));
  std::vector<std::vector<int>> inst(kH, std::vector<int>(kW, 0)), cls(kH, std::vector<int>(kW, 0));
  inst[2][2] = 1;
  cls[2][2] = 7;  // not in label2id.json
  ASSERT_TRUE(write_image(dir_.file("e/rgb.png"), make_rgb(5)));
  ASSERT_TRUE(write_image(dir_.file("e/depth8.png"), d8));
  ASSERT_TRUE(write_image(dir_.file("e/mask7.png"), make_mask<uint8_t>(inst, cls)));
  const auto entry = [&](const std::string& depth, const std::string& mask, const std::string& rgb = "e/rgb.png") {
    return dir_.write("e.json",
                      "[{\"image\": [\"" + rgb + "\", \"" + depth + "\"], \"annotation\": \"" + mask + "\"}]");
  };
  // 8-bit depth without a scale.
  SeedConvertOptions o = options(entry("e/depth8.png", "e/mask7.png"), "err");
  std::string msg = error_message([&] { convert_seed(o); });
  EXPECT_THAT(msg, HasSubstr("e.json: entry 0: " + dir_.file("e/depth8.png") + ": 8-bit depth image"));
  EXPECT_THAT(msg, HasSubstr("pass --depth-scale"));
  // A class id that label2id.json does not name.
  o.depth_scale = 0.01;
  EXPECT_THAT(error_message([&] { convert_seed(o); }),
              HasSubstr(dir_.file("e/mask7.png") + ": instance 1 has class id 7 (R channel), which label2id.json "
                                                   "does not name (it has: 1 organ, 2 shrimp)"));
  // A scale that overflows 16-bit millimetres.
  o.depth_scale = 2.0;
  EXPECT_THAT(
      error_message([&] { convert_seed(o); }),
      HasSubstr(dir_.file("e/depth8.png") + ": depth 100 m at (x 0, y 0) exceeds what a 16-bit millimetre PNG"));
  o.depth_scale = 0.01;
  // Missing files.
  o.json_path = entry("e/depth8.png", "e/mask7.png", "e/missing.png");
  EXPECT_THAT(error_message([&] { convert_seed(o); }),
              HasSubstr("e.json: entry 0: " + dir_.file("e/missing.png") + ": cannot open for reading"));
  o.json_path = dir_.file("absent.json");
  EXPECT_THAT(error_message([&] { convert_seed(o); }), HasSubstr(dir_.file("absent.json") + ": cannot open for reading"));
  o.json_path = entry("e/depth8.png", "e/mask7.png");
  o.label2id_path = dir_.file("absent_label2id.json");
  EXPECT_THAT(error_message([&] { convert_seed(o); }), HasSubstr("absent_label2id.json: cannot open for reading"));
  o.label2id_path = label2id_;
  // A single-channel mask; a colour-mapped depth; sizes that differ.
  ASSERT_TRUE(write_image(dir_.file("e/grey_mask.png"), d8));
  o.json_path = entry("e/depth8.png", "e/grey_mask.png");
  EXPECT_THAT(error_message([&] { convert_seed(o); }), HasSubstr(dir_.file("e/grey_mask.png") + ": mask has 1 channel(s)"));
  ASSERT_TRUE(write_image(dir_.file("e/colour_depth.png"), make_rgb(5)));
  o.json_path = entry("e/colour_depth.png", "e/mask7.png");
  EXPECT_THAT(error_message([&] { convert_seed(o); }),
              HasSubstr(dir_.file("e/colour_depth.png") + ": depth image has 3 different colour channels"));
  ASSERT_TRUE(write_image(dir_.file("e/small_depth.png"), cv::Mat(kH - 1, kW, CV_8UC1, cv::Scalar(9))));
  o.json_path = entry("e/small_depth.png", "e/mask7.png");
  EXPECT_THAT(error_message([&] { convert_seed(o); }),
              HasSubstr(dir_.file("e/small_depth.png") + ": size 6x4 does not match colour image"));
  // Malformed JSON inputs.
  o.json_path = dir_.write("obj.json", R"({"image": ["a", "b"], "annotation": "m"})");
  EXPECT_THAT(error_message([&] { convert_seed(o); }), HasSubstr("obj.json: expected a JSON list"));
  o.json_path = dir_.write("noann.json", R"([{"image": ["a", "b"]}])");
  EXPECT_THAT(error_message([&] { convert_seed(o); }), HasSubstr("noann.json: entry 0: \"annotation\""));
  o.json_path = dir_.write("rgbonly.json", R"([{"image": "a.png", "annotation": "m.png"}])");
  EXPECT_THAT(error_message([&] { convert_seed(o); }), HasSubstr("rgbonly.json: no entry has a depth image"));
  EXPECT_FALSE(testing::path_exists(dir_.file("err")));  // failed conversions leave nothing behind
}

TEST_F(ConvertSeed, RefusesNonEmptyOutputWithoutForce) {
  ASSERT_TRUE(write_image(dir_.file("f/rgb.png"), make_rgb(2)));
  ASSERT_TRUE(write_image(dir_.file("f/depth.png"), cv::Mat(kH, kW, CV_16UC1, cv::Scalar(1500))));
  const std::vector<std::vector<int>> zeros(kH, std::vector<int>(kW, 0));
  ASSERT_TRUE(write_image(dir_.file("f/mask.png"), make_mask<uint8_t>(zeros, zeros)));
  const std::string json =
      dir_.write("f.json", R"([{"image": ["f/rgb.png", "f/depth.png"], "annotation": "f/mask.png"}])");
  SeedConvertOptions o = options(json, "busy");
  dir_.write("busy/old.json", "{}");
  EXPECT_THAT(error_message([&] { convert_seed(o); }), HasSubstr("busy: output directory is not empty (pass --force"));
  o.force = true;
  EXPECT_EQ(convert_seed(o).images, 1);
}

TEST_F(ConvertSeed, CancelledByProgressLeavesNothing) {
  ASSERT_TRUE(write_image(dir_.file("c/rgb.png"), make_rgb(2)));
  ASSERT_TRUE(write_image(dir_.file("c/depth.png"), cv::Mat(kH, kW, CV_16UC1, cv::Scalar(1500))));
  const std::vector<std::vector<int>> zeros(kH, std::vector<int>(kW, 0));
  ASSERT_TRUE(write_image(dir_.file("c/mask.png"), make_mask<uint8_t>(zeros, zeros)));
  const std::string json = dir_.write("c.json", R"([{"image": ["c/rgb.png", "c/depth.png"], "annotation": "c/mask.png"},
                                                    {"image": ["c/rgb.png", "c/depth.png"], "annotation": "c/mask.png"}])");
  SeedConvertOptions o = options(json, "cancelled");
  o.threads = 1;
  int calls = 0;
  EXPECT_THAT(error_message([&] { convert_seed(o, [&](int64_t done, int64_t) { return ++calls, done < 1; }); }),
              HasSubstr("seed: conversion cancelled"));
  EXPECT_EQ(calls, 2);  // (0, 2), then (1, 2) says stop: the second entry is never converted
  EXPECT_FALSE(testing::path_exists(o.out_dir));
}

TEST(ConvertSeedLabel2id, ReadsAndValidates) {
  testing::ScopedTempDir dir;
  EXPECT_THAT(read_label2id(dir.write("a.json", R"({"background": 0, "shrimp": 2, "organ": 1})")),
              ElementsAre(Pair(1, "organ"), Pair(2, "shrimp")));
  // The research code's COCO-derived files have no background entry.
  EXPECT_THAT(read_label2id(dir.write("b.json", R"({"brick": 1, "rubber": 2})")),
              ElementsAre(Pair(1, "brick"), Pair(2, "rubber")));
  EXPECT_THAT(error_message([&] { read_label2id(dir.write("c.json", R"({"a": 1, "b": 1})")); }),
              HasSubstr("c.json: id 1 is given to both \"a\" and \"b\""));
  EXPECT_THAT(error_message([&] { read_label2id(dir.write("d.json", R"({"a": "1"})")); }),
              HasSubstr("d.json: \"a\": expected an integer id, got \"1\""));
  EXPECT_THAT(error_message([&] { read_label2id(dir.write("e.json", R"({"a": -3})")); }), HasSubstr("id -3 is negative"));
  EXPECT_THAT(error_message([&] { read_label2id(dir.write("f.json", R"({"background": 0})")); }),
              HasSubstr("f.json: no classes besides background (id 0)"));
  EXPECT_THAT(error_message([&] { read_label2id(dir.write("g.json", "[1, 2]")); }),
              HasSubstr("g.json: expected a JSON object"));
  EXPECT_THAT(error_message([&] { read_label2id(dir.write("h.json", "{oops")); }), HasSubstr("h.json: not valid JSON"));
}

}  // namespace
}  // namespace rgbdseg
