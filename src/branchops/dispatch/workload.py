"""Outlet workload: how many person-hours of work from above land on each outlet each week.

Pure computation, no Django. An item asks ``hours`` of each target outlet within its window; the
hours are spread evenly over the ISO weeks the window touches (by the number of window days that
fall in each week), which is how a department's "two hours per outlet during the campaign" lands
on an outlet's week in practice.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


@dataclass(frozen=True)
class Load:
    key: str  # the item's number (or any label)
    outlets: tuple[int, ...]
    hours: float  # per outlet, over the whole window
    start: date
    end: date
    urgency_rank: int = 2  # 0 urgent, 1 important, 2 normal


def spread(hours: float, start: date, end: date) -> dict[date, float]:
    """Hours per week (keyed by the Monday) for one outlet."""
    days = (end - start).days + 1
    if days <= 0:
        return {}
    out: dict[date, float] = defaultdict(float)
    d = start
    while d <= end:
        out[week_start(d)] += hours / days
        d += timedelta(days=1)
    return dict(out)


def weekly_load(loads: Iterable[Load]) -> dict[int, dict[date, float]]:
    """outlet id → week → hours, summed over all loads."""
    table: dict[int, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for load in loads:
        per_week = spread(load.hours, load.start, load.end)
        for outlet in load.outlets:
            row = table[outlet]
            for week, h in per_week.items():
                row[week] += h
    return {k: dict(v) for k, v in table.items()}


@dataclass(frozen=True)
class Overload:
    outlet: int
    week: date
    load: float  # with the candidate
    capacity: float

    @property
    def excess(self) -> float:
        return round(self.load - self.capacity, 2)


def overloads(candidate: Load, existing: Iterable[Load], capacity: dict[int, float]) -> list[Overload]:
    """The outlet-weeks the candidate would push over capacity (that were not over without it),
    and those already over that it makes worse."""
    base = weekly_load(existing)
    extra = spread(candidate.hours, candidate.start, candidate.end)
    out = []
    for outlet in candidate.outlets:
        cap = capacity.get(outlet)
        if cap is None:
            continue
        for week, h in sorted(extra.items()):
            total = base.get(outlet, {}).get(week, 0.0) + h
            if total > cap + 1e-9:
                out.append(Overload(outlet, week, round(total, 2), cap))
    return out


def stagger(outlets: list[int], groups: int, start: date, end: date) -> dict[int, tuple[date, date]]:
    """Split the outlets into ``groups`` waves, each starting one week after the previous one, all
    inside the approved window: each wave's window is shortened by the weeks the last wave starts
    later. ValueError when the window is too short for that many waves."""
    groups = max(1, min(groups, len(outlets) or 1))
    length = end - start - timedelta(weeks=groups - 1)
    if length < timedelta(0):
        raise ValueError(f"a window of {(end - start).days + 1} days cannot hold {groups} waves a week apart")
    plan = {}
    for i, outlet in enumerate(sorted(outlets)):
        wave = i * groups // max(1, len(outlets))
        s = start + timedelta(weeks=wave)
        plan[outlet] = (s, s + length)
    return plan


def plan_overloads(key: str, hours: float, plan: dict[int, tuple[date, date]], existing: Iterable[Load],
                   capacity: dict[int, float], urgency_rank: int = 2) -> list[Overload]:
    """The overloads of a staggered release: each outlet with its own wave's window."""
    existing = list(existing)
    out = []
    for outlet, (s, e) in sorted(plan.items()):
        out += overloads(Load(key, (outlet,), hours, s, e, urgency_rank), existing, capacity)
    return out


def yielders(candidate_rank: int, over: Iterable[Overload], existing: Iterable[Load]) -> dict[str, set[int]]:
    """Which loads of lower urgency than the candidate share an overloaded outlet-week: item key →
    the outlets where it could yield (move later) to make room — lower urgency yields first."""
    hot = {(o.outlet, o.week) for o in over}
    out: dict[str, set[int]] = defaultdict(set)
    for load in existing:
        if load.urgency_rank <= candidate_rank:
            continue
        weeks = spread(load.hours, load.start, load.end)
        for outlet in load.outlets:
            if any((outlet, w) in hot for w in weeks):
                out[load.key].add(outlet)
    return dict(out)


def in_blackout(start: date, end: date, blackouts: Iterable[tuple[date, date, str]]) -> list[str]:
    """Names of the blackout periods the window overlaps."""
    return [name for b_start, b_end, name in blackouts if start <= b_end and b_start <= end]
