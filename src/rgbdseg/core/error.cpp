#include "rgbdseg/core/error.h"

namespace rgbdseg {

Error::~Error() = default;
UsageError::~UsageError() = default;

void rethrow_with_context(const std::string& context, const std::exception& e) {
  throw Error(context + ": " + e.what());
}

}  // namespace rgbdseg
