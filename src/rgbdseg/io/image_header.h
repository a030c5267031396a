#pragma once
// Image size without decoding the pixels: validating a dataset of thousands of
// images should not cost a full decode each.
#include <cstdint>
#include <string>

namespace rgbdseg {

struct ImageSize {
  int64_t height = 0;
  int64_t width = 0;
};

// Reads the size from a PNG (IHDR) or JPEG (SOF marker) header; other formats
// are decoded with OpenCV. Throws Error naming the file when it is missing,
// truncated or not an image.
ImageSize read_image_size(const std::string& path);

}  // namespace rgbdseg
