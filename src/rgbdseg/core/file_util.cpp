#include "rgbdseg/core/file_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/fault_injection.h"

namespace rgbdseg {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open for reading (" + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(path + ": read error");
  return ss.str();
}

nlohmann::ordered_json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error; out_of_range for numbers beyond double (1E999)
    throw Error(path + ": invalid JSON (" + e.what() + ")");
  }
}

std::string temp_path_for(const std::string& path) {
  static std::atomic<int> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

void commit_temp_file(const std::string& temp_path, const std::string& final_path) {
  if (std::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temp_path.c_str());
    throw Error(final_path + ": cannot move finished file into place (" + reason + ")");
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  const std::string tmp = temp_path_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot open for writing (" + std::strerror(errno) + ")");
  size_t written = 0;
  while (written < bytes.size()) {
    // A test kills the process here with half of the bytes on disk.
    const size_t chunk = written == 0 && bytes.size() > 1 ? bytes.size() / 2 : bytes.size() - written;
    if (written > 0) fault_point("atomic_write:partial");
    const ssize_t n = ::write(fd, bytes.data() + written, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string reason = std::strerror(errno);
      ::close(fd);
      std::remove(tmp.c_str());
      throw Error(path + ": write failed (" + reason + ")");
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error(path + ": write failed (" + reason + ")");
  }
  fault_point("atomic_write:before_rename");
  commit_temp_file(tmp, path);
}

void require_writable_output_file(const std::string& path) {
  const std::string probe = temp_path_for(path);
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot write here (" + std::strerror(errno) + ")");
  ::close(fd);
  std::remove(probe.c_str());
}

void make_directories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw Error(path + ": cannot create directory (" + ec.message() + ")");
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool is_regular_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string canonical_or_absolute(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path c = std::filesystem::weakly_canonical(path, ec);
  return (ec ? std::filesystem::absolute(path).lexically_normal() : c).string();
}

namespace {

// The pid a lock file holds ("" when none), then closes it.
std::string read_holder_and_close(int lock_fd) {
  char pid[32] = {0};
  const ssize_t n = ::pread(lock_fd, pid, sizeof pid - 1, 0);
  ::close(lock_fd);
  std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : std::string();
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
  return holder;
}

Error folder_in_use(const std::string& dir, const std::string& holder) {
  return Error(dir + ": another rgbdseg process" + (holder.empty() ? std::string() : " (pid " + holder + ")") +
               " is writing into this folder; wait for it or choose another --out");
}

// Error when another process holds the folder's lock (OutputDirGuard).
void require_folder_not_in_use(const std::string& dir) {
  const std::string lock_path = dir + "/" + OutputDirGuard::kLockName;
  const int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // no lock file: nobody is writing
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    const std::string holder = read_holder_and_close(fd);
    if (holder == std::to_string(::getpid())) return;  // this process's own guard (a check repeated under the lock)
    throw folder_in_use(dir, holder);
  }
  ::close(fd);
}

}  // namespace

void require_empty_output_dir(const std::string& dir, bool force, const std::string& hint) {
  std::error_code ec;
  const auto status = std::filesystem::status(dir, ec);
  if (!std::filesystem::exists(status)) return;
  if (!std::filesystem::is_directory(status)) throw Error(dir + ": exists and is not a directory (the output goes into a directory)");
  require_folder_not_in_use(dir);  // the more useful message when both apply
  if (force) return;
  // A lock file left by a killed process (or held by a running one: the guard reports that) is not output.
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().filename() != OutputDirGuard::kLockName) throw Error(dir + ": output directory is not empty (" + hint + ")");
  }
}

OutputDirGuard::OutputDirGuard(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  created_ = !std::filesystem::exists(dir_, ec);
  make_directories(dir_);
  const std::string lock_path = dir_ + "/" + kLockName;
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw Error(dir_ + ": cannot create " + kLockName + " (" + std::strerror(errno) + ")");
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno, fd = lock_fd_;
    lock_fd_ = -1;
    if (err != EWOULDBLOCK) {
      ::close(fd);
      throw Error(dir_ + ": cannot lock " + kLockName + " (" + std::strerror(err) + ")");
    }
    throw folder_in_use(dir_, read_holder_and_close(fd));
  }
  // The lock file may have been unlinked by a process that finished between our
  // open() and flock(): then this lock guards nothing and that process wrote here.
  struct stat held, now;
  if (::fstat(lock_fd_, &held) != 0 || ::stat(lock_path.c_str(), &now) != 0 || held.st_ino != now.st_ino) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw Error(dir_ + ": another rgbdseg process wrote into this folder meanwhile; choose another --out");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0) {
    // The pid is only for the message above; the lock holds without it.
  }
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    if (e.path().filename() != kLockName) existing_.insert(e.path().filename().string());
  }
}

OutputDirGuard::~OutputDirGuard() {
  std::error_code ec;  // best effort: never throw from a destructor
  if (!committed_) {
    if (created_) {
      std::filesystem::remove_all(dir_, ec);
    } else {
      std::vector<std::filesystem::path> added;
      for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
        if (!existing_.count(e.path().filename().string())) added.push_back(e.path());
      }
      for (const auto& p : added) std::filesystem::remove_all(p, ec);
    }
  }
  // Unlinked while still locked: a process that opened it meanwhile fails to lock, one that comes later makes its own.
  std::filesystem::remove(dir_ + "/" + kLockName, ec);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace rgbdseg
