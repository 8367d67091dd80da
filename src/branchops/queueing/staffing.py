"""Flexible windows (弹性窗口): where an outlet should open or close counters during a day, and when.

Input, per outlet and interval of one day: the counters needed (e.g. from ``erlang.counters_needed``)
and the counters actually open (from the queue-machine logs). Output: plain ``WindowChange``
records such as "open 2 more windows 11:30–13:30" or "close 1 window 15:00–16:00", which a page
renders; ``reason`` is a short English identifier that the caller translates.

How a day is turned into changes
  * The target of an interval is the need clamped to the outlet's minimum and maximum counters.
  * The gap between target and open counters is cut into layers: the k-th extra (or surplus) window
    is a layer present wherever the gap is at least k. Each contiguous run of a layer is one window
    opened or closed for that stretch, which is how a teller's time is actually moved; runs of
    several layers with the same span merge into one change of several windows.
  * An extra window is kept open across a dip of at most ``bridge_gap`` intervals instead of being
    closed and reopened (never across an interval with surplus or unknown data).
  * Runs shorter than ``min_intervals`` that only follow demand are blips and are dropped; runs
    forced by the minimum or maximum counters are always kept.
  * Intervals with unknown need or unknown open counters (None or NaN) break runs.
  * Where the need exceeds the outlet's maximum counters a ``capacity_exceeded`` record says by how
    many counters (it is informative: nothing can be opened).

Pure module: no Django import.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

UNDERSTAFFED = "understaffed"  # open: the need exceeds the open counters
BELOW_MINIMUM = "below_minimum"  # open: fewer counters open than the outlet's minimum
OVERSTAFFED = "overstaffed"  # close: more counters open than needed (plus spare)
ABOVE_MAXIMUM = "above_maximum"  # close: more counters open than the outlet's maximum
CAPACITY_EXCEEDED = "capacity_exceeded"  # the need exceeds the outlet's maximum counters
REASONS = (UNDERSTAFFED, BELOW_MINIMUM, OVERSTAFFED, ABOVE_MAXIMUM, CAPACITY_EXCEEDED)

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class WindowChange:
    """One proposed change of the open counters over a contiguous stretch of the day."""

    start: time
    end: time  # exclusive; 00:00 when the stretch ends at midnight
    change: int  # +k open k more windows, −k close k windows; capacity_exceeded: counters lacking
    reason: str  # one of REASONS
    first_interval: int  # index of the first interval of the day's input
    intervals: int  # number of intervals covered
    counter_hours: float  # window-hours added (+) or freed (−); 0 for capacity_exceeded

    @property
    def actionable(self) -> bool:
        """False for capacity_exceeded, which reports a shortfall rather than proposing a change."""
        return self.reason != CAPACITY_EXCEEDED


@dataclass(frozen=True)
class FlexPolicy:
    """How eagerly to propose changes."""

    min_counters: int = 1  # counters an open outlet always keeps
    max_counters: int | None = None  # physical counters of the outlet; None for no limit
    min_intervals: int = 2  # shortest demand-driven change worth making; shorter runs are blips
    bridge_gap: int = 1  # keep an extra window open across dips at most this long
    spare: int = 0  # counters kept above the need before a close is proposed

    def __post_init__(self) -> None:
        for name in ("min_counters", "min_intervals", "bridge_gap", "spare"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative whole number")
        if self.min_intervals < 1:
            raise ValueError("min_intervals must be at least 1")
        if self.max_counters is not None:
            if not isinstance(self.max_counters, int) or self.max_counters < self.min_counters:
                raise ValueError("max_counters must be a whole number not below min_counters")


def _counts(values: Sequence[float | int | None], name: str) -> list[int | None]:
    """Whole non-negative counts, None where unknown (None or NaN)."""
    out: list[int | None] = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
            continue
        try:
            f = float(v)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must hold numbers") from exc
        if math.isnan(f):
            out.append(None)
        elif f < 0 or f != math.floor(f) or math.isinf(f):
            raise ValueError(f"{name} must hold non-negative whole numbers")
        else:
            out.append(int(f))
    return out


def _runs(present: list[bool]) -> list[tuple[int, int]]:
    """Maximal [first, last] index ranges where present is True."""
    runs, first = [], None
    for i, p in enumerate(present + [False]):
        if p and first is None:
            first = i
        elif not p and first is not None:
            runs.append((first, i - 1))
            first = None
    return runs


def _bridge(runs: list[tuple[int, int]], gap_ok: list[bool], max_gap: int) -> list[tuple[int, int]]:
    """Merge runs separated by at most max_gap intervals that may all be bridged."""
    merged: list[tuple[int, int]] = []
    for first, last in runs:
        if merged:
            prev_first, prev_last = merged[-1]
            gap = range(prev_last + 1, first)
            if len(gap) <= max_gap and all(gap_ok[i] for i in gap):
                merged[-1] = (prev_first, last)
                continue
        merged.append((first, last))
    return merged


def plan_outlet_day(
    needed: Sequence[float | int | None],
    open_counters: Sequence[float | int | None],
    *,
    start: time = time(0, 0),
    interval_minutes: int = 30,
    policy: FlexPolicy = FlexPolicy(),
) -> list[WindowChange]:
    """Flexible-window proposals for one outlet and day.

    ``needed[i]`` and ``open_counters[i]`` belong to the interval starting at ``start + i·interval``;
    pass the outlet's business hours only. Changes are sorted by start, longest first.
    """
    need = _counts(needed, "needed")
    have = _counts(open_counters, "open_counters")
    if len(need) != len(have):
        raise ValueError("needed and open_counters must have the same length")
    if not isinstance(interval_minutes, int) or interval_minutes <= 0:
        raise ValueError("interval_minutes must be a positive whole number")
    day_start = start.hour * 60 + start.minute
    if day_start + len(need) * interval_minutes > MINUTES_PER_DAY:
        raise ValueError("the intervals run past midnight")

    lo, hi = policy.min_counters, policy.max_counters
    cap = math.inf if hi is None else hi
    size = len(need)
    known = [need[i] is not None and have[i] is not None for i in range(size)]
    # Signed gap to the target, and how much of it demand alone (not min/max) would ask for.
    up = [0] * size  # extra windows to open
    up_demand = [0] * size  # ... of which the need asks for (capped by the maximum)
    up_forced = [0] * size  # ... of which the minimum asks for
    down = [0] * size  # surplus windows to close
    down_forced = [0] * size  # ... of which are above the maximum
    short = [0] * size  # need beyond the maximum
    for i in range(size):
        n, o = need[i], have[i]
        if n is None or o is None:
            continue
        target = max(lo, min(n, cap))
        up[i] = max(0, target - o)
        up_demand[i] = max(0, min(n, cap) - o)
        up_forced[i] = max(0, lo - o)
        keep = max(lo, min(n + policy.spare, cap))
        down[i] = max(0, o - keep)
        down_forced[i] = max(0, o - cap) if hi is not None else 0
        short[i] = max(0, n - hi) if hi is not None else 0

    def minutes(i: int) -> int:
        return day_start + i * interval_minutes

    def clock(m: int) -> time:
        m %= MINUTES_PER_DAY
        return time(m // 60, m % 60)

    # (first, last, sign, reason) -> windows
    layers: dict[tuple[int, int, int, str], int] = {}

    # Opening: bridge dips where no surplus exists.
    no_surplus = [known[i] and down[i] == 0 for i in range(size)]
    for k in range(1, max(up, default=0) + 1):
        runs = _bridge(_runs([u >= k for u in up]), no_surplus, policy.bridge_gap)
        for first, last in runs:
            span = range(first, last + 1)
            forced = any(up[i] >= k and up_forced[i] >= k for i in span)
            if last - first + 1 < policy.min_intervals and not forced:
                continue
            reason = UNDERSTAFFED if any(up_demand[i] >= k for i in span) else BELOW_MINIMUM
            key = (first, last, 1, reason)
            layers[key] = layers.get(key, 0) + 1

    # Closing: never bridged, a window closed where it is needed would hurt the service.
    for k in range(1, max(down, default=0) + 1):
        for first, last in _runs([d >= k for d in down]):
            span = range(first, last + 1)
            forced = any(down_forced[i] >= k for i in span)
            if last - first + 1 < policy.min_intervals and not forced:
                continue
            # The windows above the maximum are the first to close, so low layers are the forced ones.
            reason = OVERSTAFFED if any(down[i] >= k > down_forced[i] for i in span) else ABOVE_MAXIMUM
            key = (first, last, -1, reason)
            layers[key] = layers.get(key, 0) + 1

    changes = []
    for (first, last, sign, reason), count in layers.items():
        hours = count * (last - first + 1) * interval_minutes / 60
        changes.append(WindowChange(clock(minutes(first)), clock(minutes(last + 1)), sign * count, reason,
                                    first, last - first + 1, sign * hours))
    for first, last in _runs([s > 0 for s in short]):
        changes.append(WindowChange(clock(minutes(first)), clock(minutes(last + 1)),
                                    max(short[first:last + 1]), CAPACITY_EXCEEDED, first, last - first + 1, 0.0))
    changes.sort(key=lambda c: (c.first_interval, -c.intervals, not c.actionable, -c.change, c.reason))
    return changes


def plan_outlets(
    needed: Sequence[Sequence[float | int | None]],
    open_counters: Sequence[Sequence[float | int | None]],
    *,
    start: time = time(0, 0),
    interval_minutes: int = 30,
    policy: FlexPolicy = FlexPolicy(),
    min_counters: Sequence[int] | None = None,
    max_counters: Sequence[int | None] | None = None,
) -> list[list[WindowChange]]:
    """``plan_outlet_day`` for many outlets (one row each, e.g. 2-D arrays outlets × intervals).

    ``min_counters`` / ``max_counters`` give per-outlet limits (e.g. the outlet's physical counters)
    that override the policy's.
    """
    if len(needed) != len(open_counters):
        raise ValueError("needed and open_counters must have one row per outlet")
    for name, limits in (("min_counters", min_counters), ("max_counters", max_counters)):
        if limits is not None and len(limits) != len(needed):
            raise ValueError(f"{name} must have one value per outlet")
    plans = []
    for row, (need, have) in enumerate(zip(needed, open_counters, strict=True)):
        outlet_policy = policy
        if min_counters is not None or max_counters is not None:
            outlet_policy = FlexPolicy(
                min_counters=policy.min_counters if min_counters is None else int(min_counters[row]),
                max_counters=policy.max_counters if max_counters is None else _optional_int(max_counters[row]),
                min_intervals=policy.min_intervals,
                bridge_gap=policy.bridge_gap,
                spare=policy.spare,
            )
        plans.append(plan_outlet_day(list(need), list(have), start=start, interval_minutes=interval_minutes,
                                     policy=outlet_policy))
    return plans


def _optional_int(value: int | float | None) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)
