#pragma once
// Pinhole camera intrinsics in pixels (principal point in pixel coordinates,
// pixel centres at integers).

namespace rgbdseg {

struct Intrinsics {
  double fx = 0, fy = 0, cx = 0, cy = 0;
};

}  // namespace rgbdseg
