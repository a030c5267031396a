#include "rgbdseg/io/realsense_align.h"

#include <algorithm>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

namespace {

enum class Model { None, BrownConrady, ModifiedBrownConrady, InverseBrownConrady };

Model model_of(const RealSenseIntrinsics& k) {
  if (k.model.empty() || k.model == "None") return Model::None;
  if (k.model == "Brown Conrady") return Model::BrownConrady;
  if (k.model == "Modified Brown Conrady") return Model::ModifiedBrownConrady;
  if (k.model == "Inverse Brown Conrady") return Model::InverseBrownConrady;
  throw Error("RealSense distortion model '" + k.model + "' is not supported (None and the Brown Conrady family are)");
}

}  // namespace

std::array<float, 2> realsense_project(const RealSenseIntrinsics& k, const std::array<float, 3>& p) {
  const auto c = [&](int i) { return static_cast<float>(k.coeffs[static_cast<size_t>(i)]); };
  float x = p[0] / p[2], y = p[1] / p[2];
  const Model m = model_of(k);
  if (m == Model::ModifiedBrownConrady || m == Model::InverseBrownConrady) {
    // Tangential distortion applied to the radially distorted point.
    const float r2 = x * x + y * y;
    const float f = 1 + c(0) * r2 + c(1) * r2 * r2 + c(4) * r2 * r2 * r2;
    x *= f;
    y *= f;
    const float dx = x + 2 * c(2) * x * y + c(3) * (r2 + 2 * x * x);
    const float dy = y + 2 * c(3) * x * y + c(2) * (r2 + 2 * y * y);
    x = dx;
    y = dy;
  } else if (m == Model::BrownConrady) {
    // Tangential distortion from the undistorted point.
    const float r2 = x * x + y * y;
    const float f = 1 + c(0) * r2 + c(1) * r2 * r2 + c(4) * r2 * r2 * r2;
    const float dx = x * f + 2 * c(2) * x * y + c(3) * (r2 + 2 * x * x);
    const float dy = y * f + 2 * c(3) * x * y + c(2) * (r2 + 2 * y * y);
    x = dx;
    y = dy;
  }
  return {x * static_cast<float>(k.fx) + static_cast<float>(k.ppx), y * static_cast<float>(k.fy) + static_cast<float>(k.ppy)};
}

std::array<float, 3> realsense_deproject(const RealSenseIntrinsics& k, const std::array<float, 2>& pixel, float depth) {
  const auto c = [&](int i) { return static_cast<float>(k.coeffs[static_cast<size_t>(i)]); };
  float x = (pixel[0] - static_cast<float>(k.ppx)) / static_cast<float>(k.fx);
  float y = (pixel[1] - static_cast<float>(k.ppy)) / static_cast<float>(k.fy);
  const float xo = x, yo = y;
  const Model m = model_of(k);
  if (m == Model::InverseBrownConrady || m == Model::BrownConrady) {
    // Fixed-point iterations that undo the forward model of project().
    for (int i = 0; i < 10; ++i) {
      const float r2 = x * x + y * y;
      const float icdist = 1.0f / (1 + ((c(4) * r2 + c(1)) * r2 + c(0)) * r2);
      const float xq = m == Model::InverseBrownConrady ? x / icdist : x, yq = m == Model::InverseBrownConrady ? y / icdist : y;
      const float delta_x = 2 * c(2) * xq * yq + c(3) * (r2 + 2 * xq * xq);
      const float delta_y = 2 * c(3) * xq * yq + c(2) * (r2 + 2 * yq * yq);
      x = (xo - delta_x) * icdist;
      y = (yo - delta_y) * icdist;
    }
  } else if (m == Model::ModifiedBrownConrady) {
    throw Error("RealSense: deprojection through 'Modified Brown Conrady' is not defined (librealsense has none)");
  }
  return {depth * x, depth * y, depth};
}

RealSenseExtrinsics realsense_extrinsics_between(const RealSenseExtrinsics& a, const RealSenseExtrinsics& b) {
  // p_a = Ra p + ta, p_b = Rb p + tb  =>  p_b = Rb Ra^T (p_a - ta) + tb.
  RealSenseExtrinsics out;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += b.rotation[3 * i + k] * a.rotation[3 * j + k];
      out.rotation[3 * i + j] = s;
    }
  }
  for (int i = 0; i < 3; ++i) {
    double s = b.translation[i];
    for (int j = 0; j < 3; ++j) s -= out.rotation[3 * i + j] * a.translation[j];
    out.translation[i] = s;
  }
  return out;
}

cv::Mat align_depth_to_colour(const cv::Mat& depth, double depth_units, const RealSenseIntrinsics& depth_k,
                              const RealSenseIntrinsics& colour_k, const RealSenseExtrinsics& e) {
  if (depth.type() != CV_16UC1) throw Error("align_depth_to_colour: expected 16-bit depth");
  if (depth.cols != depth_k.width || depth.rows != depth_k.height) {
    throw Error("align_depth_to_colour: the depth image is " + std::to_string(depth.cols) + "x" + std::to_string(depth.rows) +
                ", its intrinsics are for " + std::to_string(depth_k.width) + "x" + std::to_string(depth_k.height));
  }
  cv::Mat out = cv::Mat::zeros(colour_k.height, colour_k.width, CV_16UC1);
  const auto transform = [&](const std::array<float, 3>& p) {
    std::array<float, 3> q{};
    for (int i = 0; i < 3; ++i) {
      q[static_cast<size_t>(i)] = static_cast<float>(e.rotation[3 * i] * p[0] + e.rotation[3 * i + 1] * p[1] +
                                                     e.rotation[3 * i + 2] * p[2] + e.translation[i]);
    }
    return q;
  };
  const float units = static_cast<float>(depth_units);
  for (int v = 0; v < depth.rows; ++v) {
    const uint16_t* row = depth.ptr<uint16_t>(v);
    for (int u = 0; u < depth.cols; ++u) {
      const uint16_t z = row[u];
      if (z == 0) continue;
      const float metres = z * units;
      const auto a = realsense_project(colour_k, transform(realsense_deproject(depth_k, {u - 0.5f, v - 0.5f}, metres)));
      const auto b = realsense_project(colour_k, transform(realsense_deproject(depth_k, {u + 0.5f, v + 0.5f}, metres)));
      // librealsense rounds by truncating x + 0.5.
      const int x0 = static_cast<int>(a[0] + 0.5f), y0 = static_cast<int>(a[1] + 0.5f);
      const int x1 = static_cast<int>(b[0] + 0.5f), y1 = static_cast<int>(b[1] + 0.5f);
      if (x0 < 0 || y0 < 0 || x1 >= out.cols || y1 >= out.rows) continue;
      for (int y = y0; y <= y1; ++y) {
        uint16_t* o = out.ptr<uint16_t>(y);
        for (int x = x0; x <= x1; ++x) o[x] = o[x] ? std::min(o[x], z) : z;  // the nearer depth wins
      }
    }
  }
  return out;
}

}  // namespace rgbdseg
