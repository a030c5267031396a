// Autograd wrapper and device dispatch for multi-scale deformable attention.
#include <ATen/ATen.h>
#include <map>
#include <torch/csrc/autograd/custom_function.h>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/ops/ms_deform_attn.h"

namespace rgbdseg::ops {

namespace {

std::map<c10::DeviceType, MsDeformAttnKernel>& kernels() {
  static std::map<c10::DeviceType, MsDeformAttnKernel> table;  // filled by static initialisers
  return table;
}

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

class MsDeformAttnFunction : public torch::autograd::Function<MsDeformAttnFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& value, const at::Tensor& spatial_shapes,
                            const at::Tensor& level_start_index, const at::Tensor& sampling_locations,
                            const at::Tensor& attention_weights) {
    ctx->save_for_backward({value, spatial_shapes, level_start_index, sampling_locations, attention_weights});
    return ms_deform_attn_kernel(value.device().type())
        .forward(value, spatial_shapes, level_start_index, sampling_locations, attention_weights);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    if (at::GradMode::is_enabled()) {
      throw Error("ms_deform_attn: double backward (create_graph=true) is not supported");
    }
    const auto saved = ctx->get_saved_variables();
    const MsDeformAttnGrads g = ms_deform_attn_kernel(saved[0].device().type())
                                    .backward(grad_outputs[0], saved[0], saved[1], saved[2], saved[3], saved[4]);
    // One gradient per input; none for the integer shape tensors.
    return {g.value, at::Tensor(), at::Tensor(), g.sampling_locations, g.attention_weights};
  }
};

}  // namespace

bool register_ms_deform_attn_kernel(c10::DeviceType device, MsDeformAttnKernel kernel) {
  kernels()[device] = kernel;
  return true;
}

const MsDeformAttnKernel& ms_deform_attn_kernel(c10::DeviceType device) {
  const auto it = kernels().find(device);
  if (it != kernels().end()) return it->second;
  std::string have;
  for (const auto& [type, k] : kernels()) have += (have.empty() ? "" : ", ") + c10::DeviceTypeName(type, true);
  throw Error("ms_deform_attn: no kernel for device type " + c10::DeviceTypeName(device, true) +
              " in this build (kernels: " + have + "); a kernel is one file that calls register_ms_deform_attn_kernel");
}

at::Tensor ms_deform_attn(const at::Tensor& value, const at::Tensor& spatial_shapes,
                          const at::Tensor& level_start_index, const at::Tensor& sampling_locations,
                          const at::Tensor& attention_weights) {
  ms_deform_attn_kernel(value.device().type());  // a clear error before autograd wraps it
  return MsDeformAttnFunction::apply(value, spatial_shapes.to(at::kLong), level_start_index.to(at::kLong),
                                     sampling_locations, attention_weights);
}

}  // namespace rgbdseg::ops
