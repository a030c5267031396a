// Batched histogram peaks against a plain scalar transcription of scipy 1.10's
// find_peaks / peak_prominences (the loops below), on hand cases and many
// random histograms with plateaus, ties and zeros.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "rgbdseg/core/error.h"
#include "rgbdseg/model/histogram_peaks.h"

using namespace rgbdseg;

namespace {

// scipy.signal._peak_finding_utils._local_maxima_1d.
std::vector<int64_t> scipy_local_maxima(const std::vector<double>& x) {
  std::vector<int64_t> peaks;
  const int64_t i_max = static_cast<int64_t>(x.size()) - 1;
  int64_t i = 1;
  while (i < i_max) {
    if (x[i - 1] < x[i]) {
      int64_t i_ahead = i + 1;
      while (i_ahead < i_max && x[i_ahead] == x[i]) ++i_ahead;
      if (x[i_ahead] < x[i]) {
        peaks.push_back((i + i_ahead - 1) / 2);
        i = i_ahead;
      }
    }
    ++i;
  }
  return peaks;
}

// scipy.signal._peak_finding_utils._peak_prominences with wlen = None.
double scipy_prominence(const std::vector<double>& x, int64_t peak) {
  double left_min = x[peak], right_min = x[peak];
  for (int64_t i = peak; i >= 0 && x[i] <= x[peak]; --i) left_min = std::min(left_min, x[i]);
  for (int64_t i = peak; i < static_cast<int64_t>(x.size()) && x[i] <= x[peak]; ++i)
    right_min = std::min(right_min, x[i]);
  return x[peak] - std::max(left_min, right_min);
}

// find_peaks(x, prominence=threshold), then the research code's sort of
// (height, position) descending, first k.
std::vector<int64_t> scipy_top_peaks(const std::vector<double>& x, double threshold, int64_t k) {
  std::vector<std::pair<double, int64_t>> kept;
  for (int64_t p : scipy_local_maxima(x)) {
    if (scipy_prominence(x, p) >= threshold) kept.emplace_back(x[p], p);
  }
  std::sort(kept.rbegin(), kept.rend());
  std::vector<int64_t> out;
  for (int64_t t = 0; t < k && t < static_cast<int64_t>(kept.size()); ++t) out.push_back(kept[t].second);
  return out;
}

at::Tensor row_tensor(const std::vector<double>& x) { return at::tensor(x, at::kDouble).unsqueeze(0); }

std::vector<int64_t> peak_indices(const model::HistogramPeaks& p, int64_t b = 0) {
  const auto idx = p.is_peak[b].nonzero().view(-1);
  return std::vector<int64_t>(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
}

// Random integer-valued histograms: small alphabets give plateaus and ties,
// zero runs, and spiky every-other-bin rows like an 8-bit depth histogram.
std::vector<double> random_hist(std::mt19937& rng, int64_t n) {
  std::vector<double> x(n);
  const int style = std::uniform_int_distribution<int>(0, 3)(rng);
  const int levels = std::uniform_int_distribution<int>(1, 6)(rng);
  std::uniform_int_distribution<int> level(0, levels - 1);
  for (int64_t i = 0; i < n; ++i) {
    switch (style) {
      case 0:
        x[i] = level(rng);
        break;  // many equal values
      case 1:
        x[i] = i % 2 ? 0 : std::uniform_int_distribution<int>(0, 50)(rng);
        break;  // spiky
      case 2:
        x[i] = (i > 0 && rng() % 3 == 0) ? x[i - 1] : level(rng) * 10;
        break;  // long plateaus
      default:
        x[i] = std::uniform_int_distribution<int>(0, 1000)(rng);
        break;  // mostly distinct
    }
  }
  return x;
}

}  // namespace

TEST(HistogramPeaks, HandCases) {
  {
    const auto p = model::find_histogram_peaks(row_tensor({0, 1, 0}));
    EXPECT_EQ(peak_indices(p), std::vector<int64_t>({1}));
    EXPECT_EQ(p.prominence[0][1].item<double>(), 1.0);
  }
  EXPECT_EQ(peak_indices(model::find_histogram_peaks(row_tensor({0, 2, 2, 0}))), std::vector<int64_t>({1}));
  EXPECT_EQ(peak_indices(model::find_histogram_peaks(row_tensor({0, 2, 2, 2, 0}))), std::vector<int64_t>({2}));
  // First and last samples are never peaks; a plateau touching an end is none either.
  EXPECT_TRUE(peak_indices(model::find_histogram_peaks(row_tensor({5, 1, 5}))).empty());
  EXPECT_TRUE(peak_indices(model::find_histogram_peaks(row_tensor({0, 3, 3}))).empty());
  EXPECT_TRUE(peak_indices(model::find_histogram_peaks(row_tensor({3, 3, 0}))).empty());
  // A plateau with a higher neighbour is not a peak.
  EXPECT_TRUE(peak_indices(model::find_histogram_peaks(row_tensor({0, 2, 2, 3, 4}))).empty());
  // N = 1, 2 and a constant row: nothing.
  EXPECT_TRUE(peak_indices(model::find_histogram_peaks(row_tensor({7}))).empty());
  EXPECT_TRUE(peak_indices(model::find_histogram_peaks(row_tensor({1, 7}))).empty());
  EXPECT_TRUE(peak_indices(model::find_histogram_peaks(row_tensor({4, 4, 4, 4}))).empty());
  {
    // Prominence: the base is the higher of the two side minima, bounded by higher peaks.
    const auto p = model::find_histogram_peaks(row_tensor({0, 5, 1, 3, 2, 9, 4}));
    EXPECT_EQ(peak_indices(p), std::vector<int64_t>({1, 3, 5}));
    EXPECT_EQ(p.prominence[0][1].item<double>(), 4.0);  // left base 0, right base 1 (bounded by 9)
    EXPECT_EQ(p.prominence[0][3].item<double>(), 1.0);  // bases 1 (bounded by 5) and 2 (by 9)
    EXPECT_EQ(p.prominence[0][5].item<double>(), 5.0);  // 9 - max(0, 4)
    EXPECT_EQ(p.prominence[0][0].item<double>(), 0.0);  // not a peak
  }
}

TEST(HistogramPeaks, MatchesScipyOnRandomHistograms) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 400; ++trial) {
    const int64_t n = trial < 30 ? 1 + trial % 4 : std::uniform_int_distribution<int64_t>(1, 70)(rng);
    const int64_t B = 1 + trial % 5;
    std::vector<std::vector<double>> rows;
    std::vector<double> flat;
    for (int64_t b = 0; b < B; ++b) {
      rows.push_back(random_hist(rng, n));
      flat.insert(flat.end(), rows.back().begin(), rows.back().end());
    }
    const auto hist = at::tensor(flat, at::kDouble).view({B, n});
    const auto p = model::find_histogram_peaks(hist);
    ASSERT_EQ(p.is_peak.sizes(), hist.sizes());
    ASSERT_EQ(p.prominence.sizes(), hist.sizes());
    for (int64_t b = 0; b < B; ++b) {
      const auto expected = scipy_local_maxima(rows[b]);
      ASSERT_EQ(peak_indices(p, b), expected) << "trial " << trial << " row " << b;
      for (int64_t i = 0; i < n; ++i) {
        const bool is_peak = std::find(expected.begin(), expected.end(), i) != expected.end();
        const double want = is_peak ? scipy_prominence(rows[b], i) : 0.0;
        ASSERT_EQ(p.prominence[b][i].item<double>(), want) << "trial " << trial << " row " << b << " bin " << i;
      }
    }
    // The filter and the top-k selection, with a per-row threshold.
    std::vector<double> thresholds;
    for (int64_t b = 0; b < B; ++b) {
      const double mx = *std::max_element(rows[b].begin(), rows[b].end());
      thresholds.push_back((trial % 3) * 0.25 * mx);  // 0, 25 %, 50 % of the maximum
    }
    const int64_t k = 1 + trial % 4;
    const auto sel = model::select_top_peaks(hist, p, at::tensor(thresholds, at::kDouble), k);
    ASSERT_EQ(sel.index.sizes(), (std::vector<int64_t>{B, k}));
    for (int64_t b = 0; b < B; ++b) {
      const auto expected = scipy_top_peaks(rows[b], thresholds[b], k);
      for (int64_t t = 0; t < k; ++t) {
        const bool present = t < static_cast<int64_t>(expected.size());
        ASSERT_EQ(sel.present[b][t].item<bool>(), present) << "trial " << trial << " row " << b << " slot " << t;
        ASSERT_EQ(sel.index[b][t].item<int64_t>(), present ? expected[t] : 0) << "trial " << trial << " row " << b;
      }
    }
  }
}

TEST(HistogramPeaks, Float32MatchesFloat64) {
  std::mt19937 rng(7);
  std::vector<double> flat;
  for (int b = 0; b < 3; ++b) {
    const auto r = random_hist(rng, 64);
    flat.insert(flat.end(), r.begin(), r.end());
  }
  const auto h64 = at::tensor(flat, at::kDouble).view({3, 64});
  const auto p64 = model::find_histogram_peaks(h64), p32 = model::find_histogram_peaks(h64.to(at::kFloat));
  EXPECT_TRUE(p32.is_peak.equal(p64.is_peak));
  EXPECT_EQ(p32.prominence.scalar_type(), at::kFloat);
  EXPECT_TRUE(p32.prominence.to(at::kDouble).equal(p64.prominence));
}

TEST(HistogramPeaks, SelectOrdersByHeightThenLargerIndex) {
  // Peaks at 1 (h 5), 3 (h 7), 5 (h 5), 7 (h 7), 9 (h 2).
  const auto hist = row_tensor({0, 5, 0, 7, 0, 5, 0, 7, 0, 2, 0});
  const auto p = model::find_histogram_peaks(hist);
  auto sel = model::select_top_peaks(hist, p, at::scalar_tensor(0.0, at::kDouble), 5);
  EXPECT_EQ(std::vector<int64_t>(sel.index.data_ptr<int64_t>(), sel.index.data_ptr<int64_t>() + 5),
            std::vector<int64_t>({7, 3, 5, 1, 9}));
  EXPECT_TRUE(sel.present.all().item<bool>());
  // k beyond the peak count (and beyond N): trailing slots are absent with index 0.
  sel = model::select_top_peaks(hist, p, at::scalar_tensor(0.0, at::kDouble), 13);
  EXPECT_EQ(sel.index.size(1), 13);
  EXPECT_EQ(sel.present.sum().item<int64_t>(), 5);
  EXPECT_FALSE(sel.present[0].slice(0, 5).any().item<bool>());
  EXPECT_EQ(sel.index[0].slice(0, 5).abs().sum().item<int64_t>(), 0);
  // The prominence threshold is inclusive: 5 passes at 5, 2 does not.
  sel = model::select_top_peaks(hist, p, at::scalar_tensor(5.0, at::kDouble), 5);
  EXPECT_EQ(std::vector<int64_t>(sel.index.data_ptr<int64_t>(), sel.index.data_ptr<int64_t>() + 5),
            std::vector<int64_t>({7, 3, 5, 1, 0}));
  EXPECT_EQ(sel.present.sum().item<int64_t>(), 4);
  // No peaks at all, k = 0, and batch rows with different thresholds.
  sel = model::select_top_peaks(row_tensor({1, 1, 1}), model::find_histogram_peaks(row_tensor({1, 1, 1})),
                                at::scalar_tensor(0.0, at::kDouble), 3);
  EXPECT_FALSE(sel.present.any().item<bool>());
  EXPECT_EQ(model::select_top_peaks(hist, p, at::scalar_tensor(0.0, at::kDouble), 0).index.numel(), 0);
  const auto two = at::cat({hist, hist});
  sel = model::select_top_peaks(two, model::find_histogram_peaks(two), at::tensor({0.0, 6.0}, at::kDouble), 3);
  // Row 1 keeps only the two height-7 peaks (prominence 7; the 5s have 5, the 2 has 2).
  EXPECT_EQ(sel.present.sum(1)[0].item<int64_t>(), 3);
  EXPECT_EQ(sel.present.sum(1)[1].item<int64_t>(), 2);
  EXPECT_EQ(sel.index[1][0].item<int64_t>(), 7);
  EXPECT_EQ(sel.index[1][1].item<int64_t>(), 3);
  EXPECT_FALSE(sel.present[1][2].item<bool>());
}

TEST(HistogramPeaks, RejectsBadInput) {
  EXPECT_THROW(model::find_histogram_peaks(at::zeros({4})), Error);
  EXPECT_THROW(model::find_histogram_peaks(at::zeros({1, 0})), Error);
  EXPECT_THROW(model::find_histogram_peaks(at::zeros({1, 4}, at::kLong)), Error);
  const auto h = row_tensor({0, 1, 0});
  EXPECT_THROW(model::select_top_peaks(h, model::find_histogram_peaks(h), at::zeros({2}), 1), Error);
  EXPECT_THROW(model::select_top_peaks(h, model::find_histogram_peaks(h), at::zeros({}), -1), Error);
}
