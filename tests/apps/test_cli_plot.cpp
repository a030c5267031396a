// `rgbdseg plot` end to end: runs the built binary, checks exit codes, stdout,
// one-line errors on stderr and the PNG it writes (or does not write).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "rgbdseg/core/file_util.h"
#include "temp_dir.h"
#include "test_paths.h"
#include "apps/run_tool.h"

extern char** environ;

using rgbdseg::file_exists;
using rgbdseg::testing::ScopedTempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using rgbdseg::testing::RunResult;
using rgbdseg::testing::run_tool;

namespace {

// An error: exit 1, nothing on stdout, one line "rgbdseg plot: error: ...".
void expect_one_error_line(const RunResult& r, int code = 1) { rgbdseg::testing::expect_one_error_line(r, "plot", code); }

// 50 train steps with a falling loss, a skipped step and two evaluations.
std::string sample_log() {
  std::string text = R"({"type":"meta","note":"ignored"})"
                     "\n";
  for (int i = 0; i < 50; ++i) {
    text += R"({"type":"train","step":)" + std::to_string(i * 20) + R"(,"epoch":)" + std::to_string(i / 25) +
            R"(,"lr":)" + std::to_string(1e-4 * (1 - i / 50.0)) + R"(,"loss":)" + std::to_string(3.0 / (1 + i)) +
            R"(,"losses":{"mask":0.5},"grad_norm":1.5,"images_per_s":8.0,"time_s":)" + std::to_string(i) + "}\n";
    if (i == 30)
      text += R"({"type":"skip","step":610})"
              "\n";
  }
  text += R"({"type":"eval","step":500,"epoch":1,"AP":20.5,"AP50":40.0,"AP75":18.0,"APs":3.0})"
          "\n";
  text += R"({"type":"eval","step":980,"epoch":2,"AP":28.5,"AP50":49.0,"AP75":27.0})"
          "\n";
  return text;
}

}  // namespace

TEST(CliPlot, WritesThePngAndPrintsItsPath) {
  ScopedTempDir dir;
  const std::string log = dir.write("train.jsonl", sample_log());
  const std::string out = dir.file("curves.png");
  const RunResult r = run_tool({"plot", "--log", log, "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, out + "\n");
  const cv::Mat img = cv::imread(out, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 1200);
  EXPECT_EQ(img.rows, 900);
  EXPECT_EQ(img.channels(), 3);
  EXPECT_EQ(dir.list(), (std::vector<std::string>{"curves.png", "train.jsonl"}));  // no temporary left
}

TEST(CliPlot, SizeAndSmoothingOptions) {
  ScopedTempDir dir;
  const std::string log = dir.write("train.jsonl", sample_log());
  const std::string out = dir.file("small.png");
  const RunResult r = run_tool({"plot", "--log", log, "--out", out, "--size", "500x800", "--smoothing", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const cv::Mat img = cv::imread(out, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 800);
  EXPECT_EQ(img.rows, 500);
}

TEST(CliPlot, HelpListsFlagsAndTopLevelHelpListsPlot) {
  const RunResult help = run_tool({"plot", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help;
  for (const char* flag : {"--log", "--out", "--size", "--smoothing", "900x1200", "0.9"}) {
    EXPECT_THAT(help.out, HasSubstr(flag));
  }
  const RunResult top = run_tool({"--help"});
  EXPECT_EQ(top.exit_code, 0) << top;
  EXPECT_THAT(top.out, HasSubstr("plot"));
}

TEST(CliPlot, MissingLogIsOneLineErrorAndWritesNothing) {
  ScopedTempDir dir;
  const std::string out = dir.file("curves.png");
  const RunResult r = run_tool({"plot", "--log", dir.file("nope.jsonl"), "--out", out});
  expect_one_error_line(r);
  EXPECT_THAT(r.err, HasSubstr("nope.jsonl"));
  EXPECT_FALSE(file_exists(out));
  EXPECT_TRUE(dir.list().empty());
}

TEST(CliPlot, NonJsonLineNamesFileAndLineAndWritesNothing) {
  ScopedTempDir dir;
  const std::string log = dir.write("train.jsonl",
                                    "{\"type\":\"train\",\"step\":1,\"loss\":1.0,\"lr\":0.1}\n"
                                    "{\"type\":\"train\",\"step\":2,\"loss\":0.9,\"lr\":0.1}\n"
                                    "loss=0.8 step=3\n"
                                    "{\"type\":\"train\",\"step\":4,\"loss\":0.7,\"lr\":0.1}\n");
  const std::string out = dir.file("curves.png");
  const RunResult r = run_tool({"plot", "--log", log, "--out", out});
  expect_one_error_line(r);
  EXPECT_THAT(r.err, HasSubstr("train.jsonl:3: not JSON"));
  EXPECT_FALSE(file_exists(out));
}

TEST(CliPlot, NoTrainRecordsIsAnErrorAndWritesNothing) {
  ScopedTempDir dir;
  const std::string log = dir.write("train.jsonl", R"({"type":"eval","step":10,"AP":1.0,"AP50":2.0,"AP75":0.5})"
                                                   "\n");
  const std::string out = dir.file("curves.png");
  const RunResult r = run_tool({"plot", "--log", log, "--out", out});
  expect_one_error_line(r);
  EXPECT_THAT(r.err, HasSubstr("no train records"));
  EXPECT_FALSE(file_exists(out));
  // An empty file too.
  const std::string empty = dir.write("empty.jsonl", "");
  const RunResult e = run_tool({"plot", "--log", empty, "--out", out});
  expect_one_error_line(e);
  EXPECT_FALSE(file_exists(out));
}

TEST(CliPlot, BadSizeSmoothingAndOutNameAreOneLineErrors) {
  ScopedTempDir dir;
  const std::string log = dir.write("train.jsonl", sample_log());
  const std::string out = dir.file("curves.png");
  // Usage errors: exit 2, like the parser's own.
  const RunResult size = run_tool({"plot", "--log", log, "--out", out, "--size", "big"});
  expect_one_error_line(size, 2);
  EXPECT_THAT(size.err, HasSubstr("--size"));
  EXPECT_THAT(size.err, HasSubstr("HxW"));
  const RunResult smoothing = run_tool({"plot", "--log", log, "--out", out, "--smoothing", "1.5"});
  expect_one_error_line(smoothing, 2);
  EXPECT_THAT(smoothing.err, HasSubstr("--smoothing"));
  const RunResult jpeg = run_tool({"plot", "--log", log, "--out", dir.file("curves.jpg")});
  expect_one_error_line(jpeg, 2);
  EXPECT_THAT(jpeg.err, HasSubstr("--out"));
  EXPECT_FALSE(file_exists(out));
}
