#pragma once
// The tiny training recipe the trainer and command-line training tests share:
// a tiny model (tiny_hf_config.h) with narrow depth modules, no augmentation,
// few points per mask, a constant learning rate: a few seconds per run. Tests
// change what they study on top of it.
#include <string>

#include "rgbdseg/core/config.h"

namespace rgbdseg::testing {

inline Config tiny_training_config(const std::string& hf_config, const std::string& train, const std::string& variant) {
  Config c;
  c.runtime.threads = 1;
  c.model.variant = variant;
  c.model.hf_config = hf_config;
  c.model.depth.dggm.hidden_channels = 4;
  c.model.depth.predictor.channels = 4;
  c.data.train = train;
  c.data.batch_size = 2;
  c.data.workers = 1;
  c.data.resize = "none";
  c.data.hflip = false;
  c.data.colour_jitter = 0.0;
  c.train.max_steps = 4;
  c.train.lr = 1e-3;
  c.train.schedule = "constant";
  c.train.backbone_lr_multiplier = 1.0;
  c.train.clip_grad_norm = 0.0;
  c.train.log_every = 1;
  c.train.eval_every = 0;
  c.train.checkpoint_every = 0;
  c.train.criterion.num_points = 256;
  c.eval.batch_size = 2;
  return c;
}

}  // namespace rgbdseg::testing
