#pragma once
// The fixture the trainer tests share: a temporary folder with the tiny
// Hugging Face config, quiet logs, synthetic scenes, the tiny recipe
// (tests/tiny_training_config.h), run options without signal handlers, and
// a tensor-by-tensor comparison of two weight files.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "rgbdseg/core/config.h"
#include "rgbdseg/core/log.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/data/synthetic_scenes.h"
#include "rgbdseg/model/weights.h"
#include "rgbdseg/train/trainer.h"
#include "temp_dir.h"
#include "tiny_hf_config.h"
#include "tiny_training_config.h"

namespace rgbdseg::testing {

using namespace rgbdseg::train;

inline const char* const kTinyHf = rgbdseg::testing::kTinyHfConfig;

// Quiet logs while training (restored afterwards).
class QuietLogs {
 public:
  QuietLogs() : old_(log_level()) { set_log_level(LogLevel::Error); }
  ~QuietLogs() { set_log_level(old_); }

 private:
  LogLevel old_;
};

inline std::string write_scenes(const ScopedTempDir& tmp, const std::string& name, int num, int height, int width,
                         uint64_t seed, bool single_class, int max_objects = 7, int min_visible = 30) {
  SynthOptions o;
  o.height = height;
  o.width = width;
  o.seed = seed;
  o.single_class = single_class;
  o.max_objects = max_objects;
  o.min_objects = std::min(o.min_objects, max_objects);
  o.min_visible_pixels = min_visible;
  return write_synthetic_dataset(tmp.file(name), num, o, /*threads=*/1).annotations_path;
}

// The shared tiny recipe (tests/tiny_training_config.h).
inline Config quick_config(const std::string& hf, const std::string& train, const std::string& variant) {
  return rgbdseg::testing::tiny_training_config(hf, train, variant);
}

inline TrainRunOptions run_options(const std::string& out) {
  TrainRunOptions r;
  r.out_dir = out;
  r.handle_signals = false;  // not the test binary's handlers
  r.progress = nullptr;
  return r;
}


inline bool same_tensors(const std::string& a, const std::string& b) {
  const SafetensorsFile x = read_safetensors(a), y = read_safetensors(b);
  if (x.tensors.size() != y.tensors.size()) {
    ADD_FAILURE() << a << " has " << x.tensors.size() << " tensors, " << b << " " << y.tensors.size();
    return false;
  }
  for (const auto& [name, t] : x.tensors) {
    const StoredTensor* u = y.find(name);
    if (!u) {
      ADD_FAILURE() << b << " has no " << name;
      return false;
    }
    if (!at::equal(model::to_tensor(t), model::to_tensor(*u))) {
      ADD_FAILURE() << name << " differs between " << a << " and " << b;
      return false;
    }
  }
  return true;
}

class TrainerTest : public ::testing::Test {
 protected:
  ScopedTempDir tmp;
  std::string hf = tmp.write("hf/tiny.json", kTinyHf);
  QuietLogs quiet;
};

}  // namespace rgbdseg::testing
