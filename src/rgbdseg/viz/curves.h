#pragma once
// Training curves as one picture (what `rgbdseg plot` writes), drawn with
// OpenCV: stacked panels sharing the step axis, top to bottom
//   loss: raw (light) and its exponential moving average (dark); log y when the
//         loss spans more than two decades; red ticks at skipped steps
//   lr:   learning rate
//   ap:   eval AP, AP50, AP75 with markers (only when the log has eval records)
// with "nice" ticks (1, 2, 5 x 10^k), grid, titles and legends. Torch-free; RGB
// 8-bit.
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "rgbdseg/viz/training_log.h"

namespace rgbdseg {

struct CurvesOptions {
  int width = 1200;  // pixels
  int height = 900;
  double smoothing = 0.9;  // EMA factor in [0, 1): 0 = the EMA is the raw loss
  // Error unless width >= kMinWidth, height >= kMinHeight and 0 <= smoothing
  // < 1.
  void validate() const;
  static constexpr int kMinWidth = 320, kMinHeight = 240;
};

// ema[0] = v[0]; ema[i] = s * ema[i-1] + (1 - s) * v[i]. Non-finite inputs give
// NaN at their position and leave the average unchanged.
std::vector<double> exponential_moving_average(const std::vector<double>& values, double smoothing);

// Ticks in [lo, hi] at multiples of 1, 2 or 5 x 10^k, about `max_ticks` of them
// at most.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks);

// Where each panel's plotting area lies in the picture, and what its axes span.
struct CurvePanelLayout {
  std::string name;             // "loss", "lr", "ap"
  cv::Rect plot;                // pixels inside the frame
  double x_min = 0, x_max = 1;  // steps
  double y_min = 0,
         y_max = 1;  // data units (log_y: still data units, not log10)
  bool log_y = false;
};

// Panels top to bottom; what draw_training_curves() draws into. Error when the
// log has no train records.
std::vector<CurvePanelLayout> training_curves_layout(const TrainingLog& log, const CurvesOptions& options = {});

// The whole picture: CV_8UC3, RGB, options.height x options.width.
cv::Mat draw_training_curves(const TrainingLog& log, const CurvesOptions& options = {});

}  // namespace rgbdseg
