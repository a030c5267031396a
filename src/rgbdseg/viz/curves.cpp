#include "rgbdseg/viz/curves.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

namespace {

// Colours, RGB.
const cv::Scalar kText(40, 40, 40);
const cv::Scalar kFrame(110, 110, 110);
const cv::Scalar kGrid(228, 228, 228);
const cv::Scalar kMinorGrid(243, 243, 243);
const cv::Scalar kLossRaw(160, 195, 235);
const cv::Scalar kLossEma(25, 85, 170);
const cv::Scalar kSkip(220, 30, 30);
const cv::Scalar kLr(225, 110, 20);
const cv::Scalar kAp(31, 119, 180);
const cv::Scalar kAp50(44, 160, 44);
const cv::Scalar kAp75(148, 103, 189);

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kShift = 4;  // sub-pixel bits for anti-aliased lines
constexpr double kSub = 1 << kShift;

enum class Glyph { Line, LineAndMarker, Tick };

struct Series {
  std::string label;  // legend text
  std::vector<double> x, y;
  cv::Scalar colour;
  double thickness = 1;  // before scaling
  bool markers = false;
};

struct Panel {
  CurvePanelLayout layout;
  std::string title;
  double weight = 1;  // share of the height
  std::vector<Series> series;
  std::vector<double> skipped;  // steps drawn as red ticks (loss panel)
  std::vector<double> y_ticks;
};

struct Figure {
  double s = 1;  // scale: 1 at 1200x900
  double tick_font = 0.42, title_font = 0.52;
  std::vector<Panel> panels;
  std::vector<double> x_ticks;
};

std::string printf_string(const char* format, double v, int precision = -1) {
  char buf[64];
  if (precision >= 0) {
    std::snprintf(buf, sizeof buf, format, precision, v);
  } else {
    std::snprintf(buf, sizeof buf, format, v);
  }
  return buf;
}

// "1.50e-04" -> "1.5e-4", "2e+05" -> "2e5".
std::string tidy_exponent(std::string s) {
  const size_t e = s.find('e');
  if (e == std::string::npos) return s;
  std::string mantissa = s.substr(0, e), exponent = s.substr(e + 1);
  std::string sign;
  if (!exponent.empty() && (exponent[0] == '-' || exponent[0] == '+')) {
    if (exponent[0] == '-') sign = "-";
    exponent = exponent.substr(1);
  }
  exponent.erase(0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
  if (mantissa.find('.') != std::string::npos) {  // "1.50" -> "1.5", "1.0" -> "1"
    mantissa.erase(mantissa.find_last_not_of('0') + 1);
    if (mantissa.back() == '.') mantissa.pop_back();
  }
  return mantissa + "e" + sign + exponent;
}

int decimals_for(double step) { return std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9))); }

// A tick value as text, with as many digits as the tick spacing needs:
// 0.25, 2.5k, 4e-5.
std::string format_tick(double v, double step) {
  v = std::round(v / step) * step;
  if (std::abs(v) < step * 1e-6) return "0";
  if (step >= 1e6) return printf_string("%.*f", v / 1e6, decimals_for(step / 1e6)) + "M";
  if (step >= 1e3) return printf_string("%.*f", v / 1e3, decimals_for(step / 1e3)) + "k";
  if (step < 1e-3) {
    const int v_exp = static_cast<int>(std::floor(std::log10(std::abs(v)) + 1e-9));
    const int step_exp = static_cast<int>(std::floor(std::log10(step) + 1e-9));
    return tidy_exponent(printf_string("%.*e", v, std::max(0, v_exp - step_exp)));
  }
  return printf_string("%.*f", v, decimals_for(step));
}

std::string format_decade(int k) {
  if (k >= 0 && k <= 4) return printf_string("%.0f", std::pow(10.0, k));
  if (k < 0 && k >= -3) return printf_string("%.*f", std::pow(10.0, k), -k);
  return "1e" + std::to_string(k);
}

// A number for a title: 4 significant digits.
std::string format_value(double v) { return tidy_exponent(printf_string("%.4g", v)); }

cv::Size text_size(const std::string& text, double font, int* baseline = nullptr) {
  int b = 0;
  const cv::Size size = cv::getTextSize(text, kFont, font, 1, &b);
  if (baseline) *baseline = b;
  return size;
}

void put_text(cv::Mat& img, const std::string& text, cv::Point origin, double font, const cv::Scalar& colour) {
  cv::putText(img, text, origin, kFont, font, colour, 1, cv::LINE_AA);
}

bool any_finite(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// Data range of the panel's finite y values; log_y chosen for `allow_log`
// panels that span more than two decades.
void fit_y_range(Panel& p, bool allow_log) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& series : p.series) {
    for (double y : series.y) {
      if (!std::isfinite(y)) continue;
      lo = std::min(lo, y);
      hi = std::max(hi, y);
    }
  }
  CurvePanelLayout& l = p.layout;
  if (!(lo <= hi)) {  // no data
    l.y_min = 0;
    l.y_max = 1;
    return;
  }
  l.log_y = allow_log && lo > 0 && hi / lo > 100;
  if (l.log_y) {
    const double a = std::log10(lo), b = std::log10(hi), pad = (b - a) * 0.05;
    l.y_min = std::pow(10.0, a - pad);
    l.y_max = std::pow(10.0, b + pad);
    return;
  }
  const double span = hi - lo;
  const double pad = span > 0 ? span * 0.06 : (lo != 0 ? std::abs(lo) * 0.1 : 1.0);
  l.y_min = lo - pad;
  l.y_max = hi + pad;
  if (lo >= 0 && l.y_min < 0 && span > 0) l.y_min = std::max(l.y_min, 0.0);  // no negative axis for >= 0 data
}

std::vector<double> log_ticks(double lo, double hi, int max_ticks) {
  const int a = static_cast<int>(std::ceil(std::log10(lo) - 1e-9));
  const int b = static_cast<int>(std::floor(std::log10(hi) + 1e-9));
  const int every = std::max(1, (b - a + 1 + max_ticks - 1) / std::max(1, max_ticks));
  std::vector<double> ticks;
  for (int k = a; k <= b; ++k) {
    if ((k - a) % every == 0) ticks.push_back(std::pow(10.0, k));
  }
  return ticks;
}

// Pixel position (inside the plot rectangle) of a data point.
double x_pixel(const CurvePanelLayout& l, double x) { return (x - l.x_min) / (l.x_max - l.x_min) * (l.plot.width - 1); }

double y_pixel(const CurvePanelLayout& l, double y) {
  double t;
  if (l.log_y) {
    t = (std::log10(y) - std::log10(l.y_min)) / (std::log10(l.y_max) - std::log10(l.y_min));
  } else {
    t = (y - l.y_min) / (l.y_max - l.y_min);
  }
  return (l.plot.height - 1) * (1 - t);
}

bool plottable(const CurvePanelLayout& l, double y) { return std::isfinite(y) && (!l.log_y || y > 0); }

Figure build_figure(const TrainingLog& log, const CurvesOptions& options) {
  options.validate();
  if (log.train.empty()) throw Error("training curves: the log has no train records");
  Figure f;
  f.s = std::clamp(std::min(options.width / 1200.0, options.height / 900.0), 0.6, 3.0);
  f.tick_font = 0.42 * f.s;
  f.title_font = 0.52 * f.s;
  const double s = f.s;

  // Series.
  Panel loss;
  loss.layout.name = "loss";
  loss.weight = 0.45;
  Series raw{"loss", {}, {}, kLossRaw, 1, false};
  Series lr{"lr", {}, {}, kLr, 2, false};
  for (const TrainRecord& t : log.train) {
    raw.x.push_back(static_cast<double>(t.step));
    raw.y.push_back(t.loss);
    if (std::isfinite(t.lr)) {
      lr.x.push_back(static_cast<double>(t.step));
      lr.y.push_back(t.lr);
    }
  }
  Series ema{"EMA (smoothing " + format_value(options.smoothing) + ")",
             raw.x,
             exponential_moving_average(raw.y, options.smoothing),
             kLossEma,
             2,
             false};
  for (int64_t step : log.skipped_steps) loss.skipped.push_back(static_cast<double>(step));
  loss.series = {raw, ema};
  fit_y_range(loss, /*allow_log=*/true);
  loss.title = std::string("training loss") + (loss.layout.log_y ? " (log scale)" : "") + ": last " +
               format_value(raw.y.back()) + ", EMA " + format_value(ema.y.back());
  if (!loss.skipped.empty()) loss.title += ", " + std::to_string(loss.skipped.size()) + " skipped steps";

  Panel rate;
  rate.layout.name = "lr";
  rate.weight = 0.25;
  rate.title = lr.y.empty() ? "learning rate (not in the log)" : "learning rate: last " + format_value(lr.y.back());
  rate.series = {lr};
  fit_y_range(rate, /*allow_log=*/false);

  f.panels = {loss, rate};
  if (!log.eval.empty()) {
    Panel ap;
    ap.layout.name = "ap";
    ap.weight = 0.30;
    Series a{"AP", {}, {}, kAp, 2, true}, a50{"AP50", {}, {}, kAp50, 2, true}, a75{"AP75", {}, {}, kAp75, 2, true};
    double best = -INFINITY;
    int64_t best_step = 0;
    for (const EvalRecord& e : log.eval) {
      for (Series* series : {&a, &a50, &a75}) series->x.push_back(static_cast<double>(e.step));
      a.y.push_back(e.ap);
      a50.y.push_back(e.ap50);
      a75.y.push_back(e.ap75);
      if (std::isfinite(e.ap) && e.ap > best) {
        best = e.ap;
        best_step = e.step;
      }
    }
    ap.series = {a, a50, a75};
    ap.title = "eval AP";
    if (std::isfinite(best)) ap.title += ": best " + format_value(best) + " at step " + std::to_string(best_step);
    fit_y_range(ap, /*allow_log=*/false);
    f.panels.push_back(ap);
  }

  // Shared step range.
  double x_lo = INFINITY, x_hi = -INFINITY;
  for (const Panel& p : f.panels) {
    for (const Series& series : p.series) {
      for (double x : series.x) {
        x_lo = std::min(x_lo, x);
        x_hi = std::max(x_hi, x);
      }
    }
    for (double x : p.skipped) {
      x_lo = std::min(x_lo, x);
      x_hi = std::max(x_hi, x);
    }
  }
  const double x_pad = x_hi > x_lo ? (x_hi - x_lo) * 0.02 : 1.0;
  for (Panel& p : f.panels) {
    p.layout.x_min = x_lo - x_pad;
    p.layout.x_max = x_hi + x_pad;
  }

  // Heights: titles, gaps and the bottom axis are fixed; the panels share the
  // rest.
  const int tick_h = text_size("0", f.tick_font).height;
  const int title_h = text_size("Ag", f.title_font).height + static_cast<int>(std::lround(12 * s));
  const int top = static_cast<int>(std::lround(8 * s));
  const int gap = static_cast<int>(std::lround(14 * s));
  const int bottom = 2 * tick_h + static_cast<int>(std::lround(26 * s));
  const int n = static_cast<int>(f.panels.size());
  const int free_h = options.height - top - bottom - n * title_h - (n - 1) * gap;
  double weights = 0;
  for (const Panel& p : f.panels) weights += p.weight;
  int y = top;
  int max_label_w = 0;
  for (Panel& p : f.panels) {
    y += title_h;
    const int h = static_cast<int>(std::floor(free_h * p.weight / weights));
    p.layout.plot.y = y;
    p.layout.plot.height = h;
    y += h + gap;
    const int max_ticks = std::max(2, static_cast<int>(h / (38 * s)));
    CurvePanelLayout& l = p.layout;
    p.y_ticks = l.log_y ? log_ticks(l.y_min, l.y_max, max_ticks) : nice_ticks(l.y_min, l.y_max, max_ticks);
    for (int more = max_ticks + 1; !l.log_y && p.y_ticks.size() < 2 && more <= 10; ++more) {
      p.y_ticks = nice_ticks(l.y_min, l.y_max, more);  // short panels: at least two labels
    }
    const double step = p.y_ticks.size() > 1 ? p.y_ticks[1] - p.y_ticks[0] : 1.0;
    for (double t : p.y_ticks) {
      const std::string label =
          l.log_y ? format_decade(static_cast<int>(std::lround(std::log10(t)))) : format_tick(t, step);
      max_label_w = std::max(max_label_w, text_size(label, f.tick_font).width);
    }
  }
  const int left = max_label_w + static_cast<int>(std::lround(14 * s)) + 2;
  const int right = static_cast<int>(std::lround(24 * s));
  for (Panel& p : f.panels) {
    p.layout.plot.x = left;
    p.layout.plot.width = options.width - left - right;
  }
  f.x_ticks = nice_ticks(f.panels[0].layout.x_min, f.panels[0].layout.x_max,
                         std::max(2, static_cast<int>(f.panels[0].layout.plot.width / (95 * s))));
  return f;
}

// Draws `series` as polylines broken at missing values, inside the plot ROI.
void draw_series(cv::Mat& roi, const CurvePanelLayout& l, const Series& series, double s) {
  const int thickness = std::max(1, static_cast<int>(std::lround(series.thickness * s)));
  std::vector<std::vector<cv::Point>> runs(1);
  for (size_t i = 0; i < series.x.size(); ++i) {
    if (!plottable(l, series.y[i])) {
      if (!runs.back().empty()) runs.emplace_back();
      continue;
    }
    const cv::Point p(static_cast<int>(std::lround(x_pixel(l, series.x[i]) * kSub)),
                      static_cast<int>(std::lround(y_pixel(l, series.y[i]) * kSub)));
    if (runs.back().empty() || runs.back().back() != p) runs.back().push_back(p);
  }
  for (const auto& run : runs) {
    if (run.size() >= 2) {
      cv::polylines(roi, run, false, series.colour, thickness, cv::LINE_AA, kShift);
    } else if (run.size() == 1 && !series.markers) {
      cv::circle(roi, run[0], static_cast<int>(std::lround(thickness * kSub)), series.colour, cv::FILLED, cv::LINE_AA,
                 kShift);
    }
    if (series.markers) {
      for (const cv::Point& p : run) {
        cv::circle(roi, p, static_cast<int>(std::lround(3.5 * s * kSub)), series.colour, cv::FILLED, cv::LINE_AA,
                   kShift);
      }
    }
  }
}

struct LegendEntry {
  std::string label;
  cv::Scalar colour;
  double thickness;
  Glyph glyph;
};

// A legend box in the corner of the ROI that covers the fewest data points.
void draw_legend(cv::Mat& roi, const Panel& p, const std::vector<LegendEntry>& entries, double s, double font) {
  if (entries.empty()) return;
  int text_w = 0, baseline = 0;
  const int text_h = text_size("Ag", font, &baseline).height;
  for (const auto& e : entries) text_w = std::max(text_w, text_size(e.label, font).width);
  const int pad = static_cast<int>(std::lround(7 * s));
  const int sample = static_cast<int>(std::lround(26 * s));
  const int row = text_h + baseline + static_cast<int>(std::lround(5 * s));
  const int box_w = pad + sample + pad + text_w + pad;
  const int box_h = pad + row * static_cast<int>(entries.size()) + pad / 2;
  const int margin = static_cast<int>(std::lround(8 * s));
  if (box_w + 2 * margin > roi.cols || box_h + 2 * margin > roi.rows) return;  // no room

  const std::array<cv::Rect, 4> corners = {cv::Rect(roi.cols - margin - box_w, margin, box_w, box_h),  // top right
                                           cv::Rect(margin, margin, box_w, box_h),                     // top left
                                           cv::Rect(roi.cols - margin - box_w, roi.rows - margin - box_h, box_w,
                                                    box_h),                                             // bottom right
                                           cv::Rect(margin, roi.rows - margin - box_h, box_w, box_h)};  // bottom left
  std::array<size_t, 4> covered{};
  for (const Series& series : p.series) {
    for (size_t i = 0; i < series.x.size(); ++i) {
      if (!plottable(p.layout, series.y[i])) continue;
      const cv::Point pt(static_cast<int>(x_pixel(p.layout, series.x[i])),
                         static_cast<int>(y_pixel(p.layout, series.y[i])));
      for (size_t c = 0; c < corners.size(); ++c) covered[c] += corners[c].contains(pt);
    }
  }
  const cv::Rect box = corners[std::min_element(covered.begin(), covered.end()) - covered.begin()];

  cv::Mat area = roi(box);
  area = area * 0.12 + cv::Scalar::all(255 * 0.88);
  cv::rectangle(roi, box, cv::Scalar::all(200), 1);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const int mid = box.y + pad + static_cast<int>(i) * row + row / 2;
    const int x0 = box.x + pad, x1 = x0 + sample;
    const int thickness = std::max(1, static_cast<int>(std::lround(e.thickness * s)));
    if (e.glyph == Glyph::Tick) {
      cv::line(roi, {(x0 + x1) / 2, mid - row / 3}, {(x0 + x1) / 2, mid + row / 3}, e.colour, thickness, cv::LINE_AA);
    } else {
      cv::line(roi, {x0, mid}, {x1, mid}, e.colour, thickness, cv::LINE_AA);
      if (e.glyph == Glyph::LineAndMarker) {
        cv::circle(roi, {(x0 + x1) / 2, mid}, static_cast<int>(std::lround(3.5 * s)), e.colour, cv::FILLED,
                   cv::LINE_AA);
      }
    }
    put_text(roi, e.label, {x1 + pad, mid + text_h / 2}, font, kText);
  }
}

void draw_panel(cv::Mat& img, const Figure& f, const Panel& p, bool x_labels) {
  const double s = f.s;
  const CurvePanelLayout& l = p.layout;
  const cv::Rect& r = l.plot;
  cv::Mat roi = img(r);

  // Grid: minor decades on log axes, then the ticks.
  if (l.log_y && p.y_ticks.size() <= 8) {
    const int a = static_cast<int>(std::floor(std::log10(l.y_min)));
    const int b = static_cast<int>(std::ceil(std::log10(l.y_max)));
    for (int k = a; k <= b; ++k) {
      for (int m = 2; m <= 9; ++m) {
        const double v = m * std::pow(10.0, k);
        if (v <= l.y_min || v >= l.y_max) continue;
        const int py = static_cast<int>(std::lround(y_pixel(l, v)));
        cv::line(roi, {0, py}, {r.width - 1, py}, kMinorGrid, 1);
      }
    }
  }
  for (double t : p.y_ticks) {
    const int py = static_cast<int>(std::lround(y_pixel(l, t)));
    cv::line(roi, {0, py}, {r.width - 1, py}, kGrid, 1);
  }
  for (double t : f.x_ticks) {
    const int px = static_cast<int>(std::lround(x_pixel(l, t)));
    cv::line(roi, {px, 0}, {px, r.height - 1}, kGrid, 1);
  }

  bool has_data = false;
  for (const Series& series : p.series) {
    draw_series(roi, l, series, s);
    has_data |= any_finite(series.y);
  }
  const int tick_len = static_cast<int>(std::lround(9 * s));
  for (double step : p.skipped) {
    const int px = static_cast<int>(std::lround(x_pixel(l, step)));
    cv::line(roi, {px, r.height - 1}, {px, r.height - 1 - tick_len}, kSkip, std::max(1, static_cast<int>(s + 0.5)));
  }
  if (!has_data) {
    const std::string text = "no data";
    const cv::Size ts = text_size(text, f.title_font);
    put_text(roi, text, {(r.width - ts.width) / 2, (r.height + ts.height) / 2}, f.title_font, kFrame);
  }

  std::vector<LegendEntry> legend;
  for (const Series& series : p.series) {
    if (any_finite(series.y)) {
      legend.push_back(
          {series.label, series.colour, series.thickness, series.markers ? Glyph::LineAndMarker : Glyph::Line});
    }
  }
  if (!p.skipped.empty()) legend.push_back({"skipped step", kSkip, 1.5, Glyph::Tick});
  if (legend.size() > 1 || l.name == "loss") draw_legend(roi, p, legend, s, f.tick_font);

  // Frame, tick marks and labels, title.
  cv::rectangle(img, {r.x - 1, r.y - 1}, {r.x + r.width, r.y + r.height}, kFrame, 1);
  const int mark = static_cast<int>(std::lround(4 * s));
  const double y_step = p.y_ticks.size() > 1 ? p.y_ticks[1] - p.y_ticks[0] : 1.0;
  for (double t : p.y_ticks) {
    const int py = r.y + static_cast<int>(std::lround(y_pixel(l, t)));
    cv::line(img, {r.x - 1 - mark, py}, {r.x - 1, py}, kFrame, 1);
    const std::string label =
        l.log_y ? format_decade(static_cast<int>(std::lround(std::log10(t)))) : format_tick(t, y_step);
    const cv::Size ts = text_size(label, f.tick_font);
    put_text(img, label, {r.x - 1 - mark - 3 - ts.width, py + ts.height / 2}, f.tick_font, kText);
  }
  const double x_step = f.x_ticks.size() > 1 ? f.x_ticks[1] - f.x_ticks[0] : 1.0;
  for (double t : f.x_ticks) {
    const int px = r.x + static_cast<int>(std::lround(x_pixel(l, t)));
    cv::line(img, {px, r.y + r.height}, {px, r.y + r.height + (x_labels ? mark : 0)}, kFrame, 1);
    if (!x_labels) continue;
    const std::string label = format_tick(t, x_step);
    const cv::Size ts = text_size(label, f.tick_font);
    put_text(img, label, {px - ts.width / 2, r.y + r.height + mark + 4 + ts.height}, f.tick_font, kText);
  }
  put_text(img, p.title, {r.x, r.y - 1 - static_cast<int>(std::lround(7 * s))}, f.title_font, kText);
}

}  // namespace

void CurvesOptions::validate() const {
  if (width < kMinWidth || height < kMinHeight) {
    throw Error("training curves: the picture must be at least " + std::to_string(kMinWidth) + "x" +
                std::to_string(kMinHeight) + " (width x height), got " + std::to_string(width) + "x" +
                std::to_string(height));
  }
  if (!(smoothing >= 0 && smoothing < 1)) {
    throw Error("training curves: smoothing must be in [0, 1), got " + format_value(smoothing));
  }
}

std::vector<double> exponential_moving_average(const std::vector<double>& values, double smoothing) {
  std::vector<double> out(values.size(), kNoValue);
  bool started = false;
  double avg = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    avg = started ? smoothing * avg + (1 - smoothing) * values[i] : values[i];
    started = true;
    out[i] = avg;
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  max_ticks = std::max(2, max_ticks);
  const double raw = (hi - lo) / (max_ticks - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  std::vector<double> ticks;
  const double eps = step * 1e-9;
  for (double k = std::ceil((lo - eps) / step); k * step <= hi + eps; k += 1) {
    ticks.push_back(std::abs(k) < 0.5 ? 0.0 : k * step);  // no "-0"
  }
  return ticks;
}

std::vector<CurvePanelLayout> training_curves_layout(const TrainingLog& log, const CurvesOptions& options) {
  std::vector<CurvePanelLayout> out;
  for (const Panel& p : build_figure(log, options).panels) out.push_back(p.layout);
  return out;
}

cv::Mat draw_training_curves(const TrainingLog& log, const CurvesOptions& options) {
  const Figure f = build_figure(log, options);
  cv::Mat img(options.height, options.width, CV_8UC3, cv::Scalar::all(255));
  for (size_t i = 0; i < f.panels.size(); ++i) draw_panel(img, f, f.panels[i], i + 1 == f.panels.size());
  const Panel& last = f.panels.back();
  const std::string label = "step";
  const cv::Size ts = text_size(label, f.tick_font);
  const cv::Rect& r = last.layout.plot;
  const int y = std::min(options.height - 4, r.y + r.height + static_cast<int>(std::lround(4 * f.s)) + 4 +
                                                 2 * ts.height + static_cast<int>(std::lround(10 * f.s)));
  put_text(img, label, {r.x + (r.width - ts.width) / 2, y}, f.tick_font, kText);
  return img;
}

}  // namespace rgbdseg
