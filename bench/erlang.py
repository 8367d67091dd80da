"""Benchmark: Erlang C staffing (counters needed) over a bank-sized week, against a scalar baseline.

Builds seeded, realistic loads: --outlets outlets × --days days × --intervals half-hours (default
16,000 × 7 × 24 ≈ 2.7 M cells; each outlet has its own size and AHT, a two-peak daily profile, a
weekday profile, some outlets closed at weekends, Poisson arrivals), then times
  vectorised  erlang.counters_needed over every cell (best and median of --repeat runs; wall and
              CPU seconds; peak memory traced during the call)
  baseline    a straightforward per-cell pure-Python loop on a --baseline-sample cell sample: Erlang B
              by its recursion up to floor(A)+1 counters, then N upward until the target is met;
              extrapolated to every cell. It must agree with the vectorised answer on the sample
              (mismatches are reported, not fatal).
  erlang_a    erlang.counters_needed_erlang_a on a --erlang-a-sample cell sample with a mean
              patience of --patience seconds (informative).
Target: --level of customers called within --target-wait seconds (default 80 % within 600 s).
Prints one JSON document. Timing never makes the exit status non-zero.

    .venv/bin/python bench/erlang.py [--outlets 16000] [--days 7] [--intervals 24] [--repeat 3]
        [--baseline-sample 20000] [--erlang-a-sample 268800] [--seed 20260101] [--peak-arrivals 14]
        [--max-counters 60]
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from branchops.queueing import erlang  # noqa: E402

INTERVAL_SECONDS = 1800


def build_loads(outlets: int, days: int, intervals: int, seed: int, peak_arrivals: float):
    """Arrivals and AHT per (outlet, day, interval); interval 0 starts at 08:30."""
    rng = np.random.default_rng(seed)
    # Outlet size: mean arrivals per half-hour at the daily peak, heavy-tailed (a few flagship outlets).
    peak = rng.lognormal(mean=math.log(peak_arrivals), sigma=0.6, size=outlets).clip(1.0, 12 * peak_arrivals)
    aht_outlet = rng.lognormal(mean=math.log(300.0), sigma=0.25, size=outlets).clip(120.0, 900.0)
    hours = 8.5 + 0.5 * np.arange(intervals)
    # Two peaks (late morning, mid-afternoon), a lunch dip, a quiet evening.
    profile = (0.25 + 0.75 * np.exp(-((hours - 10.75) ** 2) / 1.2) + 0.65 * np.exp(-((hours - 15.0) ** 2) / 1.5)
               - 0.2 * np.exp(-((hours - 12.75) ** 2) / 0.3)).clip(0.05, None)
    profile = profile / profile.max()
    weekday = np.array([1.15, 1.0, 0.95, 0.95, 1.1, 0.7, 0.55])[np.arange(days) % 7]
    open_weekend = rng.random(outlets) < 0.6
    is_weekend = (np.arange(days) % 7) >= 5
    open_day = np.where(is_weekend[None, :], open_weekend[:, None], True)
    mean = peak[:, None, None] * weekday[None, :, None] * profile[None, None, :] * open_day[:, :, None]
    arrivals = rng.poisson(mean).astype(np.float64)
    aht = aht_outlet[:, None, None] * rng.lognormal(0.0, 0.1, size=arrivals.shape)
    return arrivals, aht


def scalar_counters(load: float, aht: float, target_wait: float, level: float, max_counters: int) -> int:
    """Per-cell scalar Erlang C search, as one writes it without vectorising (pure Python, no SciPy):
    Erlang B by its recursion from 0 counters, then N upward until the target is met."""
    if load == 0:
        return 0
    b = 1.0
    for k in range(1, math.floor(load) + 2):
        b = load * b / (k + load * b)
    n = math.floor(load) + 1
    while n <= max_counters:
        c = n * b / (n - load * (1 - b))
        if 1 - c * math.exp(-(n - load) * target_wait / aht) >= level - erlang.LEVEL_TOLERANCE:
            return n
        n += 1
        b = load * b / (n + load * b)
    return max_counters


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outlets", type=int, default=16_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--intervals", type=int, default=24, help="half-hours per day")
    parser.add_argument("--peak-arrivals", type=float, default=14.0,
                        help="median outlet's mean arrivals per half-hour at the daily peak")
    parser.add_argument("--target-wait", type=float, default=600.0, help="seconds")
    parser.add_argument("--level", type=float, default=0.8)
    parser.add_argument("--max-counters", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-sample", type=int, default=20_000)
    parser.add_argument("--erlang-a-sample", type=int, default=268_800)
    parser.add_argument("--patience", type=float, default=900.0, help="mean patience for Erlang A, seconds")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args()

    t0 = time.perf_counter()
    arrivals, aht = build_loads(args.outlets, args.days, args.intervals, args.seed, args.peak_arrivals)
    load = erlang.offered_load(arrivals, aht, INTERVAL_SECONDS)
    build_s = time.perf_counter() - t0
    cells = load.size

    def run():
        return erlang.counters_needed(load, aht, args.target_wait, args.level, max_counters=args.max_counters)

    walls, cpus = [], []
    for _ in range(args.repeat):
        w, c = time.perf_counter(), time.process_time()
        counters, capped = run()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    tracemalloc.start()
    run()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = min(walls)

    # Baseline on a sample, the same cells for every run of the same seed.
    rng = np.random.default_rng(args.seed + 1)
    sample = rng.choice(cells, size=min(args.baseline_sample, cells), replace=False)
    flat_load, flat_aht, flat_counters = load.ravel(), aht.ravel(), counters.ravel()
    w = time.perf_counter()
    scalar = [scalar_counters(float(flat_load[i]), float(flat_aht[i]), args.target_wait, args.level, args.max_counters)
             for i in sample]
    scalar_s = time.perf_counter() - w
    mismatches = int(np.count_nonzero(np.array(scalar) != flat_counters[sample]))
    scalar_full_s = scalar_s * cells / sample.size

    # Erlang A on a sample (informative: abandonment-heavy outlets only are staffed this way).
    a_sample = rng.choice(cells, size=min(args.erlang_a_sample, cells), replace=False)
    w = time.perf_counter()
    a_counters, a_capped = erlang.counters_needed_erlang_a(
        flat_load[a_sample], flat_aht[a_sample], args.patience, args.target_wait, args.level,
        max_counters=args.max_counters)
    a_s = time.perf_counter() - w

    print(json.dumps({
        "benchmark": "erlang_counters_needed",
        "cells": cells,
        "shape": list(load.shape),
        "target": {"level": args.level, "within_seconds": args.target_wait},
        "cpu_count": os.cpu_count(),
        "load_erlangs": {"mean": round(float(load.mean()), 3), "p99": round(float(np.quantile(load, 0.99)), 3),
                         "max": round(float(load.max()), 3), "zero_share": round(float((load == 0).mean()), 4)},
        "build_seconds": round(build_s, 3),
        "vectorised": {
            "seconds_best": round(best, 3),
            "seconds_median": round(statistics.median(walls), 3),
            "cpu_seconds_median": round(statistics.median(cpus), 3),
            "cells_per_second": round(cells / best),
            "within_3s_budget": best <= 3.0,
            "peak_traced_mb": round(traced_peak / 2**20, 1),
            "mean_counters": round(float(counters.mean()), 3),
            "max_counters": int(counters.max()),
            "capped_cells": int(capped.sum()),
        },
        "baseline_scalar_loop": {
            "sample_cells": int(sample.size),
            "sample_seconds": round(scalar_s, 3),
            "cells_per_second": round(sample.size / scalar_s),
            "extrapolated_seconds": round(scalar_full_s, 1),
            "mismatches": mismatches,
        },
        "speedup_vs_baseline": round(scalar_full_s / best, 1),
        "erlang_a": {
            "sample_cells": int(a_sample.size),
            "patience_seconds": args.patience,
            "seconds": round(a_s, 3),
            "cells_per_second": round(a_sample.size / a_s),
            "mean_counters": round(float(a_counters.mean()), 3),
            "mean_counters_erlang_c_same_cells": round(float(flat_counters[a_sample].mean()), 3),
            "capped_cells": int(a_capped.sum()),
        },
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
