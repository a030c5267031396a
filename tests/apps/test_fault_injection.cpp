// Fault injection in training: `rgbdseg train` is killed with SIGKILL (no
// handler runs) at each step of writing a checkpoint (RGBDSEG_FAULT_POINT, see
// core/fault_injection.h) and at random moments; after every kill the last
// checkpoint is complete and readable (under last/, or last.old/ when the kill
// fell between the two renames of the swap), and `--resume` finishes the run
// with weights bit-identical to an uninterrupted run's, every step logged once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "apps/run_tool.h"
#include "rgbdseg/core/config.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/safetensors.h"
#include "temp_dir.h"
#include "test_paths.h"
#include "tiny_hf_config.h"
#include "tiny_training_config.h"
#include "training_log_lines.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using rgbdseg::file_exists;
using rgbdseg::read_file;
using rgbdseg::testing::log_lines;
using rgbdseg::testing::BackgroundTool;
using rgbdseg::testing::RunOptions;
using rgbdseg::testing::RunResult;
using rgbdseg::testing::run_tool;
using rgbdseg::testing::ScopedTempDir;

namespace {


// A readable checkpoint: every file parses (best/ holds no optimizer state). Returns "" or what is wrong.
std::string checkpoint_problem(const std::string& dir, bool with_optimizer) {
  try {
    const json state = json::parse(read_file(dir + "/trainer_state.json"));
    if (!state.at("step").is_number_integer()) return dir + ": step is not an integer";
    rgbdseg::read_safetensors(dir + "/model.safetensors");
    if (with_optimizer) rgbdseg::read_safetensors(dir + "/optimizer.safetensors");
    for (const char* name : {"/config.json", "/hf_config.json"}) {
      if (!json::parse(read_file(dir + name)).is_object()) return dir + name + ": not a JSON object";
    }
  } catch (const std::exception& e) {
    return dir + ": " + e.what();
  }
  return "";
}

// The step of the run's last complete checkpoint, wherever the kill left it; -1 when there is none.
int64_t checkpoint_step(const std::string& run) {
  for (const std::string& dir : {run + "/last", run + "/last.old"}) {
    if (file_exists(dir + "/trainer_state.json") && checkpoint_problem(dir, true).empty()) {
      return json::parse(read_file(dir + "/trainer_state.json"))["step"].get<int64_t>();
    }
  }
  return -1;
}

// What `train --resume` (at log level info) says it continues from.
std::string resume_line(int64_t step) {
  return step < 0 ? std::string("no checkpoint in") : "at step " + std::to_string(step) + "\n";
}

class FaultInjection : public ::testing::Test {
 protected:
  // Each suite sets up its own run length (SetUpTestSuite below).
  static void set_up(int steps) {
    steps_ = steps;
    tmp_ = new ScopedTempDir();
    tmp_->write("hf/tiny.json", rgbdseg::testing::kTinyHfConfig);
    for (const auto& [name, num, seed] : {std::tuple<const char*, const char*, const char*>{"scenes", "4", "3"},
                                          {"val", "2", "4"}}) {
      const RunResult s = run_tool({"synth", "-q", "--out", tmp_->file(name), "--num", num, "--size", "48x64", "--seed", seed});
      ASSERT_EQ(s.exit_code, 0) << s;
    }
    rgbdseg::Config c = rgbdseg::testing::tiny_training_config("hf/tiny.json", "scenes/annotations.json", "full");
    c.runtime.log_level = "warn";
    c.data.val = "val/annotations.json";
    c.train.max_steps = steps;
    c.train.checkpoint_every = 1;  // a checkpoint (with its swap) at every step
    c.train.eval_every = 2;        // and best/ saved by evaluation
    config_ = tmp_->write("train.json", rgbdseg::config_to_json(c).dump(2));
    // The uninterrupted run every interrupted one must match (and how long it takes).
    const auto t0 = std::chrono::steady_clock::now();
    const RunResult r = run_tool({"train", "--config", config_, "--out", tmp_->file("reference")});
    reference_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(r.exit_code, 0) << r;
    reference_weights_ = read_file(tmp_->file("reference/last/model.safetensors"));
    reference_best_ = read_file(tmp_->file("reference/best/model.safetensors"));
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }

  // After a kill: the run's last checkpoint, wherever the kill left it, is whole.
  static void expect_checkpoints_whole(const std::string& run) {
    for (const std::string& name : {std::string("last"), std::string("best")}) {
      const std::string dir = run + "/" + name, old = dir + ".old";
      if (fs::exists(dir)) {
        EXPECT_EQ(checkpoint_problem(dir, name == "last"), "") << "a half-written checkpoint under its final name";
      } else if (fs::exists(old)) {
        EXPECT_EQ(checkpoint_problem(old, name == "last"), "") << "the previous checkpoint, set aside for the swap, is damaged";
      }
    }
  }

  // Resumes until the run completes, checking that it continued from the last
  // complete checkpoint (not from scratch), then compares it with the reference.
  static void finish_and_compare(const std::string& run) {
    const int64_t from = checkpoint_step(run);
    const RunResult r = run_tool({"train", "--config", config_, "--out", run, "--resume", "--set", "runtime.log_level=info"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.err, ::testing::HasSubstr(resume_line(from))) << "did not continue from the last complete checkpoint";
    EXPECT_EQ(json::parse(read_file(run + "/last/trainer_state.json"))["step"], steps_);
    EXPECT_TRUE(read_file(run + "/last/model.safetensors") == reference_weights_)
        << "the resumed run's weights differ from the uninterrupted run's";
    EXPECT_TRUE(read_file(run + "/best/model.safetensors") == reference_best_);
    const auto lines = log_lines(run + "/train.jsonl", "train");
    ASSERT_EQ(lines.size(), static_cast<size_t>(steps_));
    for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i]["step"], static_cast<int64_t>(i + 1));
    EXPECT_FALSE(fs::exists(run + "/last.old"));
    EXPECT_FALSE(fs::exists(run + "/last.tmp"));
  }

  static ScopedTempDir* tmp_;
  static std::string config_, reference_weights_, reference_best_;
  static int steps_;
  static double reference_ms_;
};

ScopedTempDir* FaultInjection::tmp_ = nullptr;
std::string FaultInjection::config_, FaultInjection::reference_weights_, FaultInjection::reference_best_;
int FaultInjection::steps_ = 0;
double FaultInjection::reference_ms_ = 0;

// Two suites, so CTest runs them side by side.
class FaultInjectionPoints : public FaultInjection {
 public:
  static void SetUpTestSuite() { set_up(4); }
};
// Longer runs, so that most random kills land part-way through one.
class FaultInjectionRandom : public FaultInjection {
 public:
  static void SetUpTestSuite() { set_up(16); }
};

}  // namespace

TEST_F(FaultInjectionPoints, KilledAtEachPointOfACheckpointWriteResumesExactly) {
  // Files are written (write_file_atomic) in this order: config.json, then per
  // checkpoint model, optimizer, trainer state, config, HF config; checkpoints
  // are last/ after every step and best/ after each evaluation (every 2 steps).
  const std::vector<std::string> points = {
      "atomic_write:partial:3",        // a checkpoint's tensors half written
      "atomic_write:before_rename:9",  // a later checkpoint's file complete under its temporary name
      "checkpoint:written:2",          // a checkpoint complete in DIR.tmp, not swapped in
      "checkpoint:old_moved:1",        // step 1's last/ set aside, step 2's not yet in place
      "checkpoint:old_moved:3",        // step 3's last/ aside, the final one not yet in place
      "checkpoint:swapped:2",          // the new one in place, the old one not yet removed
  };
  for (const auto& point : points) {
    SCOPED_TRACE(point);
    const std::string run = tmp_->file("point_" + std::to_string(&point - points.data()));
    RunOptions o;
    o.env = {"RGBDSEG_FAULT_POINT=" + point};
    const RunResult killed = run_tool({"train", "--config", config_, "--out", run}, o);
    ASSERT_EQ(killed.signal, SIGKILL) << "the fault point was never reached\n" << killed;
    expect_checkpoints_whole(run);
    finish_and_compare(run);
  }
}

TEST_F(FaultInjectionRandom, KillNineAtRandomMomentsOverShortRunsResumesExactly) {
  // Bounded: at most kKills kills, then a run to the end. Kill times spread
  // over most of an uninterrupted run's length (start-up included).
  constexpr int kKills = 12;
  const double run_ms = reference_ms_;

  const std::string run = tmp_->file("random");
  std::mt19937 rng(20261206);
  std::uniform_real_distribution<double> when(0.05 * run_ms, 0.7 * run_ms);
  int kills = 0, resumes_seen = 0;
  for (int attempt = 0; attempt < kKills; ++attempt) {
    std::vector<std::string> args = {"train", "--config", config_, "--out", run, "--set", "runtime.log_level=info"};
    if (attempt > 0) args.push_back("--resume");
    const int64_t from = checkpoint_step(run);
    BackgroundTool train(args, tmp_->file("random_stderr_" + std::to_string(attempt) + ".txt"));
    ASSERT_GT(train.pid, 0);
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(when(rng)));
    ::kill(train.pid, SIGKILL);
    const int status = train.wait(std::chrono::seconds(60));
    ASSERT_GE(status, 0);
    // Where it got far enough to say so: it continued from the last complete checkpoint.
    const std::string said = train.err();
    if (attempt > 0 && said.find("train: ") != std::string::npos && said.find("resum") != std::string::npos) {
      EXPECT_THAT(said, ::testing::HasSubstr(resume_line(from))) << "attempt " << attempt;
      ++resumes_seen;
    }
    if (WIFSIGNALED(status)) ++kills;
    else ASSERT_EQ(WEXITSTATUS(status), 0) << "train failed before it was killed (attempt " << attempt << ")\n" << said;
    expect_checkpoints_whole(run);
    if (WIFEXITED(status)) break;  // it finished before the kill
  }
  // Each resumed run has fewer steps left, so late attempts may finish first; a third must be kills.
  EXPECT_GE(kills, kKills / 3) << "too few runs were killed part-way";
  EXPECT_GE(resumes_seen, 1) << "no killed run got as far as resuming";
  finish_and_compare(run);
}
