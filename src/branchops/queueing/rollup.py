"""Queue KPI roll-ups: small pre-aggregated tables kept in step with the ticket store at import.

Pure module (no Django import). The dashboards and the API answer from these; ``kpis`` answers the
same questions exactly from the raw tickets (definitions are in its docstring and apply here).

Tables (Parquet, written atomically with os.replace):
  per (month, outlet) partition, rewritten by ``refresh`` for each touched partition
    {root}/rollup/month=YYYY-MM/outlet=<code>/data.parquet        "detail"
        one row per outlet x day x interval x business_type x customer_tier: arrivals, served,
        transferred, abandoned, called, wait_sum, service_count, service_sum, wait_max and the wait
        histogram in 121 one-minute bins, stored sparse as two aligned lists (hist_bins ascending,
        hist_counts; empty bins left out): bin 0 counts waits <= 60 s, bin k waits in
        (60k, 60k + 60] s, bin 120 waits > 7200 s (overflow).
    {root}/rollup_ops/month=YYYY-MM/outlet=<code>/data.parquet    "ops"
        one row per outlet x day x interval with tickets, service, a queue or devices:
        counters_open, busy_seconds, peak_queue, device_txns, and the served tickets per business
        type as two aligned lists (served_types, served_counts) for device migration rates.
  per month, all outlets (compacts for branch-wide questions), rebuilt by the same refresh
    {root}/ticket_waits/month=YYYY-MM/data.parquet    the month's tickets for exact KPIs (kpis.build_waits)
    {root}/rollup_day/month=YYYY-MM/data.parquet      outlet x day x business_type x customer_tier
    {root}/rollup_month/month=YYYY-MM/data.parquet    outlet x month x business_type x customer_tier
    {root}/rollup_month_tier/month=YYYY-MM/data.parquet  outlet x month x customer_tier (branch-wide
                                                      rankings and trends read the least from it)
    {root}/rollup_ops_day/month=YYYY-MM/data.parquet  outlet x day (counters_open = counter-intervals)
    {root}/rollup_ops_month/month=YYYY-MM/data.parquet  outlet x month
    {root}/rollup_month_all/month=YYYY-MM/data.parquet, {root}/rollup_ops_month_all/...
        the month summed over all its outlets (by tier; ops), the outlets named in the footer: a
        whole-branch trend reads a few rows when the branch's outlets are all the store holds

Accuracy: counts, sums, means, utilisation, peak queue, migration rate and the overtime-wait ratio
are exact: a wait exceeds a threshold of m whole minutes (1..120) exactly when it falls in bin m or
above. Median and P90 come from the histogram: each rank is placed inside its bin as if the bin's
waits were spread evenly, the top rank is the group's longest wait (kept exactly), and the two ranks
are interpolated linearly as quantile_cont does, so they are within one minute of the exact figure
when the ranks involved are waits up to 120 minutes; in the overflow bin an estimate lies between
7200 s and the group's longest wait.

Building: ``refresh`` runs DuckDB over the touched partitions (per-key-and-bin counts, the ops SQL of
``kpis``) and NumPy to shape the rows; BATCH_OUTLETS partitions per query bound its memory.

Reading: the roll-up questions are answered with PyArrow + NumPy (filtered Parquet reads, one sort
per question), not SQL: on roll-up sized inputs planning a query would cost more than answering it.

Concurrency: a refresh of a month holds an exclusive lock file ({root}/rollup/.locks/YYYY-MM.lock)
while it reads the partitions, writes their roll-ups and updates the month's compacts, so parallel
imports of the same month serialise and the compacts always reflect the last completed refresh.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import fcntl
import os
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from branchops.queueing import kpis as K
from branchops.queueing.schema import STALE_DIR

BINS = 121  # 0..119 one-minute bins + overflow (> 120 min)
HIST = ("hist_bins", "hist_counts")
DETAIL, OPS, DAY, MONTH, OPS_DAY = "rollup", "rollup_ops", "rollup_day", "rollup_month", "rollup_ops_day"
MONTH_TIER, OPS_MONTH = "rollup_month_tier", "rollup_ops_month"
MONTH_ALL, OPS_MONTH_ALL = "rollup_month_all", "rollup_ops_month_all"
_OUTLETS_KEY = b"branchops_outlets"  # footer metadata of the *_all compacts: the outlets summed in
MEASURES = ("arrivals", "served", "transferred", "abandoned", "called", "wait_sum", "service_count",
            "service_sum")
OPS_MEASURES = ("counters_open", "busy_seconds", "peak_queue", "device_txns")
SERVED = ("served_types", "served_counts")  # served tickets per business type (for migration rates)
DETAIL_KEYS = ("outlet_code", "ticket_date", "interval_idx", "business_type", "customer_tier")
DAY_KEYS = ("outlet_code", "ticket_date", "business_type", "customer_tier")
MONTH_KEYS = ("outlet_code", "month_start", "business_type", "customer_tier")
MONTH_TIER_KEYS = ("outlet_code", "month_start", "customer_tier")
BATCH_OUTLETS = 100  # partitions aggregated per query: bounds the memory of one refresh step
COMPACT_ROW_GROUP = 4096  # compacts are sorted by outlet: small row groups let outlet filters skip
_WIDE = ("wait_sum", "service_sum", "busy_seconds")  # sums kept as int64; other counts fit int32
_LOW = np.iinfo(np.int64).min
_MONTH = re.compile(r"^\d{4}-\d{2}$")

_COUNT_TYPES = {c: (pa.int64() if c in _WIDE else pa.int32()) for c in MEASURES}
HIST_TYPES = {"hist_bins": pa.list_(pa.int8()), "hist_counts": pa.list_(pa.int32())}


def _schema(keys: Sequence[tuple[str, pa.DataType]]) -> pa.Schema:
    return pa.schema([*keys, *_COUNT_TYPES.items(), ("wait_max", pa.int32()), *HIST_TYPES.items()])


_KEY_TYPES = {"outlet_code": pa.string(), "ticket_date": pa.date32(), "interval_idx": pa.int16(),
              "business_type": pa.string(), "customer_tier": pa.string(), "month_start": pa.date32()}
_OPS_TYPES = [("counters_open", pa.int32()), ("busy_seconds", pa.int64()), ("peak_queue", pa.int32()),
              ("device_txns", pa.int32()), ("served_types", pa.list_(pa.string())),
              ("served_counts", pa.list_(pa.int32()))]
SCHEMAS = {
    DETAIL: _schema([(k, _KEY_TYPES[k]) for k in DETAIL_KEYS]),
    DAY: _schema([(k, _KEY_TYPES[k]) for k in DAY_KEYS]),
    MONTH: _schema([(k, _KEY_TYPES[k]) for k in MONTH_KEYS]),
    MONTH_TIER: _schema([(k, _KEY_TYPES[k]) for k in MONTH_TIER_KEYS]),
    OPS: pa.schema([("outlet_code", pa.string()), ("ticket_date", pa.date32()), ("interval_idx", pa.int16()),
                    *_OPS_TYPES]),
    OPS_DAY: pa.schema([("outlet_code", pa.string()), ("ticket_date", pa.date32()), *_OPS_TYPES]),
    OPS_MONTH: pa.schema([("outlet_code", pa.string()), ("month_start", pa.date32()), *_OPS_TYPES]),
    MONTH_ALL: _schema([("month_start", pa.date32()), ("customer_tier", pa.string())]),
    OPS_MONTH_ALL: pa.schema([("month_start", pa.date32()), *_OPS_TYPES]),
}


# -------------------------------------------------------------------------------------------- writing
def _write(table: pa.Table, path: Path, row_group_size: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(table, tmp, row_group_size=row_group_size)
    os.replace(tmp, path)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


@contextlib.contextmanager
def _month_lock(root: Path, month: str):
    lock_dir = root / DETAIL / ".locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{month}.lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _part(root: Path, table: str, month: str, outlet: str | None = None) -> Path:
    p = root / table / f"month={month}"
    return (p / f"outlet={outlet}" / "data.parquet") if outlet else (p / "data.parquet")


def _month_bounds(month: str) -> tuple[date, date]:
    first = date.fromisoformat(f"{month}-01")
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)


def _bin_sql(wait: str) -> str:
    return (f"CASE WHEN {wait} IS NULL THEN NULL WHEN {wait} <= 60 THEN 0 "
            f"WHEN {wait} > {K.MAX_THRESHOLD} THEN {BINS - 1} ELSE CAST(({wait} - 1) // 60 AS INTEGER) END")


def detail_bins_sql(files: Sequence[str], first: date, last: date) -> str:
    """Ticket measures per detail key and wait bin (DuckDB SQL; roll-ups are built by DuckDB).

    One row per (key, bin) rather than 121 filtered counts per key: DuckDB pays per aggregate state,
    so the histogram is built in NumPy instead (``detail_table``).
    """
    keys = ", ".join(DETAIL_KEYS)
    return f"""
WITH t AS (
  SELECT outlet_code, ticket_date, {K.interval_sql('issued_at')} AS interval_idx, business_type,
    customer_tier, outcome,
    CASE WHEN outcome IN ({K._CALLED}) THEN {K.DUCKDB.seconds('issued_at', 'called_at')} END AS wait_s,
    CASE WHEN outcome IN ({K._CALLED}) THEN {K.DUCKDB.seconds('service_start_at', 'service_end_at')} END
      AS service_s
  FROM read_parquet([{K._list(files)}], hive_partitioning = false)
  WHERE ticket_date BETWEEN DATE '{first}' AND DATE '{last}'
)
SELECT {keys}, {_bin_sql('wait_s')} AS bin,
  COUNT(*) AS arrivals,
  SUM(CASE WHEN outcome = 'served' THEN 1 ELSE 0 END) AS served,
  SUM(CASE WHEN outcome = 'transferred' THEN 1 ELSE 0 END) AS transferred,
  SUM(CASE WHEN outcome = 'abandoned' THEN 1 ELSE 0 END) AS abandoned,
  COUNT(wait_s) AS called,
  CAST(SUM(wait_s) AS BIGINT) AS wait_sum,
  MAX(wait_s) AS wait_max,
  COUNT(service_s) AS service_count,
  CAST(SUM(service_s) AS BIGINT) AS service_sum
FROM t
GROUP BY {keys}, bin
ORDER BY {keys}, bin NULLS FIRST
"""


def _group_starts(table: pa.Table, keys: Sequence[str]) -> np.ndarray:
    """Row indices where a new key starts in a table sorted by the keys (nulls equal to nulls)."""
    n = table.num_rows
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
    for k in keys:
        col = table.column(k).combine_chunks()
        idx = col.dictionary_encode().indices if pa.types.is_string(col.type) else col
        arr = idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64) if idx.null_count \
            else idx.to_numpy(zero_copy_only=False).astype(np.int64)
        change[1:] |= arr[1:] != arr[:-1]
    return np.flatnonzero(change)


def detail_table(con, files: Sequence[str], first: date, last: date) -> pa.Table:
    """The detail roll-up rows of some ticket partitions, sorted by DETAIL_KEYS."""
    raw = con.sql(detail_bins_sql(files, first, last)).to_arrow_table()
    starts = _group_starts(raw, DETAIL_KEYS)
    groups, n = len(starts), raw.num_rows
    flags = np.zeros(n, np.int64)
    flags[starts[1:]] = 1
    gid = np.cumsum(flags)
    cols: dict[str, pa.Array] = {k: raw.column(k).take(pa.array(starts)) for k in DETAIL_KEYS}
    for m in MEASURES:
        v = raw.column(m).combine_chunks()
        v = (v.fill_null(0) if v.null_count else v).to_numpy(zero_copy_only=False)
        tot = np.add.reduceat(v, starts, dtype=np.int64) if groups else np.zeros(0, np.int64)
        cols[m] = pa.array(tot, _COUNT_TYPES[m])
    wv = raw.column("wait_max").cast(pa.int64()).fill_null(_LOW).to_numpy(zero_copy_only=False)
    top = np.maximum.reduceat(wv, starts) if groups else wv[:0]
    cols["wait_max"] = pa.array(top, pa.int32(), mask=top == _LOW)
    # The (key, bin) rows come sorted by key then bin: the called ones are the sparse histogram.
    binv = raw.column("bin").cast(pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False)
    hit = binv >= 0
    called = raw.column("called").cast(pa.int64()).to_numpy(zero_copy_only=False)
    offsets = np.searchsorted(gid[hit], np.arange(groups + 1))
    cols["hist_bins"], cols["hist_counts"] = _hist_arrays(offsets, binv[hit], called[hit])
    return pa.table(cols).cast(SCHEMAS[DETAIL])


# ----------------------------------------------------------------------------------- sparse histograms
def _flat_hist(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, bin, count) of every stored histogram entry of a table."""
    bins = table.column("hist_bins").combine_chunks()
    counts = table.column("hist_counts").combine_chunks()
    rows = pc.list_parent_indices(bins).to_numpy().astype(np.int64)
    return (rows, pc.list_flatten(bins).to_numpy().astype(np.int64),
            pc.list_flatten(counts).to_numpy().astype(np.int64))


def _reduce_hist(flat: tuple[np.ndarray, np.ndarray, np.ndarray], group_of_row: np.ndarray,
                 groups: int, width: int = BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum flattened (row, slot, count) lists per group: (offsets[groups + 1], slots, counts).

    Slots (histogram bins, business-type codes) are 0..width-1 and come out ascending per group.
    """
    rows, bins, counts = flat
    key = group_of_row[rows] * width + bins
    if groups * width <= 4_000_000:  # few groups: count into a dense grid, no sort
        dense = np.bincount(key, weights=counts, minlength=groups * width).astype(np.int64)
        nz = np.flatnonzero(dense)
        return np.searchsorted(nz // width, np.arange(groups + 1)), nz % width, dense[nz]
    order = np.argsort(key, kind="stable")
    sk = key[order]
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]]) if len(sk) else np.zeros(0, np.int64)
    uk = sk[starts]
    total = np.add.reduceat(counts[order], starts) if len(sk) else counts[:0]
    return np.searchsorted(uk // width, np.arange(groups + 1)), uk % width, total


def _flat_served(table: pa.Table) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], pa.Array]:
    """((row, type code, count) of every served entry, the type names the codes index)."""
    types = table.column("served_types").combine_chunks()
    counts = table.column("served_counts").combine_chunks()
    enc = pc.list_flatten(types).dictionary_encode()
    rows = pc.list_parent_indices(types).to_numpy().astype(np.int64)
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return (rows, codes, pc.list_flatten(counts).to_numpy().astype(np.int64)), enc.dictionary


def _served_arrays(offsets: np.ndarray, codes: np.ndarray, counts: np.ndarray,
                   names: pa.Array) -> tuple[pa.Array, pa.Array]:
    off = pa.array(np.asarray(offsets, np.int32))
    return (pa.ListArray.from_arrays(off, names.take(pa.array(np.asarray(codes, np.int64)))),
            pa.ListArray.from_arrays(off, pa.array(np.asarray(counts, np.int32))))


def _hist_arrays(offsets: np.ndarray, bins: np.ndarray, counts: np.ndarray) -> tuple[pa.Array, pa.Array]:
    off = pa.array(np.asarray(offsets, np.int32))
    return (pa.ListArray.from_arrays(off, pa.array(np.asarray(bins, np.int8))),
            pa.ListArray.from_arrays(off, pa.array(np.asarray(counts, np.int32))))


def sparse_quantiles(offsets: np.ndarray, bins: np.ndarray, counts: np.ndarray, wait_max: np.ndarray,
                     ps: Sequence[float]) -> list[np.ndarray]:
    """Linear-interpolation percentiles of grouped waits estimated from their histograms.

    The value of rank r (0-based) is placed inside its bin as if the bin's c values were spread
    evenly: lower + (j + 0.5) / c x 60 s, j its rank inside the bin; in the overflow bin evenly up to
    the group's longest wait; the top rank is the longest wait itself. Groups without waits give NaN.
    """
    groups = len(offsets) - 1
    counts = np.asarray(counts, np.int64)
    cum = np.cumsum(counts)
    cum0 = np.r_[0, cum]
    base = cum0[offsets[:-1]]
    n = cum0[offsets[1:]] - base
    wmax = np.asarray(wait_max, np.float64)
    top = np.maximum(np.nan_to_num(wmax, nan=K.MAX_THRESHOLD), K.MAX_THRESHOLD)
    out = []
    if not len(cum):
        return [np.full(groups, np.nan) for _ in ps]

    def value(rank: np.ndarray) -> np.ndarray:
        e = np.minimum(np.searchsorted(cum, base + rank, side="right"), len(cum) - 1)
        b, c = bins[e], counts[e]
        j = base + rank - (cum[e] - c)
        lo = b * 60.0
        v = np.where(b == BINS - 1, lo + (j + 1) / c * (top - lo), lo + (j + 0.5) / c * 60.0)
        return np.where(rank == n - 1, wmax, v)

    with np.errstate(invalid="ignore", divide="ignore"):
        for p in ps:
            h = np.maximum(n - 1, 0) * p
            r0 = np.floor(h)
            v0 = value(r0)
            v1 = value(np.minimum(r0 + 1, np.maximum(n - 1, 0)))
            out.append(np.where(n > 0, v0 + (h - r0) * (v1 - v0), np.nan))
    return out


def hist_quantiles(hist: np.ndarray, wait_max: np.ndarray, ps: Sequence[float]) -> list[np.ndarray]:
    """sparse_quantiles for dense histograms (rows x BINS)."""
    hist = np.asarray(hist, np.int64)
    rows, bins = np.nonzero(hist)
    offsets = np.searchsorted(rows, np.arange(hist.shape[0] + 1))
    return sparse_quantiles(offsets, bins, hist[rows, bins], wait_max, ps)


# ------------------------------------------------------------------------------------------ grouping
def _key_codes(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int]:
    """Dense codes of a key column in sort order (nulls last, like DuckDB) and the number of codes."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        enc = col.dictionary_encode()
        values = np.asarray(enc.dictionary.to_pylist(), dtype=object)
        rank = np.empty(len(values), np.int64)
        rank[np.argsort(values, kind="stable")] = np.arange(len(values))
        idx = enc.indices.fill_null(len(values)).to_numpy(zero_copy_only=False).astype(np.int64)
        codes = np.append(rank, len(values))[idx]
        return codes, len(values) + 1
    raw = (col.cast(pa.int32()) if pa.types.is_date32(col.type) else col).cast(pa.int64())
    arr = raw.fill_null(np.iinfo(np.int64).max).to_numpy(zero_copy_only=False)
    uniq, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.int64), len(uniq)


def _groups(table: pa.Table, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, starts, group_of_row): rows sorted by the keys (nulls last), where each group starts."""
    n = table.num_rows
    key = np.zeros(n, np.int64)
    for k in keys:
        codes, size = _key_codes(table.column(k))
        key = key * size + codes
    order = np.argsort(key, kind="stable")
    sk = key[order]
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]]) if n else np.zeros(0, np.int64)
    flags = np.zeros(n, np.int64)
    flags[starts[1:]] = 1
    group_of_row = np.empty(n, np.int64)
    group_of_row[order] = np.cumsum(flags)
    return order, starts, group_of_row


def _reduce(table: pa.Table, keys: Sequence[str], sums: Sequence[str], maxes: Sequence[str] = (),
            flat: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
            served: bool = False) -> tuple[dict, tuple | None]:
    """Group by keys, sorted by the keys: one sort, then NumPy segment sums column by column.

    Returns the result columns and, given the rows' flattened histograms, the groups' summed ones.
    No wide temporaries: large fresh allocations are slow to fault in on the small servers.
    """
    n = table.num_rows
    order, starts, group_of_row = _groups(table, keys)
    take = pa.array(order[starts]) if n else pa.array([], pa.int64())
    cols = {k: table.column(k).take(take) for k in keys}
    for c in sums:
        v = table.column(c).combine_chunks()
        v = (v.fill_null(0) if v.null_count else v).to_numpy(zero_copy_only=False)
        tot = np.add.reduceat(v[order], starts, dtype=np.int64) if n else np.zeros(0, np.int64)
        cols[c] = pa.array(tot, pa.int64() if c in _WIDE else pa.int32())
    for c in maxes:
        v = table.column(c).cast(pa.int64()).fill_null(_LOW).to_numpy(zero_copy_only=False)[order]
        top = np.maximum.reduceat(v, starts) if n else v
        cols[c] = pa.array(top, table.schema.field(c).type, mask=top == _LOW)
    if served:  # the served-per-business-type lists, summed per group
        sflat, names = _flat_served(table)
        offsets, codes, counts = _reduce_hist(sflat, group_of_row, len(starts), max(1, len(names)))
        cols["served_types"], cols["served_counts"] = _served_arrays(offsets, codes, counts, names)
    return cols, (None if flat is None else _reduce_hist(flat, group_of_row, len(starts)))


def _aggregate(table: pa.Table, keys: Sequence[str], sums: Sequence[str], maxes: Sequence[str] = (),
               hist: bool = False) -> pa.Table:
    """_reduce as a table, histograms (if any) summed into sparse list columns."""
    cols, summed = _reduce(table, keys, sums, maxes, _flat_hist(table) if hist else None)
    if summed is not None:
        cols["hist_bins"], cols["hist_counts"] = _hist_arrays(*summed)
    return pa.table(cols)


def _read(files: Sequence[str]) -> pa.Table | None:
    return pa.concat_tables([pq.read_table(f) for f in files]) if files else None


def _day_compact(detail: pa.Table) -> pa.Table:
    return _aggregate(detail, DAY_KEYS, MEASURES, ("wait_max",), hist=True).cast(SCHEMAS[DAY])


def _ops_day_compact(ops: pa.Table) -> pa.Table:
    cols, _ = _reduce(ops, ("outlet_code", "ticket_date"), ("counters_open", "busy_seconds", "device_txns"),
                      ("peak_queue",), served=True)
    return pa.table(cols).select(SCHEMAS[OPS_DAY].names).cast(SCHEMAS[OPS_DAY])


def _with_served(ops: pa.Table, detail: pa.Table) -> pa.Table:
    """Attach to each ops row (outlet, day, interval) its served tickets per business type."""
    d = detail.filter(pc.greater(detail.column("served"), 0)).select(
        ["outlet_code", "ticket_date", "interval_idx", "business_type", "served"])
    keys = ["outlet_code", "ticket_date", "interval_idx"]
    at = d.join(ops.select(keys).append_column("_row", pa.array(np.arange(ops.num_rows))), keys,
                join_type="inner")
    # A null business type is kept as its own type, "" (device eligibility never names it).
    types = at.column("business_type").fill_null("")
    enc = types.combine_chunks().dictionary_encode()
    flat = (at.column("_row").to_numpy().astype(np.int64), enc.indices.to_numpy().astype(np.int64),
            at.column("served").to_numpy().astype(np.int64))
    offsets, codes, counts = _reduce_hist(flat, np.arange(ops.num_rows), ops.num_rows,
                                          max(1, len(enc.dictionary)))
    st, sc = _served_arrays(offsets, codes, counts, enc.dictionary)
    return ops.append_column("served_types", st).append_column("served_counts", sc)


def _split_write(table: pa.Table, root: Path, name: str, month: str, outlets: Sequence[str]) -> None:
    """Write one file per outlet of a table sorted by outlet_code; outlets without rows lose their file."""
    codes = table.column("outlet_code").to_numpy(zero_copy_only=False)
    cuts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    starts, ends = np.r_[0, cuts], np.r_[cuts, len(codes)]
    seen = set()
    if len(codes):
        for s, e in zip(starts, ends, strict=True):
            seen.add(codes[s])
            _write(table.slice(s, e - s), _part(root, name, month, codes[s]))
    for outlet in outlets:
        if outlet not in seen:
            _remove(_part(root, name, month, outlet))


def _refresh_month(con, root: Path, month: str, outlets: list[str]) -> None:
    first, last = _month_bounds(month)
    day_parts, ops_parts = [], []
    for i in range(0, len(outlets), BATCH_OUTLETS):
        batch = outlets[i:i + BATCH_OUTLETS]
        files = K.partition_paths(root, "tickets", [month], batch)
        if files:
            detail = detail_table(con, files, first, last)
            day_parts.append(_day_compact(detail))
        else:
            detail = pa.table({"outlet_code": pa.array([], pa.string())})
        _split_write(detail, root, DETAIL, month, batch)
        scope = K.Scope(first, last, [month], batch, "interval", "outlet_code", None, ())
        ops = con.sql(K.ops_base_sql(os.fspath(root), scope, None, with_eligible=False)
                      + " ORDER BY outlet_code, ticket_date, interval_idx").to_arrow_table()
        ops = _with_served(ops.drop_columns(["eligible_tickets"]), detail if files else
                           SCHEMAS[DETAIL].empty_table()).cast(SCHEMAS[OPS])
        if ops.num_rows:
            ops_parts.append(_ops_day_compact(ops))
        _split_write(ops, root, OPS, month, batch)
    _compact_month(root, month, outlets, day_parts, ops_parts)
    K.build_waits(root, month, con)


def _compact_month(root: Path, month: str, touched: Sequence[str], day_parts: list[pa.Table],
                   ops_parts: list[pa.Table]) -> None:
    """Update the month's compacts: keep the other outlets' rows, put in the touched outlets' new rows.

    Without compacts yet (first refresh of the month, or after rebuild removed them) the other
    outlets' rows come from their detail roll-ups instead.
    """
    day_path, month_path, opsd_path = (_part(root, t, month) for t in (DAY, MONTH, OPS_DAY))
    gone = pa.array(list(touched), pa.string())

    def others(path: Path, table: str, compact) -> list[pa.Table]:
        if path.exists():
            old = pq.read_table(path)
            if old.schema != SCHEMAS[DAY if table == DETAIL else OPS_DAY]:
                raise ValueError(f"{path} has an older roll-up layout: run rollup.rebuild() once")
            return [old.filter(pc.invert(pc.is_in(old.column("outlet_code"), value_set=gone)))]
        rest = [f for f in K.partition_paths(root, table, [month], None)
                if Path(f).parent.name[len("outlet="):] not in set(touched)]
        return [compact(_read(rest))] if rest else []

    if not (day_path.exists() and opsd_path.exists()):  # rebuild both together from the detail files
        _remove(day_path)
        _remove(opsd_path)
    day = _concat_sorted(others(day_path, DETAIL, _day_compact) + day_parts, list(DAY_KEYS))
    opsd = _concat_sorted(others(opsd_path, OPS, _ops_day_compact) + ops_parts,
                          ["outlet_code", "ticket_date"])
    tier_path = _part(root, MONTH_TIER, month)
    if day is None:
        _remove(day_path)
        _remove(month_path)
        _remove(tier_path)
        _remove(_part(root, MONTH_ALL, month))
    else:
        _write(day, day_path, COMPACT_ROW_GROUP)
        first = date.fromisoformat(f"{month}-01")
        by_month = day.drop_columns(["ticket_date"]).append_column(
            "month_start", pa.array(np.full(day.num_rows, first.toordinal() - date(1970, 1, 1).toordinal(),
                                            np.int32)).cast(pa.date32()))
        mon = _aggregate(by_month, MONTH_KEYS, MEASURES, ("wait_max",), hist=True).cast(SCHEMAS[MONTH])
        _write(mon, month_path, COMPACT_ROW_GROUP)
        tiers = _aggregate(mon, MONTH_TIER_KEYS, MEASURES, ("wait_max",), hist=True).cast(SCHEMAS[MONTH_TIER])
        _write(tiers, tier_path, COMPACT_ROW_GROUP)
        whole = _aggregate(tiers, ("month_start", "customer_tier"), MEASURES, ("wait_max",), hist=True)
        _write_all(whole.cast(SCHEMAS[MONTH_ALL]), tiers, _part(root, MONTH_ALL, month))
    opsm_path = _part(root, OPS_MONTH, month)
    if opsd is None:
        _remove(opsd_path)
        _remove(opsm_path)
        _remove(_part(root, OPS_MONTH_ALL, month))
    else:
        _write(opsd, opsd_path, COMPACT_ROW_GROUP)
        first = date.fromisoformat(f"{month}-01")
        by_month = opsd.drop_columns(["ticket_date"]).append_column(
            "month_start", pa.array([first] * opsd.num_rows, pa.date32()))
        cols, _ = _reduce(by_month, ("outlet_code", "month_start"),
                          ("counters_open", "busy_seconds", "device_txns"), ("peak_queue",), served=True)
        opsm = pa.table(cols).select(SCHEMAS[OPS_MONTH].names).cast(SCHEMAS[OPS_MONTH])
        _write(opsm, opsm_path, COMPACT_ROW_GROUP)
        cols, _ = _reduce(opsm, ("month_start",), ("counters_open", "busy_seconds", "device_txns"),
                          ("peak_queue",), served=True)
        _write_all(pa.table(cols).select(SCHEMAS[OPS_MONTH_ALL].names).cast(SCHEMAS[OPS_MONTH_ALL]), opsm,
                   _part(root, OPS_MONTH_ALL, month))


def _write_all(table: pa.Table, per_outlet: pa.Table, path: Path) -> None:
    outlets = sorted(set(per_outlet.column("outlet_code").to_pylist()))
    _write(table.replace_schema_metadata({_OUTLETS_KEY: "\n".join(outlets).encode()}), path)


def _concat_sorted(parts: list[pa.Table], keys: list[str]) -> pa.Table | None:
    parts = [p for p in parts if p.num_rows]
    if not parts:
        return None
    table = pa.concat_tables([p.cast(parts[0].schema) for p in parts])
    if len(parts) == 1:
        return table
    key = np.zeros(table.num_rows, np.int64)
    for k in keys:
        codes, size = _key_codes(table.column(k))
        key = key * size + codes
    return table.take(pa.array(np.argsort(key, kind="stable")))


def refresh(root: str | os.PathLike, partitions: Iterable[tuple[str, str]], *, con=None) -> dict:
    """Recompute the roll-ups of the touched (month 'YYYY-MM', outlet_code) partitions and the month compacts.

    Call it after the import replaced ticket or device partitions. A partition whose ticket and device
    files are gone loses its roll-up rows. Returns {"partitions", "months", "seconds"}.
    """
    root = Path(root)
    by_month: dict[str, set[str]] = {}
    marks = {}  # stale marks seen now: a mark a later import sets meanwhile stays
    for month, outlet in partitions:
        mark = _stale_mark(root, month, outlet)
        with contextlib.suppress(FileNotFoundError):
            marks[mark] = mark.stat().st_mtime_ns
        if not _MONTH.match(month):
            raise ValueError(f"month must be YYYY-MM, got {month!r}")
        by_month.setdefault(month, set()).add(K.check_outlet_code(outlet))
    own = con is None
    con = con or K.connect()
    t0 = time.perf_counter()
    try:
        for month in sorted(by_month):
            with _month_lock(root, month):
                _refresh_month(con, root, month, sorted(by_month[month]))
                for outlet in by_month[month]:
                    mark = _stale_mark(root, month, outlet)
                    with contextlib.suppress(FileNotFoundError):
                        if mark in marks and mark.stat().st_mtime_ns == marks[mark]:
                            mark.unlink()
    finally:
        if own:
            con.close()
    return {"partitions": sum(len(v) for v in by_month.values()), "months": len(by_month),
            "seconds": round(time.perf_counter() - t0, 3)}


def _stale_mark(root: Path, month: str, outlet: str) -> Path:
    return root / STALE_DIR / f"month={month}" / f"outlet={outlet}"


def stale(root: str | os.PathLike, months: Iterable[str] | None = None,
          outlets: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """Partitions whose roll-ups are older than their tickets (an import not yet or never refreshed)."""
    base = Path(root) / STALE_DIR
    if not base.is_dir():
        return []
    wanted = None if outlets is None else set(outlets)
    found = []
    for mdir in ([base / f"month={m}" for m in months] if months is not None else base.glob("month=*")):
        if mdir.is_dir():
            found += [(mdir.name[6:], o.name[7:]) for o in mdir.glob("outlet=*")
                      if wanted is None or o.name[7:] in wanted]
    return sorted(found)


def _stale_in(root, scope: K.Scope) -> bool:
    outlets = scope.outlets
    if outlets is None and scope.mapping is not None:
        outlets = K.as_arrow(scope.mapping)["outlet_code"].to_pylist()
    return bool(stale(root, scope.months, outlets))


def stored_partitions(root: str | os.PathLike, months: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """Every (month, outlet) partition with tickets, devices or a roll-up (stale ones get removed)."""
    root = Path(root)
    found = set()
    for kind in ("tickets", "devices", DETAIL, OPS):
        base = root / kind
        if not base.is_dir():
            continue
        for mdir in base.iterdir():
            if not mdir.name.startswith("month="):
                continue
            month = mdir.name[6:]
            if months is not None and month not in months:
                continue
            for odir in mdir.iterdir():
                if odir.name.startswith("outlet=") and (odir / "data.parquet").exists():
                    found.add((month, odir.name[7:]))
    return sorted(found)


def rebuild(root: str | os.PathLike, months: Iterable[str] | None = None, *, con=None) -> dict:
    """Recompute every roll-up (of these months) from scratch, compacts included."""
    root = Path(root)
    months = None if months is None else set(months)
    parts = stored_partitions(root, months)
    for month in {m for m, _ in parts}:  # compacts are rebuilt whole, not incrementally
        for t in (DAY, OPS_DAY):
            _remove(_part(root, t, month))
    return refresh(root, parts, con=con)


def recompact(root: str | os.PathLike, months: Iterable[str] | None = None) -> dict:
    """Rebuild the month compacts from the partition roll-ups (e.g. after a crash between the two)."""
    root = Path(root)
    t0 = time.perf_counter()
    found = sorted({m for m, _ in stored_partitions(root, None if months is None else set(months))})
    for month in found:
        with _month_lock(root, month):
            for t in (DAY, OPS_DAY):
                _remove(_part(root, t, month))
            _compact_month(root, month, [], [], [])
            K.build_waits(root, month)
    return {"months": len(found), "seconds": round(time.perf_counter() - t0, 3)}


# -------------------------------------------------------------------------------------------- queries
def _files(root: str, table: str, months: Sequence[str], outlets: Sequence[str] | None) -> list[str]:
    if table in (DETAIL, OPS):
        return K.partition_paths(root, table, months, outlets)
    return [str(_part(Path(root), table, m)) for m in months if _part(Path(root), table, m).exists()]


def _month_aligned(scope: K.Scope) -> bool:
    return scope.start.day == 1 and (scope.end + timedelta(days=1)).day == 1


def choose_level(scope: K.Scope, business_type: bool | None = None) -> str:
    """The cheapest ticket roll-up that answers: month compacts (by tier only if business_type is not
    needed), the day compact, or the detail. ``business_type`` defaults to "in the breakdown"."""
    if business_type is None:
        business_type = "business_type" in scope.breakdown
    if scope.grain == "interval":
        return DETAIL
    if scope.grain in ("month", "total") and _month_aligned(scope):
        return MONTH if business_type else MONTH_TIER
    return DAY


def _read_file(path: str, columns: list[str], outlets: list[str] | None) -> pa.Table:
    """One roll-up file; with outlets, only the row groups whose outlet range can hold them.

    ParquetFile.read is used directly: the dataset layer costs a few milliseconds per file, which
    a twelve-month question would pay 36 times.
    """
    pf = pq.ParquetFile(path)
    if outlets is None:
        return pf.read(columns=columns, use_threads=False)
    col = pf.schema_arrow.get_field_index("outlet_code")
    groups = []
    for i in range(pf.metadata.num_row_groups):
        st = pf.metadata.row_group(i).column(col).statistics
        if st is None or not st.has_min_max:
            groups.append(i)
            continue
        j = bisect.bisect_left(outlets, st.min)
        if j < len(outlets) and outlets[j] <= st.max:
            groups.append(i)
    return pf.read_row_groups(groups, columns=columns, use_threads=False)


def _load(root: str, table: str, scope: K.Scope, columns: Sequence[str]) -> pa.Table:
    """The rows of a roll-up table in the scope's dates and outlets (row-group statistics skip the rest)."""
    monthly = table in (MONTH, MONTH_TIER, OPS_MONTH)
    day_col = "month_start" if monthly else "ticket_date"
    files = _files(root, table, scope.months, scope.outlets)
    if not files:
        return SCHEMAS[table].empty_table().select(list(columns))
    per_outlet = table in (DETAIL, OPS)  # partition files hold one outlet each
    wanted = None if per_outlet or scope.outlets is None else sorted(scope.outlets)
    parts = [_read_file(f, list(columns), wanted) for f in files]
    rows = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    lo = scope.start.replace(day=1) if monthly else scope.start
    first, last = _month_bounds(scope.months[0])[0], _month_bounds(scope.months[-1])[1]
    keep = None
    if not (lo <= first and last <= scope.end):  # the range cuts a month: filter the days
        days = rows.column(day_col)
        keep = pc.and_(pc.greater_equal(days, pa.scalar(lo, pa.date32())),
                       pc.less_equal(days, pa.scalar(scope.end, pa.date32())))
    if wanted is not None:
        inside = pc.is_in(rows.column("outlet_code"), value_set=pa.array(wanted, pa.string()))
        keep = inside if keep is None else pc.and_(keep, inside)
    return rows if keep is None else rows.filter(keep)


def _whole(root: str, table: str, scope: K.Scope) -> pa.Table | None:
    """The *_all compact rows of the scope's months, keyed by the one group, when they answer exactly.

    That is when the mapping puts every outlet those months hold into one and the same group (it may
    name outlets without data): the group's sums are then the months' sums over all outlets.
    """
    if scope.mapping is None or not scope.months:
        return None
    codes = scope.mapping.column("outlet_code").to_pylist()
    groups = scope.mapping.column(scope.group).to_pylist()
    if len(set(groups)) != 1 or len(set(codes)) != len(codes):
        return None
    mapped = set(codes)
    parts = []
    for month in scope.months:
        path = _part(Path(root), table, month)
        try:
            pf = pq.ParquetFile(path)
        except FileNotFoundError:
            continue
        held = (pf.schema_arrow.metadata or {}).get(_OUTLETS_KEY)
        if held is None or not mapped.issuperset(held.decode().split("\n")):
            return None
        parts.append(pf.read(use_threads=False))
    if not parts:
        return None
    rows = pa.concat_tables(parts).replace_schema_metadata(None)
    return rows.append_column(scope.group, pa.array([groups[0]] * rows.num_rows,
                                                    scope.mapping.schema.field(scope.group).type))


def _days(col: pa.ChunkedArray) -> np.ndarray:
    return col.cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)


def _keyed(table: pa.Table, scope: K.Scope, day_col: str) -> pa.Table:
    """Add the result key columns (period_start, group) to roll-up rows; a mapping may repeat rows."""
    if scope.mapping is not None:
        mapping = scope.mapping
        m_out = np.asarray(mapping.column("outlet_code").to_pylist(), dtype=object)
        by_outlet = np.argsort(m_out, kind="stable")
        m_sorted = m_out[by_outlet]
        enc = table.column("outlet_code").combine_chunks().dictionary_encode()
        names = np.asarray(enc.dictionary.to_pylist(), dtype=object)
        lo = np.searchsorted(m_sorted, names, side="left")
        hi = np.searchsorted(m_sorted, names, side="right")
        idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        reps = (hi - lo)[idx]
        if (reps == 1).all():  # each outlet in one group: no rows to repeat or drop
            mrows = by_outlet[lo[idx]]
        else:
            rows = np.repeat(np.arange(table.num_rows), reps)
            first = np.repeat(np.cumsum(reps) - reps, reps)
            mrows = by_outlet[lo[idx][rows] + (np.arange(len(rows)) - first)]
            table = table.take(pa.array(rows))
        table = table.append_column(scope.group, mapping.column(scope.group).take(pa.array(mrows)))
    if scope.grain != "total":
        days = _days(table.column(day_col))
        if scope.grain == "week":  # ISO weeks start on Monday; 1970-01-01 was a Thursday
            days = days - (days + 3) % 7
        elif scope.grain == "month":
            months = days.astype("datetime64[D]").astype("datetime64[M]")
            days = months.astype("datetime64[D]").astype(np.int64)
        table = table.append_column("period_start", pa.array(days.astype(np.int32)).cast(pa.date32()))
    return table


def _ratio(num: np.ndarray, den: np.ndarray) -> pa.Array:
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.asarray(num, np.float64) / den
    return pa.array(v, pa.float64(), mask=np.asarray(den) == 0)


def _col(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


def rollup_wait_kpis(root: str | os.PathLike, start: date, end: date, *, grain: str | None = "day",
                     outlets: Iterable[str] | None = None, mapping=None, breakdown: Sequence[str] = (),
                     thresholds: Mapping[str, int] | None = None, level: str | None = None,
                     con=None) -> pa.Table:
    """kpis.wait_kpis answered from the roll-ups (same rows, columns and order; percentiles from the bins).

    ``level`` forces a roll-up table (DETAIL, DAY, MONTH, MONTH_TIER), else the cheapest is used.
    ``con`` is accepted for symmetry with kpis and unused: the roll-ups are read with PyArrow.
    """
    scope = K.resolve(start, end, grain, outlets, mapping, breakdown)
    th = K.check_thresholds(thresholds)
    if level is None and _stale_in(root, scope):  # never a stale answer: exact, from the partitions
        return K.wait_kpis(root, start, end, grain=grain, outlets=outlets, mapping=mapping, breakdown=breakdown,
                           thresholds=thresholds, compact=False)
    level = level or choose_level(scope)
    whole_months = _month_aligned(scope) and scope.grain in ("month", "total")
    if level in (MONTH, MONTH_TIER) and not whole_months:
        raise ValueError("the month roll-ups answer whole months only")
    if level == MONTH_TIER and "business_type" in scope.breakdown:
        raise ValueError("the month-tier roll-up has no business types")
    day_col = "month_start" if level in (MONTH, MONTH_TIER) else "ticket_date"
    columns = ["outlet_code", day_col, *(["interval_idx"] if scope.grain == "interval" else []),
               *(["business_type"] if "business_type" in scope.breakdown else []), "customer_tier",
               *MEASURES, "wait_max", *HIST]
    whole = _whole(os.fspath(root), MONTH_ALL, scope) if level == MONTH_TIER else None
    if whole is not None:  # already summed over the outlets: only the period key to add
        rows = _keyed(whole, dataclasses.replace(scope, mapping=None), day_col)
    else:
        rows = _keyed(_load(os.fspath(root), level, scope, columns), scope, day_col)
    keys = scope.keys()
    # First per key and tier (small), where the overtime is exact: the histogram entries at or above
    # the tier's threshold bin; then fold the tiers unless the breakdown keeps them.
    by_tier = keys if "customer_tier" in keys else [*keys, "customer_tier"]
    cols, (offsets, hbins, hcounts) = _reduce(rows, by_tier, MEASURES, ("wait_max",), _flat_hist(rows))
    entry_row = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    tiers = cols["customer_tier"].combine_chunks().dictionary_encode() if len(offsets) > 1 else None
    names = [*(tiers.dictionary.to_pylist() if tiers is not None else []), None]  # last: a missing tier
    first_bin = np.array([th.get(t, th["regular"]) // 60 for t in names], np.int64)
    tier_idx = (tiers.indices.fill_null(len(names) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
                if tiers is not None else np.zeros(0, np.int64))
    over = np.bincount(entry_row, weights=hcounts * (hbins >= first_bin[tier_idx][entry_row]),
                       minlength=len(offsets) - 1)
    cols["overtime"] = pa.array(over.astype(np.int64))
    agg = pa.table(cols)
    if by_tier != keys:
        cols, (offsets, hbins, hcounts) = _reduce(agg, keys, (*MEASURES, "overtime"), ("wait_max",),
                                                  (entry_row, hbins, hcounts))
        agg = pa.table(cols)
    wmax = agg.column("wait_max").cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
    med, p90 = sparse_quantiles(offsets, hbins, hcounts, wmax, (0.5, 0.9))
    called = _col(agg, "called").astype(np.float64)
    cols = {k: agg.column(k) for k in keys}
    for c in ("arrivals", "served", "transferred", "abandoned", "called"):
        cols[c] = agg.column(c).cast(pa.int64())
    cols["abandon_rate"] = _ratio(_col(agg, "abandoned"), _col(agg, "arrivals").astype(np.float64))
    cols["wait_mean"] = _ratio(_col(agg, "wait_sum"), called)
    cols["wait_median"] = pa.array(med, pa.float64(), mask=np.isnan(med))
    cols["wait_p90"] = pa.array(p90, pa.float64(), mask=np.isnan(p90))
    cols["wait_max"] = agg.column("wait_max").cast(pa.int64())
    cols["overtime"] = agg.column("overtime").cast(pa.int64())
    cols["overtime_ratio"] = _ratio(_col(agg, "overtime"), called)
    cols["service_mean"] = _ratio(_col(agg, "service_sum"), _col(agg, "service_count").astype(np.float64))
    return _typed(pa.table(cols), scope)


def _typed(table: pa.Table, scope: K.Scope) -> pa.Table:
    """Key columns typed as the exact engine returns them."""
    types = {"period_start": pa.date32(), "interval_idx": pa.int16(), "outlet_code": pa.string(),
             "business_type": pa.string(), "customer_tier": pa.string()}
    for k in scope.keys():
        if k in types and table.schema.field(k).type != types[k]:
            table = table.set_column(table.schema.get_field_index(k), k, table.column(k).cast(types[k]))
    return table


def rollup_ops_kpis(root: str | os.PathLike, start: date, end: date, *, grain: str | None = "day",
                    outlets: Iterable[str] | None = None, mapping=None,
                    eligible_types: Sequence[str] | None = None, con=None) -> pa.Table:
    """kpis.ops_kpis answered from the roll-ups (exact; same rows, columns and order)."""
    scope = K.resolve(start, end, grain, outlets, mapping)
    if _stale_in(root, scope):
        return K.ops_kpis(root, start, end, grain=grain, outlets=outlets, mapping=mapping,
                          eligible_types=eligible_types)
    root = os.fspath(root)
    interval = ["interval_idx"] if scope.grain == "interval" else []
    # The ops roll-ups have a row for every interval with tickets, service, a queue or devices (as the
    # SQL has) and carry the served tickets per business type, so they answer alone.
    ops_t = OPS if interval else OPS_MONTH if choose_level(scope, business_type=True) == MONTH else OPS_DAY
    day_col = "month_start" if ops_t == OPS_MONTH else "ticket_date"
    whole = _whole(root, OPS_MONTH_ALL, scope) if ops_t == OPS_MONTH else None
    if whole is not None:
        rows = _keyed(whole, dataclasses.replace(scope, mapping=None), day_col)
    else:
        rows = _keyed(_load(root, ops_t, scope, ["outlet_code", day_col, *interval, *OPS_MEASURES, *SERVED]),
                      scope, day_col)
    (srow, scode, scount), names = _flat_served(rows)
    if eligible_types is not None:
        wanted = pa.array(list(eligible_types), pa.string())
        ok = pc.is_in(names, value_set=wanted).to_numpy(zero_copy_only=False)
        scount = scount * ok[scode] if len(names) else scount
    eligible_row = np.bincount(srow, weights=scount, minlength=rows.num_rows).astype(np.int64)
    rows = rows.append_column("eligible_tickets", pa.array(eligible_row))
    agg = _aggregate(rows, scope.keys(), ("busy_seconds", "counters_open", "device_txns", "eligible_tickets"),
                     ("peak_queue",))
    busy, open_ = _col(agg, "busy_seconds").astype(np.int64), _col(agg, "counters_open").astype(np.int64)
    devices = _col(agg, "device_txns").astype(np.int64)
    eligible = _col(agg, "eligible_tickets").astype(np.int64)
    counter_seconds = open_ * K.INTERVAL_SECONDS
    cols = {k: agg.column(k) for k in scope.keys()}
    cols["busy_seconds"] = pa.array(busy)
    cols["counter_seconds"] = pa.array(counter_seconds)
    cols["utilisation"] = _ratio(busy, counter_seconds.astype(np.float64))
    cols["peak_queue"] = agg.column("peak_queue").cast(pa.int64()).fill_null(0)
    cols["device_txns"] = pa.array(devices)
    cols["eligible_tickets"] = pa.array(eligible)
    cols["migration_rate"] = _ratio(devices, (devices + eligible).astype(np.float64))
    return _typed(pa.table(cols), scope)


def rollup_kpis(root: str | os.PathLike, start: date, end: date, *, grain: str | None = "day",
                outlets: Iterable[str] | None = None, mapping=None,
                thresholds: Mapping[str, int] | None = None, eligible_types: Sequence[str] | None = None,
                con=None) -> pa.Table:
    """kpis.kpis answered from the roll-ups: what the dashboards and the API call."""
    scope = K.resolve(start, end, grain, outlets, mapping)
    wait = rollup_wait_kpis(root, start, end, grain=grain, outlets=outlets, mapping=mapping,
                            thresholds=thresholds)
    ops = rollup_ops_kpis(root, start, end, grain=grain, outlets=outlets, mapping=mapping,
                          eligible_types=eligible_types)
    return K.join_kpis(wait, ops, scope.keys())
