"""Service targets: the year-end projection and the "at risk" judgement (pure: no Django, no app).

A target's progress is a series of monthly figures of the year so far, ``{month: value}`` (months
without data are absent). The trend is the least-squares straight line through those points; it is
extended over the months left to December, and the projected year figure aggregates the actual
months with the projected ones the way the metric adds up:

- ``mean``  (rates, scores, waiting time): the mean of the twelve monthly figures;
- ``sum``   (counts such as complaints): the sum of the twelve;
- ``last``  (a level such as the number of model outlets): the line's value in December.

With one point the line is flat. A projection below zero is cut at zero (no metric here is negative),
and a share above ``ceiling`` (1 for a rate) is cut there.
The target is *at risk* when the projected year figure misses it (``at_most``: above the value;
``at_least``: below it); with no data there is no projection and no judgement.
"""

from __future__ import annotations

from dataclasses import dataclass

AT_MOST, AT_LEAST = "at_most", "at_least"
MEAN, SUM, LAST = "mean", "sum", "last"
MONTHS = 12


@dataclass(frozen=True)
class Projection:
    year_to_date: float | None   # the aggregate of the actual months
    projected: float | None      # the aggregate of the year, the months left on the trend line
    slope: float | None          # change per month of the trend line
    at_risk: bool | None         # None: no data to judge
    line: dict[int, float]       # month → the trend's value, for the months after the last actual one


def trend_line(points: dict[int, float]) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line through (month, value); flat through one point."""
    n = len(points)
    xs, ys = list(points), list(points.values())
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return mean_y, 0.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return mean_y - slope * mean_x, slope


def _aggregate(values: list[float], how: str) -> float:
    if how == SUM:
        return sum(values)
    if how == LAST:
        return values[-1]
    return sum(values) / len(values)


def misses(value: float, comparison: str, target: float) -> bool:
    return value > target if comparison == AT_MOST else value < target


def project(points: dict[int, float], *, how: str, comparison: str, target: float,
            ceiling: float | None = None) -> Projection:
    """The year-end projection of monthly ``points`` and whether it misses ``target``."""
    points = {m: float(v) for m, v in sorted(points.items()) if 1 <= m <= MONTHS and v is not None}
    if not points:
        return Projection(None, None, None, None, {})
    intercept, slope = trend_line(points)
    last = max(points)
    top = float("inf") if ceiling is None else ceiling
    line = {m: min(top, max(0.0, intercept + slope * m)) for m in range(last + 1, MONTHS + 1)}
    actual = list(points.values())
    year_to_date = _aggregate(actual, how)
    if how == LAST:
        projected = line.get(MONTHS, actual[-1])
    else:
        projected = _aggregate(actual + list(line.values()), how)
    return Projection(year_to_date, projected, slope, misses(projected, comparison, target), line)
