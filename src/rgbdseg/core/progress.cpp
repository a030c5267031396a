#include "rgbdseg/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>

#include "rgbdseg/core/log.h"

namespace rgbdseg {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

std::string format_progress_line(const std::string& label, int64_t done, int64_t total, double elapsed_s,
                                 const std::string& unit) {
  return format_progress_line(label, done, total, 0, elapsed_s, unit);
}

std::string format_progress_line(const std::string& label, int64_t done, int64_t total, int64_t done_at_start,
                                 double elapsed_s, const std::string& unit) {
  const double rate = elapsed_s > 0 ? static_cast<double>(std::max<int64_t>(0, done - done_at_start)) / elapsed_s : 0.0;
  char buf[256];
  if (total > 0) {
    const double pct = 100.0 * static_cast<double>(done) / static_cast<double>(total);
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : NAN;
    std::snprintf(buf, sizeof buf, "%s  %lld/%lld  %3.0f%%  %.1f %s/s  ETA %s", label.c_str(),
                  static_cast<long long>(done), static_cast<long long>(total), pct, rate, unit.c_str(),
                  format_duration(eta).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%s  %lld  %.1f %s/s  elapsed %s", label.c_str(), static_cast<long long>(done),
                  rate, unit.c_str(), format_duration(elapsed_s).c_str());
  }
  return buf;
}

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit, double interval_s)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      interval_s_(interval_s),
      tty_(::isatty(STDERR_FILENO) == 1),
      enabled_(log_level() >= LogLevel::Info),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (std::uncaught_exceptions() > 0) {
    // Unwinding from an error: no "done" line; just end a half-drawn bar.
    if (tty_ && enabled_ && !finished_ && done_ > 0) std::fputc('\n', stderr);
    return;
  }
  finish();
}

void ProgressBar::update(int64_t done) {
  const auto now = std::chrono::steady_clock::now();
  if (first_done_ < 0) {
    first_done_ = done;
    first_update_ = now;
  }
  done_ = done;
  if (!enabled_ || finished_) return;
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (tty_ ? 0.1 : interval_s_)) {
    last_draw_ = now;
    draw(false);
  }
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(true);
}

ProgressCallback ProgressBar::callback() {
  return [this](int64_t done, int64_t total) {
    if (total > 0) total_ = total;
    update(done);
    return true;
  };
}

void ProgressBar::draw(bool final_line) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string line = first_done_ < 0 ? format_progress_line(label_, done_, total_, elapsed, unit_)
                                     : format_progress_line(label_, done_, total_, first_done_,
                                                            std::chrono::duration<double>(now - first_update_).count(), unit_);
  if (final_line) line = label_ + "  " + std::to_string(done_) + " " + unit_ + " in " + format_duration(elapsed);
  if (tty_) {
    std::string bar;
    if (total_ > 0 && !final_line) {
      const int width = 24;
      const int filled = static_cast<int>(width * std::min<double>(1.0, double(done_) / double(total_)));
      bar = " [" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(width - filled), '.') + "]";
    }
    std::fprintf(stderr, "\r\033[Krgbdseg: %s%s%s", line.c_str(), bar.c_str(), final_line ? "\n" : "");
    std::fflush(stderr);
  } else {
    log_line(LogLevel::Info, line);
  }
}

}  // namespace rgbdseg
