#pragma once
// Whole-file reads and atomic writes. Outputs are never left half-written:
// bytes go to a temporary name in the same directory, then rename() replaces
// the target in one step.
#include <string>
#include <string_view>

namespace rgbdseg {

// Reads a whole file; throws Error("<path>: cannot open ...") on failure.
std::string read_file(const std::string& path);

// Writes `bytes` to `path` atomically (temporary file + fsync + rename).
void write_file_atomic(const std::string& path, std::string_view bytes);

// A temporary path next to `path` for writers that need a file name (OpenCV).
// The caller renames it with commit_temp_file() or removes it on failure.
std::string temp_path_for(const std::string& path);
void commit_temp_file(const std::string& temp_path, const std::string& final_path);

// Creates a directory and its parents; throws Error naming the path on failure.
void make_directories(const std::string& path);

bool file_exists(const std::string& path);

}  // namespace rgbdseg
