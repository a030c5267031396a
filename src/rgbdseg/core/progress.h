#pragma once
// Progress reporting for long work. Libraries report, programs draw: library
// code takes a ProgressCallback; the command line passes one that feeds a
// ProgressBar. On a terminal the bar redraws in place with rate and ETA; when
// stderr is not a terminal (CI, logs) it prints a plain line every few seconds.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace rgbdseg {

// done/total so far; return false to cancel the work.
using ProgressCallback = std::function<bool(int64_t done, int64_t total)>;

// "label  45/100  45%  12.3 it/s  ETA 0:05" (no bar), shared by both modes.
std::string format_progress_line(const std::string& label, int64_t done, int64_t total, double elapsed_s,
                                 const std::string& unit);
// The same with the rate counted from done_at_start (work already done when the
// clock started, as in a resumed run): (done - done_at_start) / elapsed_s.
std::string format_progress_line(const std::string& label, int64_t done, int64_t total, int64_t done_at_start,
                                 double elapsed_s, const std::string& unit);
// "1:02:03" / "2:05" / "0:07".
std::string format_duration(double seconds);

class ProgressBar {
 public:
  // total <= 0: unknown; interval_s: spacing of plain lines off a terminal.
  // The rate and ETA count work from the first update on, so a run that resumes at
  // step 2000 of 2600 reports its real speed, not 2000 steps in a few seconds.
  ProgressBar(std::string label, int64_t total, std::string unit = "it", double interval_s = 10.0);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(int64_t done);
  void advance(int64_t n = 1) { update(done_ + n); }
  // Final line with the total time; called by the destructor if not before.
  void finish();
  ProgressCallback callback();

 private:
  void draw(bool final_line);

  std::string label_, unit_;
  int64_t total_, done_ = 0;
  double interval_s_;
  bool tty_, finished_ = false, enabled_;
  int64_t first_done_ = -1;  // done at the first update: the rate's baseline
  std::chrono::steady_clock::time_point start_, last_draw_, first_update_;
};

}  // namespace rgbdseg
