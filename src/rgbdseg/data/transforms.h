#pragma once
// Training-time transforms applied consistently to colour, depth and instance
// masks (geometry), or to one modality only (colour jitter; depth noise and
// dropout). Torch-free: samples are OpenCV images; the model side turns
// batches into tensors.
//
// Depth is never resized by plain bilinear interpolation: that would invent
// depths between an object and its background, and smear holes (0 = invalid)
// into valid readings. It is resized with nearest neighbour, or with
// hole-aware area averaging (mean of the valid readings under each output pixel).
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "rgbdseg/core/enums.h"

namespace rgbdseg {

// One RGB-D training sample. Transforms modify it in place; note that copying
// a Sample shares the pixels (cv::Mat semantics): use clone_sample() for a deep copy.
struct Sample {
  cv::Mat rgb;     // CV_8UC3, RGB order
  cv::Mat depth;   // CV_32FC1 metres, 0 = invalid
  std::vector<cv::Mat> masks;          // CV_8UC1 0/1, one per instance
  std::vector<int64_t> category_ids;   // per instance
  int64_t image_id = 0;
  int original_height = 0, original_width = 0;  // before any transform (evaluation is at this size)
};

Sample clone_sample(const Sample& s);

// DepthResize (core/enums.h): nearest | hole_aware.
inline DepthResize parse_depth_resize(const std::string& name) { return parse_enum<DepthResize>(name); }

// Deterministic random numbers for one sample (splitmix64 stream).
class SampleRng {
 public:
  explicit SampleRng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();                  // [0, 1)
  double uniform(double lo, double hi);
  double normal();
 private:
  uint64_t state_;
};

// Seed of sample `index` in `epoch`: the same whatever thread handles it.
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index);

// --- geometry (all modalities) ---
void resize_sample(Sample& s, int height, int width, DepthResize depth_mode);
// Scale so the short side is `short_side`, unless the long side would exceed `max_long` (0 = no limit).
void resize_short_side(Sample& s, int short_side, int max_long, DepthResize depth_mode);
void hflip(Sample& s);
// Crop rectangle (clipped to the image); instances left empty are dropped.
void crop(Sample& s, const cv::Rect& box);
void random_crop(Sample& s, int height, int width, SampleRng& rng);
// Pads bottom/right to at least height x width (colour 0, depth 0 = invalid, masks 0).
void pad_to(Sample& s, int height, int width);
// Mask2Former's large-scale jitter: scale the image so it fits `size`x`size`
// times a random factor in [min_scale, max_scale], random-crop to at most
// size x size, pad to size x size.
void large_scale_jitter(Sample& s, int size, double min_scale, double max_scale, DepthResize depth_mode,
                        SampleRng& rng);

// --- one modality ---
// Brightness, contrast and saturation factors drawn from [1-x, 1+x].
void colour_jitter(Sample& s, double brightness, double contrast, double saturation, SampleRng& rng);
// Depth noise: N(0, sigma * depth^2) per valid pixel (structured-light sensors' error grows with z^2).
void depth_noise(Sample& s, double sigma, SampleRng& rng);
// Drops `count` random rectangles of depth (up to max_size px a side) and `pixel_fraction` single pixels.
void depth_dropout(Sample& s, int count, int max_size, double pixel_fraction, SampleRng& rng);

// The training recipe, in order: resize/jitter, crop, flip, colour, depth.
struct AugmentOptions {
  using Resize = ResizeMode;  // core/enums.h: none | short_side | scale_range | fixed | large_scale_jitter
  Resize resize = Resize::ShortSide;
  std::vector<int> short_sides = {480};  // ShortSide: one is drawn per sample
  int max_long_side = 1333;
  double min_scale = 0.1, max_scale = 2.0;  // ScaleRange (of the original) / LargeScaleJitter
  int fixed_height = 480, fixed_width = 640;  // Fixed; LargeScaleJitter uses fixed_height as the square size
  int crop_height = 0, crop_width = 0;       // 0 = no random crop
  bool hflip = true;
  double brightness = 0.2, contrast = 0.2, saturation = 0.2;  // 0 = off
  double depth_noise_sigma = 0.0;  // 0 = off; e.g. 0.0015 (metres at 1 m)
  int depth_dropout_boxes = 0;
  int depth_dropout_max_size = 40;
  double depth_dropout_pixels = 0.0;
  DepthResize depth_resize = DepthResize::Nearest;
  int min_mask_pixels = 1;  // instances smaller than this after the transforms are dropped
};

void augment(Sample& s, const AugmentOptions& options, SampleRng& rng);

}  // namespace rgbdseg
