// Concurrency: two `predict` processes writing into one output folder (the
// second is refused at once, the first's outputs stay whole; a killed holder
// does not block the folder), and `train --nproc 2` with one rank killed or
// hung (the survivor fails with one clear line, within the configured timeout,
// never hangs).
#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "apps/run_tool.h"
#include "rgbdseg/core/config.h"
#include "rgbdseg/core/file_util.h"
#include "temp_dir.h"
#include "test_paths.h"
#include "tiny_hf_config.h"
#include "tiny_training_config.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using rgbdseg::file_exists;
using rgbdseg::read_file;
using rgbdseg::testing::BackgroundTool;
using rgbdseg::testing::RunOptions;
using rgbdseg::testing::RunResult;
using rgbdseg::testing::run_tool;
using rgbdseg::testing::ScopedTempDir;
using ::testing::HasSubstr;


namespace {

using Clock = std::chrono::steady_clock;

bool wait_for(const std::function<bool()>& ready, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// The children of `parent` with RANK=`rank` in their environment.
pid_t child_with_rank(pid_t parent, int rank) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != parent) continue;
    std::ifstream env_file(e.path() / "environ", std::ios::binary);
    const std::string env((std::istreambuf_iterator<char>(env_file)), std::istreambuf_iterator<char>());
    const std::string entries = std::string(1, '\0') + env;  // every entry between NULs
    if (entries.find(std::string(1, '\0') + "RANK=" + std::to_string(rank) + std::string(1, '\0')) != std::string::npos) {
      return std::stoi(name);
    }
  }
  return -1;
}

class Concurrency : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new ScopedTempDir();
    // Enough images that one predict runs for a few seconds.
    const RunResult s = run_tool({"synth", "-q", "--out", tmp_->file("scenes"), "--num", "60", "--size", "96x128"});
    ASSERT_EQ(s.exit_code, 0) << s;
    tmp_->write("hf/tiny.json", rgbdseg::testing::kTinyHfConfig);
    rgbdseg::Config c = rgbdseg::testing::tiny_training_config("hf/tiny.json", "scenes/annotations.json", "full");
    c.runtime.log_level = "warn";
    c.train.max_steps = 100000;
    config_ = tmp_->write("train.json", rgbdseg::config_to_json(c).dump(2));
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }
  static std::vector<std::string> predict_args(const std::string& out) {
    return {"predict", "--model", std::string(RGBDSEG_SOURCE_DIR) + "/models/tabletop", "--data",
            tmp_->file("scenes/annotations.json"), "--out", out, "--set", "eval.batch_size=1"};
  }
  static ScopedTempDir* tmp_;
  static std::string config_;
};

ScopedTempDir* Concurrency::tmp_ = nullptr;
std::string Concurrency::config_;

class ConcurrencyTrain : public Concurrency {};

}  // namespace

TEST_F(Concurrency, TwoPredictsIntoOneFolder) {
  const std::string out = tmp_->file("shared_out");
  const std::string lock = out + "/" + rgbdseg::OutputDirGuard::kLockName;
  BackgroundTool first(predict_args(out), tmp_->file("first.err"));
  ASSERT_TRUE(wait_for([&] { return file_exists(lock); }, std::chrono::seconds(60))) << first.err();

  // The second, into the same folder while the first writes: refused at once, naming the first.
  const auto t0 = Clock::now();
  const RunResult second = run_tool(predict_args(out));
  EXPECT_EQ(second.exit_code, 1) << second;
  EXPECT_THAT(second.err, HasSubstr(out + ": another rgbdseg process (pid " + std::to_string(first.pid) +
                                    ") is writing into this folder"))
      << second;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 30.0);
  // Even with --force: two writers never share a folder.
  const RunResult forced = run_tool([&] {
    auto a = predict_args(out);
    a.push_back("--force");
    return a;
  }());
  EXPECT_EQ(forced.exit_code, 1) << forced;
  EXPECT_THAT(forced.err, HasSubstr("another rgbdseg process")) << forced;

  // The first finishes whole: every image in results and images.json, no lock left.
  const int status = first.wait(std::chrono::seconds(300));
  ASSERT_TRUE(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) << first.err();
  const json images = json::parse(read_file(out + "/images.json"));
  EXPECT_EQ(images["images"].size(), 60u);
  for (const auto& img : images["images"]) EXPECT_TRUE(file_exists(out + "/" + img["overlay"].get<std::string>()));
  EXPECT_TRUE(json::parse(read_file(out + "/results.json")).is_array());
  EXPECT_FALSE(file_exists(lock));

  // Afterwards the folder is the first's results: refused without --force.
  const RunResult after = run_tool(predict_args(out));
  EXPECT_EQ(after.exit_code, 1) << after;
  EXPECT_THAT(after.err, HasSubstr("output directory is not empty")) << after;
}

TEST_F(Concurrency, AKilledPredictDoesNotLockItsFolder) {
  const std::string out = tmp_->file("killed_out");
  const std::string lock = out + "/" + rgbdseg::OutputDirGuard::kLockName;
  {
    BackgroundTool first(predict_args(out), tmp_->file("killed.err"));
    // Killed part-way: after its first overlay.
    ASSERT_TRUE(wait_for([&] { return fs::is_directory(out + "/overlays") && !fs::is_empty(out + "/overlays"); },
                         std::chrono::seconds(60)))
        << first.err();
    ::kill(first.pid, SIGKILL);
    first.wait(std::chrono::seconds(30));
  }
  // SIGKILL ran no clean-up: its lock file and partial outputs are there, but the
  // kernel released the lock. Without --force the partial outputs are refused;
  // with --force the folder is taken over.
  EXPECT_TRUE(file_exists(lock));
  const RunResult again = run_tool(predict_args(out));
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_THAT(again.err, HasSubstr("output directory is not empty")) << again;
  auto forced_args = predict_args(out);
  forced_args.push_back("--force");
  const RunResult forced = run_tool(forced_args);
  EXPECT_EQ(forced.exit_code, 0) << forced;
  EXPECT_FALSE(file_exists(lock));
}

TEST_F(ConcurrencyTrain, NprocTwoWithARankKilledFailsAtOnceNamingIt) {
  const std::string out = tmp_->file("killed_rank");
  BackgroundTool train({"train", "--config", config_, "--out", out, "--nproc", "2"}, tmp_->file("train_killed.err"));
  ASSERT_TRUE(wait_for([&] { return file_exists(out + "/train.jsonl") && read_file(out + "/train.jsonl").size() > 0; },
                       std::chrono::seconds(120)))
      << train.err();
  const pid_t rank1 = child_with_rank(train.pid, 1);
  ASSERT_GT(rank1, 0) << "rank 1 not found among the launcher's children";
  const auto t0 = Clock::now();
  ::kill(rank1, SIGKILL);
  const int status = train.wait(std::chrono::seconds(60));
  ASSERT_GE(status, 0) << "the launcher hung after a rank was killed\n" << train.err();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 30.0);
  ASSERT_TRUE(WIFEXITED(status)) << train.err();
  EXPECT_EQ(WEXITSTATUS(status), 1) << train.err();
  const auto lines = rgbdseg::testing::lines_of(train.err());
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines.back(), HasSubstr("rgbdseg train: error: --nproc 2: rank 1 was killed by signal 9")) << train.err();
  EXPECT_THAT(lines.back(), HasSubstr("--resume")) << train.err();
}

TEST_F(ConcurrencyTrain, AHungRankFailsTheOthersWithinTheCollectiveTimeout) {
  // A rank that stops answering (SIGSTOP: alive, its connections open) is only
  // noticed by the timeout; RGBDSEG_DIST_COLLECTIVE_TIMEOUT sets it.
  const std::string out = tmp_->file("hung_rank");
  BackgroundTool train({"train", "--config", config_, "--out", out, "--nproc", "2"}, tmp_->file("train_hung.err"),
                   {"RGBDSEG_DIST_COLLECTIVE_TIMEOUT=5"});
  ASSERT_TRUE(wait_for([&] { return file_exists(out + "/train.jsonl") && read_file(out + "/train.jsonl").size() > 0; },
                       std::chrono::seconds(120)))
      << train.err();
  const pid_t rank1 = child_with_rank(train.pid, 1);
  ASSERT_GT(rank1, 0);
  const auto t0 = Clock::now();
  ::kill(rank1, SIGSTOP);
  const int status = train.wait(std::chrono::seconds(90));
  ASSERT_GE(status, 0) << "still running 90 s after a rank hung (timeout 5 s)\n" << train.err();
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_GE(took, 4.0) << "failed before the timeout";
  EXPECT_LT(took, 60.0);
  ASSERT_TRUE(WIFEXITED(status)) << train.err();
  EXPECT_NE(WEXITSTATUS(status), 0) << train.err();
  EXPECT_THAT(train.err(), HasSubstr("rgbdseg train: error: distributed: rank 0 of 2")) << train.err();
}
