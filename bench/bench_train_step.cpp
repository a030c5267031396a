// Training-step throughput: forward, loss (Mask2Former criterion) and backward
// + AdamW of a model variant on random images and synthetic targets, timed
// separately; median over runs; the row ends with the step's FLOP rate and its
// share of a 3x3 convolution's forward + backward rate in the same run. Usage:
//   bench_train_step HF_CONFIG.json VARIANT HxW BATCH [RUNS] [f32|bf16] [POINTS]
#include <ATen/ATen.h>
#include "rgbdseg/model/autocast.h"
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "rgbdseg/core/config.h"
#include "rgbdseg/model/complexity.h"
#include "rgbdseg/model/rgbd_model.h"
#include "rgbdseg/runtime/runtime.h"
#include "rgbdseg/train/adamw.h"
#include "rgbdseg/train/criterion.h"
#include "rgbdseg/train/build.h"

using namespace rgbdseg;

namespace {
double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s HF_CONFIG.json VARIANT HxW BATCH [RUNS] [f32|bf16] [POINTS]\n", argv[0]);
    return 2;
  }
  const int threads = configure_runtime(0);
  const std::string size = argv[3];
  const int64_t H = std::stoll(size.substr(0, size.find('x'))), W = std::stoll(size.substr(size.find('x') + 1));
  const int64_t B = std::stoll(argv[4]);
  const int runs = argc > 5 ? std::stoi(argv[5]) : 3;
  const bool bf16 = argc > 6 && std::string(argv[6]) == "bf16";
  ModelConfig mc;
  mc.variant = argv[2];
  auto m2f = model::load_hf_config(argv[1]);
  model::RgbdMask2Former net(train::model_options(mc, m2f));
  net->train();
  std::vector<train::ParamGroup> groups(1);
  for (auto& p : net->named_parameters()) groups[0].params.emplace_back(p.key(), p.value());
  train::AdamW opt(groups);
  train::CriterionOptions co;
  if (argc > 7) co.num_points = std::stoll(argv[7]);
  train::Mask2FormerCriterion criterion(co, std::make_shared<train::UniformPointSource>(1));
  at::manual_seed(0);
  const auto images = at::randn({B, 3, H, W});
  auto depth = at::full({B, 1, H, W}, 2.5);
  depth.slice(2, H / 3, 2 * H / 3).slice(3, W / 4, W / 2).fill_(1.2);
  train::Targets targets;
  for (int64_t b = 0; b < B; ++b) {
    auto masks = at::zeros({4, H, W});
    for (int64_t k = 0; k < 4; ++k) masks[k].slice(0, k * H / 5, (k + 1) * H / 5).slice(1, W / 8, W / 2).fill_(1);
    targets.masks.push_back(masks);
    targets.labels.push_back(at::tensor({0, 1, 2, 0}, at::kLong).remainder(m2f.num_labels));
  }
  std::vector<double> fwd, loss_t, bwd, total;
  for (int r = 0; r < runs + 1; ++r) {
    const double t0 = now_ms();
    model::RgbdOutput out;
    {
      model::CpuAutocast autocast(bf16);
      out = net->forward(images, depth);
    }
    const double t1 = now_ms();
    std::vector<at::Tensor> cls, msk;
    for (const auto& t : out.class_logits) cls.push_back(t.to(at::kFloat));
    for (const auto& t : out.mask_logits) msk.push_back(t.to(at::kFloat));
    const auto loss = criterion.forward(cls, msk, targets);
    const double t2 = now_ms();
    opt.zero_grad();
    loss.total.backward();
    opt.step(1e-4);
    const double t3 = now_ms();
    if (r == 0) continue;  // warm-up
    fwd.push_back(t1 - t0);
    loss_t.push_back(t2 - t1);
    bwd.push_back(t3 - t2);
    total.push_back(t3 - t0);
  }
  std::vector<double> nograd;
  for (int r = 0; r < runs; ++r) {
    at::NoGradGuard no_grad;
    const double t0 = now_ms();
    net->forward(images, depth);
    nograd.push_back(now_ms() - t0);
  }
  std::fprintf(stderr, "forward without autograd: %.0f ms\n", median(nograd));
  // The step's FLOP rate against this CPU's: the model's forward multiply-adds
  // (fvcore convention) x 3 for forward + backward (the usual estimate), two
  // FLOPs each, over the whole step; the yardstick is a 3x3 convolution
  // (256 -> 256 at 60x80) forward + backward in the same precision, this run.
  double forward_macs = 0;
  for (const auto& c : model::rgbd_model_costs(*net, H, W)) forward_macs += c.flops;
  forward_macs *= static_cast<double>(B);
  std::vector<double> conv_ms;
  {
    const auto x = at::randn({1, 256, 60, 80}).requires_grad_(true);
    const auto w = (at::randn({256, 256, 3, 3}) * 0.02).requires_grad_(true);
    for (int r = 0; r < 6; ++r) {
      const double t0 = now_ms();
      at::Tensor y;
      {
        model::CpuAutocast autocast(bf16);
        y = at::conv2d(x, w, {}, 1, 1);
      }
      y.sum().backward();
      if (r > 0) conv_ms.push_back(now_ms() - t0);
    }
  }
  const double conv_rate = 3 * 2 * 256.0 * 256 * 9 * 60 * 80 / 1e6 / median(conv_ms);  // GFLOP/s
  const double step_rate = 3 * 2 * forward_macs / 1e6 / median(total);
  std::fprintf(stderr, "step: %.2f GMAC forward, %.1f GFLOP/s; 3x3 conv forward+backward in this run: %.1f GFLOP/s (%.0f%%)\n",
               forward_macs / 1e9, step_rate, conv_rate, 100 * step_rate / conv_rate);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double step = median(total);
  std::printf("| %s | %s | %lldx%lld | %lld | %s | %d | %.0f | %.0f | %.0f | %.0f | %.2f | %.0f | %.1f | %.0f%% |\n", argv[1],
              argv[2], static_cast<long long>(H), static_cast<long long>(W), static_cast<long long>(B),
              bf16 ? "bf16" : "f32", threads, median(fwd), median(loss_t), median(bwd), step,
              1000.0 * static_cast<double>(B) / step, static_cast<double>(usage.ru_maxrss) / 1024.0, step_rate,
              100 * step_rate / conv_rate);
  return 0;
}
