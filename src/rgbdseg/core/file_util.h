#pragma once
// Whole-file reads and atomic writes. Outputs are never left half-written:
// bytes go to a temporary name in the same directory, then rename() replaces
// the target in one step.
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <string_view>

namespace rgbdseg {

// Reads a whole file; throws Error("<path>: cannot open ...") on failure.
std::string read_file(const std::string& path);

// Reads and parses a JSON file: Error("<path>: cannot open ...") or
// Error("<path>: invalid JSON (<the parser's reason>)"). The one reader of JSON
// files (configs, Hugging Face configs, checkpoints, class maps).
nlohmann::ordered_json read_json_file(const std::string& path);

// Writes `bytes` to `path` atomically (temporary file + fsync + rename).
void write_file_atomic(const std::string& path, std::string_view bytes);

// A temporary path next to `path` for writers that need a file name (OpenCV).
// The caller renames it with commit_temp_file() or removes it on failure.
std::string temp_path_for(const std::string& path);
void commit_temp_file(const std::string& temp_path, const std::string& final_path);

// Checks up front that an output file can be created at `path` (its folder
// exists and takes a new file: a probe file is created there and removed), so
// that long work is not lost to a typo at the end. Throws Error naming `path`.
void require_writable_output_file(const std::string& path);

// Creates a directory and its parents; throws Error naming the path on failure.
void make_directories(const std::string& path);

bool file_exists(const std::string& path);
// A regular file (following links) exists at `path`.
bool is_regular_file(const std::string& path);
// `path` with links resolved when it (or its parent) exists, else made absolute;
// for telling whether two paths name the same file or folder.
std::string canonical_or_absolute(const std::string& path);

// Outputs never silently replace earlier ones: throws Error("<dir>: output
// directory is not empty (<hint>)") when `dir` exists, is not empty and
// `force` is false, and Error when it exists but is not a directory.
void require_empty_output_dir(const std::string& dir, bool force, const std::string& hint = "pass --force to write into it");

// A command's output directory that is cleaned up if the command fails: the
// constructor creates `dir` (and its parents) and notes what is already in it;
// unless commit() is called, the destructor removes every entry that appeared
// since, and `dir` itself if the guard created it. So a failed command leaves
// no empty folders or half-written results behind.
//
// The guard also holds an exclusive lock on the folder (flock on DIR/.rgbdseg.lock,
// released by the kernel even on SIGKILL): a second process writing into the same
// folder fails at once with Error("<dir>: another rgbdseg process (pid N) is
// writing into this folder") instead of interleaving its files with the first's.
class OutputDirGuard {
 public:
  static constexpr const char* kLockName = ".rgbdseg.lock";
  explicit OutputDirGuard(std::string dir);
  ~OutputDirGuard();
  OutputDirGuard(const OutputDirGuard&) = delete;
  OutputDirGuard& operator=(const OutputDirGuard&) = delete;
  void commit() { committed_ = true; }

 private:
  std::string dir_;
  bool created_ = false;
  bool committed_ = false;
  int lock_fd_ = -1;
  std::set<std::string> existing_;  // entry names present before
};

}  // namespace rgbdseg
