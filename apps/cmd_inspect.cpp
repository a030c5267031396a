// rgbdseg inspect: look inside things without running a model: the resolved
// config, every config key with its default and doc, the tensors of a
// safetensors file, or a model's parameters and FLOPs.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/safetensors.h"
#ifdef RGBDSEG_WITH_TORCH
#include "rgbdseg/model/complexity.h"
#include "rgbdseg/model/mask2former.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/train/build.h"
#endif

namespace rgbdseg::app {

namespace {

struct InspectArgs {
  CommonArgs common;
  std::string weights;
  std::string json_out;
  std::string hf_config;
  std::string size = "480x640";
  bool model = false;         // the config's model: parameters and FLOPs
  bool all_variants = false;  // every variant of the ablation family
  bool keys = false;          // every config key: type, default, value here, doc
};

void write_json(const nlohmann::ordered_json& j, const std::string& path) {
  if (path.empty() || path == "-") {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    write_file_atomic(path, j.dump(2) + "\n");
    RGBDSEG_LOG(Info) << "inspect: wrote " << path;
  }
}

int inspect_weights(const InspectArgs& args) {
  const SafetensorsFile file = read_safetensors(args.weights);
  nlohmann::ordered_json j;
  int64_t total = 0;
  nlohmann::ordered_json tensors = nlohmann::ordered_json::object();
  for (const auto& [name, t] : file.tensors) {
    total += num_elements(t);
    tensors[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}};
  }
  if (args.json_out.empty()) {
    for (const auto& [name, t] : file.tensors) {
      std::printf("%-72s %-5s %s\n", name.c_str(), dtype_name(t.dtype).c_str(), shape_to_string(t.shape).c_str());
    }
    std::printf("%zu tensors, %lld parameters\n", file.tensors.size(), static_cast<long long>(total));
    for (const auto& [k, v] : file.metadata) std::printf("metadata %s = %s\n", k.c_str(), v.c_str());
    return 0;
  }
  j["params"] = {{"total", total}};
  j["tensors"] = tensors;
  j["metadata"] = file.metadata;
  write_json(j, args.json_out);
  return 0;
}

#ifdef RGBDSEG_WITH_TORCH
bool is_depth_module(const std::string& name) { return name.rfind("depth.", 0) == 0; }

// Parameters and FLOPs per module of one model (built, not run), with the depth modules' share.
nlohmann::ordered_json model_costs_json(const model::RgbdModelOptions& options, int h, int w,
                                        std::vector<model::ModuleCost>& costs) {
  model::RgbdMask2Former m(options);
  costs = model::rgbd_model_costs(*m, h, w);
  nlohmann::ordered_json j;
  int64_t params = 0, depth_params = 0;
  double flops = 0, depth_flops = 0;
  for (const auto& c : costs) {
    params += c.params;
    flops += c.flops;
    if (is_depth_module(c.name)) {
      depth_params += c.params;
      depth_flops += c.flops;
    }
  }
  j["variant"] = options.variant;
  j["params"]["total"] = params;
  for (const auto& c : costs) j["params"][c.name] = c.params;
  j["flops"]["total"] = flops;
  for (const auto& c : costs) j["flops"][c.name] = c.flops;
  j["depth_share"] = {{"params", static_cast<double>(depth_params) / static_cast<double>(params)},
                      {"flops", depth_flops / flops}};
  j["size"] = {h, w};
  j["flops_convention"] = "multiply-adds (fvcore); norms, activations and softmax not counted";
  return j;
}

void print_costs(const std::vector<model::ModuleCost>& costs, int h, int w) {
  int64_t params = 0;
  double flops = 0;
  for (const auto& c : costs) {
    params += c.params;
    flops += c.flops;
  }
  std::printf("%-22s %14s %10s %14s %8s\n", "module", "parameters", "share", "GFLOPs", "share");
  for (const auto& c : costs) {
    std::printf("%-22s %14lld %9.1f%% %14.3f %7.2f%%\n", c.name.c_str(), static_cast<long long>(c.params),
                100.0 * static_cast<double>(c.params) / static_cast<double>(params), c.flops / 1e9, 100.0 * c.flops / flops);
  }
  std::printf("%-22s %14lld %10s %14.2f   (one %dx%d image)\n", "total", static_cast<long long>(params), "", flops / 1e9, h, w);
}

model::RgbdModelOptions model_options(const InspectArgs& args, const Config& config) {
  if (!args.hf_config.empty()) return train::model_options(config.model, model::load_hf_config(args.hf_config));
  return train::model_options(config);
}

int inspect_model(const InspectArgs& args, const Config& config) {
  const auto [h, w] = parse_size(args.size);
  const auto base = model_options(args, config);
  std::vector<model::ModuleCost> costs;
  if (!args.all_variants) {
    const auto j = model_costs_json(base, h, w, costs);
    if (!args.json_out.empty()) {
      write_json(j, args.json_out);
      return 0;
    }
    std::printf("variant %s\n", base.variant.name());
    print_costs(costs, h, w);
    if (base.variant != "rgb") {
      std::printf("depth modules: %.2f%% of the parameters, %.2f%% of the FLOPs\n",
                  100.0 * j["depth_share"]["params"].get<double>(), 100.0 * j["depth_share"]["flops"].get<double>());
    }
    return 0;
  }
  // Every variant of the ablation family, same RGB part and depth settings.
  nlohmann::ordered_json all = nlohmann::ordered_json::object();
  if (args.json_out.empty()) {
    std::printf("%-8s %14s %12s %10s %12s   (one %dx%d image)\n", "variant", "parameters", "depth share", "GFLOPs",
                "depth share", h, w);
  }
  for (const auto& variant : model::model_variants()) {
    ModelConfig mc = config.model;
    mc.variant = variant;
    const auto j = model_costs_json(train::model_options(mc, base.mask2former), h, w, costs);
    all[variant] = j;
    if (args.json_out.empty()) {
      std::printf("%-8s %14lld %11.2f%% %10.2f %11.3f%%\n", variant.c_str(),
                  static_cast<long long>(j["params"]["total"].get<int64_t>()), 100.0 * j["depth_share"]["params"].get<double>(),
                  j["flops"]["total"].get<double>() / 1e9, 100.0 * j["depth_share"]["flops"].get<double>());
    }
  }
  if (!args.json_out.empty()) write_json(all, args.json_out);
  return 0;
}
#endif

// Every key of the config table: name, type, default and doc; "value" too
// where the resolved config (--config/--set) differs from the default.
int inspect_keys(const Config& config, const std::string& json_out) {
  const nlohmann::ordered_json resolved = config_to_json(config);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& key : config_keys()) {
    std::string pointer = "/" + key.name;
    for (char& c : pointer) c = c == '.' ? '/' : c;
    const std::string value = resolved.at(nlohmann::ordered_json::json_pointer(pointer)).dump();
    if (!json_out.empty()) {
      nlohmann::ordered_json k = {{"key", key.name}, {"type", key.type}, {"default", nlohmann::ordered_json::parse(key.default_value)}, {"doc", key.doc}};
      if (value != key.default_value) k["value"] = nlohmann::ordered_json::parse(value);
      list.push_back(k);
      continue;
    }
    std::printf("%s  (%s, default %s%s)\n    %s\n", key.name.c_str(), key.type.c_str(), key.default_value.c_str(),
                value == key.default_value ? "" : ("; here " + value).c_str(), key.doc.c_str());
  }
  if (!json_out.empty()) write_json(list, json_out);
  return 0;
}

int run_inspect(const InspectArgs& args) {
  const Config config = start_command("inspect", args.common);
  if (!args.hf_config.empty() || args.model || args.all_variants) {
#ifdef RGBDSEG_WITH_TORCH
    return inspect_model(args, config);
#else
    throw Error("model inspection needs rgbdseg's torch plugin (internal routing error)");
#endif
  }
  if (!args.weights.empty()) return inspect_weights(args);
  if (args.keys) return inspect_keys(config, args.json_out);
  // No weights: print the resolved configuration (defaults <- base <- file <- --set).
  write_json(config_to_json(config), args.json_out);
  return 0;
}

}  // namespace

Command add_inspect_command(CLI::App& parent) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = parent.add_subcommand(
      "inspect", "print the resolved config (--config/--set) or list a safetensors file's tensors (--weights)");
  cmd->add_option("--weights", args->weights, "a .safetensors file to list")->check(CLI::ExistingFile);
  cmd->add_option("--hf-config", args->hf_config, "a Hugging Face Mask2Former config.json: parameters and FLOPs per module")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--model", args->model, "parameters and FLOPs of the config's model (model.variant, model.hf_config)");
  cmd->add_flag("--all-variants", args->all_variants, "parameters and FLOPs of every variant (rgb, dggm, dsam, edsam, full)");
  cmd->add_flag("--keys", args->keys, "every config key: type, default, its value under --config/--set, and what it does");
  cmd->add_option("--size", args->size, "image size HxW for FLOPs")->capture_default_str();
  cmd->add_option("--json", args->json_out, "write JSON here ('-' = stdout)");
  add_common_options(*cmd, args->common);
  return {cmd, [args] { return run_inspect(*args); }};
}

}  // namespace rgbdseg::app
