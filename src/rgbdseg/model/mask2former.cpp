#include "rgbdseg/model/mask2former.h"

#include <ATen/record_function.h>

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/model/weights.h"
#include "rgbdseg/model/key_scope.h"

namespace rgbdseg::model {

namespace {

template <typename T>
T get_or(const nlohmann::json& j, const char* key, T fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(where + ": '" + key + "' has the wrong type (" + j[key].dump() + ")");
  }
}

}  // namespace

Mask2FormerOptions mask2former_options_from_hf(const nlohmann::json& c, const std::string& source) {
  if (!c.is_object()) throw Error(source + ": not a JSON object");
  const std::string type = get_or<std::string>(c, "model_type", "", source);
  if (type != "mask2former") throw Error(source + ": model_type is \"" + type + "\", expected \"mask2former\"");
  if (!c.contains("backbone_config") || !c["backbone_config"].is_object()) {
    throw Error(source + ": no backbone_config (only Swin backbones described in the config are supported)");
  }
  const auto& b = c["backbone_config"];
  const std::string where = source + ": backbone_config";
  if (get_or<std::string>(b, "model_type", "swin", where) != "swin") {
    throw Error(where + ": model_type must be \"swin\"");
  }
  Mask2FormerOptions o;
  // SwinConfig's defaults fill the keys save_pretrained() leaves out.
  o.swin.embed_dim = get_or<int64_t>(b, "embed_dim", 96, where);
  o.swin.depths = get_or<std::vector<int64_t>>(b, "depths", {2, 2, 6, 2}, where);
  o.swin.num_heads = get_or<std::vector<int64_t>>(b, "num_heads", {3, 6, 12, 24}, where);
  o.swin.window_size = get_or<int64_t>(b, "window_size", 7, where);
  o.swin.patch_size = get_or<int64_t>(b, "patch_size", 4, where);
  o.swin.mlp_ratio = get_or<double>(b, "mlp_ratio", 4.0, where);
  o.swin.qkv_bias = get_or<bool>(b, "qkv_bias", true, where);
  o.swin.layer_norm_eps = get_or<double>(b, "layer_norm_eps", 1e-5, where);
  o.swin.in_channels = get_or<int64_t>(b, "num_channels", 3, where);
  if (get_or<bool>(b, "use_absolute_embeddings", false, where)) throw Error(where + ": absolute position embeddings are not supported");
  if (get_or<std::string>(b, "hidden_act", "gelu", where) != "gelu") throw Error(where + ": hidden_act must be gelu");
  o.swin.validate();

  auto& pd = o.pixel_decoder;
  pd.in_channels.clear();
  for (size_t s = 0; s < o.swin.depths.size(); ++s) pd.in_channels.push_back(o.swin.stage_channels(s));
  pd.feature_size = get_or<int64_t>(c, "feature_size", 256, source);
  pd.mask_feature_size = get_or<int64_t>(c, "mask_feature_size", 256, source);
  pd.encoder_layers = get_or<int64_t>(c, "encoder_layers", 6, source);
  pd.encoder_ffn_dim = get_or<int64_t>(c, "encoder_feedforward_dim", 1024, source);
  pd.heads = get_or<int64_t>(c, "num_attention_heads", 8, source);
  const int64_t common_stride = get_or<int64_t>(c, "common_stride", 4, source);
  if (common_stride != 4) throw Error(source + ": common_stride must be 4");
  auto& td = o.transformer_decoder;
  td.hidden_dim = get_or<int64_t>(c, "hidden_dim", 256, source);
  td.heads = pd.heads;
  td.ffn_dim = get_or<int64_t>(c, "dim_feedforward", 2048, source);
  td.layers = get_or<int64_t>(c, "decoder_layers", 10, source) - 1;
  td.num_queries = get_or<int64_t>(c, "num_queries", 100, source);
  td.mask_feature_size = pd.mask_feature_size;
  if (get_or<bool>(c, "pre_norm", false, source)) throw Error(source + ": pre_norm decoders are not supported");
  if (get_or<std::string>(c, "activation_function", "relu", source) != "relu") {
    throw Error(source + ": activation_function must be relu");
  }
  if (td.layers < 1) throw Error(source + ": decoder_layers must be at least 2");
  if (c.contains("id2label") && c["id2label"].is_object()) {
    const auto& m = c["id2label"];
    o.num_labels = static_cast<int64_t>(m.size());
    for (int64_t i = 0; i < o.num_labels; ++i) {
      const std::string key = std::to_string(i);
      if (!m.contains(key)) throw Error(source + ": id2label has no id " + key + " (ids must be 0..N-1)");
      o.labels.push_back(m[key].get<std::string>());
    }
  } else {
    o.num_labels = get_or<int64_t>(c, "num_labels", 80, source);
  }
  o.category_ids = get_or<std::vector<int64_t>>(c, "rgbdseg_category_ids", {}, source);
  if (!o.category_ids.empty() && static_cast<int64_t>(o.category_ids.size()) != o.num_labels) {
    throw Error(source + ": rgbdseg_category_ids has " + std::to_string(o.category_ids.size()) + " ids for " +
                std::to_string(o.num_labels) + " labels");
  }
  return o;
}

Mask2FormerOptions load_hf_config(const std::string& path) {
  return mask2former_options_from_hf(nlohmann::json::parse(read_json_file(path).dump()), path);
}

Mask2FormerImpl::Mask2FormerImpl(Mask2FormerOptions options) : options_(std::move(options)) {
  auto model = key_scope(*this, "model");
  auto pixel_level = key_scope(*model, "pixel_level_module");
  backbone = pixel_level->register_module("encoder", SwinBackbone(options_.swin));
  pixel_decoder = pixel_level->register_module("decoder", PixelDecoder(options_.pixel_decoder));
  transformer_decoder = model->register_module("transformer_module", TransformerDecoder(options_.transformer_decoder));
  class_predictor = register_module(
      "class_predictor", torch::nn::Linear(options_.transformer_decoder.hidden_dim, options_.num_labels + 1));
}

Mask2FormerOutput Mask2FormerImpl::forward(const at::Tensor& pixel_values) {
  return decode(backbone->forward(pixel_values));
}

Mask2FormerOutput Mask2FormerImpl::decode(SwinFeatures backbone_features) {
  Mask2FormerOutput out;
  out.backbone = std::move(backbone_features);
  {
    RECORD_USER_SCOPE("stage:pixel_decoder");
    out.pixel_decoder = pixel_decoder->forward(out.backbone.maps);
  }
  {
    RECORD_USER_SCOPE("stage:transformer_decoder");
    out.transformer_decoder = transformer_decoder->forward(out.pixel_decoder.multi_scale, out.pixel_decoder.mask_features);
  }
  RECORD_USER_SCOPE("stage:class_head");
  for (const auto& state : out.transformer_decoder.intermediate) {
    out.class_logits.push_back(class_predictor->forward(state.transpose(0, 1)));
  }
  out.mask_logits = out.transformer_decoder.mask_logits;
  return out;
}

void load_mask2former_weights(Mask2FormerImpl& model, const SafetensorsFile& file, const std::string& file_name,
                              const WeightLoadOptions& options) {
  // A class head of another size: fine-tuning to a new label set.
  const StoredTensor* head = file.find("class_predictor.weight");
  const int64_t ours = model.class_predictor->weight.size(0);
  bool skip_head = false;
  if (head && !head->shape.empty() && head->shape[0] != ours) {
    if (!options.allow_new_class_head) {
      throw Error(file_name + ": class_predictor has " + std::to_string(head->shape[0]) + " outputs, the model " +
                  std::to_string(ours) + " (num_labels + 1)");
    }
    skip_head = true;
    RGBDSEG_LOG(Info) << "weights: class head re-initialised: " << head->shape[0] - 1 << " classes in '" << file_name
                      << "', " << ours - 1 << " in the model";
  }
  SafetensorsFile filtered;
  for (const auto& [name, t] : file.tensors) {
    if (skip_head && name.rfind("class_predictor.", 0) == 0) continue;
    filtered.tensors.emplace(name, t);
  }
  const LoadReport r = load_weights(model, filtered, "", file_name);
  std::vector<std::string> missing, unexpected;
  for (const auto& k : r.missing) {
    if (skip_head && k.rfind("class_predictor.", 0) == 0) continue;
    if (k.find("relative_position_index") != std::string::npos) continue;  // recomputed
    bool allowed = false;
    for (const auto& p : options.allow_missing_prefixes) allowed |= k.rfind(p, 0) == 0;
    if (!allowed) missing.push_back(k);
  }
  for (const auto& k : r.unexpected) {
    if (k.rfind("criterion.", 0) == 0) continue;  // the loss's class weights, not a model tensor
    unexpected.push_back(k);
  }
  auto list = [](const std::vector<std::string>& keys) {
    std::string s;
    for (size_t i = 0; i < keys.size() && i < 5; ++i) s += (i ? ", " : "") + keys[i];
    if (keys.size() > 5) s += ", ... (" + std::to_string(keys.size()) + " in all)";
    return s;
  };
  if (!missing.empty()) throw Error(file_name + ": missing weights: " + list(missing));
  if (!unexpected.empty()) throw Error(file_name + ": unexpected weights (not in this model): " + list(unexpected));
  RGBDSEG_LOG(Info) << "weights: loaded " << r.loaded << " tensors from '" << file_name << "'";
}

std::vector<std::pair<std::string, at::Tensor>> mask2former_state(Mask2FormerImpl& model) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (auto& p : model.named_parameters()) out.emplace_back(p.key(), p.value());
  for (auto& b : model.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

}  // namespace rgbdseg::model
