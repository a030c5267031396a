// Decimation and hole filling on small depth images worked out by hand.
#include <gtest/gtest.h>

#include "rgbdseg/core/error.h"
#include "rgbdseg/io/depth_filters.h"

using namespace rgbdseg;

namespace {
cv::Mat depth_of(int rows, int cols, std::initializer_list<uint16_t> values) {
  cv::Mat m(rows, cols, CV_16UC1);
  auto it = values.begin();
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < cols; ++x) m.at<uint16_t>(y, x) = *it++;
  }
  return m;
}
}  // namespace

TEST(DepthFilters, DecimationMedianMeanAndPadding) {
  // 4x6 image, magnitude 2: six 2x2 blocks -> 2x3, padded to 4x4.
  const cv::Mat d = depth_of(4, 6, {10, 30, 0, 0, 7, 9,   //
                                    20, 40, 0, 5, 8, 0,   //
                                    1, 0, 100, 300, 50, 50,  //
                                    0, 0, 200, 0, 60, 40});
  RealSenseIntrinsics k;
  k.width = 6;
  k.height = 4;
  k.fx = 100;
  k.fy = 90;
  k.ppx = 3;
  k.ppy = 2;
  const cv::Mat out = decimate_depth(d, 2, &k);
  ASSERT_EQ(out.rows, 4);  // floor(4/2) = 2 rows, padded to 4
  ASSERT_EQ(out.cols, 4);  // floor(6/2) = 3 columns, padded to 4
  EXPECT_EQ(out.at<uint16_t>(0, 0), 20);   // {10,20,30,40}: lower middle
  EXPECT_EQ(out.at<uint16_t>(0, 1), 5);    // {5}
  EXPECT_EQ(out.at<uint16_t>(0, 2), 8);    // {7,8,9}: median
  EXPECT_EQ(out.at<uint16_t>(1, 0), 1);    // {1}
  EXPECT_EQ(out.at<uint16_t>(1, 1), 200);  // {100,200,300}
  EXPECT_EQ(out.at<uint16_t>(1, 2), 50);   // {40,50,50,60}: lower middle
  EXPECT_EQ(out.at<uint16_t>(0, 3), 0);    // padding
  EXPECT_EQ(out.at<uint16_t>(3, 0), 0);
  EXPECT_EQ(k.width, 4);
  EXPECT_EQ(k.height, 4);
  EXPECT_DOUBLE_EQ(k.fx, 50);
  EXPECT_DOUBLE_EQ(k.ppy, 1);
  // Magnitude 4: the truncated mean of the non-zero pixels; two values give the minimum at 2.
  const cv::Mat e = depth_of(4, 4, {10, 11, 0, 0,  //
                                    0, 0, 0, 0,    //
                                    0, 0, 0, 0,    //
                                    0, 0, 0, 12});
  EXPECT_EQ(decimate_depth(e, 4).at<uint16_t>(0, 0), 11);  // (10 + 11 + 12) / 3
  EXPECT_EQ(decimate_depth(depth_of(2, 2, {0, 9, 4, 0}), 2).at<uint16_t>(0, 0), 4);  // {4, 9}: the minimum
  EXPECT_EQ(decimate_depth(depth_of(2, 2, {0, 0, 0, 0}), 2).at<uint16_t>(0, 0), 0);
  EXPECT_THROW(decimate_depth(e, 9), Error);
}

TEST(DepthFilters, HoleFillingModes) {
  const cv::Mat d = depth_of(3, 4, {5, 0, 0, 7,   //
                                    9, 0, 3, 0,   //
                                    0, 2, 0, 0});
  // Mode 0: from the left, propagating.
  const cv::Mat left = fill_depth_holes(d, 0);
  EXPECT_EQ(left.at<uint16_t>(0, 1), 5);
  EXPECT_EQ(left.at<uint16_t>(0, 2), 5);
  EXPECT_EQ(left.at<uint16_t>(2, 0), 0);  // nothing to its left
  EXPECT_EQ(left.at<uint16_t>(1, 3), 3);
  // Mode 1 (farthest), raster order. (0,1): up -, up-left -, left 5, down-left 9, down 0 -> 9.
  // (0,2): left 9 (filled), down-left 0, down 3 -> 9. (1,1): up 9, up-left 5, left 9, down-left 0,
  // down 2 -> 9. (1,3): up 7, up-left 9, left 3, down-left 0, down 0 -> 9. (2,0): up 9 -> 9.
  // (2,2): up 3, up-left 9, left 2 -> 9. (2,3): up 9, up-left 3, left 9 -> 9.
  const cv::Mat far = fill_depth_holes(d, 1);
  EXPECT_EQ(far.at<uint16_t>(0, 1), 9);
  EXPECT_EQ(far.at<uint16_t>(0, 2), 9);
  EXPECT_EQ(far.at<uint16_t>(1, 1), 9);
  EXPECT_EQ(far.at<uint16_t>(1, 3), 9);
  EXPECT_EQ(far.at<uint16_t>(2, 0), 9);
  EXPECT_EQ(far.at<uint16_t>(2, 2), 9);
  EXPECT_EQ(far.at<uint16_t>(2, 3), 9);
  EXPECT_EQ(far.at<uint16_t>(1, 2), 3);  // valid pixels stay
  // Mode 2 (nearest). (0,1): left 5, down-left 9 -> 5. (0,2): left 5, down 3 -> 3.
  // (1,1): up 5, up-left 5, left 9, down 2 -> 2. (1,3): up 7, up-left 3, left 3 -> 3.
  // (2,0): up 9 -> 9. (2,2): up 3, up-left 2, left 2 -> 2. (2,3): up 3, up-left 3, left 2 -> 2.
  const cv::Mat near = fill_depth_holes(d, 2);
  EXPECT_EQ(near.at<uint16_t>(0, 1), 5);
  EXPECT_EQ(near.at<uint16_t>(0, 2), 3);
  EXPECT_EQ(near.at<uint16_t>(1, 1), 2);
  EXPECT_EQ(near.at<uint16_t>(1, 3), 3);
  EXPECT_EQ(near.at<uint16_t>(2, 0), 9);
  EXPECT_EQ(near.at<uint16_t>(2, 2), 2);
  EXPECT_EQ(near.at<uint16_t>(2, 3), 2);
  EXPECT_THROW(fill_depth_holes(d, 3), Error);
}

TEST(DepthFilters, SpatialFilterBlendsWithinDeltaAndFillsAlongRows) {
  SpatialFilterOptions o;
  o.alpha = 0.5;
  o.delta = 20;
  o.iterations = 1;
  const cv::Mat row = depth_of(1, 7, {100, 112, 200, 0, 0, 0, 130});
  // Left to right: 112 -> 0.5*112 + 0.5*100 = 106; 200 is 94 away: an edge, kept; holes stay; 130
  // follows a hole: kept. Right to left: 100 -> 0.5*100 + 0.5*106 = 103. One row: no column passes.
  const cv::Mat a = spatial_filter_depth(row, o);
  const uint16_t expected_a[7] = {103, 106, 200, 0, 0, 0, 130};
  for (int x = 0; x < 7; ++x) EXPECT_EQ(a.at<uint16_t>(0, x), expected_a[x]) << x;
  // holes_fill 1 (2 pixels): the first two holes take 200 left to right, the third stays.
  o.holes_fill = 1;
  const cv::Mat b = spatial_filter_depth(row, o);
  const uint16_t expected_b[7] = {103, 106, 200, 200, 200, 0, 130};
  for (int x = 0; x < 7; ++x) EXPECT_EQ(b.at<uint16_t>(0, x), expected_b[x]) << x;
  o.holes_fill = 5;  // unlimited
  EXPECT_EQ(spatial_filter_depth(row, o).at<uint16_t>(0, 5), 200);
  // Columns the same way: [100; 112] -> 106 below, then 103 above.
  o.holes_fill = 0;
  const cv::Mat c = spatial_filter_depth(depth_of(2, 1, {100, 112}), o);
  EXPECT_EQ(c.at<uint16_t>(0, 0), 103);
  EXPECT_EQ(c.at<uint16_t>(1, 0), 106);
  // alpha 1 (the research code's setting) smooths nothing.
  o.alpha = 1;
  EXPECT_EQ(cv::countNonZero(spatial_filter_depth(row, o) != row), 0);
  o.alpha = 0.1;
  EXPECT_THROW(spatial_filter_depth(row, o), Error);
}

TEST(DepthFilters, TemporalFilterBlendsAndKeepsByPersistence) {
  // One pixel over 8 frames: 100, 110, then four holes, then 300, 100.
  const uint16_t frames[8] = {100, 110, 0, 0, 0, 0, 300, 100};
  auto run = [&](int persistence) {
    TemporalDepthFilter f(0.4, 20, persistence);
    std::vector<int> out;
    for (uint16_t v : frames) out.push_back(f.apply(depth_of(1, 1, {v})).at<uint16_t>(0, 0));
    return out;
  };
  // 110 is within 20 of 100: 0.4*110 + 0.6*100 = 104. Persistence 3 (2 valid of the last 4 frames):
  // the holes keep 104 while the last four frames hold two valid ones (frames 3, 4, 5), not at
  // frame 6 (one of four); 300 restarts; 100 is 200 away: restarts.
  EXPECT_EQ(run(3), (std::vector<int>{100, 104, 104, 104, 104, 0, 300, 100}));
  EXPECT_EQ(run(0), (std::vector<int>{100, 104, 0, 0, 0, 0, 300, 100}));        // never keep
  EXPECT_EQ(run(8), (std::vector<int>{100, 104, 104, 104, 104, 104, 300, 100}));  // always keep
  EXPECT_EQ(run(5), (std::vector<int>{100, 104, 104, 104, 0, 0, 300, 100}));      // 1 of the last 2
  TemporalDepthFilter f;
  f.apply(depth_of(1, 1, {5}));
  EXPECT_THROW(f.apply(depth_of(1, 2, {5, 5})), Error);
  EXPECT_THROW(TemporalDepthFilter(0.4, 20, 9), Error);
}
