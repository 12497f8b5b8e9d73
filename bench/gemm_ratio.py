"""GEMM GFLOP/s of ember beside NumPy, interleaved in one process.

    python bench/gemm_ratio.py [--repeat 7] [--variants avx2 avx512]

Each size is timed in alternating blocks (ember, NumPy, ember, ...), so that
slow phases of a noisy machine hit both; the table gives medians and the
median of the per-block ratios. With --variants, each of ember's CPU variants
takes its turn in every round. OpenBLAS's own kernel choice is printed when
threadpoolctl is importable (unset OPENBLAS_CORETYPE in the command, so that
NumPy picks its best kernel).
"""
import argparse
import statistics
import time

import numpy as np

from ember import _core, kernels


def describe_numpy():
    try:
        import threadpoolctl
    except ImportError:
        return "NumPy BLAS: (threadpoolctl not installed: kernel choice unknown)"
    infos = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(f"NumPy BLAS: {i.get('internal_api')} {i.get('version')}, kernel "
                     f"{i.get('architecture')}, {i.get('num_threads')} threads" for i in infos) or "NumPy BLAS: unknown"


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
    p.add_argument("--variants", nargs="+", choices=["avx512", "avx2", "generic"],
                   help="ember CPU variants to compare (default: the one in use)")
    args = p.parse_args(argv)
    variants = args.variants or [_core.cpu_variant()]
    for v in variants:
        if v not in _core.cpu_variants():
            p.error(f"this CPU has no {v} kernels (it has {', '.join(_core.cpu_variants())})")
    before = _core.cpu_variant()
    print(f"ember variants {', '.join(variants)}, {_core.get_num_threads()} threads; {describe_numpy()}")
    rng = np.random.default_rng(0)
    head = "".join(f" {v + ' GF/s':>12s} {'ratio':>6s}" for v in variants)
    print(f"{'n':>6s}{head} {'numpy GF/s':>11s}")
    try:
        for n in args.sizes:
            a = rng.standard_normal((n, n), dtype=np.float32)
            b = rng.standard_normal((n, n), dtype=np.float32)
            flops = 2.0 * n ** 3
            ember_t = {v: [] for v in variants}
            ratios = {v: [] for v in variants}
            numpy_t = []
            for _ in range(args.repeat):
                tn = block(np.matmul, a, b)
                numpy_t.append(tn)
                for v in variants:
                    _core.set_cpu_variant(v)
                    te = block(kernels.matmul, a, b)
                    ember_t[v].append(te)
                    ratios[v].append(tn / te)
            cols = "".join(f" {flops / statistics.median(ember_t[v]) / 1e9:12.1f} "
                           f"{statistics.median(ratios[v]):5.2f}x" for v in variants)
            print(f"{n:6d}{cols} {flops / statistics.median(numpy_t) / 1e9:11.1f}")
    finally:
        _core.set_cpu_variant(before)


if __name__ == "__main__":
    main()
