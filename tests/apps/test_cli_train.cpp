// `rgbdseg train`, `eval` and `predict` end to end on a tiny model and
// synthetic scenes: a trained checkpoint evaluates and predicts on its own,
// predictions score with `rgbdseg cocoeval`, a real SIGINT leaves a resumable
// checkpoint (exit 130), and bad input is a one-line error with nothing
// written under OUT/best.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rgbdseg/core/file_util.h"
#include "temp_dir.h"
#include "training_log_lines.h"
#include "tiny_hf_config.h"
#include "tiny_training_config.h"
#include "test_paths.h"
#include "apps/run_tool.h"

extern char** environ;

using rgbdseg::file_exists;
using rgbdseg::read_file;
using rgbdseg::testing::ScopedTempDir;
using rgbdseg::testing::log_lines;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
using rgbdseg::testing::RunResult;
using rgbdseg::testing::run_tool;
using rgbdseg::testing::count_lines;
using rgbdseg::testing::expect_one_error_line;

namespace {

std::vector<char*> argv_of(const std::string& binary, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}


const char* const kTinyHf = rgbdseg::testing::kTinyHfConfig;

// The shared tiny recipe, 3 steps, with paths relative to the config file
// (train.json in the temporary folder).
std::string train_config_json() {
  rgbdseg::Config c = rgbdseg::testing::tiny_training_config("hf/tiny.json", "scenes/annotations.json", "full");
  c.runtime.log_level = "warn";
  c.data.val = "val/annotations.json";
  c.train.max_steps = 3;
  return rgbdseg::config_to_json(c).dump(2);
}

class CliTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp.write("hf/tiny.json", kTinyHf);
    config = tmp.write("train.json", train_config_json());
    for (const auto& [name, seed] : {std::pair<const char*, const char*>{"scenes", "3"}, {"val", "4"}}) {
      const RunResult s = run_tool({"synth", "-q", "--out", tmp.file(name), "--num",
                                    name == std::string("val") ? "2" : "4", "--size", "64x80", "--seed", seed});
      ASSERT_EQ(s.exit_code, 0) << s;
    }
  }
  ScopedTempDir tmp;
  std::string config;
};

}  // namespace

TEST_F(CliTrain, TrainThenEvalAndPredictFromTheCheckpointAlone) {
  // Relative --config (from the temporary folder): the checkpoint's config
  // must still name the datasets correctly from anywhere.
  const RunResult t = run_tool({"train", "--config", "train.json", "--out", "run"}, tmp.path());
  ASSERT_EQ(t.exit_code, 0) << t;
  EXPECT_EQ(t.out, "run/best/model.safetensors\n");
  for (const char* f : {"run/train.jsonl", "run/config.json", "run/best/model.safetensors", "run/best/config.json",
                        "run/best/hf_config.json", "run/last/optimizer.safetensors", "run/last/trainer_state.json"}) {
    EXPECT_TRUE(file_exists(tmp.file(f))) << f;
  }
  EXPECT_EQ(log_lines(tmp.file("run/train.jsonl"), "train").size(), 3u);
  EXPECT_EQ(log_lines(tmp.file("run/train.jsonl"), "eval").size(), 1u);

  // eval with the checkpoint's own config (run from another directory).
  const std::string best = tmp.file("run/best");
  const RunResult e = run_tool({"eval", "--config", best + "/config.json", "--weights", best + "/model.safetensors",
                                "--data", tmp.file("val/annotations.json"), "--json", tmp.file("eval.json")});
  ASSERT_EQ(e.exit_code, 0) << e;
  EXPECT_EQ(count_lines(e.out), 12u) << e;
  EXPECT_THAT(e.out, StartsWith(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = "));
  const json ej = json::parse(read_file(tmp.file("eval.json")));
  ASSERT_EQ(ej["stats"].size(), 12u);
  for (const auto& v : ej["stats"]) EXPECT_TRUE(v.get<double>() == -1 || (v >= 0.0 && v <= 1.0)) << v;
  ASSERT_GE(ej["per_category"].size(), 1u);
  for (const auto& c : ej["per_category"]) {
    EXPECT_TRUE(c.contains("name"));
    EXPECT_TRUE(c.contains("AP"));
  }
  EXPECT_EQ(ej["images"], 2);
  EXPECT_EQ(ej["variant"], "full");
  // The eval line of training (same weights, same val set via data.val) agrees with `rgbdseg eval`.
  EXPECT_EQ(log_lines(tmp.file("run/train.jsonl"), "eval")[0]["AP"].get<double>(), ej["stats"][0].get<double>());

  // Without --data, eval uses data.val of the checkpoint's config.
  const RunResult e2 = run_tool({"eval", "--config", best + "/config.json", "--weights", best + "/model.safetensors",
                                 "--json", tmp.file("eval2.json")});
  ASSERT_EQ(e2.exit_code, 0) << e2;
  EXPECT_EQ(json::parse(read_file(tmp.file("eval2.json")))["stats"], ej["stats"]);

  // predict on the synthetic folder; every instance kept (--threshold 0) so there are results.
  const std::string pred = tmp.file("pred");
  const RunResult p = run_tool({"predict", "--config", best + "/config.json", "--weights", best + "/model.safetensors",
                                "--dir", tmp.file("scenes"), "--out", pred, "--threshold", "0"});
  ASSERT_EQ(p.exit_code, 0) << p;
  EXPECT_EQ(p.out, pred + "/results.json\n");
  const json results = json::parse(read_file(pred + "/results.json"));
  ASSERT_TRUE(results.is_array());
  ASSERT_GT(results.size(), 0u);
  for (const auto& d : results) {
    EXPECT_GE(d["image_id"].get<int>(), 1);
    EXPECT_LE(d["image_id"].get<int>(), 4);
    EXPECT_GE(d["category_id"].get<int>(), 1);
    EXPECT_LE(d["category_id"].get<int>(), 3);
    EXPECT_GE(d["score"].get<double>(), 0.0);
    EXPECT_LE(d["score"].get<double>(), 1.0);
    EXPECT_EQ(d["segmentation"]["size"], json::parse("[64, 80]"));
    EXPECT_TRUE(d["segmentation"]["counts"].is_string());
    EXPECT_EQ(d["bbox"].size(), 4u);
  }
  const RunResult c = run_tool(
      {"cocoeval", "--gt", tmp.file("scenes/annotations.json"), "--dt", pred + "/results.json", "--json", "-"});
  ASSERT_EQ(c.exit_code, 0) << c;
  const json cj = json::parse(c.out);
  EXPECT_EQ(cj["stats"].size(), 12u);
  EXPECT_EQ(cj["num_results"], results.size());
  for (int i = 0; i < 4; ++i) {
    const std::string stem = "00000" + std::to_string(i);
    const cv::Mat ids = cv::imread(pred + "/instances/" + stem + ".png", cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(ids.empty()) << stem;
    EXPECT_EQ(ids.type(), CV_16UC1) << stem;
    EXPECT_EQ(ids.rows, 64);
    EXPECT_EQ(ids.cols, 80);
    double lo = 0, hi = 0;
    cv::minMaxLoc(ids, &lo, &hi);
    const auto n = std::count_if(results.begin(), results.end(), [&](const json& d) { return d["image_id"] == i + 1; });
    EXPECT_LE(hi, static_cast<double>(n)) << stem;  // ids are 1..detections of the image
    const cv::Mat overlay = cv::imread(pred + "/overlays/" + stem + ".png", cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(overlay.empty()) << stem;
    EXPECT_EQ(overlay.type(), CV_8UC3) << stem;
  }
  const json images = json::parse(read_file(pred + "/images.json"));
  EXPECT_EQ(images["images"].size(), 4u);
}

TEST_F(CliTrain, SigintLeavesAResumableCheckpoint) {
  const std::string out = tmp.file("run");
  const std::string binary = rgbdseg::testing::rgbdseg_binary();
  const std::vector<std::string> args = {"train", "--config", config, "--out", out, "--set", "train.max_steps=100000"};
  auto argv = argv_of(binary, args);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const std::string stdout_path = tmp.file("stdout.txt"), stderr_path = tmp.file("stderr.txt");
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  ASSERT_EQ(::posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  // Wait for the first logged step: the handler is installed by then.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool started = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (file_exists(out + "/train.jsonl") && read_file(out + "/train.jsonl").find('\n') != std::string::npos) {
      started = true;
      break;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      FAIL() << "train exited early: " << read_file(tmp.file("stderr.txt"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!started) ::kill(pid, SIGKILL);
  ASSERT_TRUE(started) << "no training step logged within 120 s";
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string err = read_file(tmp.file("stderr.txt"));
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << "\n" << err;
  EXPECT_EQ(WEXITSTATUS(status), 130) << err;
  EXPECT_EQ(read_file(tmp.file("stdout.txt")), out + "/last\n");
  EXPECT_THAT(err, HasSubstr("--resume"));
  ASSERT_TRUE(file_exists(out + "/last/trainer_state.json"));
  EXPECT_TRUE(file_exists(out + "/last/optimizer.safetensors"));
  EXPECT_FALSE(file_exists(out + "/best/model.safetensors"));
  const int64_t stopped_at = json::parse(read_file(out + "/last/trainer_state.json"))["step"].get<int64_t>();
  EXPECT_GE(stopped_at, 1);

  // --resume finishes the run (two more steps).
  const RunResult r = run_tool({"train", "--config", config, "--out", out, "--resume", "--set",
                                "train.max_steps=" + std::to_string(stopped_at + 2), "--set", "data.val="});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, out + "/best/model.safetensors\n");
  EXPECT_EQ(json::parse(read_file(out + "/last/trainer_state.json"))["step"], stopped_at + 2);
  // Every step logged exactly once, in order, across the two runs.
  const auto lines = log_lines(out + "/train.jsonl", "train");
  ASSERT_EQ(lines.size(), static_cast<size_t>(stopped_at + 2));
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i]["step"], static_cast<int64_t>(i + 1));
}

TEST_F(CliTrain, MissingOutIsAUsageError) {
  const RunResult r = run_tool({"train", "--config", config});
  // A missing required flag is a usage error (exit 2), like every command's.
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_THAT(r.err, HasSubstr("--out"));
  EXPECT_EQ(count_lines(r.err), 1u) << r;
}

TEST_F(CliTrain, UnknownDatasetIsAOneLineError) {
  const std::string missing = tmp.file("nowhere/annotations.json");
  const RunResult r =
      run_tool({"train", "--config", config, "--out", tmp.file("run"), "--set", "data.train=" + missing});
  expect_one_error_line(r, "train");
  EXPECT_THAT(r.err, HasSubstr(missing));
  EXPECT_FALSE(file_exists(tmp.file("run/best")));
}

TEST_F(CliTrain, MissingInitConfigIsAOneLineError) {
  const RunResult r =
      run_tool({"train", "--config", config, "--out", tmp.file("run"), "--init", "hf:missing.json,x.safetensors"});
  expect_one_error_line(r, "train");
  EXPECT_THAT(r.err, HasSubstr("missing.json: not found"));
  EXPECT_FALSE(file_exists(tmp.file("run/best")));
  const RunResult bad = run_tool({"train", "--config", config, "--out", tmp.file("run2"), "--init", "hf:nocomma.json"});
  expect_one_error_line(bad, "train");
  EXPECT_THAT(bad.err, HasSubstr("expected hf:CONFIG.json,WEIGHTS.safetensors"));
  EXPECT_FALSE(file_exists(tmp.file("run2/best")));
}

TEST_F(CliTrain, EvalAndPredictErrors) {
  const RunResult e = run_tool({"eval", "--config", config, "--weights", config, "--data", tmp.file("nowhere.json")});
  expect_one_error_line(e, "eval");
  EXPECT_THAT(e.err, HasSubstr(tmp.file("nowhere.json")));
  const RunResult p = run_tool({"predict", "--config", config, "--weights", config, "--out", tmp.file("pred")});
  expect_one_error_line(p, "predict", 2);  // a usage error
  EXPECT_THAT(p.err, HasSubstr("exactly one of --rgb/--depth, --dir, --data or --bag"));
}
