#pragma once
// Colour and depth image files. Torch-free: OpenCV's cv::Mat is the image type.
//
// Depth is metric (float metres) from the moment it is read: read_depth() returns
// CV_32FC1 metres where 0 marks an invalid pixel (no reading, NaN, or outside the
// configured range). Every failure throws rgbdseg::Error("<path>: <reason>").
//
// Pixels are taken on the stored grid: EXIF orientation is not applied, so a
// colour image stays registered to its depth map.
#include <opencv2/core/mat.hpp>
#include <string>

namespace rgbdseg {

// Reads an 8-bit colour image (PNG, JPEG, BMP, TIFF, ... whatever OpenCV decodes)
// as CV_8UC3 in RGB order (not OpenCV's BGR). Grey input is expanded to three
// channels; alpha is dropped. 16-bit or floating-point images are rejected (they
// are usually depth maps; rgbdseg does not silently reduce them to 8 bits).
cv::Mat read_rgb(const std::string& path);

// Any image exactly as stored: bit depth and channels kept (OpenCV's BGR order
// for colour). Errors name the file: missing, a directory, empty, undecodable.
cv::Mat read_image_unchanged(const std::string& path);

// How stored depth values become metres (metres = stored value * scale).
enum class DepthEncoding {
  Auto,             // 16-bit -> MillimetrePng16, 32/64-bit float -> Float; 8-bit is refused
  MillimetrePng16,  // 16-bit unsigned, stored unit = scale metres (default 0.001: mm)
  SunRgbd,          // SUN RGB-D 16-bit PNG: mm = (v >> 3) | ((v << 13) & 0xFFFF)
  Float,            // 32/64-bit float (TIFF; EXR if OpenCV has it enabled), default scale 1.0
  Png8,             // 8-bit depth (the research code's format): needs an explicit scale
};

// "auto", "png16", "sunrgbd", "float", "png8" (case-sensitive). Unknown names throw
// Error listing the accepted ones.
DepthEncoding parse_depth_encoding(const std::string& name);
const char* depth_encoding_name(DepthEncoding encoding);

struct DepthReadOptions {
  DepthEncoding encoding = DepthEncoding::Auto;
  // Metres per stored unit; 0 = the encoding's default (0.001 for MillimetrePng16
  // and SunRgbd, 1.0 for Float; Png8 has none and needs it set).
  double scale = 0.0;
  double min_depth = 0.0;   // metres, exclusive: depth <= min_depth is invalid
  double max_depth = 10.0;  // metres, inclusive: depth > max_depth is invalid
};

// Reads a single-channel depth image (16-bit read exactly, never through 8 bits)
// and returns CV_32FC1 metres with invalid pixels set to 0. Refuses 8-bit depth
// under Auto, multi-channel images, and a bit depth that does not match the
// requested encoding.
cv::Mat read_depth(const std::string& path, const DepthReadOptions& options = {});

// CV_8UC1 mask, 1 where depth_m (CV_32FC1 metres) is finite and > 0, else 0.
cv::Mat depth_valid_mask(const cv::Mat& depth_m);

// Throws Error("<depth_path>: size 640x480 (WxH) does not match colour image
// '<rgb_path>' 1280x720") when the two images differ in size.
void check_same_size(const cv::Mat& rgb, const std::string& rgb_path, const cv::Mat& depth,
                     const std::string& depth_path);

// Writers. Each encodes in memory, then writes atomically (temporary name + rename):
// a failed write leaves no file behind and an existing file untouched.

// CV_8UC3 in RGB order (as read_rgb returns) to a PNG file (path must end in .png).
void write_rgb_png(const std::string& path, const cv::Mat& rgb);

// CV_32FC1 (or CV_64FC1) metres to a 16-bit millimetre PNG: round to the nearest mm,
// clamp at 65535; 0, negative and non-finite values are written as 0 (invalid).
void write_depth_png16_mm(const std::string& path, const cv::Mat& depth_m);

// Any 8- or 16-bit Mat with 1, 3 or 4 channels, written as-is: three- and four-channel
// Mats are taken in OpenCV order (BGR/BGRA). For masks and instance-id maps.
void write_png(const std::string& path, const cv::Mat& image);

}  // namespace rgbdseg
