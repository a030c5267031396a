#pragma once
// bf16 autocast on the CPU for one scope: enabled on construction when asked,
// disabled (and its cast cache cleared) on destruction, exceptions included.
#include <ATen/autocast_mode.h>

namespace rgbdseg::model {

class CpuAutocast {
 public:
  explicit CpuAutocast(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
  ~CpuAutocast() {
    if (!enabled_) return;
    at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }
  CpuAutocast(const CpuAutocast&) = delete;
  CpuAutocast& operator=(const CpuAutocast&) = delete;

 private:
  bool enabled_;
};

}  // namespace rgbdseg::model
