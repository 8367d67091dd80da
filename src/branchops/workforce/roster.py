"""Rostering (科学排班) of a 1+N cluster (hub + satellites) for one week: plain inputs → a plan.

Time is counted in half-hour slots: day 0..6 (Monday first) and slot 0..47 of the day (slot 18 =
09:00). Each outlet has its opening hours per day (or is closed), and may work one shift a day
(一班制: every shift covers the whole opening). The need of an outlet is given per day, slot and
role: counters from the queueing app's forecast and Erlang staffing (the caller reads them there),
plus the lobby positions that must be held — positions 1 and 2 (``LOBBY_1``, ``LOBBY_2``) are added
automatically for every open slot (不准大堂迎客取号位空岗). A role names the skills it needs; valid
certifications are passed as skill flags, so an expired certificate simply is not in the set.

A staff member works at most one shift a day, of one role at one outlet; shifts are generated at
``start_step`` / ``length_step`` slots inside the opening hours, between the person's minimum and
maximum shift length, away from their leave and unavailable slots, at their home outlet or — if
they may float (统调统配) — at any outlet of the cluster.

Hard rules (never broken; a request that breaks one is refused with the rule's name, see
``RULES``): pinned (published) shifts are kept; at most one shift a day; contract hours per week
between ``min_week_slots`` (less a working day's share for each day of leave) and
``max_week_slots``; at most ``max_days`` working days; at least ``min_rest_slots`` between the end of one day's shift and the start of the next day's. Inputs are
checked first (``validate``); if the solver still proves the hard rules contradictory, a second
solve with one assumption literal per rule and person names the rules involved.

CP-SAT minimises one weighted objective (``Weights``; the defaults keep the orders of magnitude
apart so a lower term never buys a higher one):

    Σ uncovered half-hours × the role's weight   (lobby 1: 10,000; lobby 2: 5,000; counter: 1,000)
  + changed shifts against the previous plan × 1,500  (re-planning: a change must win back more
    than a counter's half-hour, so an announced week is not reshuffled for small gains)
  + moves (shifts away from the home outlet) × 100
  + spread of hours (max − min of each person's shortfall against their week's target) × 2
  + spread of unpopular shifts (weekend days, or ending after ``late_end_slot``) × 10

Under-staffing is an output, never a failure: ``Plan.shortfalls`` says what could not be covered
(outlet, day, slots, role, how many people) and why (``SHORTFALL_REASONS``). The solve is
deterministic for a given seed with one worker (and time-limited); the plan reports CP-SAT's status
(OPTIMAL / FEASIBLE), objective, best bound and relative gap.

``greedy`` is the baseline the bench compares against; ``evaluate`` scores any list of shifts with
the same objective. Pure module: no Django import.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

SLOTS_PER_DAY = 48
DAYS = 7

LOBBY_1 = "lobby_1"  # 1号位 大堂迎客取号 — never left empty while open
LOBBY_2 = "lobby_2"  # 2号位 自助服务区
COUNTER = "counter"

# Hard rules, by the name the caller translates.
PINNED_ON_LEAVE = "pinned_on_leave"
PINNED_OUTSIDE_HOURS = "pinned_outside_opening_hours"
PINNED_OUTLET_NOT_ALLOWED = "pinned_outlet_not_allowed"
PINNED_SKILL_MISSING = "pinned_skill_missing"
PINNED_SHIFT_LENGTH = "pinned_shift_length"
ONE_SHIFT_PER_DAY = "one_shift_per_day"
REST_BETWEEN_SHIFTS = "rest_between_shifts"
MAX_DAYS = "max_days_per_week"
MAX_HOURS = "max_hours_per_week"
MIN_HOURS = "min_hours_per_week"
MIN_HOURS_ABOVE_MAX = "min_hours_above_max_hours"
MIN_HOURS_ABOVE_AVAILABILITY = "min_hours_above_availability"
SHIFT_LENGTH_LIMITS = "min_shift_above_max_shift"
PINNED_SHIFT = "pinned_shift"  # a published shift that cannot be kept with the other rules
UNKNOWN_REFERENCE = "unknown_reference"  # an outlet, role or person not in the problem
BAD_VALUE = "bad_value"  # a day, slot, count or limit out of range
RULES = (
    PINNED_ON_LEAVE, PINNED_OUTSIDE_HOURS, PINNED_OUTLET_NOT_ALLOWED, PINNED_SKILL_MISSING,
    PINNED_SHIFT_LENGTH, PINNED_SHIFT, ONE_SHIFT_PER_DAY, REST_BETWEEN_SHIFTS, MAX_DAYS, MAX_HOURS, MIN_HOURS,
    MIN_HOURS_ABOVE_MAX, MIN_HOURS_ABOVE_AVAILABILITY, SHIFT_LENGTH_LIMITS, UNKNOWN_REFERENCE, BAD_VALUE,
)

# Why a need stayed uncovered.
NO_QUALIFIED_STAFF = "no_qualified_staff"  # nobody with the role's skills may work at the outlet
QUALIFIED_STAFF_ABSENT = "qualified_staff_absent"  # they exist, but all are on leave / unavailable then
QUALIFIED_STAFF_BUSY = "qualified_staff_busy"  # all who could are working then (elsewhere or another role)
HOURS_OR_REST_LIMITS = "hours_or_rest_limits"  # someone is free then, but hours / days / rest / shift length forbid
SHORTFALL_REASONS = (NO_QUALIFIED_STAFF, QUALIFIED_STAFF_ABSENT, QUALIFIED_STAFF_BUSY, HOURS_OR_REST_LIMITS)

OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN = "OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN"
GREEDY = "GREEDY"  # CP-SAT found no plan in time: the greedy plan, which keeps every hard rule


@dataclass(frozen=True)
class Outlet:
    code: str
    # Per day 0..6: (open slot, close slot), close exclusive; None when closed that day.
    hours: tuple[tuple[int, int] | None, ...]
    single_shift: bool = False  # 一班制: one shift covers the whole opening


@dataclass(frozen=True)
class Role:
    code: str
    skills: frozenset[str] = frozenset()  # all needed (certifications included as flags)
    uncovered_weight: int = 1000  # per uncovered person-half-hour


@dataclass(frozen=True)
class Need:
    outlet: str
    day: int
    slot: int
    role: str
    count: int


@dataclass(frozen=True)
class Staff:
    code: str
    home: str
    skills: frozenset[str] = frozenset()
    floats: bool = False  # may work at any outlet of the cluster (统调统配)
    min_week_slots: int = 0
    max_week_slots: int = 80  # 40 hours
    min_shift_slots: int = 8
    max_shift_slots: int = 18
    max_days: int = 5
    min_rest_slots: int = 22  # 11 hours between one day's end and the next day's start
    leave_days: frozenset[int] = frozenset()
    unavailable: frozenset[tuple[int, int]] = frozenset()  # (day, slot) pairs

    def absent(self, day: int, slot: int) -> bool:
        return day in self.leave_days or (day, slot) in self.unavailable

    @property
    def min_slots(self) -> int:
        """The contract minimum to work this week: a day of leave counts as a full day (the longest
        shift), so a sick day never forces the person's other shifts to grow."""
        return max(0, self.min_week_slots - len(self.leave_days) * self.max_shift_slots)


@dataclass(frozen=True, order=True)
class Shift:
    staff: str
    day: int
    outlet: str
    start: int
    end: int  # exclusive
    role: str

    @property
    def slots(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Weights:
    move: int = 100
    change: int = 1500
    hours_spread: int = 2
    unpopular_spread: int = 10


def default_roles() -> tuple[Role, ...]:
    return (
        Role(LOBBY_1, frozenset({"lobby"}), 10_000),
        Role(LOBBY_2, frozenset({"lobby"}), 5_000),
        Role(COUNTER, frozenset({"counter"}), 1_000),
    )


@dataclass(frozen=True)
class Problem:
    outlets: tuple[Outlet, ...]
    staff: tuple[Staff, ...]
    needs: tuple[Need, ...] = ()
    roles: tuple[Role, ...] = field(default_factory=default_roles)
    hold_lobby: tuple[str, ...] = (LOBBY_1, LOBBY_2)  # held by one person every open slot
    pinned: tuple[Shift, ...] = ()  # published shifts: kept as they are
    previous: tuple[Shift, ...] = ()  # the plan being revised: each shift changed costs Weights.change
    first_day: int = 0  # re-planning: days before it are history, only their pinned shifts stand
    weights: Weights = Weights()
    unpopular_days: frozenset[int] = frozenset({5, 6})
    late_end_slot: int = 36  # a shift ending after 18:00 is unpopular
    start_step: int = 2
    length_step: int = 2


@dataclass(frozen=True)
class Violation:
    rule: str
    staff: str = ""
    day: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class Shortfall:
    outlet: str
    day: int
    start: int
    end: int  # exclusive
    role: str
    missing: int  # people missing in each half-hour of the run
    reason: str

    @property
    def person_slots(self) -> int:
        return self.missing * (self.end - self.start)


@dataclass(frozen=True)
class Score:
    objective: int
    needed: int  # person-half-hours of need
    covered: int
    uncovered_by_role: dict[str, int]
    moves: int
    changes: int
    hours_spread: int
    unpopular_spread: int


@dataclass
class Plan:
    status: str
    shifts: list[Shift] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    score: Score | None = None
    objective: int | None = None
    best_bound: float | None = None
    gap: float | None = None
    wall_seconds: float = 0.0
    deterministic_seconds: float | None = None  # CP-SAT's work measure: comparable on a loaded machine

    @property
    def rules(self) -> list[str]:
        return sorted({v.rule for v in self.violations})


# ---------------------------------------------------------------------------------------------
# Inputs


def _demand(problem: Problem) -> dict[tuple[str, int, int, str], int]:
    """Need per (outlet, day, slot, role), with the held lobby positions added."""
    need: dict[tuple[str, int, int, str], int] = defaultdict(int)
    for n in problem.needs:
        if n.count > 0:
            need[(n.outlet, n.day, n.slot, n.role)] += n.count
    roles = {r.code for r in problem.roles}
    for o in problem.outlets:
        for d, h in enumerate(o.hours):
            if h is None:
                continue
            for s in range(h[0], h[1]):
                for r in problem.hold_lobby:
                    if r in roles:
                        need[(o.code, d, s, r)] = max(need[(o.code, d, s, r)], 1)
    return dict(need)


def _allowed_outlets(problem: Problem, p: Staff) -> list[Outlet]:
    return [o for o in problem.outlets if p.floats or o.code == p.home]


def _qualified(role: Role, p: Staff) -> bool:
    return role.skills <= p.skills


def _windows(p: Staff, o: Outlet, day: int, start_step: int, length_step: int) -> list[tuple[int, int]]:
    """Candidate (start, end) of a shift of p at o on day."""
    h = o.hours[day]
    if h is None or day in p.leave_days:
        return []
    lo, hi = h
    if o.single_shift:
        spans = [(lo, hi)] if p.min_shift_slots <= hi - lo <= p.max_shift_slots else []
    else:
        lengths = set(range(p.min_shift_slots, min(p.max_shift_slots, hi - lo) + 1, max(1, length_step)))
        if p.min_shift_slots <= hi - lo <= p.max_shift_slots:
            lengths.add(hi - lo)
        spans = set()
        for length in lengths:
            starts = set(range(lo, hi - length + 1, max(1, start_step)))
            starts.add(hi - length)  # one ending at closing time
            spans |= {(s, s + length) for s in starts}
        spans = sorted(spans)
    return [(s, e) for s, e in spans if not any((day, t) in p.unavailable for t in range(s, e))]


def validate(problem: Problem) -> list[Violation]:
    """The hard rules a request breaks before any search (empty when none)."""
    out: list[Violation] = []
    outlets = {o.code: o for o in problem.outlets}
    roles = {r.code: r for r in problem.roles}
    staff = {p.code: p for p in problem.staff}
    for o in problem.outlets:
        if len(o.hours) != DAYS:
            out.append(Violation(BAD_VALUE, detail=f"outlet {o.code}: hours for {len(o.hours)} days, not 7"))
        for h in o.hours:
            if h is not None and not 0 <= h[0] < h[1] <= SLOTS_PER_DAY:
                out.append(Violation(BAD_VALUE, detail=f"outlet {o.code}: opening {h}"))
    for n in problem.needs:
        if n.outlet not in outlets or n.role not in roles:
            out.append(Violation(UNKNOWN_REFERENCE, detail=f"need {n}"))
        elif not (0 <= n.day < DAYS and 0 <= n.slot < SLOTS_PER_DAY) or n.count < 0:
            out.append(Violation(BAD_VALUE, detail=f"need {n}"))
    for kind, codes in (("outlet", [o.code for o in problem.outlets]), ("staff", [p.code for p in problem.staff]),
                        ("role", [r.code for r in problem.roles])):
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            out.append(Violation(BAD_VALUE, detail=f"{kind} listed twice: {', '.join(twice)}"))
    if not 0 <= problem.first_day <= DAYS:
        out.append(Violation(BAD_VALUE, detail=f"first day {problem.first_day}"))
    if out:
        return out
    for p in problem.staff:
        if p.home not in outlets:
            out.append(Violation(UNKNOWN_REFERENCE, p.code, detail=f"home outlet {p.home}"))
            continue
        if min(p.min_week_slots, p.max_week_slots, p.min_shift_slots, p.max_days, p.min_rest_slots) < 0 \
                or p.max_shift_slots < 1 or any(not 0 <= d < DAYS for d in p.leave_days):
            out.append(Violation(BAD_VALUE, p.code, detail="negative limit or day out of range"))
            continue
        if p.min_shift_slots > p.max_shift_slots:
            out.append(Violation(SHIFT_LENGTH_LIMITS, p.code,
                                 detail=f"{p.min_shift_slots} > {p.max_shift_slots} half-hours"))
        if p.min_week_slots > p.max_week_slots:
            out.append(Violation(MIN_HOURS_ABOVE_MAX, p.code,
                                 detail=f"{p.min_week_slots} > {p.max_week_slots} half-hours"))
            continue
        # The most a person could work: their longest possible shift on their best max_days days.
        history = defaultdict(int)
        for sh in problem.pinned:
            if sh.staff == p.code and 0 <= sh.day < problem.first_day:
                history[sh.day] = max(history[sh.day], sh.end - sh.start)
        longest = sorted(
            (history[d] if d < problem.first_day else
             max((e - s for o in _allowed_outlets(problem, p)
                  for s, e in _windows(p, o, d, problem.start_step, problem.length_step)), default=0)
             for d in range(DAYS)), reverse=True)
        if not any(_qualified(r, p) for r in problem.roles):
            longest = [0]
        possible = min(sum(longest[:p.max_days]), p.max_week_slots)
        if p.min_slots > possible:
            out.append(Violation(MIN_HOURS_ABOVE_AVAILABILITY, p.code,
                                 detail=f"needs {p.min_slots} half-hours, at most {possible} possible"))
    by_person: dict[str, list[Shift]] = defaultdict(list)
    for sh in problem.pinned:
        p, o, r = staff.get(sh.staff), outlets.get(sh.outlet), roles.get(sh.role)
        if p is None or o is None or r is None:
            out.append(Violation(UNKNOWN_REFERENCE, sh.staff, sh.day if 0 <= sh.day < DAYS else None,
                                 detail=f"pinned {sh}"))
            continue
        if not (0 <= sh.day < DAYS and 0 <= sh.start < sh.end <= SLOTS_PER_DAY):
            out.append(Violation(BAD_VALUE, p.code, None, detail=f"pinned {sh}"))
            continue
        by_person[p.code].append(sh)
        if any(p.absent(sh.day, t) for t in range(sh.start, sh.end)):
            out.append(Violation(PINNED_ON_LEAVE, p.code, sh.day))
        h = o.hours[sh.day]
        if h is None or sh.start < h[0] or sh.end > h[1]:
            out.append(Violation(PINNED_OUTSIDE_HOURS, p.code, sh.day))
        if not p.floats and o.code != p.home:
            out.append(Violation(PINNED_OUTLET_NOT_ALLOWED, p.code, sh.day, detail=o.code))
        if not _qualified(r, p):
            out.append(Violation(PINNED_SKILL_MISSING, p.code, sh.day,
                                 detail=",".join(sorted(r.skills - p.skills))))
        if not p.min_shift_slots <= sh.slots <= p.max_shift_slots:
            out.append(Violation(PINNED_SHIFT_LENGTH, p.code, sh.day, detail=str(sh.slots)))
    for code, shifts in by_person.items():
        p = staff[code]
        days = defaultdict(list)
        for sh in shifts:
            days[sh.day].append(sh)
        for d, same in sorted(days.items()):
            if len(same) > 1:
                out.append(Violation(ONE_SHIFT_PER_DAY, code, d))
        for d in sorted(days):
            if d + 1 in days:
                gap = SLOTS_PER_DAY - days[d][0].end + days[d + 1][0].start
                if gap < p.min_rest_slots:
                    out.append(Violation(REST_BETWEEN_SHIFTS, code, d + 1,
                                         detail=f"{gap} < {p.min_rest_slots} half-hours"))
        if len(days) > p.max_days:
            out.append(Violation(MAX_DAYS, code, detail=f"{len(days)} > {p.max_days}"))
        total = sum(sh.slots for sh in shifts)
        if total > p.max_week_slots:
            out.append(Violation(MAX_HOURS, code, detail=f"{total} > {p.max_week_slots} half-hours"))
    return out


def check(problem: Problem, shifts: Sequence[Shift]) -> list[Violation]:
    """The hard rules a finished plan breaks — e.g. after a shift was moved by hand before publishing
    (empty when none). The plan's shifts are checked as if all were pinned, plus the contract minimum."""
    out = validate(replace(problem, pinned=tuple(shifts), previous=()))
    worked: dict[str, int] = defaultdict(int)
    for sh in shifts:
        worked[sh.staff] += sh.slots
    out += [Violation(MIN_HOURS, p.code, detail=f"{worked[p.code]} < {p.min_slots} half-hours")
            for p in problem.staff if worked[p.code] < p.min_slots]
    return out


# ---------------------------------------------------------------------------------------------
# Scoring (shared by CP-SAT's objective and the greedy baseline)


def _target(p: Staff) -> int:
    """The week's hours a person is expected to work: their maximum, less the days they are away."""
    away = len(p.leave_days)
    return p.max_week_slots * (DAYS - away) // DAYS if away else p.max_week_slots


def _unpopular(problem: Problem, day: int, end: int) -> bool:
    return day in problem.unpopular_days or end > problem.late_end_slot


class _Index:
    """Candidate shifts of the problem and what each covers (built once, used by both solvers)."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.need = _demand(problem)
        self.roles = {r.code: r for r in problem.roles}
        self.staff = {p.code: p for p in problem.staff}
        needed_roles: dict[tuple[str, int], set[str]] = defaultdict(set)
        for (o, d, _s, r) in self.need:
            needed_roles[(o, d)].add(r)
        cands: set[Shift] = set()
        for p in problem.staff:
            for o in _allowed_outlets(problem, p):
                for d in range(problem.first_day, DAYS):
                    rs = [r for r in sorted(needed_roles.get((o.code, d), ())) if _qualified(self.roles[r], p)]
                    if not rs:  # no need they can serve that day: a shift still counts to their contract
                        rs = [r.code for r in problem.roles if _qualified(r, p)][:1]
                    for s, e in _windows(p, o, d, problem.start_step, problem.length_step):
                        cands.update(Shift(p.code, d, o.code, s, e, r) for r in rs)
        # Published shifts are kept, and the previous plan's shifts stay possible where still allowed.
        cands.update(problem.pinned)
        for sh in problem.previous:
            p = self.staff.get(sh.staff)
            o = next((x for x in problem.outlets if x.code == sh.outlet), None)
            if (p is None or o is None or sh.role not in self.roles
                    or not problem.first_day <= sh.day < DAYS):
                continue
            h = o.hours[sh.day]
            if (h and h[0] <= sh.start < sh.end <= h[1] and (p.floats or o.code == p.home)
                    and _qualified(self.roles[sh.role], p)
                    and p.min_shift_slots <= sh.slots <= p.max_shift_slots
                    and not any(p.absent(sh.day, t) for t in range(sh.start, sh.end))):
                cands.add(sh)
        self.cands = sorted(cands, key=_key)
        # Who counts in the unpopular spread: those who could be given such a shift at all.
        self.unpopular_people = sorted({c.staff for c in self.cands if _unpopular(problem, c.day, c.end)})


def _cover(shifts: Iterable[Shift]) -> dict[tuple[str, int, int, str], int]:
    """People per (outlet, day, slot, role)."""
    cover: dict[tuple[str, int, int, str], int] = defaultdict(int)
    for sh in shifts:
        for t in range(sh.start, sh.end):
            cover[(sh.outlet, sh.day, t, sh.role)] += 1
    return cover


def _key(c: Shift) -> tuple:
    return (c.staff, c.day, c.outlet, c.start, c.end, c.role)


def evaluate(problem: Problem, shifts: Iterable[Shift], index: _Index | None = None) -> Score:
    """Score a plan with the engine's objective (uncovered need ≫ moves ≫ changes ≫ unfairness)."""
    shifts = list(shifts)
    need = _demand(problem)
    roles = {r.code: r for r in problem.roles}
    staff = {p.code: p for p in problem.staff}
    w = problem.weights
    cover = _cover(shifts)
    uncovered: dict[str, int] = defaultdict(int)
    needed = covered = 0
    for cell, n in need.items():
        c = min(n, cover.get(cell, 0))
        needed += n
        covered += c
        uncovered[cell[3]] += n - c
    moves = sum(1 for sh in shifts if staff[sh.staff].home != sh.outlet)
    changes = _changes(problem, shifts)
    worked = defaultdict(int)
    unpop = defaultdict(int)
    for sh in shifts:
        worked[sh.staff] += sh.slots
        unpop[sh.staff] += _unpopular(problem, sh.day, sh.end)
    short = [_target(p) - worked[p.code] for p in problem.staff]
    hours_spread = max(short) - min(short) if short else 0
    up = index.unpopular_people if index is not None else _Index(problem).unpopular_people
    unpopular_spread = (max(unpop[c] for c in up) - min(unpop[c] for c in up)) if up else 0
    objective = (sum(roles[r].uncovered_weight * v for r, v in uncovered.items())
                 + w.move * moves + w.change * changes
                 + w.hours_spread * hours_spread + w.unpopular_spread * unpopular_spread)
    return Score(objective, needed, covered, dict(uncovered), moves, changes, hours_spread, unpopular_spread)


def _changes(problem: Problem, shifts: Sequence[Shift]) -> int:
    """(person, day) pairs whose shift differs from the previous plan's; 0 without a previous plan."""
    if not problem.previous:
        return 0
    before = {(sh.staff, sh.day): sh for sh in problem.previous}
    after = {(sh.staff, sh.day): sh for sh in shifts}
    return sum(1 for k in before.keys() | after.keys() if before.get(k) != after.get(k))


# ---------------------------------------------------------------------------------------------
# CP-SAT


def _build(ix: _Index, explain: bool = False, hint: Iterable[Shift] = ()):
    """The model; with ``explain`` every hard rule of every person hangs on an assumption literal
    (and there is no objective), so an infeasible request can be traced to rule names."""
    from ortools.sat.python import cp_model

    problem, cands = ix.problem, ix.cands
    w = problem.weights
    m = cp_model.CpModel()
    x = [m.NewBoolVar(f"x{i}") for i in range(len(cands))]
    pos = {c: i for i, c in enumerate(cands)}
    assumptions: dict[int, tuple[str, str]] = {}
    literals = []

    def hard(ct, rule: str, staff: str) -> None:
        if explain:
            lit = m.NewBoolVar(f"{rule}:{staff}")
            ct.OnlyEnforceIf(lit)
            assumptions[lit.Index()] = (rule, staff)
            literals.append(lit)

    total = cp_model.LinearExpr.sum
    wsum = cp_model.LinearExpr.weighted_sum
    by_pd: dict[tuple[str, int], list[int]] = defaultdict(list)
    by_staff: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cands):
        by_pd[(c.staff, c.day)].append(i)
        by_staff[c.staff].append(i)
    for idxs in by_pd.values():
        m.AddAtMostOne(x[i] for i in idxs)
    for sh in problem.pinned:
        hard(m.Add(x[pos[sh]] == 1), PINNED_SHIFT, sh.staff)
    worked = {}
    for p in problem.staff:
        idxs = by_staff.get(p.code, [])
        worked[p.code] = m.NewIntVar(0, SLOTS_PER_DAY * DAYS, f"worked:{p.code}")
        m.Add(worked[p.code] == wsum([x[i] for i in idxs], [cands[i].slots for i in idxs]))
        hard(m.Add(worked[p.code] <= p.max_week_slots), MAX_HOURS, p.code)
        hard(m.Add(worked[p.code] >= p.min_slots), MIN_HOURS, p.code)
        hard(m.Add(total([x[i] for i in idxs]) <= p.max_days), MAX_DAYS, p.code)
        for d in range(DAYS - 1):
            nxt = by_pd.get((p.code, d + 1), [])
            for i in by_pd.get((p.code, d), []):
                latest = cands[i].end - SLOTS_PER_DAY + p.min_rest_slots  # next day may start from here
                bad = [x[j] for j in nxt if cands[j].start < latest]
                if bad:
                    hard(m.Add(x[i] + total(bad) <= 1), REST_BETWEEN_SHIFTS, p.code)
    if explain:
        m.AddAssumptions(literals)
        return m, x, assumptions

    covering: dict[tuple[str, int, int, str], list] = defaultdict(list)
    for i, c in enumerate(cands):
        for t in range(c.start, c.end):
            cell = (c.outlet, c.day, t, c.role)
            if cell in ix.need:
                covering[cell].append(x[i])
    obj_vars, obj_coefs = [], []
    shorts = []
    constant = 0
    for cell, n in ix.need.items():
        weight = ix.roles[cell[3]].uncovered_weight
        if cell not in covering:
            constant += weight * n
            continue
        short = m.NewIntVar(0, n, "")
        m.Add(total(covering[cell]) + short >= n)
        shorts.append((short, cell, n))
        obj_vars.append(short)
        obj_coefs.append(weight)
    staff = ix.staff
    for i, c in enumerate(cands):
        if staff[c.staff].home != c.outlet:
            obj_vars.append(x[i])
            obj_coefs.append(w.move)
    if problem.previous:
        before = {(sh.staff, sh.day): sh for sh in problem.previous}
        for key in before.keys() | by_pd.keys():
            prev = before.get(key)
            if prev is None:
                obj_vars += [x[i] for i in by_pd[key]]
                obj_coefs += [w.change] * len(by_pd[key])
            elif prev in pos:
                constant += w.change
                obj_vars.append(x[pos[prev]])
                obj_coefs.append(-w.change)
            else:
                constant += w.change
    bound = SLOTS_PER_DAY * DAYS * 10
    if problem.staff:
        hi, lo = m.NewIntVar(-bound, bound, "hours_hi"), m.NewIntVar(-bound, bound, "hours_lo")
        for p in problem.staff:
            m.Add(hi >= _target(p) - worked[p.code])
            m.Add(lo <= _target(p) - worked[p.code])
        obj_vars += [hi, lo]
        obj_coefs += [w.hours_spread, -w.hours_spread]
    if ix.unpopular_people:
        uhi, ulo = m.NewIntVar(0, DAYS, "unpop_hi"), m.NewIntVar(0, DAYS, "unpop_lo")
        for code in ix.unpopular_people:
            n = total([x[i] for i in by_staff[code] if _unpopular(problem, cands[i].day, cands[i].end)])
            m.Add(uhi >= n)
            m.Add(ulo <= n)
        obj_vars += [uhi, ulo]
        obj_coefs += [w.unpopular_spread, -w.unpopular_spread]
    hint = [sh for sh in hint if sh in pos]
    if hint:
        # A complete hint (every variable), so the first incumbent is the hinted plan itself.
        chosen = set(hint)
        for c, v in zip(cands, x, strict=True):
            m.AddHint(v, c in chosen)
        cover = _cover(hint)
        hours: dict[str, int] = defaultdict(int)
        unpop: dict[str, int] = defaultdict(int)
        for c in hint:
            hours[c.staff] += c.slots
            unpop[c.staff] += _unpopular(problem, c.day, c.end)
        for short, cell, n in shorts:
            m.AddHint(short, max(0, n - cover[cell]))
        for code, v in worked.items():
            m.AddHint(v, hours[code])
        if problem.staff:
            gaps = [_target(p) - hours[p.code] for p in problem.staff]
            m.AddHint(hi, max(gaps))
            m.AddHint(lo, min(gaps))
        if ix.unpopular_people:
            m.AddHint(uhi, max(unpop[c] for c in ix.unpopular_people))
            m.AddHint(ulo, min(unpop[c] for c in ix.unpopular_people))
    m.Minimize(wsum(obj_vars, obj_coefs) + constant)
    return m, x, assumptions


def _solver(time_limit: float, num_workers: int, seed: int, relative_gap: float, work_limit: float | None = None):
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    if work_limit is not None:
        solver.parameters.max_deterministic_time = work_limit
    solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = seed
    solver.parameters.relative_gap_limit = relative_gap
    return solver


def solve(problem: Problem, *, time_limit: float = 10.0, num_workers: int = 2, seed: int = 0,
          relative_gap: float = 0.0, warm_start: bool = True, work_limit: float | None = None) -> Plan:
    """The best plan CP-SAT finds within ``time_limit`` seconds (stopping early at ``relative_gap``).

    Never fails for lack of staff: what stays uncovered is in ``Plan.shortfalls``. Refused requests
    come back with status INFEASIBLE and ``Plan.violations`` naming the hard rules. The search starts
    from the previous plan when there is one, else (``warm_start``) from the greedy plan: with two
    workers CP-SAT otherwise spends seconds finding any plan that meets every contract minimum.

    Deterministic for a given ``seed`` with ``num_workers=1`` when the search ends by itself or by
    ``work_limit`` (CP-SAT's deterministic time); a wall-clock ``time_limit`` that cuts the search
    depends on the machine's load.
    """
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    violations = validate(problem)
    if violations:
        return Plan(INFEASIBLE, violations=violations, wall_seconds=time.perf_counter() - t0)
    ix = _Index(problem)
    hint = problem.previous or (_greedy(ix).shifts if warm_start else ())
    model, x, _ = _build(ix, hint=hint)
    # The time limit is the whole call's: checking and building the model count, and a tenth is kept
    # for reading the answer (scores, shortfalls).
    solver = _solver(max(0.1, 0.9 * time_limit - (time.perf_counter() - t0)), num_workers, seed, relative_gap,
                     work_limit)
    status = solver.Solve(model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        shifts = [c for c, v in zip(ix.cands, x, strict=True) if solver.BooleanValue(v)]
        # The plan's own score: an incumbent's slack variables may overstate CP-SAT's objective.
        score = evaluate(problem, shifts, ix)
        objective = score.objective
        bound = solver.BestObjectiveBound()
        return Plan(
            OPTIMAL if status == cp_model.OPTIMAL else FEASIBLE, shifts, shortfalls(problem, shifts),
            score=score, objective=objective, best_bound=bound,
            gap=abs(objective - bound) / max(1.0, abs(objective)), wall_seconds=time.perf_counter() - t0,
            deterministic_seconds=solver.deterministic_time)
    if status == cp_model.INFEASIBLE:
        return Plan(INFEASIBLE, violations=_explain(ix, time_limit, seed),
                    wall_seconds=time.perf_counter() - t0)
    fallback = _greedy(ix)  # out of time before any plan: never leave the caller without one
    if fallback.status == FEASIBLE:
        fallback.status = GREEDY
        fallback.wall_seconds = time.perf_counter() - t0
        return fallback
    return Plan(UNKNOWN, wall_seconds=time.perf_counter() - t0)


def _explain(ix: _Index, time_limit: float, seed: int) -> list[Violation]:
    """The hard rules (and whose) behind an infeasible request: CP-SAT's core of assumptions."""
    from ortools.sat.python import cp_model

    model, _, assumptions = _build(ix, explain=True)
    solver = _solver(time_limit, 1, seed, 0.0)  # cores need a single worker and no objective
    if solver.Solve(model) != cp_model.INFEASIBLE:
        # Out of time explaining: name every rule that could be involved rather than none.
        return [Violation(r, detail="infeasible; no smaller set found in time") for r in
                (PINNED_SHIFT, MIN_HOURS, MAX_HOURS, MAX_DAYS, REST_BETWEEN_SHIFTS)]
    core = solver.SufficientAssumptionsForInfeasibility()
    return sorted({Violation(*assumptions[i]) for i in core if i in assumptions},
                  key=lambda v: (v.rule, v.staff))


# ---------------------------------------------------------------------------------------------
# Under-staffing


def shortfalls(problem: Problem, shifts: Sequence[Shift]) -> list[Shortfall]:
    """What the plan leaves uncovered, in runs of half-hours, each with the reason."""
    need = _demand(problem)
    roles = {r.code: r for r in problem.roles}
    cover = _cover(shifts)
    working = {(sh.staff, sh.day, t) for sh in shifts for t in range(sh.start, sh.end)}

    def reason(o: str, d: int, s: int, r: str) -> str:
        qualified = [p for p in problem.staff if _qualified(roles[r], p) and (p.floats or p.home == o)]
        if not qualified:
            return NO_QUALIFIED_STAFF
        present = [p for p in qualified if not p.absent(d, s)]
        if not present:
            return QUALIFIED_STAFF_ABSENT
        if any((p.code, d, s) not in working for p in present):
            return HOURS_OR_REST_LIMITS
        return QUALIFIED_STAFF_BUSY

    out: list[Shortfall] = []
    for (o, d, s, r), n in sorted(need.items()):
        missing = n - min(n, cover.get((o, d, s, r), 0))
        if missing <= 0:
            continue
        why = reason(o, d, s, r)
        last = out[-1] if out else None
        if last and (last.outlet, last.day, last.role, last.end, last.reason, last.missing) == (
                o, d, r, s, why, missing):
            out[-1] = replace(last, end=s + 1)
        else:
            out.append(Shortfall(o, d, s, s + 1, r, missing, why))
    return out


# ---------------------------------------------------------------------------------------------
# Greedy baseline (for the bench): repeatedly take the shift that covers the most weighted
# uncovered need, then top people up to their contract minimum.


def greedy(problem: Problem) -> Plan:
    t0 = time.perf_counter()
    violations = validate(problem)
    if violations:
        return Plan(INFEASIBLE, violations=violations, wall_seconds=time.perf_counter() - t0)
    plan = _greedy(_Index(problem))
    plan.wall_seconds = time.perf_counter() - t0
    return plan


def _greedy(ix: _Index) -> Plan:
    import numpy as np
    from scipy import sparse

    problem = ix.problem
    cands = ix.cands
    cells = list(ix.need)
    cell_pos = {c: k for k, c in enumerate(cells)}
    rows, cols = [], []
    for i, c in enumerate(cands):
        for t in range(c.start, c.end):
            k = cell_pos.get((c.outlet, c.day, t, c.role))
            if k is not None:
                rows.append(i)
                cols.append(k)
    a = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(cands), len(cells)))
    weight = np.array([ix.roles[c[3]].uncovered_weight for c in cells], dtype=float)
    deficit = np.array([ix.need[c] for c in cells], dtype=float)
    penalty = np.array([problem.weights.move * (ix.staff[c.staff].home != c.outlet) for c in cands], float)
    slots = np.array([c.slots for c in cands])
    alive = np.ones(len(cands), dtype=bool)
    by_staff: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cands):
        by_staff[c.staff].append(i)
    longest = {code: max(cands[i].slots for i in idxs) for code, idxs in by_staff.items()}
    worked: dict[str, int] = defaultdict(int)
    days: dict[str, dict[int, Shift]] = defaultdict(dict)
    chosen: list[Shift] = []

    def take(i: int) -> None:
        c = cands[i]
        p = ix.staff[c.staff]
        chosen.append(c)
        deficit[a.indices[a.indptr[i]:a.indptr[i + 1]]] -= 1
        worked[c.staff] += c.slots
        days[c.staff][c.day] = c
        for j in by_staff[c.staff]:
            o = cands[j]
            if not alive[j]:
                continue
            days_left = p.max_days - len(days[c.staff]) - 1  # after taking o
            if (o.day == c.day or o.slots > p.max_week_slots - worked[c.staff]
                    or len(days[c.staff]) >= p.max_days
                    # keep the contract minimum within reach
                    or worked[c.staff] + o.slots + days_left * longest[c.staff] < p.min_slots
                    or (o.day == c.day + 1 and SLOTS_PER_DAY - c.end + o.start < p.min_rest_slots)
                    or (o.day == c.day - 1 and SLOTS_PER_DAY - o.end + c.start < p.min_rest_slots)):
                alive[j] = False

    pos = {c: i for i, c in enumerate(cands)}
    for sh in problem.pinned:
        take(pos[sh])
        alive[pos[sh]] = False
    while alive.any():
        gain = a @ (weight * (deficit > 0)) - penalty
        gain[~alive] = -np.inf
        i = int(np.argmax(gain))
        if gain[i] <= 0:
            break
        take(i)
    for p in problem.staff:  # contract minimum: the longest shifts still open, most useful first
        while worked[p.code] < p.min_slots:
            idxs = [i for i in by_staff[p.code] if alive[i]]
            if not idxs:
                break
            useful = a[idxs] @ (weight * (deficit > 0))
            best = max(range(len(idxs)), key=lambda k: (slots[idxs[k]], useful[k] - penalty[idxs[k]]))
            take(idxs[best])
    score = evaluate(problem, chosen, ix)
    unmet = [Violation(MIN_HOURS, p.code) for p in problem.staff if worked[p.code] < p.min_slots]
    return Plan(FEASIBLE if not unmet else INFEASIBLE, sorted(chosen), shortfalls(problem, chosen), unmet,
                score=score, objective=score.objective)
