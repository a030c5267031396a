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

#include "rgbdseg/model/depth_fusion.h"
#include "rgbdseg/model/mask2former.h"

namespace rgbdseg {
struct Config;
struct ModelConfig;
}  // namespace rgbdseg

namespace rgbdseg::model {

const std::vector<std::string>& model_variants();

struct RgbdModelOptions {
  Mask2FormerOptions mask2former;
  std::string variant = "rgb";
  DepthFusionOptions depth;  // unused for rgb
};

// The variant's modules and the depth options from a config; `mask2former`
// comes from its Hugging Face config.json (see load_model_options).
RgbdModelOptions rgbd_model_options(const ModelConfig& config, Mask2FormerOptions mask2former);
// The same, reading config.model.hf_config (an error naming the key when unset).
RgbdModelOptions load_model_options(const Config& config);

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

// The config's model (model.variant, model.hf_config) with `weights` loaded,
// in eval mode: what eval and predict run. Errors name the file.
RgbdMask2Former load_model_for_inference(const Config& config, const std::string& weights);

}  // namespace rgbdseg::model
