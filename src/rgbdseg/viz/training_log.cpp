#include "rgbdseg/viz/training_log.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"

namespace rgbdseg {

namespace {

using json = nlohmann::json;

// "[json.exception.parse_error.101] parse error at line 1, column 5: syntax
// error ..." -> "column 5: syntax error ..." (each record is one line, so the
// JSON line number is noise).
std::string short_parse_error(const std::string& what) {
  std::string s = what;
  const size_t bracket = s.find("] ");
  if (s.rfind("[json.exception", 0) == 0 && bracket != std::string::npos) s = s.substr(bracket + 2);
  const std::string noise = "parse error at line 1, ";
  if (s.rfind(noise, 0) == 0) s = s.substr(noise.size());
  return s;
}

class LineReader {
 public:
  LineReader(const json& j, std::string where) : j_(j), where_(std::move(where)) {}

  int64_t integer(const char* key, bool required) const {
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      if (required) throw Error(where_ + ": no \"" + key + "\"");
      return 0;
    }
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_number_float()) {
      const double v = it->get<double>();
      if (std::isfinite(v) && v == std::floor(v)) return static_cast<int64_t>(v);
    }
    throw Error(where_ + ": \"" + key + "\" is not an integer (" + it->dump() + ")");
  }

  // NaN when absent or null.
  double number(const char* key) const {
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return kNoValue;
    if (!it->is_number()) throw Error(where_ + ": \"" + key + "\" is not a number (" + it->dump() + ")");
    return it->get<double>();
  }

 private:
  const json& j_;
  std::string where_;
};

}  // namespace

TrainingLog parse_training_log(std::string_view text, const std::string& name) {
  TrainingLog log;
  size_t start = 0;
  int64_t line_no = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    const bool has_newline = end != std::string_view::npos;
    if (!has_newline) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;

    const std::string where = name + ":" + std::to_string(line_no);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1E999
      if (!has_newline) {  // still being written
        log.partial_last_line = true;
        break;
      }
      throw Error(where + ": not JSON (" + short_parse_error(e.what()) + ")");
    }
    if (!j.is_object()) throw Error(where + ": not a JSON object (" + std::string(j.type_name()) + ")");
    const auto type_it = j.find("type");
    if (type_it == j.end() || !type_it->is_string()) continue;  // not a record we plot
    const std::string type = type_it->get<std::string>();

    if (type == "train") {
      const std::string at = where + ": train record";
      const LineReader r(j, at);
      TrainRecord t;
      t.step = r.integer("step", true);
      if (!j.contains("loss")) throw Error(at + ": no \"loss\"");
      t.loss = r.number("loss");
      if (!std::isfinite(t.loss)) {  // null: a NaN/inf the writer could not spell
        log.skipped_steps.push_back(t.step);
        continue;
      }
      t.epoch = r.integer("epoch", false);
      t.lr = r.number("lr");
      t.grad_norm = r.number("grad_norm");
      t.images_per_s = r.number("images_per_s");
      t.time_s = r.number("time_s");
      const auto losses = j.find("losses");
      if (losses != j.end() && losses->is_object()) {
        for (const auto& [key, value] : losses->items()) {
          if (value.is_number()) t.losses[key] = value.get<double>();
        }
      }
      log.train.push_back(std::move(t));
    } else if (type == "eval") {
      const LineReader r(j, where + ": eval record");
      EvalRecord e;
      e.step = r.integer("step", true);
      e.epoch = r.integer("epoch", false);
      e.ap = r.number("AP");
      e.ap50 = r.number("AP50");
      e.ap75 = r.number("AP75");
      log.eval.push_back(e);
    } else if (type == "skip") {
      log.skipped_steps.push_back(LineReader(j, where + ": skip record").integer("step", true));
    }
  }
  return log;
}

TrainingLog read_training_log(const std::string& path) { return parse_training_log(read_file(path), path); }

}  // namespace rgbdseg
