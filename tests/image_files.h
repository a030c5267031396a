#pragma once
// Writes a test image with OpenCV (BGR order, as cv::imwrite takes it),
// creating its folders; a failed write fails the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <opencv2/core/mat.hpp>
#include <opencv2/imgcodecs.hpp>

namespace rgbdseg::testing {

inline void write_image(const std::string& path, const cv::Mat& m) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  ASSERT_TRUE(cv::imwrite(path, m)) << path;
}

}  // namespace rgbdseg::testing
