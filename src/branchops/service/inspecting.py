"""Inspection scoring and inter-rater agreement: pure functions (no Django), tested alone.

An item is answered pass / fail / na. The score is the weighted share of the applicable items passed,
out of 100 (N/A items leave the denominator); a failed veto item flags the inspection whatever the score.
"""

from collections import Counter
from dataclasses import dataclass

PASS, FAIL, NA = "pass", "fail", "na"
ANSWERS = (PASS, FAIL, NA)


@dataclass(frozen=True)
class Item:
    code: str
    weight: float
    na_allowed: bool = False
    veto: bool = False


@dataclass(frozen=True)
class Score:
    total: float | None  # None: nothing applicable
    vetoed: bool
    failed: tuple[str, ...]


def answer_faults(items: list[Item], answers: dict[str, str]) -> dict[str, str]:
    """Per item code what is wrong with the answers: 'missing', 'invalid', 'na_not_allowed'; and
    'unknown' for a code the checklist does not have."""
    faults = {code: "unknown" for code in answers if code not in {i.code for i in items}}
    for item in items:
        answer = answers.get(item.code)
        if answer is None or answer == "":
            faults[item.code] = "missing"
        elif answer not in ANSWERS:
            faults[item.code] = "invalid"
        elif answer == NA and not item.na_allowed:
            faults[item.code] = "na_not_allowed"
    return faults


def score(items: list[Item], answers: dict[str, str]) -> Score:
    applicable = [i for i in items if answers.get(i.code) in (PASS, FAIL)]
    failed = tuple(i.code for i in applicable if answers[i.code] == FAIL)
    vetoed = any(i.veto for i in applicable if answers[i.code] == FAIL)
    weight = sum(i.weight for i in applicable)
    if not weight:
        return Score(None, vetoed, failed)
    passed = sum(i.weight for i in applicable if answers[i.code] == PASS)
    return Score(round(100 * passed / weight, 2), vetoed, failed)


@dataclass(frozen=True)
class Agreement:
    pairs: int  # inspections rated by both
    mean_abs_diff: float | None  # of the total scores
    item_agreement: float | None  # share of items both answered alike
    kappa: float | None  # Cohen's κ over the items' answers (None: undefined)


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """κ = (p_o − p_e) / (1 − p_e) over paired categorical ratings; None when p_e = 1 (both raters gave
    one and the same category throughout: agreement by chance is certain)."""
    if len(a) != len(b) or not a:
        return None
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[c] * cb[c] for c in set(ca) | set(cb)) / (n * n)
    if expected == 1:
        return None
    return round((observed - expected) / (1 - expected), 4)


def agreement(pairs: list[tuple[tuple[float | None, dict[str, str]], tuple[float | None, dict[str, str]]]]) -> Agreement:
    """Two supervisors' inspections of the same visits: each pair ((total, answers), (total, answers))."""
    diffs = [abs(x[0] - y[0]) for x, y in pairs if x[0] is not None and y[0] is not None]
    first, second = [], []
    for x, y in pairs:
        for code in sorted(set(x[1]) & set(y[1])):
            first.append(x[1][code])
            second.append(y[1][code])
    same = sum(p == q for p, q in zip(first, second, strict=True))
    return Agreement(
        pairs=len(pairs), mean_abs_diff=round(sum(diffs) / len(diffs), 2) if diffs else None,
        item_agreement=round(same / len(first), 4) if first else None, kappa=cohen_kappa(first, second))
