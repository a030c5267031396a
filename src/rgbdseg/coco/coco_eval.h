#pragma once
// COCO detection / instance-segmentation evaluation with pycocotools' exact
// semantics (COCOeval.evaluate, accumulate, summarize): IoU thresholds
// .50:.05:.95 and 101 recall points as numpy.linspace computes them, maxDets
// 1/10/100, area ranges all/small/medium/large, crowd and ignore handling,
// stable score sorting, useCats on and off, -1 where a value is undefined.
// Images are evaluated in parallel; the result does not depend on the thread count.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rgbdseg/coco/coco_dataset.h"

namespace rgbdseg {

// numpy.linspace(start, stop, num) bit for bit (i*step + start, last = stop).
std::vector<double> numpy_linspace(double start, double stop, int num);

struct CocoEvalParams {
  IouType iou_type = IouType::Segm;
  bool use_cats = true;
  std::vector<double> iou_thresholds = numpy_linspace(0.5, 0.95, 10);
  std::vector<double> recall_thresholds = numpy_linspace(0.0, 1.0, 101);
  std::vector<int> max_dets = {1, 10, 100};
  std::vector<std::array<double, 2>> area_ranges = {{0, 1e10}, {0, 1024}, {1024, 9216}, {9216, 1e10}};
  std::vector<std::string> area_labels = {"all", "small", "medium", "large"};
  int num_threads = 0;  // 0 = all cores
};

// pycocotools' evalImgs entry: matching of one (image, category, area range).
// A view into the evaluator's per-image storage, valid while the evaluator lives
// (one allocation set per image instead of seven vectors per entry).
struct ImageEvaluation {
  int64_t image_id = 0;
  int64_t category_id = 0;  // -1 with use_cats off
  size_t area_index = 0;
  size_t num_dt = 0;                     // D: detections, score order, at most max_dets.back()
  size_t num_gt = 0;                     // G: GTs, ignored ones last
  const int64_t* dt_ids = nullptr;       // [D]
  const double* dt_scores = nullptr;     // [D]
  const int64_t* gt_ids = nullptr;       // [G]
  const uint8_t* gt_ignore = nullptr;    // [G]
  const int64_t* dt_matches = nullptr;   // [T][D] matched GT id, 0 = none
  const int64_t* gt_matches = nullptr;   // [T][G] matched detection id, 0 = none
  const uint8_t* dt_ignore = nullptr;    // [T][D]
};

// IoU matrix of one (image, category): rows = detections in score order
// (top max_dets.back()), columns = GTs in file order.
struct IouMatrix {
  std::vector<int64_t> dt_ids;
  std::vector<int64_t> gt_ids;
  std::vector<double> iou;  // [D][G]; empty when D or G is 0
};

struct CategoryAp {
  int64_t category_id = 0;
  std::string name;
  double ap = -1;    // IoU .50:.95, area all, maxDets 100; -1 when undefined
  double ap50 = -1;
  double ap75 = -1;
};

struct CocoEvalResult {
  CocoEvalParams params;
  std::vector<int64_t> image_ids;     // sorted
  std::vector<int64_t> category_ids;  // sorted; {-1} with use_cats off
  // precision[T][R][K][A][M] and recall[T][K][A][M], -1 where undefined.
  std::vector<double> precision;
  std::vector<double> recall;
  std::array<double, 12> stats{};
  std::vector<std::string> summary_lines;  // the 12 lines pycocotools prints
  std::vector<CategoryAp> per_category;    // use_cats only; in sorted id order

  double precision_at(size_t t, size_t r, size_t k, size_t a, size_t m) const;
  double recall_at(size_t t, size_t k, size_t a, size_t m) const;
};

class CocoEvaluator {
 public:
  CocoEvaluator(const CocoGroundTruth& gt, const std::vector<CocoObject>& detections, CocoEvalParams params = {});

  // evaluate + accumulate + summarize.
  CocoEvalResult run();

  // The intermediate steps, exposed so tests can compare them with pycocotools' dumps.
  void evaluate();
  const std::vector<IouMatrix>& ious() const { return ious_; }  // [image][category]
  // All non-empty evaluations, in pycocotools' order (category, area, image).
  std::vector<const ImageEvaluation*> image_evaluations() const;
  CocoEvalResult accumulate() const;

 private:
  const CocoGroundTruth& gt_;
  const std::vector<CocoObject>& dts_;
  CocoEvalParams params_;
  std::vector<int64_t> image_ids_;     // sorted
  std::vector<int64_t> category_ids_;  // sorted GT categories ({-1} without cats)
  std::vector<IouMatrix> ious_;        // [i * K + k]
  // Storage behind the ImageEvaluation views, one block per image.
  struct ImageStore {
    std::vector<int64_t> ints;
    std::vector<double> scores;
    std::vector<uint8_t> flags;
    std::vector<ImageEvaluation> evals;
  };
  std::vector<ImageStore> stores_;                  // [image]
  std::vector<const ImageEvaluation*> eval_index_;  // [(k * A + a) * I + i], nullptr = no GT and no detection
  bool evaluated_ = false;
};

// The 12 summary lines and per-category numbers from accumulated arrays.
void summarize(CocoEvalResult& result, const CocoGroundTruth& gt);

}  // namespace rgbdseg
