// rgbdseg forward: run a Hugging Face Mask2Former (config.json + safetensors) on
// `pixel_values` from a safetensors file and write every output and
// intermediate under the names of ../shared/golden/m2f_tiny/README.md, so the
// result can be compared with a Python model tensor by tensor.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdio>

#include "commands.h"
#include "plugins.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/model/mask2former.h"
#include "rgbdseg/model/postprocess.h"
#include "rgbdseg/model/weights.h"
#include "rgbdseg/runtime/runtime.h"
#include "rgbdseg/runtime/device.h"

namespace rgbdseg::app {

namespace {

struct ForwardArgs {
  CommonArgs common;
  std::string hf_config, weights, input, out, dtype = "f32", post = "hf";
};

int run_forward(const ForwardArgs& args) {
  const Config config = start_command("forward", args.common);
  const c10::Device device = resolve_device(config.runtime.device);
  configure_runtime(config.runtime.threads);
  // Cheap checks first, then the model.
  const SafetensorsFile input = read_safetensors(args.input);
  const StoredTensor* pixels_stored = input.find("pixel_values");
  if (!pixels_stored) throw Error(args.input + ": no tensor named 'pixel_values'");
  const auto options = model::load_hf_config(args.hf_config);
  model::Mask2Former m(options);
  m->eval();
  model::load_mask2former_weights(*m, read_safetensors(args.weights), args.weights);
  const auto dtype = args.dtype == "f64" ? at::kDouble : at::kFloat;
  m->to(device, dtype);
  const auto pixels = model::to_tensor(*pixels_stored).to(device, dtype);
  if (pixels.dim() != 4 || pixels.size(1) != options.swin.in_channels) {
    throw Error(args.input + ": pixel_values must be [B, " + std::to_string(options.swin.in_channels) + ", H, W]");
  }
  at::NoGradGuard no_grad;
  const auto out = m->forward(pixels);

  SafetensorsFile file;
  file.metadata["producer"] = "rgbdseg forward";
  file.metadata["dtype"] = args.dtype;
  auto put = [&](const std::string& name, const at::Tensor& t) { file.tensors[name] = model::from_tensor(t); };
  put("pixel_values", pixels);
  const size_t sets = out.class_logits.size();
  for (size_t s = 0; s < out.backbone.maps.size(); ++s) {
    put("backbone.stage" + std::to_string(s + 1), out.backbone.maps[s]);
    put("debug.swin.stage" + std::to_string(s + 1) + ".pre_norm", out.backbone.pre_norm[s]);
  }
  put("debug.swin.embeddings", out.backbone.embeddings);
  const auto& pd = out.pixel_decoder;
  put("pixel_decoder.mask_features", pd.mask_features);
  for (size_t l = 0; l < pd.multi_scale.size(); ++l) put("pixel_decoder.multi_scale." + std::to_string(l), pd.multi_scale[l]);
  put("debug.pixel_decoder.encoder_input", pd.encoder_input);
  put("debug.pixel_decoder.pos_embed", pd.position_embeddings);
  put("debug.pixel_decoder.reference_points", pd.reference_points);
  put("debug.pixel_decoder.spatial_shapes", pd.spatial_shapes);
  put("debug.pixel_decoder.encoder_output", pd.encoder_output);
  for (size_t i = 0; i + 1 < sets; ++i) {
    put("aux." + std::to_string(i) + ".class_queries_logits", out.class_logits[i]);
    put("aux." + std::to_string(i) + ".masks_queries_logits", out.mask_logits[i]);
  }
  put("class_queries_logits", out.class_logits.back());
  put("masks_queries_logits", out.mask_logits.back());
  const auto& td = out.transformer_decoder;
  put("transformer_decoder_last_hidden_state", td.last_hidden_state);
  for (size_t l = 0; l < td.attention_masks.size(); ++l) {
    put("debug.decoder.attn_mask." + std::to_string(l), td.attention_masks[l].to(at::kByte));
    put("debug.decoder.layer_output." + std::to_string(l), td.layer_outputs[l]);
  }
  for (size_t k = 0; k < td.intermediate.size(); ++k) put("debug.decoder.intermediate." + std::to_string(k), td.intermediate[k]);
  // Instance post-processing per image, at the input size (HF: threshold 0, masks scored at 384x384).
  model::InstanceOptions post;
  post.hf_resize = args.post == "hf" ? 384 : 0;
  for (int64_t b = 0; b < pixels.size(0); ++b) {
    const auto r = model::instance_postprocess(out.class_logits.back()[b], out.mask_logits.back()[b], pixels.size(2),
                                               pixels.size(3), post);
    const std::string p = "post." + std::to_string(b) + ".";
    put(p + "scores", r.scores);
    put(p + "scores_rounded6", at::round(r.scores.to(at::kDouble) * 1e6) / 1e6);
    put(p + "labels", r.labels);
    put(p + "query_index", r.query_index);
    put(p + "masks", r.masks.to(at::kByte));
    put(p + "topk_query", r.topk_query);
    put(p + "topk_label", r.topk_label);
    put(p + "topk_class_prob", r.topk_class_prob);
    put(p + "topk_mask_score", r.topk_mask_score);
    put(p + "topk_score", r.topk_score);
  }
  write_safetensors(args.out, file);
  RGBDSEG_LOG(Info) << "forward: wrote " << file.tensors.size() << " tensors to " << args.out;
  std::printf("%s\n", args.out.c_str());
  return 0;
}

}  // namespace

Command add_forward_command(CLI::App& parent) {
  auto args = std::make_shared<ForwardArgs>();
  CLI::App* cmd = parent.add_subcommand("forward", "run a Hugging Face Mask2Former on pixel_values and write every output");
  cmd->add_option("--hf-config", args->hf_config, "Hugging Face config.json")->required()->check(CLI::ExistingFile);
  cmd->add_option("--weights", args->weights, "model.safetensors with HF key names")->required()->check(CLI::ExistingFile);
  cmd->add_option("--input", args->input, "safetensors with 'pixel_values' [B,3,H,W]")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", args->out, "output safetensors")->required();
  cmd->add_option("--dtype", args->dtype, "computation precision")->capture_default_str()->check(CLI::IsMember({"f32", "f64"}));
  cmd->add_option("--post", args->post, "instance masks scored at HF's 384x384 (hf) or at the input size (original)")
      ->capture_default_str()
      ->check(CLI::IsMember({"hf", "original"}));
  add_device_option(*cmd, args->common);
  add_common_options(*cmd, args->common, /*with_config=*/false);
  return {cmd, [args] { return run_forward(*args); }};
}

}  // namespace rgbdseg::app
