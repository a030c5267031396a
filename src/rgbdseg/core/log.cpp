#include "rgbdseg/core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
std::mutex g_mutex;
}  // namespace

LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }
void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }

LogLevel parse_log_level(const std::string& name) { return parse_enum<LogLevel>(name); }

void log_line(LogLevel level, const std::string& message) {
  const char* tag = level == LogLevel::Error ? "error: " : level == LogLevel::Warn ? "warning: " : "";
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "rgbdseg: %s%s\n", tag, message.c_str());
  std::fflush(stderr);
}

}  // namespace rgbdseg
