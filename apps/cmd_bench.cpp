// rgbdseg bench: forward latency and peak memory of a model configuration
// (random weights), with the machine facts on every row (llama-bench style);
// several variants in one run (--variants rgb,full) give the depth modules' overhead.
#include <ATen/ATen.h>
#include "rgbdseg/model/autocast.h"
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "plugins.h"
#include "rgbdseg/core/build_info.h"
#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/model/complexity.h"
#include "rgbdseg/model/mask2former.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/runtime/op_profile.h"
#include "rgbdseg/runtime/runtime.h"
#include "rgbdseg/train/build.h"
#include "rgbdseg/runtime/device.h"

namespace rgbdseg::app {

namespace {

struct BenchArgs {
  CommonArgs common;
  std::string hf_config, size = "480x640", dtype = "f32", json_out, variants;
  int batch = 1, runs = 5, warmup = 1;
  bool roofline = false, profile = false;
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// What this CPU computes at its best in this run, the yardstick of a model's
// FLOP rate: a 3x3 convolution (256 -> 256 channels at 60x80, a pixel
// decoder's shape) and a 1024^3 matrix product, median of `runs`, in the
// benched precision. GFLOP/s counting two per multiply-add.
struct PeakRates {
  double conv3x3 = 0, matmul = 0;
};

PeakRates measure_peak_rates(const c10::Device& device, const std::string& dtype, int runs) {
  at::NoGradGuard no_grad;
  const auto x = at::randn({1, 256, 60, 80}).to(device), weight = at::randn({256, 256, 3, 3}).to(device) * 0.02;
  const auto a = at::randn({1024, 1024}).to(device), b = at::randn({1024, 1024}).to(device);
  auto time_median = [&](const std::function<double()>& op) {
    op();  // warm-up
    std::vector<double> s;
    for (int r = 0; r < std::max(runs, 5); ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      op();
      s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return median_of(s);
  };
  PeakRates rates;
  const double conv_macs = 256.0 * 256 * 9 * 60 * 80, matmul_macs = 1024.0 * 1024 * 1024;
  rates.conv3x3 = 2 * conv_macs / 1e9 / time_median([&] {
    model::Autocast autocast(device.type(), dtype);
    return at::conv2d(x, weight, {}, 1, 1).sum().item<double>();
  });
  rates.matmul = 2 * matmul_macs / 1e9 / time_median([&] {
    model::Autocast autocast(device.type(), dtype);
    return at::matmul(a, b).sum().item<double>();
  });
  return rates;
}

// A depth map the depth modules have work to do on: a floor ramp, a wall and
// boxes at other depths, a strip without readings (metres).
at::Tensor bench_depth(int64_t batch, int64_t h, int64_t w) {
  auto rows = at::linspace(4.0, 1.0, h).view({1, 1, h, 1}).expand({batch, 1, h, w}).contiguous();
  rows.slice(2, 0, h / 2).fill_(4.5);
  rows.slice(2, h / 4, h / 2).slice(3, w / 8, w / 3).fill_(2.0);
  rows.slice(2, h / 3, 3 * h / 4).slice(3, w / 2, 3 * w / 4).fill_(1.4);
  rows.slice(3, 0, w / 40).zero_();
  return rows + at::randn({batch, 1, h, w}) * 0.01;
}

int run_bench(const BenchArgs& args) {
  const Config config = start_command("bench", args.common);
  if (!args.json_out.empty() && args.json_out != "-") require_writable_output_file(args.json_out);  // before minutes of timing
  const c10::Device device = resolve_device(config.runtime.device);
  const int threads = configure_runtime(config.runtime.threads);
  const auto [h, w] = parse_size(args.size);
  const auto base = args.hf_config.empty() ? train::model_options(config)
                                           : train::model_options(config.model, model::load_hf_config(args.hf_config));
  const std::string config_name = args.hf_config.empty() ? args.common.config : args.hf_config;
  std::vector<std::string> variants;
  if (args.variants.empty()) {
    variants.push_back(base.variant.name());
  } else {
    for (size_t start = 0; start <= args.variants.size();) {
      const size_t comma = std::min(args.variants.find(',', start), args.variants.size());
      variants.push_back(args.variants.substr(start, comma - start));
      start = comma + 1;
    }
  }
  std::vector<model::RgbdMask2Former> models;
  for (const auto& v : variants) {
    ModelVariant variant{};
    if (!enum_from_name(v, variant)) throw UsageError("--variants: unknown variant '" + v + "' (" + enum_name_list<ModelVariant>() + ")");
    ModelConfig mc = config.model;
    mc.variant = variant;
    models.emplace_back(train::model_options(mc, base.mask2former));
    models.back()->to(device);
    models.back()->eval();
  }
  const auto x = at::randn({args.batch, base.mask2former.swin.in_channels, h, w}).to(device);
  const auto depth = bench_depth(args.batch, h, w).to(device);
  auto once = [&](model::RgbdMask2Former& m) {
    at::NoGradGuard no_grad;
    model::Autocast autocast(device.type(), args.dtype);
    const auto out = m->forward(x, depth);
    return out.mask_logits.back().sum().item<double>();  // reads the result: waits for the device
  };
  RGBDSEG_LOG(Info) << "bench: " << system_info();
  for (int i = 0; i < args.warmup; ++i) {
    for (auto& m : models) once(m);
  }
  // Variants interleaved run by run, so that drift in the machine's speed hits all alike.
  std::vector<std::vector<double>> ms(models.size());
  for (int r = 0; r < args.runs; ++r) {
    for (size_t i = 0; i < models.size(); ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      once(models[i]);
      ms[i].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  // The model's multiply-adds (fvcore convention) against this run's peak rates.
  std::vector<double> gmacs;
  for (auto& m : models) {
    double flops = 0;
    for (const auto& c : model::rgbd_model_costs(*m, h, w)) flops += c.flops;
    gmacs.push_back(flops * args.batch / 1e9);
  }
  PeakRates peak;
  if (args.roofline) {
    peak = measure_peak_rates(device, args.dtype, args.runs);
    std::printf("peak rates in this run (%s, %d threads): 3x3 conv 256->256 at 60x80 %.1f GFLOP/s, 1024^3 matmul %.1f GFLOP/s\n",
                args.dtype.c_str(), threads, peak.conv3x3, peak.matmul);
  }
  const double peak_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;
  std::printf("| config | variant | size | batch | dtype | threads | median ms | min ms | max ms | vs %s | GMAC | GFLOP/s | %% of 3x3 conv | peak RSS MB | commit |\n",
              variants[0].c_str());
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  nlohmann::ordered_json per_variant = nlohmann::ordered_json::object();
  const double reference = median_of(ms[0]);
  for (size_t i = 0; i < models.size(); ++i) {
    const double median = median_of(ms[i]);
    const auto [lo, hi] = std::minmax_element(ms[i].begin(), ms[i].end());
    const double gflops = 2 * gmacs[i] / (median / 1e3);
    char share[32] = "-";
    if (args.roofline) std::snprintf(share, sizeof share, "%.0f%%", 100 * gflops / peak.conv3x3);
    std::printf("| %s | %s | %dx%d | %d | %s | %d | %.1f | %.1f | %.1f | %+.1f%% | %.2f | %.1f | %s | %.0f | %s |\n",
                config_name.c_str(), variants[i].c_str(), h, w, args.batch, args.dtype.c_str(), threads, median, *lo, *hi,
                100.0 * (median / reference - 1), gmacs[i], gflops, share, peak_mb, RGBDSEG_GIT_COMMIT);
    per_variant[variants[i]] = {{"latency_ms", {{"median", median}, {"min", *lo}, {"max", *hi}}},
                                {"runs_ms", ms[i]},
                                {"overhead_vs_first", median / reference - 1},
                                {"gmac", gmacs[i]},
                                {"gflop_per_s", gflops}};
  }
  if (args.profile) {
    for (size_t i = 0; i < models.size(); ++i) {
      std::printf("\n%s, %s, %dx%d, %s: ", variants[i].c_str(), config_name.c_str(), h, w, args.dtype.c_str());
      std::printf("%s", format_op_profile(profile_ops([&] { once(models[i]); })).c_str());
    }
  }
  if (!args.json_out.empty()) {
    nlohmann::ordered_json j;
    j["latency_ms"] = per_variant[variants[0]]["latency_ms"];  // the first (or only) variant
    j["runs_ms"] = ms[0];
    j["variants"] = per_variant;
    j["peak_rss_mb"] = peak_mb;
    if (args.roofline) j["peak_gflop_per_s"] = {{"conv3x3", peak.conv3x3}, {"matmul", peak.matmul}};
    j["size"] = {h, w};
    j["batch"] = args.batch;
    j["dtype"] = args.dtype;
    j["threads"] = threads;
    j["device"] = device.str();
    j["config"] = config_name;
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
  cmd->add_option("--hf-config", args->hf_config, "Hugging Face Mask2Former config.json (else the config's model.hf_config)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--variants", args->variants,
                  "comma-separated variants timed in the same run, e.g. rgb,full (default: the config's model.variant)");
  cmd->add_option("--size", args->size, "input size HxW")->capture_default_str();
  cmd->add_option("--batch", args->batch, "batch size")->capture_default_str()->check(positive_number());
  cmd->add_option("--dtype", args->dtype, "f32, bf16 (autocast), or fp16 (CUDA autocast)")->capture_default_str()->check(one_of_names<Precision>());
  cmd->add_option("--runs", args->runs, "timed runs (median reported)")->capture_default_str()->check(positive_number());
  cmd->add_option("--warmup", args->warmup, "untimed runs first")->capture_default_str()->check(non_negative_number());
  cmd->add_option("--json", args->json_out, "write {latency_ms: {median, min, max}, peak_rss_mb, ...} here ('-' = stdout)");
  cmd->add_flag("--roofline", args->roofline,
                "also time a 3x3 convolution and a 1024^3 matrix product in this run and report the model's FLOP rate "
                "as a share of the convolution's");
  cmd->add_flag("--profile", args->profile,
                "after the timed runs, profile one more forward per variant: time by model stage and the operators "
                "with the most self time (LibTorch's profiler; adds its own overhead)");
  add_device_option(*cmd, args->common);
  add_common_options(*cmd, args->common);
  return {cmd, [args] { return run_bench(*args); }};
}

}  // namespace rgbdseg::app
