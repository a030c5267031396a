// Instance post-processing against Hugging Face's post_process_instance_segmentation
// on the golden fixture (HF's 384x384 mode), and at the original size.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <map>

#include "rgbdseg/core/error.h"
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

namespace {

// The unoptimised path, written out: every query's mask up-sampled to the
// padded canvas, cropped, up-sampled to the output size, then every top-k
// candidate scored. Returns (query, label) -> (score, mask) for the kept ones,
// and the mask score of every candidate.
struct Reference {
  std::map<std::pair<int64_t, int64_t>, std::pair<double, at::Tensor>> kept;
  std::map<std::pair<int64_t, int64_t>, double> mask_score;
};
Reference reference_postprocess(const at::Tensor& cls, const at::Tensor& masks, int64_t canvas_h, int64_t canvas_w,
                                int64_t image_h, int64_t image_w, int64_t out_h, int64_t out_w, int64_t top_k,
                                double threshold) {
  const auto canvas = at::upsample_bilinear2d(masks.unsqueeze(0), {canvas_h, canvas_w}, false);
  const auto crop = canvas.slice(2, 0, image_h).slice(3, 0, image_w);
  const auto logits = at::upsample_bilinear2d(crop, {out_h, out_w}, false).squeeze(0);
  const int64_t C = cls.size(1) - 1;
  const auto probs = at::softmax(cls, -1).slice(1, 0, C).flatten();
  const auto order = probs.argsort(0, /*descending=*/true).slice(0, 0, top_k);
  Reference ref;
  for (int64_t i = 0; i < order.size(0); ++i) {
    const int64_t flat = order[i].item<int64_t>(), q = flat / C, label = flat % C;
    const auto m = logits[q];
    const auto bin = (m > 0).to(m.scalar_type());
    const double ms = ((m.sigmoid() * bin).sum() / (bin.sum() + 1e-6)).item<double>();
    const double score = probs[flat].item<double>() * ms;
    ref.mask_score[{q, label}] = ms;
    if (bin.sum().item<double>() > 0 && score >= threshold) ref.kept[{q, label}] = {score, m > 0};
  }
  return ref;
}

}  // namespace

TEST(Postprocess, CandidateMasksOnlyGiveWhatUpsamplingEveryMaskGives) {
  // Several classes, so one query is a candidate for more than one label;
  // masks through a padded canvas as in a batch.
  at::manual_seed(3);
  const int64_t Q = 12, C = 3;
  const auto cls = at::randn({Q, C + 1}, at::kFloat) * 3;
  const auto masks = at::randn({Q, 10, 14}, at::kFloat) * 4;
  for (double threshold : {0.0, 0.2}) {
    SCOPED_TRACE("threshold " + std::to_string(threshold));
    model::InstanceOptions o;
    o.top_k = 20;
    o.threshold = threshold;
    o.canvas_height = 40;
    o.canvas_width = 56;
    o.image_height = 33;
    o.image_width = 50;
    const auto r = model::instance_postprocess(cls, masks, 66, 100, o);
    const auto ref = reference_postprocess(cls, masks, 40, 56, 33, 50, 66, 100, 20, threshold);
    ASSERT_GT(ref.kept.size(), 2u);
    ASSERT_EQ(r.scores.size(0), static_cast<int64_t>(ref.kept.size()));
    for (int64_t i = 0; i < r.scores.size(0); ++i) {
      const std::pair<int64_t, int64_t> key{r.query_index[i].item<int64_t>(), r.labels[i].item<int64_t>()};
      ASSERT_TRUE(ref.kept.count(key)) << "query " << key.first << " label " << key.second;
      EXPECT_NEAR(r.scores[i].item<double>(), ref.kept.at(key).first, 1e-6);
      EXPECT_TRUE(at::equal(r.masks[i], ref.kept.at(key).second)) << "mask of query " << key.first;
    }
    // Every candidate is listed; those that could reach the threshold carry their mask score.
    ASSERT_EQ(r.topk_query.size(0), 20);
    for (int64_t i = 0; i < 20; ++i) {
      const std::pair<int64_t, int64_t> key{r.topk_query[i].item<int64_t>(), r.topk_label[i].item<int64_t>()};
      const double expected = r.topk_class_prob[i].item<double>() >= threshold ? ref.mask_score.at(key) : 0.0;
      EXPECT_NEAR(r.topk_mask_score[i].item<double>(), expected, 1e-6);
    }
  }
  // No candidate reaches the threshold: nothing up-sampled, nothing kept.
  model::InstanceOptions none;
  none.threshold = 1.5;
  const auto empty = model::instance_postprocess(cls, masks, 66, 100, none);
  EXPECT_EQ(empty.scores.size(0), 0);
  EXPECT_EQ(empty.masks.size(1), 66);
  // An image outside its canvas is a caller's error.
  model::InstanceOptions bad;
  bad.canvas_height = 20;
  bad.canvas_width = 20;
  bad.image_height = 30;
  bad.image_width = 10;
  EXPECT_THROW(model::instance_postprocess(cls, masks, 66, 100, bad), Error);
}
