#pragma once
// The trainer's JSON-lines log, parsed into series for `rgbdseg plot`.
// Torch-free.
//
// One JSON object per line; "type" says what it is:
//   {"type":"train","step":120,"epoch":1,"lr":1e-4,"loss":2.31,"losses":{"mask":0.8,...},
//    "grad_norm":3.2,"images_per_s":11.5,"time_s":812.4}
//   {"type":"eval","step":2000,"epoch":4,"AP":31.2,"AP50":52.0,"AP75":32.9,...}
//   {"type":"skip","step":121,...}   a step skipped because its loss was not
//   finite
// Other types and unknown keys are ignored, as are blank lines. A train line
// whose "loss" is null (how JSON writers spell NaN) counts as a skipped step.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rgbdseg {

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

struct TrainRecord {
  int64_t step = 0;
  int64_t epoch = 0;     // 0 when absent
  double lr = kNoValue;  // NaN when absent
  double loss = kNoValue;
  std::map<std::string, double> losses;  // named loss terms ("losses"), may be empty
  double grad_norm = kNoValue;
  double images_per_s = kNoValue;
  double time_s = kNoValue;
};

struct EvalRecord {
  int64_t step = 0;
  int64_t epoch = 0;
  double ap = kNoValue, ap50 = kNoValue, ap75 = kNoValue;  // NaN when absent
};

struct TrainingLog {
  std::vector<TrainRecord> train;  // file order
  std::vector<EvalRecord> eval;    // file order
  std::vector<int64_t> skipped_steps;
  // The last line had no newline and was not valid JSON: the trainer is still
  // writing it. It is left out rather than failing a plot of a live run.
  bool partial_last_line = false;
};

// Parses the text of a log; `name` (the file) starts every error message:
// "<name>:<line>: not JSON (...)", "<name>:<line>: train record: "loss" is not
// a number".
TrainingLog parse_training_log(std::string_view text, const std::string& name);

// Reads and parses a log file; Error naming the file when it cannot be read.
TrainingLog read_training_log(const std::string& path);

}  // namespace rgbdseg
