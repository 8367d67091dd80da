"""Benchmark: exact waiting KPIs per outlet x day x half-hour, DuckDB (branchops.queueing.kpis) vs pandas.

For each --tickets size, on the synthetic store of bench/ticketgen.py (cached under --dir), computes for
every outlet x day x interval: arrivals, served, transferred, abandoned, called, mean / median / P90
wait, max wait, overtime count and ratio (default thresholds), mean service time:
  duckdb  kpis.wait_kpis(grain="interval") over the whole store (one query per month, memory_limit set);
          it reads the month compacts (ticket_waits/month=YYYY-MM/data.parquet: the month's tickets with
          interval, wait and service seconds, in outlet/day/issue-time order) that the import's roll-up
          refresh keeps; they are built first if missing (reported as month_compacts, not timed)
  duckdb-partitions  (optional) the same query on the per-outlet partition files, for comparison
  pandas  the same, vectorised: each month's compact read with pyarrow (string keys as categoricals),
          groupby(...).agg(...) and groupby(...)["wait"].quantile([0.5, 0.9]) (linear interpolation);
          no Python per-row or per-group code
Each engine runs in its own process (--repeat times), so wall time, CPU time and peak RSS are its own;
the results (written to Parquet after the timed part) must match: same rows, equal counts, floats equal
to 1e-9 relative. Prints JSON.

    .venv/bin/python bench/queue_kpis.py [--tickets 10000000 100000000] [--outlets 1000] [--repeat 1]
        [--memory-limit 4GB] [--threads 2] [--dir /tmp/branchops-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

KEYS = ["period_start", "interval_idx", "outlet_code"]
INTS = ["arrivals", "served", "transferred", "abandoned", "called", "wait_max", "overtime"]
FLOATS = ["abandon_rate", "wait_mean", "wait_median", "wait_p90", "overtime_ratio", "service_mean"]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_duckdb(root: str, start: date, end: date, memory_limit: str, threads: int, compact: bool = True):
    from branchops.queueing import kpis as K

    con = K.connect(memory_limit=memory_limit, threads=threads)
    return K.wait_kpis(root, start, end, grain="interval", con=con, compact=compact)


def run_duckdb_partitions(root: str, start: date, end: date, memory_limit: str, threads: int):
    return run_duckdb(root, start, end, memory_limit, threads, compact=False)


def ensure_compacts(root, months: list[str], threads: int) -> dict:
    """Build the month compacts the importer's roll-up refresh keeps (not timed with the KPIs)."""
    from branchops.queueing import kpis as K

    con = K.connect(threads=threads)
    t0, built = time.perf_counter(), 0
    for month in months:
        if not K.waits_fresh(root, month):
            K.build_waits(root, month, con)
            built += 1
    con.close()
    sizes = sum(os.path.getsize(K.waits_path(root, m)) for m in months if os.path.exists(K.waits_path(root, m)))
    return {"built": built, "seconds": round(time.perf_counter() - t0, 2), "bytes": sizes}


def run_pandas(root: str, start: date, end: date, memory_limit: str, threads: int):
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from branchops.queueing import kpis as K

    th = K.check_thresholds(None)
    cols = ["outlet_code", "ticket_date", "interval_idx", "customer_tier", "outcome", "wait_s", "service_s"]
    parts = []
    for month in K.months_between(start, end):  # month by month: bounded memory, groups never span months
        path = K.waits_path(root, month)
        if not os.path.exists(path):
            continue
        table = pq.read_table(path, columns=cols, read_dictionary=["outlet_code", "customer_tier", "outcome"])
        df = table.to_pandas(date_as_object=False)  # dates as datetime64, keys as categoricals
        del table

        wait = df["wait_s"].to_numpy(dtype=np.float64, na_value=np.nan)
        service = df["service_s"].to_numpy(dtype=np.float64, na_value=np.nan)
        tier_th = df["customer_tier"].map(th).astype("float64").fillna(th["regular"]).to_numpy()
        outcome = df["outcome"]
        frame = pd.DataFrame({
            "period_start": df["ticket_date"], "interval_idx": df["interval_idx"].astype(np.int16),
            "outlet_code": df["outlet_code"],
            "served": (outcome == "served").to_numpy(np.int64),
            "transferred": (outcome == "transferred").to_numpy(np.int64),
            "abandoned": (outcome == "abandoned").to_numpy(np.int64), "wait": wait,
            "over": (wait > tier_th).astype(np.int64), "service": service,
        })
        del df
        g = frame.groupby(KEYS, sort=True, observed=True)
        agg = g.agg(arrivals=("served", "size"), served=("served", "sum"), transferred=("transferred", "sum"),
                    abandoned=("abandoned", "sum"), called=("wait", "count"), wait_sum=("wait", "sum"),
                    wait_max=("wait", "max"), overtime=("over", "sum"), service_count=("service", "count"),
                    service_sum=("service", "sum"))
        q = g["wait"].quantile([0.5, 0.9], interpolation="linear").unstack()
        agg["wait_median"], agg["wait_p90"] = q[0.5], q[0.9]
        parts.append(agg)
        del frame, g
    out = pd.concat(parts).reset_index()
    called = out["called"].to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = pd.DataFrame({
            "period_start": out["period_start"], "interval_idx": out["interval_idx"].astype(np.int16),
            "outlet_code": out["outlet_code"],
            **{c: out[c].astype(np.int64)
               for c in ["arrivals", "served", "transferred", "abandoned", "called"]},
            "abandon_rate": out["abandoned"] / out["arrivals"],
            "wait_mean": np.where(called > 0, out["wait_sum"] / called, np.nan),
            "wait_median": out["wait_median"], "wait_p90": out["wait_p90"],
            "wait_max": out["wait_max"].astype("Int64"), "overtime": out["overtime"].astype(np.int64),
            "overtime_ratio": np.where(called > 0, out["overtime"] / called, np.nan),
            "service_mean": np.where(out["service_count"] > 0,
                                     out["service_sum"] / out["service_count"], np.nan),
        })
    table = pa.Table.from_pandas(res, preserve_index=False)
    table = table.set_column(0, "period_start", table.column("period_start").cast(pa.date32()))
    return table.set_column(2, "outlet_code", table.column("outlet_code").cast(pa.string()))


def child(engine: str, root: str, start: str, end: str, out: str, memory_limit: str, threads: int) -> None:
    import pyarrow.parquet as pq

    fn = {"duckdb": run_duckdb, "duckdb-partitions": run_duckdb_partitions, "pandas": run_pandas}[engine]
    base_rss = rss_mb()
    t0, c0 = time.perf_counter(), cpu_seconds()
    table = fn(root, date.fromisoformat(start), date.fromisoformat(end), memory_limit, threads)
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pq.write_table(table, out)  # not timed
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": round(peak, 1),
                      "rss_before_mb": round(base_rss, 1), "rows": table.num_rows}))


def compare(a_path: str, b_path: str) -> dict:
    import numpy as np
    import pyarrow.parquet as pq

    a, b = pq.read_table(a_path), pq.read_table(b_path)
    out = {"rows_a": a.num_rows, "rows_b": b.num_rows, "mismatches": {}}
    if a.num_rows != b.num_rows:
        out["match"] = False
        return out
    for c in KEYS:
        x, y = a.column(c).to_numpy(), b.column(c).to_numpy()
        if c == "outlet_code":
            x, y = x.astype(str), y.astype(str)
        if not np.array_equal(x, y):
            out["mismatches"][c] = int((x != y).sum())
    for c in INTS:
        x = a.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
        y = b.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
        if not np.array_equal(x, y, equal_nan=True):
            out["mismatches"][c] = int((~((x == y) | (np.isnan(x) & np.isnan(y)))).sum())
    for c in FLOATS:
        x = a.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
        y = b.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
        ok = np.isclose(x, y, rtol=1e-9, atol=0.0, equal_nan=True)
        if not ok.all():
            out["mismatches"][c] = int((~ok).sum())
    out["match"] = not out["mismatches"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--outlets", type=int, default=1000)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine (fresh process each)")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument("--engines", nargs="+", default=["duckdb", "pandas"],
                        choices=["duckdb", "duckdb-partitions", "pandas"],
                        help="duckdb-partitions: DuckDB on the per-outlet partition files, not the compact")
    parser.add_argument("--child", choices=["duckdb", "duckdb-partitions", "pandas"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--start", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.root, args.start, args.end, args.out, args.memory_limit, args.threads)
        return

    import ticketgen

    results = []
    tmp = tempfile.mkdtemp(prefix="queue-kpis-")
    for n in args.tickets:
        root, meta = ticketgen.ensure(args.dir or ticketgen.DEFAULT_DIR, n, args.outlets)
        compacts = ensure_compacts(root, meta["months"], args.threads)
        runs: dict[str, list[dict]] = {}
        outs = {}
        for rep in range(args.repeat):
            for engine in args.engines:
                out = os.path.join(tmp, f"{engine}-{n}.parquet")
                load = os.getloadavg()[0]
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", engine, "--root", str(root),
                     "--start", meta["start"], "--end", meta["end"], "--out", out,
                     "--memory-limit", args.memory_limit, "--threads", str(args.threads)],
                    capture_output=True, text=True, check=True)
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                r["loadavg_1m_before"] = round(load, 2)
                runs.setdefault(engine, []).append(r)
                outs[engine] = out
                print(f"{n} {engine} run {rep + 1}: {json.dumps(r)}", file=sys.stderr, flush=True)
        entry = {"tickets": meta["tickets"], "outlets": meta["outlets"], "days": meta["days"],
                 "files": len(meta["months"]) * meta["outlets"], "ticket_bytes": meta["ticket_bytes"],
                 "month_compacts": compacts}
        for engine, rs in runs.items():
            best = min(rs, key=lambda r: r["seconds"])
            entry[engine] = {
                "seconds": round(best["seconds"], 2), "seconds_all": [round(r["seconds"], 2) for r in rs],
                "cpu_seconds": round(best["cpu_seconds"], 2),
                "tickets_per_second": round(meta["tickets"] / best["seconds"]),
                "peak_rss_mb": best["peak_rss_mb"], "rss_before_mb": best["rss_before_mb"],
                "result_rows": best["rows"], "loadavg_1m_before": best["loadavg_1m_before"],
            }
        if "duckdb" in runs and "pandas" in runs:
            entry["results_match"] = compare(outs["duckdb"], outs["pandas"])
            entry["speedup"] = round(entry["pandas"]["seconds"] / entry["duckdb"]["seconds"], 2)
            entry["cpu_speedup"] = round(entry["pandas"]["cpu_seconds"] / entry["duckdb"]["cpu_seconds"], 2)
        if "duckdb" in entry:
            entry["duckdb_within_10s"] = entry["duckdb"]["seconds"] <= 10  # the target is for 100 M tickets
        results.append(entry)
    print(json.dumps({"benchmark": "queue_kpis", "grain": "outlet x day x half-hour", "cpus": os.cpu_count(),
                      "memory_limit": args.memory_limit, "threads": args.threads, "results": results},
                     indent=2))


if __name__ == "__main__":
    main()
