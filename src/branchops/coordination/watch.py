"""Post-release watch: did the outlets that got an item fare differently from those that did not?

A pure engine (no Django): difference-in-differences for one released item. Treated outlets are the
item's targets, controls the branch's untargeted outlets; each outlet's change from the weeks before
the item's window to the weeks after is compared between the two groups:

    DiD = mean over treated (after − before) − mean over control (after − before)

on two metrics — the weekly overtime-wait ratio (mean of the outlet's weekly ratios in a period) and
complaints per 10,000 customers served (the outlet's complaints over its customers served in a
period). The 95 % interval is a percentile bootstrap that resamples outlets with replacement within
each group, with a fixed seed so that the same data always give the same interval. A metric is
flagged when |DiD| ≥ its threshold and the interval excludes 0. Fewer than ``MIN_OUTLETS`` treated or
control outlets with data in both periods give "not enough outlets" — never a figure.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

WEEKS = 4
MIN_OUTLETS = 3
RESAMPLES = 2_000
SEED = 20_260_412
PER_CUSTOMERS = 10_000

OVERTIME = "overtime_ratio"
COMPLAINTS = "complaints_per_10k"
METRICS = (OVERTIME, COMPLAINTS)

OK = "ok"
NOT_ENOUGH = "not_enough_outlets"


@dataclass(frozen=True)
class Week:
    """One outlet's figures of one week (Monday ``start``): queue KPIs and complaints received."""

    overtime_ratio: float | None = None
    served: int = 0
    complaints: int = 0


@dataclass(frozen=True)
class OutletSeries:
    outlet: str
    treated: bool
    weeks: Mapping[date, Week] = field(default_factory=dict)


def weeks_around(window_start: date, weeks: int = WEEKS) -> tuple[list[date], list[date]]:
    """The Mondays of the ``weeks`` weeks before the week the window starts, and of the ``weeks`` from it."""
    monday = window_start - timedelta(days=window_start.weekday())
    return ([monday + timedelta(weeks=k) for k in range(-weeks, 0)],
            [monday + timedelta(weeks=k) for k in range(weeks)])


def _overtime(series: OutletSeries, weeks: Sequence[date]) -> float | None:
    values = [w.overtime_ratio for d in weeks if (w := series.weeks.get(d)) is not None
              and w.overtime_ratio is not None]
    return float(np.mean(values)) if values else None


def _complaint_rate(series: OutletSeries, weeks: Sequence[date]) -> float | None:
    found = [series.weeks[d] for d in weeks if d in series.weeks]
    served = sum(w.served for w in found)
    # No customers served: the rate is undefined, not zero.
    return PER_CUSTOMERS * sum(w.complaints for w in found) / served if served > 0 else None


PERIOD_VALUE = {OVERTIME: _overtime, COMPLAINTS: _complaint_rate}


def changes(outlets: Sequence[OutletSeries], metric: str, before: Sequence[date], after: Sequence[date]
            ) -> tuple[np.ndarray, np.ndarray]:
    """Each outlet's change (after − before) in ``metric``: treated, control. Outlets without a value
    in either period are left out."""
    value = PERIOD_VALUE[metric]
    treated, control = [], []
    for s in outlets:
        b, a = value(s, before), value(s, after)
        if b is None or a is None:
            continue
        (treated if s.treated else control).append(a - b)
    return np.asarray(treated, dtype=float), np.asarray(control, dtype=float)


def did(treated: np.ndarray, control: np.ndarray) -> float:
    return float(treated.mean() - control.mean())


def bootstrap_interval(treated: np.ndarray, control: np.ndarray, *, resamples: int = RESAMPLES,
                       seed: int = SEED, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the DiD, resampling outlets with replacement within each group."""
    rng = np.random.default_rng(seed)
    t = treated[rng.integers(0, len(treated), size=(resamples, len(treated)))].mean(axis=1)
    c = control[rng.integers(0, len(control), size=(resamples, len(control)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(t - c, [tail, 100 - tail])
    return float(low), float(high)


def evaluate_metric(outlets: Sequence[OutletSeries], metric: str, before: Sequence[date], after: Sequence[date],
                    threshold: float, *, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    treated, control = changes(outlets, metric, before, after)
    out = {"metric": metric, "n_treated": len(treated), "n_control": len(control), "threshold": threshold}
    if len(treated) < MIN_OUTLETS or len(control) < MIN_OUTLETS:
        return out | {"status": NOT_ENOUGH, "effect": None, "low": None, "high": None, "flagged": False}
    effect = did(treated, control)
    low, high = bootstrap_interval(treated, control, resamples=resamples, seed=seed)
    excludes_zero = low > 0 or high < 0
    return out | {"status": OK, "effect": effect, "low": low, "high": high,
                  "flagged": bool(abs(effect) >= threshold and excludes_zero)}


def weekly_series(outlets: Sequence[OutletSeries], weeks: Sequence[date]) -> dict:
    """The chart's lines: per week, each group's mean overtime-wait ratio and complaints per 10,000
    customers served (the group's complaints over its customers); ``None`` where a group has no data."""
    out = {"weeks": [d.isoformat() for d in weeks]}
    for name, treated in (("treated", True), ("control", False)):
        group = [s for s in outlets if s.treated is treated]
        ratios, rates = [], []
        for d in weeks:
            found = [w for s in group if (w := s.weeks.get(d)) is not None]
            values = [w.overtime_ratio for w in found if w.overtime_ratio is not None]
            ratios.append(round(float(np.mean(values)), 6) if values else None)
            served = sum(w.served for w in found)
            rates.append(round(PER_CUSTOMERS * sum(w.complaints for w in found) / served, 4) if served else None)
        out[name] = {OVERTIME: ratios, COMPLAINTS: rates}
    return out


def evaluate(outlets: Sequence[OutletSeries], before: Sequence[date], after: Sequence[date],
             thresholds: Mapping[str, float], *, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """The watch result of one item: each metric's DiD, interval and flag, the group sizes and the
    weekly series (before weeks, then after weeks). ``flagged`` when any metric is."""
    metrics = {m: evaluate_metric(outlets, m, before, after, thresholds[m], resamples=resamples, seed=seed)
               for m in METRICS}
    return {
        "status": OK if any(r["status"] == OK for r in metrics.values()) else NOT_ENOUGH,
        "flagged": any(r["flagged"] for r in metrics.values()),
        "n_treated": sum(1 for s in outlets if s.treated),
        "n_control": sum(1 for s in outlets if not s.treated),
        "metrics": metrics,
        "series": weekly_series(outlets, [*before, *after]),
        "before": [d.isoformat() for d in before],
        "after": [d.isoformat() for d in after],
    }
