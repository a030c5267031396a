#include "rgbdseg/coco/rle.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

namespace {

// Appends runs for a sequence of pixels; `value(i)` gives pixel i in RLE order.
template <typename PixelAt>
Rle encode_runs(PixelAt value, int64_t h, int64_t w) {
  Rle rle{h, w, {}};
  const int64_t n = h * w;
  bool current = false;  // runs start with background
  uint32_t run = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool v = value(i);
    if (v != current) {
      rle.counts.push_back(run);
      run = 0;
      current = v;
    }
    ++run;
  }
  rle.counts.push_back(run);
  return rle;
}

}  // namespace

Rle rle_encode_col_major(const uint8_t* mask, int64_t h, int64_t w) {
  return encode_runs([mask](int64_t i) { return mask[i] != 0; }, h, w);
}

Rle rle_encode(const uint8_t* mask, int64_t h, int64_t w) {
  // Walk column by column over a row-major buffer.
  Rle rle{h, w, {}};
  bool current = false;
  uint32_t run = 0;
  for (int64_t x = 0; x < w; ++x) {
    const uint8_t* col = mask + x;
    for (int64_t y = 0; y < h; ++y) {
      const bool v = col[y * w] != 0;
      if (v != current) {
        rle.counts.push_back(run);
        run = 0;
        current = v;
      }
      ++run;
    }
  }
  rle.counts.push_back(run);
  return rle;
}

void rle_check(const Rle& rle, const std::string& what) {
  if (rle.h < 0 || rle.w < 0) {
    throw Error(what + ": negative mask size [" + std::to_string(rle.h) + ", " + std::to_string(rle.w) + "]");
  }
  uint64_t total = 0;
  for (uint32_t c : rle.counts) total += c;
  const uint64_t expected = static_cast<uint64_t>(rle.h) * static_cast<uint64_t>(rle.w);
  // pycocotools writes no runs at all for a 0-pixel mask; accept that too.
  if (total != expected && !(rle.counts.empty() && expected == 0)) {
    throw Error(what + ": RLE runs cover " + std::to_string(total) + " pixels, expected h*w = " +
                std::to_string(rle.h) + "*" + std::to_string(rle.w) + " = " + std::to_string(expected));
  }
}

std::vector<uint8_t> rle_decode_col_major(const Rle& rle) {
  rle_check(rle, "rle_decode");
  std::vector<uint8_t> out(static_cast<size_t>(rle.h * rle.w), 0);
  size_t pos = 0;
  bool value = false;
  for (uint32_t c : rle.counts) {
    if (value) std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(pos), c, uint8_t{1});
    pos += c;
    value = !value;
  }
  return out;
}

std::vector<uint8_t> rle_decode(const Rle& rle) {
  rle_check(rle, "rle_decode");
  std::vector<uint8_t> out(static_cast<size_t>(rle.h * rle.w), 0);
  const int64_t h = rle.h, w = rle.w;
  int64_t pos = 0;
  bool value = false;
  for (uint32_t c : rle.counts) {
    if (value) {
      for (int64_t i = pos; i < pos + c; ++i) out[static_cast<size_t>((i % h) * w + i / h)] = 1;
    }
    pos += c;
    value = !value;
  }
  return out;
}

std::string rle_to_string(const Rle& rle) {
  // Each run is stored as the difference to the run two places back (same
  // kind: background or foreground), 5 bits per character, low bits first;
  // bit 0x20 says "more characters follow", bit 0x10 of the last one is the sign.
  std::string s;
  s.reserve(rle.counts.size() * 2);
  for (size_t i = 0; i < rle.counts.size(); ++i) {
    int64_t x = rle.counts[i];
    if (i > 2) x -= static_cast<int64_t>(rle.counts[i - 2]);
    bool more = true;
    while (more) {
      int c = static_cast<int>(x & 0x1f);
      x >>= 5;  // arithmetic shift keeps the sign
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s.push_back(static_cast<char>(c + 48));
    }
  }
  return s;
}

Rle rle_from_string(std::string_view counts, int64_t h, int64_t w) {
  Rle rle{h, w, {}};
  // One run ends at each character without the continuation bit (0x20).
  size_t runs = 0;
  for (char ch : counts) runs += ((static_cast<unsigned char>(ch) - 48) & 0x20) == 0;
  rle.counts.reserve(runs);
  size_t p = 0;
  while (p < counts.size()) {
    int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= counts.size()) throw Error("RLE counts string ends in the middle of a run");
      const int c = static_cast<unsigned char>(counts[p]) - 48;
      if (c < 0 || c > 63) {
        throw Error(std::string("RLE counts string has character '") + counts[p] + "' at position " +
                    std::to_string(p) + " (valid: ASCII 48..111)");
      }
      if (k >= 7) throw Error("RLE counts string has a run longer than 7 characters");
      x |= static_cast<int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= static_cast<int64_t>(-1) * (int64_t{1} << (5 * k));  // sign-extend
    }
    const size_t m = rle.counts.size();
    if (m > 2) x += static_cast<int64_t>(rle.counts[m - 2]);
    if (x < 0 || x > static_cast<int64_t>(UINT32_MAX)) {
      throw Error("RLE counts string decodes to an invalid run length " + std::to_string(x) + " (run " +
                  std::to_string(m) + ")");
    }
    rle.counts.push_back(static_cast<uint32_t>(x));
  }
  return rle;
}

uint64_t rle_area(const Rle& rle) {
  uint64_t area = 0;
  for (size_t j = 1; j < rle.counts.size(); j += 2) area += rle.counts[j];
  return area;
}

BBox rle_to_bbox(const Rle& rle) {
  // Same unsigned 32-bit arithmetic as pycocotools' rleToBbox, so quirks match:
  // a foreground run that wraps into the next column yields a full-height box.
  const uint32_t h = static_cast<uint32_t>(rle.h), w = static_cast<uint32_t>(rle.w);
  const size_t m = (rle.counts.size() / 2) * 2;
  if (m == 0 || h == 0) return {0, 0, 0, 0};
  uint32_t xs = w, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
  for (size_t j = 0; j < m; ++j) {
    cc += rle.counts[j];
    const uint32_t t = cc - static_cast<uint32_t>(j % 2);
    const uint32_t x = t / h, y = t - x * h;  // one division per run boundary
    if (j % 2 == 0) {
      xp = x;
    } else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = std::min(xs, x);
    xe = std::max(xe, x);
    ys = std::min(ys, y);
    ye = std::max(ye, y);
  }
  return {static_cast<double>(xs), static_cast<double>(ys), static_cast<double>(xe - xs + 1),
          static_cast<double>(ye - ys + 1)};
}

namespace {

// Walks two run lists of one image in step, as pycocotools' merge and IoU do:
// calls visit(length, a_on, b_on) for each stretch where neither mask changes
// (lengths may be 0 where a list has empty runs), in pixel order.
template <typename Visit>
void walk_runs(const std::vector<uint32_t>& a_runs, const std::vector<uint32_t>& b_runs, Visit visit) {
  if (a_runs.empty() || b_runs.empty()) return;
  uint32_t ca = a_runs[0], cb = b_runs[0];
  size_t a = 1, b = 1;
  bool va = false, vb = false;
  bool remaining = true;
  while (remaining) {
    const uint32_t c = std::min(ca, cb);
    visit(c, va, vb);
    ca -= c;
    if (ca == 0 && a < a_runs.size()) {
      ca = a_runs[a++];
      va = !va;
    }
    cb -= c;
    if (cb == 0 && b < b_runs.size()) {
      cb = b_runs[b++];
      vb = !vb;
    }
    remaining = ca + cb > 0;
    // Lists of different totals (never from valid masks of one size): stop
    // where the shorter ends instead of looping on zero-length steps.
    if (c == 0 && ((ca == 0 && a >= a_runs.size()) || (cb == 0 && b >= b_runs.size()))) break;
  }
}

// Merges two run lists (same size) with OR or AND, emitting canonical runs.
std::vector<uint32_t> merge_two(const std::vector<uint32_t>& a_runs, const std::vector<uint32_t>& b_runs,
                                bool intersect) {
  std::vector<uint32_t> out;
  if (a_runs.empty() || b_runs.empty()) return out;
  out.reserve(a_runs.size() + b_runs.size());
  bool current = false;  // runs start with background
  uint32_t acc = 0;
  walk_runs(a_runs, b_runs, [&](uint32_t length, bool va, bool vb) {
    const bool v = intersect ? (va && vb) : (va || vb);
    if (v != current) {
      out.push_back(acc);
      acc = 0;
      current = v;
    }
    acc += length;
  });
  out.push_back(acc);
  return out;
}

}  // namespace

Rle rle_merge(const std::vector<Rle>& rles, bool intersect) {
  if (rles.empty()) return Rle{};
  Rle out = rles[0];
  for (size_t i = 1; i < rles.size(); ++i) {
    if (rles[i].h != out.h || rles[i].w != out.w) {
      throw Error("rle_merge: mask " + std::to_string(i) + " has size " + std::to_string(rles[i].h) + "x" +
                  std::to_string(rles[i].w) + ", expected " + std::to_string(out.h) + "x" + std::to_string(out.w));
    }
    out.counts = merge_two(out.counts, rles[i].counts, intersect);
  }
  return out;
}

Rle rle_from_polygon(const std::vector<double>& xy, int64_t h, int64_t w) {
  // pycocotools' rasteriser: walk the outline on a 5x finer grid, keep the
  // points where it crosses a pixel column centre, and turn those (column,
  // row) boundary points into run starts. Integer casts truncate as in C.
  const double scale = 5;
  const size_t k = xy.size() / 2;
  // Coordinates far outside int range would overflow the casts below, and a
  // huge outline would allocate without bound: refuse both up front.
  constexpr double kMaxCoordinate = 1e7;
  for (double v : xy) {
    if (!std::isfinite(v) || std::fabs(v) > kMaxCoordinate) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%g", v);
      throw Error(std::string("polygon coordinate ") + buf + " is not a finite number within +-1e7");
    }
  }
  // An empty image has an empty mask. (pycocotools computes w - 1 in unsigned
  // arithmetic here and emits runs past the end: found by fuzz_polygon.)
  if (h <= 0 || w <= 0) return Rle{h, w, {0}};
  std::vector<int> x(k + 1), y(k + 1);
  for (size_t j = 0; j < k; ++j) x[j] = static_cast<int>(scale * xy[j * 2 + 0] + .5);
  for (size_t j = 0; j < k; ++j) y[j] = static_cast<int>(scale * xy[j * 2 + 1] + .5);
  if (k > 0) {
    x[k] = x[0];
    y[k] = y[0];
  }
  uint64_t outline_points = 0;
  for (size_t j = 0; j < k; ++j) {
    outline_points += static_cast<uint64_t>(std::max(std::abs(x[j] - x[j + 1]), std::abs(y[j] - y[j + 1]))) + 1;
  }
  // 2^24 points (3.3 million pixels of outline, 128 MB of points) is far beyond
  // any real object's outline; beyond it one polygon would cost seconds and GBs.
  if (outline_points > (uint64_t{1} << 24)) {
    throw Error("polygon outline is too long to rasterise (" + std::to_string(outline_points / 5) + " pixels)");
  }
  std::vector<int> u, v;
  u.reserve(outline_points);
  v.reserve(outline_points);
  for (size_t j = 0; j < k; ++j) {
    int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
    const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    // A zero-length edge (two vertices on one point of the finer grid) has no
    // slope: pycocotools divides 0 by 0 and casts NaN to int, which is undefined
    // behaviour. Its single point never counts (the same column as its
    // neighbours), so slope 0 gives the same mask, defined.
    const double s = dx == 0 && dy == 0 ? 0.0
                     : dx >= dy         ? static_cast<double>(ye - ys) / dx
                                        : static_cast<double>(xe - xs) / dy;
    if (dx >= dy) {
      for (int d = 0; d <= dx; ++d) {
        const int t = flip ? dx - d : d;
        u.push_back(t + xs);
        v.push_back(static_cast<int>(ys + s * t + .5));
      }
    } else {
      for (int d = 0; d <= dy; ++d) {
        const int t = flip ? dy - d : d;
        v.push_back(t + ys);
        u.push_back(static_cast<int>(xs + s * t + .5));
      }
    }
  }
  // Boundary points where the outline crosses a pixel-column centre.
  std::vector<uint32_t> starts;
  const double max_x = static_cast<double>(static_cast<uint64_t>(w) - 1);
  for (size_t j = 1; j < u.size(); ++j) {
    if (u[j] == u[j - 1]) continue;
    double xd = static_cast<double>(u[j] < u[j - 1] ? u[j] : u[j] - 1);
    xd = (xd + .5) / scale - .5;
    if (std::floor(xd) != xd || xd < 0 || xd > max_x) continue;
    double yd = static_cast<double>(v[j] < v[j - 1] ? v[j] : v[j - 1]);
    yd = (yd + .5) / scale - .5;
    if (yd < 0) {
      yd = 0;
    } else if (yd > static_cast<double>(h)) {
      yd = static_cast<double>(h);
    }
    yd = std::ceil(yd);
    starts.push_back(static_cast<uint32_t>(static_cast<int>(xd) * static_cast<int>(h) + static_cast<int>(yd)));
  }
  starts.push_back(static_cast<uint32_t>(h * w));
  std::sort(starts.begin(), starts.end());
  // Positions -> run lengths; zero-length runs are folded into their neighbours.
  uint32_t prev = 0;
  for (auto& a : starts) {
    const uint32_t t = a;
    a -= prev;
    prev = t;
  }
  Rle rle{h, w, {}};
  size_t j = 0;
  rle.counts.push_back(starts[j++]);
  while (j < starts.size()) {
    if (starts[j] > 0) {
      rle.counts.push_back(starts[j++]);
    } else {
      ++j;
      if (j < starts.size()) rle.counts.back() += starts[j++];
    }
  }
  return rle;
}

Rle rle_from_polygons(const std::vector<std::vector<double>>& polygons, int64_t h, int64_t w) {
  std::vector<Rle> parts;
  parts.reserve(polygons.size());
  for (const auto& p : polygons) parts.push_back(rle_from_polygon(p, h, w));
  if (parts.empty()) return Rle{h, w, {static_cast<uint32_t>(h * w)}};
  return rle_merge(parts, false);
}

Rle rle_from_bbox(const BBox& box, int64_t h, int64_t w) {
  const double xs = box[0], xe = xs + box[2], ys = box[1], ye = ys + box[3];
  return rle_from_polygon({xs, ys, xs, ye, xe, ye, xe, ys}, h, w);
}

double bbox_iou(const BBox& dt, const BBox& gt, bool gt_is_crowd) {
  const double w = std::fmin(dt[2] + dt[0], gt[2] + gt[0]) - std::fmax(dt[0], gt[0]);
  if (w <= 0) return 0;
  const double h = std::fmin(dt[3] + dt[1], gt[3] + gt[1]) - std::fmax(dt[1], gt[1]);
  if (h <= 0) return 0;
  const double inter = w * h;
  const double dt_area = dt[2] * dt[3];
  const double uni = gt_is_crowd ? dt_area : dt_area + gt[2] * gt[3] - inter;
  return inter / uni;
}

double rle_iou(const Rle& dt, const BBox& dt_box, const Rle& gt, const BBox& gt_box, bool gt_is_crowd) {
  // pycocotools only looks at the masks when the boxes overlap.
  if (!(bbox_iou(dt_box, gt_box, gt_is_crowd) > 0)) return 0;
  if (dt.h != gt.h || dt.w != gt.w) return -1;
  uint32_t inter = 0, uni = 0;
  walk_runs(dt.counts, gt.counts, [&](uint32_t length, bool in_dt, bool in_gt) {
    if (in_dt || in_gt) uni += length;
    if (in_dt && in_gt) inter += length;
  });
  if (inter == 0) {
    uni = 1;
  } else if (gt_is_crowd) {
    uni = static_cast<uint32_t>(rle_area(dt));
  }
  return static_cast<double>(inter) / static_cast<double>(uni);
}

double rle_iou(const Rle& dt, const Rle& gt, bool gt_is_crowd) {
  return rle_iou(dt, rle_to_bbox(dt), gt, rle_to_bbox(gt), gt_is_crowd);
}

}  // namespace rgbdseg
