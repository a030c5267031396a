#pragma once
// The depth branch of the RGB-D model: given the backbone's multi-scale maps
// and the metric depth, returns the fused maps for the pixel decoder,
//   F_i = S_i + DSAM_{i-1}(F_{i-1}) + DGGM_i      (each term only when enabled),
// i.e. backbone + DSAM + DGGM, once (the research code feeds 2 x backbone and
// detaches it; here the backbone trains). Which modules exist is the variant:
// dggm, dsam (fixed window ratio), edsam (predicted ratio), full (DGGM + E-DSAM).
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/container/modulelist.h>

#include "rgbdseg/model/depth_decomposition.h"
#include "rgbdseg/model/depth_gradients.h"
#include "rgbdseg/model/dggm.h"
#include "rgbdseg/model/dsam.h"
#include "rgbdseg/model/ratio_predictor.h"

namespace rgbdseg::model {

struct DepthFusionOptions {
  bool use_dggm = false;
  bool use_dsam = false;
  bool predict_ratio = false;     // E-DSAM; otherwise DSAM uses fixed_ratio
  double fixed_ratio = 0.1;
  double min_depth = 0.0;         // readings outside [min_depth, max_depth] are invalid (0 = no limit)
  double max_depth = 0.0;
  std::vector<int64_t> channels;  // backbone channels per scale
  int64_t dsam_kernel_size = 3;
  DepthGradientOptions gradients;
  DggmOptions dggm;               // channels filled from `channels`
  DepthDecompositionOptions decomposition;
  RatioPredictorOptions predictor;
};

struct DepthFusionOutput {
  std::vector<at::Tensor> maps;  // fused maps, the backbone's shapes
  at::Tensor ratio;              // [B] window ratio used (DSAM variants)
  at::Tensor regions;            // [B, T + 1, H, W] region maps (DSAM variants)
  at::Tensor valid;              // [B, 1, H, W] depth validity used
};

class DepthFusionImpl : public torch::nn::Module {
 public:
  explicit DepthFusionImpl(DepthFusionOptions options);
  // maps: backbone maps (strides 4..32); depth: [B, 1, H, W] or [B, H, W] metres
  // at the input image's resolution, 0 / NaN / out of range = no reading.
  DepthFusionOutput forward(const std::vector<at::Tensor>& maps, const at::Tensor& depth);
  const DepthFusionOptions& options() const { return options_; }

  Dggm dggm{nullptr};
  torch::nn::ModuleList dsam{nullptr};
  RatioPredictor predictor{nullptr};

 private:
  DepthFusionOptions options_;
};
TORCH_MODULE(DepthFusion);

// Validity of metric depth: finite, > 0 and inside the configured range.
at::Tensor depth_validity(const at::Tensor& depth, double min_depth, double max_depth);

}  // namespace rgbdseg::model
