#include "rgbdseg/runtime/torch_api.h"

#include "rgbdseg/runtime/runtime.h"

extern "C" const rgbdseg::TorchApi* rgbdseg_torch_api() {
  static const rgbdseg::TorchApi api = {
      rgbdseg::kTorchApiVersion,
      &rgbdseg::configure_runtime,
      &rgbdseg::system_info,
      &rgbdseg::describe_exception,
  };
  return &api;
}
