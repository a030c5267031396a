#include "rgbdseg/core/file_util.h"

#include <fcntl.h>
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
  } catch (const nlohmann::json::parse_error& e) {
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

void require_empty_output_dir(const std::string& dir, bool force, const std::string& hint) {
  std::error_code ec;
  const auto status = std::filesystem::status(dir, ec);
  if (!std::filesystem::exists(status)) return;
  if (!std::filesystem::is_directory(status)) throw Error(dir + ": exists and is not a directory (the output goes into a directory)");
  if (!force && !std::filesystem::is_empty(dir, ec)) throw Error(dir + ": output directory is not empty (" + hint + ")");
}

OutputDirGuard::OutputDirGuard(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  created_ = !std::filesystem::exists(dir_, ec);
  make_directories(dir_);
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) existing_.insert(e.path().filename().string());
}

OutputDirGuard::~OutputDirGuard() {
  if (committed_) return;
  std::error_code ec;  // best effort: never throw from a destructor
  if (created_) {
    std::filesystem::remove_all(dir_, ec);
    return;
  }
  std::vector<std::filesystem::path> added;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    if (!existing_.count(e.path().filename().string())) added.push_back(e.path());
  }
  for (const auto& p : added) std::filesystem::remove_all(p, ec);
}

}  // namespace rgbdseg
