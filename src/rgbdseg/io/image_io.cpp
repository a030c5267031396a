#include "rgbdseg/io/image_io.h"
#include "rgbdseg/io/image_header.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"

namespace rgbdseg {
namespace {

std::string depth_label(int depth) {
  switch (depth) {
    case CV_8U: return "8-bit unsigned";
    case CV_8S: return "8-bit signed";
    case CV_16U: return "16-bit unsigned";
    case CV_16S: return "16-bit signed";
    case CV_32S: return "32-bit signed";
    case CV_32F: return "32-bit float";
    case CV_64F: return "64-bit float";
    default: return "element type " + std::to_string(depth);
  }
}

std::string type_label(const cv::Mat& m) {
  const int c = m.channels();
  return depth_label(m.depth()) + ", " + std::to_string(c) + (c == 1 ? " channel" : " channels");
}

std::string size_label(const cv::Mat& m) {
  return std::to_string(m.cols) + "x" + std::to_string(m.rows);
}

}  // namespace

// Reads the file ourselves (so a missing or unreadable file gets the system's reason),
// then decodes it exactly as stored: IMREAD_UNCHANGED keeps 16-bit and float samples
// and every channel (plain imread would reduce 16-bit to 8-bit without a word).
cv::Mat read_image_unchanged(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(path + ": is a directory, not an image file");
  }
  const std::string bytes = read_file(path);
  if (bytes.empty()) throw Error(path + ": file is empty, not an image");
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw Error(path + ": file is larger than 2 GiB, too large to decode as an image");
  }
  cv::Mat image;
  try {
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                         const_cast<char*>(bytes.data()));
    image = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error(path + ": cannot decode image (" + e.err + ")");
  }
  if (image.empty()) {
    throw Error(path +
                ": cannot decode as an image (not a format OpenCV reads, or truncated/corrupt)");
  }
  return image;
}

namespace {

bool has_png_extension(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  std::string lower(ext.size(), '\0');
  std::transform(ext.begin(), ext.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return lower == ".png";
}

void require_png_path(const std::string& path, const char* writer) {
  if (!has_png_extension(path)) {
    throw Error(path + ": " + writer + " writes PNG files; the name must end in .png");
  }
}

// Encodes in memory, then writes through a temporary name: an encoding failure never
// touches the disk and a write failure leaves no partial file.
void encode_and_write(const std::string& path, const std::string& ext, const cv::Mat& image) {
  std::vector<uchar> buffer;
  bool ok = false;
  try {
    ok = cv::imencode(ext, image, buffer);
  } catch (const cv::Exception& e) {
    throw Error(path + ": cannot encode " + type_label(image) + " image as " + ext + " (" + e.err +
                ")");
  }
  if (!ok || buffer.empty()) {
    throw Error(path + ": cannot encode " + type_label(image) + " image as " + ext);
  }
  write_file_atomic(path,
                    std::string_view(reinterpret_cast<const char*>(buffer.data()), buffer.size()));
}

bool is_valid_depth(double metres, const DepthReadOptions& o) {
  return std::isfinite(metres) && metres > o.min_depth && metres <= o.max_depth;
}

// SUN RGB-D stores depth rotated left by 3 bits; the toolbox's read3dPoints undoes it with
// bitor(bitshift(d,-3), bitshift(d,16-3)) on uint16 (bits shifted past 16 are dropped).
uint16_t sunrgbd_to_mm(uint16_t v) {
  return static_cast<uint16_t>((v >> 3) | ((static_cast<uint32_t>(v) << 13) & 0xFFFFu));
}

// Integer depth through a lookup table: every stored value maps to metres or 0 (invalid).
template <typename T>
cv::Mat integer_depth_to_metres(const cv::Mat& raw, DepthEncoding encoding, double scale,
                                const DepthReadOptions& o) {
  constexpr size_t kValues = size_t{1} << (8 * sizeof(T));
  std::vector<float> lut(kValues);
  for (size_t v = 0; v < kValues; ++v) {
    double stored = static_cast<double>(v);
    if (encoding == DepthEncoding::SunRgbd) stored = sunrgbd_to_mm(static_cast<uint16_t>(v));
    const double metres = stored * scale;
    const float m = static_cast<float>(metres);
    lut[v] = (is_valid_depth(metres, o) && std::isfinite(m)) ? m : 0.0f;
  }
  cv::Mat out(raw.size(), CV_32FC1);
  for (int y = 0; y < raw.rows; ++y) {
    const T* src = raw.ptr<T>(y);
    float* dst = out.ptr<float>(y);
    for (int x = 0; x < raw.cols; ++x) dst[x] = lut[src[x]];
  }
  return out;
}

template <typename T>
cv::Mat float_depth_to_metres(const cv::Mat& raw, double scale, const DepthReadOptions& o) {
  cv::Mat out(raw.size(), CV_32FC1);
  for (int y = 0; y < raw.rows; ++y) {
    const T* src = raw.ptr<T>(y);
    float* dst = out.ptr<float>(y);
    for (int x = 0; x < raw.cols; ++x) {
      const double metres = static_cast<double>(src[x]) * scale;
      const float m = static_cast<float>(metres);
      dst[x] = (is_valid_depth(metres, o) && std::isfinite(m)) ? m : 0.0f;
    }
  }
  return out;
}

void check_options(const std::string& path, const DepthReadOptions& o) {
  if (!std::isfinite(o.scale) || o.scale < 0) {
    throw Error(path +
                ": depth scale must be a positive number of metres per stored unit (or 0 for the "
                "encoding's default), got " +
                std::to_string(o.scale));
  }
  if (!std::isfinite(o.min_depth) || o.min_depth < 0 || std::isnan(o.max_depth) ||
      !(o.max_depth > o.min_depth)) {
    throw Error(path + ": depth range must satisfy 0 <= min_depth < max_depth, got min_depth " +
                std::to_string(o.min_depth) + ", max_depth " + std::to_string(o.max_depth));
  }
}

// Auto -> the encoding of the stored sample type (OpenCV depth code); scale 0
// -> the encoding's default. 8-bit depth has neither, so it needs both given.
DepthReadOptions resolve_for_sample_type(const std::string& path, int depth, const DepthReadOptions& options) {
  DepthReadOptions o = options;
  if (o.encoding == DepthEncoding::Auto) {
    if (depth == CV_16U) {
      o.encoding = DepthEncoding::MillimetrePng16;
    } else if (depth == CV_32F || depth == CV_64F) {
      o.encoding = DepthEncoding::Float;
    } else if (depth == CV_8U) {
      throw Error(path +
                  ": 8-bit depth image: its unit cannot be known (8-bit depth is often 16-bit millimetres "
                  "clipped at 255); refusing to guess: give the encoding png8 and a scale in metres per stored "
                  "unit (--depth-encoding png8 --depth-scale S, or \"depth_encoding\": \"png8\" and "
                  "\"depth_scale\" in the dataset)");
    } else {
      throw Error(path + ": depth image is " + depth_label(depth) + ", expected 16-bit unsigned or 32-bit float");
    }
  }
  if (o.scale == 0) o.scale = default_depth_scale(o.encoding);
  if (o.scale == 0) {
    throw Error(path + ": encoding '" + depth_encoding_name(o.encoding) +
                "' needs an explicit scale (metres per stored unit: --depth-scale S, or \"depth_scale\" in the dataset)");
  }
  return o;
}

}  // namespace

cv::Mat read_rgb(const std::string& path) {
  const cv::Mat image = read_image_unchanged(path);
  if (image.depth() != CV_8U) {
    throw Error(path + ": colour image is " + depth_label(image.depth()) +
                ", expected 8-bit (a 16-bit or float image is usually a depth map; it is not "
                "reduced to 8 bits silently)");
  }
  cv::Mat rgb;
  switch (image.channels()) {
    case 1: cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB); break;
    case 2: {  // grey + alpha
      cv::Mat grey;
      cv::extractChannel(image, grey, 0);
      cv::cvtColor(grey, rgb, cv::COLOR_GRAY2RGB);
      break;
    }
    case 3: cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGB); break;
    default:
      throw Error(path + ": colour image has " + std::to_string(image.channels()) +
                  " channels, expected 1, 3 or 4");
  }
  return rgb;
}

cv::Mat read_depth(const std::string& path, const DepthReadOptions& options) {
  check_options(path, options);
  const cv::Mat raw = read_image_unchanged(path);
  if (raw.channels() != 1) {
    throw Error(path + ": depth image has " + std::to_string(raw.channels()) +
                " channels, expected 1 (is this the colour image?)");
  }
  const int depth = raw.depth();

  const DepthReadOptions resolved = resolve_for_sample_type(path, depth, options);
  const DepthEncoding encoding = resolved.encoding;
  const double scale = resolved.scale;
  const char* name = depth_encoding_name(encoding);
  auto require = [&](bool ok, const std::string& expected) {
    if (!ok) {
      throw Error(path + ": depth image is " + depth_label(depth) + ", but encoding '" + name +
                  "' expects " + expected);
    }
  };
  switch (encoding) {
    case DepthEncoding::MillimetrePng16:
    case DepthEncoding::SunRgbd:
      require(depth == CV_16U, "16-bit unsigned");
      return integer_depth_to_metres<uint16_t>(raw, encoding, scale, options);
    case DepthEncoding::Png8:
      require(depth == CV_8U, "8-bit unsigned");
      return integer_depth_to_metres<uint8_t>(raw, encoding, scale, options);
    case DepthEncoding::Float:
      require(depth == CV_32F || depth == CV_64F, "32-bit or 64-bit float");
      return depth == CV_32F ? float_depth_to_metres<float>(raw, scale, options)
                             : float_depth_to_metres<double>(raw, scale, options);
    case DepthEncoding::Auto: break;
  }
  throw Error(path + ": internal error: unresolved depth encoding");
}

DepthReadOptions resolve_depth_options(const std::string& path, const DepthReadOptions& options) {
  check_options(path, options);
  const ImageSize header = read_image_size(path);
  if (header.channels != 1) {
    throw Error(path + ": depth image has " + std::to_string(header.channels) +
                " channels, expected 1 (is this the colour image?)");
  }
  return resolve_for_sample_type(path, header.sample_type, options);
}

cv::Mat depth_valid_mask(const cv::Mat& depth_m) {
  if (depth_m.type() != CV_32FC1) {
    throw Error("depth_valid_mask: expected a 32-bit float, 1 channel depth map in metres, got " +
                type_label(depth_m));
  }
  cv::Mat mask(depth_m.size(), CV_8UC1);
  for (int y = 0; y < depth_m.rows; ++y) {
    const float* src = depth_m.ptr<float>(y);
    uint8_t* dst = mask.ptr<uint8_t>(y);
    for (int x = 0; x < depth_m.cols; ++x) dst[x] = (std::isfinite(src[x]) && src[x] > 0) ? 1 : 0;
  }
  return mask;
}

void check_same_size(const cv::Mat& rgb, const std::string& rgb_path, const cv::Mat& depth,
                     const std::string& depth_path) {
  if (rgb.size() != depth.size()) {
    throw Error(depth_path + ": size " + size_label(depth) + " does not match colour image '" +
                rgb_path + "' " + size_label(rgb) + " (width x height)");
  }
}

void write_rgb_png(const std::string& path, const cv::Mat& rgb) {
  require_png_path(path, "write_rgb_png");
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw Error(path + ": write_rgb_png expects a non-empty 8-bit, 3 channel RGB image, got " +
                (rgb.empty() ? std::string("an empty image") : type_label(rgb)));
  }
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  encode_and_write(path, ".png", bgr);
}

void write_depth_png16_mm(const std::string& path, const cv::Mat& depth_m) {
  require_png_path(path, "write_depth_png16_mm");
  if (depth_m.empty() || (depth_m.type() != CV_32FC1 && depth_m.type() != CV_64FC1)) {
    throw Error(path +
                ": write_depth_png16_mm expects a non-empty float, 1 channel depth map in metres, "
                "got " +
                (depth_m.empty() ? std::string("an empty image") : type_label(depth_m)));
  }
  cv::Mat mm(depth_m.size(), CV_16UC1);
  for (int y = 0; y < depth_m.rows; ++y) {
    uint16_t* dst = mm.ptr<uint16_t>(y);
    for (int x = 0; x < depth_m.cols; ++x) {
      const double metres = depth_m.type() == CV_32FC1
                                ? static_cast<double>(depth_m.ptr<float>(y)[x])
                                : depth_m.ptr<double>(y)[x];
      if (!std::isfinite(metres) || metres <= 0) {
        dst[x] = 0;
        continue;
      }
      const double rounded = std::round(metres * 1000.0);
      dst[x] = static_cast<uint16_t>(std::min(rounded, 65535.0));
    }
  }
  encode_and_write(path, ".png", mm);
}

void write_png(const std::string& path, const cv::Mat& image) {
  require_png_path(path, "write_png");
  const int c = image.channels();
  if (image.empty() || (image.depth() != CV_8U && image.depth() != CV_16U) ||
      (c != 1 && c != 3 && c != 4)) {
    throw Error(path +
                ": write_png expects a non-empty 8- or 16-bit unsigned image with 1, 3 or 4 "
                "channels, got " +
                (image.empty() ? std::string("an empty image") : type_label(image)));
  }
  encode_and_write(path, ".png", image);
}

}  // namespace rgbdseg
