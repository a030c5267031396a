// COCO polygons (pycocotools frPyObjects): the input is read as a mask size
// (two bytes) and then float64 coordinates, split into polygons at every NaN
// marker byte pattern; any value (NaN, Inf, huge, negative) must give a mask of
// the right size or an Error, never a crash. Coordinates between 64 and 1e7
// in magnitude are folded into +-64: their outlines are millions of points
// (up to a second each, tests/coco/test_rle.cpp covers them), which would
// leave the fuzzer a few executions a second; NaN, Inf and beyond 1e7 (the
// errors) pass unchanged.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "rgbdseg/coco/rle.h"
#include "rgbdseg/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int64_t h = data[0] % 64, w = data[1] % 64;
  const bool as_bytes = data[2] & 1;  // small integer coordinates reach the rasteriser's corners more often
  std::vector<std::vector<double>> polygons(1);
  for (size_t i = 3; i < size;) {
    double v;
    if (as_bytes) {
      v = static_cast<int8_t>(data[i]) * 0.5;
      i += 1;
      if (data[i - 1] == 0x7f) {  // separator
        polygons.emplace_back();
        continue;
      }
    } else {
      if (i + 8 > size) break;
      std::memcpy(&v, data + i, 8);
      i += 8;
      if (std::fabs(v) > 64 && std::fabs(v) <= 1e7) v = std::fmod(v, 64.0);
      if (std::isnan(v) && polygons.back().size() >= 6) {
        polygons.emplace_back();
        continue;
      }
    }
    polygons.back().push_back(v);
  }
  try {
    const rgbdseg::Rle rle = rgbdseg::rle_from_polygons(polygons, h, w);
    const auto pixels = rgbdseg::rle_decode(rle);
    if (static_cast<int64_t>(pixels.size()) != h * w) std::abort();
    rgbdseg::rle_to_bbox(rle);
  } catch (const rgbdseg::Error&) {
  }
  return 0;
}
