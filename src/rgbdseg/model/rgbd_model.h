#pragma once
// The RGB-D instance segmentation model: Mask2Former (Hugging Face key names,
// so a COCO checkpoint loads as it is) plus the depth modules of the chosen
// variant under the `depth.` prefix:
//   rgb    plain Mask2Former (depth ignored)
//   dggm   + DGGM
//   dsam   + DSAM with a fixed window ratio
//   edsam  + DSAM with the E-DSAM ratio predictor
//   full   + DGGM + E-DSAM (the paper's model)
#include <string>
#include <vector>

#include "rgbdseg/core/enums.h"
#include "rgbdseg/model/depth_fusion.h"
#include "rgbdseg/model/mask2former.h"

namespace rgbdseg::model {

// The variant names, in the order of core/enums.h's table.
const std::vector<std::string>& model_variants();

struct RgbdModelOptions {
  Mask2FormerOptions mask2former;
  Named<ModelVariant> variant = ModelVariant::Rgb;
  DepthFusionOptions depth;  // unused for rgb
};

// (train/build.h makes these options from a config.)

struct RgbdOutput : Mask2FormerOutput {
  DepthFusionOutput depth;  // empty for rgb
};

class RgbdMask2FormerImpl : public Mask2FormerImpl {
 public:
  explicit RgbdMask2FormerImpl(RgbdModelOptions options);
  // pixel_values: [B, 3, H, W] normalised RGB; depth: [B, 1, H, W] or [B, H, W]
  // metres at the same size (may be undefined for rgb).
  RgbdOutput forward(const at::Tensor& pixel_values, const at::Tensor& depth);
  const RgbdModelOptions& rgbd_options() const { return rgbd_options_; }
  bool has_depth() const { return !depth.is_empty(); }

  DepthFusion depth{nullptr};

 private:
  RgbdModelOptions rgbd_options_;
};
TORCH_MODULE(RgbdMask2Former);

// Loads a checkpoint: a plain Hugging Face Mask2Former file (the depth modules
// keep their fresh initialisation, which is logged) or one of ours that
// includes `depth.*` (then every depth tensor must be present).
void load_rgbd_weights(RgbdMask2FormerImpl& model, const SafetensorsFile& file, const std::string& file_name,
                       WeightLoadOptions options = {});

}  // namespace rgbdseg::model
