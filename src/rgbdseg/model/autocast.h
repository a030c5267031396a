#pragma once
// Mixed precision for one scope, per device type: bf16 autocast on the CPU,
// fp16 or bf16 on CUDA; enabled on construction when asked, disabled (and its
// cast cache cleared) on destruction, exceptions included.
#include <ATen/autocast_mode.h>
#include <c10/core/DeviceType.h>
#include <string>

#include "rgbdseg/core/enums.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/runtime/runtime.h"

namespace rgbdseg::model {

// Auto becomes bf16 on CUDA and on CPUs with native bf16, f32 elsewhere; the
// others stay as they are.
inline Precision resolve_precision(Precision precision, c10::DeviceType device) {
  if (precision != Precision::Auto) return precision;
  if (device == c10::DeviceType::CUDA) return Precision::Bf16;
  return device == c10::DeviceType::CPU && cpu_has_native_bf16() ? Precision::Bf16 : Precision::F32;
}

class Autocast {
 public:
  // F32: off; Bf16; Fp16 (CUDA only: an Error on the CPU); Auto: resolve_precision.
  Autocast(c10::DeviceType device, Named<Precision> requested) {
    const Named<Precision> precision = resolve_precision(requested, device);
    if (precision == Precision::F32) return;
    const at::ScalarType dtype = precision == Precision::Bf16 ? at::kBFloat16 : at::kHalf;
    if (device == c10::DeviceType::CPU) {
      if (dtype != at::kBFloat16) throw Error("precision fp16 needs a CUDA device; use bf16 on the CPU");
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(dtype);
      cpu_ = true;
    } else if (device == c10::DeviceType::CUDA) {
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(dtype);
      cuda_ = true;
    } else {
      throw Error(std::string("precision ") + precision.name() + ": no autocast for device type " + c10::DeviceTypeName(device, true));
    }
  }
  ~Autocast() {
    if (cpu_) at::autocast::set_cpu_enabled(false);
    if (cuda_) at::autocast::set_enabled(false);
    if (cpu_ || cuda_) at::autocast::clear_cache();
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool cpu_ = false, cuda_ = false;
};

// Autocast off for one scope, restored on exit: for arithmetic that must stay
// in its own precision inside an autocast region (depth in metres: bf16 keeps
// 8 bits, i.e. 4-8 mm steps at 1-2 m, finer than a table's slope per pixel).
class AutocastSuspended {
 public:
  AutocastSuspended() : cpu_(at::autocast::is_cpu_enabled()), cuda_(at::autocast::is_enabled()) {
    at::autocast::set_cpu_enabled(false);
    at::autocast::set_enabled(false);
  }
  ~AutocastSuspended() {
    at::autocast::set_cpu_enabled(cpu_);
    at::autocast::set_enabled(cuda_);
  }
  AutocastSuspended(const AutocastSuspended&) = delete;
  AutocastSuspended& operator=(const AutocastSuspended&) = delete;

 private:
  bool cpu_, cuda_;
};

// The CPU-only form the benchmarks use: bf16 when `enabled`.
class CpuAutocast : public Autocast {
 public:
  explicit CpuAutocast(bool enabled) : Autocast(c10::DeviceType::CPU, enabled ? Precision::Bf16 : Precision::F32) {}
};

}  // namespace rgbdseg::model
