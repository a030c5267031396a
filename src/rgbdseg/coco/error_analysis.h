#pragma once
// Per-image error breakdown of one model's detections against ground truth,
// for comparing models by eye and by count (`rgbdseg compare`): which objects
// were found, which missed, which predictions are false positives, and which
// predictions merge several objects or split one, the mistakes depth should fix.
// Torch- and OpenCV-free; masks are COCO RLEs.
//
// Only detections scoring >= score_threshold count (what a user would keep).
// Matching is COCO's greedy rule at one IoU threshold: detections in
// descending score order (ties in file order) each take the unmatched
// ground-truth object of their category (any category with use_cats off) with
// the highest IoU >= iou_threshold. A detection lying in a crowd region
// (intersection / detection area >= iou_threshold) is ignored, as COCO does;
// crowd regions are never missed.
//   matched          detection and object paired
//   missed           an object no detection matched
//   false positive   a detection that matched nothing (and is not ignored)
// Merges and splits ignore categories and matching (a merge may also be a match):
//   merge            a detection covering at least `cover_fraction` of each of
//                    two or more objects
//   split            an object of which two or more detections each lie mostly
//                    inside it (more than cover_fraction of the detection's area,
//                    so a detection is a part of one object at most) and each
//                    cover at least `min_part_fraction` of it
#include <cstdint>
#include <utility>
#include <vector>

#include "rgbdseg/coco/coco_dataset.h"

namespace rgbdseg {

struct ErrorAnalysisOptions {
  double score_threshold = 0.5;
  double iou_threshold = 0.5;
  double cover_fraction = 0.5;
  double min_part_fraction = 0.1;
  bool use_cats = true;
  int threads = 0;  // 0 = all cores
};

struct ImageErrors {
  int64_t image_id = 0;
  int64_t objects = 0;      // non-crowd ground-truth objects
  int64_t predictions = 0;  // detections >= score_threshold, not ignored
  std::vector<std::pair<int64_t, int64_t>> matches;  // (detection id, object id), detection score order
  std::vector<int64_t> missed;           // object ids, file order
  std::vector<int64_t> false_positives;  // detection ids, score order
  std::vector<int64_t> ignored;          // detection ids in crowd regions
  std::vector<int64_t> merges;           // detection ids
  std::vector<int64_t> splits;           // object ids
};

struct ErrorTotals {
  int64_t images = 0, objects = 0, predictions = 0, matched = 0, missed = 0, false_positives = 0, merges = 0,
          splits = 0;
};

// One entry per ground-truth image, in the ground truth's image order.
std::vector<ImageErrors> analyse_errors(const CocoGroundTruth& gt, const std::vector<CocoObject>& detections,
                                        const ErrorAnalysisOptions& options = {});

ErrorTotals total_errors(const std::vector<ImageErrors>& images);

}  // namespace rgbdseg
