#include "rgbdseg/model/complexity.h"

#include <ATen/ATen.h>

namespace rgbdseg::model {

namespace {

int64_t count(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

double swin_flops(const SwinOptions& o, int64_t H, int64_t W, std::vector<std::pair<int64_t, int64_t>>& sizes) {
  int64_t h = ceil_div(H, o.patch_size), w = ceil_div(W, o.patch_size);
  double f = static_cast<double>(h * w) * o.embed_dim * o.in_channels * o.patch_size * o.patch_size;
  for (size_t s = 0; s < o.depths.size(); ++s) {
    const double C = static_cast<double>(o.stage_channels(s));
    const double n = static_cast<double>(h * w);
    // Attention runs on the map padded to whole windows.
    const double np = static_cast<double>(ceil_div(h, o.window_size) * o.window_size * ceil_div(w, o.window_size) * o.window_size);
    const double ws2 = static_cast<double>(o.window_size * o.window_size);
    const double block = 4 * np * C * C                      // q, k, v, output projections
                         + 2 * np * ws2 * C                   // scores and weighted sum
                         + 2 * n * C * (o.mlp_ratio * C);      // MLP
    f += block * static_cast<double>(o.depths[s]);
    sizes.emplace_back(h, w);
    if (s + 1 < o.depths.size()) {
      h = ceil_div(h, 2);
      w = ceil_div(w, 2);
      f += static_cast<double>(h * w) * 4 * C * 2 * C;  // patch merging reduction
    }
  }
  return f;
}

}  // namespace

std::vector<ModuleCost> mask2former_costs(Mask2FormerImpl& m, int64_t H, int64_t W) {
  const auto& o = m.options();
  std::vector<std::pair<int64_t, int64_t>> sizes;  // backbone maps, stride 4..32
  ModuleCost backbone{"backbone", count(*m.backbone), swin_flops(o.swin, H, W, sizes)};

  const auto& pd = o.pixel_decoder;
  const double C = static_cast<double>(pd.feature_size);
  const size_t n_in = sizes.size();
  double S = 0, f = 0;
  for (int64_t l = 0; l < pd.levels; ++l) {
    const auto& hw = sizes[n_in - 1 - static_cast<size_t>(l)];
    const double n = static_cast<double>(hw.first * hw.second);
    S += n;
    f += n * static_cast<double>(pd.in_channels[n_in - 1 - static_cast<size_t>(l)]) * C;  // input projection
  }
  const double slots = static_cast<double>(pd.heads * pd.levels * pd.points);
  const double encoder_layer = S * C * C * 2             // value and output projections
                               + S * C * slots * 3        // offsets (x, y) and attention weights
                               + S * slots * (C / pd.heads) * 4  // bilinear sampling, 4 taps per slot
                               + 2 * S * C * pd.encoder_ffn_dim;
  f += encoder_layer * static_cast<double>(pd.encoder_layers);
  const double n4 = static_cast<double>(sizes[0].first * sizes[0].second);
  for (size_t i = 0; i + static_cast<size_t>(pd.levels) < n_in; ++i) {
    const auto& hw = sizes[n_in - static_cast<size_t>(pd.levels) - 1 - i];
    const double n = static_cast<double>(hw.first * hw.second);
    f += n * static_cast<double>(pd.in_channels[n_in - static_cast<size_t>(pd.levels) - 1 - i]) * C  // lateral 1x1
         + n * C * C * 9;                                                                          // 3x3 output conv
  }
  f += n4 * C * static_cast<double>(pd.mask_feature_size);  // mask projection
  ModuleCost pixel{"pixel_decoder", count(*m.pixel_decoder), f};

  const auto& td = o.transformer_decoder;
  const double D = static_cast<double>(td.hidden_dim), Q = static_cast<double>(td.num_queries);
  double t = 0;
  auto head = [&] { return 3 * Q * D * D + Q * D * n4; };  // mask MLP + mask product
  t += head();
  for (int64_t i = 0; i < td.layers; ++i) {
    const auto& hw = sizes[n_in - 1 - static_cast<size_t>(i % td.levels)];
    const double hw_n = static_cast<double>(hw.first * hw.second);
    t += 2 * Q * D * D + 2 * hw_n * D * D + 2 * Q * hw_n * D;  // masked cross-attention
    t += 4 * Q * D * D + 2 * Q * Q * D;                         // self-attention
    t += 2 * Q * D * static_cast<double>(td.ffn_dim);           // FFN
    t += head();
  }
  ModuleCost decoder{"transformer_decoder", count(*m.transformer_decoder), t};
  ModuleCost classes{"class_head", count(*m.class_predictor),
                     static_cast<double>(td.layers + 1) * Q * D * static_cast<double>(o.num_labels + 1)};
  return {backbone, pixel, decoder, classes};
}

std::vector<ModuleCost> rgbd_model_costs(RgbdMask2FormerImpl& m, int64_t H, int64_t W) {
  auto costs = mask2former_costs(m, H, W);
  if (!m.has_depth()) return costs;
  const auto& o = m.rgbd_options().depth;
  std::vector<std::pair<int64_t, int64_t>> sizes;
  swin_flops(m.options().swin, H, W, sizes);
  auto& d = *m.depth;
  if (d.dggm) {
    const double h = static_cast<double>(o.dggm.hidden_channels);
    double f = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const double n = static_cast<double>(sizes[i].first * sizes[i].second);
      f += n * (h * 2 * 9 + h + h * 9 + h * static_cast<double>(o.channels[i]));
    }
    costs.push_back({"depth.dggm", count(*d.dggm), f});
  }
  if (d.dsam) {
    const double k2 = static_cast<double>(o.dsam_kernel_size * o.dsam_kernel_size);
    const double inputs = static_cast<double>(o.decomposition.num_modes + 2);  // regions + remaining + projection
    double f = 0;
    for (size_t i = 0; i + 1 < sizes.size(); ++i) {
      const double n = static_cast<double>(sizes[i + 1].first * sizes[i + 1].second);
      f += n * static_cast<double>(o.channels[i + 1]) * static_cast<double>(o.channels[i]) * k2 * inputs;
    }
    costs.push_back({"depth.dsam", count(*d.dsam), f});
  }
  if (d.predictor) {
    const auto& p = o.predictor;
    const double c = static_cast<double>(p.channels);
    int64_t h = ceil_div(H, p.input_stride), w = ceil_div(W, p.input_stride);
    double f = 0;
    for (int layer = 0; layer < 3; ++layer) {
      h = ceil_div(h, 2);
      w = ceil_div(w, 2);
      f += static_cast<double>(h * w) * c * (layer == 0 ? 2 : c) * 9;
    }
    f += c * c + c;
    costs.push_back({"depth.predictor", count(*d.predictor), f});
  }
  return costs;
}

}  // namespace rgbdseg::model
