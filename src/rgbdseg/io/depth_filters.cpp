#include "rgbdseg/io/depth_filters.h"

#include <algorithm>
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

}  // namespace rgbdseg
