// The safetensors parser (header JSON, offsets, dtypes) on arbitrary bytes.
#include <string_view>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    rgbdseg::parse_safetensors(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const rgbdseg::Error&) {
  }
  return 0;
}
