#pragma once
// The device every model command runs on, from runtime.device / --device
// (core/enums.h's DeviceName: "cpu", "cuda", "cuda:N"). Code below takes a
// c10::Device and uses it for the model (.to), its inputs and targets, and the
// autocast scope; tensors it creates follow their inputs' options, so nothing
// else needs to know.
#include <c10/core/Device.h>

#include "rgbdseg/core/enums.h"

namespace rgbdseg {

// Error("--device cuda: CUDA is not available in this LibTorch build") and
// similar one-line errors for devices the build or machine cannot serve.
c10::Device resolve_device(const DeviceName& device);

}  // namespace rgbdseg
