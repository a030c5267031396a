#include "rgbdseg/runtime/device.h"

#include <ATen/Context.h>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

c10::Device resolve_device(const DeviceName& device) {
  if (!device.is_cuda()) return c10::Device(c10::kCPU);
  const std::string name = device.name();
  if (!at::hasCUDA()) {
    throw Error("--device " + name + ": CUDA is not available in this LibTorch build (Debian's libtorch is "
                "CPU-only; build against a CUDA LibTorch with CMAKE_PREFIX_PATH)");
  }
  const int index = device.index < 0 ? 0 : device.index;
  const int count = static_cast<int>(at::getNumGPUs());
  if (index >= count) {
    throw Error("--device " + name + ": this machine has " + std::to_string(count) + " CUDA device(s)");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace rgbdseg
