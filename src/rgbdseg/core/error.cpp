#include "rgbdseg/core/error.h"

namespace rgbdseg {

void rethrow_with_context(const std::string& context, const std::exception& e) {
  throw Error(context + ": " + e.what());
}

}  // namespace rgbdseg
