#pragma once
// Loading Hugging Face-named safetensors into LibTorch modules by key name.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "rgbdseg/core/safetensors.h"

namespace torch::nn {
class Module;
}

namespace rgbdseg::model {

// A stored tensor as an at::Tensor (copied; dtype as stored), and back.
at::Tensor to_tensor(const StoredTensor& t);
StoredTensor from_tensor(const at::Tensor& t);

struct LoadReport {
  size_t loaded = 0;
  std::vector<std::string> missing;     // module keys with no tensor under prefix
  std::vector<std::string> unexpected;  // file keys under prefix the module does not have
};

// Copies `prefix + key` from `file` into every parameter and buffer `key` of
// `module` (converting the dtype to the module's). A shape mismatch is an
// Error naming the key, the file's shape and the module's. Missing and
// unexpected keys are reported, not thrown: the caller decides what is allowed.
LoadReport load_weights(torch::nn::Module& module, const SafetensorsFile& file, const std::string& prefix,
                        const std::string& file_name);

}  // namespace rgbdseg::model
