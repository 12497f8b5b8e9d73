// Inverted dropout with a counter-based RNG: element i of a call with seed s
// is kept or dropped by a hash of (s, i) alone, so the mask does not depend
// on the thread count.
#pragma once
#include <cstdint>

namespace ember {

// mask (n) = 1 / (1 - rate) where kept, 0 where dropped; y = x * mask.
// The scale is computed in double from `rate`, so that rate 0.95 scales by
// exactly 20 (float32 arithmetic would give 19.999996).
void dropout_forward(float* y, float* mask, const float* x, int64_t n, double rate,
                     uint64_t seed);
// dx = dy * mask.
void dropout_backward(float* dx, const float* dy, const float* mask, int64_t n);

}  // namespace ember
