// The --nproc launcher (see launcher.h): POSIX processes, no LibTorch.
#include "rgbdseg/train/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/log.h"

extern char** environ;

namespace rgbdseg::train {

namespace {


// The children, for the signal handler (forwards SIGINT/SIGTERM so they checkpoint).
constexpr int kMaxProcs = 1024;
pid_t g_children[kMaxProcs];
volatile sig_atomic_t g_num_children = 0;

extern "C" void forward_signal(int sig) {
  for (int i = 0; i < g_num_children; ++i) {
    if (g_children[i] > 0) ::kill(g_children[i], sig);
  }
}

std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  if (args.empty()) throw Error("--nproc: cannot read this process's command line from /proc/self/cmdline");
  return args;
}

// The arguments without `--nproc N` and `--threads N` (the children get their own --threads).
std::vector<std::string> child_arguments(const std::vector<std::string>& args, int threads) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i > 0 && (a == "--nproc" || a == "--threads")) {
      ++i;  // and its value
      continue;
    }
    if (i > 0 && (a.rfind("--nproc=", 0) == 0 || a.rfind("--threads=", 0) == 0)) continue;
    out.push_back(a);
  }
  out.push_back("--threads");
  out.push_back(std::to_string(threads));
  return out;
}

// A TCP port on loopback that nothing listens on right now.
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(std::string("--nproc: cannot create a socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int e = errno;
    ::close(fd);
    throw Error(std::string("--nproc: cannot find a free port on 127.0.0.1: ") + std::strerror(e));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Starts nproc copies of this command as ranks 0..nproc-1 on loopback, waits
// for all of them, and returns the first failure's exit status (0 if none).
// A failure other than an interruption (130) kills the others: they could
// only wait for the missing rank.
}  // namespace

int threads_per_process(int nproc, int threads) {
  const int total = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, total / std::max(1, nproc));
}

int launch_local_workers(int nproc, int threads) {
  std::vector<std::string> own = own_command_line();
  own.erase(own.begin());  // the program name: the children run /proc/self/exe
  return launch_local_workers(nproc, threads, own);
}

int launch_local_workers(int nproc, int threads, const std::vector<std::string>& arguments) {
  if (nproc > kMaxProcs) throw UsageError("--nproc " + std::to_string(nproc) + ": at most " + std::to_string(kMaxProcs));
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) throw Error(std::string("--nproc: cannot resolve /proc/self/exe: ") + std::strerror(errno));
  exe[n] = '\0';
  std::vector<std::string> command{exe};
  command.insert(command.end(), arguments.begin(), arguments.end());
  const int per_process = threads_per_process(nproc, threads);
  const std::vector<std::string> args = child_arguments(command, per_process);
  const int port = free_loopback_port();
  RGBDSEG_LOG(Info) << "train: starting " << nproc << " processes (rendezvous 127.0.0.1:" << port << ", "
                    << per_process << " threads each)";

  std::vector<std::string> base_env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (key == "RANK" || key == "WORLD_SIZE" || key == "LOCAL_RANK" || key == "LOCAL_WORLD_SIZE" ||
        key == "MASTER_ADDR" || key == "MASTER_PORT") {
      continue;
    }
    base_env.push_back(kv);
  }

  struct sigaction forward {}, old_int {}, old_term {};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  forward.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &forward, &old_int);
  ::sigaction(SIGTERM, &forward, &old_term);
  auto restore_signals = [&] {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
  };

  std::vector<pid_t> pids;
  auto kill_all = [&](int sig) {
    for (pid_t p : pids) {
      if (p > 0) ::kill(p, sig);
    }
  };
  for (int rank = 0; rank < nproc; ++rank) {
    std::vector<std::string> env = base_env;
    env.push_back("RANK=" + std::to_string(rank));
    env.push_back("LOCAL_RANK=" + std::to_string(rank));
    env.push_back("WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back("MASTER_PORT=" + std::to_string(port));
    std::vector<char*> argv, envp;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& kv : env) envp.push_back(const_cast<char*>(kv.c_str()));
    envp.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, exe, nullptr, nullptr, argv.data(), envp.data());
    if (rc != 0) {
      kill_all(SIGKILL);
      for (pid_t p : pids) ::waitpid(p, nullptr, 0);
      g_num_children = 0;
      restore_signals();
      throw Error("--nproc: cannot start " + std::string(exe) + ": " + std::strerror(rc));
    }
    pids.push_back(pid);
    g_children[rank] = pid;
    g_num_children = rank + 1;
  }

  int first_failure = 0;
  std::string failure;  // the first rank's failure, in words
  bool killed = false;
  size_t running = pids.size();
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: none left
    }
    const auto it = std::find(pids.begin(), pids.end(), pid);
    if (it == pids.end()) continue;
    const int rank = static_cast<int>(it - pids.begin());
    *it = -1;  // reaped: never signal a recycled pid
    g_children[rank] = -1;
    --running;
    const int code = exit_code_of(status);
    // 130 from exit(): stopped by a signal after checkpointing (every rank stops at the same step).
    const bool interrupted = WIFEXITED(status) && code == 130;
    if (code != 0 && first_failure == 0) first_failure = code;
    if (code != 0 && !interrupted && !killed) {
      const std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                                                        strsignal(WTERMSIG(status)) + ")"
                                                  : "exited with status " + std::to_string(code);
      if (failure.empty()) failure = "rank " + std::to_string(rank) + " " + how;
      if (running > 0) {
        RGBDSEG_LOG(Warn) << "train: rank " << rank << " " << how << "; stopping the other " << running
                          << " process(es)";
        kill_all(SIGKILL);
        killed = true;
      }
    }
  }
  g_num_children = 0;
  restore_signals();
  // A rank that died without its own error line (SIGKILL, a crash) gets one here.
  if (!failure.empty() && first_failure > 128) {
    throw Error("--nproc " + std::to_string(nproc) + ": " + failure +
                "; the other ranks were stopped (the last checkpoint continues with --resume)");
  }
  return first_failure;
}


}  // namespace rgbdseg::train
