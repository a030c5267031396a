#pragma once
// Where a piece of LibTorch work spends its time, by operator and by model
// stage: LibTorch's CPU profiler around a call, folded into self and total
// times per name. The model marks its stages with scopes named "stage:..."
// (backbone, depth.*, pixel_decoder, transformer_decoder, class_head), so one
// profile answers both "which module" and "which kernel".
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rgbdseg {

struct ProfiledName {
  std::string name;      // an operator (aten::conv2d) or a stage (stage:backbone)
  double self_ms = 0;    // inside it, but not inside a nested operator or stage
  double total_ms = 0;   // inside it, nested calls included (outermost call only)
  int64_t calls = 0;
};

struct OpProfile {
  double wall_ms = 0;                // the whole call
  std::vector<ProfiledName> names;   // by self time, largest first
};

// Runs fn once under the profiler (events of the calling thread: LibTorch's
// intra-op threads work inside the operators that started them).
OpProfile profile_ops(const std::function<void()>& fn);

// A Markdown table of the stages (total time) and then the operators with the
// most self time (top `rows`), each with its share of the wall time.
std::string format_op_profile(const OpProfile& profile, size_t rows = 20);

}  // namespace rgbdseg
