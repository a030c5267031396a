// rgbdseg inspect: look inside things without running a model: the resolved
// config, or the tensors of a safetensors file.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/safetensors.h"

namespace rgbdseg::app {

namespace {

struct InspectArgs {
  CommonArgs common;
  std::string weights;
  std::string json_out;
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

int run_inspect(const InspectArgs& args) {
  const Config config = start_command("inspect", args.common);
  if (!args.weights.empty()) return inspect_weights(args);
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
  cmd->add_option("--json", args->json_out, "write JSON here ('-' = stdout)");
  add_common_options(*cmd, args->common);
  return {cmd, [args] { return run_inspect(*args); }};
}

}  // namespace rgbdseg::app
