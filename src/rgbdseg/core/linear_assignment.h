#pragma once
// The linear assignment problem (minimum-cost bipartite matching), as
// scipy.optimize.linear_sum_assignment solves it: the Hungarian matcher of
// Mask2Former hands it a [queries x targets] cost matrix per image.
//
// Shortest augmenting paths with dual potentials (Jonker-Volgenant, the
// method scipy uses), O(n^2 m) for an n x m matrix with n <= m. Torch-free.
#include <cstdint>
#include <utility>
#include <vector>

namespace rgbdseg {

// Pairs (row, col) of a minimum-cost assignment of a row-major rows x cols
// matrix: min(rows, cols) pairs, row indices ascending, each row and column
// used at most once. Like scipy: +inf marks a forbidden pair (Error "cost
// matrix is infeasible" when no complete assignment avoids them); NaN and
// -inf are an Error. Among tied optima the choice may differ from scipy's.
// A matrix with 0 rows or 0 columns gives no pairs.
std::vector<std::pair<int64_t, int64_t>> linear_sum_assignment(const double* cost, int64_t rows, int64_t cols);
// The same on a row-major vector of rows * cols values (Error on a size mismatch).
std::vector<std::pair<int64_t, int64_t>> linear_sum_assignment(const std::vector<double>& cost, int64_t rows,
                                                               int64_t cols);

}  // namespace rgbdseg
