#pragma once
// Loads the LibTorch half of rgbdseg (librgbdseg_torch.so) on first use.
// Linking LibTorch into the tool would cost ~0.7 s at every start, so
// torch-free commands never pay it.
#include <exception>
#include <string>

#include "rgbdseg/runtime/torch_api.h"

namespace rgbdseg::app {

// Loads the plugin (once) or throws Error naming the file and dlerror().
const TorchApi& torch_api();

// True once torch_api() has loaded the plugin.
bool torch_loaded();

// One-line message for an exception; c10 errors lose their backtraces.
std::string describe_exception(const std::exception& e);

// `rgbdseg --version` text (compile-time facts only: no plugin load).
std::string version_text();

}  // namespace rgbdseg::app
