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

#include "rgbdseg/core/depth_encoding.h"

namespace rgbdseg {

// Reads an 8-bit colour image (PNG, JPEG, BMP, TIFF, ... whatever OpenCV decodes)
// as CV_8UC3 in RGB order (not OpenCV's BGR). Grey input is expanded to three
// channels; alpha is dropped. 16-bit or floating-point images are rejected (they
// are usually depth maps; rgbdseg does not silently reduce them to 8 bits).
cv::Mat read_rgb(const std::string& path);

// Any image exactly as stored: bit depth and channels kept (OpenCV's BGR order
// for colour). Errors name the file: missing, a directory, empty, undecodable.
cv::Mat read_image_unchanged(const std::string& path);

// Reads a single-channel depth image (16-bit read exactly, never through 8 bits)
// and returns CV_32FC1 metres with invalid pixels set to 0. Refuses 8-bit depth
// under Auto, multi-channel images, and a bit depth that does not match the
// requested encoding.
cv::Mat read_depth(const std::string& path, const DepthReadOptions& options = {});

// The options read_depth would use for `path`, with the encoding and scale
// resolved (Auto from the stored sample type read from the file header, scale
// 0 to the encoding's default): what a prediction records about its input.
// Throws the errors read_depth would for the encoding and scale.
DepthReadOptions resolve_depth_options(const std::string& path, const DepthReadOptions& options);

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
