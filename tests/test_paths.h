#pragma once
// Locations the tests use: ../shared (golden files, real data) and the rgbdseg binary.
#include <cstdlib>
#include <string>
#include <sys/stat.h>

namespace rgbdseg::testing {

// ../shared beside the repository, or $RGBDSEG_SHARED_DIR.
inline std::string shared_dir() {
  if (const char* env = std::getenv("RGBDSEG_SHARED_DIR")) return env;
  return RGBDSEG_DEFAULT_SHARED_DIR;
}

inline bool path_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// Returns the path under ../shared, or "" when it is absent (the caller skips).
inline std::string shared_path(const std::string& relative) {
  const std::string p = shared_dir() + "/" + relative;
  return path_exists(p) ? p : std::string();
}

inline std::string rgbdseg_binary() { return RGBDSEG_BINARY; }

}  // namespace rgbdseg::testing

// Skips the current test with a reason when a ../shared file is missing.
#define RGBDSEG_REQUIRE_SHARED(var, relative)                                        \
  const std::string var = ::rgbdseg::testing::shared_path(relative);                 \
  if (var.empty()) {                                                                 \
    GTEST_SKIP() << "../shared/" << (relative) << " not found (set RGBDSEG_SHARED_DIR)"; \
  }
