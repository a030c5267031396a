#pragma once
// The acceptance check every dataset producer must pass: the dataset loads and
// validates (files, sizes, masks), and its ground truth scored against itself
// as detections gives COCO mask AP 1 (up to pycocotools' 1/(1+eps) precision).
#include <gtest/gtest.h>

#include <string>

#include "rgbdseg/data/dataset.h"
#include "rgbdseg/coco/coco_eval.h"

namespace rgbdseg::testing {

inline void expect_valid_dataset_with_perfect_self_eval(const std::string& annotations_path) {
  SCOPED_TRACE(annotations_path);
  DatasetOptions strict;
  strict.strict = true;
  const RgbdDataset ds = load_rgbd_dataset(annotations_path, strict);
  std::vector<CocoObject> detections;
  for (const auto& a : ds.coco.annotations) {
    if (a.iscrowd) continue;
    CocoObject d = a;
    d.id = static_cast<int64_t>(detections.size() + 1);
    d.score = 1.0;
    d.area = static_cast<double>(rle_area(d.mask));
    detections.push_back(d);
  }
  ASSERT_FALSE(detections.empty()) << "no objects to evaluate";
  const CocoEvalResult r = CocoEvaluator(ds.coco, detections).run();
  EXPECT_NEAR(r.stats[0], 1.0, 1e-12);  // AP
  EXPECT_NEAR(r.stats[8], 1.0, 1e-12);  // AR@100
}

}  // namespace rgbdseg::testing
