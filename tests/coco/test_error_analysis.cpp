// coco/error_analysis: a scene of rectangles built so every outcome is known
// by construction (the areas and IoUs are worked out in the comments).
#include "rgbdseg/coco/error_analysis.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "rgbdseg/coco/coco_eval.h"

namespace rgbdseg {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr int kH = 60, kW = 100;

// Mask of the half-open rectangle [x0, x1) x [y0, y1).
Rle rect(int x0, int y0, int x1, int y1) {
  std::vector<uint8_t> m(kH * kW, 0);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) m[y * kW + x] = 1;
  return rle_encode(m.data(), kH, kW);
}

CocoObject object(int64_t id, int64_t category, Rle mask, bool crowd = false, double score = 0) {
  CocoObject o;
  o.id = id;
  o.image_id = 1;
  o.category_id = category;
  o.iscrowd = crowd;
  o.score = score;
  o.area = static_cast<double>(rle_area(mask));
  o.bbox = rle_to_bbox(mask);
  o.mask = std::move(mask);
  return o;
}

struct Scene {
  CocoGroundTruth gt;
  std::vector<CocoObject> dts;
  Scene() {
    gt.path = "scene.json";
    CocoImage image;
    image.id = 1;
    image.height = kH;
    image.width = kW;
    image.file_name = "a.png";
    gt.images = {image};
    gt.image_index = {{1, 0}};
    gt.categories = {{1, "mug"}, {2, "book"}};
    gt.category_index = {{1, 0}, {2, 1}};
    gt.annotations = {
        object(1, 1, rect(0, 0, 10, 10)),     // A: 100 px
        object(2, 1, rect(10, 0, 20, 5)),     // B: 50 px, beside A
        object(3, 1, rect(30, 0, 40, 10)),    // C: 100 px
        object(4, 1, rect(50, 0, 70, 20), true),  // D: crowd region
        object(5, 1, rect(0, 30, 10, 40)),    // E: 100 px
        object(6, 1, rect(30, 30, 40, 40)),   // F: 100 px, category mug
    };
    for (size_t k = 0; k < gt.annotations.size(); ++k) gt.annotations[k].area = static_cast<double>(rle_area(gt.annotations[k].mask));
    dts = {
        object(11, 1, rect(0, 0, 10, 10), false, 0.95),   // A exactly: IoU 1
        object(12, 1, rect(0, 0, 20, 10), false, 0.90),   // covers all of A and B (200 px): IoU(B) = 50/200 -> FP, merge
        object(13, 1, rect(30, 0, 34, 10), false, 0.80),  // left 4 columns of C: IoU 0.4 -> FP; split part
        object(14, 1, rect(34, 0, 40, 10), false, 0.70),  // right 6 columns of C: IoU 0.6 -> matched; split part
        object(15, 1, rect(52, 2, 60, 10), false, 0.85),  // inside the crowd region: ignored
        object(16, 1, rect(0, 30, 10, 40), false, 0.30),  // E exactly, but below the score threshold
        object(17, 2, rect(30, 30, 40, 40), false, 0.60), // F exactly, wrong category
    };
  }
};

TEST(ErrorAnalysis, MatchesMissesFalsePositivesMergesAndSplits) {
  Scene s;
  const auto errors = analyse_errors(s.gt, s.dts);
  ASSERT_EQ(errors.size(), 1u);
  const ImageErrors& e = errors[0];
  EXPECT_EQ(e.image_id, 1);
  EXPECT_EQ(e.objects, 5);      // the crowd region is no object
  EXPECT_EQ(e.predictions, 5);  // 11, 12, 13, 14, 17 (15 ignored, 16 below 0.5)
  EXPECT_THAT(e.matches, ElementsAre(Pair(11, 1), Pair(14, 3)));
  EXPECT_THAT(e.false_positives, ElementsAre(12, 13, 17));
  EXPECT_THAT(e.ignored, ElementsAre(15));
  EXPECT_THAT(e.missed, ElementsAre(2, 5, 6));
  EXPECT_THAT(e.merges, ElementsAre(12));
  EXPECT_THAT(e.splits, ElementsAre(3));
  const ErrorTotals t = total_errors(errors);
  EXPECT_EQ(t.matched, 2);
  EXPECT_EQ(t.missed, 3);
  EXPECT_EQ(t.false_positives, 3);
  EXPECT_EQ(t.merges, 1);
  EXPECT_EQ(t.splits, 1);
}

TEST(ErrorAnalysis, ClassAgnosticAndThresholds) {
  Scene s;
  ErrorAnalysisOptions o;
  o.use_cats = false;
  EXPECT_THAT(analyse_errors(s.gt, s.dts, o)[0].matches, ElementsAre(Pair(11, 1), Pair(14, 3), Pair(17, 6)));
  o.score_threshold = 0.0;  // now 16 counts and finds E
  const ImageErrors all = analyse_errors(s.gt, s.dts, o)[0];
  EXPECT_THAT(all.matches, ElementsAre(Pair(11, 1), Pair(14, 3), Pair(17, 6), Pair(16, 5)));
  EXPECT_THAT(all.missed, ElementsAre(2));
  o.iou_threshold = 0.35;  // 13 (IoU 0.4) now takes C first; 14 (IoU 0.6) is left over
  const ImageErrors loose = analyse_errors(s.gt, s.dts, o)[0];
  EXPECT_THAT(loose.matches, ElementsAre(Pair(11, 1), Pair(13, 3), Pair(17, 6), Pair(16, 5)));
  EXPECT_THAT(loose.false_positives, ElementsAre(12, 14));
}

TEST(ErrorAnalysis, AgreesWithCocoMatchingAtIouHalf) {
  // At IoU 0.5 and score threshold 0, our matches are pycocotools' (CocoEvaluator's evalImgs, T = 0).
  Scene s;
  ErrorAnalysisOptions o;
  o.score_threshold = 0.0;
  const ImageErrors e = analyse_errors(s.gt, s.dts, o)[0];
  CocoEvaluator ev(s.gt, s.dts);
  ev.evaluate();
  std::vector<std::pair<int64_t, int64_t>> coco;
  for (const ImageEvaluation* ie : ev.image_evaluations()) {
    if (ie->area_index != 0) continue;  // area "all"
    for (size_t d = 0; d < ie->num_dt; ++d) {
      if (ie->dt_matches[d] != 0 && !ie->dt_ignore[d]) coco.emplace_back(ie->dt_ids[d], ie->dt_matches[d]);
    }
  }
  std::sort(coco.begin(), coco.end());
  std::vector<std::pair<int64_t, int64_t>> ours = e.matches;
  std::sort(ours.begin(), ours.end());
  EXPECT_EQ(ours, coco);
}

}  // namespace
}  // namespace rgbdseg

namespace rgbdseg {
namespace {

// pycocotools records a match as the object's id, so an object with id 0 never
// counts as found (accumulate() tests dtm != 0); our exact evaluator agrees, and
// the commands warn about such files.
TEST(ZeroAnnotationId, IsNeverMatchedAndIsWarnedAbout) {
  Scene s;
  CocoGroundTruth gt = s.gt;
  gt.annotations = {s.gt.annotations[0]};  // A alone
  std::vector<CocoObject> dts = {s.dts[0]};  // A exactly
  EXPECT_NEAR(CocoEvaluator(gt, dts).run().stats[0], 1.0, 1e-12);
  EXPECT_EQ(zero_id_warning(gt), "");
  gt.annotations[0].id = 0;
  EXPECT_EQ(CocoEvaluator(gt, dts).run().stats[0], 0.0);
  EXPECT_NE(zero_id_warning(gt).find("scene.json: an annotation has id 0"), std::string::npos);
}

}  // namespace
}  // namespace rgbdseg
