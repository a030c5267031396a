// The seed-compatible depth preprocessing against the research code's own
// outputs (shared/golden/seed_depth, README there): every tensor bit for bit,
// for the main 8-bit encoding and the min-max one ("minmax." prefix).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <utility>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/safetensors.h"
#include "rgbdseg/model/seed_depth.h"
#include "rgbdseg/model/weights.h"
#include "test_paths.h"

using namespace rgbdseg;

namespace {

// The research model passes predicted_ratio.item() of a float32 tensor.
constexpr double kRatio0p1 = 0.10000000149011612, kRatio0p255 = 0.2549999952316284;

// Read once: the file is ~20 MB and every test of this suite uses it.
const SafetensorsFile& golden_file(const std::string& path) {
  static std::unique_ptr<SafetensorsFile> file;
  if (!file) file = std::make_unique<SafetensorsFile>(read_safetensors(path));
  return *file;
}

at::Tensor golden(const std::string& path, const std::string& name) {
  const StoredTensor* t = golden_file(path).find(name);
  if (!t) throw Error(path + ": no tensor '" + name + "'");
  return model::to_tensor(*t);
}

// Bitwise equality of float tensors (equal() would also pass -0 == 0).
bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const auto as_int = [](const at::Tensor& t) {
    return t.scalar_type() == at::kDouble ? t.contiguous().view(at::kLong) : t.contiguous().view(at::kInt);
  };
  return as_int(a).equal(as_int(b));
}

std::string shape(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? "," : "") + std::to_string(t.size(d));
  return s + "] " + c10::toString(t.scalar_type());
}

#define EXPECT_BITWISE(got, want, what)                                                                             \
  do {                                                                                                              \
    const at::Tensor g_ = (got), w_ = (want);                                                                       \
    ASSERT_EQ(shape(g_), shape(w_)) << (what);                                                                      \
    EXPECT_TRUE(same_bits(g_, w_)) << (what) << ": " << at::ne(g_, w_).sum().item<int64_t>() << " elements differ"; \
  } while (0)

#define EXPECT_SAME(got, want, what)                                                                           \
  do {                                                                                                         \
    const at::Tensor g_ = (got), w_ = (want);                                                                  \
    ASSERT_EQ(shape(g_), shape(w_)) << (what);                                                                 \
    EXPECT_TRUE(g_.equal(w_)) << (what) << ": " << at::ne(g_, w_).sum().item<int64_t>() << " elements differ"; \
  } while (0)

void check_variant(const std::string& path, const std::string& prefix) {
  const auto get = [&](const std::string& name) { return golden(path, prefix + name); };

  // DGGM inputs from the OpenCV-resized depth.
  const auto features = model::seed_gradient_features(get("depth8_resized_640"));
  EXPECT_BITWISE(features.G, get("G"), prefix + "G");
  EXPECT_SAME(features.M.to(at::kByte), get("M"), prefix + "M");
  EXPECT_EQ(features.M.scalar_type(), at::kFloat);

  // Depth channels 3..5 and DSAM's grey depth from the PIL-resized depth.
  const auto pixel_values = model::seed_depth_pixel_values(get("depth8_pil_resized_640"));
  if (prefix.empty()) EXPECT_BITWISE(pixel_values, get("depth_pixel_values"), "depth_pixel_values");
  const auto D = model::seed_grey(pixel_values);
  EXPECT_BITWISE(D, get("dsam_grey"), prefix + "dsam_grey");

  const auto hist = model::seed_histogram(get("dsam_grey"));
  EXPECT_SAME(hist.counts, get("hist"), prefix + "hist");
  EXPECT_BITWISE(hist.edges, get("bin_edges"), prefix + "bin_edges");

  for (const auto& [tag, ratio] :
       {std::pair<std::string, double>{"r0p1.", kRatio0p1}, std::pair<std::string, double>{"r0p255.", kRatio0p255}}) {
    const auto dec = model::seed_depth_decomposition(get("dsam_grey"), ratio);
    EXPECT_SAME(dec.peaks, get("peaks"), prefix + "peaks");
    EXPECT_BITWISE(dec.modes, get("modes"), prefix + "modes");
    EXPECT_BITWISE(dec.windows, get(tag + "windows"), prefix + tag + "windows");
    EXPECT_SAME(dec.region_masks, get(tag + "region_masks"), prefix + tag + "region_masks");
    for (int64_t size : {160, 80, 40}) {
      const std::string name = tag + "region_masks_pooled_" + std::to_string(size);
      EXPECT_SAME(model::seed_pool_region_masks(dec.region_masks, size, size), get(name), prefix + name);
    }
  }
}

}  // namespace

TEST(SeedDepth, MatchesResearchCodeMainEncoding) {
  RGBDSEG_REQUIRE_SHARED(path, "golden/seed_depth/seed_depth.safetensors");
  check_variant(path, "");
}

TEST(SeedDepth, MatchesResearchCodeMinMaxEncoding) {
  RGBDSEG_REQUIRE_SHARED(path, "golden/seed_depth/seed_depth.safetensors");
  check_variant(path, "minmax.");
}

TEST(SeedDepth, GradientFeaturesOnSmallImages) {
  // Horizontal ramp 10, 20, 30, 40: Sobel x = 4 * 20 inside, reflect-101 borders
  // mirror the neighbour (x = 0 sees 20 on both sides: 0).
  auto d = (at::arange(1, 5, at::kLong) * 10).to(at::kByte).view({1, 4}).expand({3, 4}).contiguous();
  auto f = model::seed_gradient_features(d);
  EXPECT_TRUE(f.M.equal(at::tensor({0.f, 1.f, 1.f, 0.f}).expand({3, 4})));
  // Inner magnitude 80 everywhere it is non-zero: min == max, so G is all 0.
  EXPECT_EQ(f.G.abs().max().item<float>(), 0.0f);
  // A hole zeroes its own magnitude only; its neighbours keep large gradients.
  d[1][1] = 0;
  f = model::seed_gradient_features(d);
  EXPECT_EQ(f.M[1][1].item<float>(), 0.0f);
  EXPECT_EQ(f.M[1][2].item<float>(), 1.0f);
  EXPECT_EQ(f.G.max().item<float>(), 1.0f);
  EXPECT_EQ(f.G.masked_select(f.M > 0).min().item<float>(), 0.0f);
  // Flat depth: no gradient anywhere, G = 0 and M = 0.
  f = model::seed_gradient_features(at::full({5, 6}, 9, at::kByte));
  EXPECT_EQ(f.M.sum().item<float>(), 0.0f);
  EXPECT_EQ(f.G.abs().sum().item<float>(), 0.0f);
  EXPECT_THROW(model::seed_gradient_features(at::zeros({1, 6}, at::kByte)), Error);
  EXPECT_THROW(model::seed_gradient_features(at::zeros({4, 6}, at::kFloat)), Error);
}

TEST(SeedDepth, NoPeakGivesFourZeroMasks) {
  // Two depth values only: the histogram has its counts in the first and last
  // bins, which are never peaks.
  auto D = at::full({8, 8}, 0.5f);
  D.slice(0, 0, 4).fill_(-1.0f);
  const auto dec = model::seed_depth_decomposition(D, kRatio0p255);
  EXPECT_EQ(dec.peaks.numel(), 0);
  EXPECT_EQ(dec.modes.numel(), 0);
  EXPECT_EQ(dec.windows.sizes(), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(dec.region_masks.sizes(), (std::vector<int64_t>{4, 8, 8}));
  EXPECT_EQ(dec.region_masks.sum().item<int64_t>(), 0);  // the "remaining" mask too
  EXPECT_EQ(model::seed_pool_region_masks(dec.region_masks, 2, 2).sizes(), (std::vector<int64_t>{4, 2, 2}));
}

TEST(SeedDepth, ConstantDepthIsOnePeakInTheWidenedRange) {
  // numpy widens a zero range to [v - 0.5, v + 0.5]: everything lands in the
  // middle bin, an interior spike, so a constant D has one mode (not zero).
  const auto dec = model::seed_depth_decomposition(at::full({4, 4}, 1.0f), kRatio0p1);
  EXPECT_EQ(dec.peaks.numel(), 1);
  ASSERT_EQ(dec.modes.numel(), 1);
  EXPECT_NEAR(dec.modes[0].item<double>(), 1.0, 1e-2);
  EXPECT_EQ(dec.region_masks.sizes(), (std::vector<int64_t>{2, 4, 4}));
  EXPECT_EQ(dec.region_masks[0].sum().item<int64_t>(), 16);  // 1.0 lies within 1.0 +- 5 %
  EXPECT_EQ(dec.region_masks[1].sum().item<int64_t>(), 0);
  const auto hist = model::seed_histogram(at::full({4, 4}, 1.0f));
  EXPECT_EQ(hist.counts.sum().item<int64_t>(), 16);
  EXPECT_EQ(hist.edges[0].item<float>(), 0.5f);
  EXPECT_EQ(hist.edges[512].item<float>(), 1.5f);
}

TEST(SeedDepth, TwoPeaksGiveThreeMasks) {
  // Values 0, 1 (x 5), 2 (x 3), 3: peaks at the bins of 1 and 2. Heights 5 > 3,
  // so the mode of 1 comes first.
  const auto D = at::tensor({0.f, 1.f, 1.f, 1.f, 1.f, 1.f, 2.f, 2.f, 2.f, 3.f}).view({2, 5});
  const auto dec = model::seed_depth_decomposition(D, 0.5);
  ASSERT_EQ(dec.modes.numel(), 2);
  EXPECT_EQ(dec.peaks.numel(), 2);
  // Bin width 3/512; the centres sit half a bin above 1 and 2 (the values fall
  // at or just above a left edge).
  EXPECT_NEAR(dec.modes[0].item<double>(), 1.0, 3.0 / 512);
  EXPECT_NEAR(dec.modes[1].item<double>(), 2.0, 3.0 / 512);
  EXPECT_EQ(dec.region_masks.sizes(), (std::vector<int64_t>{3, 2, 5}));
  // Windows c +- c/4: [0.75, 1.25] holds the five 1s, [1.5, 2.5] the three 2s.
  EXPECT_EQ(dec.region_masks[0].sum().item<int64_t>(), 5);
  EXPECT_EQ(dec.region_masks[1].sum().item<int64_t>(), 3);
  EXPECT_EQ(dec.region_masks[2].sum().item<int64_t>(), 2);  // 0 and 3 remain
  EXPECT_EQ(dec.windows.sizes(), (std::vector<int64_t>{2, 2}));
  // A negative centre gives lower = 0 > upper: an empty window.
  const auto neg = model::seed_depth_decomposition(-D, 0.5);
  ASSERT_EQ(neg.modes.numel(), 2);
  EXPECT_EQ(neg.windows[0][0].item<double>(), 0.0);
  EXPECT_LT(neg.windows[0][1].item<double>(), 0.0);
  EXPECT_EQ(neg.region_masks.slice(0, 0, 2).sum().item<int64_t>(), 0);
  EXPECT_EQ(neg.region_masks[2].sum().item<int64_t>(), 10);
}

TEST(SeedDepth, RejectsBadInput) {
  EXPECT_THROW(model::seed_depth_pixel_values(at::zeros({4, 4}, at::kFloat)), Error);
  EXPECT_THROW(model::seed_grey(at::zeros({2, 4, 4})), Error);
  EXPECT_THROW(model::seed_histogram(at::full({3}, NAN)), Error);
  EXPECT_THROW(model::seed_depth_decomposition(at::zeros({4, 4}, at::kDouble), 0.1), Error);
  EXPECT_THROW(model::seed_pool_region_masks(at::zeros({4, 4}, at::kByte), 2, 2), Error);
}
