#include "rgbdseg/model/depth_fusion.h"

#include <ATen/record_function.h>

#include <ATen/ATen.h>

#include "rgbdseg/core/error.h"

namespace rgbdseg::model {

at::Tensor depth_validity(const at::Tensor& depth, double min_depth, double max_depth) {
  auto ok = at::isfinite(depth).logical_and(depth > 0);
  if (min_depth > 0) ok = ok.logical_and(depth >= min_depth);
  if (max_depth > 0) ok = ok.logical_and(depth <= max_depth);
  return ok;
}

DepthFusionImpl::DepthFusionImpl(DepthFusionOptions o) : options_(std::move(o)) {
  if (options_.channels.size() < 2) throw Error("depth modules: need at least two backbone scales");
  if (options_.predict_ratio && !options_.use_dsam) throw Error("depth modules: a ratio predictor needs DSAM");
  if (options_.use_dggm) {
    options_.dggm.channels = options_.channels;
    dggm = register_module("dggm", Dggm(options_.dggm));
  }
  if (options_.use_dsam) {
    dsam = register_module("dsam", torch::nn::ModuleList());
    for (size_t i = 0; i + 1 < options_.channels.size(); ++i) {
      dsam->push_back(DsamBlock(DsamBlockOptions{options_.channels[i], options_.channels[i + 1],
                                                 options_.decomposition.num_modes + 1, options_.dsam_kernel_size}));
    }
  }
  if (options_.predict_ratio) predictor = register_module("predictor", RatioPredictor(options_.predictor));
}

DepthFusionOutput DepthFusionImpl::forward(const std::vector<at::Tensor>& maps, const at::Tensor& depth_in) {
  if (maps.size() != options_.channels.size()) {
    throw Error("depth modules: expected " + std::to_string(options_.channels.size()) + " backbone maps");
  }
  const auto depth4 = depth_in.dim() == 3 ? depth_in.unsqueeze(1) : depth_in;
  if (depth4.dim() != 4 || depth4.size(1) != 1 || depth4.size(0) != maps[0].size(0)) {
    throw Error("depth modules: expected depth [B, 1, H, W] with the images' batch size");
  }
  // Depth arithmetic in float32 at least (bf16 cannot resolve centimetres at 5 m).
  const auto dtype = depth4.is_floating_point() && depth4.element_size() >= 4 ? depth4.scalar_type() : at::kFloat;
  const auto raw = depth4.to(dtype);
  DepthFusionOutput out;
  out.valid = depth_validity(raw, options_.min_depth, options_.max_depth).to(dtype);
  const auto depth = at::where(out.valid > 0.5, raw, at::zeros_like(raw));
  out.maps = maps;
  if (options_.use_dsam) {
    {
      RECORD_USER_SCOPE("stage:depth.decomposition");
      const auto modes = find_depth_modes(depth, out.valid, options_.decomposition);
      {
        RECORD_USER_SCOPE("stage:depth.predictor");
        out.ratio = options_.predict_ratio ? predictor->forward(depth, out.valid).to(dtype)
                                           : at::full({depth.size(0)}, options_.fixed_ratio, depth.options());
      }
      out.regions = depth_region_maps(depth, out.valid, modes, out.ratio, options_.decomposition);
    }
    RECORD_USER_SCOPE("stage:depth.dsam");
    // Cross-stage: each block reads the already fused map of its stage.
    for (size_t i = 0; i + 1 < maps.size(); ++i) {
      out.maps[i + 1] = out.maps[i + 1] + dsam[i]->as<DsamBlockImpl>()->forward(out.maps[i], out.regions);
    }
  }
  if (options_.use_dggm) {
    DepthGradients g;
    {
      RECORD_USER_SCOPE("stage:depth.gradients");
      g = depth_gradients(depth, options_.gradients);
    }
    RECORD_USER_SCOPE("stage:depth.dggm");
    const auto residuals = dggm->forward(g.magnitude, g.valid, maps);
    for (size_t i = 0; i < maps.size(); ++i) out.maps[i] = out.maps[i] + residuals[i];
  }
  return out;
}

}  // namespace rgbdseg::model
