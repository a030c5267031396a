#include "rgbdseg/io/depth_filters.h"

#include <algorithm>
#include <bitset>
#include <cmath>
#include <vector>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

cv::Mat decimate_depth(const cv::Mat& depth, int n, RealSenseIntrinsics* intrinsics) {
  if (depth.type() != CV_16UC1) throw Error("decimation: expected 16-bit depth");
  if (n < 1 || n > 8) throw Error("decimation: magnitude " + std::to_string(n) + " is outside 1-8");
  const int w = depth.cols / n, h = depth.rows / n;
  const int padded_w = (w + 3) / 4 * 4, padded_h = (h + 3) / 4 * 4;
  cv::Mat out = cv::Mat::zeros(padded_h, padded_w, CV_16UC1);
  std::vector<uint16_t> block;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      block.clear();
      for (int dy = 0; dy < n; ++dy) {
        const uint16_t* row = depth.ptr<uint16_t>(y * n + dy) + x * n;
        for (int dx = 0; dx < n; ++dx) {
          if (row[dx]) block.push_back(row[dx]);
        }
      }
      if (block.empty()) continue;
      uint16_t v = 0;
      if (n <= 3) {
        const size_t mid = (block.size() - 1) / 2;  // the lower middle for an even count
        std::nth_element(block.begin(), block.begin() + static_cast<std::ptrdiff_t>(mid), block.end());
        v = block[mid];
      } else {
        uint32_t sum = 0;
        for (uint16_t b : block) sum += b;
        v = static_cast<uint16_t>(sum / block.size());
      }
      out.at<uint16_t>(y, x) = v;
    }
  }
  if (intrinsics) {
    intrinsics->width = padded_w;
    intrinsics->height = padded_h;
    intrinsics->fx /= n;
    intrinsics->fy /= n;
    intrinsics->ppx /= n;
    intrinsics->ppy /= n;
  }
  return out;
}

cv::Mat fill_depth_holes(const cv::Mat& depth, int mode) {
  if (depth.type() != CV_16UC1) throw Error("hole filling: expected 16-bit depth");
  if (mode < 0 || mode > 2) throw Error("hole filling: mode " + std::to_string(mode) + " is outside 0-2");
  cv::Mat out = depth.clone();
  const int H = out.rows, W = out.cols;
  for (int y = 0; y < H; ++y) {
    uint16_t* row = out.ptr<uint16_t>(y);
    for (int x = 0; x < W; ++x) {
      if (row[x]) continue;
      if (mode == 0) {
        if (x > 0) row[x] = row[x - 1];
        continue;
      }
      // up, up-left, left, down-left, down (up and left already filled in this pass)
      const int neighbours[5][2] = {{0, -1}, {-1, -1}, {-1, 0}, {-1, 1}, {0, 1}};
      uint16_t best = 0;
      for (const auto& d : neighbours) {
        const int nx = x + d[0], ny = y + d[1];
        if (nx < 0 || ny < 0 || ny >= H) continue;
        const uint16_t v = out.at<uint16_t>(ny, nx);
        if (v == 0) continue;
        best = best == 0 ? v : (mode == 1 ? std::max(best, v) : std::min(best, v));
      }
      row[x] = best;
    }
  }
  return out;
}

namespace {

// One recursive pass over n values at stride `step`; optionally fills holes.
void recursive_pass(float* v, int n, std::ptrdiff_t step, float alpha, float delta, int fill_radius) {
  float prev = v[0];
  int filled = 0;
  for (int i = 1; i < n; ++i) {
    float& cur = v[i * step];
    if (cur > 0 && prev > 0 && std::fabs(cur - prev) <= delta) {
      cur = alpha * cur + (1 - alpha) * prev;
      filled = 0;
    } else if (cur <= 0 && prev > 0 && fill_radius != 0 && (fill_radius < 0 || filled < fill_radius)) {
      cur = prev;  // a hole takes the last valid value
      ++filled;
    } else if (cur > 0) {
      filled = 0;
    }
    prev = cur;
  }
}

}  // namespace

cv::Mat spatial_filter_depth(const cv::Mat& depth, const SpatialFilterOptions& o) {
  if (depth.type() != CV_16UC1) throw Error("spatial filter: expected 16-bit depth");
  if (!(o.alpha >= 0.25 && o.alpha <= 1)) throw Error("spatial filter: alpha outside 0.25-1");
  if (!(o.delta >= 1 && o.delta <= 50)) throw Error("spatial filter: delta outside 1-50");
  if (o.iterations < 1 || o.iterations > 5) throw Error("spatial filter: iterations outside 1-5");
  if (o.holes_fill < 0 || o.holes_fill > 5) throw Error("spatial filter: holes_fill outside 0-5");
  const int radius = o.holes_fill == 0 ? 0 : o.holes_fill == 5 ? -1 : 1 << o.holes_fill;  // 2, 4, 8, 16, unlimited
  cv::Mat v;
  depth.convertTo(v, CV_32FC1);
  const float a = static_cast<float>(o.alpha), d = static_cast<float>(o.delta);
  const int H = v.rows, W = v.cols;
  for (int it = 0; it < o.iterations; ++it) {
    for (int y = 0; y < H; ++y) {
      float* row = v.ptr<float>(y);
      recursive_pass(row, W, 1, a, d, radius);
      recursive_pass(row + W - 1, W, -1, a, d, 0);
    }
    for (int x = 0; x < W; ++x) {
      float* col = v.ptr<float>(0) + x;
      recursive_pass(col, H, W, a, d, 0);
      recursive_pass(col + static_cast<std::ptrdiff_t>(H - 1) * W, H, -static_cast<std::ptrdiff_t>(W), a, d, 0);
    }
  }
  cv::Mat out;
  v.convertTo(out, CV_16UC1);  // rounds to the nearest unit
  return out;
}

TemporalDepthFilter::TemporalDepthFilter(double alpha, double delta, int persistence)
    : alpha_(alpha), delta_(delta), persistence_(persistence) {
  if (!(alpha >= 0 && alpha <= 1)) throw Error("temporal filter: alpha outside 0-1");
  if (!(delta >= 1 && delta <= 100)) throw Error("temporal filter: delta outside 1-100");
  if (persistence < 0 || persistence > 8) throw Error("temporal filter: persistence outside 0-8");
}

cv::Mat TemporalDepthFilter::apply(const cv::Mat& depth) {
  if (depth.type() != CV_16UC1) throw Error("temporal filter: expected 16-bit depth");
  if (previous_.empty()) {
    previous_ = cv::Mat::zeros(depth.size(), CV_32FC1);
    history_ = cv::Mat::zeros(depth.size(), CV_8UC1);
  } else if (previous_.size() != depth.size()) {
    throw Error("temporal filter: the frame size changed");
  }
  // (valid frames needed, out of the last N) per persistence setting.
  static const int kNeeded[9] = {0, 8, 2, 2, 2, 1, 1, 1, 0};
  static const int kOf[9] = {0, 8, 3, 4, 8, 2, 5, 8, 0};
  cv::Mat out(depth.size(), CV_16UC1);
  const float a = static_cast<float>(alpha_), d = static_cast<float>(delta_);
  for (int y = 0; y < depth.rows; ++y) {
    const uint16_t* cur = depth.ptr<uint16_t>(y);
    float* prev = previous_.ptr<float>(y);
    uint8_t* hist = history_.ptr<uint8_t>(y);
    uint16_t* o = out.ptr<uint16_t>(y);
    for (int x = 0; x < depth.cols; ++x) {
      float value = 0;
      if (cur[x]) {
        value = prev[x] > 0 && std::fabs(cur[x] - prev[x]) < d ? a * cur[x] + (1 - a) * prev[x] : cur[x];
      } else if (prev[x] > 0 && persistence_ > 0) {
        const unsigned recent = kOf[persistence_] == 0 ? 0u : hist[x] & ((1u << kOf[persistence_]) - 1u);
        if (persistence_ == 8 || static_cast<int>(std::bitset<8>(recent).count()) >= kNeeded[persistence_]) value = prev[x];
      }
      hist[x] = static_cast<uint8_t>((hist[x] << 1) | (cur[x] ? 1u : 0u));
      prev[x] = value;
      o[x] = static_cast<uint16_t>(std::lround(value));
    }
  }
  return out;
}

}  // namespace rgbdseg
