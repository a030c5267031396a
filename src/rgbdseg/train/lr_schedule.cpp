#include "rgbdseg/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace rgbdseg::train {

double lr_factor(const ScheduleOptions& c, int64_t step) {
  const double t =
      std::clamp(static_cast<double>(step) / static_cast<double>(std::max<int64_t>(c.max_steps, 1)), 0.0, 1.0);
  double f = 1.0;
  switch (c.kind) {
    case ScheduleOptions::Kind::Constant: break;
    case ScheduleOptions::Kind::Step:
      for (int m : c.step_milestones) f *= step >= m ? c.step_gamma : 1.0;
      break;
    case ScheduleOptions::Kind::Poly: f = c.min_lr_factor + (1 - c.min_lr_factor) * std::pow(1 - t, c.poly_power); break;
    case ScheduleOptions::Kind::Cosine:
      f = c.min_lr_factor + (1 - c.min_lr_factor) * 0.5 * (1 + std::cos(M_PI * t));
      break;
  }
  if (step < c.warmup_steps) {
    const double alpha = static_cast<double>(step) / static_cast<double>(c.warmup_steps);
    f *= c.warmup_factor * (1 - alpha) + alpha;
  }
  return std::max(f, 0.0);
}

}  // namespace rgbdseg::train
