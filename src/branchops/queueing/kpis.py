"""Waiting KPIs from the raw queue tickets: exact figures, SQL over the Parquet store.

Pure module (no Django import). The SQL is ANSI SQL that DuckDB, Spark SQL and Trino all run; the only
engine-specific pieces sit in a small :class:`Dialect` hook: the seconds-between expression, the
percentile aggregate (DuckDB quantile_cont and Spark percentile are exact; Trino only has
approx_percentile) and the Parquet source (files for DuckDB, a partitioned table for Spark/Trino).
This module runs the DuckDB dialect; ``SPARK`` and ``TRINO`` only render SQL text (``wait_sql``,
``ops_sql``) for those engines, which read the same layout as a table partitioned by the ``month``
and ``outlet`` path keys (Spark: ``spark.read.parquet(f"{root}/tickets")`` registered as view
``tickets``; Trino: a Hive external table with ``partitioned_by = ARRAY['month', 'outlet']``). A group
mapping is referenced as the relation ``outlet_map`` (DuckDB: the Arrow table is registered for the
query). Exact and roll-up answers have the same rows, columns, types and order (sorted by the keys).

Store layout (written by the importer):
    {root}/tickets/month=YYYY-MM/outlet=<outlet_code>/data.parquet   TICKET_SCHEMA
    {root}/devices/month=YYYY-MM/outlet=<outlet_code>/data.parquet   DEVICE_SCHEMA
    {root}/ticket_waits/month=YYYY-MM/data.parquet                   WAITS_SCHEMA (month compact)
The month compact holds every ticket of the month reduced to what the wait KPIs read (interval,
wait and service seconds already computed), in one file in the partitions' order (outlet, day,
issue time). Branch-wide exact queries read it instead of a thousand small partition files: the
same rows, a third of the work. It is rebuilt with the roll-ups after every import (``build_waits``)
and only used while its footer still names the partition files it was built from (count, newest
mtime, total size); otherwise, and for a few outlets, the query reads the partitions.
Queries only open the partitions of the months in the date range and, when outlets are given (or a
mapping limits them), only those outlets' files, so one outlet's queries stay fast at any store size.

Definitions (the UI states them):
  arrivals        every ticket, counted in the half-hour interval of its issued_at.
  served / transferred / abandoned   tickets by outcome.
  called          tickets with outcome served or transferred (CALLED_OUTCOMES) and a called_at:
                  only these have a wait.
  wait            called_at - issued_at in whole seconds (Qmatic Orchestra's definition).
  wait_mean / wait_median / wait_p90   over the called tickets; percentiles interpolate linearly
                  between the closest ranks (DuckDB quantile_cont, pandas interpolation='linear').
  wait_max        the longest wait.
  overtime_ratio  客户超时等候占比: the share of called customers whose wait exceeded the threshold
                  of their tier (strictly greater). Thresholds are whole minutes, set per tier;
                  defaults regular 900 s, vip 300 s, private 300 s; a tier without its own
                  threshold uses the regular one.
  abandon_rate    abandoned / arrivals.
  service_mean    mean of service_end_at - service_start_at over the called tickets that have both.
  busy_seconds    counter time spent serving, split over the half-hour intervals it overlaps
                  (clipped to the ticket's day).
  counter_seconds for each interval, the distinct counters that served in it (had busy time there)
                  x 1800 s, summed over the intervals of the period.
  utilisation     busy_seconds / counter_seconds, i.e. per interval busy seconds over (counters that
                  served in the interval x interval seconds); coarser grains sum both sides.
  peak_queue      the largest number of customers waiting at once (issued, not yet called) at any
                  instant in the interval, counting the customers who were called (served or
                  transferred): each waits from issued_at until called_at. Abandoned tickets are not
                  counted: the log does not say when they left, and assuming "until the next call"
                  kept them in the queue across a multi-hour gap (315 where served customers peaked
                  at ~15). A coarser grain takes the largest interval peak. Queues are per outlet, so
                  for a group of outlets this is the largest outlet peak, not the sum.
  device_txns     device (self-service) transactions, in the interval of their start_at.
  eligible_tickets  counter tickets of device-eligible business types: tickets served at a counter
                  whose business_type is in ``eligible_types`` (all types when None).
  migration_rate  device_txns / (device_txns + eligible_tickets).
Grains: "interval" (day x half-hour of issued_at; interval_idx 0..47, 0 = 00:00-00:30), "day",
"week" (ISO, Monday), "month", "total" (the whole range). Levels: per outlet, or per group of a
mapping table (outlet_code -> group key; an outlet may sit in several groups). Optional breakdown
by business_type and/or customer_tier (wait KPIs only; the ops KPIs belong to the outlet).
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from branchops.queueing.schema import (
    CALLED_OUTCOMES,
    DEVICE_SCHEMA,
    INTERVAL_MINUTES,
    TICKET_SCHEMA,
)

GRAINS = ("interval", "day", "week", "month", "total")
BREAKDOWNS = ("business_type", "customer_tier")
DEFAULT_THRESHOLDS = {"regular": 900, "vip": 300, "private": 300}
MAX_THRESHOLD = 7200  # the roll-up histogram is exact up to 120 minutes
INTERVAL_SECONDS = INTERVAL_MINUTES * 60
INTERVALS = 24 * 60 // INTERVAL_MINUTES

WAIT_COLUMNS = ("arrivals", "served", "transferred", "abandoned", "called", "abandon_rate", "wait_mean",
                "wait_median", "wait_p90", "wait_max", "overtime", "overtime_ratio", "service_mean")
OPS_COLUMNS = ("busy_seconds", "counter_seconds", "utilisation", "peak_queue", "device_txns",
               "eligible_tickets", "migration_rate")

WAITS = "ticket_waits"
WAITS_SCHEMA = pa.schema([
    ("outlet_code", pa.string()), ("ticket_date", pa.date32()), ("interval_idx", pa.int8()),
    ("business_type", pa.string()), ("customer_tier", pa.string()), ("outcome", pa.string()),
    ("wait_s", pa.int32()), ("service_s", pa.int32()),
])
# Below this many outlets the partition files are as quick to read as the month compact.
COMPACT_MIN_OUTLETS = 20
_WAITS_ROW_GROUP = 1 << 20
_SOURCES_KEY = "branchops_sources"
# The business category of a ticket whose business type the queue settings do not map.
UNMAPPED = "unmapped"

_CALLED = ", ".join(f"'{o}'" for o in CALLED_OUTCOMES)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SQL_TYPES = {pa.string(): "VARCHAR", pa.date32(): "DATE", pa.int8(): "TINYINT", pa.int32(): "INTEGER"}


# --------------------------------------------------------------------------------------------- dialects
@dataclass(frozen=True)
class Dialect:
    """The engine-specific bits. Everything else in the generated SQL is ANSI."""

    name: str
    seconds_sql: str = "date_diff('second', {a}, {b})"  # whole seconds from a to b
    # Several percentiles in one aggregate (one sort per group); linear interpolation between ranks.
    quantiles_sql: str = "quantile_cont({x}, [{ps}])"
    element_sql: str = "{a}[{i}]"  # i counts from 1, i0 from 0
    tables: Mapping[str, str] = field(default_factory=lambda: {"tickets": "tickets", "devices": "devices",
                                                               "ticket_waits": "ticket_waits"})

    def seconds(self, a: str, b: str) -> str:
        return self.seconds_sql.format(a=a, b=b)

    def quantiles(self, x: str, ps: Sequence[float]) -> str:
        return self.quantiles_sql.format(x=x, ps=", ".join(str(p) for p in ps))

    def element(self, a: str, i: int) -> str:
        return self.element_sql.format(a=a, i=i, i0=i - 1)

    def source(self, root: str, kind: str, months: Sequence[str], outlets: Sequence[str] | None,
               alias: str = "src") -> str:
        """FROM item for the tickets or devices of these months (and outlets): partition pruning."""
        where = [f"month IN ({_list(months)})" if months else "1 = 0"]
        if outlets is not None:
            where.append(f"outlet IN ({_list(outlets)})" if outlets else "1 = 0")
        return f"(SELECT * FROM {self.tables[kind]} WHERE {' AND '.join(where)}) AS {alias}"


@dataclass(frozen=True)
class DuckDBDialect(Dialect):
    """DuckDB reads the partition files directly: the file list itself is the pruning."""

    def source(self, root: str, kind: str, months: Sequence[str], outlets: Sequence[str] | None,
               alias: str = "src") -> str:
        if kind == WAITS:  # one file per month; outlets are filtered in the query
            paths = [p for p in (waits_path(root, m) for m in months) if os.path.exists(p)]
        else:
            paths = partition_paths(root, kind, months, outlets)
        if not paths:
            schema = {"tickets": TICKET_SCHEMA, "devices": DEVICE_SCHEMA}.get(kind, WAITS_SCHEMA)
            return _empty_source(schema, alias)
        return f"read_parquet([{_list(paths)}], hive_partitioning = false) AS {alias}"


DUCKDB = DuckDBDialect("duckdb")
SPARK = Dialect("spark", seconds_sql="timestampdiff(SECOND, {a}, {b})",
                quantiles_sql="percentile({x}, array({ps}))", element_sql="{a}[{i0}]")
# Trino has no exact percentile aggregate: its figures for median/P90 are approximate.
TRINO = Dialect("trino", quantiles_sql="approx_percentile({x}, ARRAY[{ps}])",
                element_sql="element_at({a}, {i})")


def _empty_source(schema: pa.Schema, alias: str = "src") -> str:
    cols = ", ".join(f"CAST(NULL AS {_SQL_TYPES.get(f.type, 'TIMESTAMP')}) AS {f.name}" for f in schema)
    return f"(SELECT {cols} FROM (VALUES (1)) AS e(x) WHERE 1 = 0) AS {alias}"


# ----------------------------------------------------------------------------------------------- helpers
def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _list(values: Iterable[str]) -> str:
    return ", ".join(_lit(v) for v in values)


def check_outlet_code(code: str) -> str:
    # Outlet codes become path segments: refuse anything that could leave the partition directory.
    if not code or "/" in code or "\\" in code or code in (".", "..") or "\x00" in code:
        raise ValueError(f"invalid outlet code {code!r}")
    return code


def months_between(start: date, end: date) -> list[str]:
    if end < start:
        return []
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def partition_paths(root: str | os.PathLike, kind: str, months: Sequence[str],
                    outlets: Sequence[str] | None, name: str = "data.parquet") -> list[str]:
    """Existing partition files of these months (and outlets): what a query needs to open."""
    paths = []
    for month in months:
        mdir = os.path.join(os.fspath(root), kind, f"month={month}")
        if outlets is None:
            try:
                entries = sorted(e for e in os.listdir(mdir) if e.startswith("outlet="))
            except FileNotFoundError:
                continue
            candidates = [os.path.join(mdir, e, name) for e in entries]
        else:
            candidates = [os.path.join(mdir, f"outlet={check_outlet_code(o)}", name) for o in outlets]
        paths.extend(p for p in candidates if os.path.exists(p))
    return paths


def future_tickets(root: str | os.PathLike, partitions: Iterable[tuple[str, str]], today: date,
                   con=None) -> tuple[int, date | None, date | None]:
    """Tickets dated after ``today`` in these (month, outlet) partitions: count, first and last day.
    Only partitions of today's month or later are opened."""
    this = today.strftime("%Y-%m")
    files = [os.path.join(os.fspath(root), "tickets", f"month={m}", f"outlet={o}", "data.parquet")
             for m, o in partitions if m >= this]
    files = [f for f in files if os.path.exists(f)]
    if not files:
        return 0, None, None
    own = con is None
    con = con or connect()
    try:
        n, first, last = con.execute(
            f"SELECT COUNT(*), MIN(ticket_date), MAX(ticket_date) FROM read_parquet([{_list(files)}]) "
            "WHERE ticket_date > ?", [today]).fetchone()
    finally:
        if own:
            con.close()
    return int(n), first, last


def check_thresholds(thresholds: Mapping[str, int] | None) -> dict[str, int]:
    """Per-tier thresholds in seconds; whole minutes from 1 to 120 (so roll-ups are exact)."""
    out = dict(DEFAULT_THRESHOLDS)
    out.update(thresholds or {})
    for tier, value in out.items():
        if int(value) != value or value % 60 or not 60 <= value <= MAX_THRESHOLD:
            raise ValueError(f"threshold for {tier!r} must be whole minutes from 1 to 120, got {value}")
        out[tier] = int(value)
    return out


def category_case(categories: Mapping[str, str], col: str = "business_type") -> str:
    """The business category of a ticket from the settings' mapping (log business type -> category);
    a type the mapping does not name is ``UNMAPPED``, never dropped."""
    whens = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in sorted(categories.items()))
    return f"CASE {col} {whens} ELSE {_lit(UNMAPPED)} END" if whens else _lit(UNMAPPED)


def threshold_case(thresholds: Mapping[str, int], tier_col: str = "customer_tier") -> str:
    th = check_thresholds(thresholds)
    whens = " ".join(f"WHEN {_lit(t)} THEN {v}" for t, v in th.items() if t != "regular")
    return f"CASE {tier_col} {whens} ELSE {th['regular']} END" if whens else str(th["regular"])


def interval_sql(ts: str) -> str:
    """Half-hour interval index 0..47 of a (naive local) timestamp: ANSI EXTRACT, no epoch maths."""
    return (f"CAST(EXTRACT(HOUR FROM {ts}) * 2 + CASE WHEN EXTRACT(MINUTE FROM {ts}) >= 30 THEN 1 ELSE 0 END"
            " AS SMALLINT)")


def _interval_on_day(ts: str, day: str) -> str:
    # Events after midnight (a wait or service running past the day) count in the day's last interval.
    return (f"CASE WHEN CAST({ts} AS DATE) > {day} THEN {INTERVALS - 1} "
            f"WHEN CAST({ts} AS DATE) < {day} THEN 0 ELSE {interval_sql(ts)} END")


def period_sql(grain: str, day_col: str) -> str | None:
    if grain in ("day", "interval"):
        return day_col
    if grain == "week":
        return f"CAST(date_trunc('week', {day_col}) AS DATE)"
    if grain == "month":
        return f"CAST(date_trunc('month', {day_col}) AS DATE)"
    return None


def check_grain(grain: str | None) -> str:
    grain = grain or "total"
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    return grain


def check_breakdown(breakdown: Sequence[str]) -> tuple[str, ...]:
    breakdown = tuple(breakdown or ())
    for b in breakdown:
        if b not in BREAKDOWNS:
            raise ValueError(f"breakdown must be among {BREAKDOWNS}")
    return breakdown


def as_arrow(table) -> pa.Table:
    if table is None or isinstance(table, pa.Table):
        return table
    return pa.Table.from_pandas(table, preserve_index=False)  # a pandas DataFrame


def mapping_key(mapping: pa.Table) -> str:
    """The group column of a mapping table: its column other than outlet_code."""
    others = [c for c in mapping.column_names if c != "outlet_code"]
    if "outlet_code" not in mapping.column_names or len(others) != 1:
        raise ValueError("mapping must have exactly two columns: outlet_code and the group key")
    key = others[0]
    taken = WAIT_COLUMNS + OPS_COLUMNS + BREAKDOWNS + ("period_start", "interval_idx")
    if not _IDENT.match(key) or key in taken:
        raise ValueError(f"invalid group column name {key!r}")
    return key


@dataclass
class Scope:
    """A resolved query scope: months to open, outlets to open (None = all), group column."""

    start: date
    end: date
    months: list[str]
    outlets: list[str] | None
    grain: str
    group: str  # output column of the level: outlet_code or the mapping's group key
    mapping: pa.Table | None
    breakdown: tuple[str, ...]

    def keys(self) -> list[str]:
        keys = [] if self.grain == "total" else ["period_start"]
        if self.grain == "interval":
            keys.append("interval_idx")
        return keys + [self.group, *self.breakdown]


def resolve(start: date, end: date, grain: str | None, outlets: Iterable[str] | None, mapping,
            breakdown: Sequence[str] = ()) -> Scope:
    grain = check_grain(grain)
    mapping = as_arrow(mapping)
    group = "outlet_code"
    wanted = None if outlets is None else sorted({check_outlet_code(o) for o in outlets})
    if mapping is not None:
        group = mapping_key(mapping)
        mapping = mapping.select(["outlet_code", group]).cast(
            pa.schema([("outlet_code", pa.string()), (group, mapping.schema.field(group).type)]))
        mapped = {check_outlet_code(o) for o in mapping.column("outlet_code").to_pylist() if o is not None}
        # Only the mapped outlets can appear in the result: open only their partitions.
        wanted = sorted(mapped if wanted is None else mapped & set(wanted))
    return Scope(start, end, months_between(start, end), wanted, grain, group, mapping,
                 check_breakdown(breakdown))


# ---------------------------------------------------------------------------------------------- SQL text
def _period_cols(scope: Scope, day_col: str, interval_col: str | None) -> list[str]:
    cols = []
    if scope.grain != "total":
        cols.append(f"{period_sql(scope.grain, day_col)} AS period_start")
    if scope.grain == "interval":
        cols.append(f"{interval_col} AS interval_idx")
    return cols


def _date_filter(scope: Scope, col: str) -> str:
    return f"{col} BETWEEN DATE '{scope.start.isoformat()}' AND DATE '{scope.end.isoformat()}'"


def _outlet_filter(scope: Scope, col: str = "outlet_code") -> str:
    if scope.outlets is None:
        return ""
    return f" AND {col} IN ({_list(scope.outlets)})" if scope.outlets else " AND 1 = 0"


def _group_join(scope: Scope, alias: str) -> tuple[str, str]:
    """(JOIN clause, group expression) for the level: the mapping joins on outlet_code."""
    if scope.mapping is None:
        return "", f"{alias}.outlet_code"
    return f" JOIN outlet_map m ON m.outlet_code = {alias}.outlet_code", f"m.{scope.group}"


def waits_select(src: str, dialect: Dialect = DUCKDB) -> str:
    """The wait-KPI columns (WAITS_SCHEMA) computed from raw ticket rows: what the month compact stores."""
    wait = dialect.seconds("issued_at", "called_at")
    service = dialect.seconds("service_start_at", "service_end_at")
    return f"""SELECT outlet_code, ticket_date, CAST({interval_sql('issued_at')} AS TINYINT) AS interval_idx,
    business_type, customer_tier, outcome,
    CAST(CASE WHEN outcome IN ({_CALLED}) THEN {wait} END AS INTEGER) AS wait_s,
    CAST(CASE WHEN outcome IN ({_CALLED}) THEN {service} END AS INTEGER) AS service_s
  FROM {src}"""


def wait_sql(root: str, scope: Scope, thresholds: Mapping[str, int] | None = None,
             dialect: Dialect = DUCKDB, compact: bool = False,
             categories: Mapping[str, str] | None = None) -> str:
    """Exact wait KPIs from the raw tickets, one row per key of the scope.

    ``compact`` reads the month compacts (same rows, see the module docstring) instead of the partitions.
    ``categories`` (log business type -> business category): the business_type key carries the
    category instead, at read time, so a changed mapping needs no re-import.
    """
    if compact:
        src = dialect.source(root, WAITS, scope.months, None, alias="w")
    else:
        src = f"({waits_select(dialect.source(root, 'tickets', scope.months, scope.outlets), dialect)}) AS w"
    join, group_expr = _group_join(scope, "t")
    inner = _period_cols(scope, "ticket_date", "interval_idx")
    keys = scope.keys()
    by_cols = [f"{group_expr} AS {scope.group}"] + [f"t.{b} AS {b}" for b in scope.breakdown]
    key_list = ", ".join(keys)
    business = "business_type" if categories is None else category_case(categories)
    return f"""
WITH t AS (
  SELECT outlet_code, ticket_date, CAST(interval_idx AS SMALLINT) AS interval_idx,
    {business} AS business_type,
    customer_tier, outcome, wait_s, service_s, {threshold_case(thresholds or {})} AS threshold_s
  FROM {src}
  WHERE {_date_filter(scope, 'ticket_date')}{_outlet_filter(scope)}
), k AS (
  SELECT {', '.join(inner + by_cols)}, t.outcome, t.wait_s, t.service_s, t.threshold_s
  FROM t{join}
), a AS (
  SELECT {key_list},
    COUNT(*) AS arrivals,
    SUM(CASE WHEN outcome = 'served' THEN 1 ELSE 0 END) AS served,
    SUM(CASE WHEN outcome = 'transferred' THEN 1 ELSE 0 END) AS transferred,
    SUM(CASE WHEN outcome = 'abandoned' THEN 1 ELSE 0 END) AS abandoned,
    COUNT(wait_s) AS called,
    SUM(wait_s) AS wait_sum,
    MAX(wait_s) AS wait_max,
    {dialect.quantiles('wait_s', (0.5, 0.9))} AS wait_q,
    SUM(CASE WHEN wait_s > threshold_s THEN 1 ELSE 0 END) AS overtime,
    COUNT(service_s) AS service_count,
    SUM(service_s) AS service_sum
  FROM k GROUP BY {key_list}
)
SELECT {key_list},
  CAST(arrivals AS BIGINT) AS arrivals, CAST(served AS BIGINT) AS served,
  CAST(transferred AS BIGINT) AS transferred, CAST(abandoned AS BIGINT) AS abandoned,
  CAST(called AS BIGINT) AS called,
  CAST(abandoned AS DOUBLE) / arrivals AS abandon_rate,
  CAST(wait_sum AS DOUBLE) / NULLIF(called, 0) AS wait_mean,
  CAST({dialect.element('wait_q', 1)} AS DOUBLE) AS wait_median,
  CAST({dialect.element('wait_q', 2)} AS DOUBLE) AS wait_p90,
  CAST(wait_max AS BIGINT) AS wait_max,
  CAST(overtime AS BIGINT) AS overtime,
  CAST(overtime AS DOUBLE) / NULLIF(called, 0) AS overtime_ratio,
  CAST(service_sum AS DOUBLE) / NULLIF(service_count, 0) AS service_mean
FROM a ORDER BY {key_list}
"""


def interval_dim() -> str:
    rows = ", ".join(f"({i}, {i * INTERVAL_SECONDS}, {(i + 1) * INTERVAL_SECONDS})" for i in range(INTERVALS))
    return f"(VALUES {rows}) AS d(i, lo, hi)"


def ops_base_sql(root: str, scope: Scope, eligible_types: Sequence[str] | None,
                 dialect: Dialect = DUCKDB, with_eligible: bool = True) -> str:
    """Per outlet x day x interval: counters_open, busy_seconds, peak_queue, device_txns, eligible_tickets.

    Rows: every interval with tickets, service time, a waiting customer or device transactions.
    The roll-up stores exactly this table (without eligible_tickets, which depends on the parameter).
    """
    src = dialect.source(root, "tickets", scope.months, scope.outlets)
    dsrc = dialect.source(root, "devices", scope.months, scope.outlets, alias="dsrc")
    midnight = "CAST(ticket_date AS TIMESTAMP)"
    day_filter = _date_filter(scope, "ticket_date") + _outlet_filter(scope)
    if eligible_types is None:
        eligible = "outcome = 'served'"
    elif eligible_types:
        eligible = f"outcome = 'served' AND business_type IN ({_list(eligible_types)})"
    else:
        eligible = "1 = 0"
    el_part = f"""
  UNION ALL
  SELECT outlet_code, ticket_date, {interval_sql('issued_at')} AS interval_idx, 0, 0, 0, 0,
    CASE WHEN {eligible} THEN 1 ELSE 0 END
  FROM t""" if with_eligible else f"""
  UNION ALL
  SELECT outlet_code, ticket_date, {interval_sql('issued_at')} AS interval_idx, 0, 0, 0, 0, 0 FROM t"""
    return f"""
WITH t AS (
  SELECT outlet_code, ticket_date, ticket_no, business_type, queue_type, issued_at, called_at,
    service_start_at, service_end_at, counter_no, outcome
  FROM {src}
  WHERE {day_filter}
), sv AS (
  SELECT outlet_code, ticket_date, counter_no,
    GREATEST({dialect.seconds(midnight, 'service_start_at')}, 0) AS s0,
    LEAST({dialect.seconds(midnight, 'service_end_at')}, 86400) AS s1
  FROM t
  WHERE counter_no IS NOT NULL AND service_start_at IS NOT NULL AND service_end_at > service_start_at
), busy AS (
  SELECT sv.outlet_code, sv.ticket_date, d.i AS interval_idx, sv.counter_no,
    LEAST(sv.s1, d.hi) - GREATEST(sv.s0, d.lo) AS busy_s
  FROM sv JOIN {interval_dim()} ON d.lo < sv.s1 AND d.hi > sv.s0
), busy_i AS (
  SELECT outlet_code, ticket_date, interval_idx, COUNT(DISTINCT counter_no) AS counters_open,
    SUM(busy_s) AS busy_seconds
  FROM busy GROUP BY outlet_code, ticket_date, interval_idx
), stay AS (
  -- Customers who were called: an abandoned ticket has no time it left (it could be hours later,
  -- across a closed gap), so it never counts; the peak is a served-customers figure.
  SELECT outlet_code, ticket_date, issued_at, called_at AS left_at
  FROM t WHERE called_at IS NOT NULL
), ev AS (
  SELECT outlet_code, ticket_date, issued_at AS ts, 1 AS delta FROM stay WHERE left_at > issued_at
  UNION ALL
  SELECT outlet_code, ticket_date, left_at AS ts, -1 AS delta FROM stay WHERE left_at > issued_at
), lv2 AS (
  -- Leaving before arriving at the same second: the running level's maximum is then a real queue length.
  SELECT outlet_code, ticket_date, {_interval_on_day('ts', 'ticket_date')} AS interval_idx, delta,
    SUM(delta) OVER (PARTITION BY outlet_code, ticket_date ORDER BY ts, delta ROWS UNBOUNDED PRECEDING)
      AS level
  FROM ev
), qi AS (
  SELECT outlet_code, ticket_date, interval_idx, MAX(level) AS max_level, SUM(delta) AS delta
  FROM lv2 GROUP BY outlet_code, ticket_date, interval_idx
), qspan AS (
  SELECT outlet_code, ticket_date, MIN(interval_idx) AS i0, MAX(interval_idx) AS i1
  FROM qi GROUP BY outlet_code, ticket_date
), qgrid AS (
  -- Every interval between a day's first and last queue event: a queue can persist through an
  -- interval without events, and its length there is the level carried in.
  SELECT g.outlet_code, g.ticket_date, d.i AS interval_idx, qi.max_level, COALESCE(qi.delta, 0) AS delta
  FROM qspan g JOIN {interval_dim()} ON d.i BETWEEN g.i0 AND g.i1
  LEFT JOIN qi ON qi.outlet_code = g.outlet_code AND qi.ticket_date = g.ticket_date AND qi.interval_idx = d.i
), qpeak AS (
  SELECT outlet_code, ticket_date, interval_idx,
    GREATEST(entering, COALESCE(max_level, entering)) AS peak_queue
  FROM (
    SELECT outlet_code, ticket_date, interval_idx, max_level,
      SUM(delta) OVER (PARTITION BY outlet_code, ticket_date ORDER BY interval_idx ROWS UNBOUNDED PRECEDING)
        - delta AS entering
    FROM qgrid) x
), dv AS (
  SELECT outlet_code, CAST(start_at AS DATE) AS ticket_date, {interval_sql('start_at')} AS interval_idx
  FROM {dsrc}
  WHERE {_date_filter(scope, 'CAST(start_at AS DATE)')}{_outlet_filter(scope)}
), u AS (
  SELECT outlet_code, ticket_date, interval_idx, counters_open, busy_seconds,
    0 AS peak_queue, 0 AS device_txns, 0 AS eligible_tickets
  FROM busy_i
  UNION ALL
  SELECT outlet_code, ticket_date, interval_idx, 0, 0, peak_queue, 0, 0 FROM qpeak WHERE peak_queue > 0
  UNION ALL
  SELECT outlet_code, ticket_date, interval_idx, 0, 0, 0, 1, 0 FROM dv{el_part}
)
SELECT outlet_code, ticket_date, CAST(interval_idx AS SMALLINT) AS interval_idx,
  CAST(SUM(counters_open) AS INTEGER) AS counters_open, CAST(SUM(busy_seconds) AS BIGINT) AS busy_seconds,
  CAST(MAX(peak_queue) AS INTEGER) AS peak_queue, CAST(SUM(device_txns) AS INTEGER) AS device_txns,
  CAST(SUM(eligible_tickets) AS INTEGER) AS eligible_tickets
FROM u GROUP BY outlet_code, ticket_date, interval_idx
"""


def ops_final_sql(scope: Scope, base: str) -> str:
    """Aggregate a per outlet x day x interval ops relation (SQL text `base`) to the scope's keys."""
    join, group_expr = _group_join(scope, "b")
    keys = scope.keys()
    inner = _period_cols(scope, "b.ticket_date", "b.interval_idx")
    return f"""
SELECT {', '.join(keys)},
  CAST(busy_seconds AS BIGINT) AS busy_seconds, CAST(counter_seconds AS BIGINT) AS counter_seconds,
  CAST(busy_seconds AS DOUBLE) / NULLIF(counter_seconds, 0) AS utilisation,
  CAST(peak_queue AS BIGINT) AS peak_queue, CAST(device_txns AS BIGINT) AS device_txns,
  CAST(eligible_tickets AS BIGINT) AS eligible_tickets,
  CAST(device_txns AS DOUBLE) / NULLIF(device_txns + eligible_tickets, 0) AS migration_rate
FROM (
  SELECT {', '.join(keys)}, SUM(busy_seconds) AS busy_seconds,
    SUM(counters_open) * {INTERVAL_SECONDS} AS counter_seconds, MAX(peak_queue) AS peak_queue,
    SUM(device_txns) AS device_txns, SUM(eligible_tickets) AS eligible_tickets
  FROM (SELECT {', '.join(inner + [f'{group_expr} AS {scope.group}'])}, b.busy_seconds, b.counters_open,
          b.peak_queue, b.device_txns, b.eligible_tickets
        FROM ({base}) AS b{join}) AS k
  GROUP BY {', '.join(keys)}
) AS a
ORDER BY {', '.join(keys)}
"""


def ops_sql(root: str, scope: Scope, eligible_types: Sequence[str] | None = None,
            dialect: Dialect = DUCKDB) -> str:
    return ops_final_sql(scope, ops_base_sql(root, scope, eligible_types, dialect))


# ------------------------------------------------------------------------------------------- execution
def connect(memory_limit: str | None = None, threads: int | None = None):
    """A DuckDB connection for the KPI queries (progress bar off; optional memory / thread limits)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if memory_limit:
        con.execute(f"SET memory_limit = {_lit(memory_limit)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def run(con, sql: str, scope: Scope | None = None) -> pa.Table:
    """Run SQL on DuckDB with the scope's mapping registered as outlet_map."""
    own = con is None
    con = con or connect()
    name = None
    try:
        if scope is not None and scope.mapping is not None:
            name = f"outlet_map_{uuid.uuid4().hex[:8]}"
            con.register(name, scope.mapping)
            sql = sql.replace("JOIN outlet_map m", f"JOIN {name} m")
        return con.sql(sql).to_arrow_table()
    finally:
        if name:
            con.unregister(name)
        if own:
            con.close()


def month_scopes(scope: Scope) -> list[Scope]:
    """The scope cut into calendar months when no result row can span two months, else [scope].

    Running month by month bounds the engine's memory (one month's groups at a time) and gives the
    same rows: day, interval and month keys never straddle a month boundary.
    """
    if scope.grain not in ("interval", "day", "month") or len(scope.months) < 2:
        return [scope]
    out = []
    for m in scope.months:
        first = date.fromisoformat(f"{m}-01")
        last = date(first.year + first.month // 12, first.month % 12 + 1, 1).toordinal() - 1
        out.append(Scope(max(scope.start, first), min(scope.end, date.fromordinal(last)), [m], scope.outlets,
                         scope.grain, scope.group, scope.mapping, scope.breakdown))
    return out


def waits_path(root: str | os.PathLike, month: str) -> str:
    return os.path.join(os.fspath(root), WAITS, f"month={month}", "data.parquet")


def _sources(root: str | os.PathLike, month: str) -> str:
    """What the month's ticket partitions are now: count, newest mtime (ns), total bytes."""
    n = newest = size = 0
    mdir = os.path.join(os.fspath(root), "tickets", f"month={month}")
    try:
        entries = list(os.scandir(mdir))
    except FileNotFoundError:
        entries = []
    for e in entries:
        if not e.name.startswith("outlet="):
            continue
        try:
            st = os.stat(os.path.join(e.path, "data.parquet"))
        except FileNotFoundError:
            continue
        n, newest, size = n + 1, max(newest, st.st_mtime_ns), size + st.st_size
    return f"{n}:{newest}:{size}"


def waits_fresh(root: str | os.PathLike, month: str) -> bool:
    """True when the month compact was built from exactly the partition files there are now."""
    path = waits_path(root, month)
    try:
        meta = pq.read_metadata(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return False
    return meta.get(_SOURCES_KEY.encode()) == _sources(root, month).encode()


def build_waits(root: str | os.PathLike, month: str, con=None) -> int:
    """(Re)write the month compact from the month's ticket partitions; returns its rows.

    The signature of the partitions is taken before they are read, so a partition replaced while the
    compact is built leaves it marked stale rather than wrong. Callers hold the month's roll-up lock.
    """
    root = os.fspath(root)
    path = waits_path(root, month)
    signature = _sources(root, month)
    files = partition_paths(root, "tickets", [month], None)
    if not files:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        return 0
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    own = con is None
    con = con or connect()
    try:
        # Insertion order is kept: files by outlet, rows by day and issue time, so row groups prune
        # on outlet_code without a sort.
        src = f"read_parquet([{_list(files)}], hive_partitioning = false)"
        con.execute(f"COPY ({waits_select(src)}) TO {_lit(tmp)} (FORMAT parquet, COMPRESSION zstd, "
                    f"ROW_GROUP_SIZE {_WAITS_ROW_GROUP}, KV_METADATA {{{_SOURCES_KEY}: {_lit(signature)}}})").fetchall()
        rows = pq.read_metadata(tmp).num_rows
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        if own:
            con.close()
    return int(rows)


def use_compact(root: str | os.PathLike, scope: Scope) -> bool:
    """Read the month compact for this (one-month) scope: many outlets and a compact that is current."""
    many = scope.outlets is None or len(scope.outlets) >= COMPACT_MIN_OUTLETS
    return many and all(waits_fresh(root, m) for m in scope.months)


def _run_by_month(con, scope: Scope, make_sql) -> pa.Table:
    own = con is None
    con = con or connect()
    try:
        parts = [run(con, make_sql(s), s) for s in month_scopes(scope)]
    finally:
        if own:
            con.close()
    return parts[0] if len(parts) == 1 else pa.concat_tables(parts)


def wait_kpis(root: str | os.PathLike, start: date, end: date, *, grain: str | None = "day",
              outlets: Iterable[str] | None = None, mapping=None, breakdown: Sequence[str] = (),
              thresholds: Mapping[str, int] | None = None, con=None, compact: bool = True,
              categories: Mapping[str, str] | None = None) -> pa.Table:
    """Exact wait KPIs: keys (period_start[, interval_idx], outlet_code | group[, breakdown]) + WAIT_COLUMNS.

    Sorted by the keys. Day / interval / month grains run one query per calendar month. Each query
    reads the month compact where it is current and many outlets are asked for (``compact=False``:
    always the partitions, e.g. to compare).
    """
    scope = resolve(start, end, grain, outlets, mapping, breakdown)
    check_thresholds(thresholds)
    root = os.fspath(root)

    def sql(s: Scope) -> str:
        return wait_sql(root, s, thresholds, compact=compact and use_compact(root, s), categories=categories)

    return _run_by_month(con, scope, sql)


def ops_kpis(root: str | os.PathLike, start: date, end: date, *, grain: str | None = "day",
             outlets: Iterable[str] | None = None, mapping=None, eligible_types: Sequence[str] | None = None,
             con=None) -> pa.Table:
    """Exact counter / queue / device KPIs.

    Keys (period_start[, interval_idx], outlet_code | group) + OPS_COLUMNS, sorted by the keys.
    """
    scope = resolve(start, end, grain, outlets, mapping)
    return _run_by_month(con, scope, lambda s: ops_sql(os.fspath(root), s, eligible_types))


_COUNTS = ("arrivals", "served", "transferred", "abandoned", "called", "overtime", "busy_seconds",
           "counter_seconds", "peak_queue", "device_txns", "eligible_tickets")


def join_kpis(wait: pa.Table, ops: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Outer join of the wait and ops tables on the keys, sorted by the keys; missing counts are 0."""
    joined = wait.join(ops, list(keys), join_type="full outer")
    joined = joined.sort_by([(k, "ascending") for k in keys])
    cols = {c: joined.column(c) for c in (*keys, *WAIT_COLUMNS, *OPS_COLUMNS)}
    for c in _COUNTS:
        cols[c] = cols[c].fill_null(0)
    return pa.table(cols)


def kpis(root: str | os.PathLike, start: date, end: date, *, grain: str | None = "day",
         outlets: Iterable[str] | None = None, mapping=None, thresholds: Mapping[str, int] | None = None,
         eligible_types: Sequence[str] | None = None, con=None) -> pa.Table:
    """All KPIs (wait + ops) per key; no breakdown. Rows: every key with tickets or ops activity."""
    own = con is None
    con = con or connect()
    try:
        scope = resolve(start, end, grain, outlets, mapping)
        wait = wait_kpis(root, start, end, grain=grain, outlets=outlets, mapping=mapping,
                         thresholds=thresholds, con=con)
        ops = ops_kpis(root, start, end, grain=grain, outlets=outlets, mapping=mapping,
                       eligible_types=eligible_types, con=con)
        return join_kpis(wait, ops, scope.keys())
    finally:
        if own:
            con.close()
