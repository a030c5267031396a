#pragma once
// The seed-compatible depth preprocessing: the research code's (v0.4.0) depth
// features reproduced bit for bit, for checkpoint parity and the golden tests
// in shared/golden/seed_depth (its README spells out every rounding step).
// One image at a time on the CPU; host synchronisation is allowed here, unlike
// in the model's metric mode.
//
// Used only by the parity tests (tests/model/test_seed_depth.cpp): the model
// never calls it; it documents, executably, what the research code computes.
//
//   depth8 (uint8, resized) -> seed_gradient_features -> G, M      (DGGM input)
//   depth8 (uint8, PIL-resized) -> seed_depth_pixel_values -> channels 3..5
//     -> seed_grey -> D -> seed_depth_decomposition(D, r) -> region masks (DSAM)
//     -> seed_pool_region_masks -> masks at the feature sizes
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace rgbdseg::model {

struct SeedGradientFeatures {
  at::Tensor G;  // [H, W] float32 normalised Sobel magnitude (zero-gradient pixels slightly negative)
  at::Tensor M;  // [H, W] float32 0/1: valid depth with a non-zero gradient
};

// calculate_gradient_features: Sobel (ksize 3, BORDER_REFLECT_101) on the
// uint8 depth as float32, magnitude zeroed where depth == 0, min-max
// normalised by the smallest non-zero and the largest magnitude.
// depth8: [H, W] uint8 (already resized), H, W >= 2.
SeedGradientFeatures seed_gradient_features(const at::Tensor& depth8);

// The HF image processor's depth channels 3..5 from the PIL-resized 8-bit
// depth: float32(v * (1/255 in float64)), then (x - mean_c) / std_c in float32
// with the config's float32 ImageNet mean/std (std_1 = 0.2239999920129776, one
// ulp below float(0.224)). resized_u8: [H, W] uint8 -> [3, H, W] float32.
at::Tensor seed_depth_pixel_values(const at::Tensor& resized_u8);

// DSAM's grey depth D = 0.299 c0 + 0.587 c1 + 0.114 c2 in float32 (weights
// rounded to float32, summed left to right, as PyTorch evaluates it).
// depth_pixel_values: [3, H, W] float32 -> [H, W] float32.
at::Tensor seed_grey(const at::Tensor& depth_pixel_values);

struct SeedHistogram {
  at::Tensor counts;  // [bins] int64
  at::Tensor edges;   // [bins + 1] float32
};

// np.histogram(D, bins, range=(nanmin D, nanmax D)) for float32 D, numpy 1.24's
// algorithm exactly: float64 linspace edges cast to float32, float32 bin index
// with numpy's one-ulp edge corrections (not a plain floor). A constant D is
// widened to [v - 0.5, v + 0.5] as numpy does. D: any shape, float32.
SeedHistogram seed_histogram(const at::Tensor& D, int64_t bins = 512);

struct SeedDecomposition {
  at::Tensor peaks;         // [n] int64: find_peaks(hist, prominence = 0.01 * max(hist)), ascending
  at::Tensor modes;         // [k] float64: centres of the k <= num_modes highest peaks (float32 values)
  at::Tensor windows;       // [k, 2] float64: (lower, upper) per mode
  at::Tensor region_masks;  // [k + 1, H, W] uint8: one per window, then the remaining region;
                            // num_modes + 1 all-zero masks when there is no peak
};

// DSAM's depth decomposition of one grey depth D ([H, W] float32) with window
// ratio r: 512-bin histogram, scipy peaks, the num_modes highest (ties to the
// larger centre), windows [max(0, c - c r / 2), c + c r / 2] in float64,
// masks by float32 comparison with the bounds rounded to float32.
SeedDecomposition seed_depth_decomposition(const at::Tensor& D, double ratio, int64_t num_modes = 3);

// adaptive_max_pool2d of region masks to a feature size.
// masks: [K, H, W] uint8 -> [K, h, w] uint8.
at::Tensor seed_pool_region_masks(const at::Tensor& masks, int64_t h, int64_t w);

}  // namespace rgbdseg::model
