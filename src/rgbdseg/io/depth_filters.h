#pragma once
// RealSense depth post-processing filters as pure functions on 16-bit depth
// images (values in depth units, 0 = no reading), with librealsense's
// parameter ranges and defaults (../shared/reference/realsense.md section 4.2).
// The spatial and temporal filters follow the reference's description of
// librealsense's; no librealsense is available here to compare outputs with,
// so their tests check the described rules on hand-worked cases.
#include <opencv2/core.hpp>

#include "rgbdseg/io/realsense_bag.h"

namespace rgbdseg {

// Decimation by `magnitude` (1-8, default 2): each output pixel summarises
// its magnitude x magnitude block of non-zero pixels: the median for 2 and 3
// (for an even count the lower middle element), the mean (truncated) from 4
// up; an all-zero block gives 0. The output is floor(W/n) x floor(H/n) padded
// with zero columns and rows to multiples of 4. `intrinsics`, when given, are
// updated to the output (focal lengths and principal point divided by n).
cv::Mat decimate_depth(const cv::Mat& depth, int magnitude, RealSenseIntrinsics* intrinsics = nullptr);

// Hole filling (mode 0-2, default 1) in one raster pass, so fills propagate
// rightwards: 0 = the left neighbour; 1 = "farthest from around": the largest
// of the up, up-left, left, down-left and down neighbours; 2 = "nearest from
// around": the smallest non-zero of them. Neighbours outside the image do not count.
cv::Mat fill_depth_holes(const cv::Mat& depth, int mode = 1);

// Spatial (edge-preserving) filter: `iterations` times, a recursive
// exponential filter along each row left to right and right to left, then
// along each column both ways: a pixel becomes alpha * itself + (1 - alpha) *
// its (already filtered) predecessor when both are valid and differ by at most
// `delta` depth units; larger steps are edges and stay. With `holes_fill` > 0
// the left-to-right pass also fills runs of invalid pixels with the last valid
// value, up to 2, 4, 8, 16 pixels or without limit (1-5). Defaults: alpha 0.5
// (0.25-1), delta 20 (1-50), iterations 2 (1-5), holes_fill 0 (0-5).
struct SpatialFilterOptions {
  double alpha = 0.5, delta = 20;
  int iterations = 2, holes_fill = 0;
};
cv::Mat spatial_filter_depth(const cv::Mat& depth, const SpatialFilterOptions& options = {});

// Temporal filter: stateful, one per stream. For each pixel, with the
// previous output and the validity of the last 8 frames: a valid pixel
// becomes alpha * current + (1 - alpha) * previous when the previous output
// is valid and within `delta`, else restarts from the current value; an
// invalid pixel keeps the previous output when the previous frames satisfy
// the persistence rule (0 never, 1 valid in 8 of the last 8, 2: 2/3, 3: 2/4,
// 4: 2/8, 5: 1/2, 6: 1/5, 7: 1/8, 8 always), else stays 0. Defaults: alpha
// 0.4 (0-1), delta 20 (1-100), persistence 3 (0-8).
class TemporalDepthFilter {
 public:
  explicit TemporalDepthFilter(double alpha = 0.4, double delta = 20, int persistence = 3);
  cv::Mat apply(const cv::Mat& depth);  // frames must keep one size

 private:
  double alpha_, delta_;
  int persistence_;
  cv::Mat previous_;  // CV_32FC1, 0 = invalid
  cv::Mat history_;   // CV_8UC1: bit i = valid i + 1 frames ago
};

}  // namespace rgbdseg
