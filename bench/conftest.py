"""Prints GFLOP/s or GB/s beside pytest-benchmark's timings: each benchmark
records its work in ``benchmark.extra_info`` ('flops' or 'bytes')."""


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    rows = []
    for bench in session.benchmarks:
        info = bench.extra_info or {}
        median = bench.stats.median if bench.stats else None
        if not median:
            continue
        if "flops" in info:
            rate = f"{info['flops'] / median / 1e9:8.1f} GFLOP/s"
        elif "bytes" in info:
            rate = f"{info['bytes'] / median / 1e9:8.2f} GB/s"
        else:
            continue
        rows.append((bench.group or "", bench.name, median, rate))
    if not rows:
        return
    terminalreporter.section("throughput (median)")
    for group, name, median, rate in sorted(rows):
        terminalreporter.write_line(f"{group:28s} {name:52s} {median * 1e3:10.3f} ms {rate}")
