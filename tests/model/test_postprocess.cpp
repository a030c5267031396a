// Instance post-processing against Hugging Face's post_process_instance_segmentation
// on the golden fixture (HF's 384x384 mode), and at the original size.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <map>

#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/model/postprocess.h"
#include "rgbdseg/model/weights.h"
#include "test_paths.h"

using namespace rgbdseg;

TEST(Postprocess, HuggingFace384ModeMatchesGoldenInstances) {
  RGBDSEG_REQUIRE_SHARED(dir, "golden/m2f_tiny/io.safetensors");
  const auto io = read_safetensors(dir);
  auto golden = [&](const std::string& k) { return model::to_tensor(*io.find(k)); };
  const auto cls = golden("class_queries_logits"), masks = golden("masks_queries_logits");
  model::InstanceOptions o;
  o.hf_resize = 384;
  for (int b = 0; b < 2; ++b) {
    SCOPED_TRACE("image " + std::to_string(b));
    const std::string p = "post." + std::to_string(b) + ".";
    const auto r = model::instance_postprocess(cls[b], masks[b], 96, 128, o);
    // topk(sorted=false)'s order is implementation-defined: compare as a set keyed by (query, label).
    std::map<std::pair<int64_t, int64_t>, int64_t> ours, theirs;
    for (int64_t i = 0; i < r.query_index.size(0); ++i) ours[{r.query_index[i].item<int64_t>(), r.labels[i].item<int64_t>()}] = i;
    const auto gq = golden(p + "query_index"), gl = golden(p + "labels"), gs = golden(p + "scores"), gm = golden(p + "masks");
    for (int64_t i = 0; i < gq.size(0); ++i) theirs[{gq[i].item<int64_t>(), gl[i].item<int64_t>()}] = i;
    ASSERT_EQ(ours.size(), theirs.size());
    for (const auto& [key, i] : theirs) {
      ASSERT_TRUE(ours.count(key)) << "query " << key.first << " label " << key.second;
      const int64_t j = ours[key];
      EXPECT_NEAR(r.scores[j].item<double>(), gs[i].item<double>(), 1e-5);
      EXPECT_TRUE(at::equal(r.masks[j].to(at::kByte), gm[i])) << "mask of query " << key.first;
    }
  }
}

TEST(Postprocess, OriginalSizeScoringAndThreshold) {
  // Two queries, two classes: query 0 is class 1 with a left-half mask, query 1 mostly no-object.
  auto cls = at::tensor({-5.0, 5.0, -5.0, 0.0, 0.0, 6.0}, at::kDouble).view({2, 3});
  auto masks = at::full({2, 4, 6}, -10.0, at::kDouble);
  masks[0].slice(1, 0, 3).fill_(10.0);
  model::InstanceOptions o;
  o.top_k = 2;
  const auto r = model::instance_postprocess(cls, masks, 8, 12, o);
  // Both candidates of query 0 or the (1, x) pairs: the best is (query 0, label 1).
  int64_t best = r.scores.argmax().item<int64_t>();
  EXPECT_EQ(r.query_index[best].item<int64_t>(), 0);
  EXPECT_EQ(r.labels[best].item<int64_t>(), 1);
  EXPECT_EQ(r.masks.size(1), 8);
  EXPECT_EQ(r.masks.size(2), 12);
  EXPECT_EQ(r.masks[best].sum().item<int64_t>(), 8 * 6);  // left half at the output size
  // Query 1's mask is empty: never kept.
  for (int64_t i = 0; i < r.query_index.size(0); ++i) EXPECT_NE(r.query_index[i].item<int64_t>(), 1);
  o.threshold = 2.0;  // above any probability
  EXPECT_EQ(model::instance_postprocess(cls, masks, 8, 12, o).scores.size(0), 0);
}
