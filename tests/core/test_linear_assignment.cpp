// The linear assignment solver against brute force on small matrices (both
// orientations, ties, negative and integer costs) and scipy's documented cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <string>

#include "error_message.h"
#include "rgbdseg/core/linear_assignment.h"

using namespace rgbdseg;
using ::testing::HasSubstr;
using Pairs = std::vector<std::pair<int64_t, int64_t>>;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct BruteForce {
  double best = kInf;
  int64_t num_optimal = 0;  // assignments within 1e-9 of the best
  Pairs pairs;              // one optimal assignment, rows ascending
};

// Every injective map of the smaller side into the larger one.
BruteForce brute_force(const std::vector<double>& c, int64_t rows, int64_t cols) {
  BruteForce out;
  const bool wide = rows <= cols;
  const int64_t n = wide ? rows : cols, m = wide ? cols : rows;
  std::vector<int64_t> pick(n);
  std::vector<char> used(m, 0);
  auto cost = [&](int64_t a, int64_t b) { return wide ? c[a * cols + b] : c[b * cols + a]; };
  std::function<void(int64_t, double)> rec = [&](int64_t k, double sum) {
    if (k == n) {
      if (sum < out.best - 1e-9) {
        out.best = sum;
        out.num_optimal = 1;
        out.pairs.clear();
        for (int64_t a = 0; a < n; ++a) out.pairs.emplace_back(wide ? a : pick[a], wide ? pick[a] : a);
        std::sort(out.pairs.begin(), out.pairs.end());
      } else if (std::abs(sum - out.best) <= 1e-9) {
        ++out.num_optimal;
      }
      return;
    }
    for (int64_t b = 0; b < m; ++b) {
      if (used[b]) continue;
      used[b] = 1;
      pick[k] = b;
      rec(k + 1, sum + cost(k, b));
      used[b] = 0;
    }
  };
  rec(0, 0.0);
  if (n == 0) out.best = 0;
  return out;
}

// Checks the shape of a result: min(rows, cols) pairs, rows ascending, no index twice.
void expect_valid(const Pairs& p, int64_t rows, int64_t cols) {
  ASSERT_EQ(static_cast<int64_t>(p.size()), std::min(rows, cols));
  std::set<int64_t> cs;
  for (size_t k = 0; k < p.size(); ++k) {
    EXPECT_GE(p[k].first, 0);
    EXPECT_LT(p[k].first, rows);
    EXPECT_GE(p[k].second, 0);
    EXPECT_LT(p[k].second, cols);
    if (k > 0) {
      EXPECT_LT(p[k - 1].first, p[k].first);
    }
    cs.insert(p[k].second);
  }
  EXPECT_EQ(cs.size(), p.size());
}

double total(const std::vector<double>& c, int64_t cols, const Pairs& p) {
  double s = 0;
  for (const auto& [r, k] : p) s += c[r * cols + k];
  return s;
}

}  // namespace

TEST(LinearAssignment, MatchesBruteForceOnRandomMatrices) {
  std::mt19937_64 rng(12345);
  int unique_checked = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    const int64_t rows = 1 + rng() % 8, cols = 1 + rng() % 8;
    std::vector<double> c(rows * cols);
    const int kind = trial % 4;
    for (auto& x : c) {
      switch (kind) {
        case 0: x = std::uniform_real_distribution<double>(0, 1)(rng); break;
        case 1: x = std::uniform_real_distribution<double>(-100, 100)(rng); break;  // negative
        case 2: x = static_cast<double>(static_cast<int64_t>(rng() % 3)); break;   // many ties
        default: x = static_cast<double>(static_cast<int64_t>(rng() % 41) - 20); break;
      }
    }
    SCOPED_TRACE("trial " + std::to_string(trial) + ": " + std::to_string(rows) + "x" + std::to_string(cols));
    const auto got = linear_sum_assignment(c, rows, cols);
    expect_valid(got, rows, cols);
    const auto want = brute_force(c, rows, cols);
    EXPECT_NEAR(total(c, cols, got), want.best, 1e-9);
    if (want.num_optimal == 1) {
      EXPECT_EQ(got, want.pairs);
      ++unique_checked;
    }
  }
  EXPECT_GT(unique_checked, 500);  // the continuous cases have unique optima
}

TEST(LinearAssignment, HandCases) {
  // 1x1.
  EXPECT_EQ(linear_sum_assignment(std::vector<double>{-3.5}, 1, 1), (Pairs{{0, 0}}));
  // Empty sides: no pairs (scipy returns two empty arrays).
  EXPECT_TRUE(linear_sum_assignment(std::vector<double>{}, 0, 5).empty());
  EXPECT_TRUE(linear_sum_assignment(std::vector<double>{}, 4, 0).empty());
  EXPECT_TRUE(linear_sum_assignment(nullptr, 0, 0).empty());
  // 1 - identity: the diagonal.
  const int64_t n = 6;
  std::vector<double> eye(n * n, 1.0);
  for (int64_t i = 0; i < n; ++i) eye[i * n + i] = 0.0;
  Pairs diag;
  for (int64_t i = 0; i < n; ++i) diag.emplace_back(i, i);
  EXPECT_EQ(linear_sum_assignment(eye, n, n), diag);
  // scipy's documentation example: rows [0 1 2], cols [1 0 2], cost 5.
  const std::vector<double> doc{4, 1, 3, 2, 0, 5, 3, 2, 2};
  EXPECT_EQ(linear_sum_assignment(doc, 3, 3), (Pairs{{0, 1}, {1, 0}, {2, 2}}));
  // Tall (more queries than targets, as in the matcher): rows ascending, one per column.
  const std::vector<double> tall{5, 9, 1, 7, 8, 0, 2, 6};  // 4x2
  EXPECT_EQ(linear_sum_assignment(tall, 4, 2), (Pairs{{1, 0}, {2, 1}}));
  // Its transpose (wide).
  const std::vector<double> wide{5, 1, 8, 2, 9, 7, 0, 6};  // 2x4
  EXPECT_EQ(linear_sum_assignment(wide, 2, 4), (Pairs{{0, 1}, {1, 2}}));
}

TEST(LinearAssignment, InfinityForbidsAPairAndNanIsAnError) {
  // +inf is a forbidden pair, as in scipy.
  EXPECT_EQ(linear_sum_assignment(std::vector<double>{kInf, 1, 1, kInf}, 2, 2), (Pairs{{0, 1}, {1, 0}}));
  EXPECT_EQ(linear_sum_assignment(std::vector<double>{kInf, 3, kInf, kInf, 2, 1}, 3, 2), (Pairs{{0, 1}, {2, 0}}));
  EXPECT_THAT(error_message([] { linear_sum_assignment(std::vector<double>{kInf, kInf, 1, 2}, 2, 2); }),
              HasSubstr("cost matrix is infeasible"));
  EXPECT_THAT(error_message([] { linear_sum_assignment(std::vector<double>{0, NAN, 1, 2}, 2, 2); }),
              HasSubstr("NaN or -inf"));
  EXPECT_THAT(error_message([] { linear_sum_assignment(std::vector<double>{0, -kInf}, 1, 2); }),
              HasSubstr("NaN or -inf"));
  EXPECT_THAT(error_message([] { linear_sum_assignment(std::vector<double>{0, 1, 2}, 2, 2); }),
              HasSubstr("3 costs for a 2x2 matrix"));
}

TEST(LinearAssignment, LargeMatrixIsValidAndBeatsGreedyRows) {
  // 300 x 200: no brute force, but the optimum can be no worse than any
  // assignment, e.g. the one that sends each column to its own row.
  std::mt19937_64 rng(7);
  const int64_t rows = 300, cols = 200;
  std::vector<double> c(rows * cols);
  for (auto& x : c) x = std::uniform_real_distribution<double>(0, 1)(rng);
  const auto got = linear_sum_assignment(c, rows, cols);
  expect_valid(got, rows, cols);
  double naive = 0;
  for (int64_t k = 0; k < cols; ++k) naive += c[k * cols + k];
  EXPECT_LT(total(c, cols, got), naive);
  // Expected optimum of a random uniform assignment problem is small (~zeta(2) for square).
  EXPECT_LT(total(c, cols, got), 3.0);
}
