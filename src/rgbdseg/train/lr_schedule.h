#pragma once
// Learning-rate schedules as a factor of the base rate at an optimizer step:
// constant, step (x gamma at each milestone), poly ((1 - t)^power, detectron2's
// WarmupPolyLR) and cosine, each after a linear warm-up from warmup_factor.
#include <cstdint>

namespace rgbdseg {
struct TrainConfig;
}

namespace rgbdseg::train {

// Factor for `step` (0-based) of `max_steps`; never negative.
double lr_factor(const TrainConfig& config, int64_t step);

}  // namespace rgbdseg::train
