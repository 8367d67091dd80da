"""The SLA engine of cases: deadlines, clock pauses, extensions, restarts, status, reminders and
escalation levels.

Pure computation, no Django: the service layer and the background worker read policies, pauses,
extensions and restarts from the database and pass them in as plain values.

Counting conventions (the same as :mod:`branchops.core.calendar`):

- "N working days from receipt" is ``calendar.add_working_days(start, N)``: the start day itself is
  not counted, the deadline is the N-th working day after it.
- "N calendar days from receipt" is ``start + N days``; when the rule says so
  (``Rule.roll_to_working_day``, the default) a deadline that falls on a non-working day moves to
  the first working day after it, as Chinese regulators count statutory time limits
  (期限届满的最后一日是法定节假日的，以节假日后的第一日为期限届满的日期). A make-up Saturday (调休)
  is a working day, so a deadline falling on it stays there.

The clock model (how pauses, extensions and restarts combine):

1. The clock starts on the *effective start*: the latest of the start date and the restart dates
   (new facts restart the clock). Days on or before the effective start never count, so pauses
   before a restart are ignored and a pause straddling it only counts from the day after it.
2. The clock must run ``rule.days + sum(extensions)`` counted days (working days for a WORKING
   rule, calendar days for a CALENDAR rule).
3. A pause ``Pause(a, b)`` covers the days in ``[a, b)``: ``a`` is the first paused day, ``b`` the
   day work resumed (counted again). Overlapping or adjacent pauses are merged first. A pause that
   begins on or before the running deadline shifts it by the number of counted days in ``[a, b)``
   (working days inside the pause for a WORKING rule, calendar days for a CALENDAR rule). A pause
   that begins after the running deadline is ignored: the clock had already run out, and pausing a
   breached case does not un-breach it.
4. An *open* pause (``end is None``) that begins on or before the running deadline leaves the
   deadline unknown: the result is ``due=None, paused=True``.
5. The roll-forward to a working day is applied last, to the final calendar-day deadline.

Batch use: the worker scans up to a million open cases; build one :class:`FastCalendar` over the
date range it needs and pass it wherever a calendar is expected — it answers the same three
questions as ``WorkingCalendar`` with O(1) table lookups and identical results.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

ONE_DAY = timedelta(days=1)


class Calendar(Protocol):
    """What the engine needs from a calendar (``WorkingCalendar`` and ``FastCalendar`` both fit)."""

    def is_working_day(self, d: date) -> bool: ...

    def add_working_days(self, start: date, n: int) -> date: ...

    def working_days_between(self, start: date, end: date) -> int: ...


class DayKind(enum.StrEnum):
    WORKING = "working"
    CALENDAR = "calendar"


@dataclass(frozen=True)
class Rule:
    """A named deadline of an SLA policy: ``days`` working or calendar days from the start."""

    name: str
    days: int
    kind: DayKind = DayKind.WORKING
    roll_to_working_day: bool = True  # only meaningful for CALENDAR rules

    def __post_init__(self):
        if self.days < 0:
            raise ValueError(f"rule {self.name!r}: days must be >= 0, got {self.days}")
        object.__setattr__(self, "kind", DayKind(self.kind))


@dataclass(frozen=True)
class Pause:
    """The clock stands still on the days in ``[start, end)``; ``end`` is the day work resumed.
    ``end=None`` means the case is still paused."""

    start: date
    end: date | None = None
    reason: str = ""

    def __post_init__(self):
        if self.end is not None and self.end < self.start:
            raise ValueError(f"pause ends ({self.end}) before it starts ({self.start})")


@dataclass(frozen=True)
class Restart:
    """New facts restart the clock on ``on``; the latest restart wins."""

    on: date
    reason: str = ""


@dataclass(frozen=True)
class Deadline:
    """The full answer of :func:`compute_deadline`.

    ``due`` is None exactly when ``paused`` is true (an open pause stops the clock before it ran
    out). ``start`` is the effective start (after restarts), ``paused_days`` the counted days the
    closed pauses added, ``paused_since`` the start of the open pause."""

    due: date | None
    paused: bool
    start: date
    paused_days: int = 0
    paused_since: date | None = None


@dataclass(frozen=True)
class Status:
    """``state`` is one of ``met``, ``breached``, ``due_soon``, ``on_track``, ``paused``.

    ``days_left`` counts in the rule's kind from ``now`` (or from the completion day for a done
    case) to the due date: positive or zero before it, negative when overdue, None when paused.
    ``overdue_days`` is ``max(0, -days_left)``."""

    state: str
    days_left: int | None
    overdue_days: int


MET = "met"
BREACHED = "breached"
DUE_SOON = "due_soon"
ON_TRACK = "on_track"
PAUSED = "paused"
STATES = (MET, BREACHED, DUE_SOON, ON_TRACK, PAUSED)


@dataclass(frozen=True)
class EscalationStep:
    """Escalate to ``target`` (e.g. "outlet_head", "sub_branch", "branch_department_head",
    "branch_leader") once the case is ``after_overdue_days`` or more days overdue."""

    level: int
    after_overdue_days: int
    target: str


# ---------------------------------------------------------------------------------------------
# counting helpers


def count_days(calendar: Calendar, kind: DayKind, start: date, end: date) -> int:
    """Counted days in ``(start, end]`` (negative when ``end < start``): working days for WORKING,
    calendar days for CALENDAR."""
    if kind == DayKind.WORKING:
        return calendar.working_days_between(start, end)
    return (end - start).days


def counted_days_in(calendar: Calendar, kind: DayKind, a: date, b: date) -> int:
    """Counted days in the half-open interval ``[a, b)`` (0 when ``b <= a``)."""
    if b <= a:
        return 0
    return count_days(calendar, kind, a - ONE_DAY, b - ONE_DAY)


def add_days(calendar: Calendar, kind: DayKind, start: date, n: int) -> date:
    """The n-th counted day after ``start`` (``start`` itself not counted), unrolled."""
    if kind == DayKind.WORKING:
        return calendar.add_working_days(start, n)
    return start + timedelta(days=n)


def roll_forward(calendar: Calendar, d: date) -> date:
    """``d`` when it is a working day, else the first working day after it."""
    return d if calendar.is_working_day(d) else calendar.add_working_days(d, 1)


def latest_restart(start: date, restart: date | Restart | Iterable[date | Restart] | None) -> date:
    """The effective start: the latest of ``start`` and the restart date(s)."""
    if restart is None:
        return start
    items = [restart] if isinstance(restart, (date, Restart)) else list(restart)
    best = start
    for r in items:
        d = r.on if isinstance(r, Restart) else r
        if d > best:
            best = d
    return best


def _merge_pauses(pauses: Iterable[Pause], not_before: date) -> list[tuple[date, date | None]]:
    """Pauses clipped to days on or after ``not_before``, sorted and merged (overlapping or adjacent
    ones become one; an open pause swallows everything after its start)."""
    clipped: list[tuple[date, date | None]] = []
    for p in pauses:
        a = max(p.start, not_before)
        if p.end is not None and p.end <= a:
            continue
        clipped.append((a, p.end))
    clipped.sort(key=lambda x: x[0])
    merged: list[tuple[date, date | None]] = []
    for a, b in clipped:
        if merged:
            pa, pb = merged[-1]
            if pb is None:
                break  # the open pause already covers everything after it
            if a <= pb:
                merged[-1] = (pa, None if b is None else max(pb, b))
                continue
        merged.append((a, b))
    return merged


# ---------------------------------------------------------------------------------------------
# deadlines


def compute_deadline(
    start: date,
    rule: Rule,
    calendar: Calendar,
    pauses: Iterable[Pause] = (),
    extensions: Iterable[int] = (),
    restart: date | Restart | Iterable[date | Restart] | None = None,
) -> Deadline:
    """The deadline of ``rule`` for a case started on ``start``, per the clock model in the module
    docstring. ``extensions`` are approved extra days in the rule's kind; ``restart`` is a date, a
    :class:`Restart`, or several of them (the latest wins)."""
    extra = 0
    for e in extensions:
        if e < 0:
            raise ValueError(f"extension must be >= 0 days, got {e}")
        extra += e
    s = latest_restart(start, restart)
    kind = rule.kind
    d = add_days(calendar, kind, s, rule.days + extra)
    shifted = 0
    for a, b in _merge_pauses(pauses, s + ONE_DAY):
        if a > d:
            break  # the clock ran out before this pause (and every later one) began
        if b is None:
            return Deadline(due=None, paused=True, start=s, paused_days=shifted, paused_since=a)
        k = counted_days_in(calendar, kind, a, b)
        shifted += k
        d = add_days(calendar, kind, d, k)
    if kind == DayKind.CALENDAR and rule.roll_to_working_day:
        d = roll_forward(calendar, d)
    return Deadline(due=d, paused=False, start=s, paused_days=shifted)


def due_date(
    start: date,
    rule: Rule,
    calendar: Calendar,
    pauses: Iterable[Pause] = (),
    extensions: Iterable[int] = (),
    restart: date | Restart | Iterable[date | Restart] | None = None,
) -> date | None:
    """The due date of ``rule`` (see :func:`compute_deadline`); None while an open pause holds the
    clock."""
    return compute_deadline(start, rule, calendar, pauses, extensions, restart).due


# 《银行业保险业消费投诉处理管理办法》(2020) art. 21–22: a handling decision within 15 days of
# receipt; complex cases may be extended to 30 days; particularly complex ones (or those with a
# major impact) a further 30 days with the approval of a superior institution's senior manager and
# notice to the complainant.
COMPLAINT_DECISION_DAYS = {"normal": 15, "complex": 30, "particularly_complex": 60}
COMPLAINT_MAX_DAYS = 60


def complaint_decision_deadline(
    received: date,
    complexity: str,
    calendar: Calendar,
    pauses: Iterable[Pause] = (),
    restart: date | Restart | Iterable[date | Restart] | None = None,
    regulator_due: date | None = None,
    extensions: Iterable[int] = (),
) -> Deadline:
    """The regulatory decision deadline of a complaint, as a :class:`Deadline`.

    Interpretation of the 2020 rule:

    - Days are calendar days from receipt (the day of receipt not counted); a deadline that falls
      on a non-working day rolls forward to the first working day after it.
    - ``complexity``: "normal" 15 days, "complex" 30, "particularly_complex" 60 (the 30 plus the
      further 30 approved by a superior institution's senior manager). ``extensions`` may add
      approved days on top of the complexity's days.
    - Time on external appraisal, inspection or similar (``pauses``) does not count: the deadline
      moves by the calendar days paused (clock model of the module).
    - New facts restart the clock: the latest ``restart`` replaces the receipt date.
    - Cap: never later than 60 calendar days after the effective start plus the paused days — that
      is, the same clock run for 60 days — rolled to a working day like any statutory deadline.
    - A regulator-transferred complaint carries the regulator's deadline ``regulator_due``; it wins
      when it is earlier. The regulator's date is fixed by the regulator and does not stop for the
      bank's own pauses, so while the bank's clock is paused the regulator's date is the deadline.
    """
    try:
        days = COMPLAINT_DECISION_DAYS[complexity]
    except KeyError:
        raise ValueError(
            f"unknown complaint complexity {complexity!r}; expected one of {sorted(COMPLAINT_DECISION_DAYS)}"
        ) from None
    pauses = tuple(pauses)
    own = compute_deadline(
        received, Rule("decision", days, DayKind.CALENDAR), calendar, pauses, extensions, restart
    )
    cap = compute_deadline(
        received, Rule("decision_cap", COMPLAINT_MAX_DAYS, DayKind.CALENDAR), calendar, pauses, (), restart
    )
    result = own
    if cap.due is not None and (own.due is None or cap.due < own.due):
        result = cap
    if regulator_due is not None and (result.due is None or regulator_due < result.due):
        result = Deadline(
            due=regulator_due,
            paused=False,
            start=result.start,
            paused_days=result.paused_days,
            paused_since=result.paused_since,
        )
    return result


def complaint_decision_due(
    received: date,
    complexity: str,
    calendar: Calendar,
    pauses: Iterable[Pause] = (),
    restart: date | Restart | Iterable[date | Restart] | None = None,
    regulator_due: date | None = None,
    extensions: Iterable[int] = (),
) -> date | None:
    """The regulatory decision due date of a complaint; see :func:`complaint_decision_deadline`.
    None while the clock is paused (and no regulator deadline applies)."""
    return complaint_decision_deadline(
        received, complexity, calendar, pauses, restart, regulator_due, extensions
    ).due


# ---------------------------------------------------------------------------------------------
# status, reminders, escalations


def evaluate(
    now: date,
    due: date | None,
    done_at: date | None,
    remind_before: int,
    calendar: Calendar,
    kind: DayKind,
) -> Status:
    """The SLA state of one deadline on ``now``.

    - Done (``done_at`` set): ``met`` when done on or before the due date (or when no due date
      applied), else ``breached``; days are counted from ``done_at``, so the figures are frozen.
    - Not done and ``due`` is None: ``paused``.
    - Not done, ``now > due``: ``breached``.
    - Not done, ``days_left <= remind_before``: ``due_soon`` (the due day itself has 0 days left).
    - Otherwise ``on_track``.

    ``days_left`` counts the counted days in ``(ref, due]`` (working days for WORKING). Past the due
    date it is minus the counted days in ``(due, ref]`` but at least 1: a case due on a Friday is
    already 1 day overdue on the Saturday, and still 1 on the Monday, 2 on the Tuesday.
    """
    kind = DayKind(kind)
    ref = done_at if done_at is not None else now
    if due is None:
        if done_at is not None:
            return Status(MET, None, 0)
        return Status(PAUSED, None, 0)
    if ref > due:
        overdue = max(1, count_days(calendar, kind, due, ref))
        return Status(BREACHED, -overdue, overdue)
    left = count_days(calendar, kind, ref, due)
    if done_at is not None:
        return Status(MET, left, 0)
    if left <= remind_before:
        return Status(DUE_SOON, left, 0)
    return Status(ON_TRACK, left, 0)


def reminder_due(
    now: date,
    due: date | None,
    remind_before: int,
    calendar: Calendar,
    kind: DayKind,
    already_sent: bool,
) -> bool:
    """True when a "due soon" reminder should be sent now: not sent yet, the clock is running, and
    the case is within ``remind_before`` days of its due date (due day included) but not overdue —
    overdue cases are the escalations' business. Call it for open cases only."""
    if already_sent or due is None:
        return False
    return evaluate(now, due, None, remind_before, calendar, kind).state == DUE_SOON


def due_escalations(
    overdue_days: int,
    steps: Iterable[EscalationStep],
    already: set[int] | frozenset[int] | Iterable[int] = frozenset(),
) -> list[EscalationStep]:
    """The escalation steps reached at ``overdue_days`` and not applied yet, by level.

    A step is reached when the case is overdue (``overdue_days > 0``) and ``overdue_days >=
    after_overdue_days``. Steps whose level is in ``already`` are left out, so the caller records
    the levels it applied and a second call returns nothing new (idempotence). When a case jumps
    several levels at once (e.g. the worker was down) every level reached is returned, in order.
    """
    if overdue_days <= 0:
        return []
    done = set(already)
    out: dict[int, EscalationStep] = {}
    for step in steps:
        if step.level in done or step.after_overdue_days > overdue_days:
            continue
        if step.level not in out or step.after_overdue_days < out[step.level].after_overdue_days:
            out[step.level] = step
    return [out[level] for level in sorted(out)]


# ---------------------------------------------------------------------------------------------
# batch speed


class FastCalendar:
    """A precomputed view of ``calendar`` over ``[start, end]`` with O(1) answers.

    Same methods and results as ``WorkingCalendar``; dates (or results) outside the table fall back
    to the wrapped calendar. The table is a snapshot: build a new one when the bank edits its
    calendar overrides (the worker builds one per run).
    """

    def __init__(self, calendar: Calendar, start: date, end: date):
        if end < start:
            raise ValueError("end before start")
        self.calendar = calendar
        self.start = start
        self.end = end
        self._base = start.toordinal()
        n = (end - start).days + 1
        self._n = n
        working: list[bool] = []
        prefix: list[int] = []  # prefix[i]: working days in [start, start + i]
        workdays: list[date] = []  # the working days of the range, in order
        count = 0
        d = start
        for _ in range(n):
            w = bool(calendar.is_working_day(d))
            working.append(w)
            if w:
                count += 1
                workdays.append(d)
            prefix.append(count)
            d += ONE_DAY
        self._working = working
        self._prefix = prefix
        self._workdays = workdays

    def _index(self, d: date) -> int:
        i = d.toordinal() - self._base
        return i if 0 <= i < self._n else -1

    def is_working_day(self, d: date) -> bool:
        i = self._index(d)
        if i < 0:
            return self.calendar.is_working_day(d)
        return self._working[i]

    def add_working_days(self, start: date, n: int) -> date:
        if n == 0:
            return start
        i = self._index(start)
        if i >= 0:
            if n > 0:
                k = self._prefix[i] + n - 1
                if k < len(self._workdays):
                    return self._workdays[k]
            else:
                k = self._prefix[i] - self._working[i] + n
                if k >= 0:
                    return self._workdays[k]
        return self.calendar.add_working_days(start, n)

    def working_days_between(self, start: date, end: date) -> int:
        i, j = self._index(start), self._index(end)
        if i >= 0 and j >= 0:
            return self._prefix[j] - self._prefix[i]
        return self.calendar.working_days_between(start, end)

    def next_working_day(self, d: date, include_self: bool = True) -> date:
        if include_self and self.is_working_day(d):
            return d
        return self.add_working_days(d, 1)


__all__ = [
    "BREACHED",
    "COMPLAINT_DECISION_DAYS",
    "COMPLAINT_MAX_DAYS",
    "DUE_SOON",
    "MET",
    "ON_TRACK",
    "PAUSED",
    "STATES",
    "Calendar",
    "DayKind",
    "Deadline",
    "EscalationStep",
    "FastCalendar",
    "Pause",
    "Restart",
    "Rule",
    "Status",
    "add_days",
    "complaint_decision_deadline",
    "complaint_decision_due",
    "compute_deadline",
    "count_days",
    "counted_days_in",
    "due_date",
    "due_escalations",
    "evaluate",
    "latest_restart",
    "reminder_due",
    "roll_forward",
]
