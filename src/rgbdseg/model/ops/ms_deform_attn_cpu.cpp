// CPU kernels of multi-scale deformable attention. Forward parallelises over
// (batch, query) rows; backward over (batch, head) pairs, so every gradient
// element is written by exactly one thread (no atomics, no races).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <string>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/ops/ms_deform_attn.h"

namespace rgbdseg::ops {

namespace {

// Independent partial sums in the backward's dot products (see there).
constexpr int kLanes = 8;

std::string shape_of(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "," : "") + std::to_string(t.size(i));
  return s + "]";
}

struct Dims {
  int64_t B, S, heads, D, Q, L, P;
};

// Device, dtype and shape checks with expected-vs-got messages.
Dims check_inputs(const at::Tensor& value, const at::Tensor& shapes, const at::Tensor& starts,
                  const at::Tensor& loc, const at::Tensor& attn) {
  auto fail = [](const std::string& m) { throw Error("ms_deform_attn: " + m); };
  if (value.dim() != 4) fail("value must be [B, S, heads, D], got " + shape_of(value));
  if (loc.dim() != 6 || loc.size(5) != 2) fail("sampling_locations must be [B, Q, heads, L, P, 2], got " + shape_of(loc));
  if (attn.dim() != 5) fail("attention_weights must be [B, Q, heads, L, P], got " + shape_of(attn));
  const Dims d{value.size(0), value.size(1), value.size(2), value.size(3), loc.size(1), loc.size(3), loc.size(4)};
  if (shapes.dim() != 2 || shapes.size(0) != d.L || shapes.size(1) != 2) {
    fail("spatial_shapes must be [L=" + std::to_string(d.L) + ", 2], got " + shape_of(shapes));
  }
  if (starts.dim() != 1 || starts.size(0) != d.L) {
    fail("level_start_index must be [L=" + std::to_string(d.L) + "], got " + shape_of(starts));
  }
  if (shapes.scalar_type() != at::kLong || starts.scalar_type() != at::kLong) {
    fail("spatial_shapes and level_start_index must be int64");
  }
  if (loc.size(0) != d.B || loc.size(2) != d.heads) {
    fail("sampling_locations " + shape_of(loc) + " does not match value " + shape_of(value) + " (batch, heads)");
  }
  if (attn.size(0) != d.B || attn.size(1) != d.Q || attn.size(2) != d.heads || attn.size(3) != d.L ||
      attn.size(4) != d.P) {
    fail("attention_weights " + shape_of(attn) + " does not match sampling_locations " + shape_of(loc));
  }
  if (loc.scalar_type() != value.scalar_type() || attn.scalar_type() != value.scalar_type()) {
    fail("value, sampling_locations and attention_weights must share a dtype");
  }
  if (!value.device().is_cpu() || !loc.device().is_cpu() || !attn.device().is_cpu()) fail("CPU kernel given a non-CPU tensor");
  const auto sh = shapes.contiguous();
  const auto st = starts.contiguous();
  int64_t total = 0;
  for (int64_t l = 0; l < d.L; ++l) {
    const int64_t h = sh[l][0].item<int64_t>(), w = sh[l][1].item<int64_t>();
    if (h <= 0 || w <= 0) fail("level " + std::to_string(l) + " has an empty spatial shape");
    if (st[l].item<int64_t>() != total) {
      fail("level_start_index[" + std::to_string(l) + "] is " + std::to_string(st[l].item<int64_t>()) +
           ", expected " + std::to_string(total));
    }
    total += h * w;
  }
  if (total != d.S) fail("spatial shapes cover " + std::to_string(total) + " positions, value has S=" + std::to_string(d.S));
  return d;
}

// Bilinear sample of one head's D-vector at pixel coordinates (x, y), zeros
// outside; calls visit(corner_row_pointer, corner_weight, dweight_dx, dweight_dy).
template <typename scalar_t, typename Visit>
inline void for_each_corner(scalar_t x, scalar_t y, int64_t H, int64_t W, Visit visit) {
  const scalar_t xf = std::floor(x), yf = std::floor(y);
  const int64_t x0 = static_cast<int64_t>(xf), y0 = static_cast<int64_t>(yf);
  const scalar_t fx = x - xf, fy = y - yf;
  const int64_t xs[2] = {x0, x0 + 1}, ys[2] = {y0, y0 + 1};
  const scalar_t wx[2] = {1 - fx, fx}, wy[2] = {1 - fy, fy};
  const scalar_t dwx[2] = {-1, 1}, dwy[2] = {-1, 1};
  for (int j = 0; j < 2; ++j) {
    if (ys[j] < 0 || ys[j] >= H) continue;
    for (int i = 0; i < 2; ++i) {
      if (xs[i] < 0 || xs[i] >= W) continue;
      visit(ys[j] * W + xs[i], wx[i] * wy[j], dwx[i] * wy[j], wx[i] * dwy[j]);
    }
  }
}

}  // namespace

at::Tensor ms_deform_attn_forward_cpu(const at::Tensor& value_in, const at::Tensor& shapes_in,
                                      const at::Tensor& starts_in, const at::Tensor& loc_in,
                                      const at::Tensor& attn_in) {
  const Dims d = check_inputs(value_in, shapes_in, starts_in, loc_in, attn_in);
  const auto value = value_in.contiguous(), loc = loc_in.contiguous(), attn = attn_in.contiguous();
  auto out = at::zeros({d.B, d.Q, d.heads * d.D}, value.options());
  if (out.numel() == 0) return out;
  const auto shapes = shapes_in.contiguous().to(at::kLong);
  const auto starts = starts_in.contiguous().to(at::kLong);
  const int64_t* sh = shapes.data_ptr<int64_t>();
  const int64_t* st = starts.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(value.scalar_type(), "ms_deform_attn_forward_cpu", [&] {
    const scalar_t* v = value.data_ptr<scalar_t>();
    const scalar_t* lp = loc.data_ptr<scalar_t>();
    const scalar_t* ap = attn.data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    at::parallel_for(0, d.B * d.Q, 1, [&](int64_t begin, int64_t end) {
      for (int64_t bq = begin; bq < end; ++bq) {
        const int64_t b = bq / d.Q;
        for (int64_t h = 0; h < d.heads; ++h) {
          scalar_t* acc = o + (bq * d.heads + h) * d.D;
          for (int64_t l = 0; l < d.L; ++l) {
            const int64_t H = sh[2 * l], W = sh[2 * l + 1];
            const scalar_t* vl = v + ((b * d.S + st[l]) * d.heads + h) * d.D;  // row stride heads*D
            for (int64_t p = 0; p < d.P; ++p) {
              const int64_t k = ((bq * d.heads + h) * d.L + l) * d.P + p;
              const scalar_t w = ap[k];
              const scalar_t x = lp[2 * k] * W - scalar_t(0.5), y = lp[2 * k + 1] * H - scalar_t(0.5);
              for_each_corner<scalar_t>(x, y, H, W, [&](int64_t pos, scalar_t cw, scalar_t, scalar_t) {
                const scalar_t* row = vl + pos * d.heads * d.D;
                const scalar_t f = w * cw;
                for (int64_t c = 0; c < d.D; ++c) acc[c] += f * row[c];
              });
            }
          }
        }
      }
    });
  });
  return out;
}

MsDeformAttnGrads ms_deform_attn_backward_cpu(const at::Tensor& grad_output, const at::Tensor& value_in,
                                              const at::Tensor& shapes_in, const at::Tensor& starts_in,
                                              const at::Tensor& loc_in, const at::Tensor& attn_in) {
  const Dims d = check_inputs(value_in, shapes_in, starts_in, loc_in, attn_in);
  const auto value = value_in.contiguous(), loc = loc_in.contiguous(), attn = attn_in.contiguous();
  const auto grad = grad_output.contiguous();
  if (grad.sizes() != at::IntArrayRef({d.B, d.Q, d.heads * d.D})) {
    throw Error("ms_deform_attn: grad_output must be " + shape_of(at::empty({d.B, d.Q, d.heads * d.D})) + ", got " +
                shape_of(grad));
  }
  MsDeformAttnGrads g{at::zeros_like(value), at::zeros_like(loc), at::zeros_like(attn)};
  if (grad.numel() == 0) return g;
  const auto shapes = shapes_in.contiguous();
  const auto starts = starts_in.contiguous();
  const int64_t* sh = shapes.data_ptr<int64_t>();
  const int64_t* st = starts.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(value.scalar_type(), "ms_deform_attn_backward_cpu", [&] {
    const scalar_t* v = value.data_ptr<scalar_t>();
    const scalar_t* lp = loc.data_ptr<scalar_t>();
    const scalar_t* ap = attn.data_ptr<scalar_t>();
    const scalar_t* go = grad.data_ptr<scalar_t>();
    scalar_t* gv = g.value.data_ptr<scalar_t>();
    scalar_t* gl = g.sampling_locations.data_ptr<scalar_t>();
    scalar_t* ga = g.attention_weights.data_ptr<scalar_t>();
    // Each (batch, head) pair owns its slice of every gradient.
    at::parallel_for(0, d.B * d.heads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t bh = begin; bh < end; ++bh) {
        const int64_t b = bh / d.heads, h = bh % d.heads;
        for (int64_t q = 0; q < d.Q; ++q) {
          const int64_t bq = b * d.Q + q;
          const scalar_t* gout = go + (bq * d.heads + h) * d.D;
          for (int64_t l = 0; l < d.L; ++l) {
            const int64_t H = sh[2 * l], W = sh[2 * l + 1];
            const int64_t base = ((b * d.S + st[l]) * d.heads + h) * d.D;
            for (int64_t p = 0; p < d.P; ++p) {
              const int64_t k = ((bq * d.heads + h) * d.L + l) * d.P + p;
              const scalar_t w = ap[k];
              const scalar_t x = lp[2 * k] * W - scalar_t(0.5), y = lp[2 * k + 1] * H - scalar_t(0.5);
              scalar_t d_w = 0, d_x = 0, d_y = 0;
              for_each_corner<scalar_t>(x, y, H, W, [&](int64_t pos, scalar_t cw, scalar_t dcw_dx, scalar_t dcw_dy) {
                const int64_t off = base + pos * d.heads * d.D;
                // Distinct buffers: restrict lets the compiler vectorise across them.
                const scalar_t* __restrict vrow = v + off;
                scalar_t* __restrict grow = gv + off;
                const scalar_t* __restrict g = gout;
                const scalar_t wcw = w * cw;
                // The dot product in kLanes independent partial sums: one running
                // sum is a chain of dependent adds (~4 cycles each) that the
                // compiler may not reorder, and it bounded this loop, not memory.
                scalar_t partial[kLanes] = {};
                int64_t c = 0;
                for (; c + kLanes <= d.D; c += kLanes) {
                  for (int j = 0; j < kLanes; ++j) {
                    partial[j] += vrow[c + j] * g[c + j];
                    grow[c + j] += wcw * g[c + j];
                  }
                }
                for (; c < d.D; ++c) {
                  partial[0] += vrow[c] * g[c];
                  grow[c] += wcw * g[c];
                }
                scalar_t dot = 0;
                for (int j = 0; j < kLanes; ++j) dot += partial[j];
                d_w += cw * dot;
                d_x += dcw_dx * dot;
                d_y += dcw_dy * dot;
              });
              ga[k] = d_w;
              gl[2 * k] = w * d_x * W;  // d x_pixel / d loc_x = W
              gl[2 * k + 1] = w * d_y * H;
            }
          }
        }
      }
    });
  });
  return g;
}

namespace {
const bool kRegistered = register_ms_deform_attn_kernel(
    c10::DeviceType::CPU, MsDeformAttnKernel{&ms_deform_attn_forward_cpu, &ms_deform_attn_backward_cpu});
}  // namespace

}  // namespace rgbdseg::ops
