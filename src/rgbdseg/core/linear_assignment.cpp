#include "rgbdseg/core/linear_assignment.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "rgbdseg/core/error.h"

namespace rgbdseg {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Solves an n x m problem with n <= m: returns col4row (size n).
// Each row is added by a Dijkstra search for the cheapest augmenting path in
// reduced costs c[i][j] - u[i] - v[j], which stay >= 0 on every assigned row,
// so the search is valid with arbitrary (negative) costs.
std::vector<int64_t> solve_wide(const std::vector<double>& c, int64_t n, int64_t m) {
  std::vector<double> u(n, 0.0), v(m, 0.0), shortest(m);
  std::vector<int64_t> col4row(n, -1), row4col(m, -1), path(m), remaining(m);
  std::vector<char> row_seen(n), col_seen(m);
  for (int64_t cur = 0; cur < n; ++cur) {
    std::fill(shortest.begin(), shortest.end(), kInf);
    std::fill(path.begin(), path.end(), -1);
    std::fill(row_seen.begin(), row_seen.end(), 0);
    std::fill(col_seen.begin(), col_seen.end(), 0);
    // Unscanned columns, kept in reverse so that ties go to the lowest index.
    int64_t num_remaining = m;
    for (int64_t j = 0; j < m; ++j) remaining[j] = m - 1 - j;
    double min_val = 0.0;
    int64_t i = cur, sink = -1;
    while (sink < 0) {
      row_seen[i] = 1;
      int64_t best = -1;
      double lowest = kInf;
      const double* ci = c.data() + i * m;
      for (int64_t k = 0; k < num_remaining; ++k) {
        const int64_t j = remaining[k];
        const double r = min_val + ci[j] - u[i] - v[j];
        if (r < shortest[j]) {
          path[j] = i;
          shortest[j] = r;
        }
        // On ties prefer a free column: the path ends there.
        if (shortest[j] < lowest || (shortest[j] == lowest && row4col[j] < 0)) {
          lowest = shortest[j];
          best = k;
        }
      }
      min_val = lowest;
      if (!(min_val < kInf)) throw Error("linear_sum_assignment: cost matrix is infeasible");
      const int64_t j = remaining[best];
      col_seen[j] = 1;
      remaining[best] = remaining[--num_remaining];
      if (row4col[j] < 0) {
        sink = j;
      } else {
        i = row4col[j];
      }
    }
    // Update the potentials so that the new path has zero reduced cost.
    u[cur] += min_val;
    for (int64_t r = 0; r < n; ++r)
      if (row_seen[r] && r != cur) u[r] += min_val - shortest[col4row[r]];
    for (int64_t j = 0; j < m; ++j)
      if (col_seen[j]) v[j] -= min_val - shortest[j];
    // Augment along the path back to `cur`.
    for (int64_t j = sink;;) {
      const int64_t r = path[j];
      row4col[j] = r;
      std::swap(col4row[r], j);
      if (r == cur) break;
    }
  }
  return col4row;
}

}  // namespace

std::vector<std::pair<int64_t, int64_t>> linear_sum_assignment(const double* cost, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    throw Error("linear_sum_assignment: negative matrix size " + std::to_string(rows) + "x" + std::to_string(cols));
  std::vector<std::pair<int64_t, int64_t>> pairs;
  if (rows == 0 || cols == 0) return pairs;
  for (int64_t k = 0; k < rows * cols; ++k)
    if (std::isnan(cost[k]) || cost[k] == -kInf)
      throw Error("linear_sum_assignment: cost matrix contains NaN or -inf");
  // The solver wants at most as many rows as columns: transpose a tall matrix.
  const bool transpose = rows > cols;
  const int64_t n = transpose ? cols : rows, m = transpose ? rows : cols;
  std::vector<double> c(cost, cost + rows * cols);
  if (transpose)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < cols; ++k) c[k * rows + r] = cost[r * cols + k];
  const auto col4row = solve_wide(c, n, m);
  pairs.reserve(n);
  for (int64_t i = 0; i < n; ++i)
    pairs.emplace_back(transpose ? col4row[i] : i, transpose ? i : col4row[i]);
  if (transpose) std::sort(pairs.begin(), pairs.end());
  return pairs;
}

std::vector<std::pair<int64_t, int64_t>> linear_sum_assignment(const std::vector<double>& cost, int64_t rows,
                                                               int64_t cols) {
  if (rows < 0 || cols < 0 || static_cast<int64_t>(cost.size()) != rows * cols)
    throw Error("linear_sum_assignment: " + std::to_string(cost.size()) + " costs for a " + std::to_string(rows) +
                "x" + std::to_string(cols) + " matrix");
  return linear_sum_assignment(cost.data(), rows, cols);
}

}  // namespace rgbdseg
