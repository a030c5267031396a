#pragma once
// A fresh directory per test (mkdtemp under GoogleTest's TempDir()), removed
// with everything in it when the object goes out of scope.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace rgbdseg::testing {

class ScopedTempDir {
 public:
  ScopedTempDir() {
    std::string templ = ::testing::TempDir() + "rgbdseg_test_XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp(" << templ << ") failed";
      templ.clear();
    }
    path_ = templ;
  }
  ~ScopedTempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/relative
  std::string file(const std::string& relative) const { return path_ + "/" + relative; }

  // Writes `text` to path()/relative, creating parent folders; returns the full path.
  std::string write(const std::string& relative, const std::string& text) const {
    const std::filesystem::path p = file(relative);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out << text;
    out.close();
    EXPECT_TRUE(out.good()) << "cannot write " << p;
    return p.string();
  }

  // Names of the entries directly in path()/relative, sorted.
  std::vector<std::string> list(const std::string& relative = "") const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(relative.empty() ? path_ : file(relative))) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::string path_;
};

}  // namespace rgbdseg::testing
