#include "rgbdseg/core/fault_injection.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace rgbdseg {

namespace {

struct FaultSpec {
  std::string name;  // empty: fault injection off
  long pass = 1;
};

const FaultSpec& fault_spec() {
  static const FaultSpec spec = [] {
    FaultSpec s;
    const char* env = std::getenv("RGBDSEG_FAULT_POINT");
    if (!env || !*env) return s;
    s.name = env;
    const auto colon = s.name.rfind(':');
    if (colon != std::string::npos) {
      char* end = nullptr;
      const long k = std::strtol(s.name.c_str() + colon + 1, &end, 10);
      if (end && *end == '\0' && k >= 1) {  // "NAME:K"; otherwise the colon is part of the name
        s.pass = k;
        s.name.resize(colon);
      }
    }
    return s;
  }();
  return spec;
}

}  // namespace

void fault_point(const char* name) {
  const FaultSpec& spec = fault_spec();
  if (spec.name.empty() || spec.name != name) return;
  static std::atomic<long> passes{0};
  if (++passes == spec.pass) ::kill(::getpid(), SIGKILL);
}

}  // namespace rgbdseg
