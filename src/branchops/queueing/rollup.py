"""Queue KPI roll-ups: small pre-aggregated tables kept in step with the ticket store at import.

Pure module (no Django import). The dashboards and the API answer from these; ``kpis`` answers the
same questions exactly from the raw tickets (definitions are in its docstring and apply here).

Tables (Parquet, written atomically with os.replace):
  per (month, outlet) partition, rewritten by ``refresh`` for each touched partition
    {root}/rollup/month=YYYY-MM/outlet=<code>/data.parquet        "detail"
        one row per outlet x day x interval x business_type x customer_tier: arrivals, served,
        transferred, abandoned, called, wait_sum, wait_max, service_count, service_sum and a wait
        histogram w000..w120: w000 counts waits <= 60 s, wk counts waits in (60k, 60k + 60] s,
        w120 counts waits > 7200 s (overflow).
    {root}/rollup_ops/month=YYYY-MM/outlet=<code>/data.parquet    "ops"
        one row per outlet x day x interval: counters_open, busy_seconds, peak_queue, device_txns.
  per month, all outlets (compacts for branch-wide questions), rebuilt by the same refresh
    {root}/rollup_day/month=YYYY-MM/data.parquet      outlet x day x business_type x customer_tier
    {root}/rollup_month/month=YYYY-MM/data.parquet    outlet x month x business_type x customer_tier
    {root}/rollup_ops_day/month=YYYY-MM/data.parquet  outlet x day (counters_open = counter-intervals)

Accuracy: counts, sums, means, utilisation, peak queue, migration rate and the overtime-wait ratio
are exact: a wait exceeds a threshold of m whole minutes (1..120) exactly when it falls in bin m or
above. Median and P90 come from the histogram, interpolating linearly inside the bin (ranks spread
evenly over it), so they are within one minute of the exact figure for waits up to 120 minutes; in
the overflow bin the estimate lies between 7200 s and the group's longest wait.

Concurrency: a refresh of a month holds an exclusive lock file ({root}/rollup/.locks/YYYY-MM.lock)
while it reads the partitions, writes their roll-ups and updates the month's compacts, so parallel
imports of the same month serialise and the compacts always reflect the last completed refresh.
"""

from __future__ import annotations

import contextlib
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
import pyarrow.parquet as pq

from branchops.queueing import kpis as K

BINS = 121  # 0..119 one-minute bins + overflow (> 120 min)
HIST = tuple(f"w{k:03d}" for k in range(BINS))
DETAIL, OPS, DAY, MONTH, OPS_DAY = "rollup", "rollup_ops", "rollup_day", "rollup_month", "rollup_ops_day"
MEASURES = ("arrivals", "served", "transferred", "abandoned", "called", "wait_sum", "service_count",
            "service_sum")
OPS_MEASURES = ("counters_open", "busy_seconds", "peak_queue", "device_txns")
BATCH_OUTLETS = 100  # partitions aggregated per query: bounds the memory of one refresh step
COMPACT_ROW_GROUP = 16_384  # compacts are sorted by outlet: small row groups let outlet filters skip
_MONTH = re.compile(r"^\d{4}-\d{2}$")


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


DETAIL_KEYS = ("outlet_code", "ticket_date", "interval_idx", "business_type", "customer_tier")


def detail_bins_sql(files: Sequence[str], first: date, last: date) -> str:
    """Ticket measures per detail key and wait bin (DuckDB SQL; roll-ups are built by DuckDB).

    One row per (key, bin) rather than 121 filtered counts per key: DuckDB pays per aggregate state,
    so the histogram is pivoted in NumPy instead (``detail_table``).
    """
    keys = ", ".join(DETAIL_KEYS)
    return f"""
WITH t AS (
  SELECT outlet_code, ticket_date, {K.interval_sql('issued_at')} AS interval_idx, business_type, customer_tier,
    outcome,
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
    groups = len(starts)
    gid = np.zeros(raw.num_rows, np.int64)
    gid[starts[1:]] = 1
    gid = np.cumsum(gid)
    cols: dict[str, pa.Array] = {k: raw.column(k).take(pa.array(starts)) for k in DETAIL_KEYS}
    for m in MEASURES:
        v = raw.column(m).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        tot = np.add.reduceat(v, starts) if groups else v[:0]
        cols[m] = pa.array(tot, pa.int64() if m in ("wait_sum", "service_sum") else pa.int32())
    wmax = raw.column("wait_max")
    wv = wmax.fill_null(np.iinfo(np.int64).min).to_numpy(zero_copy_only=False).astype(np.int64)
    top = np.maximum.reduceat(wv, starts) if groups else wv[:0]
    cols["wait_max"] = pa.array(top.astype(np.int32), pa.int32(), mask=top == np.iinfo(np.int64).min)
    hist = np.zeros((groups, BINS), np.int32, order="F")  # column-major: one contiguous column per bin
    binv = raw.column("bin")
    ok = ~np.asarray(binv.is_null().to_numpy(zero_copy_only=False))
    called = raw.column("called").to_numpy(zero_copy_only=False)
    np.add.at(hist, (gid[ok], binv.to_numpy(zero_copy_only=False)[ok].astype(np.int64)), called[ok])
    for b, c in enumerate(HIST):
        cols[c] = pa.array(hist[:, b])
    return pa.table(cols)


def _sum_cols(cols: Iterable[str], cast: str = "BIGINT") -> str:
    return ", ".join(f"CAST(SUM({c}) AS {cast}) AS {c}" for c in cols)


def _compact_sql(source: str, keys: Sequence[str], key_exprs: Sequence[str]) -> str:
    """Re-aggregate detail-shaped rows to coarser keys (sums; max for wait_max)."""
    return f"""
SELECT {', '.join(f'{e} AS {k}' for e, k in zip(key_exprs, keys, strict=True))},
  {_sum_cols(MEASURES[:5], 'INTEGER')}, CAST(SUM(wait_sum) AS BIGINT) AS wait_sum,
  CAST(MAX(wait_max) AS INTEGER) AS wait_max, CAST(SUM(service_count) AS INTEGER) AS service_count,
  CAST(SUM(service_sum) AS BIGINT) AS service_sum, {_sum_cols(HIST, 'INTEGER')}
FROM {source}
GROUP BY {', '.join(key_exprs)}
ORDER BY {', '.join(keys)}
"""


def _ops_day_sql(source: str) -> str:
    return f"""
SELECT outlet_code, ticket_date, CAST(SUM(counters_open) AS INTEGER) AS counters_open,
  CAST(SUM(busy_seconds) AS BIGINT) AS busy_seconds, CAST(MAX(peak_queue) AS INTEGER) AS peak_queue,
  CAST(SUM(device_txns) AS INTEGER) AS device_txns
FROM {source}
GROUP BY outlet_code, ticket_date ORDER BY outlet_code, ticket_date
"""


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
    for i in range(0, len(outlets), BATCH_OUTLETS):
        batch = outlets[i:i + BATCH_OUTLETS]
        files = K.partition_paths(root, "tickets", [month], batch)
        if files:
            detail = detail_table(con, files, first, last)
        else:
            detail = pa.table({"outlet_code": pa.array([], pa.string())})
        _split_write(detail, root, DETAIL, month, batch)
        scope = K.Scope(first, last, [month], batch, "interval", "outlet_code", None, ())
        ops = con.sql(K.ops_base_sql(os.fspath(root), scope, None, with_eligible=False)
                      + " ORDER BY outlet_code, ticket_date, interval_idx").to_arrow_table()
        _split_write(ops.drop_columns(["eligible_tickets"]), root, OPS, month, batch)
    _compact_month(con, root, month, outlets)


def _compact_month(con, root: Path, month: str, touched: Sequence[str] | None) -> None:
    """Update the month's compacts: keep other outlets' rows, re-aggregate the touched outlets'."""
    day_path, month_path, opsd_path = (_part(root, t, month) for t in (DAY, MONTH, OPS_DAY))
    incremental = touched is not None and day_path.exists() and opsd_path.exists()
    sel = None if not incremental else list(touched)
    detail = K.partition_paths(root, DETAIL, [month], sel)
    ops = K.partition_paths(root, OPS, [month], sel)
    parts_day, parts_ops = [], []
    if detail:
        src = f"read_parquet([{K._list(detail)}])"
        parts_day.append(con.sql(_compact_sql(src, ("outlet_code", "ticket_date", "business_type", "customer_tier"),
                                              ("outlet_code", "ticket_date", "business_type", "customer_tier")))
                         .to_arrow_table())
    if ops:
        parts_ops.append(con.sql(_ops_day_sql(f"read_parquet([{K._list(ops)}])")).to_arrow_table())
    if incremental:
        keep = f"outlet_code NOT IN ({K._list(touched)})" if touched else "1 = 1"
        old_day = con.sql(f"SELECT * FROM read_parquet({K._lit(str(day_path))}) WHERE {keep}").to_arrow_table()
        old_ops = con.sql(f"SELECT * FROM read_parquet({K._lit(str(opsd_path))}) WHERE {keep}").to_arrow_table()
        parts_day.insert(0, old_day)
        parts_ops.insert(0, old_ops)
    day = _concat_sorted(parts_day, ["outlet_code", "ticket_date", "business_type", "customer_tier"])
    opsd = _concat_sorted(parts_ops, ["outlet_code", "ticket_date"])
    if day is None or day.num_rows == 0:
        _remove(day_path)
        _remove(month_path)
    else:
        _write(day, day_path, COMPACT_ROW_GROUP)
        con.register("_day_compact", day)
        try:
            mon = con.sql(_compact_sql("_day_compact", ("outlet_code", "month_start", "business_type", "customer_tier"),
                                       ("outlet_code", f"DATE '{month}-01'", "business_type", "customer_tier")))
            _write(mon.to_arrow_table(), month_path, COMPACT_ROW_GROUP)
        finally:
            con.unregister("_day_compact")
    if opsd is None or opsd.num_rows == 0:
        _remove(opsd_path)
    else:
        _write(opsd, opsd_path, COMPACT_ROW_GROUP)


def _concat_sorted(parts: list[pa.Table], keys: list[str]) -> pa.Table | None:
    parts = [p for p in parts if p.num_rows]
    if not parts:
        return None
    table = pa.concat_tables([p.cast(parts[0].schema) for p in parts])
    return table.sort_by([(k, "ascending") for k in keys]) if len(parts) > 1 else table


def refresh(root: str | os.PathLike, partitions: Iterable[tuple[str, str]], *, con=None) -> dict:
    """Recompute the roll-ups of the touched (month 'YYYY-MM', outlet_code) partitions, then the month compacts.

    Call it after the import replaced ticket or device partitions. A partition whose ticket and device
    files are gone loses its roll-up rows. Returns {"partitions", "months", "seconds"}.
    """
    root = Path(root)
    by_month: dict[str, set[str]] = {}
    for month, outlet in partitions:
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
    finally:
        if own:
            con.close()
    return {"partitions": sum(len(v) for v in by_month.values()), "months": len(by_month),
            "seconds": round(time.perf_counter() - t0, 3)}


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
                if odir.name.startswith("outlet="):
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


# -------------------------------------------------------------------------------------------- queries
def _files(root: str, table: str, months: Sequence[str], outlets: Sequence[str] | None) -> list[str]:
    if table in (DETAIL, OPS):
        return K.partition_paths(root, table, months, outlets)
    return [str(_part(Path(root), table, m)) for m in months if _part(Path(root), table, m).exists()]


def _source(files: Sequence[str], columns: Sequence[str]) -> str:
    if files:
        return f"read_parquet([{K._list(files)}])"
    # An empty relation with the right columns (types do not matter: it has no rows).
    cols = ", ".join(f"CAST(NULL AS {'DATE' if c in ('ticket_date', 'month_start') else 'VARCHAR' if c in ('outlet_code', 'business_type', 'customer_tier') else 'BIGINT'}) AS {c}" for c in columns)  # noqa: E501
    return f"(SELECT {cols} WHERE 1 = 0)"


def _month_aligned(scope: K.Scope) -> bool:
    return scope.start.day == 1 and (scope.end + timedelta(days=1)).day == 1


def choose_level(scope: K.Scope) -> str:
    """The cheapest roll-up that answers the wait question: month compact, day compact or detail."""
    if scope.grain == "interval":
        return DETAIL
    if scope.grain in ("month", "total") and _month_aligned(scope):
        return MONTH
    return DAY


def _overtime_sql(thresholds: Mapping[str, int] | None) -> str:
    th = K.check_thresholds(thresholds)

    def tail(seconds: int) -> str:
        return "(" + " + ".join(HIST[seconds // 60:]) + ")"

    whens = " ".join(f"WHEN {K._lit(t)} THEN {tail(v)}" for t, v in th.items() if t != "regular")
    return f"CASE customer_tier {whens} ELSE {tail(th['regular'])} END" if whens else tail(th["regular"])


def rollup_wait_sql(root: str, scope: K.Scope, thresholds: Mapping[str, int] | None, level: str) -> str:
    day_col = "month_start" if level == MONTH else "ticket_date"
    files = _files(root, level, scope.months, scope.outlets)
    cols = ["outlet_code", day_col, "business_type", "customer_tier", *MEASURES, "wait_max", *HIST]
    if level == DETAIL:
        cols.insert(2, "interval_idx")
    src = _source(files, cols)
    join, group_expr = K._group_join(scope, "r")
    inner = K._period_cols(scope, f"r.{day_col}", "r.interval_idx")
    keys = scope.keys()
    key_list = ", ".join(keys)
    if level == MONTH:
        first = scope.start.replace(day=1)
        date_filter = f"r.month_start BETWEEN DATE '{first}' AND DATE '{scope.end}'"
    else:
        date_filter = K._date_filter(scope, "r.ticket_date")
    return f"""
SELECT {key_list}, {_sum_cols(MEASURES)}, CAST(MAX(wait_max) AS BIGINT) AS wait_max,
  CAST(SUM(overtime) AS BIGINT) AS overtime, {_sum_cols(HIST)}
FROM (
  SELECT {', '.join(inner + [f'{group_expr} AS {scope.group}'] + [f'r.{b} AS {b}' for b in scope.breakdown])},
    {', '.join(f'r.{c}' for c in (*MEASURES, 'wait_max', *HIST))},
    {_overtime_sql(thresholds).replace('customer_tier', 'r.customer_tier')} AS overtime
  FROM {src} AS r{join}
  WHERE {date_filter}{K._outlet_filter(scope, 'r.outlet_code')}
) AS k
GROUP BY {key_list} ORDER BY {key_list}
"""


def hist_quantiles(hist: np.ndarray, wait_max: np.ndarray, ps: Sequence[float]) -> list[np.ndarray]:
    """Linear-interpolation percentiles estimated from per-row wait histograms (rows x BINS).

    The value of rank r (0-based) is placed inside its bin as if the bin's c values were spread
    evenly: lower + (j + 0.5) / c x 60 s, j its rank inside the bin; in the overflow bin evenly up to
    the row's longest wait; the top rank is the longest wait itself. Rows without waits give NaN.
    """
    hist = hist.astype(np.int64, copy=False)
    n = hist.sum(axis=1)
    cum = np.cumsum(hist, axis=1)
    lower = np.arange(BINS, dtype=np.float64) * 60.0
    rows = np.arange(len(n))
    wmax = wait_max.astype(np.float64)
    top = np.maximum(np.nan_to_num(wmax, nan=K.MAX_THRESHOLD), K.MAX_THRESHOLD)

    def value(rank: np.ndarray) -> np.ndarray:
        b = np.argmax(cum > rank[:, None], axis=1)
        c = hist[rows, b]
        j = rank - (cum[rows, b] - c)
        lo = lower[b]
        over = b == BINS - 1
        # Overflow: spread up to the longest wait, the last rank landing on it exactly.
        v = np.where(over, lo + (j + 1) / c * (top - lo), lo + (j + 0.5) / c * 60.0)
        return np.where(rank == n - 1, wmax, v)  # the top rank is the known longest wait

    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for p in ps:
            h = np.maximum(n - 1, 0) * p
            r0 = np.floor(h)
            frac = h - r0
            v0 = value(r0)
            v1 = value(np.minimum(r0 + 1, np.maximum(n - 1, 0)))
            q = v0 + frac * (v1 - v0)
            out.append(np.where(n > 0, q, np.nan))
    return out


def _finish_wait(raw: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Turn summed roll-up measures into the KPI columns of kpis.wait_kpis (same names and types)."""
    def col(name: str) -> np.ndarray:
        return raw.column(name).to_numpy(zero_copy_only=False).astype(np.float64)

    arrivals, called, abandoned = col("arrivals"), col("called"), col("abandoned")
    hist = np.column_stack([raw.column(c).to_numpy(zero_copy_only=False) for c in HIST]) if raw.num_rows \
        else np.zeros((0, BINS), np.int64)
    wmax = raw.column("wait_max")
    med, p90 = hist_quantiles(hist, wmax.to_numpy(zero_copy_only=False).astype(np.float64), (0.5, 0.9))

    def ratio(num: np.ndarray, den: np.ndarray) -> pa.Array:
        with np.errstate(invalid="ignore", divide="ignore"):
            v = num / den
        return pa.array(v, pa.float64(), mask=den == 0)

    cols = {k: raw.column(k) for k in keys}
    for c in ("arrivals", "served", "transferred", "abandoned", "called"):
        cols[c] = raw.column(c).cast(pa.int64())
    cols["abandon_rate"] = ratio(abandoned, arrivals)
    cols["wait_mean"] = ratio(col("wait_sum"), called)
    cols["wait_median"] = pa.array(med, pa.float64(), mask=np.isnan(med))
    cols["wait_p90"] = pa.array(p90, pa.float64(), mask=np.isnan(p90))
    cols["wait_max"] = wmax.cast(pa.int64())
    cols["overtime"] = raw.column("overtime").cast(pa.int64())
    cols["overtime_ratio"] = ratio(col("overtime"), called)
    cols["service_mean"] = ratio(col("service_sum"), col("service_count"))
    return pa.table(cols)


def rollup_wait_kpis(root: str | os.PathLike, start: date, end: date, *, grain: str | None = "day",
                     outlets: Iterable[str] | None = None, mapping=None, breakdown: Sequence[str] = (),
                     thresholds: Mapping[str, int] | None = None, level: str | None = None,
                     con=None) -> pa.Table:
    """kpis.wait_kpis answered from the roll-ups (percentiles from the histograms).

    ``level`` forces a roll-up table (rollup / rollup_day / rollup_month), else the cheapest is used.
    """
    scope = K.resolve(start, end, grain, outlets, mapping, breakdown)
    level = level or choose_level(scope)
    if level == MONTH and not _month_aligned(scope):
        raise ValueError("the month roll-up answers whole months only")
    if level == MONTH and scope.grain in ("day", "interval", "week"):
        raise ValueError("the month roll-up has no days")
    raw = K.run(con, rollup_wait_sql(os.fspath(root), scope, thresholds, level), scope)
    return _finish_wait(raw, scope.keys())


def rollup_ops_sql(root: str, scope: K.Scope, eligible_types: Sequence[str] | None) -> str:
    if scope.grain == "interval":
        ops_t, tick_t, cols = OPS, DETAIL, ["interval_idx"]
    else:
        ops_t, tick_t, cols = OPS_DAY, DAY, []
    ops_files = _files(root, ops_t, scope.months, scope.outlets)
    tick_files = _files(root, tick_t, scope.months, scope.outlets)
    keys = ["outlet_code", "ticket_date", *cols]
    if eligible_types is None:
        eligible = "served"
    elif eligible_types:
        eligible = f"CASE WHEN business_type IN ({K._list(eligible_types)}) THEN served ELSE 0 END"
    else:
        eligible = "0"
    where = K._date_filter(scope, "ticket_date") + K._outlet_filter(scope)
    base = f"""
SELECT {', '.join(keys)}, SUM(counters_open) AS counters_open, SUM(busy_seconds) AS busy_seconds,
  MAX(peak_queue) AS peak_queue, SUM(device_txns) AS device_txns, SUM(eligible_tickets) AS eligible_tickets
FROM (
  SELECT {', '.join(keys)}, counters_open, busy_seconds, peak_queue, device_txns, 0 AS eligible_tickets
  FROM {_source(ops_files, keys + list(OPS_MEASURES))} AS o WHERE {where}
  UNION ALL
  SELECT {', '.join(keys)}, 0, 0, 0, 0, {eligible}
  FROM {_source(tick_files, keys + ['business_type', 'served'])} AS e WHERE {where}
) AS u
GROUP BY {', '.join(keys)}"""
    return K.ops_final_sql(scope, base)


def rollup_ops_kpis(root: str | os.PathLike, start: date, end: date, *, grain: str | None = "day",
                    outlets: Iterable[str] | None = None, mapping=None,
                    eligible_types: Sequence[str] | None = None, con=None) -> pa.Table:
    """kpis.ops_kpis answered from the roll-ups (exact)."""
    scope = K.resolve(start, end, grain, outlets, mapping)
    return K.run(con, rollup_ops_sql(os.fspath(root), scope, eligible_types), scope)


def rollup_kpis(root: str | os.PathLike, start: date, end: date, *, grain: str | None = "day",
                outlets: Iterable[str] | None = None, mapping=None, thresholds: Mapping[str, int] | None = None,
                eligible_types: Sequence[str] | None = None, con=None) -> pa.Table:
    """kpis.kpis answered from the roll-ups: what the dashboards and the API call."""
    own = con is None
    con = con or K.connect()
    try:
        scope = K.resolve(start, end, grain, outlets, mapping)
        wait = rollup_wait_kpis(root, start, end, grain=grain, outlets=outlets, mapping=mapping,
                                thresholds=thresholds, con=con)
        ops = rollup_ops_kpis(root, start, end, grain=grain, outlets=outlets, mapping=mapping,
                              eligible_types=eligible_types, con=con)
        return K.join_kpis(wait, ops, scope.keys())
    finally:
        if own:
            con.close()
