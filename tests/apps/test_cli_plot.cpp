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

extern char** environ;

using rgbdseg::file_exists;
using rgbdseg::testing::ScopedTempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

struct RunResult {
  int exit_code = -1;  // -1: did not exit normally
  std::string out, err;
};

std::ostream& operator<<(std::ostream& os, const RunResult& r) {
  return os << "exit " << r.exit_code << "\n--- stdout ---\n" << r.out << "--- stderr ---\n" << r.err;
}

// Runs the rgbdseg binary with `args` (no shell), stdin from /dev/null; stdout
// and stderr collected separately (a trimmed copy of tests/apps/test_cli.cpp's
// helper).
RunResult run_tool(const std::vector<std::string>& args) {
  RunResult r;
  const std::string binary = rgbdseg::testing::rgbdseg_binary();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ADD_FAILURE() << "cannot run " << binary << ": " << std::strerror(rc);
    return r;
  }
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "poll: " << std::strerror(errno);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// An error: exit 1, nothing on stdout, exactly one line on stderr "rgbdseg
// plot: error: ...".
void expect_one_error_line(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_THAT(r.err, StartsWith("rgbdseg plot: error: ")) << r;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r;
}

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
  const RunResult r = run_tool({"plot", "--log", log, "--out", out, "--size", "800x500", "--smoothing", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const cv::Mat img = cv::imread(out, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 800);
  EXPECT_EQ(img.rows, 500);
}

TEST(CliPlot, HelpListsFlagsAndTopLevelHelpListsPlot) {
  const RunResult help = run_tool({"plot", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help;
  for (const char* flag : {"--log", "--out", "--size", "--smoothing", "1200x900", "0.9"}) {
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
  const RunResult size = run_tool({"plot", "--log", log, "--out", out, "--size", "big"});
  expect_one_error_line(size);
  EXPECT_THAT(size.err, HasSubstr("--size"));
  const RunResult smoothing = run_tool({"plot", "--log", log, "--out", out, "--smoothing", "1.5"});
  expect_one_error_line(smoothing);
  EXPECT_THAT(smoothing.err, HasSubstr("--smoothing"));
  const RunResult jpeg = run_tool({"plot", "--log", log, "--out", dir.file("curves.jpg")});
  expect_one_error_line(jpeg);
  EXPECT_THAT(jpeg.err, HasSubstr("--out"));
  EXPECT_FALSE(file_exists(out));
}
