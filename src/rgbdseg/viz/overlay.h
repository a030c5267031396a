#pragma once
// Pictures for people: colourised depth, instance overlays with class names,
// and the RGB | depth | instances panel that `rgbdseg show` writes.
// Images are RGB order (as io/ reads them), 8-bit.
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace rgbdseg {

// A distinct, saturated colour for instance `index` (golden-ratio hue steps).
cv::Vec3b instance_colour(int index);

// Depth (CV_32FC1 metres, 0 = invalid) through the turbo colour map, near =
// red; invalid pixels black. The range is the 2nd..98th percentile of valid
// depth unless given (min_m < max_m).
cv::Mat colorize_depth(const cv::Mat& depth_m, double min_m = 0, double max_m = 0);

struct LabelledMask {
  cv::Mat mask;       // CV_8UC1, non-zero = object
  std::string label;  // drawn at the object's top-left ("" = none)
};

// Masks blended onto the image (alpha) with outlines and labels.
cv::Mat draw_instances(const cv::Mat& rgb, const std::vector<LabelledMask>& instances, double alpha = 0.45);

// RGB | colourised depth | instances, side by side.
cv::Mat rgbd_panel(const cv::Mat& rgb, const cv::Mat& depth_m, const std::vector<LabelledMask>& instances);

}  // namespace rgbdseg
