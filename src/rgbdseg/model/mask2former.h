#pragma once
// The Mask2Former instance-segmentation model (Swin backbone, pixel decoder,
// masked-attention transformer decoder, class head), registered under Hugging
// Face's key names so that a `model.safetensors` of a
// facebook/mask2former-swin-*-coco-instance checkpoint loads as it is.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/nn/modules/linear.h>

#include "rgbdseg/model/pixel_decoder.h"
#include "rgbdseg/model/swin.h"
#include "rgbdseg/model/transformer_decoder.h"

namespace rgbdseg {
struct SafetensorsFile;
}

namespace rgbdseg::model {

struct Mask2FormerOptions {
  SwinOptions swin;
  PixelDecoderOptions pixel_decoder;
  TransformerDecoderOptions transformer_decoder;
  int64_t num_labels = 80;  // the class head has num_labels + 1 outputs (no-object last)
  std::vector<std::string> labels;  // id2label, in id order (may be empty)
  // Dataset category id of each class index (rgbdseg's "rgbdseg_category_ids"
  // key in config.json, written by training; empty for Hugging Face's own files).
  std::vector<int64_t> category_ids;
};

// A Hugging Face Mask2FormerConfig (config.json) as options. Accepts both the
// full dumps of published checkpoints and save_pretrained()'s diff-only nested
// backbone config (missing keys take SwinConfig's defaults). `source` names the
// file in errors.
Mask2FormerOptions mask2former_options_from_hf(const nlohmann::json& config, const std::string& source);
Mask2FormerOptions load_hf_config(const std::string& path);

struct Mask2FormerOutput {
  std::vector<at::Tensor> class_logits;  // per prediction set, [B, Q, num_labels + 1]; last = final
  std::vector<at::Tensor> mask_logits;   // per prediction set, [B, Q, H/4, W/4]
  SwinFeatures backbone;
  PixelDecoderOutput pixel_decoder;
  TransformerDecoderOutput transformer_decoder;
};

class Mask2FormerImpl : public torch::nn::Module {
 public:
  explicit Mask2FormerImpl(Mask2FormerOptions options);
  // pixel_values: [B, 3, H, W], normalised as the image processor does.
  Mask2FormerOutput forward(const at::Tensor& pixel_values);
  // Pixel decoder, transformer decoder and class head on given backbone
  // features (the RGB-D model fuses depth into them first).
  Mask2FormerOutput decode(SwinFeatures backbone_features);
  const Mask2FormerOptions& options() const { return options_; }

  SwinBackbone backbone{nullptr};
  PixelDecoder pixel_decoder{nullptr};
  TransformerDecoder transformer_decoder{nullptr};
  torch::nn::Linear class_predictor{nullptr};

 private:
  Mask2FormerOptions options_;
};
TORCH_MODULE(Mask2Former);

struct WeightLoadOptions {
  // A class head of another size is re-initialised (fine-tuning to new classes).
  bool allow_new_class_head = true;
  // Key prefixes that may be missing from the file (e.g. new depth modules).
  std::vector<std::string> allow_missing_prefixes;
};

// Loads HF-named weights; every missing or unexpected key is an error listing
// them (criterion.* and the recomputable relative_position_index are fine).
void load_mask2former_weights(Mask2FormerImpl& model, const SafetensorsFile& file, const std::string& file_name,
                              const WeightLoadOptions& options = {});

// The model's tensors under HF key names (for saving as safetensors).
std::vector<std::pair<std::string, at::Tensor>> mask2former_state(Mask2FormerImpl& model);

}  // namespace rgbdseg::model
