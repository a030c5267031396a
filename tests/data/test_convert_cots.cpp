// Tests for data/convert_cots: object groups, the folder quirks on a tiny
// COTS-shaped fixture, and the real COTS training pool in ../shared/data/cots.
#include "error_message.h"
#include "rgbdseg/data/convert_cots.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/coco/coco_dataset.h"
#include "rgbdseg/coco/coco_eval.h"
#include "image_files.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace rgbdseg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using testing::ScopedTempDir;

using testing::write_image;

// file_name -> sorted areas of its annotations.
std::map<std::string, std::vector<double>> areas_by_image(const CocoGroundTruth& gt) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& img : gt.images) out[img.file_name];
  for (const auto& a : gt.annotations) out[gt.images[gt.image_index.at(a.image_id)].file_name].push_back(a.area);
  for (auto& [name, areas] : out) std::sort(areas.begin(), areas.end());
  return out;
}

// "rgb/part3/booksA_nw_no/1.png" -> "booksA_nw_no".
std::string scene_of(const std::string& file_name) {
  const fs::path p(file_name);
  return p.parent_path().filename().string();
}

TEST(ConvertCots, ObjectGroupsFollowTheObjectsNotTheSceneNames) {
  EXPECT_EQ(cots_object_group("booksA_nw_no"), "books");
  EXPECT_EQ(cots_object_group("booksc_w_oc"), "books");  // the masks folders' lower case
  EXPECT_EQ(cots_object_group("academic_book_oc"), "books");
  EXPECT_EQ(cots_object_group("lp_book_no"), "books");
  EXPECT_EQ(cots_object_group("reading_no"), "books");
  EXPECT_EQ(cots_object_group("mugs_oc2"), "mugs");
  EXPECT_EQ(cots_object_group("mugs_no"), "mugs");
  EXPECT_EQ(cots_object_group("head_gear_no"), "headgear");
  EXPECT_EQ(cots_object_group("foodB_nw_no"), "food");
  EXPECT_EQ(cots_object_group("food_oc"), "food");
  EXPECT_EQ(cots_object_group("bottlesB_nw_no"), "bottles");
  EXPECT_EQ(cots_object_group("souvenirsA_nw_no"), "souvenirs");
  EXPECT_EQ(cots_object_group("statues_oc"), "statues");
  EXPECT_EQ(cots_object_group("shooters_no"), "shooters");
  EXPECT_EQ(cots_object_group("footwear_oc"), "footwear");
  EXPECT_EQ(cots_object_group("fooda_nw_no"), "food");
  EXPECT_EQ(cots_object_group("Kettles"), "kettles");    // no tags: the name itself, lower case
  EXPECT_EQ(cots_object_group("kettlesB_w"), "kettles");  // a set letter in upper case is always one
  EXPECT_EQ(cots_object_group("kettlesb_w"), "kettlesb");  // in lower case only after a known group
}

// A COTS-shaped folder with every quirk, 8x6 pixels:
//   Part 2: scene mugs_no, frames 1 (no masks) and 3 (masks "3_colour_mask_0_mask.png",
//           "m_3_colour_mask_1_mask_mask.png", one empty mask, one unparseable name);
//   Part 3: scenes booksA_nw_no (maps in masks/booksa_nw_no, frame 2 without a map) and
//           bottlesB_nw_no (frame 1 without depth); depth with 65535 and a 20 m outlier.
class ConvertCotsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.file("cots");
    const std::string p2 = root_ + "/Part 2 - Multiple Objects/mugs_no";
    const std::string p3 = root_ + "/Part 3 - Complex Background";
    cv::Mat colour(6, 8, CV_8UC3, cv::Scalar(10, 20, 30));
    cv::Mat depth(6, 8, CV_16UC1, cv::Scalar(1500));
    depth.at<uint16_t>(0, 0) = 65535;
    depth.at<uint16_t>(0, 1) = 20000;
    depth.at<uint16_t>(0, 2) = 0;
    depth.at<uint16_t>(0, 3) = 10000;  // exactly 10 m: valid
    for (const char* k : {"1", "3"}) {
      write_image(p2 + "/" + k + "_colour.jpeg", colour);
      write_image(p2 + "/" + k + "_depth16.png", depth);
    }
    cv::Mat m0 = cv::Mat::zeros(6, 8, CV_8UC1), m1 = m0.clone();
    m0(cv::Rect(0, 0, 2, 3)).setTo(255);  // 6 px
    m1(cv::Rect(4, 2, 4, 4)).setTo(255);  // 16 px
    write_image(p2 + "/masks/3_colour_mask_0_mask.png", m0);
    write_image(p2 + "/masks/m_3_colour_mask_1_mask_mask.png", m1);
    write_image(p2 + "/masks/mugs_no_3_colour_mask_2_mask.png", cv::Mat::zeros(6, 8, CV_8UC1));
    write_image(p2 + "/masks/notes.png", m0);
    for (const char* k : {"1", "2"}) {
      write_image(p3 + "/booksA_nw_no/" + k + "_colour.jpeg", colour);
      write_image(p3 + "/booksA_nw_no/" + k + "_depth16.png", depth);
    }
    write_image(p3 + "/bottlesB_nw_no/1_colour.jpeg", colour);
    cv::Mat map = cv::Mat::zeros(6, 8, CV_8UC3);  // BGR
    map(cv::Rect(0, 0, 3, 2)).setTo(cv::Scalar(0, 0, 128));    // (128,0,0): 6 px
    map(cv::Rect(3, 3, 5, 3)).setTo(cv::Scalar(0, 128, 128));  // (128,128,0): 15 px
    map.at<cv::Vec3b>(5, 0) = cv::Vec3b(0, 128, 0);            // (0,128,0): 1 px
    write_image(p3 + "/masks/booksa_nw_no/1_colour.png", map);
  }

  ScopedTempDir tmp_;
  std::string root_;
};

TEST_F(ConvertCotsFixture, ConvertsEveryQuirkAndSaysWhatItSkipped) {
  CotsOptions o;
  o.root = root_;
  o.out = tmp_.file("out");
  o.threads = 2;
  int64_t last_done = 0, last_total = 0;
  const auto subsets = convert_cots(o, [&](int64_t done, int64_t total) {
    last_done = done;
    last_total = total;
    return true;
  });
  EXPECT_EQ(last_done, 2);
  EXPECT_EQ(last_total, 2);
  ASSERT_EQ(subsets.size(), 1u);
  EXPECT_EQ(subsets[0].name, "");
  EXPECT_THAT(subsets[0].groups, ElementsAre("books", "bottles", "mugs"));
  const ConversionSummary& s = subsets[0].summary;
  EXPECT_EQ(s.images, 2);
  EXPECT_EQ(s.instances, 5);
  EXPECT_EQ(s.instances_per_category.at("object"), 5);
  std::map<std::string, std::string> skipped(s.skipped.begin(), s.skipped.end());
  EXPECT_EQ(skipped.size(), 5u);
  EXPECT_THAT(skipped["part2/mugs_no/1"], HasSubstr("not annotated"));
  EXPECT_THAT(skipped["Part 2 - Multiple Objects/mugs_no/masks/notes.png"], HasSubstr("does not give its frame"));
  EXPECT_EQ(skipped["Part 2 - Multiple Objects/mugs_no/masks/mugs_no_3_colour_mask_2_mask.png"], "empty mask");
  EXPECT_THAT(skipped["part3/booksA_nw_no/2"], HasSubstr("no instance map"));
  EXPECT_THAT(skipped["part3/booksA_nw_no/2"], HasSubstr("masks/booksa_nw_no/2_colour.png"));
  EXPECT_THAT(skipped["part3/bottlesB_nw_no/1"], HasSubstr("no depth file 1_depth16.png"));

  const CocoGroundTruth gt = load_coco_ground_truth(s.annotations_path, IouType::Segm);
  const auto areas = areas_by_image(gt);
  ASSERT_EQ(areas.size(), 2u);
  EXPECT_THAT(areas.at("rgb/part2/mugs_no/3.png"), ElementsAre(6, 16));
  EXPECT_THAT(areas.at("rgb/part3/booksA_nw_no/1.png"), ElementsAre(1, 6, 15));
  for (const auto& img : gt.images) {
    EXPECT_EQ(img.depth_scale, 0.001);
    const cv::Mat d = cv::imread(o.out + "/" + img.depth_file, cv::IMREAD_UNCHANGED);
    ASSERT_EQ(d.type(), CV_16UC1) << img.depth_file;
    EXPECT_EQ(d.at<uint16_t>(0, 0), 0) << "65535 is invalid";
    EXPECT_EQ(d.at<uint16_t>(0, 1), 0) << "20 m is an outlier";
    EXPECT_EQ(d.at<uint16_t>(0, 2), 0);
    EXPECT_EQ(d.at<uint16_t>(0, 3), 10000);
    EXPECT_EQ(d.at<uint16_t>(3, 3), 1500);
  }
}

TEST_F(ConvertCotsFixture, MaskOfTheWrongSizeIsAnErrorNamingTheFile) {
  write_image(root_ + "/Part 3 - Complex Background/masks/booksa_nw_no/2_colour.png", cv::Mat::zeros(5, 8, CV_8UC3));
  CotsOptions o;
  o.root = root_;
  o.out = tmp_.file("out");
  const std::string msg = error_message([&] { convert_cots(o); });
  EXPECT_THAT(msg, HasSubstr("masks/booksa_nw_no/2_colour.png: mask size 8x5 does not match colour image"));
  EXPECT_FALSE(fs::exists(o.out + "/annotations.json"));
}

TEST_F(ConvertCotsFixture, ValGroupsAreCheckedAndSplitTheOutput) {
  CotsOptions o;
  o.root = root_;
  o.out = tmp_.file("out");
  o.val_groups = {"cups"};
  EXPECT_THAT(error_message([&] { convert_cots(o); }),
              HasSubstr("--val-groups: unknown object group 'cups' (groups in " + root_ + ": books, bottles, mugs)"));
  o.val_groups = {"books", "bottles", "MUGS"};
  EXPECT_THAT(error_message([&] { convert_cots(o); }), HasSubstr("nothing is left to train on"));
  o.val_groups = {"Books"};
  const auto subsets = convert_cots(o);
  ASSERT_EQ(subsets.size(), 2u);
  EXPECT_EQ(subsets[0].name, "train");
  EXPECT_EQ(subsets[1].name, "val");
  EXPECT_THAT(subsets[0].groups, ElementsAre("bottles", "mugs"));
  EXPECT_THAT(subsets[1].groups, ElementsAre("books"));
  EXPECT_EQ(subsets[0].summary.annotations_path, o.out + "/train/annotations.json");
  EXPECT_EQ(subsets[1].summary.annotations_path, o.out + "/val/annotations.json");
  EXPECT_EQ(subsets[0].summary.images, 1);
  EXPECT_EQ(subsets[1].summary.images, 1);
  // Skipped items go with their group.
  EXPECT_EQ(subsets[0].summary.skipped.size(), 4u);
  ASSERT_EQ(subsets[1].summary.skipped.size(), 1u);
  EXPECT_EQ(subsets[1].summary.skipped[0].first, "part3/booksA_nw_no/2");
}

TEST_F(ConvertCotsFixture, RefusesNonEmptyOutputWithoutForce) {
  CotsOptions o;
  o.root = root_;
  o.out = tmp_.file("out");
  tmp_.write("out/keep.txt", "x");
  EXPECT_THAT(error_message([&] { convert_cots(o); }),
              HasSubstr(o.out + ": output directory is not empty (pass --force to write into it)"));
  o.val_groups = {"mugs"};
  EXPECT_THAT(error_message([&] { convert_cots(o); }),
              HasSubstr(o.out + ": output directory is not empty (pass --force to write into it)"));
  o.force = true;
  EXPECT_EQ(convert_cots(o).size(), 2u);
  EXPECT_TRUE(fs::exists(o.out + "/keep.txt"));
}

TEST(ConvertCots, NotACotsFolder) {
  ScopedTempDir tmp;
  CotsOptions o;
  o.out = tmp.file("out");
  o.root = tmp.file("missing");
  EXPECT_THAT(error_message([&] { convert_cots(o); }), HasSubstr(o.root + ": no such folder"));
  o.root = tmp.path();
  tmp.write("README.md", "hello");
  EXPECT_THAT(error_message([&] { convert_cots(o); }), HasSubstr(tmp.path() + ": not a COTS folder"));
  EXPECT_FALSE(fs::exists(o.out));
}

// --- the real training pool ---
//
// Expected numbers were established independently of this code with a
// standard-library Python script (zlib-decoding the PNGs, no OpenCV):
// Part 2 has 21 scenes with one annotated frame each and 62 mask files, every
// one non-empty (values 0/255); Part 3 has 41 instance maps (42 frames, no map
// for foodB_nw_no/3) with 81 distinct non-black colours in all: 62 images,
// 143 instances. Areas below are those pixel counts. Depth: foodB_nw_no/2 has
// 188198 zero pixels and 3206 above 10000 mm (212 of them 65535);
// statuesA_nw_no/2 has 6 above 10000 mm (max 17013).
// Object groups books + mugs: the Part 2 scenes academic_book_* (3+4 masks),
// lp_book_* (3+3), reading_* (2+2), mugs_* (3+3+3) and the Part 3 books scenes
// (21 maps, 45 colours): 30 images, 71 instances; the rest 32 images, 72.

class ConvertCotsRealData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string root = testing::shared_path("data/cots");
    if (root.empty()) return;
    tmp_ = new ScopedTempDir();
    CotsOptions o;
    o.root = root;
    o.out = tmp_->file("cots");
    try {
      subsets_ = new std::vector<CotsSubset>(convert_cots(o));
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete subsets_;
    delete tmp_;
    subsets_ = nullptr;
    tmp_ = nullptr;
  }
  static ScopedTempDir* tmp_;
  static std::vector<CotsSubset>* subsets_;
  static std::string error_;  // why the conversion failed
};
std::string ConvertCotsRealData::error_;
ScopedTempDir* ConvertCotsRealData::tmp_ = nullptr;
std::vector<CotsSubset>* ConvertCotsRealData::subsets_ = nullptr;

TEST_F(ConvertCotsRealData, ConvertsEveryAnnotatedFrame) {
  RGBDSEG_REQUIRE_SHARED(root, "data/cots");
  ASSERT_NE(subsets_, nullptr) << error_;
  ASSERT_EQ(subsets_->size(), 1u);
  const ConversionSummary& s = (*subsets_)[0].summary;
  EXPECT_EQ(s.images, 62);
  EXPECT_EQ(s.instances, 143);
  EXPECT_EQ(s.instances_per_category.size(), 1u);
  EXPECT_EQ(s.instances_per_category.at("object"), 143);
  ASSERT_EQ(s.skipped.size(), 1u);
  EXPECT_EQ(s.skipped[0].first, "part3/foodB_nw_no/3");
  EXPECT_THAT(s.skipped[0].second, HasSubstr("no instance map"));
  EXPECT_THAT((*subsets_)[0].groups,
              ElementsAre("books", "bottles", "food", "footwear", "headgear", "mugs", "shooters", "souvenirs",
                          "statues"));

  const CocoGroundTruth gt = load_coco_ground_truth(s.annotations_path, IouType::Segm);
  ASSERT_EQ(gt.images.size(), 62u);
  ASSERT_EQ(gt.annotations.size(), 143u);
  ASSERT_EQ(gt.categories.size(), 1u);
  EXPECT_EQ(gt.categories[0].name, "object");
  const auto areas = areas_by_image(gt);
  int64_t part2_images = 0, part2_instances = 0;
  for (const auto& [name, a] : areas) {
    if (name.rfind("rgb/part2/", 0) == 0) {
      ++part2_images;
      part2_instances += static_cast<int64_t>(a.size());
    }
  }
  EXPECT_EQ(part2_images, 21);
  EXPECT_EQ(part2_instances, 62);
  // Irregular mask names, including "3_colour_mask_1_mask_mask.png".
  EXPECT_THAT(areas.at("rgb/part2/mugs_no/3.png"), ElementsAre(22627, 26477, 43834));
  EXPECT_THAT(areas.at("rgb/part2/academic_book_oc/3.png"), ElementsAre(2534, 3805, 9127, 88567));
  EXPECT_THAT(areas.at("rgb/part2/reading_oc/2.png"), ElementsAre(23553, 77816));
  // Colour maps found through the lower-case folder names.
  EXPECT_THAT(areas.at("rgb/part3/booksA_nw_oc/2.png"), ElementsAre(690, 762, 1194, 3384, 77525));
  EXPECT_THAT(areas.at("rgb/part3/foodB_nw_no/2.png"), ElementsAre(47585, 92367));
  EXPECT_EQ(areas.count("rgb/part3/foodB_nw_no/3.png"), 0u);
  for (const auto& img : gt.images) {
    EXPECT_EQ(img.width, 1280);
    EXPECT_EQ(img.height, 720);
    EXPECT_EQ(img.depth_scale, 0.001);
  }
}

TEST_F(ConvertCotsRealData, DepthOutliersAreInvalidAndTheRestIsExact) {
  RGBDSEG_REQUIRE_SHARED(root, "data/cots");
  ASSERT_NE(subsets_, nullptr) << error_;
  const std::string out = tmp_->file("cots");
  struct Case {
    std::string input, output;
    int zeros_in, outliers;
  };
  for (const Case& c : {Case{"Part 3 - Complex Background/foodB_nw_no/2_depth16.png", "depth/part3/foodB_nw_no/2.png",
                             188198, 3206},
                        Case{"Part 3 - Complex Background/statuesA_nw_no/2_depth16.png",
                             "depth/part3/statuesA_nw_no/2.png", 43692, 6}}) {
    const cv::Mat in = cv::imread(root + "/" + c.input, cv::IMREAD_UNCHANGED);
    const cv::Mat got = cv::imread(out + "/" + c.output, cv::IMREAD_UNCHANGED);
    ASSERT_EQ(in.type(), CV_16UC1);
    ASSERT_EQ(got.type(), CV_16UC1) << c.output;
    ASSERT_EQ(got.size(), in.size());
    int outliers = 0, mismatches = 0;
    for (int y = 0; y < in.rows; ++y) {
      for (int x = 0; x < in.cols; ++x) {
        const uint16_t v = in.at<uint16_t>(y, x), w = got.at<uint16_t>(y, x);
        if (v > 10000) ++outliers;
        if (w != (v > 10000 ? 0 : v)) ++mismatches;
      }
    }
    EXPECT_EQ(outliers, c.outliers) << c.input;
    EXPECT_EQ(mismatches, 0) << c.output;
    EXPECT_EQ(in.total() - cv::countNonZero(got), static_cast<size_t>(c.zeros_in + c.outliers)) << c.output;
    double max_mm = 0;
    cv::minMaxLoc(got, nullptr, &max_mm);
    EXPECT_LE(max_mm, 10000);
  }
}

TEST_F(ConvertCotsRealData, GroundTruthAsResultsGivesApOne) {
  RGBDSEG_REQUIRE_SHARED(root, "data/cots");
  ASSERT_NE(subsets_, nullptr) << error_;
  const CocoGroundTruth gt = load_coco_ground_truth((*subsets_)[0].summary.annotations_path, IouType::Segm);
  std::vector<CocoObject> results = gt.annotations;
  for (auto& r : results) r.score = 1.0;
  CocoEvalParams params;
  params.iou_type = IouType::Segm;
  const CocoEvalResult result = CocoEvaluator(gt, results, params).run();
  EXPECT_DOUBLE_EQ(result.stats[0], 1.0);  // AP .50:.95
  EXPECT_DOUBLE_EQ(result.stats[1], 1.0);  // AP .50
  EXPECT_DOUBLE_EQ(result.stats[8], 1.0);  // AR 100
}

TEST_F(ConvertCotsRealData, ValGroupsSplitWithoutSharingAGroup) {
  RGBDSEG_REQUIRE_SHARED(root, "data/cots");
  ScopedTempDir tmp;
  CotsOptions o;
  o.root = root;
  o.out = tmp.file("split");
  o.val_groups = {"books", "mugs"};
  const auto subsets = convert_cots(o);
  ASSERT_EQ(subsets.size(), 2u);
  EXPECT_THAT(subsets[0].groups,
              ElementsAre("bottles", "food", "footwear", "headgear", "shooters", "souvenirs", "statues"));
  EXPECT_THAT(subsets[1].groups, ElementsAre("books", "mugs"));
  EXPECT_EQ(subsets[0].summary.images, 32);
  EXPECT_EQ(subsets[0].summary.instances, 72);
  EXPECT_EQ(subsets[1].summary.images, 30);
  EXPECT_EQ(subsets[1].summary.instances, 71);
  std::set<std::string> scenes[2];
  std::set<std::string> groups[2];
  for (int s = 0; s < 2; ++s) {
    const CocoGroundTruth gt = load_coco_ground_truth(o.out + (s == 0 ? "/train" : "/val") + "/annotations.json",
                                                      IouType::Segm);
    EXPECT_EQ(static_cast<int64_t>(gt.images.size()), subsets[s].summary.images);
    for (const auto& img : gt.images) {
      scenes[s].insert(scene_of(img.file_name));
      groups[s].insert(cots_object_group(scene_of(img.file_name)));
    }
  }
  // Same physical books in academic_book_no (Part 2) and booksB (Part 3): both in val.
  EXPECT_TRUE(scenes[1].count("academic_book_no"));
  EXPECT_TRUE(scenes[1].count("booksB_nw_no"));
  EXPECT_TRUE(scenes[1].count("mugs_oc2"));
  EXPECT_TRUE(scenes[0].count("foodA_nw_no"));
  EXPECT_TRUE(scenes[0].count("food_no"));
  EXPECT_THAT(groups[1], UnorderedElementsAre("books", "mugs"));
  for (const auto& g : groups[0]) EXPECT_EQ(groups[1].count(g), 0u) << g << " is in train and val";
  EXPECT_EQ(groups[0].size(), 7u);
}

}  // namespace
}  // namespace rgbdseg
