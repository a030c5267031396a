// Tests for data/convert_folder: both mask styles on tiny folders written here
// with OpenCV, class maps, skipped items, and the errors.
#include "error_message.h"
#include "rgbdseg/data/convert_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/coco/coco_dataset.h"
#include "data/self_eval.h"
#include "image_files.h"
#include "temp_dir.h"

namespace rgbdseg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using testing::ScopedTempDir;

using testing::write_image;

// (category name, area, bbox) of every annotation of `file_name`, sorted.
struct Obj {
  std::string category;
  double area;
  std::vector<double> bbox;
  bool operator<(const Obj& o) const { return std::tie(category, area) < std::tie(o.category, o.area); }
  bool operator==(const Obj& o) const { return category == o.category && area == o.area && bbox == o.bbox; }
};
std::ostream& operator<<(std::ostream& os, const Obj& o) {
  return os << o.category << " area " << o.area << " bbox " << ::testing::PrintToString(o.bbox);
}

std::vector<Obj> objects_of(const CocoGroundTruth& gt, const std::string& file_name) {
  std::map<int64_t, std::string> names;
  for (const auto& c : gt.categories) names[c.id] = c.name;
  std::vector<Obj> out;
  for (const auto& a : gt.annotations) {
    if (gt.images[gt.image_index.at(a.image_id)].file_name != file_name) continue;
    out.push_back({names.at(a.category_id), a.area, {a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]}});
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::pair<int64_t, std::string>> categories_of(const CocoGroundTruth& gt) {
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& c : gt.categories) out.emplace_back(c.id, c.name);
  return out;
}

// 10x8 (WxH) images: colour, and depth 1.25 m with a hole, 0.5 m and a 12 m outlier.
class ConvertFolderFixture : public ::testing::Test {
 protected:
  void SetUp() override { root_ = tmp_.file("in"); }

  void add_image(const std::string& name, bool with_depth = true, const std::string& ext = "png") {
    write_image(root_ + "/rgb/" + name + "." + ext, cv::Mat(8, 10, CV_8UC3, cv::Scalar(40, 80, 120)));
    if (!with_depth) return;
    cv::Mat depth(8, 10, CV_16UC1, cv::Scalar(1250));
    depth.at<uint16_t>(0, 0) = 0;
    depth.at<uint16_t>(0, 1) = 500;
    depth.at<uint16_t>(0, 2) = 12000;
    write_image(root_ + "/depth/" + name + ".png", depth);
  }
  // A binary mask with the rectangle (x, y, w, h) set to `value`.
  static cv::Mat rect_mask(int x, int y, int w, int h, int value = 255, int rows = 8, int cols = 10) {
    cv::Mat m = cv::Mat::zeros(rows, cols, CV_8UC1);
    m(cv::Rect(x, y, w, h)).setTo(value);
    return m;
  }
  FolderOptions options() const {
    FolderOptions o;
    o.root = root_;
    o.out = tmp_.file("out");
    o.threads = 2;
    return o;
  }

  ScopedTempDir tmp_;
  std::string root_;
};

TEST_F(ConvertFolderFixture, PerObjectMasksWithClassesFromFilePrefixes) {
  add_image("a");
  add_image("b", true, "jpg");
  add_image("nodepth", false);
  add_image("nomasks");
  write_image(root_ + "/masks/a/mug_1.png", rect_mask(0, 0, 3, 2));           // 6 px
  write_image(root_ + "/masks/a/mug_big_2.png", rect_mask(5, 4, 5, 4, 1));    // 20 px, values 0/1
  write_image(root_ + "/masks/a/book.png", rect_mask(2, 3, 2, 5));            // 10 px
  write_image(root_ + "/masks/a/mug_empty.png", cv::Mat::zeros(8, 10, CV_8UC1));
  tmp_.write("in/masks/a/notes.txt", "labelled by hand");
  write_image(root_ + "/masks/b/bk_7.png", rect_mask(1, 1, 1, 1));  // 1 px
  write_image(root_ + "/masks/orphan/mug.png", rect_mask(0, 0, 1, 1));
  tmp_.write("in/classes.json", R"({"prefixes": {"mug": "mug", "mug_big": "big mug", "book": "book", "bk_": "book"}})");
  FolderOptions o = options();
  o.intrinsics = Intrinsics{500, 501, 4.5, 3.5};
  const ConversionSummary s = convert_folder(o);
  EXPECT_EQ(s.images, 2);
  EXPECT_EQ(s.instances, 4);
  EXPECT_THAT(s.instances_per_category,
              ElementsAre(Pair("big mug", 1), Pair("book", 2), Pair("mug", 1)));
  std::map<std::string, std::string> skipped(s.skipped.begin(), s.skipped.end());
  EXPECT_EQ(skipped.size(), 5u);
  EXPECT_EQ(skipped["rgb/nodepth.png"], "no depth file depth/nodepth.png (or .tif)");
  EXPECT_EQ(skipped["rgb/nomasks.png"], "no masks folder masks/nomasks/");
  EXPECT_EQ(skipped["masks/a/mug_empty.png"], "empty mask");
  EXPECT_THAT(skipped["masks/a/notes.txt"], HasSubstr("not a lossless mask image"));
  EXPECT_EQ(skipped["masks/orphan"], "no colour image rgb/orphan.*");

  const CocoGroundTruth gt = load_coco_ground_truth(s.annotations_path, IouType::Segm);
  rgbdseg::testing::expect_valid_dataset_with_perfect_self_eval(s.annotations_path);
  // Ids in the order the class map first names them.
  EXPECT_THAT(categories_of(gt), ElementsAre(Pair(1, "mug"), Pair(2, "big mug"), Pair(3, "book")));
  EXPECT_THAT(objects_of(gt, "rgb/a.png"), ElementsAre(Obj{"big mug", 20, {5, 4, 5, 4}}, Obj{"book", 10, {2, 3, 2, 5}},
                                                       Obj{"mug", 6, {0, 0, 3, 2}}));
  EXPECT_THAT(objects_of(gt, "rgb/b.png"), ElementsAre(Obj{"book", 1, {1, 1, 1, 1}}));
  ASSERT_EQ(gt.images.size(), 2u);
  ASSERT_TRUE(gt.images[0].intrinsics.has_value());
  EXPECT_EQ(gt.images[0].intrinsics->fy, 501);
  EXPECT_EQ(gt.images[0].intrinsics->cx, 4.5);
  const cv::Mat depth = cv::imread(o.out + "/depth/a.png", cv::IMREAD_UNCHANGED);
  ASSERT_EQ(depth.type(), CV_16UC1);
  EXPECT_EQ(depth.at<uint16_t>(0, 0), 0);
  EXPECT_EQ(depth.at<uint16_t>(0, 1), 500);
  EXPECT_EQ(depth.at<uint16_t>(0, 2), 0) << "12 m is beyond the default 10 m";
  EXPECT_EQ(depth.at<uint16_t>(5, 5), 1250);
  const cv::Mat rgb = cv::imread(o.out + "/rgb/a.png", cv::IMREAD_UNCHANGED);
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.at<cv::Vec3b>(2, 2), cv::Vec3b(40, 80, 120));  // BGR on disk, as written
}

TEST_F(ConvertFolderFixture, ColourCodedInstanceMapsWithClassesFromColours) {
  add_image("x");
  add_image("y");
  cv::Mat map = cv::Mat::zeros(8, 10, CV_8UC3);  // BGR
  map(cv::Rect(0, 0, 4, 4)).setTo(cv::Scalar(0, 0, 128));    // #800000: 16 px
  map(cv::Rect(4, 0, 6, 2)).setTo(cv::Scalar(0, 128, 0));    // #008000: 12 px
  map(cv::Rect(0, 6, 10, 2)).setTo(cv::Scalar(128, 0, 0));   // #000080: 20 px
  map.at<cv::Vec3b>(7, 9) = cv::Vec3b(128, 0, 128);          // #800080: 1 px, touches #000080's box
  write_image(root_ + "/instances/x.png", map);
  write_image(root_ + "/instances/y.png", cv::Mat::zeros(8, 10, CV_8UC3));  // no objects
  const std::string classes = tmp_.write(
      "classes.json",
      R"({"categories": ["table", "cup", "plate"], "colours": {"#800000": "cup", "#008000": "CUP-not", "#000080": "plate"},
          "default": "table"})");
  FolderOptions o = options();
  o.classes = classes;
  EXPECT_THAT(error_message([&] { convert_folder(o); }),
              HasSubstr(classes + ": colours: '#008000': class 'CUP-not' is not in \"categories\""));
  tmp_.write("classes.json",
             R"({"categories": ["table", "cup", "plate"], "colours": {"#800000": "cup", "#008000": "cup", "#000080": "plate"},
                 "default": "table"})");
  const ConversionSummary s = convert_folder(o);
  EXPECT_EQ(s.images, 2);
  EXPECT_EQ(s.instances, 4);
  EXPECT_TRUE(s.skipped.empty());
  const CocoGroundTruth gt = load_coco_ground_truth(s.annotations_path, IouType::Segm);
  rgbdseg::testing::expect_valid_dataset_with_perfect_self_eval(s.annotations_path);
  EXPECT_THAT(categories_of(gt), ElementsAre(Pair(1, "table"), Pair(2, "cup"), Pair(3, "plate")));
  EXPECT_THAT(objects_of(gt, "rgb/x.png"),
              ElementsAre(Obj{"cup", 12, {4, 0, 6, 2}}, Obj{"cup", 16, {0, 0, 4, 4}}, Obj{"plate", 19, {0, 6, 10, 2}},
                          Obj{"table", 1, {9, 7, 1, 1}}));
  EXPECT_TRUE(objects_of(gt, "rgb/y.png").empty());
}

TEST_F(ConvertFolderFixture, SingleChannelInstanceMapsAndNoClassMap) {
  add_image("g");
  cv::Mat ids = cv::Mat::zeros(8, 10, CV_16UC1);
  ids(cv::Rect(0, 0, 2, 2)).setTo(300);  // 4 px
  ids(cv::Rect(8, 6, 2, 2)).setTo(7);    // 4 px
  ids.at<uint16_t>(3, 3) = 7;            // same object, apart: 5 px
  write_image(root_ + "/instances/g.png", ids);
  const ConversionSummary s = convert_folder(options());
  EXPECT_EQ(s.images, 1);
  EXPECT_EQ(s.instances, 2);
  EXPECT_THAT(s.instances_per_category, ElementsAre(Pair("object", 2)));
  const CocoGroundTruth gt = load_coco_ground_truth(s.annotations_path, IouType::Segm);
  rgbdseg::testing::expect_valid_dataset_with_perfect_self_eval(s.annotations_path);
  EXPECT_THAT(objects_of(gt, "rgb/g.png"),
              ElementsAre(Obj{"object", 4, {0, 0, 2, 2}}, Obj{"object", 5, {3, 3, 7, 5}}));
}

TEST_F(ConvertFolderFixture, MissingRootAndLayoutErrors) {
  FolderOptions o = options();
  EXPECT_THAT(error_message([&] { convert_folder(o); }), HasSubstr(root_ + ": no such folder"));
  add_image("a");
  EXPECT_THAT(error_message([&] { convert_folder(o); }), HasSubstr(root_ + ": no masks/ or instances/ folder"));
  fs::create_directories(root_ + "/masks");
  fs::create_directories(root_ + "/instances");
  EXPECT_THAT(error_message([&] { convert_folder(o); }), HasSubstr("has both masks/ and instances/"));
  fs::remove_all(root_ + "/depth");
  EXPECT_THAT(error_message([&] { convert_folder(o); }), HasSubstr(root_ + ": no depth/ folder"));
  EXPECT_FALSE(fs::exists(o.out));
}

TEST_F(ConvertFolderFixture, MaskSizeMismatchIsAnErrorNamingTheFile) {
  add_image("a");
  write_image(root_ + "/masks/a/obj.png", rect_mask(0, 0, 2, 2, 255, 6, 10));
  FolderOptions o = options();
  EXPECT_THAT(error_message([&] { convert_folder(o); }),
              HasSubstr(root_ + "/masks/a/obj.png: mask size 10x6 does not match colour image '" + root_ +
                        "/rgb/a.png' 10x8"));
  EXPECT_FALSE(fs::exists(o.out + "/annotations.json"));
}

TEST_F(ConvertFolderFixture, UnknownClassIsAnErrorNamingTheFile) {
  add_image("a");
  write_image(root_ + "/masks/a/cup_1.png", rect_mask(0, 0, 2, 2));
  tmp_.write("in/classes.json", R"({"prefixes": {"mug": "mug"}})");
  FolderOptions o = options();
  EXPECT_THAT(error_message([&] { convert_folder(o); }),
              HasSubstr(root_ + "/masks/a/cup_1.png: no class for mask 'cup_1': no prefix in " + root_ +
                        "/classes.json matches and it has no \"default\""));
  tmp_.write("in/classes.json", R"({"prefix": {"mug": "mug"}})");
  EXPECT_THAT(error_message([&] { convert_folder(o); }),
              HasSubstr("classes.json: unknown key 'prefix' (expected categories, prefixes, colours, default)"));
  tmp_.write("in/classes.json", R"({"colours": {"red": "mug"}})");
  EXPECT_THAT(error_message([&] { convert_folder(o); }), HasSubstr("colours: key 'red' is neither a colour"));
}

TEST_F(ConvertFolderFixture, RefusesNonEmptyOutputWithoutForce) {
  add_image("a");
  write_image(root_ + "/masks/a/obj.png", rect_mask(0, 0, 2, 2));
  FolderOptions o = options();
  tmp_.write("out/old.txt", "previous run");
  EXPECT_THAT(error_message([&] { convert_folder(o); }),
              HasSubstr(o.out + ": output directory is not empty (pass --force to write into it)"));
  EXPECT_FALSE(fs::exists(o.out + "/annotations.json"));
  o.force = true;
  EXPECT_EQ(convert_folder(o).instances, 1);
  EXPECT_TRUE(fs::exists(o.out + "/annotations.json"));
  // The input folder is never the output.
  o.out = root_;
  EXPECT_THAT(error_message([&] { convert_folder(o); }), HasSubstr("must differ from the input folder"));
}

TEST_F(ConvertFolderFixture, NothingConvertibleIsAnError) {
  add_image("a", false);
  fs::create_directories(root_ + "/depth");
  fs::create_directories(root_ + "/masks/a");
  EXPECT_THAT(error_message([&] { convert_folder(options()); }),
              HasSubstr(root_ + ": no image could be converted (1 skipped, e.g. rgb/a.png: no depth file"));
}

TEST(ConvertFolder, ReadInstanceMapRejectsPhotos) {
  ScopedTempDir tmp;
  cv::Mat noise(40, 40, CV_8UC3);
  cv::randu(noise, 0, 255);
  const std::string path = tmp.file("photo.png");
  ASSERT_TRUE(cv::imwrite(path, noise));
  EXPECT_THAT(error_message([&] { read_instance_map(path); }), HasSubstr(path + ": more than 1000 distinct colours"));
}

}  // namespace
}  // namespace rgbdseg
