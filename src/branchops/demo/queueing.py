"""Demo queue data: simulated ticket and smart-device logs for the demo outlets (``queueing.simulate``),
stored in the ticket store under ``BRANCHOPS_QUEUE_DIR`` with their roll-ups.

**The default demo** (``build_demo_tickets``, part of ``branchops demo``): the year ending with the last
full month before today. The outlets, ordered by code, cycle through the queue patterns
(``simulate.DEFAULT_PATTERN_CYCLE``) and every one follows its pattern's lean-management plan over
that year (``lean_improvement``), so the branch's overtime-wait ratio falls from about 33 % in the
first month to about 14 % in the last.

Speed: simulating and storing is about 1 s per outlet-year, but refreshing the roll-ups of a full year
for all ~60 outlets takes minutes. So the first ``FULL_YEAR_OUTLETS`` outlets (one whole pattern
cycle, the ``outlet_head`` demo account's outlet among them) get the full year and the others the last
``TAIL_MONTHS`` months only (their plans still span the year, so those months show the improved state).
The branch's monthly figures before the tail months therefore cover those outlets only.

Idempotent: only (month, outlet) pairs with no stored tickets are simulated, so a second run adds
nothing, an interrupted run is completed, and a run a month later adds just the new month — a stored
month is never mixed with a second simulation of it.

``branchops demo tickets`` (``simulate_results`` + ``store_results`` / ``write_results``) simulates
any number of outlets and days, into the store or into files.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.org.models import Institution, Level
from branchops.queueing import kpis, rollup, simulate
from branchops.queueing.queries import data_root
from branchops.queueing.schema import DEVICE_SCHEMA, TICKET_SCHEMA
from branchops.queueing.store import TicketStore

from .data import SEED, _say

FULL_YEAR_OUTLETS = 12  # len(simulate.DEFAULT_PATTERN_CYCLE): every pattern in its usual proportion
TAIL_MONTHS = 2
PROGRESS_EVERY = 10  # outlets between progress lines

OnOutlet = Callable[[simulate.SimResult], None]


# --------------------------------------------------------------------------------------------- periods
def demo_year(today: date | None = None) -> tuple[date, date]:
    """First and last day of the twelve full months before ``today``'s month."""
    today = today or clock.today()
    end = today.replace(day=1) - timedelta(days=1)
    return _month_start(end, 11), end


def _month_start(d: date, months_back: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - months_back, 12)
    return date(y, m + 1, 1)


def _days(months: Sequence[str]) -> list[date]:
    out = []
    for month in months:
        d = date.fromisoformat(f"{month}-01")
        while d.strftime("%Y-%m") == month:
            out.append(d)
            d += timedelta(days=1)
    return out


def outlet_codes() -> list[str]:
    """The outlets of the organisation, ordered by code (the order patterns are assigned in)."""
    return list(Institution.objects.filter(level=Level.OUTLET).order_by("code").values_list("code", flat=True))


# --------------------------------------------------------------------------------------------- writing
def simulate_results(codes: Sequence[str], days: int, seed: int, start: date, *, lean: bool = False
                     ) -> Iterator[simulate.SimResult]:
    """``simulate.generate_logs`` for these outlet codes (patterns cycled in the default order)."""
    return simulate.generate_logs(len(codes), days, seed, start_date=start, lean_improvement=lean,
                                  outlet_codes=list(codes))


def store_results(results: Iterable[simulate.SimResult], root: str | Path | None = None, *,
                  on_outlet: OnOutlet | None = None, on_month: Callable[[str, int, int], None] | None = None) -> dict:
    """Append each outlet's tickets and device logs to the store, then refresh the touched roll-ups
    (month by month, on one DuckDB connection, so ``on_month(month, done, total)`` can report)."""
    root = Path(root) if root is not None else data_root()
    store = TicketStore(root)
    counts = dict.fromkeys(("outlets", "tickets", "devices", "added", "already_stored", "devices_added"), 0)
    partitions: set[tuple[str, str]] = set()
    for r in results:
        appended = store.append_tickets(r.tickets)
        counts["added"] += appended.added
        counts["already_stored"] += appended.already_stored
        partitions.update(appended.partitions)
        appended = store.append_devices(r.devices)
        counts["devices_added"] += appended.added
        partitions.update(appended.partitions)
        counts["outlets"] += 1
        counts["tickets"] += r.tickets.num_rows
        counts["devices"] += r.devices.num_rows
        if on_outlet:
            on_outlet(r)
    started = time.monotonic()
    by_month: dict[str, list[tuple[str, str]]] = {}
    for month, outlet in sorted(partitions):
        by_month.setdefault(month, []).append((month, outlet))
    if by_month:
        con = kpis.connect()
        try:
            for k, (month, parts) in enumerate(sorted(by_month.items()), start=1):
                rollup.refresh(root, parts, con=con)
                if on_month:
                    on_month(month, k, len(by_month))
        finally:
            con.close()
    counts["partitions"] = len(partitions)
    counts["rollup_seconds"] = round(time.monotonic() - started, 1)
    return counts


def devices_path(path: str | Path) -> Path:
    """Where ``write_results`` puts the device logs next to the ticket file: ``<stem>-devices<suffix>``."""
    path = Path(path)
    return path.with_name(f"{path.stem}-devices{path.suffix}")


def write_results(results: Iterable[simulate.SimResult], path: str | Path, *, on_outlet: OnOutlet | None = None
                  ) -> dict:
    """Tickets to ``path`` (.csv or .parquet), device logs to ``devices_path(path)``; memory stays one outlet."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"{path.name}: write .csv or .parquet")
    dev_path = devices_path(path)
    # Device logs go to Parquet as the tickets stream out; a CSV is made from it at the end.
    dev_parquet = dev_path if suffix == ".parquet" else dev_path.with_name(f".{dev_path.name}.{uuid.uuid4().hex[:8]}.parquet")
    counts = {"outlets": 0, "tickets": 0, "devices": 0}
    writer = pq.ParquetWriter(str(dev_parquet), DEVICE_SCHEMA, compression="zstd")

    def tickets() -> Iterator[pa.Table]:
        for r in results:
            writer.write_table(r.devices.cast(DEVICE_SCHEMA))
            counts["outlets"] += 1
            counts["tickets"] += r.tickets.num_rows
            counts["devices"] += r.devices.num_rows
            if on_outlet:
                on_outlet(r)
            yield r.tickets

    try:
        try:
            if suffix == ".parquet":
                simulate.write_parquet(tickets(), path, TICKET_SCHEMA)
            else:
                simulate.write_csv(itertools.chain([TICKET_SCHEMA.empty_table()], tickets()), path)
        finally:
            writer.close()
        if suffix == ".csv":
            batches = pq.ParquetFile(str(dev_parquet)).iter_batches(batch_size=256 * 1024)
            simulate.write_csv(itertools.chain([DEVICE_SCHEMA.empty_table()],
                                               (pa.Table.from_batches([b]) for b in batches)), dev_path)
    finally:
        if dev_parquet != dev_path:
            dev_parquet.unlink(missing_ok=True)
    return {**counts, "files": [path, dev_path]}


# --------------------------------------------------------------------------------------------- the demo
def _stored_rows(root: Path, pairs: Iterable[tuple[str, str]]) -> int:
    store = TicketStore(root)
    paths = (store.partition_path(m, o) for m, o in pairs)
    return sum(pq.ParquetFile(p).metadata.num_rows for p in paths if p.exists())


def _refresh_missing_rollups(root: Path, expected: Iterable[tuple[str, str]]) -> None:
    """Roll-ups of partitions stored by an interrupted run (tickets written, refresh not done)."""
    missing = [(m, o) for m, o in expected
               if not (root / rollup.DETAIL / f"month={m}" / f"outlet={o}" / "data.parquet").exists()]
    if missing:
        rollup.refresh(root, missing)


def build_demo_tickets(stdout=None, *, today: date | None = None, seed: int = SEED,
                       full_year_outlets: int = FULL_YEAR_OUTLETS, tail_months: int = TAIL_MONTHS) -> dict:
    """Simulate the demo year's queue logs into the store (see the module docstring); return the counts.

    Needs the demo organisation (``build_demo``) first. Months already stored for an outlet are left
    as they are; when every month is there nothing is simulated and the result says "already present".
    """
    started = time.monotonic()
    codes = outlet_codes()
    if not codes:
        raise ValueError("The demo organisation is missing: run build_demo() first.")
    start, end = demo_year(today)
    tail_start = max(start, _month_start(end, tail_months - 1))
    year_months = kpis.months_between(start, end)
    tail = kpis.months_between(tail_start, end)
    root = data_root()
    stored = set(TicketStore(root).partitions("tickets"))
    wanted = {code: (year_months if i < full_year_outlets else tail) for i, code in enumerate(codes)}
    missing = {code: [m for m in months if (m, code) not in stored] for code, months in wanted.items()}
    missing = {code: months for code, months in missing.items() if months}
    expected = [(m, code) for code, months in wanted.items() for m in months]
    result = {"start": start, "end": end, "outlets": len(codes), "full_year_outlets": min(full_year_outlets, len(codes)),
              "tail_start": tail_start}

    if not missing:
        _refresh_missing_rollups(root, expected)
        _say(stdout, _("Queue data: already present, skipped …"))
        return {**result, "status": "already present", "simulated_outlets": 0, "added": 0,
                "tickets": _stored_rows(root, expected), "devices": 0,
                "seconds": round(time.monotonic() - started, 1)}

    n_full, todo_months = result["full_year_outlets"], sum(len(m) for m in missing.values())
    values = {"start": start, "end": end, "full": n_full, "tail_start": tail_start, "rest": len(codes) - n_full,
              "n": todo_months}
    if todo_months < len(expected):
        _say(stdout, _("Queue data: simulating the missing outlet-months (%(n)s) of %(start)s to %(end)s …") % values)
    elif n_full < len(codes):
        _say(stdout, _("Queue data: simulating ticket and device logs, %(start)s to %(end)s: the full year for "
                       "%(full)s outlets, from %(tail_start)s for the other %(rest)s (to keep the demo quick) …")
             % values)
    else:
        _say(stdout, _("Queue data: simulating ticket and device logs, %(start)s to %(end)s …") % values)
    profiles = simulate.outlet_profiles(len(codes), seed, start_date=start, days=(end - start).days + 1,
                                        lean_improvement=True, outlet_codes=codes)

    def results() -> Iterator[simulate.SimResult]:
        for i, prof in enumerate(profiles):
            if prof.code in missing:  # one random stream per outlet, as generate_logs
                yield simulate.simulate_outlet(prof, _days(missing[prof.code]), np.random.default_rng([seed, i]))

    todo, done = len(missing), [0]

    def on_outlet(_result) -> None:
        done[0] += 1
        k = done[0]
        if k % PROGRESS_EVERY == 0 or k == todo:
            _say(stdout, "  " + _("… %(done)s of %(total)s outlets (%(seconds)s s)")
                 % {"done": k, "total": todo, "seconds": round(time.monotonic() - started)})

    def on_month(month: str, k: int, total: int) -> None:
        if k % 3 == 0 or k == total:
            _say(stdout, "  " + _("… roll-ups: %(done)s of %(total)s months (%(seconds)s s)")
                 % {"done": k, "total": total, "seconds": round(time.monotonic() - started)})

    counts = store_results(results(), root, on_outlet=on_outlet, on_month=on_month)
    _refresh_missing_rollups(root, expected)
    return {**result, "status": "created", "simulated_outlets": counts["outlets"], "added": counts["added"],
            "tickets": _stored_rows(root, expected), "devices": counts["devices"],
            "seconds": round(time.monotonic() - started, 1)}
