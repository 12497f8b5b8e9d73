"""GEMM GFLOP/s of ember beside NumPy, interleaved in one process.

    python bench/gemm_ratio.py [--repeat 7]

Each size is timed in alternating blocks (ember, NumPy, ember, ...), so that
slow phases of a noisy machine hit both; the table gives medians and the
median of the per-block ratios.
"""
import argparse
import statistics
import time

import numpy as np

from ember import kernels


def block(fn, a, b, seconds=0.15):
    fn(a, b)
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t0 = time.perf_counter()
        fn(a, b)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"{'n':>6s} {'ember GF/s':>11s} {'numpy GF/s':>11s} {'ratio':>7s}")
    for n in args.sizes:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        flops = 2.0 * n ** 3
        ember_t, numpy_t, ratios = [], [], []
        for _ in range(args.repeat):
            te, tn = block(kernels.matmul, a, b), block(np.matmul, a, b)
            ember_t.append(te)
            numpy_t.append(tn)
            ratios.append(tn / te)
        print(f"{n:6d} {flops / statistics.median(ember_t) / 1e9:11.1f} "
              f"{flops / statistics.median(numpy_t) / 1e9:11.1f} {statistics.median(ratios):6.2f}x")


if __name__ == "__main__":
    main()
