"""The service-grading engine (服务等级评价): pure computation, no Django (DESIGN.md §2).

Given a scheme (indicators with weights that total 100, grade bands, veto rules, the missing-input
rule and the reliability gate) and the inputs of each outlet (a value per indicator code, or None when
missing), it returns per outlet the points of every indicator, why each lost point was lost, the
total, the rank, the grade, the vetoes that fired and the figures marked unreliable.

Deduction reasons are keys with parameters (``Reason``), so the web layer says them in the user's
language. A missing input is never a silent zero: the scheme either re-normalises the other weights
to 100 or gives the missing indicator a fixed share of its weight, and the result names it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

HIGHER = "higher"
LOWER = "lower"
LINEAR = "linear"
SCALE = "scale"
THRESHOLDS = "thresholds"
QUOTAS = "quotas"
RENORMALISE = "renormalise"
FIXED = "fixed"
GRADES = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Indicator:
    code: str
    weight: float
    direction: str = HIGHER
    rule: str = LINEAR
    full_at: float = 1.0  # linear: the value from which the full weight is given
    zero_at: float = 0.0  # linear: the value from which nothing is given
    scale: tuple[tuple[float, float], ...] = ()  # scale: (bound, share of weight), first bound met wins
    dimension: str = ""


@dataclass(frozen=True)
class Band:
    grade: str
    min_score: float | None = None  # thresholds: the lowest total of the band
    quota: float | None = None  # quotas: the share of outlets in the band


@dataclass(frozen=True)
class Veto:
    code: str
    input_code: str
    at_least: float = 1.0
    grade: str = "D"


@dataclass(frozen=True)
class Scheme:
    indicators: tuple[Indicator, ...]
    bands: tuple[Band, ...]
    method: str = THRESHOLDS
    vetoes: tuple[Veto, ...] = ()
    missing_rule: str = RENORMALISE
    missing_share: float = 0.0  # FIXED: the share of the weight a missing indicator gets
    reliability_code: str = ""  # e.g. the evaluation rate …
    reliability_min: float = 0.0  # … under which …
    reliability_affects: tuple[str, ...] = ()  # … these figures are unreliable


@dataclass(frozen=True)
class Reason:
    key: str  # linear | scale | missing_fixed | missing_renormalised
    params: dict = field(default_factory=dict)


@dataclass
class IndicatorResult:
    code: str
    value: float | None
    weight: float
    points: float | None  # None: missing and re-normalised away
    lost: float
    missing: bool = False
    unreliable: bool = False
    reason: Reason | None = None


@dataclass
class OutletResult:
    outlet: str
    indicators: list[IndicatorResult]
    total: float | None  # None: nothing to grade on
    grade: str = ""
    rank: int | None = None
    vetoes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unreliable: list[str] = field(default_factory=list)
    unchecked_vetoes: list[str] = field(default_factory=list)


def check_scheme(scheme: Scheme) -> list[str]:
    """What is wrong with a scheme, one sentence key per fault (empty when it can be used)."""
    faults = []
    if abs(sum(i.weight for i in scheme.indicators) - 100) > 1e-6:
        faults.append("weights")
    if scheme.method == THRESHOLDS and any(b.min_score is None for b in scheme.bands):
        faults.append("band_thresholds")
    elif scheme.method == THRESHOLDS and [b.min_score for b in scheme.bands] != sorted(
            (b.min_score for b in scheme.bands), reverse=True):
        faults.append("band_order")  # A needs the highest score, D the lowest
    if scheme.method == QUOTAS and any(b.quota is None for b in scheme.bands):
        faults.append("band_quotas")
    if scheme.method == QUOTAS and abs(sum(b.quota or 0 for b in scheme.bands) - 1) > 1e-6:
        faults.append("quota_total")
    for i in scheme.indicators:
        if i.rule == LINEAR and (i.full_at == i.zero_at or (i.full_at > i.zero_at) != (i.direction == HIGHER)):
            faults.append(f"thresholds:{i.code}")
        if i.rule == SCALE and not i.scale:
            faults.append(f"scale:{i.code}")
    return faults


def _r2(x: float) -> float:
    """Half-up to two decimals (not banker's rounding): the same points on every machine."""
    return math.floor(x * 100 + 0.5 + 1e-9) / 100


def share_of(ind: Indicator, value: float) -> tuple[float, Reason | None]:
    """The share of the weight a value earns, and why it falls short of the full weight."""
    if ind.rule == SCALE:
        met = next(((b, s) for b, s in ind.scale
                    if (value >= b if ind.direction == HIGHER else value <= b)), None)
        share = met[1] if met else 0.0
        reason = Reason("scale", {"value": value, "bound": met[0] if met else None,
                                  "best": ind.scale[0][0], "share": share})
        return share, (reason if share < 1 else None)
    share = (value - ind.zero_at) / (ind.full_at - ind.zero_at)
    share = min(1.0, max(0.0, share))
    reason = Reason("linear", {"value": value, "full_at": ind.full_at, "zero_at": ind.zero_at})
    return share, (reason if share < 1 else None)


def score_outlet(scheme: Scheme, outlet: str, inputs: Mapping[str, float | None]) -> OutletResult:
    results, missing = [], []
    for ind in scheme.indicators:
        value = inputs.get(ind.code)
        if value is None:
            missing.append(ind.code)
            if scheme.missing_rule == FIXED:
                points = _r2(ind.weight * scheme.missing_share)
                results.append(IndicatorResult(ind.code, None, ind.weight, points, _r2(ind.weight - points), True,
                                               reason=Reason("missing_fixed", {"share": scheme.missing_share})))
            else:
                results.append(IndicatorResult(ind.code, None, ind.weight, None, 0.0, True,
                                               reason=Reason("missing_renormalised", {})))
            continue
        share, reason = share_of(ind, float(value))
        points = _r2(ind.weight * share)
        results.append(IndicatorResult(ind.code, float(value), ind.weight, points, _r2(ind.weight - points),
                                       reason=reason))
    scored = [r for r in results if r.points is not None]
    counted = sum(r.weight for r in scored)
    total = _r2(sum(r.points for r in scored) * 100 / counted) if counted else None
    out = OutletResult(outlet, results, total, missing=missing)
    gate = inputs.get(scheme.reliability_code) if scheme.reliability_code else None
    if gate is not None and float(gate) < scheme.reliability_min:
        out.unreliable = [c for c in scheme.reliability_affects if inputs.get(c) is not None]
        for r in results:
            r.unreliable = r.code in out.unreliable
    for veto in scheme.vetoes:
        flag = inputs.get(veto.input_code)
        if flag is None:
            out.unchecked_vetoes.append(veto.code)
        elif float(flag) >= veto.at_least:
            out.vetoes.append(veto.code)
    return out


def _rank(results: Sequence[OutletResult]) -> None:
    """Competition ranking (1, 2, 2, 4) by total, highest first; outlets with no total have no rank."""
    graded = sorted((r for r in results if r.total is not None), key=lambda r: (-r.total, r.outlet))
    for pos, r in enumerate(graded):
        r.rank = graded[pos - 1].rank if pos and graded[pos - 1].total == r.total else pos + 1


def _by_thresholds(scheme: Scheme, total: float) -> str:
    for band in scheme.bands:
        if total >= band.min_score - 1e-9:
            return band.grade
    return scheme.bands[-1].grade


def _quota_grades(scheme: Scheme, pool: Sequence[OutletResult]) -> dict[str, str]:
    """Grades by ranking quotas: the band's share of the pool, counted half-up and cumulatively; outlets
    tied on the total share the better grade (order never decides), so a band may run over its quota."""
    ranked = sorted(pool, key=lambda r: (-r.total, r.outlet))
    n = len(ranked)
    bounds, cum = [], 0.0
    for band in scheme.bands:
        cum += band.quota or 0
        bounds.append((math.floor(cum * n + 0.5 + 1e-9), band.grade))
    grades: dict[str, str] = {}
    first_pos: dict[float, int] = {}
    for pos, r in enumerate(ranked):
        at = first_pos.setdefault(r.total, pos)
        grades[r.outlet] = next((g for bound, g in bounds if at < bound), scheme.bands[-1].grade)
    return grades


def grade_outlets(scheme: Scheme, inputs: Mapping[str, Mapping[str, float | None]]) -> list[OutletResult]:
    """Score, rank and grade every outlet of ``inputs`` ({outlet: {code: value or None}}).

    A veto gives its grade whatever the score; under quotas the vetoed outlets leave the pool, which the
    others share. An outlet with nothing to grade on (every input missing under re-normalisation) gets
    no total and no grade."""
    results = [score_outlet(scheme, outlet, values) for outlet, values in sorted(inputs.items())]
    _rank(results)
    pool = [r for r in results if r.total is not None and not r.vetoes]
    quota = _quota_grades(scheme, pool) if scheme.method == QUOTAS else {}
    worst = {v.code: v.grade for v in scheme.vetoes}
    for r in results:
        if r.vetoes:
            r.grade = max((worst[c] for c in r.vetoes), key=GRADES.index)
        elif r.total is not None:
            r.grade = quota[r.outlet] if scheme.method == QUOTAS else _by_thresholds(scheme, r.total)
    return results
