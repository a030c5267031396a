// RLE against pycocotools' own outputs (../shared/golden/cocoeval/rle/) and hand cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/coco/rle.h"
#include "test_paths.h"

using namespace rgbdseg;
using ::testing::HasSubstr;

namespace {

nlohmann::json load_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

// Row-major 0/1 mask from a golden PNG (0 = background, 255 = foreground).
std::vector<uint8_t> read_mask_png(const std::string& path, int64_t h, int64_t w) {
  cv::Mat m = cv::imread(path, cv::IMREAD_GRAYSCALE);
  EXPECT_FALSE(m.empty()) << path;
  EXPECT_EQ(m.rows, h);
  EXPECT_EQ(m.cols, w);
  std::vector<uint8_t> out(static_cast<size_t>(h * w));
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) out[static_cast<size_t>(y * w + x)] = m.at<uint8_t>(y, x) ? 1 : 0;
  return out;
}

}  // namespace

TEST(Rle, GoldenMasksEncodeDecodeAreaBbox) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/cocoeval/rle");
  const auto golden = load_json(dir + "/masks.json");
  ASSERT_EQ(golden["masks"].size(), 44u);
  for (const auto& m : golden["masks"]) {
    SCOPED_TRACE(m["name"].get<std::string>());
    const int64_t h = m["h"], w = m["w"];
    const auto pixels = read_mask_png(dir + "/" + m["png"].get<std::string>(), h, w);
    const Rle rle = rle_encode(pixels.data(), h, w);
    EXPECT_EQ(rle.counts, m["uncompressed_counts"].get<std::vector<uint32_t>>());
    EXPECT_EQ(rle_to_string(rle), m["counts"].get<std::string>());
    EXPECT_EQ(rle_area(rle), m["area"].get<uint64_t>());
    const BBox box = rle_to_bbox(rle);
    const auto expected_box = m["bbox_xywh"].get<std::vector<double>>();
    EXPECT_EQ(std::vector<double>(box.begin(), box.end()), expected_box);
    // String -> runs -> pixels gives the PNG back.
    const Rle parsed = rle_from_string(m["counts"].get<std::string>(), h, w);
    EXPECT_EQ(parsed.counts, rle.counts);
    EXPECT_EQ(rle_decode(parsed), pixels);
  }
}

TEST(Rle, ColumnMajorEncodingMatchesRowMajor) {
  // 3x2 mask, row-major: [1 0; 1 1; 0 1] -> column-major 1 1 0 0 1 1.
  const uint8_t row_major[] = {1, 0, 1, 1, 0, 1};
  const uint8_t col_major[] = {1, 1, 0, 0, 1, 1};
  const Rle a = rle_encode(row_major, 3, 2);
  const Rle b = rle_encode_col_major(col_major, 3, 2);
  EXPECT_EQ(a.counts, (std::vector<uint32_t>{0, 2, 2, 2}));
  EXPECT_EQ(a.counts, b.counts);
  EXPECT_EQ(rle_decode_col_major(a), std::vector<uint8_t>(col_major, col_major + 6));
}

TEST(Rle, GoldenIouMatrices) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/cocoeval/rle");
  const auto masks = load_json(dir + "/masks.json")["masks"];
  std::map<std::string, Rle> by_name;
  for (const auto& m : masks) {
    by_name[m["name"]] = rle_from_string(m["counts"].get<std::string>(), m["h"], m["w"]);
  }
  const auto golden = load_json(dir + "/iou.json");
  ASSERT_EQ(golden["groups"].size(), 4u);
  for (const auto& group : golden["groups"]) {
    const auto names = group["names"].get<std::vector<std::string>>();
    const auto mixed = group["iscrowd_mixed"].get<std::vector<int>>();
    for (size_t d = 0; d < names.size(); ++d) {
      for (size_t g = 0; g < names.size(); ++g) {
        SCOPED_TRACE(names[d] + " vs " + names[g]);
        const Rle& dt = by_name.at(names[d]);
        const Rle& gt = by_name.at(names[g]);
        EXPECT_NEAR(rle_iou(dt, gt, false), group["iou_noncrowd"][d][g].get<double>(), 1e-12);
        EXPECT_NEAR(rle_iou(dt, gt, true), group["iou_crowd"][d][g].get<double>(), 1e-12);
        EXPECT_NEAR(rle_iou(dt, gt, mixed[g] != 0), group["iou_mixed"][d][g].get<double>(), 1e-12);
      }
    }
  }
  ASSERT_EQ(golden["pairs"].size(), 19u);
  for (const auto& pair : golden["pairs"]) {
    SCOPED_TRACE(pair["dt"].get<std::string>() + " vs " + pair["gt"].get<std::string>());
    const Rle& dt = by_name.at(pair["dt"]);
    const Rle& gt = by_name.at(pair["gt"]);
    EXPECT_NEAR(rle_iou(dt, gt, false), pair["iou"].get<double>(), 1e-12);
    EXPECT_NEAR(rle_iou(dt, gt, true), pair["iou_gt_crowd"].get<double>(), 1e-12);
  }
}

TEST(Rle, HandComputedIou) {
  // 4x4 image; a = left two columns (8 px), b = top-left 2x2 (4 px).
  uint8_t a_px[16] = {}, b_px[16] = {};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 2; ++x) a_px[y * 4 + x] = 1;
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x) b_px[y * 4 + x] = 1;
  const Rle a = rle_encode(a_px, 4, 4), b = rle_encode(b_px, 4, 4);
  EXPECT_DOUBLE_EQ(rle_iou(a, b, false), 4.0 / 8.0);
  EXPECT_DOUBLE_EQ(rle_iou(b, a, false), 4.0 / 8.0);
  EXPECT_DOUBLE_EQ(rle_iou(a, b, true), 4.0 / 8.0);  // crowd: intersection / area(dt=a)
  EXPECT_DOUBLE_EQ(rle_iou(b, a, true), 4.0 / 4.0);  // dt b lies entirely inside crowd a
  EXPECT_EQ(rle_area(a), 8u);
  EXPECT_EQ(rle_to_bbox(b), (BBox{0, 0, 2, 2}));
}

TEST(Rle, MergeUnionAndIntersection) {
  uint8_t a_px[16] = {}, b_px[16] = {};
  for (int y = 0; y < 4; ++y) a_px[y * 4 + 0] = 1;  // column 0
  for (int x = 0; x < 4; ++x) b_px[0 * 4 + x] = 1;  // row 0
  const Rle a = rle_encode(a_px, 4, 4), b = rle_encode(b_px, 4, 4);
  const Rle u = rle_merge({a, b}, false), i = rle_merge({a, b}, true);
  EXPECT_EQ(rle_area(u), 7u);
  EXPECT_EQ(rle_area(i), 1u);
  std::vector<uint8_t> expected_union(16, 0);
  for (int k = 0; k < 16; ++k) expected_union[k] = a_px[k] | b_px[k];
  EXPECT_EQ(rle_decode(u), expected_union);
  EXPECT_THROW(rle_merge({a, Rle{3, 3, {9}}}), Error);
}

TEST(Rle, MergeAndIouAgreeWithPixelBruteForce) {
  // Random masks (including empty, full, first/last pixel set): merge and IoU
  // computed on runs must equal the same computed pixel by pixel.
  std::mt19937 rng(123);
  for (int trial = 0; trial < 300; ++trial) {
    const int h = 1 + static_cast<int>(rng() % 9), w = 1 + static_cast<int>(rng() % 9);
    const double pa = (rng() % 5) / 4.0, pb = (rng() % 5) / 4.0;  // densities 0, .25, .5, .75, 1
    std::vector<uint8_t> a(static_cast<size_t>(h * w)), b(a.size());
    for (auto& v : a) v = (rng() % 1000) < pa * 1000;
    for (auto& v : b) v = (rng() % 1000) < pb * 1000;
    const Rle ra = rle_encode(a.data(), h, w), rb = rle_encode(b.data(), h, w);
    std::vector<uint8_t> uni(a.size()), inter(a.size());
    uint64_t n_uni = 0, n_inter = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      uni[i] = a[i] | b[i];
      inter[i] = a[i] & b[i];
      n_uni += uni[i];
      n_inter += inter[i];
    }
    EXPECT_EQ(rle_merge({ra, rb}, false).counts, rle_encode(uni.data(), h, w).counts);
    EXPECT_EQ(rle_merge({ra, rb}, true).counts, rle_encode(inter.data(), h, w).counts);
    const double expected = n_inter == 0 ? 0.0 : static_cast<double>(n_inter) / static_cast<double>(n_uni);
    EXPECT_DOUBLE_EQ(rle_iou(ra, rb, false), expected) << h << "x" << w << " trial " << trial;
  }
}

TEST(Rle, PolygonRasterisesAxisAlignedSquare) {
  // A square polygon with corners on pixel borders covers exactly the pixels inside:
  // pycocotools maps x = 2..6 (pixel edges at -0.5 offsets) to columns 2..5 -> 4x4 = 16 px.
  const Rle r = rle_from_polygon({2, 2, 2, 6, 6, 6, 6, 2}, 10, 10);
  EXPECT_EQ(rle_area(r), 16u);
  EXPECT_EQ(rle_to_bbox(r), (BBox{2, 2, 4, 4}));
  rle_check(r, "polygon");
  // Box -> polygon path gives the same mask.
  EXPECT_EQ(rle_from_bbox({2, 2, 4, 4}, 10, 10).counts, r.counts);
  // Two polygons: union.
  const Rle two = rle_from_polygons({{2, 2, 2, 6, 6, 6, 6, 2}, {7, 7, 7, 9, 9, 9, 9, 7}}, 10, 10);
  EXPECT_EQ(rle_area(two), 16u + 4u);
}

TEST(Rle, PolygonWithAbsurdCoordinatesIsAnErrorNotACrash) {
  EXPECT_THROW(rle_from_polygon({0, 0, 1e300, 0, 0, 5}, 10, 10), Error);
  EXPECT_THROW(rle_from_polygon({0, 0, NAN, 0, 0, 5}, 10, 10), Error);
  // 200 points zig-zagging across +-1e7: an outline of billions of points.
  std::vector<double> zigzag;
  for (int i = 0; i < 200; ++i) {
    zigzag.push_back(i % 2 ? 1e7 : -1e7);
    zigzag.push_back(i % 2 ? -1e7 : 1e7);
  }
  try {
    rle_from_polygon(zigzag, 10, 10);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("too long to rasterise"));
  }
}

TEST(Rle, PolygonOutlineBeyondSixteenMillionPointsIsAnError) {
  // Found by fuzz_polygon: a triangle 2e6 pixels across (an outline of ~2e7
  // points on the 5x grid) cost seconds and GBs; now refused at once.
  try {
    rle_from_polygon({0, 0, 2e6, 0, 0, 2e6}, 10, 10);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("too long to rasterise"));
  }
  // A large but sane outline still rasterises: a 1000x1000 box in a 10x10 image is the whole image.
  EXPECT_EQ(rle_area(rle_from_polygon({-500, -500, 500, -500, 500, 500, -500, 500}, 10, 10)), 100u);
}

TEST(Rle, RepeatedPolygonVertexIsDefinedAndChangesNothing) {
  // Found by fuzz_polygon (UBSan): two vertices on one point make a zero-length
  // edge, whose slope pycocotools computes as 0/0 and casts to int. The mask
  // is the one without the repeated vertex.
  const Rle plain = rle_from_polygon({1, 1, 5, 1, 5, 5, 1, 5}, 8, 8);
  EXPECT_EQ(rle_from_polygon({1, 1, 1, 1, 5, 1, 5, 5, 1, 5}, 8, 8).counts, plain.counts);
  EXPECT_EQ(rle_from_polygon({1, 1, 5, 1, 5.01, 1.01, 5, 5, 1, 5}, 8, 8).counts, plain.counts);
}

TEST(Rle, PolygonsOnAnEmptyImageAreEmptyMasks) {
  // Found by fuzz_polygon: with width 0, "w - 1" wrapped around, the polygon's
  // runs ran past the (empty) image and merging two of them never ended.
  for (const auto& [h, w] : {std::pair<int64_t, int64_t>{5, 0}, {0, 5}, {0, 0}}) {
    const Rle r = rle_from_polygons({{1, 1, 3, 1, 3, 3}, {0, 0, 2, 0, 2, 2}}, h, w);
    EXPECT_EQ(r.h, h);
    EXPECT_EQ(r.w, w);
    EXPECT_EQ(rle_area(r), 0u);
    EXPECT_TRUE(rle_decode(r).empty());
  }
}

TEST(Rle, RejectsMalformedStrings) {
  try {
    rle_from_string("abc~", 2, 2);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("character '~'"));
  }
  try {
    rle_from_string("0P", 2, 2);  // 'P' = 32 -> continuation bit set on the last char
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("ends in the middle of a run"));
  }
  try {
    rle_check(Rle{2, 2, {1, 1}}, "ann 7");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("ann 7: RLE runs cover 2 pixels, expected h*w = 2*2 = 4"));
  }
}
