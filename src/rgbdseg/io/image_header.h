#pragma once
// Image size without decoding the pixels: validating a dataset of thousands of
// images should not cost a full decode each.
#include <cstdint>
#include <string>
#include <vector>

namespace rgbdseg {

struct ImageSize {
  int64_t height = 0;
  int64_t width = 0;
  int sample_type = -1;  // OpenCV depth code of the stored samples (CV_8U, CV_16U, CV_32F, ...)
  int channels = 0;      // as OpenCV decodes them unchanged (palette PNG: 3)
};

// Reads the size, sample type and channels from a PNG (IHDR) or JPEG (SOF
// marker) header; other formats are decoded with OpenCV. Throws Error naming the file when it is missing,
// truncated or not an image.
ImageSize read_image_size(const std::string& path);

// The same for an image file held in memory (e.g. base64 in a JSON file), so
// its size can be checked before decoding allocates it; errors start with `what`.
ImageSize image_size_of_bytes(const std::vector<uint8_t>& bytes, const std::string& what);

}  // namespace rgbdseg
