// rgbdseg bench: forward latency and peak memory of a model configuration
// (random weights), with the machine facts on every row (llama-bench style).
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "plugins.h"
#include "rgbdseg/core/build_info.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/model/mask2former.h"
#include "rgbdseg/runtime/runtime.h"

namespace rgbdseg::app {

namespace {

struct BenchArgs {
  CommonArgs common;
  std::string hf_config, size = "480x640", dtype = "f32", json_out;
  int batch = 1, runs = 5, warmup = 1;
};

int run_bench(const BenchArgs& args) {
  const Config config = start_command("bench", args.common);
  const int threads = configure_runtime(config.runtime.threads);
  const auto [h, w] = parse_size(args.size);
  const auto options = model::load_hf_config(args.hf_config);
  model::Mask2Former m(options);
  m->eval();
  const auto x = at::randn({args.batch, options.swin.in_channels, h, w});
  const bool bf16 = args.dtype == "bf16";
  auto once = [&] {
    at::NoGradGuard no_grad;
    if (bf16) {
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    }
    const auto out = m->forward(x);
    if (bf16) {
      at::autocast::set_cpu_enabled(false);
      at::autocast::clear_cache();
    }
    return out.mask_logits.back().sum().item<double>();
  };
  RGBDSEG_LOG(Info) << "bench: " << system_info();
  for (int i = 0; i < args.warmup; ++i) once();
  std::vector<double> ms;
  for (int r = 0; r < args.runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    once();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double peak_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;
  std::printf("| config | size | batch | dtype | threads | median ms | min ms | max ms | peak RSS MB | commit |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf("| %s | %dx%d | %d | %s | %d | %.1f | %.1f | %.1f | %.0f | %s |\n", args.hf_config.c_str(), h, w, args.batch,
              args.dtype.c_str(), threads, median, ms.front(), ms.back(), peak_mb, RGBDSEG_GIT_COMMIT);
  if (!args.json_out.empty()) {
    nlohmann::ordered_json j;
    j["latency_ms"] = {{"median", median}, {"min", ms.front()}, {"max", ms.back()}};
    j["runs_ms"] = ms;
    j["peak_rss_mb"] = peak_mb;
    j["size"] = {h, w};
    j["batch"] = args.batch;
    j["dtype"] = args.dtype;
    j["threads"] = threads;
    j["config"] = args.hf_config;
    j["commit"] = RGBDSEG_GIT_COMMIT;
    j["system"] = system_info();
    if (args.json_out == "-") {
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      write_file_atomic(args.json_out, j.dump(2) + "\n");
    }
  }
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = parent.add_subcommand("bench", "forward latency and peak memory of a model configuration (random weights)");
  cmd->add_option("--hf-config", args->hf_config, "Hugging Face Mask2Former config.json")->required()->check(CLI::ExistingFile);
  cmd->add_option("--size", args->size, "input size HxW")->capture_default_str();
  cmd->add_option("--batch", args->batch, "batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--dtype", args->dtype, "f32, or bf16 (CPU autocast)")->capture_default_str()->check(CLI::IsMember({"f32", "bf16"}));
  cmd->add_option("--runs", args->runs, "timed runs (median reported)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", args->warmup, "untimed runs first")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--json", args->json_out, "write {latency_ms: {median, min, max}, peak_rss_mb, ...} here ('-' = stdout)");
  add_common_options(*cmd, args->common, /*with_config=*/false);
  return {cmd, [args] { return run_bench(*args); }};
}

}  // namespace rgbdseg::app
