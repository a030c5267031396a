#pragma once
// RealSense depth post-processing filters as pure functions on 16-bit depth
// images (values in depth units, 0 = no reading), with librealsense's
// parameter ranges and defaults (../shared/reference/realsense.md section 4.2).
// Built so far: decimation and hole filling. The spatial and temporal filters
// are not (issue 14).
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

}  // namespace rgbdseg
