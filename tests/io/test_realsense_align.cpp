// RealSense projection and alignment: pinhole cases by hand, the distortion
// models' projection and deprojection undoing each other, and depth-to-colour
// alignment on small images whose answers are worked out in the comments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "rgbdseg/core/error.h"
#include "rgbdseg/io/realsense_align.h"

using namespace rgbdseg;

namespace {
RealSenseIntrinsics pinhole(int w, int h, double f, double cx, double cy) {
  RealSenseIntrinsics k;
  k.width = w;
  k.height = h;
  k.fx = k.fy = f;
  k.ppx = cx;
  k.ppy = cy;
  k.model = "None";
  return k;
}
}  // namespace

TEST(RealSenseAlign, PinholeProjectionByHand) {
  const auto k = pinhole(640, 480, 500, 320, 240);
  // (0.1, -0.2, 2) m: x = 0.05, y = -0.1 -> (0.05*500+320, -0.1*500+240) = (345, 190).
  const auto px = realsense_project(k, {0.1f, -0.2f, 2.0f});
  EXPECT_FLOAT_EQ(px[0], 345.0f);
  EXPECT_FLOAT_EQ(px[1], 190.0f);
  const auto p = realsense_deproject(k, {345.0f, 190.0f}, 2.0f);
  EXPECT_FLOAT_EQ(p[0], 0.1f);
  EXPECT_FLOAT_EQ(p[1], -0.2f);
  EXPECT_FLOAT_EQ(p[2], 2.0f);
}

TEST(RealSenseAlign, DistortionModelsRoundTrip) {
  auto k = pinhole(1280, 720, 900, 640, 360);
  k.coeffs = {0.12, -0.05, 0.0015, -0.002, 0.01};
  for (const char* model : {"Brown Conrady", "Inverse Brown Conrady"}) {
    k.model = model;
    double worst = 0;
    for (float u = 10; u < 1280; u += 97) {
      for (float v = 10; v < 720; v += 71) {
        const auto p = realsense_deproject(k, {u, v}, 1.5f);
        const auto back = realsense_project(k, p);
        worst = std::max({worst, static_cast<double>(std::fabs(back[0] - u)), static_cast<double>(std::fabs(back[1] - v))});
      }
    }
    EXPECT_LT(worst, 0.01) << model;  // pixels, after librealsense's 10 fixed-point iterations
    // The distortion does something: a corner pixel does not deproject to the pinhole ray.
    const auto bent = realsense_deproject(k, {10.0f, 10.0f}, 1.0f);
    const auto straight = realsense_deproject(pinhole(1280, 720, 900, 640, 360), {10.0f, 10.0f}, 1.0f);
    EXPECT_GT(std::fabs(bent[0] - straight[0]), 1e-3) << model;
  }
  k.model = "Kannala Brandt4";
  EXPECT_THROW(realsense_project(k, {0, 0, 1}), Error);
}

TEST(RealSenseAlign, DepthToColourByHand) {
  // 6x5 depth at 1 m, one nearer pixel (2,1) at 0.5 m; colour camera identical and 10 mm to the right.
  const auto k = pinhole(6, 5, 100, 2.5, 2.0);
  cv::Mat depth(5, 6, CV_16UC1, cv::Scalar(1000));
  depth.at<uint16_t>(1, 2) = 500;
  RealSenseExtrinsics same;
  // Identity: depth pixel (u, v) spans corners u-0.5..u+0.5, which round (x + 0.5, truncated) to
  // colour pixels u..u+1, so each depth pixel paints a 2x2 block; the last column's and row's blocks
  // leave the image and are dropped. Uniform depth stays uniform; the near pixel (2,1) wins the
  // z-buffer on colour pixels (2..3, 1..2).
  const cv::Mat a = align_depth_to_colour(depth, 0.001, k, k, same);
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 6; ++x) {
      const bool near = (x == 2 || x == 3) && (y == 1 || y == 2);
      EXPECT_EQ(a.at<uint16_t>(y, x), near ? 500 : 1000) << x << "," << y;
    }
  }
  // 10 mm to the right at 1 m is a shift of 100 * 0.01 = 1 pixel; at 0.5 m, 2 pixels.
  RealSenseExtrinsics shift;
  shift.translation = {0.01, 0, 0};
  const cv::Mat b = align_depth_to_colour(depth, 0.001, k, k, shift);
  // Colour column 0 receives nothing (the nearest source, depth column -1, does not exist);
  // column 1 gets depth column 0 (blocks 1..2), and the near pixel lands at columns 4..5,
  // rows 1..2 (corners 2-0.5+2 = 3.5 -> 4 and 2+0.5+2 = 4.5 -> 5).
  for (int y = 0; y < 5; ++y) EXPECT_EQ(b.at<uint16_t>(y, 0), 0) << y;
  EXPECT_EQ(b.at<uint16_t>(0, 1), 1000);
  EXPECT_EQ(b.at<uint16_t>(1, 4), 500);
  EXPECT_EQ(b.at<uint16_t>(2, 5), 500);
  EXPECT_EQ(b.at<uint16_t>(1, 3), 1000);  // depth column 2's far neighbours still cover it
  EXPECT_EQ(b.at<uint16_t>(3, 4), 1000);
  // A colour camera with twice the focal length and size: each depth pixel covers 3x3 colour pixels.
  const auto k2 = pinhole(12, 10, 200, 5.5, 4.5);
  const cv::Mat c = align_depth_to_colour(depth, 0.001, k, k2, same);
  // Depth (2,1): corners (1.5, 0.5) and (2.5, 1.5) -> colour (4*... ) = ((1.5-2.5)*2+5.5, (0.5-2)*2+4.5) = (3.5, 1.5)
  // and (5.5, 3.5) -> truncate(+0.5): x 4..6, y 2..4.
  EXPECT_EQ(c.at<uint16_t>(2, 4), 500);
  EXPECT_EQ(c.at<uint16_t>(4, 6), 500);
  EXPECT_EQ(c.at<uint16_t>(5, 6), 1000);
  EXPECT_EQ(c.at<uint16_t>(2, 3), 1000);
  EXPECT_THROW(align_depth_to_colour(cv::Mat(5, 6, CV_32FC1), 0.001, k, k, same), Error);
}

TEST(RealSenseAlign, ExtrinsicsBetweenStreams) {
  // Colour 14 mm right of depth, depth at the reference: depth -> colour is colour's own transform.
  RealSenseExtrinsics depth, colour;
  colour.translation = {0.014, 0.0006, 0.0006};
  const auto e = realsense_extrinsics_between(depth, colour);
  EXPECT_DOUBLE_EQ(e.translation[0], 0.014);
  EXPECT_DOUBLE_EQ(e.rotation[0], 1.0);
  // And back: colour -> depth undoes it.
  const auto back = realsense_extrinsics_between(colour, depth);
  EXPECT_DOUBLE_EQ(back.translation[0], -0.014);
  // With a rotation: 90 degrees about z (x -> y). p_b = R p + t with R = [[0,-1,0],[1,0,0],[0,0,1]].
  RealSenseExtrinsics rotated;
  rotated.rotation = {0, -1, 0, 1, 0, 0, 0, 0, 1};
  rotated.translation = {0.1, 0, 0};
  const auto r = realsense_extrinsics_between(depth, rotated);
  EXPECT_DOUBLE_EQ(r.rotation[1], -1.0);
  const auto inv = realsense_extrinsics_between(rotated, depth);  // R^T, -R^T t = (0, 0.1, 0)
  EXPECT_DOUBLE_EQ(inv.rotation[1], 1.0);
  EXPECT_NEAR(inv.translation[1], 0.1, 1e-15);
  EXPECT_NEAR(inv.translation[0], 0.0, 1e-15);
}
