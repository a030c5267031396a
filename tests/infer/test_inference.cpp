// Inference helpers: the research protocol's ground-truth warp (nearest
// neighbour, areas and boxes at the warped size), checked against masks
// written out by hand.
#include <gtest/gtest.h>

#include <vector>

#include "rgbdseg/coco/rle.h"
#include "rgbdseg/infer/inference.h"

using namespace rgbdseg;

TEST(Inference, WarpedGroundTruthIsTheNearestNeighbourMaskAtTheNewSize) {
  // A 10x20 image with a 4x6 rectangle at rows 2..5, columns 4..9.
  const int64_t h = 10, w = 20;
  std::vector<uint8_t> px(static_cast<size_t>(h * w), 0);
  for (int64_t y = 2; y < 6; ++y)
    for (int64_t x = 4; x < 10; ++x) px[static_cast<size_t>(y * w + x)] = 1;
  CocoGroundTruth gt;
  CocoImage image;
  image.id = 1;
  image.height = h;
  image.width = w;
  image.file_name = "a.png";
  gt.images.push_back(image);
  CocoObject a;
  a.id = 1;
  a.image_id = 1;
  a.category_id = 1;
  a.mask = rle_encode(px.data(), h, w);
  a.area = 24;
  gt.annotations.push_back(a);

  // Warp to 40x40: rows x4, columns x2. Nearest neighbour reads source (floor(y/4), floor(x/2)).
  const CocoGroundTruth warped = infer::warp_ground_truth(gt, 40, 40);
  ASSERT_EQ(warped.images[0].height, 40);
  ASSERT_EQ(warped.images[0].width, 40);
  const auto& m = warped.annotations[0].mask;
  ASSERT_EQ(m.h, 40);
  ASSERT_EQ(m.w, 40);
  const std::vector<uint8_t> got = rle_decode(m);
  for (int64_t y = 0; y < 40; ++y) {
    for (int64_t x = 0; x < 40; ++x) {
      const bool inside = y / 4 >= 2 && y / 4 < 6 && x / 2 >= 4 && x / 2 < 10;
      ASSERT_EQ(got[static_cast<size_t>(y * 40 + x)], inside ? 1 : 0) << y << "," << x;
    }
  }
  // Area and box at the warped size: rows 8..23, columns 8..19.
  EXPECT_EQ(warped.annotations[0].area, 16.0 * 12.0);
  EXPECT_EQ(warped.annotations[0].bbox, (BBox{8, 8, 12, 16}));
  // The original is untouched.
  EXPECT_EQ(gt.annotations[0].area, 24.0);
  EXPECT_EQ(gt.images[0].height, 10);
}
