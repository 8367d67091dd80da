"""Benchmark: the same KPI SQL on DuckDB and on Spark, on the same Parquet store (issue 16).

On the synthetic store of bench/ticketgen.py (cached under --dir) runs, for the whole period:
  wait   exact wait KPIs per outlet x day (kpis.wait_sql; DuckDB over the partition files, as Spark reads
         them, and DuckDB over the month compacts as the product does)
  ops    counter / queue / device KPIs per outlet x day (kpis.ops_sql)
on DuckDB (``kpis.DUCKDB``) and on a local Spark session (``kpis.SPARK``, ``local[--cores]``), checks the
rows are equal (keys and counts exactly, floats to 1e-9 relative) and prints the times as JSON, with the
Spark session's start-up apart. Needs requirements-spark.txt and Java 17.

    .venv/bin/python bench/spark_kpis.py [--tickets 1000000] [--outlets 100] [--cores 2] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t, 3)


def equal(spark_rows: list[dict], duck_rows: list[dict]) -> bool:
    if len(spark_rows) != len(duck_rows):
        return False
    for got, want in zip(spark_rows, duck_rows, strict=True):
        for name, value in want.items():
            other = got.get(name)
            if isinstance(value, float) or isinstance(other, float):
                if value is None or other is None:
                    if value is not other:
                        return False
                elif not math.isclose(other, value, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif other != value:
                return False
    return True


def main() -> None:
    import ticketgen

    from branchops.queueing import kpis as K
    from branchops.queueing import spark as S

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--outlets", type=int, default=100)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()

    root, meta = ticketgen.ensure(args.dir or ticketgen.DEFAULT_DIR, args.tickets, args.outlets)
    start, end = date.fromisoformat(meta["start"]), date.fromisoformat(meta["end"])
    for month in meta["months"]:
        if not K.waits_fresh(root, month):
            K.build_waits(root, month)

    con = K.connect(threads=args.cores)
    duck = {}
    duck["wait_partitions"] = timed(lambda: K.wait_kpis(root, start, end, grain="day", con=con,
                                                        compact=False).to_pylist())
    duck["wait_compact"] = timed(lambda: K.wait_kpis(root, start, end, grain="day", con=con).to_pylist())
    duck["ops"] = timed(lambda: K.ops_kpis(root, start, end, grain="day", con=con).to_pylist())
    con.close()

    session, startup = timed(lambda: S.local_session("branchops-bench", cores=args.cores))
    _, register = timed(lambda: S.register_store(session, root))
    spark = {}
    spark["wait"] = timed(lambda: S.wait_kpis(session, root, start, end, grain="day"))
    spark["ops"] = timed(lambda: S.ops_kpis(session, root, start, end, grain="day"))
    session.stop()

    print(json.dumps({
        "tickets": meta["tickets"], "outlets": meta["outlets"], "days": meta["days"],
        "months": len(meta["months"]), "cores": args.cores, "load_average": os.getloadavg(),
        "duckdb_seconds": {"wait_partitions": duck["wait_partitions"][1], "wait_compact": duck["wait_compact"][1],
                           "ops": duck["ops"][1]},
        "spark_seconds": {"session_start": startup, "register_store": register, "wait": spark["wait"][1],
                          "ops": spark["ops"][1]},
        "rows": {"wait": len(duck["wait_partitions"][0]), "ops": len(duck["ops"][0])},
        "equal": {"wait": equal(spark["wait"][0], duck["wait_partitions"][0]),
                  "wait_compact": equal(spark["wait"][0], duck["wait_compact"][0]),
                  "ops": equal(spark["ops"][0], duck["ops"][0])},
    }, indent=2))


if __name__ == "__main__":
    main()
