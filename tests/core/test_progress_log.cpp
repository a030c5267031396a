// Progress lines, durations, log levels (core/progress, core/log) and atomic file writes (core/file_util).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <filesystem>
#include <string>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/progress.h"
#include "temp_dir.h"

using namespace rgbdseg;
using rgbdseg::testing::ScopedTempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

namespace {

// Restores the process-wide log level when a test ends.
struct LogLevelGuard {
  LogLevel saved = log_level();
  ~LogLevelGuard() { set_log_level(saved); }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no rgbdseg::Error thrown";
  return "";
}

bool has_temp_file(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (n.find(".tmp.") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST(ProgressDuration, MinutesSecondsAndHours) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(7), "0:07");
  EXPECT_EQ(format_duration(125), "2:05");
  EXPECT_EQ(format_duration(3599), "59:59");
  EXPECT_EQ(format_duration(3600), "1:00:00");
  EXPECT_EQ(format_duration(3723), "1:02:03");
}

TEST(ProgressDuration, RoundsToNearestSecond) {
  EXPECT_EQ(format_duration(6.6), "0:07");
  EXPECT_EQ(format_duration(59.6), "1:00");
  EXPECT_EQ(format_duration(7.4), "0:07");
}

TEST(ProgressDuration, UnknownForNegativeOrNotFinite) {
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(NAN), "?");
  EXPECT_EQ(format_duration(INFINITY), "?");
}

TEST(ProgressLine, KnownTotalShowsCountPercentRateAndEta) {
  // 45 of 100 in 9 s: 5.0 img/s, 55 left -> ETA 11 s.
  const std::string line = format_progress_line("eval", 45, 100, 9.0, "img");
  EXPECT_THAT(line, StartsWith("eval  "));
  EXPECT_THAT(line, HasSubstr("45/100"));
  EXPECT_THAT(line, HasSubstr("45%"));
  EXPECT_THAT(line, HasSubstr("5.0 img/s"));
  EXPECT_THAT(line, HasSubstr("ETA 0:11"));
  EXPECT_LT(line.find("45/100"), line.find("45%"));
  EXPECT_LT(line.find("45%"), line.find("img/s"));
}

TEST(ProgressLine, ResumedRunCountsRateFromWhereItStarted) {
  // Resumed at step 2000 of 2600; 2040 after 20 s: 2.0 steps/s, 560 left -> ETA 4:40
  // (counting from 0 would claim 102 steps/s and ETA 0:05).
  const std::string line = format_progress_line("train", 2040, 2600, 2000, 20.0, "steps");
  EXPECT_THAT(line, HasSubstr("2040/2600"));
  EXPECT_THAT(line, HasSubstr("2.0 steps/s"));
  EXPECT_THAT(line, HasSubstr("ETA 4:40"));
}

TEST(ProgressLine, KnownTotalWithoutElapsedTimeHasUnknownEta) {
  const std::string line = format_progress_line("load", 0, 10, 0.0, "files");
  EXPECT_THAT(line, HasSubstr("0/10"));
  EXPECT_THAT(line, HasSubstr("0%"));
  EXPECT_THAT(line, HasSubstr("0.0 files/s"));
  EXPECT_THAT(line, HasSubstr("ETA ?"));
}

TEST(ProgressLine, CompleteShowsHundredPercent) {
  const std::string line = format_progress_line("eval", 200, 200, 40.0, "img");
  EXPECT_THAT(line, HasSubstr("200/200"));
  EXPECT_THAT(line, HasSubstr("100%"));
  EXPECT_THAT(line, HasSubstr("5.0 img/s"));
  EXPECT_THAT(line, HasSubstr("ETA 0:00"));
}

TEST(ProgressLine, UnknownTotalShowsCountRateAndElapsed) {
  // 30 in 12 s: 2.5 scenes/s.
  const std::string line = format_progress_line("synth", 30, 0, 12.0, "scenes");
  EXPECT_THAT(line, StartsWith("synth  30"));
  EXPECT_THAT(line, HasSubstr("2.5 scenes/s"));
  EXPECT_THAT(line, HasSubstr("elapsed 0:12"));
  EXPECT_THAT(line, Not(HasSubstr("%")));
  EXPECT_THAT(line, Not(HasSubstr("/0")));
  EXPECT_THAT(line, Not(HasSubstr("ETA")));
}

// Off a terminal (stderr captured to a file) the bar prints plain log lines.
TEST(ProgressBarPlain, PrintsLogLinesWhenStderrIsNotATerminal) {
  LogLevelGuard guard;
  set_log_level(LogLevel::Info);
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("load", 4, "files", /*interval_s=*/0.0);
    bar.update(2);
    bar.finish();
    bar.update(3);  // after finish: nothing more
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("rgbdseg: load  2/4"));
  EXPECT_THAT(err, HasSubstr("50%"));
  EXPECT_THAT(err, HasSubstr("rgbdseg: load  2 files in "));
  EXPECT_THAT(err, Not(HasSubstr("\r")));     // no in-place redraws
  EXPECT_THAT(err, Not(HasSubstr("\033[")));  // no escape codes
  EXPECT_THAT(err, Not(HasSubstr("3/4")));    // update after finish() draws nothing
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 2) << err;
}

TEST(ProgressBarPlain, CallbackTakesTheTotalFromTheLibrary) {
  LogLevelGuard guard;
  set_log_level(LogLevel::Info);
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("scan", 0, "it", 0.0);
    ProgressCallback cb = bar.callback();
    EXPECT_TRUE(cb(3, 12));
  }  // destructor prints the final line
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("3/12"));
  EXPECT_THAT(err, HasSubstr("25%"));
  EXPECT_THAT(err, HasSubstr("scan  3 it in "));
}

TEST(ProgressBarPlain, RateStartsAtTheFirstUpdateNotAtZero) {
  // A run resumed at 100 of 400 that has done nothing yet has no rate, not 100 it/(a few microseconds).
  LogLevelGuard guard;
  set_log_level(LogLevel::Info);
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("train", 400, "steps", 0.0);
    bar.update(100);
    bar.update(100);
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("100/400"));
  EXPECT_THAT(err, HasSubstr("0.0 steps/s"));
  EXPECT_THAT(err, HasSubstr("ETA ?"));
}

TEST(ProgressBarPlain, SilentBelowInfo) {
  LogLevelGuard guard;
  set_log_level(LogLevel::Warn);
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("quiet", 4, "it", 0.0);
    bar.update(4);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(Log, ParseLogLevelValid) {
  EXPECT_EQ(parse_log_level("error"), LogLevel::Error);
  EXPECT_EQ(parse_log_level("warn"), LogLevel::Warn);
  EXPECT_EQ(parse_log_level("info"), LogLevel::Info);
  EXPECT_EQ(parse_log_level("debug"), LogLevel::Debug);
}

TEST(Log, ParseLogLevelInvalidListsValidNames) {
  const std::string msg = error_of([] { parse_log_level("verbose"); });
  EXPECT_THAT(msg, HasSubstr("expected one of error, warn, info, debug"));
  EXPECT_THAT(msg, HasSubstr("got \"verbose\""));
  EXPECT_THAT(error_of([] { parse_log_level("INFO"); }), HasSubstr("\"INFO\""));  // case matters
}

TEST(Log, LogLinePrefixesAndLevelMacro) {
  LogLevelGuard guard;
  set_log_level(LogLevel::Info);
  int evaluated = 0;
  auto count = [&] { return ++evaluated; };
  ::testing::internal::CaptureStderr();
  log_line(LogLevel::Warn, "weights: odd");
  log_line(LogLevel::Error, "weights: bad");
  RGBDSEG_LOG(Info) << "eval: " << count();
  RGBDSEG_LOG(Debug) << "never " << count();  // off: not evaluated
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "rgbdseg: warning: weights: odd\nrgbdseg: error: weights: bad\nrgbdseg: eval: 1\n");
  EXPECT_EQ(evaluated, 1);
}

TEST(FileUtil, WriteFileAtomicWritesContent) {
  ScopedTempDir dir;
  const std::string path = dir.file("out.json");
  const std::string bytes = std::string("{\"a\": 1}\n") + '\0' + "tail";  // binary-safe
  write_file_atomic(path, bytes);
  EXPECT_EQ(read_file(path), bytes);
  EXPECT_EQ(dir.list(), (std::vector<std::string>{"out.json"}));
}

TEST(FileUtil, WriteFileAtomicOverwritesAndLeavesNoTempFile) {
  ScopedTempDir dir;
  const std::string path = dir.file("out.txt");
  write_file_atomic(path, "a much longer first version of the file\n");
  write_file_atomic(path, "short\n");
  EXPECT_EQ(read_file(path), "short\n");  // replaced, not patched in place
  const auto names = dir.list();
  EXPECT_EQ(names, (std::vector<std::string>{"out.txt"}));
  EXPECT_FALSE(has_temp_file(names));
}

TEST(FileUtil, WriteFileAtomicEmptyContent) {
  ScopedTempDir dir;
  const std::string path = dir.file("empty");
  write_file_atomic(path, "");
  EXPECT_TRUE(file_exists(path));
  EXPECT_EQ(read_file(path), "");
}

TEST(FileUtil, WriteFileAtomicMissingDirectoryFailsNamingPathAndLeavesNothing) {
  ScopedTempDir dir;
  const std::string path = dir.file("no_such_dir/out.json");
  const std::string msg = error_of([&] { write_file_atomic(path, "x"); });
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("cannot open for writing"));
  EXPECT_FALSE(file_exists(dir.file("no_such_dir")));
  EXPECT_TRUE(dir.list().empty());
}

// rename() onto a directory fails after the bytes were written: the temporary must go.
TEST(FileUtil, WriteFileAtomicFailedRenameRemovesTempFile) {
  ScopedTempDir dir;
  std::filesystem::create_directory(dir.file("target"));
  const std::string msg = error_of([&] { write_file_atomic(dir.file("target"), "x"); });
  EXPECT_THAT(msg, HasSubstr(dir.file("target")));
  EXPECT_EQ(dir.list(), (std::vector<std::string>{"target"}));
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("target")));
}

TEST(FileUtil, ReadFileMissingNamesPath) {
  ScopedTempDir dir;
  const std::string path = dir.file("missing.txt");
  const std::string msg = error_of([&] { read_file(path); });
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("cannot open for reading"));
}

TEST(FileUtil, OutputFolderLockRefusesASecondWriterNamingThePid) {
  ScopedTempDir tmp;
  const std::string dir = tmp.file("out");
  {
    OutputDirGuard first(dir);
    const std::string lock = dir + "/" + OutputDirGuard::kLockName;
    ASSERT_TRUE(file_exists(lock));
    EXPECT_EQ(read_file(lock), std::to_string(::getpid()) + "\n");
    // flock is per open file: a second guard, even in this process, is another writer.
    try {
      OutputDirGuard second(dir);
      FAIL() << "a second guard on a locked folder";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(dir + ": another rgbdseg process (pid " + std::to_string(::getpid()) + ")"));
    }
    // The holder's own re-check under its lock passes; the lock file is not output.
    EXPECT_NO_THROW(require_empty_output_dir(dir, false));
    tmp.write("out/result.txt", "x");
    first.commit();
  }
  EXPECT_FALSE(file_exists(dir + "/" + OutputDirGuard::kLockName)) << "the lock file outlived its guard";
  EXPECT_TRUE(file_exists(dir + "/result.txt"));
}

TEST(FileUtil, AStaleLockFileIsNotOutputAndDoesNotLock) {
  // What a SIGKILLed writer leaves: the file, without its lock.
  ScopedTempDir tmp;
  const std::string dir = tmp.file("out");
  tmp.write(std::string("out/") + OutputDirGuard::kLockName, "999999\n");
  EXPECT_NO_THROW(require_empty_output_dir(dir, false));
  OutputDirGuard guard(dir);
  EXPECT_EQ(read_file(dir + "/" + OutputDirGuard::kLockName), std::to_string(::getpid()) + "\n");
}

TEST(FileUtil, RequireWritableOutputFileProbesAndLeavesNothing) {
  ScopedTempDir tmp;
  EXPECT_NO_THROW(require_writable_output_file(tmp.file("result.json")));
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
  const std::string file = tmp.write("a_file", "x");
  try {
    require_writable_output_file(file + "/result.json");
    FAIL() << "a path under a file";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), StartsWith(file + "/result.json: cannot write here ("));
  }
}
