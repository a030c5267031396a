// The bad-input matrix: for every command, broken inputs (missing, empty,
// wrong image type, depth of another size, 8-bit depth, NaN/Inf depth, JSON of
// the wrong types, an unknown category, weights of another architecture,
// truncated weights and checkpoints, an output that cannot be created, a full
// disk through RLIMIT_FSIZE) each give the expected one-line error and exit
// code, and leave no output behind: the output path is absent afterwards (or
// holds exactly what it held before) and no temporary file is left beside it.
// One test suite per command, so CTest runs them side by side.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "apps/run_tool.h"
#include "data/nyu_fixture.h"
#include "rgbdseg/core/config.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/safetensors.h"
#include "temp_dir.h"
#include "test_paths.h"
#include "tiny_hf_config.h"
#include "tiny_training_config.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using rgbdseg::read_file;
using rgbdseg::testing::RunOptions;
using rgbdseg::testing::RunResult;
using rgbdseg::testing::run_tool;
using rgbdseg::testing::ScopedTempDir;
using ::testing::HasSubstr;

namespace {

// One row of the matrix.
struct BadInput {
  std::string what;               // the broken input, for failure messages
  std::vector<std::string> args;  // the whole command line
  int exit_code = 1;
  std::string message;            // expected in the one error line (a file name, the problem)
  std::string output;             // the path the command would write: must not exist afterwards
  long long file_size_limit = -1;  // RLIMIT_FSIZE: "disk full"
};

// A failed command: exit `code`, nothing on stdout, and on stderr one error line,
// the last, holding `message`; lines before it are the log's ("rgbdseg: ...",
// e.g. which weights were loaded), none of them another error.
void expect_error_line(const RunResult& r, const std::string& command, int code, const std::string& message) {
  EXPECT_EQ(r.exit_code, code) << r;
  EXPECT_EQ(r.out, "") << r;
  const auto lines = rgbdseg::testing::lines_of(r.err);
  ASSERT_FALSE(lines.empty()) << r;
  EXPECT_EQ(r.err.back(), '\n') << r;
  EXPECT_THAT(lines.back(), ::testing::StartsWith("rgbdseg " + command + ": error: ")) << r;
  EXPECT_THAT(lines.back(), HasSubstr(message)) << r;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_THAT(lines[i], ::testing::StartsWith("rgbdseg: ")) << "not a log line: " << r;
    EXPECT_THAT(lines[i], ::testing::Not(HasSubstr("error"))) << r;
  }
}

// Every file under `dir` with its size: what a failed command must not change.
std::map<std::string, uintmax_t> listing(const std::string& dir) {
  std::map<std::string, uintmax_t> files;
  if (!fs::exists(dir)) return files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    files[fs::relative(e.path(), dir).string()] = e.is_regular_file() ? e.file_size() : 0;
  }
  return files;
}

std::vector<std::string> temporaries_in(const std::string& dir) {
  std::vector<std::string> found;
  if (!fs::is_directory(dir)) return found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp") != std::string::npos) found.push_back(name);
  }
  return found;
}

class BadInputMatrix : public ::testing::Test {
 protected:
  // Shared inputs, made once per suite (each suite is its own process under CTest).
  static void SetUpTestSuite() {
    tmp_ = new ScopedTempDir();
    const RunResult s = run_tool({"synth", "-q", "--out", file("scenes"), "--num", "2", "--size", "48x64", "--seed", "5"});
    ASSERT_EQ(s.exit_code, 0) << s;
    rgb_ = file("scenes/rgb/000000.png");
    depth_ = file("scenes/depth/000000.png");
    data_ = file("scenes/annotations.json");
    model_ = std::string(RGBDSEG_SOURCE_DIR) + "/models/tabletop";

    write("empty.png", "");
    write("text.png", "this is not an image\n");
    write("empty.json", "");
    write("not_json.json", "{\"images\": [1, 2,");
    cv::imwrite(file("rgb16.png"), cv::Mat(48, 64, CV_16UC3, cv::Scalar(1000, 2000, 3000)));
    cv::imwrite(file("depth_small.png"), cv::Mat(24, 32, CV_16UC1, cv::Scalar(800)));
    cv::imwrite(file("depth8.png"), cv::Mat(48, 64, CV_8UC1, cv::Scalar(80)));
    cv::Mat nan_depth(48, 64, CV_32FC1, cv::Scalar(0.8f));
    nan_depth(cv::Rect(0, 0, 32, 48)).setTo(std::numeric_limits<float>::quiet_NaN());
    nan_depth(cv::Rect(32, 0, 8, 48)).setTo(std::numeric_limits<float>::infinity());
    nan_depth(cv::Rect(40, 0, 8, 48)).setTo(-std::numeric_limits<float>::infinity());
    cv::imwrite(file("depth_nan.tiff"), nan_depth);

    // Datasets, each broken in one way.
    const json good = json::parse(read_file(data_));
    auto dataset = [&](const std::string& name, const std::function<void(json&)>& edit) {
      json j = good;
      edit(j);
      // Paths stay valid: the file sits beside the good one.
      write("scenes/" + name, j.dump());
      return file("scenes/" + name);
    };
    data_wrong_types_ = dataset("wrong_types.json", [](json& j) { j["images"][0]["width"] = "sixty-four"; });
    data_unknown_category_ = dataset("unknown_category.json", [](json& j) { j["annotations"][0]["category_id"] = 99; });
    data_missing_image_ = dataset("missing_image.json", [](json& j) { j["images"][0]["file_name"] = "rgb/nope.png"; });
    data_small_depth_ = dataset("small_depth.json", [&](json& j) { j["images"][0]["depth_file"] = file("depth_small.png"); });
    data_depth8_ = dataset("depth8.json", [&](json& j) { j["images"][0]["depth_file"] = file("depth8.png"); });

    // Weights: truncated, one tensor of another shape, one tensor missing.
    const std::string weights = read_file(model_ + "/model.safetensors");
    write("truncated.safetensors", weights.substr(0, weights.size() / 2));
    rgbdseg::SafetensorsFile f = rgbdseg::read_safetensors(model_ + "/model.safetensors");
    auto reshaped = f;
    auto& t = reshaped.tensors.begin()->second;
    reshaped_name_ = reshaped.tensors.begin()->first;
    t.shape.insert(t.shape.begin(), 1);
    t.shape.back() = t.shape.back() * 2;
    t.bytes += t.bytes;
    rgbdseg::write_safetensors(file("reshaped.safetensors"), reshaped);
    auto missing = f;
    missing_name_ = std::prev(missing.tensors.end())->first;
    missing.tensors.erase(missing_name_);
    rgbdseg::write_safetensors(file("missing.safetensors"), missing);
    // A tiny Mask2Former of another size altogether, for train --init.
    write("hf/tiny.json", rgbdseg::testing::kTinyHfConfig);
    rgbdseg::Config c = rgbdseg::testing::tiny_training_config("hf/tiny.json", "scenes/annotations.json", "full");
    c.runtime.log_level = "warn";
    c.train.max_steps = 2;
    c.train.checkpoint_every = 1;
    train_config_ = write("train.json", rgbdseg::config_to_json(c).dump(2));
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }

  static std::string file(const std::string& relative) { return tmp_->file(relative); }
  static std::string write(const std::string& relative, const std::string& text) {
    fs::create_directories(fs::path(file(relative)).parent_path());
    return tmp_->write(relative, text);
  }
  // A fresh output path for one case.
  std::string out(const std::string& name) { return file("out/" + name); }

  // Runs one row and checks the error line, the exit code and that nothing was left behind.
  void expect_clean_failure(const BadInput& c) {
    SCOPED_TRACE(c.what);
    const std::string parent = fs::path(c.output).parent_path().string();
    const auto before = listing(parent);
    RunOptions o;
    o.file_size_limit = c.file_size_limit;
    const RunResult r = run_tool(c.args, o);
    expect_error_line(r, c.args[0] == "bag" || c.args[0] == "convert" ? c.args[0] + " " + c.args[1] : c.args[0],
                      c.exit_code, c.message);
    if (!c.output.empty()) {
      EXPECT_FALSE(fs::exists(c.output)) << c.output << " was left behind";
      EXPECT_EQ(listing(parent), before) << "files changed beside " << c.output;
      EXPECT_THAT(temporaries_in(parent), ::testing::IsEmpty()) << "temporary files left beside " << c.output;
    }
  }
  void run_matrix(const std::vector<BadInput>& rows) {
    fs::create_directories(file("out"));
    for (const auto& row : rows) expect_clean_failure(row);
  }

  static ScopedTempDir* tmp_;
  static std::string rgb_, depth_, data_, model_, train_config_;
  static std::string data_wrong_types_, data_unknown_category_, data_missing_image_, data_small_depth_, data_depth8_;
  static std::string reshaped_name_, missing_name_;
};

ScopedTempDir* BadInputMatrix::tmp_ = nullptr;
std::string BadInputMatrix::rgb_, BadInputMatrix::depth_, BadInputMatrix::data_, BadInputMatrix::model_,
    BadInputMatrix::train_config_;
std::string BadInputMatrix::data_wrong_types_, BadInputMatrix::data_unknown_category_,
    BadInputMatrix::data_missing_image_, BadInputMatrix::data_small_depth_, BadInputMatrix::data_depth8_;
std::string BadInputMatrix::reshaped_name_, BadInputMatrix::missing_name_;

// A path that cannot be created by anyone, root included: its parent is a file.
std::string under_a_file(const std::string& file) { return file + "/out"; }

class BadInputPredict : public BadInputMatrix {};
class BadInputEval : public BadInputMatrix {};
class BadInputTrain : public BadInputMatrix {};
class BadInputCocoeval : public BadInputMatrix {};
class BadInputImages : public BadInputMatrix {};  // synth, show, convert, plot, bag, inspect
class BadInputTools : public BadInputMatrix {};   // forward, bench, demo

}  // namespace

TEST_F(BadInputPredict, EachBrokenInputIsOneLineAndLeavesNothing) {
  const std::vector<std::string> model = {"--model", model_};
  auto predict = [&](std::vector<std::string> inputs, const std::string& o) {
    std::vector<std::string> a = {"predict"};
    a.insert(a.end(), model.begin(), model.end());
    a.insert(a.end(), inputs.begin(), inputs.end());
    a.insert(a.end(), {"--out", o});
    return a;
  };
  const std::string p = out("p");
  run_matrix({
      {"missing colour image", predict({"--rgb", file("nope.png"), "--depth", depth_}, p), 1, "nope.png: not found", p},
      {"empty colour image", predict({"--rgb", file("empty.png"), "--depth", depth_}, p), 1, "empty.png", p},
      {"a text file as the colour image", predict({"--rgb", file("text.png"), "--depth", depth_}, p), 1, "text.png", p},
      {"16-bit colour image", predict({"--rgb", file("rgb16.png"), "--depth", depth_}, p), 1, "rgb16.png", p},
      {"depth of another size", predict({"--rgb", rgb_, "--depth", file("depth_small.png")}, p), 1, "depth_small.png", p},
      {"8-bit depth without its units", predict({"--rgb", rgb_, "--depth", file("depth8.png")}, p), 1, "8-bit depth", p},
      {"an empty depth file", predict({"--rgb", rgb_, "--depth", file("empty.png")}, p), 1, "empty.png", p},
      {"truncated weights",
       {"predict", "--config", model_ + "/config.json", "--weights", file("truncated.safetensors"), "--rgb", rgb_,
        "--depth", depth_, "--out", p},
       1, "truncated.safetensors", p},
      {"a weight of another shape (another architecture)",
       {"predict", "--config", model_ + "/config.json", "--weights", file("reshaped.safetensors"), "--rgb", rgb_,
        "--depth", depth_, "--out", p},
       1, reshaped_name_, p},
      {"a weight missing (another architecture)",
       {"predict", "--config", model_ + "/config.json", "--weights", file("missing.safetensors"), "--rgb", rgb_,
        "--depth", depth_, "--out", p},
       1, missing_name_, p},
      {"a dataset with wrong JSON types", predict({"--data", data_wrong_types_}, p), 1, "wrong_types.json", p},
      {"a dataset naming a missing image", predict({"--data", data_missing_image_}, p), 1, "nope.png", p},
      {"output under a file", predict({"--rgb", rgb_, "--depth", depth_}, under_a_file(rgb_)), 1, "000000.png/out",
       ""},
      {"disk full", predict({"--rgb", rgb_, "--depth", depth_}, p), 1, "write failed (File too large)", p, 3000},
  });
}

TEST_F(BadInputPredict, NanAndInfiniteDepthAreMissingReadingsNotErrors) {
  // Float depth maps mark missing readings with NaN (and some tools with
  // +-Inf): those pixels are "no depth", as zero is in 16-bit maps.
  const std::string p = out("nan");
  const RunResult r = run_tool({"predict", "--model", model_, "--rgb", rgb_, "--depth", file("depth_nan.tiff"),
                                "--depth-encoding", "float", "--out", p, "-q"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const json results = json::parse(read_file(p + "/results.json"));
  for (const auto& d : results) EXPECT_TRUE(std::isfinite(d["score"].get<double>())) << d.dump();
}

TEST_F(BadInputEval, EachBrokenInputIsOneLineAndLeavesNothing) {
  auto eval = [&](const std::string& data, const std::string& json_out) {
    return std::vector<std::string>{"eval", "--model", model_, "--data", data, "--json", json_out};
  };
  const std::string j = out("eval.json");
  run_matrix({
      {"missing dataset", eval(file("nope.json"), j), 1, "nope.json", j},
      {"empty dataset file", eval(file("empty.json"), j), 1, "empty.json", j},
      {"dataset cut short", eval(file("not_json.json"), j), 1, "not_json.json", j},
      {"wrong JSON types", eval(data_wrong_types_, j), 1, "wrong_types.json", j},
      {"unknown category", eval(data_unknown_category_, j), 1, "unknown_category.json", j},
      {"missing image", eval(data_missing_image_, j), 1, "nope.png", j},
      {"depth of another size", eval(data_small_depth_, j), 1, "depth_small.png", j},
      {"8-bit depth", eval(data_depth8_, j), 1, "8-bit depth", j},
      {"truncated weights",
       {"eval", "--config", model_ + "/config.json", "--weights", file("truncated.safetensors"), "--data", data_,
        "--json", j},
       1, "truncated.safetensors", j},
      {"weights of another architecture",
       {"eval", "--config", model_ + "/config.json", "--weights", file("reshaped.safetensors"), "--data", data_,
        "--json", j},
       1, reshaped_name_, j},
      {"--json under a file", eval(data_, under_a_file(rgb_)), 1, "000000.png/out: cannot write here", ""},
      {"disk full", eval(data_, j), 1, "eval.json: write failed (File too large)", j, 100},
  });
}

TEST_F(BadInputTrain, EachBrokenInputIsOneLineAndLeavesNothing) {
  auto train = [&](const std::string& data, const std::string& o) {
    return std::vector<std::string>{"train", "--config", train_config_, "--set", "data.train=" + data, "--out", o};
  };
  const std::string t = out("t");
  run_matrix({
      {"missing dataset", train(file("nope.json"), t), 1, "nope.json", t},
      {"empty dataset", train(file("empty.json"), t), 1, "empty.json", t},
      {"wrong JSON types", train(data_wrong_types_, t), 1, "wrong_types.json", t},
      {"unknown category", train(data_unknown_category_, t), 1, "unknown_category.json", t},
      {"missing image", train(data_missing_image_, t), 1, "nope.png", t},
      {"depth of another size", train(data_small_depth_, t), 1, "depth_small.png", t},
      {"init weights of another architecture",
       {"train", "--config", train_config_, "--init", model_ + "/model.safetensors", "--out", t}, 1,
       "model.safetensors", t},
      {"truncated init weights", {"train", "--config", train_config_, "--init", file("truncated.safetensors"), "--out", t},
       1, "truncated.safetensors", t},
      {"a config value of the wrong type", {"train", "--config", train_config_, "--set", "train.lr=fast", "--out", t}, 1,
       "train.lr", t},
      {"output under a file", train(data_, under_a_file(rgb_)), 1, "000000.png/out", ""},
  });
}

TEST_F(BadInputTrain, DiskFullStopsWithoutAHalfWrittenCheckpoint) {
  // Room for config.json and the log, not for the weights.
  const std::string t = out("full");
  RunOptions o;
  o.file_size_limit = 64 * 1024;
  const RunResult r = run_tool({"train", "--config", train_config_, "--out", t}, o);
  expect_error_line(r, "train", 1, "");
  EXPECT_THAT(r.err, HasSubstr("model.safetensors"));
  EXPECT_FALSE(fs::exists(t + "/last")) << "a checkpoint was left under its final name";
  EXPECT_FALSE(fs::exists(t + "/last.tmp")) << "the half-written checkpoint was left behind";
}

TEST_F(BadInputTrain, BrokenCheckpointsAreRefusedOnResume) {
  // A complete run to break.
  const std::string t = out("resume");
  const RunResult ok = run_tool({"train", "--config", train_config_, "--out", t, "--set", "train.max_steps=1"});
  ASSERT_EQ(ok.exit_code, 0) << ok;
  const std::string last = t + "/last";
  const std::string model = read_file(last + "/model.safetensors"), optimizer = read_file(last + "/optimizer.safetensors"),
                    state = read_file(last + "/trainer_state.json");
  auto resume = [&] { return run_tool({"train", "--config", train_config_, "--out", t, "--resume"}); };
  struct Break {
    std::string what, file, bytes, message;
  };
  for (const Break& b : std::vector<Break>{
           {"truncated weights", "model.safetensors", model.substr(0, model.size() / 2), "model.safetensors"},
           {"truncated optimizer state", "optimizer.safetensors", optimizer.substr(0, 100), "optimizer.safetensors"},
           {"empty trainer state", "trainer_state.json", "", "trainer_state.json"},
           {"trainer state of the wrong types", "trainer_state.json", R"({"step": "one"})", "trainer_state.json"},
       }) {
    SCOPED_TRACE(b.what);
    rgbdseg::write_file_atomic(last + "/" + b.file, b.bytes);
    const auto before = listing(t);
    const RunResult r = resume();
    expect_error_line(r, "train", 1, "");
    EXPECT_THAT(r.err, HasSubstr(b.message)) << r;
    EXPECT_EQ(listing(t), before) << "a refused resume changed the run folder";
    rgbdseg::write_file_atomic(last + "/model.safetensors", model);
    rgbdseg::write_file_atomic(last + "/optimizer.safetensors", optimizer);
    rgbdseg::write_file_atomic(last + "/trainer_state.json", state);
  }
}

TEST_F(BadInputCocoeval, EachBrokenInputIsOneLineAndLeavesNothing) {
  const std::string results = write("results.json", R"([{"image_id": 0, "category_id": 1, "score": 0.5, "bbox": [1, 1, 5, 5]}])");
  const std::string j = out("coco.json");
  auto cocoeval = [&](const std::string& gt, const std::string& dt, const std::string& json_out) {
    return std::vector<std::string>{"cocoeval", "--gt", gt, "--dt", dt, "--iou-type", "bbox", "--json", json_out};
  };
  const json gt = json::parse(read_file(data_));
  const int64_t image_id = gt["images"][0]["id"];
  const std::string unknown = write("unknown.json", json::array({{{"image_id", image_id}, {"category_id", 99}, {"score", 0.5},
                                                                  {"bbox", {1, 1, 5, 5}}}}).dump());
  const std::string wrong = write("wrong.json", json::array({{{"image_id", image_id}, {"category_id", 1}, {"score", "high"},
                                                              {"bbox", {1, 1, 5, 5}}}}).dump());
  const std::string good = write("good.json", json::array({{{"image_id", image_id}, {"category_id", gt["categories"][0]["id"]},
                                                            {"score", 0.5}, {"bbox", {1, 1, 5, 5}}}}).dump());
  (void)results;
  run_matrix({
      {"missing ground truth", cocoeval(file("nope.json"), good, j), 2, "nope.json", j},
      {"empty results", cocoeval(data_, file("empty.json"), j), 1, "empty.json", j},
      {"results cut short", cocoeval(data_, file("not_json.json"), j), 1, "not_json.json", j},
      {"a score of the wrong type", cocoeval(data_, wrong, j), 1, "wrong.json", j},
      {"an unknown category", cocoeval(data_, unknown, j), 1, "99", j},
      {"ground truth of the wrong types", cocoeval(data_wrong_types_, good, j), 1, "wrong_types.json", j},
      {"--json under a file", cocoeval(data_, good, under_a_file(rgb_)), 1, "000000.png/out", ""},
      {"disk full", cocoeval(data_, good, j), 1, "coco.json", j, 100},
  });
}

TEST_F(BadInputImages, EachBrokenInputIsOneLineAndLeavesNothing) {
  // A folder for convert folder: one good pair, then broken copies.
  auto folder = [&](const std::string& name, const std::string& rgb, const std::string& depth) {
    const std::string root = file("folders/" + name);
    fs::create_directories(root + "/rgb");
    fs::create_directories(root + "/depth");
    fs::create_directories(root + "/masks/a");
    fs::copy_file(rgb, root + "/rgb/a.png", fs::copy_options::overwrite_existing);
    fs::copy_file(depth, root + "/depth/a.png", fs::copy_options::overwrite_existing);
    cv::Mat mask(48, 64, CV_8UC1, cv::Scalar(0));
    mask(cv::Rect(10, 10, 20, 20)).setTo(255);
    cv::imwrite(root + "/masks/a/obj.png", mask);
    return root;
  };
  const std::string good = folder("good", rgb_, depth_);
  const std::string text_rgb = folder("text_rgb", file("text.png"), depth_);
  const std::string small_depth = folder("small_depth", rgb_, file("depth_small.png"));
  const std::string depth8 = folder("depth8", rgb_, file("depth8.png"));
  const std::string good_log = write("good.jsonl", "{\"type\": \"train\", \"step\": 1, \"loss\": 2.5, \"lr\": 0.001}\n"
                                                   "{\"type\": \"train\", \"step\": 2, \"loss\": 2.0, \"lr\": 0.001}\n");
  // NYUv2 metadata in the official layout (the tests' MAT v5 writer), so the .mat itself is what fails.
  namespace nyu = rgbdseg::testing::nyu;
  const std::string splits = file("splits.mat"), mapping40 = file("mapping40.mat");
  nyu::write_minimal_nyu_metadata(splits, mapping40);
  const std::string log_wrong = write("wrong.jsonl", "{\"type\": \"train\", \"step\": \"one\", \"loss\": 1}\n");
  const std::string o = out("o"), png = out("curves.png");
  const std::string bag_cut = file("cut.bag");
  write("cut.bag", "#ROSBAG V2.0\n\x04\x00\x00\x00");
  const std::string config_wrong = write("wrong_config.json", R"({"train": {"max_steps": "many"}})");
  // Annotation-tool exports: a LabelMe folder (good, empty JSON, text as its image), a COCO file cut short.
  const std::string good_depth = good + "/depth";
  auto labelme = [&](const std::string& name, const std::string& json, const std::string& image) {
    if (!image.empty()) {
      fs::create_directories(file("labelme/" + name));
      fs::copy_file(image, file("labelme/" + name + "/a.png"), fs::copy_options::overwrite_existing);
    }
    write("labelme/" + name + "/a.json", json);
    return file("labelme/" + name);
  };
  const std::string labelme_json =
      R"({"shapes": [{"label": "mug", "points": [[10, 10], [30, 10], [30, 30]], "shape_type": "polygon"}], "imagePath": "a.png"})";
  const std::string labelme_good = labelme("good", labelme_json, rgb_);
  const std::string labelme_empty = labelme("empty", "", "");
  const std::string labelme_text = labelme("text", labelme_json, file("text.png"));
  const std::string coco_cut = write("coco/cut.json", read_file(data_).substr(0, 40));
  const std::string no_detections = write("no_detections.json", "[]");
  run_matrix({
      {"synth: output under a file", {"synth", "--out", under_a_file(rgb_), "--num", "1"}, 1, "000000.png/out", ""},
      {"synth: disk full", {"synth", "--out", o, "--num", "2", "--size", "48x64"}, 1, "(File too large)", o, 3000},
      {"show: wrong JSON types", {"show", "--data", data_wrong_types_, "--out", o}, 1, "wrong_types.json", o},
      {"show: missing image", {"show", "--data", data_missing_image_, "--out", o}, 1, "nope.png", o},
      {"show: depth of another size", {"show", "--data", data_small_depth_, "--out", o}, 1, "depth_small.png", o},
      {"show: output under a file", {"show", "--data", data_, "--out", under_a_file(rgb_)}, 1, "000000.png/out", ""},
      {"show: disk full", {"show", "--data", data_, "--out", o}, 1, "(File too large)", o, 3000},
      {"convert folder: text as colour", {"convert", "folder", "--root", text_rgb, "--out", o}, 1, "a.png", o},
      {"convert folder: depth of another size", {"convert", "folder", "--root", small_depth, "--out", o}, 1, "a.png", o},
      {"convert folder: 8-bit depth", {"convert", "folder", "--root", depth8, "--out", o}, 1, "8-bit depth", o},
      {"convert folder: output under a file", {"convert", "folder", "--root", good, "--out", under_a_file(rgb_)}, 1,
       "000000.png/out", ""},
      {"convert folder: disk full", {"convert", "folder", "--root", good, "--out", o}, 1, "(File too large)", o, 3000},
      {"convert nyuv2: not an HDF5 file",
       {"convert", "nyuv2", "--mat", file("text.png"), "--splits", splits, "--mapping40", mapping40, "--out", o},
       1, "text.png: not an HDF5 file", o},
      {"convert seed: empty list", {"convert", "seed", "--json", file("empty.json"), "--label2id", file("empty.json"), "--out", o},
       1, "empty.json", o},
      {"convert cots: not the COTS folder", {"convert", "cots", "--root", good, "--out", o}, 1, good, o},
      {"convert labelme: empty JSON", {"convert", "labelme", "--root", labelme_empty, "--depth-dir", good_depth, "--out", o},
       1, labelme_empty + "/a.json", o},
      {"convert labelme: text as colour", {"convert", "labelme", "--root", labelme_text, "--depth-dir", good_depth, "--out", o},
       1, labelme_text + "/a.png", o},
      {"convert labelme: disk full", {"convert", "labelme", "--root", labelme_good, "--depth-dir", good_depth, "--out", o},
       1, "(File too large)", o, 3000},
      {"convert coco-depth: cut short", {"convert", "coco-depth", "--annotations", coco_cut, "--depth-dir", good_depth, "--out", o},
       1, coco_cut, o},
      {"convert cvat-masks: not a CVAT export", {"convert", "cvat-masks", "--root", good, "--depth-dir", good_depth, "--out", o},
       1, good + ": no labelmap.txt", o},
      {"compare: empty results", {"compare", "--data", data_, "--results", file("empty.json"), "--out", o}, 1, "empty.json", o},
      {"compare: output under a file", {"compare", "--data", data_, "--results", no_detections, "--out", under_a_file(rgb_)}, 1,
       "000000.png/out", ""},
      {"compare: disk full", {"compare", "--data", data_, "--results", no_detections, "--out", o}, 1, "(File too large)", o, 3000},
      {"plot: empty log", {"plot", "--log", file("empty.json"), "--out", png}, 1, "empty.json", png},
      {"plot: wrong types in the log", {"plot", "--log", log_wrong, "--out", png}, 1, "wrong.jsonl", png},
      {"plot: output under a file", {"plot", "--log", good_log, "--out", under_a_file(rgb_) + ".png"}, 1,
       "000000.png/out.png", ""},
      {"plot: disk full", {"plot", "--log", good_log, "--out", png}, 1, "curves.png: write failed (File too large)", png, 100},
      {"bag info: empty file", {"bag", "info", file("empty.png")}, 1, "empty.png", ""},
      {"bag info: cut short", {"bag", "info", bag_cut}, 1, "cut.bag", ""},
      {"bag export: cut short", {"bag", "export", bag_cut, "--out", o}, 1, "cut.bag", o},
      {"inspect: wrong config type", {"inspect", "--config", config_wrong}, 1, "wrong_config.json: /train/max_steps: expected an integer", ""},
  });
}

TEST_F(BadInputImages, BagExportOnAFullDiskLeavesNothing) {
  RGBDSEG_REQUIRE_SHARED(bag, "data/realsense/single_depth_color_640x480.bag");
  const std::string o = out("bag_full");
  run_matrix({{"bag export: disk full", {"bag", "export", bag, "--out", o, "--max-skew-ms", "120"}, 1,
               "(File too large)", o, 3000}});
}

TEST_F(BadInputTools, EachBrokenInputIsOneLineAndLeavesNothing) {
  const std::string o = out("t.safetensors"), j = out("bench.json"), d = out("demo");
  const std::string hf = model_ + "/hf_config.json";
  rgbdseg::SafetensorsFile pixels;
  pixels.tensors["pixel_values"] = {rgbdseg::DType::F32, {1, 3, 32, 32}, std::string(3 * 32 * 32 * 4, '\0')};
  const std::string input = file("pixels.safetensors");
  rgbdseg::write_safetensors(input, pixels);
  run_matrix({
      {"forward: truncated weights",
       {"forward", "--hf-config", hf, "--weights", file("truncated.safetensors"), "--input", file("truncated.safetensors"),
        "--out", o},
       1, "truncated.safetensors", o},
      {"forward: a config that is not JSON",
       {"forward", "--hf-config", file("not_json.json"), "--weights", model_ + "/model.safetensors", "--input", input,
        "--out", o},
       1, "not_json.json", o},
      {"bench: --json under a file (checked before the timing)",
       {"bench", "--config", model_ + "/config.json", "--size", "64x64", "--runs", "1", "--json", under_a_file(rgb_)}, 1,
       "000000.png/out: cannot write here", ""},
      {"bench: a Hugging Face config of the wrong types",
       {"bench", "--hf-config", file("scenes/wrong_types.json"), "--size", "64x64", "--runs", "1", "--json", j}, 1,
       "wrong_types.json", j},
      {"demo: output under a file", {"demo", "--out", under_a_file(rgb_), "--num", "4", "--num-val", "2"}, 1,
       "000000.png/out", ""},
  });
}
