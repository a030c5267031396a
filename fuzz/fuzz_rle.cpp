// COCO compressed RLE strings: the first two bytes give the mask size, the
// rest is the "counts" string; decoded masks are checked for their size.
#include <cstdlib>
#include <string_view>

#include "rgbdseg/coco/rle.h"
#include "rgbdseg/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int64_t h = data[0] % 64, w = data[1] % 64;
  try {
    const rgbdseg::Rle rle = rgbdseg::rle_from_string(std::string_view(reinterpret_cast<const char*>(data + 2), size - 2), h, w);
    const auto pixels = rgbdseg::rle_decode(rle);
    if (static_cast<int64_t>(pixels.size()) != h * w) std::abort();
    rgbdseg::rle_area(rle);
    rgbdseg::rle_to_bbox(rle);
  } catch (const rgbdseg::Error&) {
  }
  return 0;
}
