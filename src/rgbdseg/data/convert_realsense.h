#pragma once
// `rgbdseg bag export`: a RealSense recording's frames as a canonical dataset
// without annotations (DatasetWriter), so `predict`, `show` and annotation
// tools take them directly. Depth and colour frames are paired by device
// timestamp (the nearest colour frame, within `max_skew_ms`); depth is
// aligned to the colour camera as librealsense does it (io/realsense_align.h)
// unless `align` is false, which needs both streams at the same size. Beside
// annotations.json, frames.json records for every exported image its frame
// numbers, timestamps, the skew, the depth units, and once the cameras'
// intrinsics and the depth-to-colour extrinsics. Torch-free.
#include <string>
#include <vector>

#include "rgbdseg/core/progress.h"
#include "rgbdseg/data/dataset_writer.h"

namespace rgbdseg {

struct RealSenseExportOptions {
  std::string bag;
  std::string out;
  bool force = false;
  bool align = true;        // depth to colour
  int every = 1;            // export every Nth pair
  double max_skew_ms = -1;  // < 0: half the colour stream's frame period
  // Depth filters before alignment, run in librealsense's order whatever the
  // order given: "decimation", "spatial", "temporal", "hole_filling"
  // (io/depth_filters.h, default parameters unless set below), or "research":
  // the research code's preset (decimation 4; spatial alpha 1, delta 50,
  // 5 iterations, holes 2 px; hole filling, farthest).
  std::vector<std::string> filters;
  int decimation = 2;    // magnitude 1-8
  int hole_filling = 1;  // 0 left, 1 farthest, 2 nearest
};

struct RealSenseIntrinsics;

// Adds one frame pair to a dataset: depth already in the colour camera's
// geometry (16-bit, `depth_units` metres per unit), colour as OpenCV BGR (or
// grey), with the colour camera's intrinsics. Shared by bag export and capture.
void add_realsense_pair(DatasetWriter& writer, const std::string& stem, const cv::Mat& depth_in_colour,
                        double depth_units, const cv::Mat& colour_bgr, const RealSenseIntrinsics& colour,
                        const std::string& source);

ConversionSummary export_realsense_bag(const RealSenseExportOptions& options, const ProgressCallback& progress = {});

}  // namespace rgbdseg
