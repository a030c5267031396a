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
#include "data/self_eval.h"
#include "error_message.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace rgbdseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr int kW = 8, kH = 6;

struct Frame {
  cv::Mat rgb{kH, kW, CV_8UC3, cv::Scalar(0, 0, 0)};
  cv::Mat depth{kH, kW, CV_32FC1, cv::Scalar(0)};
  cv::Mat raw{kH, kW, CV_32FC1, cv::Scalar(0)};
  cv::Mat labels{kH, kW, CV_16UC1, cv::Scalar(0)};
  cv::Mat instances{kH, kW, CV_8UC1, cv::Scalar(0)};
  void paint(int y0, int y1, int x0, int x1, int label, int instance) {  // rows [y0,y1), cols [x0,x1)
    labels(cv::Range(y0, y1), cv::Range(x0, x1)).setTo(label);
    instances(cv::Range(y0, y1), cv::Range(x0, x1)).setTo(instance);
  }
};

// Depth in mm of designed frame f at (y, x): distinct everywhere, exact in mm.
int depth_mm(int f, int y, int x) { return 500 + 100 * f + 8 * y + x; }

// Raw labels (classMapping40.mat): 1 book, 2 bottle, 6 cone -> 40 otherprop; 3 cabinet -> 3;
// 4 ceiling -> 22; 5 chair -> 5; 11 floor -> 2; 21 wall -> 1; 83 sofa -> 6; 157 bed -> 4.
std::map<int, Frame> designed_frames() {
  std::map<int, Frame> frames;
  for (int f = 1; f <= 3; ++f) {
    Frame fr;
    for (int y = 0; y < kH; ++y) {
      for (int x = 0; x < kW; ++x) {
        fr.rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(10 * f + x), static_cast<uint8_t>(20 + y),
                                               static_cast<uint8_t>(100 + 3 * f));
        fr.depth.at<float>(y, x) = static_cast<float>(depth_mm(f, y, x) / 1000.0);
        fr.raw.at<float>(y, x) = static_cast<float>((depth_mm(f, y, x) + 2) / 1000.0);
      }
    }
    fr.raw.at<float>(0, 0) = 0.0f;                                     // a hole
    fr.raw.at<float>(1, 1) = std::numeric_limits<float>::quiet_NaN();  // and a NaN
    frames[f] = fr;
  }
  Frame& f1 = frames[1];         // test frame
  f1.paint(0, 2, 0, 8, 21, 1);   // wall (16 px): not a thing
  f1.paint(2, 4, 0, 4, 157, 1);  // bed #1 (8 px)
  f1.paint(2, 4, 4, 8, 157, 2);  // bed #2 (8 px)
  f1.paint(4, 5, 0, 2, 5, 1);    // chair (2 px): below 5% of 48 px
  f1.paint(5, 6, 0, 8, 11, 1);   // floor (8 px): not a thing
  Frame& f2 = frames[2];         // test frame
  f2.paint(0, 3, 0, 4, 1, 1);    // book #1 -> otherprop (12 px)
  f2.paint(0, 3, 4, 8, 2, 1);    // bottle #1 -> otherprop: same class and index, another object (12 px)
  f2.paint(3, 6, 0, 8, 4, 1);    // ceiling (18 px after the cabinet below)
  f2.paint(3, 4, 0, 3, 3, 1);    // cabinet #1, in two parts (6 px)
  f2.paint(5, 6, 5, 8, 3, 1);
  Frame& f3 = frames[3];        // train frame
  f3.paint(0, 3, 0, 8, 6, 1);   // cone (24 px)
  f3.paint(3, 6, 0, 4, 83, 3);  // sofa #3 (12 px)
  f3.paint(3, 6, 4, 8, 5, 0);   // chair, instance index 0 (12 px)
  return frames;
}

// Writes `n` frames in the official layout; frames not in `frames` are all zero.
void write_nyu_mat(const std::string& path, int n, const std::map<int, Frame>& frames,
                   const std::vector<std::string>& skip = {}, int labels_width = kW) {
  const auto has = [&](const std::string& name) { return std::find(skip.begin(), skip.end(), name) == skip.end(); };
  const size_t plane = static_cast<size_t>(kW) * kH;
  std::vector<uint8_t> images(static_cast<size_t>(n) * 3 * plane, 0), instances(static_cast<size_t>(n) * plane, 0);
  std::vector<float> depths(static_cast<size_t>(n) * plane, 0.0f), raw(depths);
  std::vector<uint16_t> labels(static_cast<size_t>(n) * plane, 0);
  for (const auto& [f, fr] : frames) {
    const size_t base = static_cast<size_t>(f - 1);
    for (int x = 0; x < kW; ++x) {
      for (int y = 0; y < kH; ++y) {
        const size_t at = base * plane + static_cast<size_t>(x) * kH + static_cast<size_t>(y);  // [n][x][y]
        for (int c = 0; c < 3; ++c) {
          images[(base * 3 + static_cast<size_t>(c)) * plane + static_cast<size_t>(x) * kH + static_cast<size_t>(y)] =
              fr.rgb.at<cv::Vec3b>(y, x)[c];
        }
        depths[at] = fr.depth.at<float>(y, x);
        raw[at] = fr.raw.at<float>(y, x);
        labels[at] = fr.labels.at<uint16_t>(y, x);
        instances[at] = fr.instances.at<uint8_t>(y, x);
      }
    }
  }
  H5::FileCreatPropList fcpl;
  fcpl.setUserblock(512);
  {
    H5::H5File file(path, H5F_ACC_TRUNC, fcpl);
    const auto matlab_class = [](H5::DataSet& ds, const std::string& cls) {
      H5::StrType type(H5::PredType::C_S1, cls.size());
      H5::Attribute a = ds.createAttribute("MATLAB_class", type, H5::DataSpace(H5S_SCALAR));
      a.write(type, cls);
    };
    const hsize_t n_ = static_cast<hsize_t>(n);
    {  // images chunked and compressed per frame, like MATLAB's v7.3 writer
      const hsize_t dims[4] = {n_, 3, kW, kH}, chunk[4] = {1, 3, kW, kH};
      H5::DSetCreatPropList props;
      props.setChunk(4, chunk);
      props.setDeflate(3);
      H5::DataSet ds = file.createDataSet("images", H5::PredType::STD_U8LE, H5::DataSpace(4, dims), props);
      ds.write(images.data(), H5::PredType::NATIVE_UINT8);
      matlab_class(ds, "uint8");
    }
    const hsize_t dims[3] = {n_, kW, static_cast<hsize_t>(kH)};
    const auto plane_set = [&](const char* name, const H5::PredType& stored, const H5::PredType& mem, const void* data,
                               const char* cls, const hsize_t* d) {
      if (!has(name)) return;
      H5::DataSet ds = file.createDataSet(name, stored, H5::DataSpace(3, d));
      ds.write(data, mem);
      matlab_class(ds, cls);
    };
    plane_set("depths", H5::PredType::IEEE_F32LE, H5::PredType::NATIVE_FLOAT, depths.data(), "single", dims);
    plane_set("rawDepths", H5::PredType::IEEE_F32LE, H5::PredType::NATIVE_FLOAT, raw.data(), "single", dims);
    if (labels_width == kW) {
      plane_set("labels", H5::PredType::STD_U16LE, H5::PredType::NATIVE_UINT16, labels.data(), "uint16", dims);
    } else {
      const hsize_t other[3] = {n_, static_cast<hsize_t>(labels_width), kH};
      std::vector<uint16_t> zeros(static_cast<size_t>(n) * static_cast<size_t>(labels_width) * kH, 0);
      plane_set("labels", H5::PredType::STD_U16LE, H5::PredType::NATIVE_UINT16, zeros.data(), "uint16", other);
    }
    plane_set("instances", H5::PredType::STD_U8LE, H5::PredType::NATIVE_UINT8, instances.data(), "uint8", dims);
  }
  // MATLAB's header text in the user block.
  std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string header = "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 .";
  header.resize(128, ' ');
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
}

// A minimal little-endian MAT v5 writer for derived metadata files (double row
// vectors and cell arrays of strings, uncompressed).
std::string mat_element(uint32_t type, const std::string& payload) {
  std::string out(8, '\0');
  const auto n = static_cast<uint32_t>(payload.size());
  std::memcpy(&out[0], &type, 4);
  std::memcpy(&out[4], &n, 4);
  out += payload;
  out.resize((out.size() + 7) / 8 * 8, '\0');
  return out;
}
std::string mat_matrix(uint32_t cls, int32_t rows, int32_t cols, const std::string& name, const std::string& body) {
  std::string flags(8, '\0'), dims(8, '\0');
  std::memcpy(&flags[0], &cls, 4);
  std::memcpy(&dims[0], &rows, 4);
  std::memcpy(&dims[4], &cols, 4);
  return mat_element(14, mat_element(6, flags) + mat_element(5, dims) + mat_element(1, name) + body);
}
std::string mat_doubles(const std::string& name, const std::vector<double>& v) {
  return mat_matrix(6, 1, static_cast<int32_t>(v.size()), name,
                    mat_element(9, std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double))));
}
std::string mat_cellstr(const std::string& name, const std::vector<std::string>& v) {
  std::string cells;
  for (const auto& s : v) cells += mat_matrix(4, 1, static_cast<int32_t>(s.size()), "", mat_element(16, s));
  return mat_matrix(1, 1, static_cast<int32_t>(v.size()), name, cells);
}
void write_mat_v5(const std::string& path, const std::vector<std::string>& variables) {
  std::string bytes = "MATLAB 5.0 MAT-file, written by rgbdseg's tests";
  bytes.resize(116, ' ');
  bytes += std::string(8, '\0') + std::string("\x00\x01IM", 4);
  for (const auto& v : variables) bytes += v;
  std::ofstream(path, std::ios::binary) << bytes;
}

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

}  // namespace
}  // namespace rgbdseg
