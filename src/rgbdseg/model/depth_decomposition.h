#pragma once
// DSAM's depth decomposition on metric depth (the paper's intent; the research
// code's 8-bit version lives in seed_depth.h): a histogram of each image's
// valid depth, its T most frequent modes (peaks above a prominence threshold),
// a window of relative width `ratio` around each mode, and T region maps plus
// one "remaining" map. Batched tensor ops on the depth's device, no host
// synchronisation. Windows are soft (sigmoid edges) so that the loss reaches
// the window ratio and through it the E-DSAM predictor; hard windows are
// available for comparison.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace rgbdseg::model {

struct DepthDecompositionOptions {
  int64_t num_modes = 3;            // T
  int64_t bins = 256;               // histogram bins over [min, max] of the image's valid depth
  double histogram_smoothing = 1.0; // Gaussian sigma in bins before peak finding (0 = off)
  double prominence = 0.01;         // keep peaks with prominence >= this fraction of the histogram maximum
  bool soft_windows = true;
  double temperature = 0.02;        // soft edge width as a fraction of the mode's depth
};

struct DepthModes {
  at::Tensor centres;  // [B, T] metres (0 where !present)
  at::Tensor present;  // [B, T] bool; an image with no valid depth, or one depth value, has none
};

// depth: [B, 1, H, W] metres; valid: [B, 1, H, W] 0/1. Not differentiable (the
// modes are data, not parameters). The histogram is padded with an empty bin on
// each side so that a mode at the nearest or farthest depth is found too.
DepthModes find_depth_modes(const at::Tensor& depth, const at::Tensor& valid, const DepthDecompositionOptions& options);

// Window k covers |depth - c_k| <= c_k * ratio / 2. ratio: [B] (differentiable).
// Returns [B, T + 1, H, W]: the T region maps (0 at invalid pixels and for
// absent modes), then the remaining map prod_k (1 - region_k) (1 at invalid pixels).
at::Tensor depth_region_maps(const at::Tensor& depth, const at::Tensor& valid, const DepthModes& modes,
                             const at::Tensor& ratio, const DepthDecompositionOptions& options);

}  // namespace rgbdseg::model
