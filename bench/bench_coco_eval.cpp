// COCO evaluation benchmark helper. Modes:
//   generate DIR [--images N] [--seed S]  write DIR/gt.json and DIR/results.json
//        (ellipses and rectangles at 480x640, 10 categories, ~3% crowd GT,
//        perturbed/duplicate/wrong-class/false-positive detections, scores with
//        3 decimals so ties are common; eval_medium's recipe at any size)
//   baseline GT DT    the straightforward single-threaded baseline (naive_coco_eval.cpp)
//   library GT DT [--threads N]   rgbdseg's evaluator in-process
// Each run prints one JSON line: {"mode", "seconds", "stats"}. bench/coco_eval.sh
// drives fresh processes and writes the table for bench/RESULTS.md.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "naive_coco_eval.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/core/memory.h"
#include "rgbdseg/coco/coco_eval.h"
#include "rgbdseg/coco/rle.h"

using namespace rgbdseg;
using ojson = nlohmann::ordered_json;

namespace {

constexpr int64_t kH = 480, kW = 640;

struct Shape {
  bool ellipse;
  double cx, cy, rx, ry;  // rectangle: centre and half sizes
};

// Column-wise intervals -> RLE without rasterising the whole image.
Rle shape_rle(const Shape& s) {
  Rle rle{kH, kW, {}};
  int64_t pos = 0;  // next pixel position not yet covered by runs
  auto add_fg = [&](int64_t start, int64_t end) {  // [start, end)
    if (!rle.counts.empty() && rle.counts.size() % 2 == 0 && start == pos) {
      rle.counts.back() += static_cast<uint32_t>(end - start);  // contiguous with the previous run
    } else {
      rle.counts.push_back(static_cast<uint32_t>(start - pos));
      rle.counts.push_back(static_cast<uint32_t>(end - start));
    }
    pos = end;
  };
  for (int64_t x = 0; x < kW; ++x) {
    double y0, y1;
    const double dx = (x - s.cx) / s.rx;
    if (std::fabs(dx) > 1) continue;
    if (s.ellipse) {
      const double half = s.ry * std::sqrt(1 - dx * dx);
      y0 = std::ceil(s.cy - half);
      y1 = std::floor(s.cy + half);
    } else {
      y0 = std::ceil(s.cy - s.ry);
      y1 = std::floor(s.cy + s.ry);
    }
    const int64_t a = std::max<int64_t>(0, static_cast<int64_t>(y0)), b = std::min<int64_t>(kH - 1, static_cast<int64_t>(y1));
    if (a > b) continue;
    add_fg(x * kH + a, x * kH + b + 1);
  }
  rle.counts.push_back(static_cast<uint32_t>(kH * kW - pos));
  if (rle.counts.size() == 1) rle.counts = {static_cast<uint32_t>(kH * kW)};
  return rle;
}

int generate(const std::string& dir, int images, unsigned seed) {
  std::mt19937_64 rng(seed);
  auto U = [&](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
  auto N = [&](double s) { return std::normal_distribution<double>(0, s)(rng); };
  auto random_shape = [&] {
    return Shape{U(0, 1) < 0.6, U(20, kW - 20), U(20, kH - 20), std::exp(U(std::log(4.0), std::log(150.0))),
                 std::exp(U(std::log(4.0), std::log(120.0)))};
  };
  auto score = [&](double lo, double hi) { return std::round(U(lo, hi) * 1000) / 1000; };
  ojson gt, dt = ojson::array();
  gt["images"] = ojson::array();
  gt["categories"] = ojson::array();
  gt["annotations"] = ojson::array();
  for (int c = 1; c <= 10; ++c) gt["categories"].push_back({{"id", c}, {"name", "cat" + std::to_string(c)}});
  int64_t ann_id = 1;
  auto seg = [](const Rle& r) { return ojson{{"size", {r.h, r.w}}, {"counts", rle_to_string(r)}}; };
  auto add_det = [&](int img, int cat, const Shape& s, double sc) {
    dt.push_back({{"image_id", img}, {"category_id", cat}, {"segmentation", seg(shape_rle(s))}, {"score", sc}});
  };
  for (int img = 1; img <= images; ++img) {
    gt["images"].push_back({{"id", img}, {"height", kH}, {"width", kW}, {"file_name", std::to_string(img) + ".png"}});
    const int n = img % 10 == 0 ? 0 : static_cast<int>(U(1, 20));  // a tenth of the images have no GT
    for (int j = 0; j < n; ++j) {
      const Shape s = random_shape();
      const int cat = static_cast<int>(U(1, 10));  // category 10 never gets GT
      const Rle r = shape_rle(s);
      const bool crowd = U(0, 1) < 0.03;
      const BBox b = rle_to_bbox(r);
      ojson a = {{"id", ann_id++}, {"image_id", img}, {"category_id", cat}, {"iscrowd", crowd ? 1 : 0},
                 {"area", rle_area(r)}, {"bbox", {b[0], b[1], b[2], b[3]}}};
      a["segmentation"] = crowd ? ojson{{"size", {kH, kW}}, {"counts", r.counts}} : seg(r);
      gt["annotations"].push_back(a);
      // Detections of this object: perturbed copies, an exact copy, a wrong class.
      const int copies = static_cast<int>(U(3, 8));
      for (int k = 0; k < copies; ++k) {
        Shape p = s;
        p.cx += N(0.1 * s.rx);
        p.cy += N(0.1 * s.ry);
        p.rx *= U(0.8, 1.2);
        p.ry *= U(0.8, 1.2);
        add_det(img, cat, p, score(0.2, 1.0));
      }
      if (U(0, 1) < 0.1) add_det(img, cat, s, score(0.5, 1.0));
      if (U(0, 1) < 0.05) add_det(img, cat % 9 + 1, s, score(0.1, 0.9));
    }
    const int false_positives = static_cast<int>(U(0, 4));
    for (int k = 0; k < false_positives; ++k) add_det(img, static_cast<int>(U(1, 11)), random_shape(), score(0, 0.6));
  }
  make_directories(dir);
  write_file_atomic(dir + "/gt.json", gt.dump());
  write_file_atomic(dir + "/results.json", dt.dump());
  std::printf("{\"mode\": \"generate\", \"images\": %d, \"gt\": %zu, \"results\": %zu}\n", images,
              gt["annotations"].size(), dt.size());
  return 0;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void print_result(const char* mode, double seconds, const std::array<double, 12>& stats) {
  ojson j = {{"mode", mode}, {"seconds", seconds}, {"stats", stats}};
  std::printf("%s\n", j.dump().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "library") == 0) reexec_with_huge_page_malloc(argv);  // as `rgbdseg cocoeval` does
  if (argc >= 3 && std::strcmp(argv[1], "generate") == 0) {
    int images = 2000;
    unsigned seed = 7;
    for (int i = 3; i + 1 < argc; i += 2) {
      if (std::strcmp(argv[i], "--images") == 0) images = std::atoi(argv[i + 1]);
      if (std::strcmp(argv[i], "--seed") == 0) seed = static_cast<unsigned>(std::atoi(argv[i + 1]));
    }
    return generate(argv[2], images, seed);
  }
  if (argc >= 4 && std::strcmp(argv[1], "baseline") == 0) {
    const double t0 = now_s();
    const auto stats = bench::naive_coco_eval_segm(argv[2], argv[3], true);
    print_result("baseline", now_s() - t0, stats);
    return 0;
  }
  if (argc >= 4 && std::strcmp(argv[1], "library") == 0) {
    int threads = 0;
    if (argc >= 6 && std::strcmp(argv[4], "--threads") == 0) threads = std::atoi(argv[5]);
    const double t0 = now_s();
    ResultsOptions options;
    options.drop_unknown_categories = true;
    const auto in = load_coco_gt_and_results(argv[2], argv[3], IouType::Segm, options, threads);
    CocoEvalParams params;
    params.num_threads = threads;
    const auto r = CocoEvaluator(in.gt, in.results.detections, params).run();
    print_result("library", now_s() - t0, r.stats);
    return 0;
  }
  std::fprintf(stderr, "usage: %s generate DIR [--images N] [--seed S] | baseline GT DT | library GT DT [--threads N]\n",
               argv[0]);
  return 2;
}
