#include "rgbdseg/train/build.h"

#include <algorithm>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/model/autocast.h"
#include "rgbdseg/runtime/device.h"

namespace rgbdseg::train {

model::RgbdModelOptions model_options(const ModelConfig& c, model::Mask2FormerOptions mask2former) {
  model::RgbdModelOptions o;
  o.variant = c.variant;
  auto& d = o.depth;
  switch (c.variant) {
    case ModelVariant::Rgb: break;
    case ModelVariant::Dggm: d.use_dggm = true; break;
    case ModelVariant::Dsam: d.use_dsam = true; break;
    case ModelVariant::Edsam: d.use_dsam = d.predict_ratio = true; break;
    case ModelVariant::Full: d.use_dggm = d.use_dsam = d.predict_ratio = true; break;
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

model::RgbdModelOptions model_options(const Config& config) {
  if (config.model.hf_config.empty()) {
    throw Error("config: /model/hf_config is not set (a Hugging Face Mask2Former config.json, e.g. "
                "configs/hf/mask2former-swin-tiny-coco-instance.json)");
  }
  return model_options(config.model, model::load_hf_config(config.model.hf_config));
}

model::RgbdMask2Former load_model_for_inference(const Config& config, const std::string& weights) {
  model::RgbdMask2Former m(model_options(config));
  const SafetensorsFile file = read_safetensors(weights);
  bool has_depth_keys = false;
  for (const auto& [name, t] : file.tensors) has_depth_keys |= name.rfind("depth.", 0) == 0;
  if (m->has_depth() && !has_depth_keys) {
    throw Error(weights + ": no depth-module weights for the " + config.model.variant +
                " variant (a plain Mask2Former checkpoint? use --set model.variant=rgb)");
  }
  model::WeightLoadOptions options;
  options.allow_new_class_head = false;  // evaluation needs the trained head
  model::load_rgbd_weights(*m, file, weights, options);
  m->to(resolve_device(config.runtime.device));
  m->eval();
  return m;
}

CriterionOptions criterion_options(const CriterionConfig& c) {
  CriterionOptions o;
  o.num_points = c.num_points;
  o.oversample_ratio = c.oversample_ratio;
  o.importance_sample_ratio = c.importance_sample_ratio;
  o.class_weight = c.class_weight;
  o.mask_weight = c.mask_weight;
  o.dice_weight = c.dice_weight;
  o.no_object_weight = c.no_object_weight;
  o.matcher_class_weight = c.matcher_class_weight;
  return o;
}

AugmentOptions augment_options(const DataConfig& d) {
  AugmentOptions a;
  a.resize = d.resize;
  a.short_sides = d.short_sides;
  a.max_long_side = d.max_long_side;
  a.min_scale = d.min_scale;
  a.max_scale = d.max_scale;
  a.fixed_height = d.fixed_height;
  a.fixed_width = d.fixed_width;
  a.crop_height = d.crop_height;
  a.crop_width = d.crop_width;
  a.hflip = d.hflip;
  a.brightness = a.contrast = a.saturation = d.colour_jitter;
  a.depth_noise_sigma = d.depth_noise;
  a.depth_dropout_boxes = d.depth_dropout_boxes;
  a.depth_resize = d.depth_resize;
  return a;
}

ScheduleOptions schedule_options(const TrainConfig& c) {
  ScheduleOptions o;
  o.kind = c.schedule;
  o.max_steps = c.max_steps;
  o.warmup_steps = c.warmup_steps;
  o.warmup_factor = c.warmup_factor;
  o.poly_power = c.poly_power;
  o.step_milestones = c.step_milestones;
  o.step_gamma = c.step_gamma;
  o.min_lr_factor = c.min_lr_factor;
  return o;
}

infer::InferenceOptions inference_options(const Config& config) {
  infer::InferenceOptions io;
  io.top_k = config.eval.top_k;
  io.threshold = config.eval.score_threshold;
  io.short_side = config.eval.short_side > 0    ? config.eval.short_side
                  : config.eval.short_side == 0 ? config.model.train_short_side
                                                : 0;
  io.train_short_side = config.model.train_short_side;
  io.max_long_side = config.eval.max_long_side;
  io.batch_size = config.eval.batch_size;
  io.workers = std::max(1, config.data.workers);
  io.device = resolve_device(config.runtime.device);
  if (config.eval.precision == Precision::Fp16 && !io.device.is_cuda()) {
    throw Error("config: /eval/precision fp16 needs a CUDA device; use bf16 on the CPU");
  }
  io.precision = model::resolve_precision(config.eval.precision, io.device.type());
  return io;
}

}  // namespace rgbdseg::train
