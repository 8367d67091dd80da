"""Synthetic queue-machine data for the queue benchmarks: N tickets over O outlets x D days.

Writes the store layout the importer produces (branchops.queueing.schema):
    {root}/tickets/month=YYYY-MM/outlet=<code>/data.parquet   TICKET_SCHEMA,
                                                              sorted (ticket_date, issued_at, ticket_no)
    {root}/devices/month=YYYY-MM/outlet=<code>/data.parquet   DEVICE_SCHEMA, sorted (start_at, device_id)
    {root}/outlets.parquet    outlet_code, cluster, sub_branch, branch (the org mapping the benches group by)
    {root}/meta.json          parameters and counts; written last, so its presence marks a complete store

The data set is cached: {dir}/t<N>-o<O>-d<D>-s<seed>/ is reused when meta.json is there.
Everything is NumPy, vectorised per month over all outlets; months are generated in parallel.

Distributions (seeded, so a store is reproducible):
  outlet size      lognormal (sigma 0.45); busier outlets get more counters (2..12)
  day              weekdays 1.0, Saturday 0.8, Sunday 0.6 of the mean arrivals
  issue time       08:30-17:00 with peaks around 10:00 and 14:30 and a lunch dip
  tier             regular 85 %, vip 12 %, private 3 %
  business type    8 types; queue type follows (cash / non_cash / vip / low_counter)
  wait             lognormal, median 8 min regular, 3 min vip, 2 min private, times an outlet
                   congestion factor and a time-of-day factor; capped at 4 h
  outcome          abandoned ~5 % (more likely the longer the wait; no called_at), transferred ~3 %
  service time     lognormal by business type (cash ~3 min, wealth ~20 min)
  devices          device transactions ~25 % of tickets (set --device-ratio)

    .venv/bin/python bench/ticketgen.py --tickets 10000000 [--outlets 1000] [--days N]
        [--dir /tmp/branchops-bench] [--force]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from branchops.queueing.schema import DEVICE_SCHEMA, TICKET_SCHEMA  # noqa: E402

DEFAULT_DIR = "/tmp/branchops-bench"
TICKETS_PER_OUTLET_DAY = 274  # 100 M tickets = 1,000 outlets x 365 days

TIERS = np.array(["regular", "vip", "private"])
TIER_P = np.array([0.85, 0.12, 0.03])
WAIT_MEDIAN = np.array([480.0, 180.0, 120.0])  # seconds, by tier
BUSINESS = np.array(["cash_deposit", "cash_withdrawal", "transfer", "card", "account_opening",
                     "wealth", "loan", "other"])
BUSINESS_P = np.array([0.20, 0.18, 0.15, 0.12, 0.08, 0.10, 0.05, 0.12])
SERVICE_MEDIAN = np.array([180.0, 180.0, 300.0, 420.0, 900.0, 1200.0, 1500.0, 300.0])
CASH = np.array([True, True, False, False, False, False, False, False])
QUEUES = np.array(["cash", "non_cash", "vip", "low_counter"])
QUEUE_LETTER = ("A", "B", "V", "D")
TXN_TYPES = np.array(["cash_deposit", "cash_withdrawal", "transfer", "card", "statement", "account_query"])
TXN_P = np.array([0.25, 0.30, 0.20, 0.10, 0.08, 0.07])
MAX_SEQ = 10_000

# Small dictionaries the string columns are taken from (fast: no per-row Python strings).
TICKET_NOS = pa.array([f"{q}{n:04d}" for q in QUEUE_LETTER for n in range(MAX_SEQ)])
COUNTERS = pa.array([f"C{c:02d}" for c in range(1, 13)])
TELLERS = pa.array([f"T{c:02d}" for c in range(1, 13)])
DEVICES = pa.array([f"D{c:02d}" for c in range(1, 13)])


def outlet_codes(n: int) -> list[str]:
    # Sub-branch (2 digits) + outlet (2 digits): 25 outlets per sub-branch, like the org tree.
    return [f"SZ{i // 25 + 1:02d}{i % 25 + 1:02d}" for i in range(n)]


def default_days(tickets: int, outlets: int) -> int:
    return max(1, math.ceil(tickets / (outlets * TICKETS_PER_OUTLET_DAY)))


def store_path(base: str | Path, tickets: int, outlets: int, days: int, seed: int) -> Path:
    return Path(base) / f"t{tickets}-o{outlets}-d{days}-s{seed}"


def _time_of_day() -> tuple[np.ndarray, np.ndarray]:
    """Per-minute issue-time density from 08:30 to 17:00: returns (cdf, relative load)."""
    minutes = np.arange(8 * 60 + 30, 17 * 60)
    m = minutes.astype(float)
    dens = (0.5 + 1.3 * np.exp(-0.5 * ((m - 600) / 55) ** 2) + 1.0 * np.exp(-0.5 * ((m - 870) / 60) ** 2)
            - 0.3 * np.exp(-0.5 * ((m - 750) / 25) ** 2))
    dens[m < 540] *= 0.4  # before opening only a few early tickets
    cdf = np.cumsum(dens) / dens.sum()
    return cdf, dens / dens.max()


def _outlets(outlets: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 0])
    size = rng.lognormal(0.0, 0.45, outlets)
    size /= size.mean()
    return {
        "size": size,
        "congestion": rng.lognormal(0.0, 0.35, outlets),
        "counters": np.clip(np.round(4 * size + rng.normal(0, 1, outlets)), 2, 12).astype(np.int64),
    }


def _day_factor(days: list[date]) -> np.ndarray:
    wd = np.array([d.weekday() for d in days])
    return np.where(wd == 5, 0.8, np.where(wd == 6, 0.6, 1.0))


def _ts(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(seconds, type=pa.int64(), mask=None if valid is None else ~valid)
    return arr.cast(pa.timestamp("s"))


def _write(table: pa.Table, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)  # same atomic replace as the importer
    return path.stat().st_size


def _write_by_outlet(table: pa.Table, outlet_idx: np.ndarray, codes: list[str], month_dir: Path) -> int:
    """One partition file per outlet of a table whose rows are ordered by outlet index; returns bytes."""
    bounds = np.searchsorted(outlet_idx, np.arange(len(codes) + 1))
    size = 0
    for i, code in enumerate(codes):
        if bounds[i + 1] > bounds[i]:
            part = table.slice(bounds[i], bounds[i + 1] - bounds[i])
            size += _write(part, month_dir / f"outlet={code}" / "data.parquet")
    return size


def gen_month(job: dict) -> dict:
    """Generate and write one month for all outlets. Returns counts and bytes written."""
    root = Path(job["root"])
    days = [date.fromisoformat(d) for d in job["days"]]
    codes = outlet_codes(job["outlets"])
    orgs = _outlets(job["outlets"], job["seed"])
    rng = np.random.default_rng([job["seed"], 1, days[0].toordinal()])
    cdf, load = _time_of_day()
    n_out, n_day = len(codes), len(days)
    month = days[0].strftime("%Y-%m")

    # Arrivals per outlet x day (outlet-major, so each outlet's rows end up contiguous).
    lam = job["lam"] * orgs["size"][:, None] * _day_factor(days)[None, :]
    counts = rng.poisson(lam).ravel()
    n = int(counts.sum())
    od = np.repeat(np.arange(n_out * n_day), counts)
    o = od // n_day
    d = od % n_day
    minute = np.searchsorted(cdf, rng.random(n))
    sec = (8 * 60 + 30 + minute) * 60 + rng.integers(0, 60, n)

    tier = rng.choice(3, n, p=TIER_P)
    btype = rng.choice(len(BUSINESS), n, p=BUSINESS_P)
    queue = np.where(tier > 0, np.where(rng.random(n) < 0.8, 2, 1), np.where(CASH[btype], 0, 1))
    queue = np.where((tier == 0) & (rng.random(n) < 0.05), 3, queue)

    # Order by outlet, day, issue second; then number tickets per queue in issue order.
    order = np.argsort(od.astype(np.int64) * 86400 + sec, kind="stable")
    od, o, d, sec, tier, btype, queue = (a[order] for a in (od, o, d, sec, tier, btype, queue))
    gq = od.astype(np.int64) * 4 + queue
    by_q = np.argsort(gq, kind="stable")
    gq_sorted = gq[by_q]
    starts = np.r_[0, np.flatnonzero(np.diff(gq_sorted)) + 1]
    run = np.repeat(starts, np.diff(np.r_[starts, n]))
    seq = np.empty(n, np.int64)
    seq[by_q] = np.arange(n) - run + 1
    seq = np.minimum(seq, MAX_SEQ - 1)
    ticket_code = queue * MAX_SEQ + seq
    # Final sort key (outlet, day, issue second, ticket_no) = the storage order.
    order = np.argsort((od.astype(np.int64) * 86400 + sec) * (4 * MAX_SEQ) + ticket_code, kind="stable")
    od, o, d, sec, tier, btype, queue, ticket_code = (
        a[order] for a in (od, o, d, sec, tier, btype, queue, ticket_code))

    tod = load[np.clip(sec // 60 - (8 * 60 + 30), 0, len(load) - 1)]
    wait = rng.lognormal(np.log(WAIT_MEDIAN[tier] * orgs["congestion"][o] * (0.6 + 0.8 * tod)), 0.8)
    wait = np.minimum(np.round(wait), 4 * 3600).astype(np.int64)
    p_abandon = 0.02 + 0.12 * (1 - np.exp(-wait / 1800.0))
    u = rng.random(n)
    outcome = np.where(u < p_abandon, 1, np.where(u > 0.97, 2, 0))  # 0 served, 1 abandoned, 2 transferred
    called = outcome != 1
    service = rng.lognormal(np.log(SERVICE_MEDIAN[btype]), 0.5)
    service = np.where(outcome == 2, rng.integers(60, 240, n), np.clip(np.round(service), 20, 5400))
    service = service.astype(np.int64)

    day_epoch = np.array([(x - date(1970, 1, 1)).days * 86400 for x in days], np.int64)
    issued = day_epoch[d] + sec
    called_at = issued + wait
    start = called_at + rng.integers(5, 60, n)
    end = start + service
    counter = (rng.random(n) * orgs["counters"][o]).astype(np.int64)

    outlet_arr = pa.array(codes).take(pa.array(o))
    table = pa.Table.from_arrays(
        [
            outlet_arr,
            pa.array(day_epoch[d] // 86400, pa.int64()).cast(pa.int32()).cast(pa.date32()),
            TICKET_NOS.take(pa.array(ticket_code)),
            pa.array(BUSINESS).take(pa.array(btype)),
            pa.array(TIERS).take(pa.array(tier)),
            pa.array(QUEUES).take(pa.array(queue)),
            _ts(issued),
            _ts(called_at, called),
            _ts(start, called),
            _ts(end, called),
            pc.if_else(pa.array(called), COUNTERS.take(pa.array(counter)), pa.scalar(None, pa.string())),
            pc.if_else(pa.array(called), TELLERS.take(pa.array(counter)), pa.scalar(None, pa.string())),
            pa.array(np.array(["served", "abandoned", "transferred"])).take(pa.array(outcome)),
        ],
        schema=TICKET_SCHEMA,
    )
    size = _write_by_outlet(table, o, codes, root / "tickets" / f"month={month}")
    del table

    # Device transactions (self-service kiosks and ATMs): same daily shape, no queue.
    dlam = job["lam"] * job["device_ratio"] * orgs["size"][:, None] * _day_factor(days)[None, :]
    dcounts = rng.poisson(dlam).ravel()
    m = int(dcounts.sum())
    dod = np.repeat(np.arange(n_out * n_day), dcounts)
    dsec = (8 * 60 + 30 + np.searchsorted(cdf, rng.random(m))) * 60 + rng.integers(0, 60, m)
    dev = rng.integers(0, 8, m)
    order = np.lexsort((dev, dod.astype(np.int64) * 86400 + dsec))
    dod, dsec, dev = dod[order], dsec[order], dev[order]
    do = dod // n_day
    dstart = day_epoch[dod % n_day] + dsec
    dur = np.clip(np.round(rng.lognormal(np.log(90.0), 0.6, m)), 10, 1800).astype(np.int64)
    dtable = pa.Table.from_arrays(
        [
            DEVICES.take(pa.array(dev)),
            pa.array(codes).take(pa.array(do)),
            pa.array(TXN_TYPES).take(pa.array(rng.choice(len(TXN_TYPES), m, p=TXN_P))),
            _ts(dstart),
            _ts(dstart + dur),
        ],
        schema=DEVICE_SCHEMA,
    )
    dsize = _write_by_outlet(dtable, do, codes, root / "devices" / f"month={month}")
    return {"month": month, "tickets": n, "devices": m, "ticket_bytes": size, "device_bytes": dsize}


def generate(root: Path, tickets: int, outlets: int, days: int, start: date, seed: int,
             device_ratio: float = 0.25, workers: int = 2) -> dict:
    t0 = time.perf_counter()
    all_days = [start + timedelta(i) for i in range(days)]
    orgs = _outlets(outlets, seed)
    lam = tickets / (orgs["size"].sum() * _day_factor(all_days).sum())
    months: dict[str, list[str]] = {}
    for day in all_days:
        months.setdefault(day.strftime("%Y-%m"), []).append(day.isoformat())
    jobs = [{"root": str(root), "days": ds, "outlets": outlets, "seed": seed, "lam": lam,
             "device_ratio": device_ratio} for ds in months.values()]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(gen_month, jobs))
    else:
        parts = [gen_month(j) for j in jobs]
    codes = outlet_codes(outlets)
    mapping = pa.table({
        "outlet_code": codes,
        "cluster": [f"{c[:4]}-K{(int(c[4:]) - 1) // 5 + 1}" for c in codes],  # clusters of 5 outlets
        "sub_branch": [c[:4] for c in codes],
        "branch": ["SZ"] * len(codes),
    })
    pq.write_table(mapping, root / "outlets.parquet")
    meta = {
        "tickets_requested": tickets, "outlets": outlets, "days": days, "start": start.isoformat(),
        "end": all_days[-1].isoformat(), "seed": seed, "device_ratio": device_ratio,
        "tickets": sum(p["tickets"] for p in parts), "devices": sum(p["devices"] for p in parts),
        "ticket_bytes": sum(p["ticket_bytes"] for p in parts),
        "device_bytes": sum(p["device_bytes"] for p in parts),
        "months": sorted(months), "generate_seconds": round(time.perf_counter() - t0, 1),
    }
    (root / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def ensure(base: str | Path = DEFAULT_DIR, tickets: int = 10_000_000, outlets: int = 1000,
           days: int | None = None, start: date = date(2025, 1, 1), seed: int = 7,
           device_ratio: float = 0.25, workers: int = 2, force: bool = False) -> tuple[Path, dict]:
    """Return (root, meta) of the cached store, generating it first if missing."""
    days = days or default_days(tickets, outlets)
    root = store_path(base, tickets, outlets, days, seed)
    marker = root / "meta.json"
    if marker.exists() and not force:
        return root, json.loads(marker.read_text())
    if root.exists():
        import shutil

        shutil.rmtree(root)
    root.mkdir(parents=True)
    return root, generate(root, tickets, outlets, days, start, seed, device_ratio, workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000_000)
    parser.add_argument("--outlets", type=int, default=1000)
    parser.add_argument("--days", type=int, default=None, help="default: tickets / (outlets x 274)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--device-ratio", type=float, default=0.25)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", default=DEFAULT_DIR)
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args()
    root, meta = ensure(args.dir, args.tickets, args.outlets, args.days, args.start, args.seed,
                        args.device_ratio, args.workers, args.force)
    print(json.dumps({"root": str(root), **meta}, indent=2))


if __name__ == "__main__":
    main()
