#pragma once
// How depth files store depth (metres = stored value * scale), with its one
// name table. Torch- and OpenCV-free, so dataset files can name an encoding
// per image and configs can parse it; io/image_io.h does the reading.
#include <string>

namespace rgbdseg {

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

// The encoding's default scale in metres per stored unit (0.001 for the
// millimetre PNGs, 1 for float; 0 for Png8 and Auto, which have none).
double default_depth_scale(DepthEncoding encoding);

// How read_depth (io/image_io.h) turns a depth file into metres.
struct DepthReadOptions {
  DepthEncoding encoding = DepthEncoding::Auto;
  // Metres per stored unit; 0 = the encoding's default (0.001 for MillimetrePng16
  // and SunRgbd, 1.0 for Float; Png8 has none and needs it set).
  double scale = 0.0;
  double min_depth = 0.0;   // metres, exclusive: depth <= min_depth is invalid
  double max_depth = 10.0;  // metres, inclusive: depth > max_depth is invalid
};

}  // namespace rgbdseg
