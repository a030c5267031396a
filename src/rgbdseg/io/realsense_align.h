#pragma once
// RealSense projection and depth-to-colour alignment, as librealsense does
// them (rs2_project_point_to_pixel, rs2_deproject_pixel_to_point, and
// align's corner mapping with a z-buffer), in float arithmetic like it.
// Distortion models: None, Brown Conrady (forward; iterative inverse),
// Modified and Inverse Brown Conrady (D4xx colour). Kannala Brandt4 and
// F-Theta (fisheye cameras) are refused with an Error.
// Reference: ../shared/reference/realsense.md section 4.1.
#include <array>

#include <opencv2/core.hpp>

#include "rgbdseg/io/realsense_bag.h"

namespace rgbdseg {

// A point (metres, camera frame) to pixel coordinates ([0,0] = centre of the top-left pixel).
std::array<float, 2> realsense_project(const RealSenseIntrinsics& k, const std::array<float, 3>& point);
// Pixel coordinates at a depth (metres) to a point.
std::array<float, 3> realsense_deproject(const RealSenseIntrinsics& k, const std::array<float, 2>& pixel, float depth);

// The extrinsics from stream a's frame to stream b's, both given relative to
// the same reference stream (p_b = R p_a + t).
RealSenseExtrinsics realsense_extrinsics_between(const RealSenseExtrinsics& a, const RealSenseExtrinsics& b);

// Depth (CV_16UC1, in depth units) seen from the colour camera: an image of
// the colour stream's size where each colour pixel holds the nearest depth
// that lands on it (0 where none does). Each depth pixel's corners are
// deprojected at its depth, moved by `depth_to_colour` and projected; every
// colour pixel in the rectangle they span receives the value.
cv::Mat align_depth_to_colour(const cv::Mat& depth, double depth_units, const RealSenseIntrinsics& depth_k,
                              const RealSenseIntrinsics& colour_k, const RealSenseExtrinsics& depth_to_colour);

}  // namespace rgbdseg
