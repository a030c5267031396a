// Parameter and FLOP counts of model configurations, against published numbers.
#include <gtest/gtest.h>

#include "rgbdseg/model/complexity.h"
#include "test_paths.h"

using namespace rgbdseg;

TEST(Complexity, SwinTinyCocoCountsAgreeWithPublishedFigures) {
  RGBDSEG_REQUIRE_SHARED(path, "golden/hf-configs/mask2former-swin-tiny-coco-instance.config.json");
  model::Mask2Former m(model::load_hf_config(path));
  const auto at224 = model::mask2former_costs(*m, 224, 224);
  int64_t params = 0;
  for (const auto& c : at224) params += c.params;
  EXPECT_EQ(params, 47421643);
  // Swin-T's published cost is 4.5 GFLOPs at 224x224 (Swin paper, Table 1; classifier head
  // included, ~0.001 G): our backbone count must land within 5%.
  EXPECT_EQ(at224[0].name, "backbone");
  EXPECT_NEAR(at224[0].flops / 1e9, 4.5, 0.225);
  // At 480x640 the pixel decoder dominates (PRO-SCALE: > 50% of Mask2Former compute), and the
  // total grows about linearly with the pixel count.
  const auto vga = model::mask2former_costs(*m, 480, 640), big = model::mask2former_costs(*m, 960, 1280);
  double total_vga = 0, total_big = 0;
  for (const auto& c : vga) total_vga += c.flops;
  for (const auto& c : big) total_big += c.flops;
  EXPECT_GT(vga[1].flops / total_vga, 0.5);
  EXPECT_NEAR(total_big / total_vga, 4.0, 0.4);
}
