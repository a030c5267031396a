// Loading and validating canonical datasets; the synthetic generator and the
// writer produce what the loader accepts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/data/dataset.h"
#include "rgbdseg/data/dataset_writer.h"
#include "rgbdseg/data/synthetic_scenes.h"
#include "rgbdseg/coco/coco_eval.h"
#include "rgbdseg/io/image_header.h"
#include "rgbdseg/io/image_io.h"
#include "temp_dir.h"
#include "test_paths.h"

using namespace rgbdseg;
using ::testing::HasSubstr;
using nlohmann::json;

namespace {

// A 2-image dataset written through DatasetWriter: 6x8 images, one 2x3 object each.
std::string write_tiny_dataset(const std::string& dir) {
  DatasetWriter writer(dir, {{1, "cup"}, {2, "box"}});
  for (int i = 0; i < 2; ++i) {
    cv::Mat rgb(6, 8, CV_8UC3, cv::Scalar(10, 20, 30 + i)), depth(6, 8, CV_32FC1, cv::Scalar(1.25f));
    cv::Mat mask = cv::Mat::zeros(6, 8, CV_8UC1);
    mask(cv::Rect(1 + i, 2, 3, 2)).setTo(1);
    writer.add("img" + std::to_string(i), rgb, depth, {{1 + i, mask, false}}, Intrinsics{5, 6, 3.5, 2.5});
  }
  return writer.finish().annotations_path;
}

std::string expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an rgbdseg::Error";
  return "";
}

}  // namespace

TEST(Dataset, WriterOutputLoadsWithEveryField) {
  rgbdseg::testing::ScopedTempDir dir;
  const std::string path = write_tiny_dataset(dir.file("ds"));
  const RgbdDataset ds = load_rgbd_dataset(path);
  ASSERT_EQ(ds.coco.images.size(), 2u);
  EXPECT_EQ(ds.coco.images[0].file_name, "rgb/img0.png");
  EXPECT_EQ(ds.coco.images[0].depth_file, "depth/img0.png");
  EXPECT_DOUBLE_EQ(ds.coco.images[0].depth_scale, 0.001);
  ASSERT_TRUE(ds.coco.images[1].intrinsics.has_value());
  EXPECT_DOUBLE_EQ(ds.coco.images[1].intrinsics->cx, 3.5);
  ASSERT_EQ(ds.coco.annotations.size(), 2u);
  EXPECT_EQ(ds.coco.annotations[1].category_id, 2);
  EXPECT_DOUBLE_EQ(ds.coco.annotations[1].area, 6.0);
  EXPECT_EQ(ds.coco.annotations[1].bbox, (BBox{2, 2, 3, 2}));
  EXPECT_EQ(ds.annotations_of_image[1], std::vector<size_t>{1});
  EXPECT_EQ(ds.warnings.empty_masks, 0);
  // Depth round trip through the 16-bit millimetre PNG: 1.25 m exactly.
  const cv::Mat depth = read_depth(ds.depth_path(0));
  EXPECT_FLOAT_EQ(depth.at<float>(3, 4), 1.25f);
}

TEST(Dataset, MissingAndMismatchedFilesNameTheImage) {
  rgbdseg::testing::ScopedTempDir dir;
  const std::string path = write_tiny_dataset(dir.file("ds"));
  std::filesystem::remove(dir.file("ds/depth/img1.png"));
  EXPECT_THAT(expect_error([&] { load_rgbd_dataset(path); }),
              HasSubstr("image 2 ('rgb/img1.png'): depth file '" + dir.file("ds") + "/depth/img1.png' not found"));
  // A depth image of another size.
  cv::imwrite(dir.file("ds/depth/img1.png"), cv::Mat(5, 8, CV_16UC1, cv::Scalar(1000)));
  EXPECT_THAT(expect_error([&] { load_rgbd_dataset(path); }),
              HasSubstr("image 2 ('rgb/img1.png'): depth image 'depth/img1.png' is 8x5, colour is 8x6"));
  // Skipping file checks loads the annotations anyway.
  DatasetOptions no_files;
  no_files.check_files = false;
  EXPECT_EQ(load_rgbd_dataset(path, no_files).coco.images.size(), 2u);
}

TEST(Dataset, MissingDepthFileKeyIsAnError) {
  rgbdseg::testing::ScopedTempDir dir;
  const std::string path = write_tiny_dataset(dir.file("ds"));
  json j = json::parse(read_file(path));
  j["images"][0].erase("depth_file");
  write_file_atomic(path, j.dump());
  EXPECT_THAT(expect_error([&] { load_rgbd_dataset(path); }), HasSubstr("image 1 ('rgb/img0.png'): no 'depth_file'"));
  j["images"][0]["depth_file"] = "depth/img0.png";
  j["images"][0]["depth_scale"] = -1;
  write_file_atomic(path, j.dump());
  EXPECT_THAT(expect_error([&] { load_rgbd_dataset(path); }), HasSubstr("'depth_scale' must be positive"));
}

TEST(Dataset, EmptyMasksAreCountedOrRejectedWhenStrict) {
  rgbdseg::testing::ScopedTempDir dir;
  const std::string path = write_tiny_dataset(dir.file("ds"));
  json j = json::parse(read_file(path));
  json empty = j["annotations"][0];
  empty["id"] = 99;
  empty["segmentation"]["counts"] = rle_to_string(Rle{6, 8, {48}});  // one background run: nothing
  empty["bbox"] = {6, 0, 4, 4};             // pokes out of the 8-wide image
  j["annotations"].push_back(empty);
  write_file_atomic(path, j.dump());
  const RgbdDataset ds = load_rgbd_dataset(path);
  EXPECT_EQ(ds.warnings.empty_masks, 1);
  EXPECT_EQ(ds.warnings.boxes_outside, 1);
  ASSERT_FALSE(ds.warnings.examples.empty());
  EXPECT_THAT(ds.warnings.examples[0], HasSubstr("annotation 99 (image 1): empty mask"));
  DatasetOptions strict;
  strict.strict = true;
  EXPECT_THAT(expect_error([&] { load_rgbd_dataset(path, strict); }), HasSubstr("annotation 99 (image 1): empty mask"));
}

TEST(Dataset, WriterRefusesNonEmptyOutputAndDuplicateStems) {
  rgbdseg::testing::ScopedTempDir dir;
  dir.write("out/existing.txt", "x");
  EXPECT_THAT(expect_error([&] { DatasetWriter w(dir.file("out"), {{1, "a"}}); }),
              HasSubstr("output directory is not empty (pass --force"));
  DatasetWriter w(dir.file("out"), {{1, "a"}}, /*force=*/true);
  cv::Mat rgb(4, 4, CV_8UC3, cv::Scalar(0)), depth(4, 4, CV_32FC1, cv::Scalar(1.0f));
  w.add("x", rgb, depth, {});
  // Refused before its files are written over the first image's.
  EXPECT_THAT(expect_error([&] { w.add("x", rgb, depth, {}); }), HasSubstr("two images named 'x'"));
  DatasetWriter w2(dir.file("out2"), {{1, "a"}});
  EXPECT_THAT(expect_error([&] { w2.add("y", rgb, cv::Mat(3, 4, CV_32FC1), {}); }),
              HasSubstr("y: depth size 4x3 does not match colour size 4x4"));
}

TEST(Dataset, WriterRemovesItsOutputWhenNotFinished) {
  rgbdseg::testing::ScopedTempDir dir;
  cv::Mat rgb(4, 4, CV_8UC3, cv::Scalar(0)), depth(4, 4, CV_32FC1, cv::Scalar(1.0f));
  {
    DatasetWriter w(dir.file("fresh"), {{1, "a"}});
    w.add("x", rgb, depth, {});
  }  // an error unwound past the writer: no finish()
  EXPECT_FALSE(std::filesystem::exists(dir.file("fresh")));
  // Written into someone's non-empty folder with --force: nothing of theirs is touched.
  dir.write("theirs/keep.txt", "x");
  {
    DatasetWriter w(dir.file("theirs"), {{1, "a"}}, /*force=*/true);
    w.add("x", rgb, depth, {});
  }
  EXPECT_TRUE(std::filesystem::exists(dir.file("theirs/keep.txt")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("theirs/rgb/x.png")));
}

TEST(ImageHeader, PngAndJpegSizesWithoutDecoding) {
  rgbdseg::testing::ScopedTempDir dir;
  cv::imwrite(dir.file("a.png"), cv::Mat(7, 13, CV_16UC1, cv::Scalar(5)));
  cv::imwrite(dir.file("b.jpg"), cv::Mat(9, 21, CV_8UC3, cv::Scalar(1, 2, 3)));
  cv::imwrite(dir.file("c.tiff"), cv::Mat(3, 4, CV_32FC1, cv::Scalar(1)));
  const ImageSize a = read_image_size(dir.file("a.png")), b = read_image_size(dir.file("b.jpg")),
                  c = read_image_size(dir.file("c.tiff"));
  EXPECT_EQ(a.height, 7);
  EXPECT_EQ(a.width, 13);
  EXPECT_EQ(b.height, 9);
  EXPECT_EQ(b.width, 21);
  EXPECT_EQ(c.height, 3);
  EXPECT_EQ(c.width, 4);
  // Sample type and channels, as OpenCV decodes the file unchanged.
  EXPECT_EQ(a.sample_type, CV_16U);
  EXPECT_EQ(a.channels, 1);
  EXPECT_EQ(b.sample_type, CV_8U);
  EXPECT_EQ(b.channels, 3);
  EXPECT_EQ(c.sample_type, CV_32F);
  EXPECT_EQ(c.channels, 1);
  cv::imwrite(dir.file("g.jpg"), cv::Mat(5, 6, CV_8UC1, cv::Scalar(9)));
  cv::imwrite(dir.file("rgba.png"), cv::Mat(5, 6, CV_8UC4, cv::Scalar(1, 2, 3, 4)));
  cv::imwrite(dir.file("c16.png"), cv::Mat(5, 6, CV_16UC3, cv::Scalar(1, 2, 3)));
  for (const char* f : {"g.jpg", "rgba.png", "c16.png", "a.png", "b.jpg"}) {
    const cv::Mat decoded = cv::imread(dir.file(f), cv::IMREAD_UNCHANGED);
    const ImageSize s = read_image_size(dir.file(f));
    EXPECT_EQ(s.sample_type, decoded.depth()) << f;
    EXPECT_EQ(s.channels, decoded.channels()) << f;
  }
  dir.write("bad.png", "\x89PNG\r\n\x1a\n short");
  EXPECT_THAT(expect_error([&] { read_image_size(dir.file("bad.png")); }), HasSubstr("bad.png: not a readable image"));
  EXPECT_THAT(expect_error([&] { read_image_size(dir.file("none.png")); }), HasSubstr("none.png: cannot open image"));
}

TEST(ImageHeader, RealCotsJpegMatchesDecoder) {
  RGBDSEG_REQUIRE_SHARED(path, "data/cots/Part 2 - Multiple Objects/mugs_oc2/3_colour.jpeg");
  const ImageSize s = read_image_size(path);
  EXPECT_EQ(s.height, 720);  // data/README.md: 1280x720
  EXPECT_EQ(s.width, 1280);
}

TEST(SyntheticScenes, DeterministicAndIndependentOfThreads) {
  rgbdseg::testing::ScopedTempDir dir;
  SynthOptions options;
  options.height = 60;
  options.width = 80;
  options.seed = 42;
  const auto one = write_synthetic_dataset(dir.file("t1"), 6, options, /*threads=*/1);
  const auto two = write_synthetic_dataset(dir.file("t2"), 6, options, /*threads=*/2);
  EXPECT_EQ(read_file(one.annotations_path), read_file(two.annotations_path));
  EXPECT_EQ(read_file(dir.file("t1/depth/000004.png")), read_file(dir.file("t2/depth/000004.png")));
  options.seed = 43;
  const auto other = write_synthetic_dataset(dir.file("t3"), 6, options, 2);
  EXPECT_NE(read_file(one.annotations_path), read_file(other.annotations_path));
}

TEST(SyntheticScenes, MasksAreDisjointAndDepthIsMetric) {
  SynthOptions options;
  options.seed = 3;
  for (int index = 0; index < 4; ++index) {
    const SynthScene s = render_synthetic_scene(options, index);
    ASSERT_EQ(s.rgb.rows, 480);
    ASSERT_GE(s.instances.size(), 1u);
    cv::Mat owner = cv::Mat::zeros(480, 640, CV_8UC1);
    for (const auto& inst : s.instances) {
      EXPECT_GE(cv::countNonZero(inst.mask), options.min_visible_pixels);
      EXPECT_EQ(cv::countNonZero(owner & (inst.mask != 0)), 0) << "masks overlap";  // disjoint: nearest hit only
      owner.setTo(255, inst.mask != 0);
    }
    double lo = 0, hi = 0;
    cv::minMaxLoc(s.depth_m, &lo, &hi, nullptr, nullptr, s.depth_m > 0);
    EXPECT_GT(lo, 0.2);  // camera 0.45..0.9 m above the table
    EXPECT_LT(hi, 5.0);
    // Quantised to whole millimetres.
    const float z = s.depth_m.at<float>(240, 320);
    if (z > 0) {
      EXPECT_NEAR(z * 1000.0, std::round(z * 1000.0), 1e-3);
    }
    const double invalid = 1.0 - cv::countNonZero(s.depth_m > 0) / (480.0 * 640.0);
    EXPECT_GT(invalid, 0.0);   // the sensor model drops some readings
    EXPECT_LT(invalid, 0.25);  // but not most
  }
}

TEST(SyntheticScenes, UnionsAreOneObject) {
  // One object per scene; with union_prob 1 a box or cylinder carries a second
  // primitive. The scene is otherwise the same (same draws up to that point), so
  // the union's mask strictly contains more pixels, and it is still one instance.
  int unions_seen = 0;
  for (int index = 0; index < 12; ++index) {
    SynthOptions with, without;
    with.min_objects = with.max_objects = without.min_objects = without.max_objects = 1;
    with.union_prob = 1.0;
    without.union_prob = 0.0;
    with.depth_noise = without.depth_noise = 0.0;
    const SynthScene a = render_synthetic_scene(with, index), b = render_synthetic_scene(without, index);
    ASSERT_LE(a.instances.size(), 1u);
    ASSERT_EQ(a.instances.size(), b.instances.size());
    if (a.instances.empty()) continue;
    EXPECT_EQ(a.instances[0].category_id, b.instances[0].category_id);  // the base's class
    const int area_a = cv::countNonZero(a.instances[0].mask), area_b = cv::countNonZero(b.instances[0].mask);
    EXPECT_GE(area_a, area_b);
    unions_seen += area_a > area_b;
  }
  EXPECT_GE(unions_seen, 3);  // bases are boxes or cylinders two times in three
}
