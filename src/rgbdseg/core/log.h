#pragma once
// Levelled logging to stderr (results go to stdout, everything else here).
// Lines start with "rgbdseg: " and, by convention, the component:
//   RGBDSEG_LOG(Info) << "weights: loaded " << n << " tensors";
// The stream expression is not evaluated when the level is off.
#include <array>
#include <sstream>
#include <string>
#include <utility>

#include "rgbdseg/core/named_enum.h"

namespace rgbdseg {

enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 };
template <>
struct EnumNames<LogLevel> {
  static constexpr const char* what = "log level";
  static constexpr std::array<std::pair<LogLevel, const char*>, 4> names{
      {{LogLevel::Error, "error"}, {LogLevel::Warn, "warn"}, {LogLevel::Info, "info"}, {LogLevel::Debug, "debug"}}};
};

LogLevel log_level();
void set_log_level(LogLevel level);
// "error" | "warn" | "info" | "debug"; Error listing the valid names otherwise.
LogLevel parse_log_level(const std::string& name);

// Writes one line (prefixed "rgbdseg: ", plus "warning: "/"error: " for those levels).
void log_line(LogLevel level, const std::string& message);

class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { log_line(level_, stream_.str()); }
  std::ostringstream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace rgbdseg

#define RGBDSEG_LOG(level)                                             \
  if (::rgbdseg::log_level() < ::rgbdseg::LogLevel::level) {           \
  } else                                                               \
    ::rgbdseg::LogMessage(::rgbdseg::LogLevel::level).stream()
