// viz/comparison: panel layout and the three object styles, checked on pixels
// far from outlines and labels.
#include "rgbdseg/viz/comparison.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "error_message.h"

namespace rgbdseg {
namespace {

constexpr int kW = 200, kH = 120;

cv::Mat box(int x, int y, int w, int h) {
  cv::Mat m = cv::Mat::zeros(kH, kW, CV_8UC1);
  m(cv::Rect(x, y, w, h)).setTo(1);
  return m;
}

TEST(ComparisonFrame, PanelsSideBySideWithTheirStyles) {
  const cv::Mat rgb(kH, kW, CV_8UC3, cv::Scalar(100, 100, 100));
  const cv::Vec3b red(200, 0, 0);
  ComparisonPanel gt{"ground truth: 1 object", {{box(20, 60, 40, 40), red, "", PanelObject::Style::Filled}}};
  ComparisonPanel model{"model: found 0/1",
                        {{box(120, 60, 40, 40), cv::Vec3b(), "", PanelObject::Style::FalsePositive},
                         {box(20, 60, 40, 40), red, "", PanelObject::Style::Missed}}};
  const cv::Mat frame = comparison_frame(rgb, {gt, model});
  ASSERT_EQ(frame.type(), CV_8UC3);
  EXPECT_EQ(frame.cols, 2 * kW + 4);
  const int band = frame.rows - kH;
  EXPECT_GT(band, 10);
  auto at = [&](int panel, int x, int y) { return frame.at<cv::Vec3b>(band + y, panel * (kW + 4) + x); };
  // Ground truth: the object blended with its colour at 0.45.
  EXPECT_EQ(at(0, 40, 80), cv::Vec3b(145, 55, 55));
  EXPECT_EQ(at(0, 150, 80), cv::Vec3b(100, 100, 100));  // background untouched
  // Model: the false positive red, the missed object only outlined (inside untouched).
  const cv::Vec3b fp = at(1, 140, 80);
  EXPECT_GT(fp[0], 140);  // 0.35 (or 0.63 on the hatching) of (230, 30, 30)
  EXPECT_LT(fp[1], 80);
  EXPECT_EQ(at(1, 40, 80), cv::Vec3b(100, 100, 100));
  EXPECT_NE(at(1, 20, 80), cv::Vec3b(100, 100, 100)) << "some of the missed object's outline";
  // The white gap between panels.
  EXPECT_EQ(frame.at<cv::Vec3b>(band + 10, kW + 1), cv::Vec3b(255, 255, 255));
}

TEST(ComparisonFrame, RefusesMasksOfAnotherSize) {
  const cv::Mat rgb(kH, kW, CV_8UC3, cv::Scalar(0, 0, 0));
  ComparisonPanel p{"x", {{cv::Mat::zeros(10, 10, CV_8UC1), cv::Vec3b(), "", PanelObject::Style::Filled}}};
  EXPECT_NE(error_message([&] { comparison_frame(rgb, {p}); }).find("differs from the image"), std::string::npos);
  EXPECT_NE(error_message([&] { comparison_frame(rgb, {}); }).find("no panels"), std::string::npos);
}

}  // namespace
}  // namespace rgbdseg
