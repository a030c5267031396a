#include "rgbdseg/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

Sample clone_sample(const Sample& s) {
  Sample out = s;
  out.rgb = s.rgb.clone();
  out.depth = s.depth.clone();
  for (auto& m : out.masks) m = m.clone();
  return out;
}

uint64_t SampleRng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
double SampleRng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
double SampleRng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
double SampleRng::normal() {
  const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index) {
  SampleRng mix(seed ^ (static_cast<uint64_t>(epoch) * 0x9e3779b97f4a7c15ULL));
  mix.next();
  SampleRng out(mix.next() ^ (static_cast<uint64_t>(index) * 0xd1b54a32d192ed03ULL));
  return out.next();
}

namespace {

cv::Mat resize_depth(const cv::Mat& depth, int height, int width, DepthResize mode) {
  cv::Mat out;
  if (mode == DepthResize::Nearest || (height >= depth.rows && width >= depth.cols)) {
    // Upsampling has nothing to average: nearest keeps every value a real reading.
    cv::resize(depth, out, cv::Size(width, height), 0, 0, cv::INTER_NEAREST);
    return out;
  }
  // Mean of the valid readings in each output pixel's footprint.
  cv::Mat valid = (depth > 0) / 255;
  cv::Mat valid_f, sum, count;
  valid.convertTo(valid_f, CV_32F);
  cv::resize(depth.mul(valid_f), sum, cv::Size(width, height), 0, 0, cv::INTER_AREA);
  cv::resize(valid_f, count, cv::Size(width, height), 0, 0, cv::INTER_AREA);
  out = cv::Mat::zeros(height, width, CV_32FC1);
  for (int y = 0; y < height; ++y) {
    const float* s = sum.ptr<float>(y);
    const float* c = count.ptr<float>(y);
    float* o = out.ptr<float>(y);
    for (int x = 0; x < width; ++x) o[x] = c[x] > 1e-6f ? s[x] / c[x] : 0.0f;
  }
  return out;
}

void drop_small_instances(Sample& s, int min_pixels) {
  size_t kept = 0;
  for (size_t k = 0; k < s.masks.size(); ++k) {
    if (cv::countNonZero(s.masks[k]) < min_pixels) continue;
    s.masks[kept] = s.masks[k];
    s.category_ids[kept] = s.category_ids[k];
    ++kept;
  }
  s.masks.resize(kept);
  s.category_ids.resize(kept);
}

}  // namespace

void resize_sample(Sample& s, int height, int width, DepthResize depth_mode) {
  if (height <= 0 || width <= 0) throw Error("resize: target size must be positive");
  if (height == s.rgb.rows && width == s.rgb.cols) return;
  cv::resize(s.rgb, s.rgb, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
  s.depth = resize_depth(s.depth, height, width, depth_mode);
  for (auto& m : s.masks) cv::resize(m, m, cv::Size(width, height), 0, 0, cv::INTER_NEAREST);
}

void resize_short_side(Sample& s, int short_side, int max_long, DepthResize depth_mode) {
  const int h = s.rgb.rows, w = s.rgb.cols;
  double scale = static_cast<double>(short_side) / std::min(h, w);
  if (max_long > 0 && scale * std::max(h, w) > max_long) scale = static_cast<double>(max_long) / std::max(h, w);
  resize_sample(s, std::max(1, static_cast<int>(std::lround(h * scale))), std::max(1, static_cast<int>(std::lround(w * scale))),
                depth_mode);
}

void hflip(Sample& s) {
  cv::flip(s.rgb, s.rgb, 1);
  cv::flip(s.depth, s.depth, 1);
  for (auto& m : s.masks) cv::flip(m, m, 1);
}

void crop(Sample& s, const cv::Rect& box) {
  const cv::Rect r = box & cv::Rect(0, 0, s.rgb.cols, s.rgb.rows);
  if (r.area() == 0) throw Error("crop: the box does not overlap the image");
  s.rgb = s.rgb(r).clone();
  s.depth = s.depth(r).clone();
  for (auto& m : s.masks) m = m(r).clone();
  drop_small_instances(s, 1);
}

void random_crop(Sample& s, int height, int width, SampleRng& rng) {
  const int h = std::min(height, s.rgb.rows), w = std::min(width, s.rgb.cols);
  const int y0 = static_cast<int>(rng.uniform() * (s.rgb.rows - h + 1));
  const int x0 = static_cast<int>(rng.uniform() * (s.rgb.cols - w + 1));
  crop(s, cv::Rect(x0, y0, w, h));
}

void pad_to(Sample& s, int height, int width) {
  const int bottom = std::max(0, height - s.rgb.rows), right = std::max(0, width - s.rgb.cols);
  if (bottom == 0 && right == 0) return;
  cv::copyMakeBorder(s.rgb, s.rgb, 0, bottom, 0, right, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
  cv::copyMakeBorder(s.depth, s.depth, 0, bottom, 0, right, cv::BORDER_CONSTANT, cv::Scalar(0));
  for (auto& m : s.masks) cv::copyMakeBorder(m, m, 0, bottom, 0, right, cv::BORDER_CONSTANT, cv::Scalar(0));
}

void large_scale_jitter(Sample& s, int size, double min_scale, double max_scale, DepthResize depth_mode,
                        SampleRng& rng) {
  // As detectron2's ResizeScale + FixedSizeCrop (Mask2Former's COCO LSJ recipe).
  const double fit = static_cast<double>(size) / std::max(s.rgb.rows, s.rgb.cols);
  const double scale = fit * rng.uniform(min_scale, max_scale);
  resize_sample(s, std::max(1, static_cast<int>(std::lround(s.rgb.rows * scale))),
                std::max(1, static_cast<int>(std::lround(s.rgb.cols * scale))), depth_mode);
  random_crop(s, size, size, rng);
  pad_to(s, size, size);
}

void colour_jitter(Sample& s, double brightness, double contrast, double saturation, SampleRng& rng) {
  const double b = 1 + rng.uniform(-brightness, brightness);
  const double c = 1 + rng.uniform(-contrast, contrast);
  const double sat = 1 + rng.uniform(-saturation, saturation);
  cv::Mat f;
  s.rgb.convertTo(f, CV_32FC3);
  const double mean_grey = cv::mean(f).val[0] * 0.299 + cv::mean(f).val[1] * 0.587 + cv::mean(f).val[2] * 0.114;
  for (int y = 0; y < f.rows; ++y) {
    cv::Vec3f* row = f.ptr<cv::Vec3f>(y);
    for (int x = 0; x < f.cols; ++x) {
      cv::Vec3f p = row[x] * static_cast<float>(b);
      p = (p - cv::Vec3f::all(static_cast<float>(mean_grey * b))) * static_cast<float>(c) +
          cv::Vec3f::all(static_cast<float>(mean_grey * b));
      const float grey = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
      p = (p - cv::Vec3f::all(grey)) * static_cast<float>(sat) + cv::Vec3f::all(grey);
      row[x] = p;
    }
  }
  f.convertTo(s.rgb, CV_8UC3);  // saturates to 0..255
}

void depth_noise(Sample& s, double sigma, SampleRng& rng) {
  for (int y = 0; y < s.depth.rows; ++y) {
    float* row = s.depth.ptr<float>(y);
    for (int x = 0; x < s.depth.cols; ++x) {
      if (row[x] <= 0) continue;
      const double z = row[x];
      row[x] = static_cast<float>(std::max(1e-4, z + sigma * z * z * rng.normal()));
    }
  }
}

void depth_dropout(Sample& s, int count, int max_size, double pixel_fraction, SampleRng& rng) {
  for (int i = 0; i < count; ++i) {
    const int w = 1 + static_cast<int>(rng.uniform() * max_size), h = 1 + static_cast<int>(rng.uniform() * max_size);
    const int x = static_cast<int>(rng.uniform() * s.depth.cols), y = static_cast<int>(rng.uniform() * s.depth.rows);
    s.depth(cv::Rect(x, y, w, h) & cv::Rect(0, 0, s.depth.cols, s.depth.rows)).setTo(0);
  }
  if (pixel_fraction > 0) {
    for (int y = 0; y < s.depth.rows; ++y) {
      float* row = s.depth.ptr<float>(y);
      for (int x = 0; x < s.depth.cols; ++x)
        if (rng.uniform() < pixel_fraction) row[x] = 0;
    }
  }
}

void augment(Sample& s, const AugmentOptions& o, SampleRng& rng) {
  using R = AugmentOptions::Resize;
  switch (o.resize) {
    case R::None:
      break;
    case R::ShortSide: {
      if (o.short_sides.empty()) throw Error("augment: short_sides is empty");
      const size_t pick = static_cast<size_t>(rng.uniform() * o.short_sides.size());
      resize_short_side(s, o.short_sides[std::min(pick, o.short_sides.size() - 1)], o.max_long_side, o.depth_resize);
      break;
    }
    case R::ScaleRange: {
      const double scale = rng.uniform(o.min_scale, o.max_scale);
      resize_sample(s, std::max(1, static_cast<int>(std::lround(s.rgb.rows * scale))),
                    std::max(1, static_cast<int>(std::lround(s.rgb.cols * scale))), o.depth_resize);
      break;
    }
    case R::Fixed:
      resize_sample(s, o.fixed_height, o.fixed_width, o.depth_resize);
      break;
    case R::LargeScaleJitter:
      large_scale_jitter(s, o.fixed_height, o.min_scale, o.max_scale, o.depth_resize, rng);
      break;
  }
  if (o.crop_height > 0 && o.crop_width > 0) random_crop(s, o.crop_height, o.crop_width, rng);
  if (o.hflip && rng.uniform() < 0.5) hflip(s);
  if (o.brightness > 0 || o.contrast > 0 || o.saturation > 0) {
    colour_jitter(s, o.brightness, o.contrast, o.saturation, rng);
  }
  if (o.depth_noise_sigma > 0) depth_noise(s, o.depth_noise_sigma, rng);
  if (o.depth_dropout_boxes > 0 || o.depth_dropout_pixels > 0) {
    depth_dropout(s, o.depth_dropout_boxes, o.depth_dropout_max_size, o.depth_dropout_pixels, rng);
  }
  drop_small_instances(s, o.min_mask_pixels);
}

}  // namespace rgbdseg
