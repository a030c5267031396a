#pragma once
// The side-by-side frames of `rgbdseg compare`: the same image once per panel
// (ground truth, then each model), each under a title band, with objects drawn
// so that one object keeps its colour across panels:
//   Filled         a ground-truth object, or a prediction matched to one (in
//                  that object's colour)
//   FalsePositive  a prediction that matched nothing: red, hatched
//   Missed         an object the model did not find: its outline, dashed, in
//                  the object's colour
// Images are RGB order, 8-bit.
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace rgbdseg {

struct PanelObject {
  enum class Style { Filled, FalsePositive, Missed };
  cv::Mat mask;  // CV_8UC1, image size, non-zero = object
  cv::Vec3b colour;
  std::string label;  // drawn at the object's top-left ("" = none)
  Style style = Style::Filled;
};

struct ComparisonPanel {
  std::string title;  // e.g. "ground truth: 5 objects" or "full: AP 0.52 | 4 matched, 1 missed, ..."
  std::vector<PanelObject> objects;
};

// One panel per entry, left to right; panels wider than the image's text allows
// get their title shortened with "...".
cv::Mat comparison_frame(const cv::Mat& rgb, const std::vector<ComparisonPanel>& panels);

}  // namespace rgbdseg
