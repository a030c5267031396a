// NYUv2 converter on small HDF5 files written here in the official layout of
// nyu_depth_v2_labeled.mat (MATLAB v7.3: 512-byte user block, axes reversed:
// images (N,3,W,H) uint8, depths/rawDepths (N,W,H) float32 metres, labels
// (N,W,H) uint16, instances (N,W,H) uint8), with the real splits.mat and class
// mappings from ../shared. Every expected mask, category and depth value is
// written out by hand from the frames below.
#include <H5Cpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/data/convert_nyuv2.h"
#include "rgbdseg/data/matlab_v5.h"
#include "rgbdseg/coco/coco_dataset.h"
#include "rgbdseg/coco/rle.h"
#include "rgbdseg/io/image_io.h"
#include "data/nyu_fixture.h"
#include "data/self_eval.h"
#include "error_message.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace rgbdseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

using namespace testing::nyu;

struct MetaFiles {
  std::string splits, mapping40, mapping13;
};

// Row-major 0/1 mask of the pixels of `fr` with this (label, instance).
std::vector<uint8_t> expected_mask(const Frame& fr, int label, int instance) {
  std::vector<uint8_t> m(static_cast<size_t>(kW) * kH, 0);
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) {
      m[static_cast<size_t>(y) * kW + x] =
          fr.labels.at<uint16_t>(y, x) == label && fr.instances.at<uint8_t>(y, x) == instance;
    }
  }
  return m;
}

struct Loaded {
  CocoGroundTruth gt;
  const CocoImage* image(const std::string& file_name) const {
    for (const auto& im : gt.images) {
      if (im.file_name == file_name) return &im;
    }
    return nullptr;
  }
  std::vector<const CocoObject*> annotations_of(int64_t image_id) const {
    std::vector<const CocoObject*> out;
    for (const auto& a : gt.annotations) {
      if (a.image_id == image_id) out.push_back(&a);
    }
    return out;
  }
};

class ConvertNyuv2 : public ::testing::Test {
 protected:
  void SetUp() override {
    meta_.splits = testing::shared_path("data/nyuv2-samples/meta/splits.mat");
    meta_.mapping40 = testing::shared_path("data/nyuv2-samples/meta/classMapping40.mat");
    meta_.mapping13 = testing::shared_path("data/nyuv2-samples/meta/class13Mapping.mat");
    if (meta_.splits.empty() || meta_.mapping40.empty() || meta_.mapping13.empty()) {
      GTEST_SKIP() << "../shared/data/nyuv2-samples/meta/*.mat not found (set RGBDSEG_SHARED_DIR)";
    }
    frames_ = designed_frames();
    mat_ = dir_.file("nyu_depth_v2_labeled.mat");  // written by the tests that use it
  }

  NyuConvertOptions options(const std::string& out) const {
    NyuConvertOptions o;
    o.mat_path = mat_;
    o.splits_path = meta_.splits;
    o.mapping40_path = meta_.mapping40;
    o.mapping13_path = meta_.mapping13;
    o.out_dir = dir_.file(out);
    o.threads = 2;
    return o;
  }

  // The designed frames alone (3 frames) with splits of their own (train 3, test 1 and 2):
  // fast, where the real 1449-frame split lists are not the point.
  NyuConvertOptions small_options(const std::string& out) const {
    NyuConvertOptions o = options(out);
    o.mat_path = dir_.file("small3.mat");
    o.splits_path = dir_.file("splits3.mat");
    if (!testing::path_exists(o.mat_path)) {
      write_nyu_mat(o.mat_path, 3, frames_);
      write_mat_v5(o.splits_path, {mat_doubles("trainNdxs", {3}), mat_doubles("testNdxs", {1, 2})});
    }
    return o;
  }

  testing::ScopedTempDir dir_;
  MetaFiles meta_;
  std::map<int, Frame> frames_;
  std::string mat_;
};

TEST_F(ConvertNyuv2, ClassMappingFromTheRealFiles) {
  const NyuClassMapping m = load_nyu_class_mapping(meta_.mapping40, meta_.mapping13);
  ASSERT_EQ(m.label_to_40.size(), 894u);
  EXPECT_EQ(m.label_to_40[156], 4);  // bed
  const NyuCategories things = nyu_categories(m, NyuClassSet::Nyu40Things);
  ASSERT_EQ(things.categories.size(), 37u);
  for (const auto& [id, name] : things.categories) {
    EXPECT_TRUE(id != 1 && id != 2 && id != 22) << id << " " << name;
  }
  EXPECT_THAT(things.categories.front(), Pair(3, "cabinet"));
  EXPECT_THAT(things.categories.back(), Pair(40, "otherprop"));
  EXPECT_EQ(things.label_to_category[20], 0);  // wall
  EXPECT_EQ(things.label_to_category[156], 4);
  const NyuCategories all40 = nyu_categories(m, NyuClassSet::Nyu40);
  ASSERT_EQ(all40.categories.size(), 40u);
  EXPECT_THAT(all40.categories[21], Pair(22, "ceiling"));
  EXPECT_EQ(all40.label_to_category[20], 1);
  const NyuCategories c13 = nyu_categories(m, NyuClassSet::Nyu13);
  ASSERT_EQ(c13.categories.size(), 13u);
  EXPECT_THAT(c13.categories[11], Pair(12, "wall"));
  EXPECT_EQ(c13.label_to_category[20], 12);  // wall -> NYU40 1 -> NYU13 12
  EXPECT_EQ(c13.label_to_category[156], 1);  // bed -> 4 -> 1
  const NyuSplits s = read_nyu_splits(meta_.splits);
  EXPECT_EQ(s.train.size(), 795u);
  EXPECT_EQ(s.test.size(), 654u);
}

TEST_F(ConvertNyuv2, TestSplitThingsExactly) {
  write_nyu_mat(mat_, 1449, frames_);  // the official frame count, so the real splits apply
  NyuConvertOptions o = options("out");
  o.split = NyuSplit::Test;
  o.min_area_frac = 0.05;  // 2.4 px of 48: the 2-pixel chair goes
  int64_t last_done = -1, last_total = -1;
  const ConversionSummary s = convert_nyuv2(o, [&](int64_t done, int64_t total) {
    last_done = done;
    last_total = total;
    return true;
  });
  EXPECT_EQ(last_done, 654);
  EXPECT_EQ(last_total, 654);
  EXPECT_EQ(s.images, 654);
  EXPECT_EQ(s.instances, 5);
  EXPECT_THAT(s.instances_per_category, ElementsAre(Pair("bed", 2), Pair("cabinet", 1), Pair("otherprop", 2)));
  EXPECT_THAT(s.skipped, ElementsAre(Pair("3 instances", "class not in nyu40-things (wall, floor, ceiling)"),
                                     Pair("1 instance", "smaller than 5% of the image (2.4 px)")));

  const Loaded ds{load_coco_ground_truth(s.annotations_path, IouType::Segm)};
  rgbdseg::testing::expect_valid_dataset_with_perfect_self_eval(s.annotations_path);
  ASSERT_EQ(ds.gt.categories.size(), 37u);
  EXPECT_EQ(ds.gt.categories[0].id, 3);
  EXPECT_EQ(ds.gt.categories[0].name, "cabinet");
  ASSERT_EQ(ds.gt.images.size(), 654u);
  EXPECT_EQ(ds.gt.images[0].file_name, "rgb/test/000001.png");
  EXPECT_EQ(ds.gt.images[1].file_name, "rgb/test/000002.png");
  EXPECT_EQ(ds.gt.images[2].file_name, "rgb/test/000009.png");
  EXPECT_EQ(ds.gt.annotations.size(), 5u);

  const CocoImage* im1 = ds.image("rgb/test/000001.png");
  ASSERT_NE(im1, nullptr);
  EXPECT_EQ(im1->depth_file, "depth/test/000001.png");
  EXPECT_EQ(im1->depth_scale, 0.001);
  EXPECT_EQ(im1->height, kH);
  EXPECT_EQ(im1->width, kW);
  ASSERT_TRUE(im1->intrinsics.has_value());
  EXPECT_DOUBLE_EQ(im1->intrinsics->fx, 518.857901174501880);
  EXPECT_DOUBLE_EQ(im1->intrinsics->fy, 519.469611121274850);
  // camera_params.m's cx_rgb/cy_rgb are 1-based (MATLAB): ours are 0-based, one less.
  EXPECT_DOUBLE_EQ(im1->intrinsics->cx, 325.582449411190340 - 1.0);
  EXPECT_DOUBLE_EQ(im1->intrinsics->cy, 253.736166334004650 - 1.0);
  const auto a1 = ds.annotations_of(im1->id);
  ASSERT_EQ(a1.size(), 2u);
  EXPECT_EQ(a1[0]->category_id, 4);
  EXPECT_EQ(a1[1]->category_id, 4);
  EXPECT_EQ(rle_decode(a1[0]->mask), expected_mask(frames_[1], 157, 1));
  EXPECT_EQ(rle_decode(a1[1]->mask), expected_mask(frames_[1], 157, 2));
  EXPECT_EQ(a1[0]->area, 8);
  EXPECT_FALSE(a1[0]->iscrowd);

  const CocoImage* im2 = ds.image("rgb/test/000002.png");
  ASSERT_NE(im2, nullptr);
  const auto a2 = ds.annotations_of(im2->id);
  ASSERT_EQ(a2.size(), 3u);  // (label, instance) order: book 1, bottle 1, cabinet 1
  EXPECT_EQ(a2[0]->category_id, 40);
  EXPECT_EQ(a2[1]->category_id, 40);
  EXPECT_EQ(a2[2]->category_id, 3);
  EXPECT_EQ(rle_decode(a2[0]->mask), expected_mask(frames_[2], 1, 1));
  EXPECT_EQ(rle_decode(a2[1]->mask), expected_mask(frames_[2], 2, 1));
  EXPECT_EQ(rle_decode(a2[2]->mask), expected_mask(frames_[2], 3, 1));
  EXPECT_EQ(a2[2]->area, 6);
  EXPECT_EQ(a2[2]->bbox, (BBox{0, 3, 8, 3}));  // two parts: (0..2, 3) and (5..7, 5)

  // Pixels: colour transposed back to H x W in RGB order, depth in mm.
  for (int f : {1, 2}) {
    const std::string stem = "test/00000" + std::to_string(f);
    const cv::Mat rgb = read_rgb(o.out_dir + "/rgb/" + stem + ".png");
    const cv::Mat depth = cv::imread(o.out_dir + "/depth/" + stem + ".png", cv::IMREAD_UNCHANGED);
    ASSERT_EQ(depth.type(), CV_16UC1);
    ASSERT_EQ(rgb.size(), cv::Size(kW, kH));
    for (int y = 0; y < kH; ++y) {
      for (int x = 0; x < kW; ++x) {
        EXPECT_EQ(rgb.at<cv::Vec3b>(y, x), cv::Vec3b(10 * f + x, 20 + y, 100 + 3 * f)) << f << " " << y << " " << x;
        EXPECT_EQ(depth.at<uint16_t>(y, x), depth_mm(f, y, x)) << f << " " << y << " " << x;
      }
    }
  }
  // Frames without labels are images without objects; their depth (0) is "no reading".
  const CocoImage* im9 = ds.image("rgb/test/000009.png");
  ASSERT_NE(im9, nullptr);
  EXPECT_TRUE(ds.annotations_of(im9->id).empty());
  EXPECT_EQ(cv::countNonZero(cv::imread(o.out_dir + "/depth/test/000009.png", cv::IMREAD_UNCHANGED)), 0);
}

TEST_F(ConvertNyuv2, Nyu13KeepsWallFloorCeiling) {
  NyuConvertOptions o = small_options("out13");
  o.split = NyuSplit::Test;
  o.classes = NyuClassSet::Nyu13;
  o.min_area_frac = 0.05;
  const ConversionSummary s = convert_nyuv2(o);
  EXPECT_EQ(s.instances, 8);
  EXPECT_THAT(s.instances_per_category, ElementsAre(Pair("bed", 2), Pair("ceiling", 1), Pair("floor", 1),
                                                    Pair("furniture", 1), Pair("objects", 2), Pair("wall", 1)));
  const Loaded ds{load_coco_ground_truth(s.annotations_path, IouType::Segm)};
  rgbdseg::testing::expect_valid_dataset_with_perfect_self_eval(s.annotations_path);
  ASSERT_EQ(ds.gt.categories.size(), 13u);
  EXPECT_EQ(ds.gt.categories[11].name, "wall");
  const auto a1 = ds.annotations_of(ds.image("rgb/test/000001.png")->id);
  ASSERT_EQ(a1.size(), 4u);  // floor (11,1), wall (21,1), bed (157,1), bed (157,2)
  EXPECT_EQ(a1[0]->category_id, 5);
  EXPECT_EQ(a1[1]->category_id, 12);
  EXPECT_EQ(a1[2]->category_id, 1);
  EXPECT_EQ(rle_decode(a1[1]->mask), expected_mask(frames_[1], 21, 1));
}

TEST_F(ConvertNyuv2, TrainSplitRawDepthAndALabelMappedToNothing) {
  // classMapping40.mat as the real one, but raw label 6 (cone) mapped to 0.
  const matlab::MatFile real = matlab::read_mat_v5(meta_.mapping40);
  std::vector<double> map;
  for (double v : real.at("mapClass").as_numbers()) map.push_back(v);
  map[5] = 0;
  const std::string derived = dir_.file("classMapping40_cone0.mat");
  write_mat_v5(derived, {mat_cellstr("className", real.at("className").as_strings()), mat_doubles("mapClass", map)});

  NyuConvertOptions o = small_options("train");
  o.mapping40_path = derived;
  o.mapping13_path.clear();  // not needed for nyu40
  o.split = NyuSplit::Train;
  o.classes = NyuClassSet::Nyu40;
  o.depth = NyuDepthField::Raw;
  const ConversionSummary s = convert_nyuv2(o);  // default min area: 0.12 px here, nothing is dropped for size
  EXPECT_EQ(s.images, 1);
  EXPECT_EQ(s.instances, 2);
  EXPECT_THAT(s.skipped, ElementsAre(Pair("1 instance", "raw label mapped to no class by mapClass")));
  const Loaded ds{load_coco_ground_truth(s.annotations_path, IouType::Segm)};
  rgbdseg::testing::expect_valid_dataset_with_perfect_self_eval(s.annotations_path);
  EXPECT_EQ(ds.gt.categories.size(), 40u);
  EXPECT_EQ(ds.gt.images[0].file_name, "rgb/train/000003.png");
  const auto a3 = ds.annotations_of(ds.gt.images[0].id);
  ASSERT_EQ(a3.size(), 2u);  // chair (5, instance 0) before sofa (83, 3)
  EXPECT_EQ(a3[0]->category_id, 5);
  EXPECT_EQ(a3[1]->category_id, 6);
  EXPECT_EQ(rle_decode(a3[0]->mask), expected_mask(frames_[3], 5, 0));
  EXPECT_EQ(rle_decode(a3[1]->mask), expected_mask(frames_[3], 83, 3));
  const cv::Mat depth = cv::imread(o.out_dir + "/depth/train/000003.png", cv::IMREAD_UNCHANGED);
  ASSERT_EQ(depth.type(), CV_16UC1);
  EXPECT_EQ(depth.at<uint16_t>(0, 0), 0);  // hole
  EXPECT_EQ(depth.at<uint16_t>(1, 1), 0);  // NaN
  EXPECT_EQ(depth.at<uint16_t>(2, 5), depth_mm(3, 2, 5) + 2);
  EXPECT_EQ(depth.at<uint16_t>(5, 7), depth_mm(3, 5, 7) + 2);
}

TEST_F(ConvertNyuv2, RefusesNonEmptyOutputWithoutForce) {
  NyuConvertOptions o = small_options("busy");
  dir_.write("busy/notes.txt", "keep me");
  EXPECT_THAT(error_message([&] { convert_nyuv2(o); }), HasSubstr("busy: output directory is not empty (pass --force"));
  EXPECT_TRUE(testing::path_exists(dir_.file("busy/notes.txt")));
  o.force = true;
  const ConversionSummary s = convert_nyuv2(o);
  EXPECT_EQ(s.images, 3);  // --split all: train/000003, test/000001, test/000002
  EXPECT_TRUE(testing::path_exists(dir_.file("busy/notes.txt")));
  const CocoGroundTruth gt = load_coco_ground_truth(s.annotations_path, IouType::Segm);
  ASSERT_EQ(gt.images.size(), 3u);
  EXPECT_EQ(gt.images[0].file_name, "rgb/test/000001.png");
  EXPECT_EQ(gt.images[2].file_name, "rgb/train/000003.png");
}

TEST_F(ConvertNyuv2, InputErrorsNameTheFile) {
  NyuConvertOptions o = options("err");
  // A labelled file with fewer frames than splits.mat lists.
  const std::string small = dir_.file("small.mat");
  write_nyu_mat(small, 3, frames_);
  o.mat_path = small;
  std::string msg = error_message([&] { convert_nyuv2(o); });
  EXPECT_THAT(msg, HasSubstr("splits.mat: trainNdxs lists frame 4, but " + small + " has 3 frames"));
  // Missing file, not HDF5, missing dataset, inconsistent shapes.
  o.mat_path = dir_.file("absent.mat");
  EXPECT_THAT(error_message([&] { convert_nyuv2(o); }), HasSubstr(o.mat_path + ": file not found"));
  o.mat_path = dir_.write("text.mat", "not hdf5 at all");
  EXPECT_THAT(error_message([&] { convert_nyuv2(o); }), HasSubstr(o.mat_path + ": not an HDF5 file"));
  o.mat_path = dir_.file("nolabels.mat");
  write_nyu_mat(o.mat_path, 3, {}, {"labels"});
  EXPECT_THAT(error_message([&] { convert_nyuv2(o); }), HasSubstr(o.mat_path + ": no dataset 'labels'"));
  o.mat_path = dir_.file("shapes.mat");
  write_nyu_mat(o.mat_path, 3, {}, {}, kW + 1);
  EXPECT_THAT(error_message([&] { convert_nyuv2(o); }),
              HasSubstr(o.mat_path + ": dataset 'labels' has shape (3, 9, 6), but 'images' has (3, 3, 8, 6)"));
  o.depth = NyuDepthField::Raw;
  o.mat_path = dir_.file("noraw.mat");
  write_nyu_mat(o.mat_path, 3, {}, {"rawDepths"});
  EXPECT_THAT(error_message([&] { convert_nyuv2(o); }), HasSubstr(o.mat_path + ": no dataset 'rawDepths'"));
  // Metadata.
  o = options("err");
  o.classes = NyuClassSet::Nyu13;
  o.mapping13_path.clear();
  EXPECT_THAT(error_message([&] { convert_nyuv2(o); }), HasSubstr("class13Mapping.mat (--mapping13)"));
  o = options("err");
  o.splits_path = meta_.mapping40;  // the wrong .mat
  EXPECT_THAT(error_message([&] { convert_nyuv2(o); }), HasSubstr(meta_.mapping40 + ": no variable 'trainNdxs'"));
  o = options("err");
  o.min_area_frac = 1.5;
  EXPECT_THAT(error_message([&] { convert_nyuv2(o); }), HasSubstr("minimum area fraction must be in [0, 1), got 1.5"));
  // Nothing was written by any of these.
  EXPECT_FALSE(testing::path_exists(dir_.file("err")));
}

TEST_F(ConvertNyuv2, LabelBeyondMapClassNamesTheFrame) {
  // Label 900 > 894 raw classes.
  NyuConvertOptions o = small_options("bad");
  const std::string splits = o.splits_path;
  std::map<int, Frame> frames = designed_frames();
  frames[2].labels.at<uint16_t>(4, 6) = 900;
  const std::string mat = dir_.file("bad_label.mat");
  write_nyu_mat(mat, 3, frames);
  o.mat_path = mat;
  EXPECT_THAT(
      error_message([&] { convert_nyuv2(o); }),
      HasSubstr(mat + ": frame 2: label 900 at (x 6, y 4) is beyond classMapping40.mat's mapClass (894 labels)"));
  EXPECT_FALSE(testing::path_exists(o.out_dir));  // the failed conversion left nothing behind
  // The same files without the bad label convert, stems from the 1-based frame index.
  write_nyu_mat(mat, 3, designed_frames());
  o.out_dir = dir_.file("good");
  const ConversionSummary s = convert_nyuv2(o);
  EXPECT_EQ(s.images, 3);
  EXPECT_TRUE(testing::path_exists(o.out_dir + "/rgb/train/000003.png"));
  EXPECT_TRUE(testing::path_exists(o.out_dir + "/depth/test/000001.png"));
  // Duplicate frame in the split lists.
  write_mat_v5(splits, {mat_doubles("trainNdxs", {3, 1}), mat_doubles("testNdxs", {1, 2})});
  EXPECT_THAT(error_message([&] { read_nyu_splits(splits); }),
              HasSubstr(splits + ": testNdxs: frame 1 is listed in trainNdxs too"));
}

TEST(ConvertNyuv2Names, ParseAndName) {
  EXPECT_EQ(parse_nyu_class_set("nyu40-things"), NyuClassSet::Nyu40Things);
  EXPECT_EQ(parse_nyu_split("test"), NyuSplit::Test);
  EXPECT_EQ(parse_nyu_depth_field("raw"), NyuDepthField::Raw);
  EXPECT_STREQ(nyu_class_set_name(NyuClassSet::Nyu13), "nyu13");
  EXPECT_THAT(error_message([] { parse_nyu_class_set("nyu41"); }),
              HasSubstr("unknown NYUv2 class set 'nyu41' (expected one of: nyu40-things, nyu40, nyu13)"));
  EXPECT_THAT(error_message([] { parse_nyu_split("val"); }), HasSubstr("expected one of: train, test, all"));
}

// Small valid splits and mappings, so the damaged .mat is what fails.
NyuConvertOptions damaged_file_options(const testing::ScopedTempDir& tmp, const std::string& fixture) {
  NyuConvertOptions o;
  o.mat_path = std::string(RGBDSEG_SOURCE_DIR) + "/tests/data/fuzz_regressions/" + fixture;
  o.splits_path = tmp.file("splits.mat");
  o.mapping40_path = tmp.file("mapping40.mat");
  o.out_dir = tmp.file("out");
  write_minimal_nyu_metadata(o.splits_path, o.mapping40_path);
  return o;
}

TEST(ConvertNyuv2Damaged, ChunksLargerThanTheDatasetAreRefusedBeforeLibhdf5ReadsThem) {
  // Found by fuzz_nyuv2_mat: the fixture file with its images' chunk shape
  // changed to (1, 3, 11528, 6). libhdf5 1.10 then inflates past its buffer
  // (h5py crashes on it too); the converter refuses the file first. Under the
  // sanitizer build (.ci/run) a regression is a heap-buffer-overflow report.
  testing::ScopedTempDir tmp;
  const NyuConvertOptions o = damaged_file_options(tmp, "nyuv2_oversized_chunk.mat");
  EXPECT_THAT(error_message([&] { convert_nyuv2(o); }),
              HasSubstr(o.mat_path + ": dataset 'images' has chunks (1, 3, 11528, 6) that do not fit its shape"));
  EXPECT_FALSE(testing::path_exists(o.out_dir));
}

TEST(ConvertNyuv2Damaged, ACrashInsideLibhdf5IsAnErrorNotACrash) {
  // Found by fuzz_nyuv2_mat: a damaged local heap makes libhdf5 copy into a
  // NULL buffer while looking a dataset up (a segmentation fault in
  // H5HL_protect; h5py fails on it too). The lookup is tried in a child
  // process first, so this process gets an Error naming the file.
  testing::ScopedTempDir tmp;
  const NyuConvertOptions o = damaged_file_options(tmp, "nyuv2_damaged_local_heap.mat");
  EXPECT_THAT(error_message([&] { convert_nyuv2(o); }), HasSubstr(o.mat_path + ": a damaged HDF5 file (libhdf5 "));
  EXPECT_FALSE(testing::path_exists(o.out_dir));
}

}  // namespace
}  // namespace rgbdseg
