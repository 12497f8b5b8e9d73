// Losses over a batch. Each returns the mean loss over the batch and writes
// the gradient of that mean with respect to its input. Per-row losses are
// summed in row order, so the result does not depend on the thread count.
#pragma once
#include <cstdint>

namespace ember {

// y_true and y_pred are (rows, cols); y_pred holds probabilities. As in Keras,
// y_pred is first scaled to sum to one per row, then clipped to
// [eps, 1 - eps]. dpred is (rows, cols).
float categorical_crossentropy(float* dpred, const float* y_true, const float* y_pred,
                               int64_t rows, int64_t cols);
// Softmax and categorical cross-entropy fused on logits (rows, cols):
// dlogits = (softmax(logits) * sum(y_true) - y_true) / rows. probs (rows,
// cols) receives softmax(logits) when not null.
float softmax_crossentropy(float* dlogits, float* probs, const float* y_true,
                           const float* logits, int64_t rows, int64_t cols);
// labels (rows,) are class indices in [0, cols) (the caller checks the
// range); y_pred are probabilities, or logits when from_logits.
float sparse_categorical_crossentropy(float* dpred, const int64_t* labels, const float* y_pred,
                                      int64_t rows, int64_t cols, bool from_logits);
// Elementwise over (rows, cols), y_pred probabilities clipped to
// [eps, 1 - eps] (or logits when from_logits); mean over all elements.
float binary_crossentropy(float* dpred, const float* y_true, const float* y_pred, int64_t rows,
                          int64_t cols, bool from_logits);
// mean((y_pred - y_true)^2) over all elements.
float mean_squared_error(float* dpred, const float* y_true, const float* y_pred, int64_t rows,
                         int64_t cols);

}  // namespace ember
