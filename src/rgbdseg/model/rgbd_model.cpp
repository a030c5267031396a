#include "rgbdseg/model/rgbd_model.h"

#include <ATen/ATen.h>

#include "rgbdseg/core/config.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/safetensors.h"

namespace rgbdseg::model {

const std::vector<std::string>& model_variants() {
  static const std::vector<std::string> variants{"rgb", "dggm", "dsam", "edsam", "full"};
  return variants;
}

RgbdModelOptions rgbd_model_options(const ModelConfig& c, Mask2FormerOptions mask2former) {
  RgbdModelOptions o;
  o.variant = c.variant;
  auto& d = o.depth;
  if (c.variant == "rgb") {
  } else if (c.variant == "dggm") {
    d.use_dggm = true;
  } else if (c.variant == "dsam") {
    d.use_dsam = true;
  } else if (c.variant == "edsam") {
    d.use_dsam = d.predict_ratio = true;
  } else if (c.variant == "full") {
    d.use_dggm = d.use_dsam = d.predict_ratio = true;
  } else {
    throw Error("model.variant: unknown variant \"" + c.variant + "\" (rgb, dggm, dsam, edsam, full)");
  }
  for (size_t s = 0; s < mask2former.swin.depths.size(); ++s) d.channels.push_back(mask2former.swin.stage_channels(s));
  const auto& cd = c.depth;
  d.min_depth = cd.min_depth;
  d.max_depth = cd.max_depth;
  d.gradients.log_depth = cd.gradients.log_depth;
  d.gradients.smooth_sigma = cd.gradients.smooth_sigma;
  d.gradients.norm_percentile = cd.gradients.norm_percentile;
  d.dggm.hidden_channels = cd.dggm.hidden_channels;
  d.fixed_ratio = cd.dsam.window_ratio;
  d.dsam_kernel_size = cd.dsam.kernel_size;
  d.decomposition.num_modes = cd.dsam.num_modes;
  d.decomposition.bins = cd.dsam.bins;
  d.decomposition.histogram_smoothing = cd.dsam.histogram_smoothing;
  d.decomposition.prominence = cd.dsam.prominence;
  d.decomposition.soft_windows = cd.dsam.soft_windows;
  d.decomposition.temperature = cd.dsam.temperature;
  d.predictor.min_ratio = cd.predictor.min_ratio;
  d.predictor.max_ratio = cd.predictor.max_ratio;
  d.predictor.input_stride = cd.predictor.input_stride;
  d.predictor.channels = cd.predictor.channels;
  // Start where DSAM's fixed ratio is, when that lies inside the predicted range.
  if (cd.dsam.window_ratio > d.predictor.min_ratio && cd.dsam.window_ratio < d.predictor.max_ratio) {
    d.predictor.initial_ratio = cd.dsam.window_ratio;
  } else {
    d.predictor.initial_ratio = 0.5 * (d.predictor.min_ratio + d.predictor.max_ratio);
  }
  o.mask2former = std::move(mask2former);
  return o;
}

RgbdModelOptions load_model_options(const Config& config) {
  if (config.model.hf_config.empty()) {
    throw Error("config: /model/hf_config is not set (a Hugging Face Mask2Former config.json, e.g. "
                "configs/hf/mask2former-swin-tiny-coco-instance.json)");
  }
  return rgbd_model_options(config.model, load_hf_config(config.model.hf_config));
}

RgbdMask2FormerImpl::RgbdMask2FormerImpl(RgbdModelOptions options)
    : Mask2FormerImpl(options.mask2former), rgbd_options_(std::move(options)) {
  const auto& d = rgbd_options_.depth;
  if (d.use_dggm || d.use_dsam) depth = register_module("depth", DepthFusion(d));
}

RgbdOutput RgbdMask2FormerImpl::forward(const at::Tensor& pixel_values, const at::Tensor& depth_map) {
  auto features = backbone->forward(pixel_values);
  DepthFusionOutput fused;
  if (has_depth()) {
    if (!depth_map.defined()) throw Error("model variant '" + rgbd_options_.variant + "' needs a depth map");
    const int64_t h = pixel_values.size(2), w = pixel_values.size(3);
    if (depth_map.size(-2) != h || depth_map.size(-1) != w) {
      throw Error("depth is " + std::to_string(depth_map.size(-2)) + "x" + std::to_string(depth_map.size(-1)) +
                  ", the image " + std::to_string(h) + "x" + std::to_string(w) + " (they must be aligned)");
    }
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

RgbdMask2Former load_model_for_inference(const Config& config, const std::string& weights) {
  RgbdMask2Former m(load_model_options(config));
  const SafetensorsFile file = read_safetensors(weights);
  bool has_depth_keys = false;
  for (const auto& [name, t] : file.tensors) has_depth_keys |= name.rfind("depth.", 0) == 0;
  if (m->has_depth() && !has_depth_keys) {
    throw Error(weights + ": no depth-module weights for the " + config.model.variant +
                " variant (a plain Mask2Former checkpoint? use --set model.variant=rgb)");
  }
  WeightLoadOptions options;
  options.allow_new_class_head = false;  // evaluation needs the trained head
  load_rgbd_weights(*m, file, weights, options);
  m->eval();
  return m;
}

}  // namespace rgbdseg::model
