#pragma once
// Learning-rate schedules as a factor of the base rate at an optimizer step:
// constant, step (x gamma at each milestone), poly ((1 - t)^power, detectron2's
// WarmupPolyLR) and cosine, each after a linear warm-up from warmup_factor.
#include <cstdint>
#include <vector>

#include "rgbdseg/core/enums.h"

namespace rgbdseg::train {

struct ScheduleOptions {
  using Kind = LrSchedule;  // core/enums.h
  Kind kind = Kind::Poly;
  int64_t max_steps = 1000;
  int64_t warmup_steps = 0;
  double warmup_factor = 0.001;        // factor at step 0 of the warm-up
  double poly_power = 0.9;
  std::vector<int> step_milestones;    // Step: factor *= step_gamma at each
  double step_gamma = 0.1;
  double min_lr_factor = 0.0;          // Poly / Cosine floor
};

// Factor for `step` (0-based) of `max_steps`; never negative.
double lr_factor(const ScheduleOptions& options, int64_t step);

}  // namespace rgbdseg::train
