#include <gtest/gtest.h>

#include "rgbdseg/viz/overlay.h"

using namespace rgbdseg;

TEST(Overlay, ColorizeDepthBlacksOutInvalidAndOrdersNearFar) {
  cv::Mat depth(1, 3, CV_32FC1);
  depth.at<float>(0, 0) = 0.5f;  // near
  depth.at<float>(0, 1) = 0.0f;  // invalid
  depth.at<float>(0, 2) = 3.0f;  // far
  const cv::Mat c = colorize_depth(depth, 0.5, 3.0);
  ASSERT_EQ(c.type(), CV_8UC3);
  EXPECT_EQ(c.at<cv::Vec3b>(0, 1), cv::Vec3b(0, 0, 0));
  // Turbo: near end red-dominant, far end blue-dominant (RGB order).
  EXPECT_GT(c.at<cv::Vec3b>(0, 0)[0], c.at<cv::Vec3b>(0, 0)[2]);
  EXPECT_GT(c.at<cv::Vec3b>(0, 2)[2], c.at<cv::Vec3b>(0, 2)[0]);
}

TEST(Overlay, InstancesTintOnlyTheirPixels) {
  cv::Mat rgb(20, 20, CV_8UC3, cv::Scalar(100, 100, 100));
  cv::Mat mask = cv::Mat::zeros(20, 20, CV_8UC1);
  mask(cv::Rect(5, 5, 10, 10)).setTo(1);
  const cv::Mat out = draw_instances(rgb, {{mask, ""}}, 0.5);
  EXPECT_NE(out.at<cv::Vec3b>(10, 10), cv::Vec3b(100, 100, 100));  // inside: tinted
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(100, 100, 100));    // far outside: untouched
  const cv::Mat panel = rgbd_panel(rgb, cv::Mat(20, 20, CV_32FC1, cv::Scalar(1.0f)), {{mask, "cup"}});
  EXPECT_EQ(panel.cols, 60);
  EXPECT_EQ(panel.rows, 20);
  EXPECT_NE(instance_colour(0), instance_colour(1));
}
