#pragma once
// Runs `fn`, expects an rgbdseg::Error and returns its message; records a test
// failure (and returns "") when nothing is thrown. For error tests that check
// the message text.
#include <gtest/gtest.h>

#include <string>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

template <typename Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected rgbdseg::Error, nothing was thrown";
  return "";
}

}  // namespace rgbdseg
