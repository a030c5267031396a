// Autograd wrapper and device dispatch for multi-scale deformable attention.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/ops/ms_deform_attn.h"

namespace rgbdseg::ops {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

class MsDeformAttnFunction : public torch::autograd::Function<MsDeformAttnFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& value, const at::Tensor& spatial_shapes,
                            const at::Tensor& level_start_index, const at::Tensor& sampling_locations,
                            const at::Tensor& attention_weights) {
    ctx->save_for_backward({value, spatial_shapes, level_start_index, sampling_locations, attention_weights});
    return ms_deform_attn_forward_cpu(value, spatial_shapes, level_start_index, sampling_locations,
                                      attention_weights);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    if (at::GradMode::is_enabled()) {
      throw Error("ms_deform_attn: double backward (create_graph=true) is not supported");
    }
    const auto saved = ctx->get_saved_variables();
    const MsDeformAttnGrads g =
        ms_deform_attn_backward_cpu(grad_outputs[0], saved[0], saved[1], saved[2], saved[3], saved[4]);
    // One gradient per input; none for the integer shape tensors.
    return {g.value, at::Tensor(), at::Tensor(), g.sampling_locations, g.attention_weights};
  }
};

}  // namespace

at::Tensor ms_deform_attn(const at::Tensor& value, const at::Tensor& spatial_shapes,
                          const at::Tensor& level_start_index, const at::Tensor& sampling_locations,
                          const at::Tensor& attention_weights) {
  if (value.is_cuda()) {
    throw Error("ms_deform_attn: this build has no CUDA kernel; use ms_deform_attn_reference on GPU");
  }
  return MsDeformAttnFunction::apply(value, spatial_shapes.to(at::kLong), level_start_index.to(at::kLong),
                                     sampling_locations, attention_weights);
}

}  // namespace rgbdseg::ops
