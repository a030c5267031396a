// The annotation-tool converters and `rgbdseg compare` through the tool, as a
// user runs them: exit codes, what goes to stdout, one error line naming the
// file, and compare's tables, per-image counts and frames on a dataset whose
// outcomes are known by construction.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "apps/run_tool.h"
#include "rgbdseg/coco/rle.h"
#include "rgbdseg/core/file_util.h"
#include "image_files.h"
#include "temp_dir.h"

namespace rgbdseg {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::RunResult;
using testing::ScopedTempDir;
using testing::run_tool;

constexpr int kW = 40, kH = 30;

using testing::write_image;
cv::Mat colour() { return cv::Mat(kH, kW, CV_8UC3, cv::Scalar(90, 120, 150)); }
cv::Mat depth_mm() { return cv::Mat(kH, kW, CV_16UC1, cv::Scalar(900)); }

// A failure: exit 1, stdout empty, the last stderr line the error (log lines before it).
void expect_error(const RunResult& r, const std::string& command, const std::string& message) {
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "") << r;
  const auto lines = testing::lines_of(r.err);
  ASSERT_FALSE(lines.empty()) << r;
  EXPECT_THAT(lines.back(), StartsWith("rgbdseg " + command + ": error: ")) << r;
  EXPECT_THAT(lines.back(), HasSubstr(message)) << r;
}

TEST(CliAnnotationTools, LabelmeCocoDepthAndCvatMasks) {
  ScopedTempDir tmp;
  write_image(tmp.file("depth/frame 1_depth.png"), depth_mm());
  // LabelMe.
  write_image(tmp.file("labelme/frame 1.png"), colour());
  const Json shape = {{"label", "mug"}, {"points", {{2, 2}, {12, 2}, {12, 12}}}, {"group_id", nullptr},
                      {"shape_type", "polygon"}, {"flags", Json::object()}};
  tmp.write("labelme/frame 1.json", Json({{"version", "5.4.1"}, {"shapes", {shape}}, {"imagePath", "frame 1.png"},
                                          {"imageData", nullptr}, {"imageHeight", kH}, {"imageWidth", kW}}).dump());
  RunResult r = run_tool({"convert", "labelme", "--root", tmp.file("labelme"), "--depth-dir", tmp.file("depth"),
                          "--depth-suffix", "_depth", "--out", tmp.file("out_labelme")});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, tmp.file("out_labelme") + "/annotations.json\n");
  EXPECT_THAT(r.err, HasSubstr("1 images, 1 instances (mug 1)"));
  // The same conversion again: the output exists.
  r = run_tool({"convert", "labelme", "--root", tmp.file("labelme"), "--depth-dir", tmp.file("depth"), "--depth-suffix",
                "_depth", "--out", tmp.file("out_labelme")});
  expect_error(r, "convert labelme", "output directory is not empty");
  // A broken shape: one line naming the file and the shape.
  Json bad = shape;
  bad["points"] = {{2, 2}, {12, 2}};
  tmp.write("labelme/frame 1.json", Json({{"shapes", {bad}}, {"imagePath", "frame 1.png"}}).dump());
  r = run_tool({"convert", "labelme", "--root", tmp.file("labelme"), "--depth-dir", tmp.file("depth"), "--depth-suffix",
                "_depth", "--out", tmp.file("out_bad")});
  expect_error(r, "convert labelme", tmp.file("labelme/frame 1.json") + ": shapes[0] ('mug', polygon): a polygon needs at least 3 points");
  EXPECT_FALSE(fs::exists(tmp.file("out_bad")));

  // COCO (Roboflow's renaming) + depth.
  write_image(tmp.file("rf/frame 1_png.rf.00ff.jpg"), colour());
  const Json coco = {{"categories", {{{"id", 1}, {"name", "mug"}}}},
                     {"images", {{{"id", 3}, {"file_name", "frame 1_png.rf.00ff.jpg"}, {"height", kH}, {"width", kW}}}},
                     {"annotations", {{{"id", 1}, {"image_id", 3}, {"category_id", 1},
                                       {"segmentation", {{2, 2, 12, 2, 12, 12}}}, {"area", 50}, {"bbox", {2, 2, 10, 10}},
                                       {"iscrowd", 0}}}}};
  tmp.write("rf/_annotations.coco.json", coco.dump());
  r = run_tool({"convert", "coco-depth", "--annotations", tmp.file("rf/_annotations.coco.json"), "--depth-dir",
                tmp.file("depth"), "--depth-suffix", "_depth", "--out", tmp.file("out_coco")});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, tmp.file("out_coco") + "/annotations.json\n");
  Json broken = coco;
  broken["annotations"][0]["category_id"] = 9;
  tmp.write("rf/_annotations.coco.json", broken.dump());
  r = run_tool({"convert", "coco-depth", "--annotations", tmp.file("rf/_annotations.coco.json"), "--depth-dir",
                tmp.file("depth"), "--out", tmp.file("out_coco2")});
  expect_error(r, "convert coco-depth", tmp.file("rf/_annotations.coco.json"));
  EXPECT_THAT(r.err, HasSubstr("category_id 9 is not in 'categories'"));

  // CVAT segmentation masks.
  tmp.write("cvat/labelmap.txt", "# label:color_rgb:parts:actions\nbackground:0,0,0::\nmug:250,50,83::\n");
  tmp.write("cvat/ImageSets/Segmentation/default.txt", "frame 1\n");
  write_image(tmp.file("cvat/JPEGImages/frame 1.jpg"), colour());
  cv::Mat cls = cv::Mat::zeros(kH, kW, CV_8UC3), obj = cv::Mat::zeros(kH, kW, CV_8UC3);
  cls(cv::Rect(2, 2, 10, 10)).setTo(cv::Scalar(83, 50, 250));  // BGR
  obj(cv::Rect(2, 2, 10, 10)).setTo(cv::Scalar(0, 0, 128));
  write_image(tmp.file("cvat/SegmentationClass/frame 1.png"), cls);
  write_image(tmp.file("cvat/SegmentationObject/frame 1.png"), obj);
  r = run_tool({"convert", "cvat-masks", "--root", tmp.file("cvat"), "--depth-dir", tmp.file("depth"), "--depth-suffix",
                "_depth", "--out", tmp.file("out_cvat")});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("1 images, 1 instances (mug 1)"));
  fs::remove(tmp.file("cvat/labelmap.txt"));
  r = run_tool({"convert", "cvat-masks", "--root", tmp.file("cvat"), "--depth-dir", tmp.file("depth"), "--out",
                tmp.file("out_cvat2")});
  expect_error(r, "convert cvat-masks", tmp.file("cvat") + ": no labelmap.txt");
}

// ---------------------------------------------------------------- compare

Rle rect(int x0, int y0, int x1, int y1) {  // [x0, x1) x [y0, y1)
  cv::Mat m = cv::Mat::zeros(kH, kW, CV_8UC1);
  m(cv::Rect(x0, y0, x1 - x0, y1 - y0)).setTo(1);
  return rle_encode(m.data, kH, kW);
}

Json segmentation(const Rle& r) { return {{"size", {r.h, r.w}}, {"counts", rle_to_string(r)}}; }

Json detection(int64_t image_id, int64_t category, const Rle& r, double score) {
  return {{"image_id", image_id}, {"category_id", category}, {"segmentation", segmentation(r)}, {"score", score}};
}

// Two images; a.png: A and B side by side (mug), C (book); sub/b.png: D (mug).
struct CompareFixture {
  ScopedTempDir tmp;
  std::string data = tmp.file("data/annotations.json");
  CompareFixture() {
    write_image(tmp.file("data/rgb/a.png"), colour());
    write_image(tmp.file("data/rgb/sub/b.png"), colour());
    Json anns = Json::array();
    auto add = [&](int64_t id, int64_t image, int64_t cat, const Rle& r) {
      const BBox b = rle_to_bbox(r);
      anns.push_back({{"id", id}, {"image_id", image}, {"category_id", cat}, {"segmentation", segmentation(r)},
                      {"area", rle_area(r)}, {"bbox", {b[0], b[1], b[2], b[3]}}, {"iscrowd", 0}});
    };
    add(1, 1, 1, rect(0, 0, 10, 10));    // A, 100 px
    add(2, 1, 1, rect(10, 0, 20, 6));    // B, 60 px
    add(3, 1, 2, rect(25, 15, 35, 25));  // C, 100 px
    add(4, 2, 1, rect(5, 5, 15, 15));    // D
    tmp.write("data/annotations.json",
              Json({{"images", {{{"id", 1}, {"file_name", "rgb/a.png"}, {"height", kH}, {"width", kW}},
                                {{"id", 2}, {"file_name", "rgb/sub/b.png"}, {"height", kH}, {"width", kW}}}},
                    {"categories", {{{"id", 1}, {"name", "mug"}}, {{"id", 2}, {"name", "book"}}}},
                    {"annotations", anns}})
                  .dump());
    // "good": every object exactly.
    tmp.write("good.json", Json({detection(1, 1, rect(0, 0, 10, 10), 0.9), detection(1, 1, rect(10, 0, 20, 6), 0.9),
                                 detection(1, 2, rect(25, 15, 35, 25), 0.9), detection(2, 1, rect(5, 5, 15, 15), 0.9)})
                                .dump());
    // "rough": A and B merged (IoU with A 100/160: a match), C split in 4 + 6 columns
    // (IoU 0.4: false positive; 0.6: a match), D missed, one stray false positive.
    tmp.write("rough.json", rough(1).dump());
  }
  // The rough model's detections, all on a.png (id `a_id`).
  Json rough(int64_t a_id) const {
    return Json({detection(a_id, 1, rect(0, 0, 20, 10) , 0.9), detection(a_id, 2, rect(25, 15, 29, 25), 0.8),
                 detection(a_id, 2, rect(29, 15, 35, 25), 0.7), detection(a_id, 1, rect(0, 20, 5, 25), 0.6)});
  }
};

TEST(CliCompare, TablesErrorsAndFramesOfTwoModels) {
  CompareFixture f;
  const RunResult r = run_tool({"compare", "--data", f.data, "--results", f.tmp.file("good.json"), f.tmp.file("rough.json"),
                                "--out", f.tmp.file("cmp")});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("| good | 1.000 | 1.000 | 1.000 |"));
  EXPECT_THAT(r.out, HasSubstr("| rough | 4 | 2 / 4 | 2 | 2 | 1 | 1 |"));  // predictions, matched, missed, FP, merges, splits
  EXPECT_THAT(r.out, HasSubstr("| good | 4 | 4 / 4 | 0 | 0 | 0 | 0 |"));
  EXPECT_THAT(r.out, HasSubstr("## AP per class"));
  EXPECT_EQ(read_file(f.tmp.file("cmp/summary.md")), r.out);
  const Json report = read_json_file(f.tmp.file("cmp/compare.json"));
  ASSERT_EQ(report["models"].size(), 2u);
  EXPECT_NEAR(report["models"][0]["metrics"]["stats"][0].get<double>(), 1.0, 1e-12);  // pycocotools: 1/(1+eps)
  EXPECT_EQ(report["images"][0]["models"]["rough"]["missed"], Json::array({2}));
  EXPECT_EQ(report["images"][0]["models"]["rough"]["merges"].size(), 1u);
  EXPECT_EQ(report["images"][0]["models"]["rough"]["splits"], Json::array({3}));
  EXPECT_EQ(report["images"][1]["models"]["rough"]["missed"], Json::array({4}));
  const std::string csv = read_file(f.tmp.file("cmp/errors.csv"));
  EXPECT_THAT(csv, HasSubstr("1,rgb/a.png,rough,3,4,2,1,2,1,1\n"));
  EXPECT_THAT(csv, HasSubstr("2,rgb/sub/b.png,rough,1,0,0,1,0,0,0\n"));
  // One frame per image: ground truth and the two models side by side.
  for (const char* name : {"cmp/frames/a.png", "cmp/frames/sub/b.png"}) {
    const cv::Mat frame = cv::imread(f.tmp.file(name));
    ASSERT_FALSE(frame.empty()) << name;
    EXPECT_EQ(frame.cols, 3 * kW + 2 * 4);
    EXPECT_GT(frame.rows, kH);
  }
}

TEST(CliCompare, FramesForTheImagesWhereModelsDifferMost) {
  CompareFixture f;
  // a.png: good 0 errors, rough 5 (1 missed, 2 false, 1 merge, 1 split); sub/b.png: 0 and 1.
  const RunResult r = run_tool({"compare", "--data", f.data, "--results", f.tmp.file("good.json"), f.tmp.file("rough.json"),
                                "--out", f.tmp.file("cmp"), "--frames", "1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(fs::exists(f.tmp.file("cmp/frames/a.png")));
  EXPECT_FALSE(fs::exists(f.tmp.file("cmp/frames/sub/b.png")));
  EXPECT_THAT(r.out, HasSubstr("| rgb/a.png | 0 / 0 / 0 / 0 | 1 / 2 / 1 / 1 | [frame](frames/a.png) |"));
  EXPECT_THAT(r.out, HasSubstr("| rgb/sub/b.png | 0 / 0 / 0 / 0 | 1 / 0 / 0 / 0 | - |"));
  const Json report = read_json_file(f.tmp.file("cmp/compare.json"));
  EXPECT_EQ(report["images"][0]["frame"], "frames/a.png");
  EXPECT_FALSE(report["images"][1].contains("frame"));
}

TEST(CliCompare, PredictFoldersGiveTheSameNumbersAsResultsFiles) {
  CompareFixture f;
  // A predict output folder that numbered the images itself (b = 7, a = 8), with absolute paths.
  Json results = f.rough(8);
  f.tmp.write("pred/results.json", results.dump());
  f.tmp.write("pred/images.json",
              Json({{"images", {{{"id", 7}, {"file_name", f.tmp.file("data/rgb/sub/b.png")}, {"height", kH}, {"width", kW}},
                                {{"id", 8}, {"file_name", f.tmp.file("data/rgb/a.png")}, {"height", kH}, {"width", kW}}}},
                    {"annotations", Json::array()},
                    {"categories", {{{"id", 1}, {"name", "mug"}}, {{"id", 2}, {"name", "book"}}}}})
                  .dump());
  RunResult r = run_tool({"compare", "--data", f.data, "--results", f.tmp.file("rough.json"), f.tmp.file("pred"), "--names",
                          "file,folder", "--out", f.tmp.file("cmp"), "--frames", "0"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const Json report = read_json_file(f.tmp.file("cmp/compare.json"));
  EXPECT_EQ(report["models"][0]["metrics"], report["models"][1]["metrics"]);
  EXPECT_EQ(report["models"][0]["errors"], report["models"][1]["errors"]);
  EXPECT_FALSE(fs::exists(f.tmp.file("cmp/frames")));
  // A folder that covers one of the two images is refused.
  f.tmp.write("part/results.json", "[]");
  f.tmp.write("part/images.json",
              Json({{"images", {{{"id", 1}, {"file_name", f.tmp.file("data/rgb/a.png")}}}}}).dump());
  r = run_tool({"compare", "--data", f.data, "--results", f.tmp.file("part"), "--out", f.tmp.file("cmp2")});
  expect_error(r, "compare", f.tmp.file("part/images.json") + ": has predictions for 1 of the 2 images");
  EXPECT_FALSE(fs::exists(f.tmp.file("cmp2")));
}

TEST(CliCompare, BadInputIsOneErrorLine) {
  CompareFixture f;
  RunResult r = run_tool({"compare", "--data", f.data, "--results", f.tmp.file("good.json"), f.tmp.file("rough.json"),
                          "--names", "only-one", "--out", f.tmp.file("cmp")});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("--names: 1 names for 2 results"));
  f.tmp.write("unknown.json", Json({detection(99, 1, rect(0, 0, 5, 5), 0.9)}).dump());
  r = run_tool({"compare", "--data", f.data, "--results", f.tmp.file("unknown.json"), "--out", f.tmp.file("cmp")});
  expect_error(r, "compare", f.tmp.file("unknown.json"));
  EXPECT_THAT(r.err, HasSubstr("image_id is not in the ground truth"));
  EXPECT_FALSE(fs::exists(f.tmp.file("cmp")));
  f.tmp.write("cmp/keep.txt", "x");
  r = run_tool({"compare", "--data", f.data, "--results", f.tmp.file("good.json"), "--out", f.tmp.file("cmp")});
  expect_error(r, "compare", "output directory is not empty");
}

}  // namespace
}  // namespace rgbdseg
