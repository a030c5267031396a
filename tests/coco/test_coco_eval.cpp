// COCO evaluation against pycocotools' numbers (../shared/golden/cocoeval/) and hand cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/coco/coco_eval.h"
#include "rgbdseg/coco/coco_metrics.h"
#include "temp_dir.h"
#include "test_paths.h"

using namespace rgbdseg;
using ::testing::HasSubstr;
using nlohmann::json;

namespace {

constexpr double kTol = 1e-12;  // pycocotools vs us: same arithmetic, summation order may differ

json load_json(const std::string& path) { return json::parse(read_file(path)); }

struct Fixture {
  CocoGroundTruth gt;
  CocoResults results;
};

Fixture load_fixture(const std::string& dir, IouType type = IouType::Segm) {
  Fixture f;
  f.gt = load_coco_ground_truth(dir + "/gt.json", type);
  ResultsOptions opts;
  opts.drop_unknown_categories = true;  // pycocotools' behaviour, which the fixtures record
  f.results = load_coco_results(dir + "/results.json", f.gt, type, opts);
  return f;
}

// Compares everything expected.json records for one useCats setting.
void check_against_expected(const std::string& dir, bool use_cats, int threads) {
  SCOPED_TRACE(dir + (use_cats ? " useCats=1" : " useCats=0") + " threads=" + std::to_string(threads));
  const json expected = load_json(dir + "/expected.json")[use_cats ? "useCats1" : "useCats0"];
  Fixture f = load_fixture(dir);
  CocoEvalParams params;
  params.use_cats = use_cats;
  params.num_threads = threads;
  CocoEvaluator evaluator(f.gt, f.results.detections, params);
  const CocoEvalResult r = evaluator.run();

  // Parameters must be numpy's exact values.
  EXPECT_EQ(r.params.iou_thresholds, expected["iouThrs"].get<std::vector<double>>());
  EXPECT_EQ(r.params.recall_thresholds, expected["recThrs"].get<std::vector<double>>());
  EXPECT_EQ(r.image_ids, expected["imgIds_sorted"].get<std::vector<int64_t>>());
  if (use_cats) {
    EXPECT_EQ(r.category_ids, expected["catIds_K_order"].get<std::vector<int64_t>>());
  }

  const auto stats = expected["stats"].get<std::vector<double>>();
  ASSERT_EQ(stats.size(), 12u);
  for (size_t s = 0; s < 12; ++s) EXPECT_NEAR(r.stats[s], stats[s], kTol) << "stats[" << s << "]";
  EXPECT_EQ(r.summary_lines, expected["summary_lines"].get<std::vector<std::string>>());

  const auto dims = expected["counts_TRKAM"].get<std::vector<size_t>>();
  const size_t T = dims[0], K = dims[2], A = dims[3], M = dims[4];
  ASSERT_EQ(r.precision.size(), T * dims[1] * K * A * M);
  for (const auto& row : expected["precision_samples"]) {
    const auto t = row[0].get<size_t>(), rr = row[1].get<size_t>(), k = row[2].get<size_t>(), a = row[3].get<size_t>(),
               m = row[4].get<size_t>();
    EXPECT_NEAR(r.precision_at(t, rr, k, a, m), row[5].get<double>(), kTol)
        << "precision[" << t << "," << rr << "," << k << "," << a << "," << m << "]";
  }
  const auto& mean_r = expected["precision_mean_over_R_TKAM"];
  const auto& recall = expected["recall_TKAM"];
  const size_t R = dims[1];
  for (size_t t = 0; t < T; ++t)
    for (size_t k = 0; k < K; ++k)
      for (size_t a = 0; a < A; ++a)
        for (size_t m = 0; m < M; ++m) {
          EXPECT_NEAR(r.recall_at(t, k, a, m), recall[t][k][a][m].get<double>(), kTol);
          double sum = 0;
          bool all_undefined = true;
          for (size_t rr = 0; rr < R; ++rr) {
            const double v = r.precision_at(t, rr, k, a, m);
            if (v != -1) all_undefined = false;
            sum += v;
          }
          const double mean = all_undefined ? -1 : sum / static_cast<double>(R);
          EXPECT_NEAR(mean, mean_r[t][k][a][m].get<double>(), kTol) << "t=" << t << " k=" << k << " a=" << a;
        }
  if (use_cats) {
    ASSERT_EQ(r.per_category.size(), expected["per_category"].size());
    for (size_t k = 0; k < r.per_category.size(); ++k) {
      const auto& e = expected["per_category"][k];
      EXPECT_EQ(r.per_category[k].category_id, e["category_id"].get<int64_t>());
      EXPECT_NEAR(r.per_category[k].ap, e["AP"].get<double>(), kTol);
      EXPECT_NEAR(r.per_category[k].ap50, e["AP50"].get<double>(), kTol);
      EXPECT_NEAR(r.per_category[k].ap75, e["AP75"].get<double>(), kTol);
    }
  }
}

// Compares per-image matching and IoU matrices with pycocotools' dumps.
void check_dumps(const std::string& dir, bool use_cats) {
  SCOPED_TRACE(dir + (use_cats ? " useCats=1" : " useCats=0"));
  const std::string suffix = use_cats ? "1" : "0";
  Fixture f = load_fixture(dir);
  CocoEvalParams params;
  params.use_cats = use_cats;
  CocoEvaluator evaluator(f.gt, f.results.detections, params);
  evaluator.evaluate();

  // IoU matrices, keyed by (image, category).
  std::map<std::pair<int64_t, int64_t>, const IouMatrix*> ours;
  const size_t K = use_cats ? f.gt.categories.size() : 1;
  std::vector<int64_t> cats;
  for (const auto& c : f.gt.categories) cats.push_back(c.id);
  std::sort(cats.begin(), cats.end());
  std::vector<int64_t> images;
  for (const auto& i : f.gt.images) images.push_back(i.id);
  std::sort(images.begin(), images.end());
  for (size_t i = 0; i < images.size(); ++i)
    for (size_t k = 0; k < K; ++k) {
      const IouMatrix& m = evaluator.ious()[i * K + k];
      if (!m.iou.empty()) ours[{images[i], use_cats ? cats[k] : -1}] = &m;
    }
  const json ious = load_json(dir + "/ious_useCats" + suffix + ".json");
  size_t compared = 0;
  for (const auto& e : ious) {
    const auto key = std::make_pair(e["image_id"].get<int64_t>(), e["category_id"].get<int64_t>());
    const auto& rows = e["iou"];
    if (rows.empty() || rows[0].empty()) continue;
    ASSERT_TRUE(ours.count(key)) << "missing IoU matrix for image " << key.first << " category " << key.second;
    const IouMatrix& m = *ours[key];
    EXPECT_EQ(m.dt_ids, e["dtIds"].get<std::vector<int64_t>>());
    EXPECT_EQ(m.gt_ids, e["gtIds"].get<std::vector<int64_t>>());
    const size_t G = m.gt_ids.size();
    for (size_t d = 0; d < rows.size(); ++d)
      for (size_t g = 0; g < G; ++g) EXPECT_NEAR(m.iou[d * G + g], rows[d][g].get<double>(), kTol);
    ++compared;
  }
  EXPECT_EQ(compared, ours.size());

  // evalImgs entries, keyed by (image, category, area range).
  const auto& areas = params.area_ranges;
  std::map<std::tuple<int64_t, int64_t, size_t>, const ImageEvaluation*> evals;
  for (const ImageEvaluation* e : evaluator.image_evaluations()) evals[{e->image_id, e->category_id, e->area_index}] = e;
  const json dumps = load_json(dir + "/evalimgs_useCats" + suffix + ".json");
  EXPECT_EQ(dumps.size(), evals.size());
  for (const auto& e : dumps) {
    size_t a = 0;
    while (a < areas.size() && !(areas[a][0] == e["aRng"][0].get<double>() && areas[a][1] == e["aRng"][1].get<double>())) ++a;
    ASSERT_LT(a, areas.size());
    const auto key = std::make_tuple(e["image_id"].get<int64_t>(), e["category_id"].get<int64_t>(), a);
    ASSERT_TRUE(evals.count(key)) << "image " << std::get<0>(key) << " category " << std::get<1>(key);
    const ImageEvaluation& o = *evals[key];
    const size_t D = o.num_dt, G = o.num_gt;
    EXPECT_EQ(std::vector<int64_t>(o.dt_ids, o.dt_ids + D), e["dtIds"].get<std::vector<int64_t>>());
    EXPECT_EQ(std::vector<int64_t>(o.gt_ids, o.gt_ids + G), e["gtIds"].get<std::vector<int64_t>>());
    EXPECT_EQ(std::vector<double>(o.dt_scores, o.dt_scores + D), e["dtScores"].get<std::vector<double>>());
    std::vector<int> gt_ignore(o.gt_ignore, o.gt_ignore + G);
    EXPECT_EQ(gt_ignore, e["gtIgnore"].get<std::vector<int>>());
    for (size_t t = 0; t < 10; ++t) {
      for (size_t d = 0; d < D; ++d) {
        EXPECT_EQ(o.dt_matches[t * D + d], e["dtMatches"][t][d].get<int64_t>());
        EXPECT_EQ(o.dt_ignore[t * D + d], e["dtIgnore"][t][d].get<int>());
      }
      for (size_t g = 0; g < G; ++g) EXPECT_EQ(o.gt_matches[t * G + g], e["gtMatches"][t][g].get<int64_t>());
    }
  }
}

std::vector<std::string> golden_eval_dirs() {
  const std::string root = rgbdseg::testing::shared_path("golden/cocoeval");
  if (root.empty()) return {};
  std::vector<std::string> dirs = {root + "/eval_small"};
  for (const char* s : {"all_crowd", "area_boundaries", "cat_without_dets", "crowd_matching", "empty_masks",
                        "iou_at_thresholds", "iou_tie_file_order", "maxdet1_top_det_ignored", "no_small",
                        "recall_thresholds", "score_ties"}) {
    dirs.push_back(root + "/eval_edge/" + s);
  }
  return dirs;
}

}  // namespace

TEST(CocoEval, NumpyLinspaceMatchesNumpy) {
  const auto iou = numpy_linspace(0.5, 0.95, 10);
  EXPECT_EQ(iou[8], 0.8999999999999999);  // numpy's value; 0.5 + 8 * 0.05 would give 0.9
  EXPECT_EQ(iou[9], 0.95);
  const auto rec = numpy_linspace(0.0, 1.0, 101);
  EXPECT_EQ(rec[35], 0.35000000000000003);
  EXPECT_EQ(rec[100], 1.0);
}

TEST(CocoEval, GoldenFixturesMatchPycocotools) {
  const auto dirs = golden_eval_dirs();
  if (dirs.empty()) GTEST_SKIP() << "../shared/golden/cocoeval not found";
  for (const auto& dir : dirs) {
    for (bool use_cats : {true, false}) check_against_expected(dir, use_cats, 0);
  }
}

TEST(CocoEval, GoldenMatchingAndIousMatchPycocotoolsDumps) {
  const auto dirs = golden_eval_dirs();
  if (dirs.empty()) GTEST_SKIP() << "../shared/golden/cocoeval not found";
  for (const auto& dir : dirs) {
    for (bool use_cats : {true, false}) check_dumps(dir, use_cats);
  }
}

TEST(CocoEval, GoldenMediumMatchesPycocotoolsAtAnyThreadCount) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/cocoeval/eval_medium");
  for (bool use_cats : {true, false}) {
    check_against_expected(dir, use_cats, 1);
    check_against_expected(dir, use_cats, 2);
  }
}

namespace {

// A 20x20 image with square GTs, built in memory.
CocoObject square(int64_t id, int64_t image, int64_t cat, int x0, int y0, int w, int h, double score = 0) {
  std::vector<uint8_t> px(400, 0);
  for (int y = y0; y < y0 + h; ++y)
    for (int x = x0; x < x0 + w; ++x) px[static_cast<size_t>(y * 20 + x)] = 1;
  CocoObject o;
  o.id = id;
  o.image_id = image;
  o.category_id = cat;
  o.mask = rle_encode(px.data(), 20, 20);
  o.area = static_cast<double>(rle_area(o.mask));
  o.bbox = rle_to_bbox(o.mask);
  o.score = score;
  return o;
}

CocoGroundTruth one_image_gt(std::vector<CocoObject> anns) {
  CocoGroundTruth gt;
  CocoImage image;
  image.id = 1;
  image.height = image.width = 20;
  image.file_name = "a.png";
  gt.images = {image};
  gt.categories = {{1, "thing"}};
  gt.image_index = {{1, 0}};
  gt.category_index = {{1, 0}};
  gt.annotations = std::move(anns);
  return gt;
}

}  // namespace

TEST(CocoEval, HandCaseTruePositiveRankedFirst) {
  // One GT, a perfect detection (0.9) then a false positive (0.8): precision is
  // 1/(1+eps) at every recall point (pycocotools adds np.spacing(1)), recall 1.
  const auto gt = one_image_gt({square(1, 1, 1, 2, 2, 10, 10)});
  const std::vector<CocoObject> dts = {square(1, 1, 1, 2, 2, 10, 10, 0.9), square(2, 1, 1, 14, 14, 4, 4, 0.8)};
  const auto r = CocoEvaluator(gt, dts).run();
  const double p = 1.0 / (1.0 + 2.220446049250313e-16);
  EXPECT_DOUBLE_EQ(r.stats[0], p);
  EXPECT_DOUBLE_EQ(r.stats[8], 1.0);
}

TEST(CocoEval, MetricsJsonHasTheOneShape) {
  const auto gt = one_image_gt({square(1, 1, 1, 2, 2, 10, 10)});
  const auto r = CocoEvaluator(gt, {square(1, 1, 1, 2, 2, 10, 10, 0.9)}).run();
  const nlohmann::ordered_json j = coco_metrics_json(r);
  ASSERT_EQ(j["stats"].size(), 12u);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(j["stats"][i].get<double>(), r.stats[i]) << i;
  EXPECT_EQ(j["stats_names"][0], "AP");
  EXPECT_EQ(j["stats_names"][8], "AR100");
  ASSERT_EQ(j["per_category"].size(), 1u);
  EXPECT_EQ(j["per_category"][0]["id"], 1);
  EXPECT_EQ(j["per_category"][0]["name"], "thing");
  EXPECT_DOUBLE_EQ(j["per_category"][0]["AP"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["per_category"][0]["AP50"].get<double>(), 1.0);
}

TEST(CocoEval, HandCaseFalsePositiveRankedFirst) {
  // FP first: precision after 2 dets is 1/2 and the envelope carries 0.5 back to
  // recall 0, so AP = 0.5 at every threshold; AR@1 = 0 (the only slot holds the FP).
  const auto gt = one_image_gt({square(1, 1, 1, 2, 2, 10, 10)});
  const std::vector<CocoObject> dts = {square(1, 1, 1, 2, 2, 10, 10, 0.8), square(2, 1, 1, 14, 14, 4, 4, 0.9)};
  const auto r = CocoEvaluator(gt, dts).run();
  EXPECT_NEAR(r.stats[0], 0.5, 1e-15);
  EXPECT_DOUBLE_EQ(r.stats[6], 0.0);
  EXPECT_DOUBLE_EQ(r.stats[8], 1.0);
}

TEST(CocoEval, HandCasePartialOverlapCountsThresholdsBelowIou) {
  // GT 10x10 (100 px), detection 8x9 inside it (72 px): IoU 0.72, a true
  // positive at thresholds 0.50..0.70 (5 of 10) -> AP = AR = 0.5 (times 1/(1+eps) for AP).
  const auto gt = one_image_gt({square(1, 1, 1, 2, 2, 10, 10)});
  const std::vector<CocoObject> dts = {square(1, 1, 1, 2, 2, 8, 9, 0.9)};
  const auto r = CocoEvaluator(gt, dts).run();
  EXPECT_NEAR(r.stats[0], 0.5, 1e-15);
  EXPECT_DOUBLE_EQ(r.stats[8], 0.5);
  EXPECT_NEAR(r.stats[1], 1.0, 1e-15);  // AP50
  EXPECT_DOUBLE_EQ(r.stats[2], 0.0);    // AP75
  EXPECT_NEAR(r.stats[3], 0.5, 1e-15);  // area 100 is "small"
  EXPECT_DOUBLE_EQ(r.stats[4], -1.0);   // no medium GT: undefined
  EXPECT_DOUBLE_EQ(r.stats[5], -1.0);   // no large GT: undefined
}

TEST(CocoEval, HandCaseBoxEvaluation) {
  // bbox iouType: GT [0,0,10,10], detection [0,0,10,5]: IoU 50/100 = 0.5, a
  // true positive at threshold 0.50 only -> AP = 1/10 (x 1/(1+eps)), AR = 0.1.
  CocoGroundTruth gt = one_image_gt({});
  CocoObject g;
  g.id = 1;
  g.image_id = 1;
  g.category_id = 1;
  g.bbox = {0, 0, 10, 10};
  g.area = 100;
  gt.annotations = {g};
  CocoObject d = g;
  d.bbox = {0, 0, 10, 5};
  d.area = 50;
  d.score = 0.9;
  CocoEvalParams params;
  params.iou_type = IouType::Bbox;
  const auto r = CocoEvaluator(gt, {d}, params).run();
  EXPECT_NEAR(r.stats[0], 0.1, 1e-15);
  EXPECT_NEAR(r.stats[1], 1.0, 1e-15);
  EXPECT_DOUBLE_EQ(r.stats[8], 0.1);
  // A crowd GT region: IoU = intersection / detection area = 1, but crowd matches are ignored.
  gt.annotations[0].iscrowd = true;
  const auto crowd = CocoEvaluator(gt, {d}, params).run();
  EXPECT_DOUBLE_EQ(crowd.stats[0], -1.0);  // no non-ignored GT at all
}

TEST(CocoEval, LoadsPolygonsAndUncompressedRleFromFiles) {
  // GT: one polygon object and one crowd region as uncompressed RLE; results:
  // the polygon's own mask as a compressed string, so AP must be exactly 1/(1+eps)
  // and the detection inside the crowd region is ignored rather than a false positive.
  rgbdseg::testing::ScopedTempDir dir;
  const Rle square = rle_from_polygon({2, 2, 2, 6, 6, 6, 6, 2}, 20, 20);
  uint8_t crowd_px[400] = {};
  for (int y = 10; y < 20; ++y)
    for (int x = 10; x < 20; ++x) crowd_px[y * 20 + x] = 1;
  const Rle crowd = rle_encode(crowd_px, 20, 20);
  json gt_json = {
      {"images", {{{"id", 5}, {"height", 20}, {"width", 20}, {"file_name", "a.png"}}}},
      {"categories", {{{"id", 3}, {"name", "thing"}}}},
      {"annotations",
       {{{"id", 1}, {"image_id", 5}, {"category_id", 3}, {"iscrowd", 0}, {"area", 16}, {"bbox", {2, 2, 4, 4}},
         {"segmentation", {{2, 2, 2, 6, 6, 6, 6, 2}}}},
        {{"id", 2}, {"image_id", 5}, {"category_id", 3}, {"iscrowd", 1}, {"area", 100}, {"bbox", {10, 10, 10, 10}},
         {"segmentation", {{"size", {20, 20}}, {"counts", crowd.counts}}}}}}};
  json results = {{{"image_id", 5}, {"category_id", 3}, {"score", 0.9},
                   {"segmentation", {{"size", {20, 20}}, {"counts", rle_to_string(square)}}}},
                  {{"image_id", 5}, {"category_id", 3}, {"score", 0.95},
                   {"segmentation", {{"size", {20, 20}}, {"counts", rle_to_string(crowd)}}}}};
  const auto gt_path = dir.write("gt.json", gt_json.dump());
  const auto dt_path = dir.write("results.json", results.dump());
  const auto in = load_coco_gt_and_results(gt_path, dt_path, IouType::Segm);
  ASSERT_EQ(in.gt.annotations.size(), 2u);
  EXPECT_EQ(in.gt.annotations[0].mask.counts, square.counts);
  EXPECT_EQ(in.gt.annotations[1].mask.counts, crowd.counts);
  EXPECT_TRUE(in.gt.annotations[1].iscrowd);
  ASSERT_EQ(in.results.detections.size(), 2u);
  EXPECT_EQ(in.results.detections[1].id, 2);
  EXPECT_DOUBLE_EQ(in.results.detections[0].area, 16.0);  // from the mask: no bbox in the results
  const auto r = CocoEvaluator(in.gt, in.results.detections).run();
  EXPECT_DOUBLE_EQ(r.stats[0], 1.0 / (1.0 + 2.220446049250313e-16));
  EXPECT_DOUBLE_EQ(r.stats[8], 1.0);
}

TEST(CocoEval, ResultsWithBoxesUseBoxAreaAsPycocotoolsDoes) {
  // loadRes: when the first result has a bbox, every result's area is w*h of its
  // box, even for segm evaluation. A 4x4 mask with a 40x40 box is then "medium".
  rgbdseg::testing::ScopedTempDir dir;
  const Rle square = rle_from_polygon({2, 2, 2, 6, 6, 6, 6, 2}, 50, 50);
  json gt_json = {{"images", {{{"id", 1}, {"height", 50}, {"width", 50}}}},
                  {"categories", {{{"id", 1}, {"name", "a"}}}},
                  {"annotations", json::array()}};
  json results = {{{"image_id", 1}, {"category_id", 1}, {"score", 0.5}, {"bbox", {0, 0, 40, 40}},
                   {"segmentation", {{"size", {50, 50}}, {"counts", rle_to_string(square)}}}}};
  const auto in = load_coco_gt_and_results(dir.write("gt.json", gt_json.dump()),
                                           dir.write("r.json", results.dump()), IouType::Segm);
  ASSERT_EQ(in.results.detections.size(), 1u);
  EXPECT_DOUBLE_EQ(in.results.detections[0].area, 1600.0);
  EXPECT_EQ(in.results.detections[0].mask.counts, square.counts);
}

TEST(CocoEval, ErrorsNameTheFileAndEntry) {
  rgbdseg::testing::ScopedTempDir dir;
  json ann = {{"id", 7}, {"image_id", 1}, {"category_id", 1}, {"area", 1},
              {"segmentation", {{"size", {10, 10}}, {"counts", "0~"}}}};
  json gt_json = {{"images", {{{"id", 1}, {"height", 10}, {"width", 10}}}},
                  {"categories", {{{"id", 1}, {"name", "a"}}}},
                  {"annotations", json::array({ann})}};
  const auto gt_path = dir.write("gt.json", gt_json.dump());
  try {
    load_coco_ground_truth(gt_path, IouType::Segm);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("gt.json: annotations[0] (id 7, image 1): RLE counts string has character '~'"));
  }
  gt_json["annotations"][0]["segmentation"]["counts"] = "0;";  // '0' then 11 foreground px: only 11 of 100
  try {
    load_coco_ground_truth(dir.write("gt2.json", gt_json.dump()), IouType::Segm);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("annotations[0] (id 7, image 1): segmentation: RLE runs cover 11 pixels"));
  }
  gt_json["annotations"][0]["segmentation"] = {{"size", {12, 10}}, {"counts", "0"}};
  try {
    load_coco_ground_truth(dir.write("gt3.json", gt_json.dump()), IouType::Segm);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("segmentation size 12x10 does not match image size 10x10"));
  }
}
