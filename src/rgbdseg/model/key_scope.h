#pragma once
// Hugging Face key paths for LibTorch modules: an empty module registered under
// `name` only to nest its children's names ("attention.self.query.weight").
#include <memory>
#include <string>

#include <torch/nn/module.h>

namespace rgbdseg::model {

inline std::shared_ptr<torch::nn::Module> key_scope(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

}  // namespace rgbdseg::model
