#include "rgbdseg/model/rgbd_model.h"

#include <ATen/record_function.h>

#include <ATen/ATen.h>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/safetensors.h"

namespace rgbdseg::model {

const std::vector<std::string>& model_variants() {
  static const std::vector<std::string> variants = [] {
    std::vector<std::string> names;
    for (const auto& entry : EnumNames<ModelVariant>::names) names.emplace_back(entry.second);
    return names;
  }();
  return variants;
}

RgbdMask2FormerImpl::RgbdMask2FormerImpl(RgbdModelOptions options)
    : Mask2FormerImpl(options.mask2former), rgbd_options_(std::move(options)) {
  const auto& d = rgbd_options_.depth;
  if (d.use_dggm || d.use_dsam) depth = register_module("depth", DepthFusion(d));
}

RgbdOutput RgbdMask2FormerImpl::forward(const at::Tensor& pixel_values, const at::Tensor& depth_map) {
  SwinFeatures features;
  {
    RECORD_USER_SCOPE("stage:backbone");  // names for profile_ops (runtime/op_profile.h)
    features = backbone->forward(pixel_values);
  }
  DepthFusionOutput fused;
  if (has_depth()) {
    if (!depth_map.defined()) throw Error("model variant '" + rgbd_options_.variant + "' needs a depth map");
    const int64_t h = pixel_values.size(2), w = pixel_values.size(3);
    if (depth_map.size(-2) != h || depth_map.size(-1) != w) {
      throw Error("depth is " + std::to_string(depth_map.size(-2)) + "x" + std::to_string(depth_map.size(-1)) +
                  ", the image " + std::to_string(h) + "x" + std::to_string(w) + " (they must be aligned)");
    }
    RECORD_USER_SCOPE("stage:depth");
    fused = depth->forward(features.maps, depth_map);
    features.maps = fused.maps;
  }
  RgbdOutput out;
  static_cast<Mask2FormerOutput&>(out) = decode(std::move(features));
  out.depth = std::move(fused);
  return out;
}

void load_rgbd_weights(RgbdMask2FormerImpl& model, const SafetensorsFile& file, const std::string& file_name,
                       WeightLoadOptions options) {
  bool file_has_depth = false;
  for (const auto& [name, t] : file.tensors) file_has_depth |= name.rfind("depth.", 0) == 0;
  if (model.has_depth() && !file_has_depth) {
    options.allow_missing_prefixes.push_back("depth.");
    RGBDSEG_LOG(Info) << "weights: '" << file_name << "' has no depth modules; the " << model.rgbd_options().variant
                      << " model's depth modules start from their initialisation";
  }
  load_mask2former_weights(model, file, file_name, options);
}

}  // namespace rgbdseg::model
