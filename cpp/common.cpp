#include "common.h"

#include <atomic>

namespace ember {

static std::atomic<int> g_threads{0};

CpuVariant cpu_best_variant() {
#if defined(__x86_64__) && defined(__GNUC__)
    static const CpuVariant best = [] {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
            __builtin_cpu_supports("fma"))
            return CpuVariant::kAvx512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuVariant::kAvx2;
        return CpuVariant::kGeneric;
    }();
    return best;
#else
    return CpuVariant::kGeneric;
#endif
}

static std::atomic<int> g_variant{-1};

CpuVariant cpu_variant() {
    int v = g_variant.load(std::memory_order_relaxed);
    if (v < 0) {
        v = (int)cpu_best_variant();
        g_variant.store(v, std::memory_order_relaxed);
    }
    return (CpuVariant)v;
}

bool set_cpu_variant(CpuVariant v) {
    if ((int)v < 0 || (int)v > (int)cpu_best_variant()) return false;
    g_variant.store((int)v, std::memory_order_relaxed);
    return true;
}

const char* cpu_variant_name(CpuVariant v) {
    switch (v) {
        case CpuVariant::kAvx512: return "avx512";
        case CpuVariant::kAvx2: return "avx2";
        default: return "generic";
    }
}

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
