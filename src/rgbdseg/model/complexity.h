#pragma once
// Parameters and FLOPs of a Mask2Former configuration, per module, counted from
// layer shapes for one image of a given size (no forward pass). FLOPs follow
// the detection-literature convention (fvcore, Mask2Former's paper): one fused
// multiply-add = one FLOP; convolutions, linear layers, attention products,
// deformable sampling (4 bilinear taps) and mask products are counted; norms,
// activations and softmax are not.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rgbdseg/model/mask2former.h"
#include "rgbdseg/model/rgbd_model.h"

namespace rgbdseg::model {

struct ModuleCost {
  std::string name;  // backbone, pixel_decoder, transformer_decoder, class_head
  int64_t params = 0;
  double flops = 0;
};

std::vector<ModuleCost> mask2former_costs(Mask2FormerImpl& model, int64_t height, int64_t width);

// The Mask2Former entries followed by the variant's depth modules
// (depth.dggm, depth.dsam, depth.predictor; the parameter-free gradient and
// decomposition arithmetic is elementwise and not counted).
std::vector<ModuleCost> rgbd_model_costs(RgbdMask2FormerImpl& model, int64_t height, int64_t width);

}  // namespace rgbdseg::model
