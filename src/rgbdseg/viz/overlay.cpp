#include "rgbdseg/viz/overlay.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

cv::Vec3b instance_colour(int index) {
  const double hue = std::fmod(0.11 + index * 0.618033988749895, 1.0) * 180.0;  // OpenCV hue range 0..180
  cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(hue, 210, 245)), rgb;
  cv::cvtColor(hsv, rgb, cv::COLOR_HSV2RGB);
  return rgb.at<cv::Vec3b>(0, 0);
}

cv::Mat colorize_depth(const cv::Mat& depth_m, double min_m, double max_m) {
  if (depth_m.type() != CV_32FC1) throw Error("colorize_depth: expected CV_32FC1 metres");
  if (!(min_m < max_m)) {
    std::vector<float> valid;
    valid.reserve(depth_m.total());
    for (int y = 0; y < depth_m.rows; ++y) {
      const float* row = depth_m.ptr<float>(y);
      for (int x = 0; x < depth_m.cols; ++x)
        if (row[x] > 0) valid.push_back(row[x]);
    }
    if (valid.empty()) return cv::Mat::zeros(depth_m.size(), CV_8UC3);
    auto nth = [&](double q) {
      auto it = valid.begin() + static_cast<std::ptrdiff_t>(q * (valid.size() - 1));
      std::nth_element(valid.begin(), it, valid.end());
      return static_cast<double>(*it);
    };
    min_m = nth(0.02);
    max_m = nth(0.98);
    if (!(min_m < max_m)) max_m = min_m + 1e-3;
  }
  cv::Mat scaled(depth_m.size(), CV_8UC1), coloured;
  for (int y = 0; y < depth_m.rows; ++y) {
    const float* in = depth_m.ptr<float>(y);
    uint8_t* out = scaled.ptr<uint8_t>(y);
    for (int x = 0; x < depth_m.cols; ++x) {
      const double t = std::clamp((in[x] - min_m) / (max_m - min_m), 0.0, 1.0);
      out[x] = static_cast<uint8_t>(std::lround(255 * (1 - t)));  // near = high = red in turbo
    }
  }
  cv::applyColorMap(scaled, coloured, cv::COLORMAP_TURBO);  // BGR
  cv::cvtColor(coloured, coloured, cv::COLOR_BGR2RGB);
  coloured.setTo(cv::Scalar(0, 0, 0), depth_m <= 0);
  return coloured;
}

cv::Mat draw_instances(const cv::Mat& rgb, const std::vector<LabelledMask>& instances, double alpha) {
  cv::Mat out = rgb.clone();
  for (size_t k = 0; k < instances.size(); ++k) {
    const cv::Mat& m = instances[k].mask;
    if (m.size() != rgb.size()) throw Error("draw_instances: mask size differs from the image");
    const cv::Vec3b c = instance_colour(static_cast<int>(k));
    for (int y = 0; y < out.rows; ++y) {
      const uint8_t* mrow = m.ptr<uint8_t>(y);
      cv::Vec3b* orow = out.ptr<cv::Vec3b>(y);
      for (int x = 0; x < out.cols; ++x) {
        if (!mrow[x]) continue;
        for (int ch = 0; ch < 3; ++ch) {
          orow[x][ch] = static_cast<uint8_t>(std::lround((1 - alpha) * orow[x][ch] + alpha * c[ch]));
        }
      }
    }
    std::vector<std::vector<cv::Point>> contours;
    cv::Mat binary = m != 0;
    cv::findContours(binary, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    cv::drawContours(out, contours, -1, cv::Scalar(c[0], c[1], c[2]), 2);
    if (!instances[k].label.empty() && !contours.empty()) {
      const cv::Rect box = cv::boundingRect(binary);
      const double scale = std::max(0.35, out.cols / 1600.0);
      int baseline = 0;
      const cv::Size ts = cv::getTextSize(instances[k].label, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
      const cv::Point org(box.x, std::max(ts.height + 2, box.y - 3));
      cv::rectangle(out, org + cv::Point(-1, baseline), org + cv::Point(ts.width + 1, -ts.height - 2),
                    cv::Scalar(c[0], c[1], c[2]), cv::FILLED);
      cv::putText(out, instances[k].label, org, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    }
  }
  return out;
}

cv::Mat rgbd_panel(const cv::Mat& rgb, const cv::Mat& depth_m, const std::vector<LabelledMask>& instances) {
  cv::Mat panel;
  cv::hconcat(std::vector<cv::Mat>{rgb, colorize_depth(depth_m), draw_instances(rgb, instances)}, panel);
  return panel;
}

}  // namespace rgbdseg
