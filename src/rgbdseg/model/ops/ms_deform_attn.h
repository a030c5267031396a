#pragma once
// Multi-scale deformable attention (Deformable DETR; Mask2Former's pixel
// decoder): every query samples P points on each of L feature levels per head,
// bilinearly (grid_sample semantics: align_corners=false, zeros outside), and
// sums them with its attention weights.
//
// Shapes (S = sum over levels of H_l * W_l, levels in the order of spatial_shapes):
//   value               [B, S, heads, D]
//   spatial_shapes      [L, 2] int64 (H_l, W_l)
//   level_start_index   [L] int64 (offset of each level in S)
//   sampling_locations  [B, Q, heads, L, P, 2] (x, y), normalised: 0 and 1 are the map's outer edges
//   attention_weights   [B, Q, heads, L, P]
//   returns             [B, Q, heads * D]
//
// ms_deform_attn dispatches on the value's device type to the kernels registered
// for it: the CPU kernel (forward and backward, parallel, float and double)
// registers itself in ms_deform_attn_cpu.cpp; a CUDA kernel slots in as one
// file that registers its pair the same way. A device type without a kernel is
// an Error naming it. ms_deform_attn_reference is the plain ATen grid_sample
// formulation Hugging Face uses (any device), kept for tests.
#include <ATen/core/Tensor.h>
#include <c10/core/DeviceType.h>

namespace rgbdseg::ops {

at::Tensor ms_deform_attn(const at::Tensor& value, const at::Tensor& spatial_shapes,
                          const at::Tensor& level_start_index, const at::Tensor& sampling_locations,
                          const at::Tensor& attention_weights);

at::Tensor ms_deform_attn_reference(const at::Tensor& value, const at::Tensor& spatial_shapes,
                                    const at::Tensor& sampling_locations, const at::Tensor& attention_weights);

// The CPU kernels themselves (no autograd), exposed for tests and benchmarks.
at::Tensor ms_deform_attn_forward_cpu(const at::Tensor& value, const at::Tensor& spatial_shapes,
                                      const at::Tensor& level_start_index, const at::Tensor& sampling_locations,
                                      const at::Tensor& attention_weights);

struct MsDeformAttnGrads {
  at::Tensor value, sampling_locations, attention_weights;
};
MsDeformAttnGrads ms_deform_attn_backward_cpu(const at::Tensor& grad_output, const at::Tensor& value,
                                              const at::Tensor& spatial_shapes, const at::Tensor& level_start_index,
                                              const at::Tensor& sampling_locations,
                                              const at::Tensor& attention_weights);

// One device type's kernels (same signatures as the CPU pair above).
struct MsDeformAttnKernel {
  at::Tensor (*forward)(const at::Tensor& value, const at::Tensor& spatial_shapes, const at::Tensor& level_start_index,
                        const at::Tensor& sampling_locations, const at::Tensor& attention_weights) = nullptr;
  MsDeformAttnGrads (*backward)(const at::Tensor& grad_output, const at::Tensor& value,
                                const at::Tensor& spatial_shapes, const at::Tensor& level_start_index,
                                const at::Tensor& sampling_locations, const at::Tensor& attention_weights) = nullptr;
};
// Registers (or replaces) the kernels of a device type; returns true, so a
// kernel file can register from a static initialiser.
bool register_ms_deform_attn_kernel(c10::DeviceType device, MsDeformAttnKernel kernel);
// The kernels of `device`; Error naming the device type when none is registered.
const MsDeformAttnKernel& ms_deform_attn_kernel(c10::DeviceType device);

}  // namespace rgbdseg::ops
