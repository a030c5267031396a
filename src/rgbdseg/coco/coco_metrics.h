#pragma once
// The one shape of COCO metrics in JSON, written by `cocoeval --json`,
// `eval --json`, the demo's metrics.json and the trainer's eval records:
//   "stats":        the 12 numbers in pycocotools' summarize() order
//   "stats_names":  their names (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl)
//   "per_category": [{"id", "name", "AP", "AP50", "AP75"}] in category id order
//                   (empty with use_cats off); -1 where undefined
// Callers add their own context keys (dataset, weights, step, ...) after these.
#include <nlohmann/json.hpp>

#include "rgbdseg/coco/coco_eval.h"

namespace rgbdseg {

nlohmann::ordered_json coco_metrics_json(const CocoEvalResult& result);

}  // namespace rgbdseg
