// Learning-rate schedules: every value below was computed by hand (the
// formulas in the comments, evaluated in Python), not read from the code.
#include <gtest/gtest.h>

#include "rgbdseg/core/config.h"
#include "rgbdseg/train/build.h"
#include "rgbdseg/train/lr_schedule.h"

using rgbdseg::TrainConfig;
namespace {
// The schedule a config describes (train/build.h translates it).
double lr_factor(const TrainConfig& c, int64_t step) {
  return rgbdseg::train::lr_factor(rgbdseg::train::schedule_options(c), step);
}
}  // namespace

namespace {

TrainConfig schedule(const char* name, int max_steps = 10) {
  TrainConfig c;
  c.schedule = name;
  c.max_steps = max_steps;
  c.warmup_steps = 0;
  c.min_lr_factor = 0.0;
  return c;
}

constexpr double kTol = 1e-12;

}  // namespace

TEST(LrSchedule, ConstantIsOneEverywhere) {
  TrainConfig c = schedule("constant");
  c.min_lr_factor = 0.3;  // a floor only for poly and cosine
  for (int64_t s : {0, 1, 5, 9, 10, 1000}) EXPECT_DOUBLE_EQ(lr_factor(c, s), 1.0) << s;
}

TEST(LrSchedule, StepMultipliesByGammaAtEachMilestone) {
  TrainConfig c = schedule("step", 100);
  c.step_milestones = {3, 6};
  c.step_gamma = 0.1;
  EXPECT_DOUBLE_EQ(lr_factor(c, 0), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(c, 2), 1.0);
  EXPECT_NEAR(lr_factor(c, 3), 0.1, kTol);  // a milestone counts from its own step on
  EXPECT_NEAR(lr_factor(c, 5), 0.1, kTol);
  EXPECT_NEAR(lr_factor(c, 6), 0.01, kTol);
  EXPECT_NEAR(lr_factor(c, 99), 0.01, kTol);
}

TEST(LrSchedule, PolyWithPowerPointNine) {
  TrainConfig c = schedule("poly");
  c.poly_power = 0.9;
  EXPECT_NEAR(lr_factor(c, 0), 1.0, kTol);
  EXPECT_NEAR(lr_factor(c, 3), 0.7254178469372199, kTol);  // 0.7^0.9
  EXPECT_NEAR(lr_factor(c, 5), 0.5358867312681466, kTol);  // 0.5^0.9
  EXPECT_NEAR(lr_factor(c, 10), 0.0, kTol);
  EXPECT_NEAR(lr_factor(c, 15), 0.0, kTol);  // past the end: clamped, never negative
  c.min_lr_factor = 0.1;
  EXPECT_NEAR(lr_factor(c, 5), 0.582298058141332, kTol);  // 0.1 + 0.9 * 0.5^0.9
  EXPECT_NEAR(lr_factor(c, 10), 0.1, kTol);
  EXPECT_NEAR(lr_factor(c, 0), 1.0, kTol);
}

TEST(LrSchedule, CosineFromOneToTheFloor) {
  TrainConfig c = schedule("cosine");
  EXPECT_NEAR(lr_factor(c, 0), 1.0, kTol);
  EXPECT_NEAR(lr_factor(c, 3), 0.7938926261462366, kTol);  // (1 + cos(0.3 pi)) / 2
  EXPECT_NEAR(lr_factor(c, 5), 0.5, kTol);
  EXPECT_NEAR(lr_factor(c, 10), 0.0, kTol);
  c.min_lr_factor = 0.2;
  EXPECT_NEAR(lr_factor(c, 3), 0.8351141009169893, kTol);  // 0.2 + 0.8 (1 + cos(0.3 pi)) / 2
  EXPECT_NEAR(lr_factor(c, 10), 0.2, kTol);
  EXPECT_NEAR(lr_factor(c, 20), 0.2, kTol);
}

TEST(LrSchedule, LinearWarmupFromWarmupFactor) {
  TrainConfig c = schedule("constant", 100);
  c.warmup_steps = 4;
  c.warmup_factor = 0.001;
  EXPECT_NEAR(lr_factor(c, 0), 0.001, kTol);
  EXPECT_NEAR(lr_factor(c, 1), 0.25075, kTol);  // 0.001 * 3/4 + 1/4
  EXPECT_NEAR(lr_factor(c, 2), 0.5005, kTol);
  EXPECT_NEAR(lr_factor(c, 3), 0.75025, kTol);
  EXPECT_NEAR(lr_factor(c, 4), 1.0, kTol);  // warm-up over
  EXPECT_NEAR(lr_factor(c, 50), 1.0, kTol);
}

TEST(LrSchedule, WarmupMultipliesTheSchedule) {
  TrainConfig c = schedule("poly");
  c.poly_power = 0.9;
  c.warmup_steps = 4;
  c.warmup_factor = 0.001;
  EXPECT_NEAR(lr_factor(c, 2), 0.4094350990984546, kTol);  // 0.8^0.9 * (0.001 * 0.5 + 0.5), detectron2's WarmupPolyLR
  EXPECT_NEAR(lr_factor(c, 0), 0.001, kTol);
  EXPECT_NEAR(lr_factor(c, 5), 0.5358867312681466, kTol);
}
