// What a new user meets in the first hour (issue 10), end to end through the
// tool: overlay colours, unique prediction names, no silent overwrites, the
// train-then-eval path with relative --set paths, 8-bit depth, usage errors
// (exit 2), units in images.json, nothing left behind by a failed predict,
// class-agnostic scoring, and inference at the training scale.
//
// One tiny model is trained once for the suite (3 steps on 64x80 synthetic
// scenes); the tests predict and evaluate with it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "apps/run_tool.h"
#include "rgbdseg/core/file_util.h"
#include "temp_dir.h"
#include "test_paths.h"
#include "tiny_hf_config.h"

using json = nlohmann::json;
using rgbdseg::file_exists;
using rgbdseg::read_file;
using rgbdseg::testing::expect_one_error_line;
using rgbdseg::testing::run_tool;
using rgbdseg::testing::RunResult;
using rgbdseg::testing::ScopedTempDir;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

namespace {

// No dataset paths here: the suite gives them with --set, relative to the
// directory the command runs in, as a user typing them would.
const char* kTrainConfig = R"({
  "runtime": {"threads": 1, "log_level": "warn"},
  "model": {"variant": "full", "hf_config": "hf/tiny.json",
            "depth": {"dggm": {"hidden_channels": 4}, "predictor": {"channels": 4}}},
  "data": {"batch_size": 2, "workers": 1, "resize": "none", "hflip": false, "colour_jitter": 0.0},
  "train": {"max_steps": 3, "lr": 0.001, "schedule": "constant", "log_every": 1, "checkpoint_every": 0,
            "clip_grad_norm": 0.0, "criterion": {"num_points": 256}},
  "eval": {"batch_size": 2}
})";

size_t count_pixels_where_red_differs_from_blue(const cv::Mat& bgr) {
  size_t n = 0;
  for (int y = 0; y < bgr.rows; ++y) {
    for (int x = 0; x < bgr.cols; ++x) n += bgr.at<cv::Vec3b>(y, x)[0] != bgr.at<cv::Vec3b>(y, x)[2];
  }
  return n;
}

}  // namespace

class CliFirstHour : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<ScopedTempDir>();
    tmp_->write("hf/tiny.json", rgbdseg::testing::kTinyHfConfig);
    tmp_->write("train.json", kTrainConfig);
    for (const auto& [name, seed, num] : {std::tuple<const char*, const char*, const char*>{"scenes", "3", "4"},
                                          {"val", "4", "2"}}) {
      const RunResult s = run_tool({"synth", "-q", "--out", tmp_->file(name), "--num", num, "--size", "64x80", "--seed", seed});
      ASSERT_EQ(s.exit_code, 0) << s;
    }
    // Relative --set paths, from the temporary folder (item 4).
    const RunResult t = run_tool({"train", "--config", "train.json", "--out", "run", "--set", "data.train=scenes/annotations.json",
                                  "--set", "data.val=val/annotations.json"},
                                 tmp_->path());
    ASSERT_EQ(t.exit_code, 0) << t;
  }
  static void TearDownTestSuite() { tmp_.reset(); }

  static std::string file(const std::string& relative) { return tmp_->file(relative); }
  static std::string best(const std::string& name) { return tmp_->file("run/best/" + name); }

  // predict with the trained model; `extra` after the fixed flags.
  static RunResult predict(const std::vector<std::string>& extra, const std::string& cwd = "") {
    std::vector<std::string> args = {"predict", "--config", best("config.json"), "--weights", best("model.safetensors")};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_tool(args, cwd);
  }

  static std::unique_ptr<ScopedTempDir> tmp_;
  ScopedTempDir out_;  // each test's own outputs
};

std::unique_ptr<ScopedTempDir> CliFirstHour::tmp_;

// 1. Overlays are written in the image's colour order (they came out with red and blue swapped).
TEST_F(CliFirstHour, OverlaysKeepTheImageColours) {
  // --threshold 1: no instance is drawn, so the overlay is the input image itself.
  const RunResult p = predict({"--dir", file("scenes"), "--out", out_.file("pred"), "--threshold", "1"});
  ASSERT_EQ(p.exit_code, 0) << p;
  const cv::Mat input = cv::imread(file("scenes/rgb/000000.png"), cv::IMREAD_COLOR);
  const cv::Mat overlay = cv::imread(out_.file("pred/overlays/000000.png"), cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(input.empty());
  ASSERT_FALSE(overlay.empty());
  ASSERT_EQ(overlay.type(), CV_8UC3);
  ASSERT_GT(count_pixels_where_red_differs_from_blue(input), 100u) << "a grey image could not show a swap";
  EXPECT_EQ(cv::norm(input, overlay, cv::NORM_INF), 0.0);
}

// 2. Images of different folders with the same file name get different outputs, mapped in images.json.
TEST_F(CliFirstHour, PredictionNamesKeepTheFolderAndAreUnique) {
  ScopedTempDir data;
  fs::create_directories(data.file("rgb/part2/mugs_no"));
  fs::create_directories(data.file("rgb/part2/mugs_oc"));
  fs::create_directories(data.file("depth"));
  fs::copy_file(file("scenes/rgb/000000.png"), data.file("rgb/part2/mugs_no/3.png"));
  fs::copy_file(file("scenes/rgb/000001.png"), data.file("rgb/part2/mugs_oc/3.png"));
  fs::copy_file(file("scenes/depth/000000.png"), data.file("depth/a.png"));
  fs::copy_file(file("scenes/depth/000001.png"), data.file("depth/b.png"));
  json gt = json::parse(read_file(file("scenes/annotations.json")));
  gt["images"] = json::array({gt["images"][0], gt["images"][1]});
  gt["images"][0]["file_name"] = "rgb/part2/mugs_no/3.png";
  gt["images"][0]["depth_file"] = "depth/a.png";
  gt["images"][1]["file_name"] = "rgb/part2/mugs_oc/3.png";
  gt["images"][1]["depth_file"] = "depth/b.png";
  json kept = json::array();
  for (const auto& a : gt["annotations"]) {
    if (a["image_id"] == gt["images"][0]["id"] || a["image_id"] == gt["images"][1]["id"]) kept.push_back(a);
  }
  gt["annotations"] = kept;
  data.write("annotations.json", gt.dump());

  const RunResult p = predict({"--data", data.file("annotations.json"), "--out", out_.file("pred")});
  ASSERT_EQ(p.exit_code, 0) << p;
  for (const char* name : {"part2/mugs_no/3", "part2/mugs_oc/3"}) {
    EXPECT_TRUE(file_exists(out_.file("pred/overlays/" + std::string(name) + ".png"))) << name;
    EXPECT_TRUE(file_exists(out_.file("pred/instances/" + std::string(name) + ".png"))) << name;
  }
  EXPECT_FALSE(file_exists(out_.file("pred/overlays/3.png")));
  const json images = json::parse(read_file(out_.file("pred/images.json")));
  ASSERT_EQ(images["images"].size(), 2u);
  EXPECT_EQ(images["images"][0]["overlay"], "overlays/part2/mugs_no/3.png");
  EXPECT_EQ(images["images"][0]["instances"], "instances/part2/mugs_no/3.png");
  EXPECT_EQ(images["images"][1]["overlay"], "overlays/part2/mugs_oc/3.png");
  EXPECT_EQ(images["images"][0]["id"], gt["images"][0]["id"]);
}

// 3. No silent overwrite: train, predict and show refuse a non-empty --out without --force (train: or --resume).
TEST_F(CliFirstHour, ExistingOutputsAreNotReplacedSilently) {
  const std::string log_before = read_file(file("run/train.jsonl"));
  const RunResult again = run_tool({"train", "--config", file("train.json"), "--out", file("run"), "--set",
                                    "data.train=" + file("scenes/annotations.json")});
  expect_one_error_line(again, "train");
  EXPECT_THAT(again.err, HasSubstr(file("run") + ": output directory is not empty"));
  EXPECT_THAT(again.err, HasSubstr("--resume"));
  EXPECT_THAT(again.err, HasSubstr("--force"));
  EXPECT_EQ(read_file(file("run/train.jsonl")), log_before);
  EXPECT_TRUE(file_exists(best("model.safetensors")));

  const RunResult both = run_tool({"train", "--config", file("train.json"), "--out", file("run"), "--resume", "--force"});
  expect_one_error_line(both, "train", 2);

  // --force starts over: a fresh log and a fresh best/ (one step, no validation set).
  ScopedTempDir run;
  run.write("stale.txt", "from before");
  run.write("best/model.safetensors", "stale weights");
  const RunResult forced = run_tool({"train", "--config", file("train.json"), "--out", run.path(), "--force", "--set",
                                     "data.train=" + file("scenes/annotations.json"), "--set", "train.max_steps=1"});
  ASSERT_EQ(forced.exit_code, 0) << forced;
  EXPECT_NE(read_file(run.file("best/model.safetensors")), "stale weights");
  EXPECT_EQ(rgbdseg::testing::count_lines(read_file(run.file("train.jsonl"))), 1u);

  out_.write("pred/keep.txt", "mine");
  const RunResult p = predict({"--dir", file("scenes"), "--out", out_.file("pred")});
  expect_one_error_line(p, "predict");
  EXPECT_THAT(p.err, HasSubstr(out_.file("pred") + ": output directory is not empty (pass --force"));
  EXPECT_EQ(out_.list("pred"), std::vector<std::string>{"keep.txt"});
  const RunResult pf = predict({"--dir", file("scenes"), "--out", out_.file("pred"), "--force"});
  ASSERT_EQ(pf.exit_code, 0) << pf;
  EXPECT_TRUE(file_exists(out_.file("pred/results.json")));
  EXPECT_TRUE(file_exists(out_.file("pred/keep.txt")));

  out_.write("show/keep.txt", "mine");
  const RunResult s = run_tool({"show", "--data", file("val/annotations.json"), "--out", out_.file("show")});
  expect_one_error_line(s, "show");
  EXPECT_EQ(out_.list("show"), std::vector<std::string>{"keep.txt"});
  const RunResult sf = run_tool({"show", "--data", file("val/annotations.json"), "--out", out_.file("show"), "--force"});
  ASSERT_EQ(sf.exit_code, 0) << sf;
  EXPECT_EQ(out_.list("show").size(), 3u);  // keep.txt + two panels
}

// 4. Paths given with --set are saved absolute: the checkpoint's config works from anywhere.
TEST_F(CliFirstHour, RelativeSetPathsSurviveIntoTheCheckpoint) {
  const json saved = json::parse(read_file(best("config.json")));
  EXPECT_EQ(saved["data"]["train"], fs::path(file("scenes/annotations.json")).lexically_normal().string());
  EXPECT_EQ(saved["data"]["val"], fs::path(file("val/annotations.json")).lexically_normal().string());
  // eval without --data, from another directory: data.val of the checkpoint's config.
  const RunResult e = run_tool({"eval", "--config", best("config.json"), "--weights", best("model.safetensors"), "--json",
                                out_.file("eval.json")},
                               out_.path());
  ASSERT_EQ(e.exit_code, 0) << e;
  EXPECT_EQ(json::parse(read_file(out_.file("eval.json")))["images"], 2);
}

// 5. 8-bit depth: the error names flags that exist, and those flags work.
TEST_F(CliFirstHour, EightBitDepthNeedsAndTakesItsFlags) {
  const cv::Mat depth16 = cv::imread(file("scenes/depth/000000.png"), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(depth16.type(), CV_16UC1);
  cv::Mat depth8;
  depth16.convertTo(depth8, CV_8U, 1.0 / 20.0);  // 20 mm per stored unit
  ASSERT_TRUE(cv::imwrite(out_.file("d8.png"), depth8));
  const std::string rgb = file("scenes/rgb/000000.png");

  const RunResult refused = predict({"--rgb", rgb, "--depth", out_.file("d8.png"), "--out", out_.file("a")});
  expect_one_error_line(refused, "predict");
  EXPECT_THAT(refused.err, HasSubstr(out_.file("d8.png") + ": 8-bit depth image"));
  EXPECT_THAT(refused.err, HasSubstr("--depth-encoding png8 --depth-scale"));
  EXPECT_FALSE(file_exists(out_.file("a")));
  const RunResult scale_only =
      predict({"--rgb", rgb, "--depth", out_.file("d8.png"), "--out", out_.file("a"), "--depth-scale", "0.02"});
  expect_one_error_line(scale_only, "predict");
  EXPECT_THAT(scale_only.err, HasSubstr("--depth-encoding png8"));

  const RunResult ok = predict({"--rgb", rgb, "--depth", out_.file("d8.png"), "--out", out_.file("b"), "--depth-encoding",
                                "png8", "--depth-scale", "0.02"});
  ASSERT_EQ(ok.exit_code, 0) << ok;
  const json images = json::parse(read_file(out_.file("b/images.json")));
  EXPECT_EQ(images["images"][0]["depth_encoding"], "png8");
  EXPECT_DOUBLE_EQ(images["images"][0]["depth_scale"].get<double>(), 0.02);
  // images.json is a dataset that loads back with those units (show reads its depth).
  const RunResult shown = run_tool({"show", "--data", out_.file("b/images.json"), "--out", out_.file("b-show")});
  EXPECT_EQ(shown.exit_code, 0) << shown;
}

// 7. Units in images.json; a failed predict leaves nothing; --stop-after says so.
TEST_F(CliFirstHour, ImagesJsonRecordsTheDepthUnits) {
  const RunResult p = predict({"--dir", file("scenes"), "--out", out_.file("pred"), "--threshold", "0.9"});
  ASSERT_EQ(p.exit_code, 0) << p;
  const json images = json::parse(read_file(out_.file("pred/images.json")));
  ASSERT_EQ(images["images"].size(), 4u);
  for (const auto& img : images["images"]) {
    EXPECT_DOUBLE_EQ(img["depth_scale"].get<double>(), 0.001) << img;  // 16-bit millimetre PNGs
    EXPECT_EQ(img["depth_encoding"], "png16");
  }
}

TEST_F(CliFirstHour, AFailedPredictLeavesNothingBehind) {
  // The third colour image is 16-bit (found when it is decoded): the first two are written before the failure.
  fs::create_directories(out_.file("in/rgb"));
  fs::create_directories(out_.file("in/depth"));
  for (int i = 0; i < 3; ++i) {
    const std::string stem = "00000" + std::to_string(i);
    fs::copy_file(file("scenes/rgb/" + stem + ".png"), out_.file("in/rgb/" + stem + ".png"));
    fs::copy_file(file("scenes/depth/" + stem + ".png"), out_.file("in/depth/" + stem + ".png"));
  }
  ASSERT_TRUE(cv::imwrite(out_.file("in/rgb/000002.png"), cv::Mat(64, 80, CV_16UC3, cv::Scalar(1000, 2000, 3000))));
  const RunResult p = predict({"--dir", out_.file("in"), "--out", out_.file("pred"), "--set", "eval.batch_size=1"});
  expect_one_error_line(p, "predict");
  EXPECT_THAT(p.err, HasSubstr("000002.png"));
  EXPECT_FALSE(fs::exists(out_.file("pred"))) << "a failed predict left its output folder";
  // Into an existing (empty) folder: the folder stays, nothing in it.
  fs::create_directories(out_.file("pred2"));
  const RunResult p2 = predict({"--dir", out_.file("in"), "--out", out_.file("pred2"), "--set", "eval.batch_size=1"});
  EXPECT_EQ(p2.exit_code, 1) << p2;
  EXPECT_TRUE(out_.list("pred2").empty());
}

TEST_F(CliFirstHour, PredictWritesOnAThreadOfItsOwnAndReportsItsRate) {
  // Images are encoded and written beside inference; the summary gives the rate and where the time went.
  const RunResult ok = predict({"--dir", file("scenes"), "--out", out_.file("pred"), "--set", "eval.batch_size=1", "-v"});
  ASSERT_EQ(ok.exit_code, 0) << ok;
  EXPECT_THAT(ok.err, HasSubstr("images/s (per image: forward"));
  EXPECT_EQ(out_.list("pred/overlays").size(), 4u);  // the suite's 4 scenes
  // A failure on the writing thread (OUT/overlays is a file, so its folder cannot be made) stops the
  // run with one line naming the path, and removes what the run wrote; what was there stays.
  fs::create_directories(out_.file("pred2"));
  rgbdseg::write_file_atomic(out_.file("pred2/overlays"), "not a folder");
  const RunResult bad = predict({"--dir", file("scenes"), "--out", out_.file("pred2"), "--force"});
  expect_one_error_line(bad, "predict");
  EXPECT_THAT(bad.err, HasSubstr("overlays"));
  EXPECT_EQ(out_.list("pred2"), std::vector<std::string>{"overlays"});
}

TEST_F(CliFirstHour, StopAfterSaysSo) {
  const RunResult t = run_tool({"train", "--config", file("train.json"), "--out", out_.file("run"), "--stop-after", "1",
                                "--set", "data.train=" + file("scenes/annotations.json"), "-v"});
  EXPECT_EQ(t.exit_code, 130) << t;
  EXPECT_THAT(t.err, HasSubstr("stopped by --stop-after at step 1"));
  EXPECT_THAT(t.err, Not(HasSubstr("by a signal")));
}

// 8. A model's classes that are not the dataset's: a warning, and --class-agnostic.
TEST_F(CliFirstHour, ClassAgnosticScoringOfAnotherDatasetsCategories) {
  // The same held-out scenes with one class 'object' (as COTS has).
  const RunResult s = run_tool({"synth", "-q", "--out", out_.file("obj"), "--num", "2", "--size", "64x80", "--seed", "4",
                                "--classes", "object"});
  ASSERT_EQ(s.exit_code, 0) << s;
  const std::string data = out_.file("obj/annotations.json");
  const std::vector<std::string> eval = {"eval", "--config", best("config.json"), "--weights", best("model.safetensors"),
                                         "--data", data};

  std::vector<std::string> plain = eval;
  plain.insert(plain.end(), {"--json", out_.file("plain.json")});
  const RunResult warned = run_tool(plain);
  ASSERT_EQ(warned.exit_code, 0) << warned;
  EXPECT_THAT(warned.err, HasSubstr("are not the dataset's categories"));
  EXPECT_THAT(warned.err, HasSubstr("--class-agnostic"));

  std::vector<std::string> agnostic = eval;
  agnostic.insert(agnostic.end(), {"--class-agnostic", "--json", out_.file("agnostic.json")});
  const RunResult e = run_tool(agnostic);
  ASSERT_EQ(e.exit_code, 0) << e;
  EXPECT_THAT(e.err, Not(HasSubstr("are not the dataset's categories")));
  const json ej = json::parse(read_file(out_.file("agnostic.json")));
  EXPECT_EQ(ej["class_agnostic"], true);
  ASSERT_EQ(ej["per_category"].size(), 1u);
  EXPECT_EQ(ej["per_category"][0]["name"], "object");

  // The same numbers another way: predict's class-agnostic results scored by cocoeval against the file.
  const RunResult p = predict({"--data", data, "--class-agnostic", "--threshold", "0", "--out", out_.file("pred")});
  ASSERT_EQ(p.exit_code, 0) << p;
  for (const auto& d : json::parse(read_file(out_.file("pred/results.json")))) EXPECT_EQ(d["category_id"], 1);
  const RunResult c = run_tool({"cocoeval", "--gt", data, "--dt", out_.file("pred/results.json"), "--json", "-"});
  ASSERT_EQ(c.exit_code, 0) << c;
  // Areas of the "all" range only: cocoeval (as pycocotools' loadRes) takes a result's area from its box.
  const json cj = json::parse(c.out);
  for (int i : {0, 1, 2, 6, 7, 8}) EXPECT_EQ(cj["stats"][i], ej["stats"][i]) << "stat " << i;

  // Without --data there are no categories to be agnostic about.
  const RunResult bad = predict({"--dir", file("scenes"), "--class-agnostic", "--out", out_.file("x")});
  expect_one_error_line(bad, "predict", 2);
}

// 9. The training size is recorded, inference runs at it by default, and a far-off scale warns.
TEST_F(CliFirstHour, InferenceRunsAtTheTrainingScale) {
  EXPECT_EQ(json::parse(read_file(best("config.json")))["model"]["train_short_side"], 64);
  // The same scene at twice the size: 128x160.
  for (const char* sub : {"big/rgb", "big/depth"}) fs::create_directories(out_.file(sub));
  cv::Mat rgb = cv::imread(file("scenes/rgb/000000.png"), cv::IMREAD_UNCHANGED), depth = cv::imread(file("scenes/depth/000000.png"), cv::IMREAD_UNCHANGED);
  cv::resize(rgb, rgb, cv::Size(160, 128), 0, 0, cv::INTER_LINEAR);
  cv::resize(depth, depth, cv::Size(160, 128), 0, 0, cv::INTER_NEAREST);
  ASSERT_TRUE(cv::imwrite(out_.file("big/rgb/a.png"), rgb));
  ASSERT_TRUE(cv::imwrite(out_.file("big/depth/a.png"), depth));

  const RunResult scaled = predict({"--dir", out_.file("big"), "--out", out_.file("p1"), "--threshold", "0"});
  ASSERT_EQ(scaled.exit_code, 0) << scaled;
  EXPECT_THAT(scaled.err, Not(HasSubstr("trained at")));
  const RunResult original = predict({"--dir", out_.file("big"), "--out", out_.file("p2"), "--threshold", "0", "--set",
                                      "eval.short_side=-1"});
  ASSERT_EQ(original.exit_code, 0) << original;
  EXPECT_THAT(original.err, HasSubstr("short side of 128 px, but it was trained at 64 px"));
  // Masks come back at the image's own size either way.
  for (const char* p : {"p1", "p2"}) {
    const cv::Mat ids = cv::imread(out_.file(std::string(p) + "/instances/a.png"), cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(ids.empty()) << p;
    EXPECT_EQ(ids.rows, 128);
    EXPECT_EQ(ids.cols, 160);
  }
  // The two runs differ: the default really resized.
  EXPECT_NE(read_file(out_.file("p1/results.json")), read_file(out_.file("p2/results.json")));
}

// 10. NYUv2's sample layout (color/, depth/) works with predict --dir.
TEST_F(CliFirstHour, PredictDirAcceptsAColorFolder) {
  fs::create_directories(out_.file("nyu/color"));
  fs::create_directories(out_.file("nyu/depth"));
  fs::copy_file(file("scenes/rgb/000001.png"), out_.file("nyu/color/000001.png"));
  fs::copy_file(file("scenes/depth/000001.png"), out_.file("nyu/depth/000001.png"));
  const RunResult p = predict({"--dir", out_.file("nyu"), "--out", out_.file("pred")});
  ASSERT_EQ(p.exit_code, 0) << p;
  EXPECT_TRUE(file_exists(out_.file("pred/overlays/000001.png")));
}

// 10. The real NYUv2 samples as the README shows them: `predict --dir ../shared/data/nyuv2-samples`.
TEST_F(CliFirstHour, PredictsOnTheNyuv2SamplesAsTheReadmeShows) {
  RGBDSEG_REQUIRE_SHARED(nyu, "data/nyuv2-samples/color/000001.png");
  const std::string dir = fs::path(nyu).parent_path().parent_path().string();
  const RunResult p = predict({"--dir", dir, "--out", out_.file("nyu-pred")});
  ASSERT_EQ(p.exit_code, 0) << p;
  const json images = json::parse(read_file(out_.file("nyu-pred/images.json")));
  ASSERT_EQ(images["images"].size(), 18u);  // frames 1..18 (data/README.md)
  for (const auto& img : images["images"]) {
    EXPECT_EQ(img["height"], 480);
    EXPECT_EQ(img["width"], 640);
    EXPECT_DOUBLE_EQ(img["depth_scale"].get<double>(), 0.001);  // millimetres
    EXPECT_TRUE(file_exists(out_.file("nyu-pred/" + img["overlay"].get<std::string>()))) << img;
  }
}

// 5. train reads depth through the same flags (they reach the loader).
TEST_F(CliFirstHour, TrainTakesTheDepthFlags) {
  const RunResult t = run_tool({"train", "--config", file("train.json"), "--out", out_.file("run"), "--set",
                                "data.train=" + file("scenes/annotations.json"), "--depth-encoding", "png8",
                                "--depth-scale", "0.001"});
  expect_one_error_line(t, "train");
  EXPECT_THAT(t.err, HasSubstr("depth image is 16-bit unsigned, but encoding 'png8' expects 8-bit unsigned"));
}

// 6. Usage errors exit 2 with one short line (no model needed).
TEST(CliUsageErrors, ExitTwoWithOneShortLine) {
  ScopedTempDir dir;
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"predict", {"predict", "--weights", "/dev/null", "--out", dir.file("p")}},
      {"predict", {"predict", "--weights", "/dev/null", "--out", dir.file("p"), "--dir", "a", "--data", "b"}},
      {"predict", {"predict", "--weights", "/dev/null", "--out", dir.file("p"), "--dir", "a", "--threshold", "2"}},
      {"predict", {"predict", "--weights", "/dev/null", "--out", dir.file("p"), "--dir", "a", "--depth-scale", "-1"}},
      {"synth", {"synth", "--out", dir.file("s"), "--num", "1", "--size", "120,160"}},
      {"synth", {"synth", "--out", dir.file("s"), "--num", "1", "--threads", "-1"}},
      {"cocoeval", {"cocoeval", "--gt", "/dev/null", "--dt", "/dev/null", "--threads", "-1"}},
      {"demo", {"demo", "--out", dir.file("d"), "--size", "240"}},
  };
  for (const auto& [command, args] : cases) {
    const RunResult r = run_tool(args);
    SCOPED_TRACE(::testing::PrintToString(args));
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_EQ(rgbdseg::testing::count_lines(r.err), 1u) << r;
    EXPECT_LT(r.err.size(), 300u) << r;  // not a 300-digit range
    EXPECT_THAT(r.err, HasSubstr("rgbdseg " + command + ": error: ")) << r;
  }
  const RunResult threads = run_tool({"synth", "--out", dir.file("s"), "--num", "1", "--threads", "-1"});
  EXPECT_THAT(threads.err, HasSubstr("expected 0 (all cores) or a positive number of threads, got -1"));
  EXPECT_FALSE(file_exists(dir.file("s")));
  EXPECT_FALSE(file_exists(dir.file("d")));
  const RunResult help = run_tool({"synth", "--help"});
  EXPECT_THAT(help.out, HasSubstr("0 = all cores"));
}

// 8. --model: a folder with config.json + model.safetensors (run/best is one)
// or a shipped model's name stands for --config and --weights.
TEST_F(CliFirstHour, ModelFolderStandsForConfigAndWeights) {
  const RunResult with_files = predict({"--dir", file("scenes"), "--out", out_.file("a"), "--threshold", "0"});
  ASSERT_EQ(with_files.exit_code, 0) << with_files;
  const RunResult with_folder =
      run_tool({"predict", "--model", file("run/best"), "--dir", file("scenes"), "--out", out_.file("b"), "--threshold", "0"});
  ASSERT_EQ(with_folder.exit_code, 0) << with_folder;
  EXPECT_EQ(read_file(out_.file("a/results.json")), read_file(out_.file("b/results.json")));
  // eval takes it too.
  const RunResult e = run_tool({"eval", "--model", file("run/best"), "--data", file("val/annotations.json")});
  EXPECT_EQ(e.exit_code, 0) << e;

  // A name is looked up in $RGBDSEG_MODELS (then beside the source tree and the install).
  ASSERT_EQ(::setenv("RGBDSEG_MODELS", file("run").c_str(), 1), 0);
  const RunResult by_name =
      run_tool({"predict", "--model", "best", "--dir", file("scenes"), "--out", out_.file("c"), "--threshold", "0"});
  ::unsetenv("RGBDSEG_MODELS");
  ASSERT_EQ(by_name.exit_code, 0) << by_name;
  EXPECT_EQ(read_file(out_.file("a/results.json")), read_file(out_.file("c/results.json")));

  const RunResult unknown = run_tool({"predict", "--model", "no-such-model", "--dir", file("scenes"), "--out", out_.file("d")});
  expect_one_error_line(unknown, "predict", 2);
  EXPECT_THAT(unknown.err, HasSubstr("--model no-such-model: no model folder (config.json + model.safetensors) at "));
  EXPECT_FALSE(fs::exists(out_.file("d")));
  const RunResult both = run_tool({"predict", "--model", file("run/best"), "--weights", best("model.safetensors"), "--dir",
                                   file("scenes"), "--out", out_.file("e")});
  expect_one_error_line(both, "predict", 2);
  EXPECT_THAT(both.err, HasSubstr("--model and --weights exclude each other"));
  const RunResult neither = run_tool({"predict", "--dir", file("scenes"), "--out", out_.file("f")});
  expect_one_error_line(neither, "predict", 2);
  EXPECT_THAT(neither.err, HasSubstr("give --model NAME|DIR or --weights FILE"));
}
