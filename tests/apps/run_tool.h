#pragma once
// Runs the built rgbdseg binary as a user would (no shell, stdin from
// /dev/null), optionally with extra environment and a file-size limit, and
// collects stdout and stderr separately; shared by the CLI tests.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <ostream>
#include <string>
#include <vector>

#include "test_paths.h"

extern char** environ;

namespace rgbdseg::testing {

struct RunResult {
  int exit_code = -1;  // -1: did not exit normally
  int signal = 0;      // the signal that ended it, if one did
  std::string out, err;
};

inline std::ostream& operator<<(std::ostream& os, const RunResult& r) {
  return os << "exit " << r.exit_code << (r.signal ? " (signal " + std::to_string(r.signal) + ")" : std::string())
            << "\n--- stdout ---\n" << r.out << "--- stderr ---\n" << r.err;
}

struct RunOptions {
  std::string cwd;                       // "" = ours
  std::vector<std::string> env;          // extra "NAME=value" entries
  long long file_size_limit = -1;        // RLIMIT_FSIZE in bytes (SIGXFSZ ignored: writes fail with EFBIG, like a full disk)
};

// Runs the rgbdseg binary with `args` in `cwd` ("" = ours).
inline RunResult run_tool(const std::vector<std::string>& args, const RunOptions& options);
inline RunResult run_tool(const std::vector<std::string>& args, const std::string& cwd = "") {
  RunOptions o;
  o.cwd = cwd;
  return run_tool(args, o);
}

inline RunResult run_tool(const std::vector<std::string>& args, const RunOptions& options) {
  RunResult r;
  const std::string binary = rgbdseg::testing::rgbdseg_binary();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return r;
  }
  // fork + exec (not posix_spawn): the child sets its file-size limit first.
  // Between the two it calls only async-signal-safe functions.
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    if (in < 0 || ::dup2(in, STDIN_FILENO) < 0 || ::dup2(out_pipe[1], STDOUT_FILENO) < 0 ||
        ::dup2(err_pipe[1], STDERR_FILENO) < 0) {
      ::_exit(127);
    }
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) ::_exit(127);
    if (options.file_size_limit >= 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // ignored stays ignored across exec
      const rlimit limit{static_cast<rlim_t>(options.file_size_limit), static_cast<rlim_t>(options.file_size_limit)};
      if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(127);
    }
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ADD_FAILURE() << "cannot run " << binary << ": " << std::strerror(errno);
    return r;
  }
  // Drain both pipes together, so a full one cannot block the child.
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
  r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return r;
}

// The rgbdseg binary started in the background (its own process group, stdin
// and stdout /dev/null, stderr into `err`), for tests that signal it while it runs.
struct BackgroundTool {
  pid_t pid = -1;
  std::string err_path;

  BackgroundTool(const std::vector<std::string>& args, const std::string& err, const std::vector<std::string>& env = {})
      : err_path(err) {
    const std::string binary = rgbdseg::testing::rgbdseg_binary();
    std::vector<std::string> all = {binary};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e) envp.push_back(*e);
    std::vector<std::string> extra = env;
    for (auto& e : extra) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);  // its own group: the test can stop it and its children together
      const int null = ::open("/dev/null", O_RDWR);
      const int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::execve(binary.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
  }
  // Waits at most `limit`; -1 (and the process group killed) on timeout, else the wait status.
  int wait(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        pid = -1;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    pid = -1;
    return -1;
  }
  ~BackgroundTool() {
    if (pid > 0) {
      ::kill(-pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }
  std::string err() const {
    std::ifstream in(err_path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

inline size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < s.size()) {
    const size_t nl = s.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(s.substr(start));
      break;
    }
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// An error: exit `code`, nothing on stdout, exactly one line on stderr "rgbdseg <command>: error: ...".
inline void expect_one_error_line(const RunResult& r, const std::string& command, int code = 1) {
  EXPECT_EQ(r.exit_code, code) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_THAT(r.err, ::testing::StartsWith("rgbdseg " + command + ": error: ")) << r;
  EXPECT_EQ(count_lines(r.err), 1u) << r;
  EXPECT_EQ(r.err.back(), '\n') << r;
}

}  // namespace rgbdseg::testing
