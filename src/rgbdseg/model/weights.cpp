#include "rgbdseg/model/weights.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cstring>
#include <set>

#include "rgbdseg/core/error.h"

namespace rgbdseg::model {

namespace {

at::ScalarType scalar_type(DType d) {
  switch (d) {
    case DType::F64: return at::kDouble;
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::I64: return at::kLong;
    case DType::I32: return at::kInt;
    case DType::I16: return at::kShort;
    case DType::I8: return at::kChar;
    case DType::U8: return at::kByte;
    case DType::Bool: return at::kBool;
  }
  throw Error("unknown dtype");
}

std::string shape_text(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

at::Tensor to_tensor(const StoredTensor& t) {
  auto out = at::empty(t.shape, at::TensorOptions().dtype(scalar_type(t.dtype)));
  if (out.nbytes() != t.bytes.size()) throw Error("tensor bytes do not match its shape");
  std::memcpy(out.data_ptr(), t.bytes.data(), t.bytes.size());
  return out;
}

StoredTensor from_tensor(const at::Tensor& t_in) {
  const auto t = t_in.detach().to(at::kCPU).contiguous();
  StoredTensor out;
  switch (t.scalar_type()) {
    case at::kDouble: out.dtype = DType::F64; break;
    case at::kFloat: out.dtype = DType::F32; break;
    case at::kHalf: out.dtype = DType::F16; break;
    case at::kBFloat16: out.dtype = DType::BF16; break;
    case at::kLong: out.dtype = DType::I64; break;
    case at::kInt: out.dtype = DType::I32; break;
    case at::kShort: out.dtype = DType::I16; break;
    case at::kChar: out.dtype = DType::I8; break;
    case at::kByte: out.dtype = DType::U8; break;
    case at::kBool: out.dtype = DType::Bool; break;
    default: throw Error(std::string("cannot store tensors of type ") + c10::toString(t.scalar_type()));
  }
  out.shape.assign(t.sizes().begin(), t.sizes().end());
  out.bytes.assign(static_cast<const char*>(t.data_ptr()), t.nbytes());
  return out;
}

LoadReport load_weights(torch::nn::Module& module, const SafetensorsFile& file, const std::string& prefix,
                        const std::string& file_name) {
  LoadReport report;
  std::set<std::string> used;
  at::NoGradGuard no_grad;
  auto load = [&](const std::string& key, at::Tensor& target) {
    const StoredTensor* t = file.find(prefix + key);
    if (!t) {
      report.missing.push_back(key);
      return;
    }
    const at::Tensor src = to_tensor(*t);
    if (at::isFloatingType(src.scalar_type()) != at::isFloatingType(target.scalar_type())) {
      throw Error(file_name + ": tensor '" + prefix + key + "' has dtype " + dtype_name(t->dtype) + ", the model expects " +
                  (at::isFloatingType(target.scalar_type()) ? "a floating-point tensor" : "an integer tensor"));
    }
    if (src.sizes() != target.sizes()) {
      throw Error(file_name + ": tensor '" + prefix + key + "' has shape " + shape_text(src.sizes()) +
                  ", the model expects " + shape_text(target.sizes()));
    }
    target.copy_(src.to(target.scalar_type()));
    used.insert(prefix + key);
    ++report.loaded;
  };
  for (auto& item : module.named_parameters(/*recurse=*/true)) load(item.key(), item.value());
  for (auto& item : module.named_buffers(/*recurse=*/true)) load(item.key(), item.value());
  for (const auto& [name, t] : file.tensors) {
    (void)t;
    if (name.rfind(prefix, 0) == 0 && !used.count(name)) report.unexpected.push_back(name.substr(prefix.size()));
  }
  return report;
}

}  // namespace rgbdseg::model
