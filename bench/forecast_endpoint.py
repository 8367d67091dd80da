"""Benchmark: the outlet forecast endpoint's work on demo-sized data, cold and warm.

``GET /api/v1/queueing/outlets/{code}/forecast`` reads 16 weeks of one outlet's half-hour arrivals from
the roll-ups (``rollup.rollup_kpis``, grain interval) and runs ``forecast.forecast_arrivals`` for two
weeks. This bench stores a demo-sized outlet (the demo's simulator, 20 weeks, one outlet, the importer
and the roll-up refresh) and times that work in fresh processes:
  cold      a new worker's first forecast: statsforecast not yet imported
  warmed    the first forecast after ``wsgi.py``'s warm-up has imported statsforecast (what it buys)
  warm      the next forecasts in the same process (median of --repeat)
plus the statsforecast import alone. Database, authorisation and JSON are left out (milliseconds).
Prints JSON.

    .venv/bin/python bench/forecast_endpoint.py [--weeks 20] [--repeat 5] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

START = date(2026, 3, 2)  # a Monday
CODE = "SZ0101"


def build(root: Path, weeks: int) -> None:
    from branchops.queueing import rollup, simulate, store

    results = list(simulate.generate_logs(1, weeks * 7, 7, start_date=START, outlet_codes=[CODE],
                                          patterns=["peak_queueing"]))
    csv = root / "tickets.csv"
    simulate.write_csv([r.tickets for r in results], csv)
    summary = store.import_ticket_files([csv], root / "store", None)
    rollup.refresh(root / "store", summary.partitions)


def forecast_once(root: Path, weeks: int) -> float:
    import pandas as pd

    from branchops.queueing import forecast, rollup

    t = time.perf_counter()
    start = START + timedelta(weeks=weeks - 2)
    first = start - timedelta(weeks=16)
    rows = [r for r in rollup.rollup_kpis(root / "store", first, start - timedelta(days=1), grain="interval",
                                          outlets=[CODE]).to_pylist() if r["arrivals"]]
    history = pd.DataFrame({"outlet_code": CODE, "date": pd.to_datetime([r["period_start"] for r in rows]),
                            "interval": [r["interval_idx"] for r in rows], "arrivals": [r["arrivals"] for r in rows]})
    forecast.forecast_arrivals(history, start, horizon_weeks=2, paydays=(10, 25))
    return time.perf_counter() - t


def child(root: Path, weeks: int, repeat: int, prewarm: bool) -> dict:
    out = {}
    if prewarm:
        t = time.perf_counter()
        import statsforecast.models  # noqa: F401  (what wsgi.py's warm-up thread does)

        out["statsforecast_import"] = round(time.perf_counter() - t, 3)
    out["first"] = round(forecast_once(root, weeks), 3)
    out["next_median"] = round(statistics.median(forecast_once(root, weeks) for _ in range(repeat)), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--child", choices=["cold", "warmed"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.dir), args.weeks, args.repeat, args.child == "warmed")))
        return
    root = Path(args.dir or tempfile.mkdtemp(prefix="branchops-forecast-"))
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "store").exists():
        build(root, args.weeks)
    runs = {}
    for mode in ("cold", "warmed"):
        res = subprocess.run([sys.executable, __file__, "--child", mode, "--dir", str(root), "--weeks",
                              str(args.weeks), "--repeat", str(args.repeat)], capture_output=True, text=True,
                             check=True)
        runs[mode] = json.loads(res.stdout.strip().splitlines()[-1])
    print(json.dumps({"weeks_of_data": args.weeks, "load_average": os.getloadavg(),
                      "cold_first_seconds": runs["cold"]["first"],
                      "warmed_import_seconds": runs["warmed"]["statsforecast_import"],
                      "warmed_first_seconds": runs["warmed"]["first"],
                      "warm_next_median_seconds": runs["cold"]["next_median"]}, indent=2))


if __name__ == "__main__":
    main()
