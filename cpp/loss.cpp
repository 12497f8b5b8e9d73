#include "loss.h"

#include <vector>

#include "common.h"
#include "formulas.h"

namespace ember {

namespace {

// Runs row(r) -> loss of row r (writing that row's gradient) for every row,
// then sums the row losses in row order in double precision.
template <class Row>
float reduce_rows(int64_t rows, int64_t cols, Row row) {
    std::vector<double> per_row(rows);
    const int nt = threads_for(rows * cols * 8);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; ++r) per_row[r] = row(r);
    double total = 0.0;
    for (int64_t r = 0; r < rows; ++r) total += per_row[r];
    return rows > 0 ? (float)(total / (double)rows) : 0.0f;
}

}  // namespace

float categorical_crossentropy(float* dpred, const float* y_true, const float* y_pred,
                               int64_t rows, int64_t cols) {
    const float inv_rows = rows > 0 ? 1.0f / (float)rows : 0.0f;
    return reduce_rows(rows, cols, [&](int64_t r) {
        return cce_row(dpred + r * cols, y_true + r * cols, y_pred + r * cols, cols, inv_rows);
    });
}

float softmax_crossentropy(float* dlogits, float* probs, const float* y_true,
                           const float* logits, int64_t rows, int64_t cols) {
    const float inv_rows = rows > 0 ? 1.0f / (float)rows : 0.0f;
    return reduce_rows(rows, cols, [&](int64_t r) {
        return softmax_ce_row(dlogits + r * cols, probs ? probs + r * cols : nullptr,
                              y_true + r * cols, logits + r * cols, cols, inv_rows);
    });
}

float sparse_categorical_crossentropy(float* dpred, const int64_t* labels, const float* y_pred,
                                      int64_t rows, int64_t cols, bool from_logits) {
    const float inv_rows = rows > 0 ? 1.0f / (float)rows : 0.0f;
    return reduce_rows(rows, cols, [&](int64_t r) {
        return sparse_ce_row(dpred + r * cols, labels[r], y_pred + r * cols, cols, inv_rows,
                             from_logits);
    });
}

float binary_crossentropy(float* dpred, const float* y_true, const float* y_pred, int64_t rows,
                          int64_t cols, bool from_logits) {
    const int64_t n = rows * cols;
    const float inv_n = n > 0 ? 1.0f / (float)n : 0.0f;
    const float mean = reduce_rows(rows, cols, [&](int64_t r) {
        return bce_row(dpred + r * cols, y_true + r * cols, y_pred + r * cols, cols, inv_n,
                       from_logits);
    });
    return cols > 0 ? mean / (float)cols : 0.0f;
}

float mean_squared_error(float* dpred, const float* y_true, const float* y_pred, int64_t rows,
                         int64_t cols) {
    const int64_t n = rows * cols;
    const float scale = n > 0 ? 2.0f / (float)n : 0.0f;
    const float mean = reduce_rows(rows, cols, [&](int64_t r) {
        return mse_row(dpred + r * cols, y_true + r * cols, y_pred + r * cols, cols, scale);
    });
    return cols > 0 ? mean / (float)cols : 0.0f;
}

}  // namespace ember
