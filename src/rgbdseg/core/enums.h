#pragma once
// The enumerated settings of the configuration, each with its one name table
// (core/named_enum.h). The config reader parses them once; options structs
// below (data, coco, model, train, infer) carry the same types, so nothing
// downstream compares strings again.
#include <array>
#include <string>
#include <utility>

#include "rgbdseg/core/named_enum.h"

namespace rgbdseg {

// Which depth modules the model has (the paper's ablation rows).
enum class ModelVariant { Rgb, Dggm, Dsam, Edsam, Full };
template <>
struct EnumNames<ModelVariant> {
  static constexpr const char* what = "model variant";
  static constexpr std::array<std::pair<ModelVariant, const char*>, 5> names{{{ModelVariant::Rgb, "rgb"},
                                                                              {ModelVariant::Dggm, "dggm"},
                                                                              {ModelVariant::Dsam, "dsam"},
                                                                              {ModelVariant::Edsam, "edsam"},
                                                                              {ModelVariant::Full, "full"}}};
};

// How training images are resized (data/transforms.h).
enum class ResizeMode { None, ShortSide, ScaleRange, Fixed, LargeScaleJitter };
template <>
struct EnumNames<ResizeMode> {
  static constexpr const char* what = "resize mode";
  static constexpr std::array<std::pair<ResizeMode, const char*>, 5> names{{{ResizeMode::None, "none"},
                                                                            {ResizeMode::ShortSide, "short_side"},
                                                                            {ResizeMode::Fixed, "fixed"},
                                                                            {ResizeMode::ScaleRange, "scale_range"},
                                                                            {ResizeMode::LargeScaleJitter, "large_scale_jitter"}}};
};

// How depth maps are resized: nearest neighbour, or an area average of the
// valid readings only (holes stay holes instead of pulling edges to zero).
enum class DepthResize { Nearest, HoleAwareArea };
template <>
struct EnumNames<DepthResize> {
  static constexpr const char* what = "depth resize";
  static constexpr std::array<std::pair<DepthResize, const char*>, 2> names{
      {{DepthResize::Nearest, "nearest"}, {DepthResize::HoleAwareArea, "hole_aware"}}};
};

// The learning-rate schedule after the linear warm-up (train/lr_schedule.h).
enum class LrSchedule { Constant, Step, Poly, Cosine };
template <>
struct EnumNames<LrSchedule> {
  static constexpr const char* what = "schedule";
  static constexpr std::array<std::pair<LrSchedule, const char*>, 4> names{{{LrSchedule::Constant, "constant"},
                                                                            {LrSchedule::Step, "step"},
                                                                            {LrSchedule::Poly, "poly"},
                                                                            {LrSchedule::Cosine, "cosine"}}};
};

// Arithmetic of the forward pass: float32, or autocast to bf16 (CPU, CUDA) or
// fp16 (CUDA only); auto: bf16 where the device computes it natively (CUDA, a
// CPU with AVX512-BF16 or AMX), else float32 (model/autocast.h resolves it).
enum class Precision { F32, Bf16, Fp16, Auto };
template <>
struct EnumNames<Precision> {
  static constexpr const char* what = "precision";
  static constexpr std::array<std::pair<Precision, const char*>, 4> names{
      {{Precision::F32, "f32"}, {Precision::Bf16, "bf16"}, {Precision::Fp16, "fp16"}, {Precision::Auto, "auto"}}};
};

// What COCO evaluation compares: masks or boxes (pycocotools' iouType).
enum class IouType { Segm, Bbox };
template <>
struct EnumNames<IouType> {
  static constexpr const char* what = "iou type";
  static constexpr std::array<std::pair<IouType, const char*>, 2> names{{{IouType::Segm, "segm"}, {IouType::Bbox, "bbox"}}};
};

// Where a model runs: "cpu", "cuda" (the current CUDA device) or "cuda:N".
// Parsed once from runtime.device / --device; runtime/device.h turns it into
// a c10::Device, checking that this build and machine have it.
struct DeviceName {
  enum class Type { Cpu, Cuda } type = Type::Cpu;
  int index = -1;  // cuda:N; -1 = not given

  DeviceName() = default;
  DeviceName(const char* name);  // NOLINT: implicit, like Named; Error on a malformed name
  DeviceName(const std::string& name);  // NOLINT
  std::string name() const;
  bool is_cuda() const { return type == Type::Cuda; }

  friend bool operator==(const DeviceName& a, const DeviceName& b) { return a.type == b.type && a.index == b.index; }
  friend bool operator==(const DeviceName& a, const std::string& b) { return a.name() == b; }
  friend bool operator==(const DeviceName& a, const char* b) { return a.name() == b; }
  friend bool operator!=(const DeviceName& a, const DeviceName& b) { return !(a == b); }
  friend std::string operator+(const std::string& a, const DeviceName& b) { return a + b.name(); }
  friend std::ostream& operator<<(std::ostream& os, const DeviceName& d) { return os << d.name(); }
};

template <typename Json>
void to_json(Json& json, const DeviceName& device) {
  json = device.name();
}

// False for anything but "cpu", "cuda" and "cuda:N" (N: up to 3 digits).
bool is_device_name(const std::string& name);

}  // namespace rgbdseg
