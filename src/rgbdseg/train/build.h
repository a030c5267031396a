#pragma once
// The one place where the resolved configuration becomes typed options
// (detectron2's `from_config`): the model and its weights, the loss, the
// augmentation, the learning-rate schedule and inference (how depth files are
// read comes from core/config.h's depth_read_options, torch-free). Library code below this layer takes options structs, never a
// Config; a new config key is read here and nowhere else.
#include <string>

#include "rgbdseg/core/config.h"
#include "rgbdseg/data/transforms.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/train/criterion.h"
#include "rgbdseg/infer/inference.h"
#include "rgbdseg/train/lr_schedule.h"

namespace rgbdseg::train {

// The variant's modules and the depth options of `model`; `mask2former`
// comes from its Hugging Face config.json.
model::RgbdModelOptions model_options(const ModelConfig& model, model::Mask2FormerOptions mask2former);
// The same, reading model.hf_config (an error naming the key when unset).
model::RgbdModelOptions model_options(const Config& config);

// The config's model (model.variant, model.hf_config) with `weights` loaded,
// in eval mode. Errors: a variant with depth modules and a checkpoint without them.
model::RgbdMask2Former load_model_for_inference(const Config& config, const std::string& weights);

CriterionOptions criterion_options(const CriterionConfig& criterion);
AugmentOptions augment_options(const DataConfig& data);
ScheduleOptions schedule_options(const TrainConfig& train);

// The eval section (threshold: eval.score_threshold; short side:
// eval.short_side, 0 meaning the recorded training size model.train_short_side).
infer::InferenceOptions inference_options(const Config& config);

}  // namespace rgbdseg::train
