#include "common.h"

#include <atomic>

namespace ember {

static std::atomic<int> g_threads{0};

int num_threads() {
    int n = g_threads.load(std::memory_order_relaxed);
    if (n <= 0) {
#ifdef _OPENMP
        n = omp_get_max_threads();
#else
        n = 1;
#endif
        g_threads.store(n, std::memory_order_relaxed);
    }
    return n;
}

void set_num_threads(int n) { g_threads.store(n < 1 ? 1 : n, std::memory_order_relaxed); }

int measured_team_size() {
    int team = 1;
    const int nt = num_threads();
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#ifdef _OPENMP
#pragma omp single
        team = omp_get_num_threads();
#endif
    }
    return team;
}

Scratch& scratch(ScratchSlot slot) {
    thread_local Scratch buffers[kNumSlots];
    return buffers[slot];
}

}  // namespace ember
