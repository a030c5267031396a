#include "rgbdseg/io/image_header.h"

#include <cstring>
#include <fstream>
#include <sstream>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

namespace {

uint32_t big_endian(const unsigned char* p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Walks JPEG markers to the first start-of-frame (SOF0..SOF15 except DHT/JPG/DAC).
bool jpeg_size(std::istream& in, ImageSize& size) {
  unsigned char b[2];
  while (in.read(reinterpret_cast<char*>(b), 2)) {
    if (b[0] != 0xFF) return false;
    unsigned char marker = b[1];
    while (marker == 0xFF) {  // fill bytes
      if (!in.read(reinterpret_cast<char*>(&marker), 1)) return false;
    }
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    unsigned char len_bytes[2];
    if (!in.read(reinterpret_cast<char*>(len_bytes), 2)) return false;
    const uint32_t len = big_endian(len_bytes, 2);
    if (len < 2) return false;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      unsigned char f[5];
      if (!in.read(reinterpret_cast<char*>(f), 5)) return false;
      size.height = big_endian(f + 1, 2);
      size.width = big_endian(f + 3, 2);
      unsigned char components = 0;
      if (!in.read(reinterpret_cast<char*>(&components), 1)) return false;
      size.sample_type = CV_8U;  // OpenCV decodes baseline and 12-bit JPEG to 8 bits
      size.channels = components == 1 ? 1 : 3;
      return size.height > 0 && size.width > 0;
    }
    in.seekg(len - 2, std::ios::cur);
  }
  return false;
}

// The size from a PNG or JPEG header in `in`; `decode` for other formats.
// Errors start with `what`.
template <typename Decode>
ImageSize image_size_of(std::istream& in, const std::string& what, Decode decode) {
  unsigned char head[26] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto got = in.gcount();
  static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (got >= 26 && std::memcmp(head, png_sig, 8) == 0 && std::memcmp(head + 12, "IHDR", 4) == 0) {
    ImageSize s{big_endian(head + 20, 4), big_endian(head + 16, 4)};
    if (s.height <= 0 || s.width <= 0) throw Error(what + ": PNG header has a zero size");
    const int bit_depth = head[24], colour_type = head[25];
    s.sample_type = bit_depth == 16 ? CV_16U : CV_8U;
    switch (colour_type) {
      case 0: s.channels = 1; break;  // grey
      case 4: s.channels = 2; break;  // grey + alpha
      case 6: s.channels = 4; break;  // RGBA
      default: s.channels = 3; break;  // RGB, palette
    }
    return s;
  }
  if (got >= 2 && head[0] == 0xFF && head[1] == 0xD8) {
    in.clear();
    in.seekg(2);
    ImageSize s;
    if (jpeg_size(in, s)) return s;
    throw Error(what + ": JPEG without a readable frame header (truncated or corrupt)");
  }
  const cv::Mat m = decode();
  if (m.empty()) throw Error(what + ": not a readable image");
  return {m.rows, m.cols, m.depth(), m.channels()};
}

}  // namespace

ImageSize read_image_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open image");
  return image_size_of(in, path, [&] { return cv::imread(path, cv::IMREAD_UNCHANGED); });
}

ImageSize image_size_of_bytes(const std::vector<uint8_t>& bytes, const std::string& what) {
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  return image_size_of(in, what, [&] { return cv::imdecode(bytes, cv::IMREAD_UNCHANGED); });
}

}  // namespace rgbdseg
