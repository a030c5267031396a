// Config files and --set values: the input up to the first NUL byte is the
// config file, each line after it one "key=value" override.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_file.h"
#include <nlohmann/json.hpp>

#include "rgbdseg/core/config.h"
#include "rgbdseg/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t file_size = nul ? static_cast<size_t>(nul - data) : size;
  std::vector<std::string> overrides;
  if (nul) {
    std::string rest(reinterpret_cast<const char*>(nul + 1), size - file_size - 1);
    size_t start = 0;
    while (start <= rest.size()) {
      const size_t nl = rest.find('\n', start);
      overrides.push_back(rest.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  const std::string path = fuzz_input_file(data, file_size, ".config.json");
  rgbdseg::Config config;
  try {
    config = rgbdseg::load_config(path, overrides);
  } catch (const rgbdseg::Error&) {
    return 0;
  }
  // What was accepted must convert back and load again (inspect prints it, checkpoints store it).
  try {
    rgbdseg::config_from_json(rgbdseg::config_to_json(config), "round trip");
  } catch (const rgbdseg::Error& e) {
    std::fprintf(stderr, "accepted config does not round-trip: %s\n", e.what());
    std::abort();
  }
  return 0;
}
