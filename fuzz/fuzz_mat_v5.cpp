// MATLAB v5 MAT-files (NYUv2's splits and class mappings): header, tags,
// compressed (zlib) elements, numeric, char, cell and struct arrays.
#include <string_view>

#include "rgbdseg/core/error.h"
#include "rgbdseg/data/matlab_v5.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto file = rgbdseg::matlab::parse_mat_v5(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.mat");
    (void)file;
  } catch (const rgbdseg::Error&) {
  }
  return 0;
}
