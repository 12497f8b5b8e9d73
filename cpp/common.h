// Shared helpers for every kernel family: thread count, per-thread scratch
// buffers, and the fixed block size used by deterministic reductions.
#pragma once
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <new>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

// Memory-bound loops without OpenMP regions get an AVX2 clone beside the
// portable one; the loader picks by CPU at run time (never -march=native).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EMBER_TARGET_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define EMBER_TARGET_CLONES
#endif

namespace ember {

// The instruction-set variant of the kernels that have several (the GEMM
// micro-kernels): the widest the CPU supports unless narrowed through
// set_cpu_variant (or EMBER_CPU_VARIANT, read by the Python package at
// import). Ordered from narrowest to widest.
enum class CpuVariant : int { kGeneric = 0, kAvx2 = 1, kAvx512 = 2 };
// The widest variant this CPU runs (AVX-512 needs AVX512F; AVX2 needs FMA too).
CpuVariant cpu_best_variant();
// The variant in use now; kernels read it once per call.
CpuVariant cpu_variant();
// Selects `v`; returns false (and changes nothing) when the CPU lacks it.
bool set_cpu_variant(CpuVariant v);
const char* cpu_variant_name(CpuVariant v);

// Number of OpenMP threads the kernels use. Set from Python through
// ember.set_num_threads; defaults to omp_get_max_threads() (OMP_NUM_THREADS).
int num_threads();
void set_num_threads(int n);
// How many threads a kernel's parallel region actually gets: measured inside
// one, so that tests check the setting takes effect rather than assume it.
int measured_team_size();

// Threads worth starting for `work` units of roughly one flop / byte each:
// tiny operations run on one thread instead of paying OpenMP's start-up.
inline int threads_for(int64_t work) {
    const int64_t per_thread = 32768;
    int64_t t = work / per_thread;
    int nt = num_threads();
    if (t < 1) return 1;
    return t < nt ? (int)t : nt;
}

// Reductions split their input into blocks of this many rows, independent of
// the thread count, and combine the block sums in block order.
constexpr int64_t kReduceBlock = 256;

// out (C,) = sum over the M rows of f(row, c), accumulated in Acc: each
// fixed block of kReduceBlock rows is summed by one thread, then the block
// sums are added in block order. The bits do not depend on the thread count.
template <class Acc, class F>
void column_sums(Acc* out, int64_t M, int64_t C, F f) {
    const int64_t nblocks = (M + kReduceBlock - 1) / kReduceBlock;
    std::vector<Acc> parts(nblocks * C, Acc(0));
    const int nt = threads_for(M * C);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nblocks; ++b) {
        Acc* p = parts.data() + b * C;  // this block's own partial sums
        const int64_t r1 = std::min(M, (b + 1) * kReduceBlock);
        for (int64_t r = b * kReduceBlock; r < r1; ++r)
            for (int64_t c = 0; c < C; ++c) p[c] += f(r, c);
    }
    for (int64_t c = 0; c < C; ++c) out[c] = Acc(0);
    for (int64_t b = 0; b < nblocks; ++b)
        for (int64_t c = 0; c < C; ++c) out[c] += parts[b * C + c];
}

// A growable 64-byte-aligned buffer. Each thread owns a few of these (see
// scratch()), so packing and im2col never share memory between threads.
class Scratch {
  public:
    Scratch() = default;
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch() { std::free(ptr_); }
    float* get(size_t n) {
        if (n > cap_) {
            std::free(ptr_);
            size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
            ptr_ = static_cast<float*>(std::aligned_alloc(64, bytes));
            if (!ptr_) { cap_ = 0; throw std::bad_alloc(); }
            cap_ = n;
        }
        return ptr_;
    }
  private:
    float* ptr_ = nullptr;
    size_t cap_ = 0;
};

enum ScratchSlot { kSlotPackA = 0, kSlotPackB, kSlotCol, kSlotTmp, kSlotDy, kNumSlots };

// The calling thread's scratch buffer for `slot`.
Scratch& scratch(ScratchSlot slot);

}  // namespace ember
