#include "rgbdseg/core/depth_encoding.h"

#include "rgbdseg/core/error.h"

namespace rgbdseg {

namespace {

struct EncodingName {
  DepthEncoding encoding;
  const char* name;
};
constexpr EncodingName kNames[] = {{DepthEncoding::Auto, "auto"},
                                   {DepthEncoding::MillimetrePng16, "png16"},
                                   {DepthEncoding::SunRgbd, "sunrgbd"},
                                   {DepthEncoding::Float, "float"},
                                   {DepthEncoding::Png8, "png8"}};

}  // namespace

DepthEncoding parse_depth_encoding(const std::string& name) {
  std::string valid;
  for (const auto& e : kNames) {
    if (name == e.name) return e.encoding;
    valid += (valid.empty() ? "" : ", ") + std::string(e.name);
  }
  throw Error("unknown depth encoding '" + name + "' (expected one of: " + valid + ")");
}

const char* depth_encoding_name(DepthEncoding encoding) {
  for (const auto& e : kNames) {
    if (e.encoding == encoding) return e.name;
  }
  return "?";
}

double default_depth_scale(DepthEncoding encoding) {
  switch (encoding) {
    case DepthEncoding::MillimetrePng16:
    case DepthEncoding::SunRgbd: return 0.001;
    case DepthEncoding::Float: return 1.0;
    case DepthEncoding::Png8:
    case DepthEncoding::Auto: return 0.0;
  }
  return 0.0;
}

}  // namespace rgbdseg
