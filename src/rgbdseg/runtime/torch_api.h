#pragma once
// The entry points of the torch plugin (librgbdseg_torch.so) that the
// command-line tool loads on demand. Torch-free: only std types cross.
#include <exception>
#include <string>

namespace rgbdseg {

struct TorchApi {
  int abi_version;  // kTorchApiVersion of the plugin
  int (*configure_runtime)(int threads);
  std::string (*system_info)();
  std::string (*describe_exception)(const std::exception& e);
};

constexpr int kTorchApiVersion = 1;

}  // namespace rgbdseg

extern "C" const rgbdseg::TorchApi* rgbdseg_torch_api();
