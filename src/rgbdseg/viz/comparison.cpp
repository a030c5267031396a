#include "rgbdseg/viz/comparison.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

namespace {

const cv::Vec3b kFalsePositive(230, 30, 30);

void blend(cv::Mat& out, const cv::Mat& mask, const cv::Vec3b& c, double alpha, bool hatched) {
  for (int y = 0; y < out.rows; ++y) {
    const uint8_t* m = mask.ptr<uint8_t>(y);
    cv::Vec3b* o = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < out.cols; ++x) {
      if (!m[x]) continue;
      const double a = hatched && ((x + y) / 4) % 2 == 0 ? std::min(1.0, alpha * 1.8) : alpha;
      for (int ch = 0; ch < 3; ++ch) o[x][ch] = static_cast<uint8_t>(std::lround((1 - a) * o[x][ch] + a * c[ch]));
    }
  }
}

std::vector<std::vector<cv::Point>> outline(const cv::Mat& mask) {
  std::vector<std::vector<cv::Point>> contours;
  cv::Mat binary = mask != 0;
  cv::findContours(binary, contours, cv::RETR_LIST, cv::CHAIN_APPROX_NONE);
  return contours;
}

void draw_dashed(cv::Mat& out, const std::vector<std::vector<cv::Point>>& contours, const cv::Vec3b& c, int thickness) {
  for (const auto& contour : contours) {
    for (size_t i = 0; i < contour.size(); ++i) {
      if ((i / 4) % 2 == 1) continue;  // 4 pixels on, 4 off
      cv::circle(out, contour[i], std::max(0, thickness / 2), cv::Scalar(c[0], c[1], c[2]), cv::FILLED);
    }
  }
}

void draw_label(cv::Mat& out, const cv::Mat& mask, const std::string& text, const cv::Vec3b& c) {
  if (text.empty()) return;
  const cv::Rect box = cv::boundingRect(mask != 0);
  if (box.empty()) return;
  const double scale = std::max(0.35, out.cols / 1600.0);
  int baseline = 0;
  const cv::Size ts = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
  const cv::Point org(box.x, std::max(ts.height + 2, box.y - 3));
  cv::rectangle(out, org + cv::Point(-1, baseline), org + cv::Point(ts.width + 1, -ts.height - 2),
                cv::Scalar(c[0], c[1], c[2]), cv::FILLED);
  const bool dark = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] < 110;
  const cv::Scalar ink = dark ? cv::Scalar(255, 255, 255) : cv::Scalar(0, 0, 0);
  cv::putText(out, text, org, cv::FONT_HERSHEY_SIMPLEX, scale, ink, 1, cv::LINE_AA);
}

cv::Mat draw_panel(const cv::Mat& rgb, const ComparisonPanel& panel) {
  cv::Mat image = rgb.clone();
  const int thickness = std::max(1, rgb.cols / 320);
  // Fills first, then outlines and labels, so no fill hides another object's outline.
  for (const auto& obj : panel.objects) {
    if (obj.mask.size() != rgb.size() || obj.mask.type() != CV_8UC1) {
      throw Error("comparison_frame: a mask differs from the image in size or type");
    }
    if (obj.style == PanelObject::Style::Filled) blend(image, obj.mask, obj.colour, 0.45, false);
    if (obj.style == PanelObject::Style::FalsePositive) blend(image, obj.mask, kFalsePositive, 0.35, true);
  }
  for (const auto& obj : panel.objects) {
    const auto contours = outline(obj.mask);
    const cv::Vec3b c = obj.style == PanelObject::Style::FalsePositive ? kFalsePositive : obj.colour;
    if (obj.style == PanelObject::Style::Missed) {
      draw_dashed(image, contours, c, thickness + 1);
    } else {
      cv::drawContours(image, contours, -1, cv::Scalar(c[0], c[1], c[2]), thickness);
    }
  }
  for (const auto& obj : panel.objects) {
    draw_label(image, obj.mask, obj.label, obj.style == PanelObject::Style::FalsePositive ? kFalsePositive : obj.colour);
  }
  // The title band above the image.
  const double scale = std::max(0.4, rgb.cols / 1400.0);
  int baseline = 0;
  std::string title = panel.title;
  cv::Size ts = cv::getTextSize(title, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
  while (ts.width > rgb.cols - 8 && title.size() > 4) {
    title = title.substr(0, title.size() - 4) + "...";
    ts = cv::getTextSize(title, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
  }
  const int band = ts.height + baseline + 10;
  cv::Mat out(rgb.rows + band, rgb.cols, CV_8UC3, cv::Scalar(32, 32, 32));
  image.copyTo(out(cv::Rect(0, band, rgb.cols, rgb.rows)));
  cv::putText(out, title, cv::Point(4, 5 + ts.height), cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(240, 240, 240), 1,
              cv::LINE_AA);
  return out;
}

}  // namespace

cv::Mat comparison_frame(const cv::Mat& rgb, const std::vector<ComparisonPanel>& panels) {
  if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("comparison_frame: expected an 8-bit RGB image");
  if (panels.empty()) throw Error("comparison_frame: no panels");
  std::vector<cv::Mat> drawn;
  const int gap = 4;
  for (size_t k = 0; k < panels.size(); ++k) {
    drawn.push_back(draw_panel(rgb, panels[k]));
    if (k + 1 < panels.size()) drawn.emplace_back(drawn.back().rows, gap, CV_8UC3, cv::Scalar(255, 255, 255));
  }
  cv::Mat out;
  cv::hconcat(drawn, out);
  return out;
}

}  // namespace rgbdseg
