"""Benchmark: dashboard / API queue questions answered from the roll-ups vs from the raw tickets.

Uses the synthetic store of bench/ticketgen.py (default 100 M tickets = 1,000 outlets x 365 days, cached
under --dir) and builds its roll-ups once with branchops.queueing.rollup.refresh (month by month in
--workers processes; cached: {store}/rollup_build.json records the build). Then times typical queries,
each repeated --repeat times with a random outlet / sub-branch / month (seeded), on one DuckDB connection
as the API process would hold:

  heatmap_outlet_month        rollup_kpis grain=interval, one outlet, one month (day x half-hour heat-map)
  ranking_sub_branches_month  rollup_kpis grain=total, 40 sub-branches, one month (ranking by overtime ratio)
  ranking_sub_branches_qtr    the same over a quarter
  drill_group_outlets_month   rollup_kpis grain=total, the 25 outlets of one sub-branch, one month
  drill_outlet_days_month     rollup_kpis grain=day, one outlet, one month
  trend_branch_12m            rollup_kpis grain=month, the whole branch, 12 months
  trend_outlet_12m            rollup_kpis grain=month, one outlet, 12 months
  kpi_table_sub_branch_qtr    rollup_kpis grain=total per outlet of one sub-branch, a quarter

Baseline: the same question from the raw tickets (kpis.kpis, exact) for --baseline-repeat runs; for the
branch-wide questions the baseline computes the wait KPIs only (kpis.wait_kpis): the counter / queue /
device figures from raw tickets cost far more again. Each baseline run is checked against the roll-up
answer (same rows, equal counts and overtime ratio). Also reported: roll-up build time per partition,
an incremental refresh of a sample of partitions (what an import triggers), and the roll-up sizes.
Prints JSON.

    .venv/bin/python bench/queue_dashboard.py [--tickets 100000000] [--outlets 1000] [--repeat 30]
        [--baseline-repeat 3] [--workers 2] [--rebuild] [--dir /tmp/branchops-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import ticketgen  # noqa: E402

from branchops.queueing import kpis as K  # noqa: E402
from branchops.queueing import rollup as R  # noqa: E402

ROLLUP_DIRS = (R.DETAIL, R.OPS, R.DAY, R.MONTH, R.MONTH_TIER, R.OPS_DAY, R.OPS_MONTH, R.MONTH_ALL, R.OPS_MONTH_ALL)


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def month_range(month: str, months: int = 1) -> tuple[date, date]:
    first = date.fromisoformat(f"{month}-01")
    y, m = first.year, first.month + months
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return first, date(y, m, 1) - timedelta(days=1)


def dir_bytes(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files if not f.endswith(".lock"))
    return total


def _refresh_month(job: tuple[str, str, list[str]]) -> dict:
    root, month, outlets = job
    return R.refresh(root, [(month, o) for o in outlets])


def build_rollups(root: Path, meta: dict, workers: int, force: bool) -> dict:
    marker = root / "rollup_build.json"
    if marker.exists() and not force:
        return json.loads(marker.read_text())
    for name in ROLLUP_DIRS:  # a clean build: no compacts to update incrementally
        import shutil

        shutil.rmtree(root / name, ignore_errors=True)
    parts = R.stored_partitions(root)
    by_month: dict[str, list[str]] = {}
    for month, outlet in parts:
        by_month.setdefault(month, []).append(outlet)
    jobs = [(str(root), m, o) for m, o in sorted(by_month.items())]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_refresh_month, jobs))
    wall = time.perf_counter() - t0
    stats = {
        "partitions": len(parts), "months": len(by_month), "workers": workers,
        "wall_seconds": round(wall, 1),
        "wall_ms_per_partition": round(1000 * wall / max(1, len(parts)), 1),
        "worker_ms_per_partition": round(1000 * sum(r["seconds"] for r in results) / max(1, len(parts)), 1),
    }
    marker.write_text(json.dumps(stats, indent=1))
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000_000)
    parser.add_argument("--outlets", type=int, default=1000)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--dir", default=ticketgen.DEFAULT_DIR)
    parser.add_argument("--repeat", type=int, default=30, help="randomised runs per roll-up query")
    parser.add_argument("--baseline-repeat", type=int, default=3, help="runs per raw-ticket baseline query")
    parser.add_argument("--refresh-sample", type=int, default=50, help="partitions re-refreshed (one month)")
    parser.add_argument("--workers", type=int, default=2, help="processes building the roll-ups")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the roll-ups even if cached")
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    root, meta = ticketgen.ensure(args.dir, args.tickets, args.outlets, args.days)
    build = build_rollups(root, meta, args.workers, args.rebuild)
    months = meta["months"]
    full_months = [m for m in months if month_range(m)[1] <= date.fromisoformat(meta["end"])]
    outlets = pq.read_table(root / "outlets.parquet")
    codes = outlets.column("outlet_code").to_pylist()
    subs = sorted(set(outlets.column("sub_branch").to_pylist()))
    sub_of = dict(zip(codes, outlets.column("sub_branch").to_pylist(), strict=True))
    sub_map = outlets.select(["outlet_code", "sub_branch"])
    branch_map = outlets.select(["outlet_code", "branch"])
    rng = random.Random(args.seed)
    con = K.connect(memory_limit=args.memory_limit)

    def outlets_of(sub: str) -> pa.Table:
        own = [c for c in codes if sub_of[c] == sub]
        return pa.table({"outlet_code": own, "unit": own})

    # name -> (make random args, roll-up call, baseline call, baseline covers ops too)
    def q_heatmap():
        o, m = rng.choice(codes), rng.choice(full_months)
        return dict(start_end=month_range(m), grain="interval", outlets=[o])

    def q_rank(n):
        def make():
            m = rng.choice(full_months[: len(full_months) - n + 1])
            return dict(start_end=month_range(m, n), grain="total", mapping=sub_map)
        return make

    def q_drill_group():
        return dict(start_end=month_range(rng.choice(full_months)), grain="total",
                    mapping=outlets_of(rng.choice(subs)))

    def q_drill_outlet():
        return dict(start_end=month_range(rng.choice(full_months)), grain="day", outlets=[rng.choice(codes)])

    year = (month_range(full_months[0])[0], month_range(full_months[-1])[1])

    def q_trend_branch():
        return dict(start_end=year, grain="month", mapping=branch_map)

    def q_trend_outlet():
        return dict(start_end=year, grain="month", outlets=[rng.choice(codes)])

    def q_table_sub():
        m = rng.choice(full_months[: len(full_months) - 2])
        return dict(start_end=month_range(m, 3), grain="total", mapping=outlets_of(rng.choice(subs)))

    queries = {
        "heatmap_outlet_month": (q_heatmap, True),
        "ranking_sub_branches_month": (q_rank(1), False),
        "ranking_sub_branches_qtr": (q_rank(3), False),
        "drill_group_outlets_month": (q_drill_group, True),
        "drill_outlet_days_month": (q_drill_outlet, True),
        "trend_branch_12m": (q_trend_branch, False),
        "trend_outlet_12m": (q_trend_outlet, True),
        "kpi_table_sub_branch_qtr": (q_table_sub, True),
    }
    report: dict = {}
    for name, (make, full_baseline) in queries.items():
        if len(full_months) < 3 and ("qtr" in name or "12m" in name):
            continue
        times = []
        for i in range(args.repeat + 2):
            q = make()
            start, end = q.pop("start_end")
            t0 = time.perf_counter()
            table = R.rollup_kpis(root, start, end, con=con, **q)
            if i >= 2:  # two warm-up runs
                times.append(1000 * (time.perf_counter() - t0))
        entry = {"rows": table.num_rows, "rollup_ms": {"p50": round(pct(times, 0.5), 1),
                                                      "p95": round(pct(times, 0.95), 1), "runs": len(times)}}
        base, checked = [], True
        for _ in range(args.baseline_repeat):
            q = make()
            start, end = q.pop("start_end")
            t0 = time.perf_counter()
            if full_baseline:
                exact = K.kpis(root, start, end, con=con, **q)
            else:
                exact = K.wait_kpis(root, start, end, con=con, **q)
            base.append(1000 * (time.perf_counter() - t0))
            rolled = R.rollup_kpis(root, start, end, con=con, **q)
            for col in ("arrivals", "called", "abandoned", "overtime"):
                checked &= exact.column(col).to_pylist() == rolled.column(col).to_pylist()
            checked &= exact.num_rows == rolled.num_rows
        if base:
            entry["raw_ms"] = {"p50": round(pct(base, 0.5), 1), "p95": round(pct(base, 0.95), 1),
                               "runs": len(base), "scope": "all KPIs" if full_baseline else "wait KPIs only"}
            entry["speedup_p50"] = round(pct(base, 0.5) / max(pct(times, 0.5), 1e-6), 1)
            entry["rollup_equals_raw"] = bool(checked)
        report[name] = entry
        print(name, json.dumps(entry), file=sys.stderr, flush=True)

    # An import's refresh: re-refresh a sample of one month's partitions (detail + ops + compacts).
    month = full_months[len(full_months) // 2]
    sample = sorted(rng.sample(codes, min(args.refresh_sample, len(codes))))
    t0 = time.perf_counter()
    R.refresh(root, [(month, o) for o in sample], con=con)
    refresh_wall = time.perf_counter() - t0
    sizes = {name: dir_bytes(root / name) for name in ROLLUP_DIRS}
    result = {
        "store": {k: meta[k] for k in ("tickets", "devices", "outlets", "days", "start", "end",
                                       "ticket_bytes")},
        "rollup_build": build,
        "refresh_sample": {"partitions": len(sample), "month": month, "seconds": round(refresh_wall, 2),
                           "ms_per_partition": round(1000 * refresh_wall / max(1, len(sample)), 1)},
        "rollup_bytes": {**sizes, "total": sum(sizes.values())},
        "queries": report,
        "target_p95_ms": 200,
        "all_rollup_p95_within_target": all(v["rollup_ms"]["p95"] <= 200 for v in report.values()),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
