"""Benchmark: validating import of queue-machine ticket logs into the partitioned Parquet store.

Generates (once, cached) a CSV of N realistic-looking tickets — 200 outlets, the working days of
Jan–Mar 2026, ~0.1 % bad rows of every kind plus some recall rows — then times
`import_ticket_files` into a fresh store and compares it with a naive baseline:
  store     — BranchOps: pyarrow.csv multithreaded read, vectorised validation (pyarrow.compute/numpy),
              one sorted Parquet file per (month, outlet), written atomically by two threads
  baseline  — csv.DictReader with per-row validation in Python, then the same Parquet writes, run on
              a sample and extrapolated to N rows
Both must reject the same rows of the sample. Prints JSON.

    .venv/bin/python bench/queue_import.py [--rows 10000000] [--dir /tmp/branchops-queue-bench]
"""

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from branchops.queueing.schema import (  # noqa: E402
    CUSTOMER_TIERS,
    OUTCOMES,
    QUEUE_TYPES,
    TICKET_COLUMNS,
    TICKET_SCHEMA,
)

OUTLETS = [f"SZ{s:02d}{o:02d}" for s in range(1, 41) for o in range(1, 6)]  # 200 outlets
HOLIDAYS = ["2026-01-01", "2026-01-02", *[f"2026-02-{d}" for d in range(16, 24)]]
BUSINESS = ["deposit", "withdrawal", "transfer", "account_opening", "card", "wealth", "fx", "loan"]
BAD_KINDS = ("unknown_outlet", "times_out_of_order", "missing_field", "bad_value", "date_mismatch",
             "duplicate_ticket")


def _strings(values: np.ndarray, choices: list[str]) -> pa.Array:
    return pa.array(choices).take(pa.array(values))


def _times(seconds: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(seconds.astype("datetime64[s]"), type=pa.timestamp("s"), mask=null)
    return pc.replace_substring(arr.cast(pa.string()), " ", "T")  # pc.strftime is ~50x slower


def generate_csv(path: Path, n_rows: int, seed: int = 7, bad_share: float = 0.001,
                 recall_share: float = 0.0005) -> dict:
    """Write n_rows tickets to path; returns what the import must find (rejected rows, recalls)."""
    rng = np.random.default_rng(seed)
    days = np.arange(np.datetime64("2026-01-01"), np.datetime64("2026-04-01"))
    days = days[np.is_busday(days, holidays=HOLIDAYS)]
    n_out = len(OUTLETS)
    n_dup = int(n_rows * bad_share / len(BAD_KINDS))
    n_recall = int(n_rows * recall_share)
    n_base = n_rows - n_dup - n_recall
    blocks = len(days) * n_out
    # Rows spread evenly over (day, outlet) blocks; the file is ordered by day then outlet, as a
    # branch-wide export would be, so the store has to regroup by outlet.
    block = (np.arange(n_base, dtype=np.int64) * blocks) // n_base
    seq = np.arange(n_base) - np.searchsorted(block, block) + 1
    day_idx, out_idx = block // n_out, block % n_out
    offs = rng.integers(0, 8 * 3600, n_base)
    offs = np.sort(block * 2**20 + offs) & (2**20 - 1)  # sorted within each block: numbers follow time
    day_s = days[day_idx].astype("datetime64[s]").astype(np.int64)
    issued = day_s + 9 * 3600 + offs
    called = issued + 5 + rng.exponential(480, n_base).astype(np.int64)
    start = called + rng.integers(5, 60, n_base)
    end = start + 30 + rng.exponential(360, n_base).astype(np.int64)
    outcome = rng.choice(3, n_base, p=[0.9, 0.07, 0.03])
    tier = rng.choice(3, n_base, p=[0.85, 0.12, 0.03])
    queue = np.where(tier > 0, 2, rng.choice([0, 1, 3], n_base, p=[0.5, 0.44, 0.06]))
    business = rng.integers(0, len(BUSINESS), n_base)
    counter = rng.integers(1, 9, n_base)
    date_days = day_s // 86400

    # Bad rows (a few of every kind) and recall/duplicate copies, all from distinct served tickets.
    served = np.flatnonzero(outcome == 0)
    picked = rng.choice(served, n_dup * len(BAD_KINDS) + n_recall, replace=False)
    kinds = np.split(picked[: n_dup * (len(BAD_KINDS) - 1)], len(BAD_KINDS) - 1)
    dup_src = picked[n_dup * (len(BAD_KINDS) - 1): n_dup * len(BAD_KINDS)]
    recall_src = picked[n_dup * len(BAD_KINDS):]
    out_idx[kinds[0]] = n_out  # ZZ9999, not a known outlet
    start[kinds[1]], end[kinds[1]] = end[kinds[1]], start[kinds[1]].copy()
    business_null = np.zeros(n_base, bool)
    business_null[kinds[2]] = True
    tier[kinds[3]] = 3  # "gold"
    date_days[kinds[4]] += 1

    src = np.concatenate([np.arange(n_base), dup_src, recall_src])
    order = np.argsort(np.concatenate([np.arange(n_base), dup_src + 0.5, recall_src + 0.25]), kind="stable")
    take = src[order]
    called = called[take]
    is_recall = np.zeros(len(src), bool)
    is_recall[n_base + n_dup:] = True
    is_recall = is_recall[order]
    # the no-show call came a few minutes earlier than the call that counts
    earlier = called[is_recall] - rng.integers(60, 300, n_recall)
    called[is_recall] = np.maximum(issued[take][is_recall], earlier)
    abandoned = outcome[take] == 1
    teller = out_idx[take] * 10 + counter[take]
    letters = np.array(["A", "B", "V", "D"])[queue[take]]
    ticket_no = pc.binary_join_element_wise(
        pa.array(letters), pc.utf8_lpad(pc.cast(pa.array(seq[take]), pa.string()), 4, "0"), "")
    table = pa.table({
        "outlet_code": _strings(out_idx[take], [*OUTLETS, "ZZ9999"]),
        "ticket_date": pc.cast(pa.array(date_days[take].astype("datetime64[D]")), pa.string()),
        "ticket_no": ticket_no,
        "business_type": pc.if_else(pa.array(business_null[take]), None, _strings(business[take], BUSINESS)),
        "customer_tier": _strings(tier[take], [*CUSTOMER_TIERS, "gold"]),
        "queue_type": _strings(queue[take], list(QUEUE_TYPES)),
        "issued_at": _times(issued[take]),
        "called_at": _times(called, abandoned),
        "service_start_at": _times(start[take], abandoned),
        "service_end_at": _times(end[take], abandoned),
        "counter_no": pa.array(counter[take], mask=abandoned).cast(pa.string()),
        "teller_no": pc.binary_join_element_wise(
            "T", pc.utf8_lpad(pa.array(teller, mask=abandoned).cast(pa.string()), 5, "0"), ""),
        "outcome": _strings(outcome[take], list(OUTCOMES)),
    })
    assert tuple(table.column_names) == TICKET_COLUMNS
    tmp = path.with_suffix(".tmp")
    pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="none", quoting_header="none"))
    os.replace(tmp, path)
    return {"rows": len(src), "bad_rows": n_dup * len(BAD_KINDS), "recalls": n_recall}


# ------------------------------------------------------------------------------------------ baseline


def _naive_errors(rec: dict, known: set[str]) -> int:
    """Per-row checks in plain Python, the way a first implementation would write them."""
    errors = 0

    def when(value):
        if not value:
            return None
        if len(value) != 19:
            raise ValueError(value)
        return datetime.fromisoformat(value)

    v = {k: (x or "").strip() for k, x in rec.items()}
    for c in ("outlet_code", "ticket_date", "ticket_no", "business_type", "customer_tier", "queue_type",
              "issued_at", "outcome"):
        errors += not v[c]
    called = v["outcome"] in ("served", "transferred")
    for c in ("called_at", "service_start_at", "service_end_at", "counter_no"):
        errors += called and not v[c]
    errors += bool(v["customer_tier"]) and v["customer_tier"].lower() not in CUSTOMER_TIERS
    errors += bool(v["queue_type"]) and v["queue_type"].lower() not in QUEUE_TYPES
    errors += bool(v["outcome"]) and v["outcome"].lower() not in OUTCOMES
    errors += bool(v["outlet_code"]) and v["outlet_code"] not in known
    times = {}
    for c in ("issued_at", "called_at", "service_start_at", "service_end_at"):
        try:
            times[c] = when(v[c])
        except ValueError:
            times[c], errors = None, errors + 1
    try:
        day = date.fromisoformat(v["ticket_date"]) if v["ticket_date"] else None
    except ValueError:
        day, errors = None, errors + 1
    if v["outcome"] == "abandoned":
        errors += sum(bool(v[c]) for c in ("called_at", "service_start_at", "service_end_at"))
    errors += bool(day and times["issued_at"] and times["issued_at"].date() != day)
    prev = times["issued_at"]
    for c in ("called_at", "service_start_at", "service_end_at"):
        if times[c] and prev and times[c] < prev:
            errors += 1
        prev = times[c] or prev
    return errors


def naive_import(path: Path, n_rows: int, known: set[str], root: Path) -> dict:
    """csv.DictReader, per-row validation, dicts for recalls/duplicates, then per-partition Parquet writes."""
    t0 = time.perf_counter()
    rejected: set[int] = set()
    calls_seen: dict[tuple, int] = {}
    idents: dict[tuple, tuple] = {}
    kept: dict[tuple, tuple[str, dict]] = {}
    recalls = 0
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for line, rec in enumerate(csv.DictReader(fh), start=2):
            if line - 1 > n_rows:
                break
            if _naive_errors(rec, known):
                rejected.add(line)
                continue
            # the store's key: (outlet, day, number, issue time); another tier/business/queue type is a conflict
            key = (rec["outlet_code"], rec["ticket_date"], rec["ticket_no"], rec["issued_at"])
            ident = (rec["customer_tier"], rec["business_type"], rec["queue_type"])
            if idents.setdefault(key, ident) != ident:
                rejected.add(line)  # conflicting ticket
                continue
            call = rec["called_at"] or ""
            if (key, call) in calls_seen:
                rejected.add(line)  # duplicate ticket
                continue
            calls_seen[key, call] = line
            if key in kept:
                recalls += 1
                if call <= kept[key][0]:
                    continue
            kept[key] = (call, rec)
    parts: dict[tuple[str, str], list[dict]] = {}
    for (outlet, day, _, _), (_, rec) in kept.items():
        row = {c: rec[c] or None for c in TICKET_COLUMNS}
        row["ticket_date"] = date.fromisoformat(day)
        for c in ("issued_at", "called_at", "service_start_at", "service_end_at"):
            row[c] = datetime.fromisoformat(row[c]) if row[c] else None
        for c in ("customer_tier", "queue_type", "outcome"):
            row[c] = row[c].lower()
        parts.setdefault((day[:7], outlet), []).append(row)
    for (month, outlet), rows in parts.items():
        rows.sort(key=lambda r: (r["ticket_date"], r["issued_at"], r["ticket_no"]))
        target = root / "tickets" / f"month={month}" / f"outlet={outlet}"
        target.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=TICKET_SCHEMA), target / "data.parquet")
    return {"seconds": time.perf_counter() - t0, "rejected_lines": rejected, "recalls": recalls,
            "added": sum(len(r) for r in parts.values())}


# ------------------------------------------------------------------------------------------ main


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "branchops-queue-bench"),
                        help="cache directory for the generated CSV and the throw-away stores")
    parser.add_argument("--sample", type=int, default=200_000, help="rows for the baseline (extrapolated)")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    cache = Path(args.dir)
    cache.mkdir(parents=True, exist_ok=True)
    csv_path = cache / f"tickets-{args.rows}.csv"
    if args.generate_only:
        expected = generate_csv(csv_path, args.rows)
        (cache / f"tickets-{args.rows}.json").write_text(json.dumps(expected))
        return
    generated_s = None
    if not csv_path.exists():
        # In a child process, so this process' peak RSS is the import's alone.
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--dir", str(cache),
                        "--generate-only"], check=True)
        generated_s = round(time.perf_counter() - t, 1)
    expected = json.loads((cache / f"tickets-{args.rows}.json").read_text())

    from branchops.queueing.store import import_ticket_files

    known = set(OUTLETS)
    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="store-", dir=cache))
    try:
        phases: list[tuple[float, int]] = []
        t0, c0 = time.perf_counter(), _cpu_seconds()
        summary = import_ticket_files([csv_path], root, known,
                                      progress_callback=lambda done, total: phases.append(
                                          (time.perf_counter() - t0, done)))
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        n_files = sum(1 for _ in (root / "tickets").glob("*/*/data.parquet"))
        store_mb = sum(f.stat().st_size for f in (root / "tickets").glob("*/*/data.parquet")) / 2**20
        t_again = time.perf_counter()
        again = import_ticket_files([csv_path], root, known)
        reimport_s = time.perf_counter() - t_again
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load_after = os.getloadavg()
    assert summary.rows_read == expected["rows"], (summary.rows_read, expected)
    assert summary.rejected == expected["bad_rows"] and summary.recalls == expected["recalls"], summary
    assert (again.added, again.already_stored) == (0, summary.added)

    # Baseline on a sample, and the store on the same sample: same rows rejected.
    sample = min(args.sample, args.rows)
    sample_path = cache / f"sample-{args.rows}-{sample}.csv"
    if not sample_path.exists():
        with open(csv_path, newline="") as src, open(sample_path, "w", newline="") as dst:
            for i, line in enumerate(src):
                if i > sample:
                    break
                dst.write(line)
    roots = [Path(tempfile.mkdtemp(prefix="sample-", dir=cache)) for _ in range(2)]
    try:
        naive = naive_import(sample_path, sample, known, roots[0])
        t = time.perf_counter()
        fast = import_ticket_files([sample_path], roots[1], known, max_errors=None)
        fast_sample_s = time.perf_counter() - t
    finally:
        for r in roots:
            shutil.rmtree(r, ignore_errors=True)
    fast_rejected = {e.line for e in fast.files[0].errors}
    naive_full_s = naive["seconds"] * args.rows / sample

    print(json.dumps({
        "benchmark": "queue_import",
        "rows": summary.rows_read,
        "csv_mb": round(csv_path.stat().st_size / 2**20, 1),
        "generated_seconds": generated_s,
        "cpus": os.cpu_count(),
        "load_avg_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "store": {
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
            "rows_per_s": round(summary.rows_read / seconds),
            "peak_rss_mb": round(peak_rss_mb),
            # from the progress callback: first call after the read, second after validation
            "read_seconds": round(phases[0][0], 2),
            "validate_seconds": round(phases[1][0] - phases[0][0], 2),
            "append_seconds": round(seconds - phases[1][0], 2),
            "rejected": summary.rejected,
            "errors": summary.error_count,
            "recalls": summary.recalls,
            "added": summary.added,
            "partition_files": n_files,
            "store_mb": round(store_mb, 1),
            "reimport_seconds": round(reimport_s, 2),
            "target_seconds": 60,
            "within_target": seconds <= 60,
        },
        "baseline": {
            "method": "csv.DictReader + per-row Python validation + per-partition Parquet writes",
            "sample_rows": sample,
            "sample_seconds": round(naive["seconds"], 2),
            "extrapolated_seconds": round(naive_full_s, 1),
            "rows_per_s": round(sample / naive["seconds"]),
            "store_on_sample_seconds": round(fast_sample_s, 2),
            "same_rejected_rows": (naive["rejected_lines"] == fast_rejected
                                   and naive["recalls"] == fast.recalls),
        },
        "speedup_vs_baseline": round(naive_full_s / seconds, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
