"""The pure SLA engine (branchops.cases.sla): no database.

2026 calendar used below (chinese-calendar): Spring Festival 15–23 Feb off, Sat 14 Feb and Sat 28 Feb
are make-up working days; National Day 1–7 Oct off, Sun 20 Sep and Sat 10 Oct are make-up working
days; Labour Day 1–5 May off, Sat 9 May make-up; Dragon Boat 19–21 Jun off.
"""

import random
from datetime import date, timedelta

import pytest

from branchops.cases.sla import (
    BREACHED,
    DUE_SOON,
    MET,
    ON_TRACK,
    PAUSED,
    DayKind,
    EscalationStep,
    FastCalendar,
    Pause,
    Restart,
    Rule,
    complaint_decision_deadline,
    complaint_decision_due,
    compute_deadline,
    counted_days_in,
    due_date,
    due_escalations,
    evaluate,
    reminder_due,
)
from branchops.core.calendar import WorkingCalendar

W = DayKind.WORKING
C = DayKind.CALENDAR


@pytest.fixture(scope="module")
def cal():
    return WorkingCalendar()


def d(s: str) -> date:
    return date.fromisoformat(s)


# --- working-day rules across the holidays -------------------------------------------------------


def test_working_days_across_spring_festival(cal):
    # received Thu 12 Feb; 5 working days: Fri 13 (1), Sat 14 make-up (2), 15–23 off,
    # Tue 24 (3), Wed 25 (4), Thu 26 (5)
    assert due_date(d("2026-02-12"), Rule("resolution", 5, W), cal) == d("2026-02-26")


def test_working_days_ending_on_make_up_saturday(cal):
    # received Thu 26 Feb; 2 working days: Fri 27 (1), Sat 28 make-up (2)
    assert due_date(d("2026-02-26"), Rule("response", 2, W), cal) == d("2026-02-28")


def test_working_days_across_national_day(cal):
    # received Mon 28 Sep; 5 working days: Tue 29 (1), Wed 30 (2), 1–7 Oct off,
    # Thu 8 (3), Fri 9 (4), Sat 10 make-up (5)
    assert due_date(d("2026-09-28"), Rule("resolution", 5, W), cal) == d("2026-10-10")


def test_working_days_counting_the_make_up_sunday(cal):
    # received Fri 18 Sep; Sat 19 off, Sun 20 make-up (1), Mon 21 (2), Tue 22 (3)
    assert due_date(d("2026-09-18"), Rule("response", 3, W), cal) == d("2026-09-22")


def test_received_on_a_holiday_counts_from_the_next_working_day(cal):
    # received Sun 15 Feb (holiday); 1st working day after it is Tue 24 Feb
    assert due_date(d("2026-02-15"), Rule("response", 1, W), cal) == d("2026-02-24")


def test_zero_days_is_the_start_day(cal):
    assert due_date(d("2026-03-02"), Rule("response", 0, W), cal) == d("2026-03-02")


def test_rule_validation():
    with pytest.raises(ValueError):
        Rule("response", -1, W)
    assert Rule("x", 1, "calendar").kind is C


# --- calendar-day rules and the roll-forward -----------------------------------------------------


def test_calendar_days_roll_off_national_day(cal):
    # 16 Sep + 15 days = Thu 1 Oct (holiday) → first working day after it: Thu 8 Oct
    assert due_date(d("2026-09-16"), Rule("decision", 15, C), cal) == d("2026-10-08")


def test_calendar_days_without_roll(cal):
    rule = Rule("decision", 15, C, roll_to_working_day=False)
    assert due_date(d("2026-09-16"), rule, cal) == d("2026-10-01")


def test_calendar_days_roll_off_spring_festival(cal):
    # 1 Feb + 15 = Mon 16 Feb (holiday) → Tue 24 Feb
    assert due_date(d("2026-02-01"), Rule("decision", 15, C), cal) == d("2026-02-24")


def test_calendar_days_landing_on_make_up_saturday_stay(cal):
    # 30 Jan + 15 = Sat 14 Feb, a make-up working day: no roll
    assert due_date(d("2026-01-30"), Rule("decision", 15, C), cal) == d("2026-02-14")


def test_calendar_days_plain(cal):
    # 2 Mar + 15 = Tue 17 Mar
    assert due_date(d("2026-03-02"), Rule("decision", 15, C), cal) == d("2026-03-17")


def test_calendar_days_roll_off_weekend(cal):
    # 2 Mar + 19 = Sat 21 Mar → Mon 23 Mar
    assert due_date(d("2026-03-02"), Rule("decision", 19, C), cal) == d("2026-03-23")


# --- pauses ----------------------------------------------------------------------------------------


def test_counted_days_in_half_open_interval(cal):
    # [Thu 5 Mar, Tue 10 Mar): Thu 5, Fri 6, Mon 9 = 3 working days; 5 calendar days
    assert counted_days_in(cal, W, d("2026-03-05"), d("2026-03-10")) == 3
    assert counted_days_in(cal, C, d("2026-03-05"), d("2026-03-10")) == 5
    # [13 Feb, 25 Feb): Fri 13, Sat 14 (make-up), Tue 24 = 3 working days
    assert counted_days_in(cal, W, d("2026-02-13"), d("2026-02-25")) == 3
    assert counted_days_in(cal, W, d("2026-03-10"), d("2026-03-10")) == 0


def test_closed_pause_working_rule(cal):
    # received Mon 2 Mar, 10 working days → Mon 16 Mar (3–6: 4, 9–13: 9, 16: 10).
    # Appraisal pause [Thu 5, Tue 10): 3 working days (5, 6, 9) → 3 working days after 16 Mar = Thu 19.
    # Check by the clock: 3, 4 counted (2); resume 10: 10 (3) 11 12 13 16 17 18 19 (10).
    pause = Pause(d("2026-03-05"), d("2026-03-10"), "external appraisal")
    dl = compute_deadline(d("2026-03-02"), Rule("resolution", 10, W), cal, [pause])
    assert dl.due == d("2026-03-19")
    assert dl.paused is False and dl.paused_days == 3


def test_closed_pause_calendar_rule(cal):
    # 2 Mar + 15 = 17 Mar; pause [5 Mar, 10 Mar) = 5 days → Sun 22 Mar → rolls to Mon 23 Mar
    pause = Pause(d("2026-03-05"), d("2026-03-10"), "appraisal")
    assert due_date(d("2026-03-02"), Rule("decision", 15, C), cal, [pause]) == d("2026-03-23")


def test_overlapping_pauses_are_merged(cal):
    # [5, 10) ∪ [8, 12) = [5, 12) = 7 days → 17 Mar + 7 = Tue 24 Mar
    pauses = [Pause(d("2026-03-08"), d("2026-03-12")), Pause(d("2026-03-05"), d("2026-03-10"))]
    assert due_date(d("2026-03-02"), Rule("decision", 15, C), cal, pauses) == d("2026-03-24")


def test_two_separate_pauses_add_up(cal):
    # [3, 5) = 2 days moves 17 Mar to Thu 19 Mar; [20, 23) begins after that running deadline
    # (the clock had run out), so it is ignored → Thu 19 Mar
    pauses = [Pause(d("2026-03-03"), d("2026-03-05")), Pause(d("2026-03-20"), d("2026-03-23"))]
    assert due_date(d("2026-03-02"), Rule("decision", 15, C), cal, pauses) == d("2026-03-19")
    # the second pause starting on the running deadline (19) counts: 19 + 3 = Sun 22 → Mon 23
    pauses = [Pause(d("2026-03-03"), d("2026-03-05")), Pause(d("2026-03-19"), d("2026-03-22"))]
    assert due_date(d("2026-03-02"), Rule("decision", 15, C), cal, pauses) == d("2026-03-23")


def test_pause_across_spring_festival_counts_only_working_days(cal):
    # received Mon 9 Feb, 5 working days: 10 11 12 13 14(make-up) → Sat 14 Feb.
    # pause [Fri 13, Wed 25): working days 13, 14, 24 = 3 → 3 working days after 14 Feb: 24 25 26
    pause = Pause(d("2026-02-13"), d("2026-02-25"))
    assert due_date(d("2026-02-09"), Rule("resolution", 5, W), cal, [pause]) == d("2026-02-26")


def test_open_pause_makes_the_deadline_unknown(cal):
    pause = Pause(d("2026-03-05"), None, "waiting for appraisal")
    dl = compute_deadline(d("2026-03-02"), Rule("resolution", 10, W), cal, [pause])
    assert dl.due is None and dl.paused is True and dl.paused_since == d("2026-03-05")
    assert due_date(d("2026-03-02"), Rule("resolution", 10, W), cal, [pause]) is None


def test_pause_after_the_deadline_does_not_unbreach(cal):
    # due 16 Mar; a pause beginning 18 Mar — open or closed — changes nothing
    rule = Rule("resolution", 10, W)
    assert due_date(d("2026-03-02"), rule, cal, [Pause(d("2026-03-18"), None)]) == d("2026-03-16")
    assert due_date(d("2026-03-02"), rule, cal, [Pause(d("2026-03-18"), d("2026-03-25"))]) == d("2026-03-16")


def test_pause_before_start_is_clipped(cal):
    # pause [26 Feb, 4 Mar) on a case received 2 Mar: only 3 Mar counts (the start day never does)
    # → 17 Mar + 1 = Wed 18 Mar
    pause = Pause(d("2026-02-26"), d("2026-03-04"))
    assert due_date(d("2026-03-02"), Rule("decision", 15, C), cal, [pause]) == d("2026-03-18")


def test_pause_validation():
    with pytest.raises(ValueError):
        Pause(d("2026-03-05"), d("2026-03-04"))


# --- extensions and restarts -----------------------------------------------------------------------


def test_extensions_working_rule(cal):
    # 10 + 5 approved = 15 working days from Mon 2 Mar: 16 (10) 17 18 19 20 23 (15) → Mon 23 Mar
    assert due_date(d("2026-03-02"), Rule("resolution", 10, W), cal, extensions=[5]) == d("2026-03-23")


def test_extensions_calendar_rule(cal):
    # 15 + 10 + 5 = 30 calendar days from 2 Mar = Wed 1 Apr
    assert due_date(d("2026-03-02"), Rule("decision", 15, C), cal, extensions=[10, 5]) == d("2026-04-01")


def test_negative_extension_is_refused(cal):
    with pytest.raises(ValueError):
        due_date(d("2026-03-02"), Rule("decision", 15, C), cal, extensions=[-1])


def test_restart_replaces_start_and_ignores_earlier_pauses(cal):
    rule = Rule("decision", 15, C)
    # restart on 10 Mar: 10 + 15 = Wed 25 Mar; the pause [4, 6) before the restart is ignored
    pauses = [Pause(d("2026-03-04"), d("2026-03-06"))]
    assert due_date(d("2026-03-02"), rule, cal, pauses, restart=d("2026-03-10")) == d("2026-03-25")
    # an open pause begun before the restart still holds the clock (the appraisal is still going on)
    assert due_date(d("2026-03-02"), rule, cal, [Pause(d("2026-03-04"))], restart=d("2026-03-10")) is None


def test_latest_restart_wins(cal):
    rule = Rule("decision", 15, C)
    restarts = [Restart(d("2026-03-10"), "new facts"), d("2026-03-05"), Restart(d("2026-02-01"))]
    dl = compute_deadline(d("2026-03-02"), rule, cal, restart=restarts)
    assert dl.start == d("2026-03-10") and dl.due == d("2026-03-25")
    # a restart before the start is ignored
    assert due_date(d("2026-03-02"), rule, cal, restart=d("2026-02-20")) == d("2026-03-17")


def test_pause_straddling_the_restart_counts_from_the_day_after_it(cal):
    # restart 10 Mar; pause [8, 12) clipped to [11, 12) = 1 day → 25 + 1 = Thu 26 Mar
    pauses = [Pause(d("2026-03-08"), d("2026-03-12"))]
    assert due_date(d("2026-03-02"), Rule("decision", 15, C), cal, pauses, restart=d("2026-03-10")) == d(
        "2026-03-26"
    )


# --- complaint decision deadlines (2020 rule) --------------------------------------------------------


def test_complaint_normal_rolls_off_national_day(cal):
    # 16 Sep + 15 = 1 Oct (holiday) → 8 Oct
    assert complaint_decision_due(d("2026-09-16"), "normal", cal) == d("2026-10-08")


def test_complaint_complex_and_particularly_complex(cal):
    # 1 Sep + 30 = 1 Oct → 8 Oct
    assert complaint_decision_due(d("2026-09-01"), "complex", cal) == d("2026-10-08")
    # 1 Sep + 60 = Sat 31 Oct (not a make-up day) → Mon 2 Nov
    assert complaint_decision_due(d("2026-09-01"), "particularly_complex", cal) == d("2026-11-02")


def test_complaint_unknown_complexity(cal):
    with pytest.raises(ValueError):
        complaint_decision_due(d("2026-09-01"), "easy", cal)


def test_complaint_appraisal_pause_and_restart(cal):
    # 2 Mar + 15 = 17 Mar; appraisal [5, 10) = 5 days → Sun 22 → Mon 23 Mar
    pause = Pause(d("2026-03-05"), d("2026-03-10"), "鉴定")
    assert complaint_decision_due(d("2026-03-02"), "normal", cal, [pause]) == d("2026-03-23")
    # new facts on 10 Mar: the earlier pause is ignored, 10 + 15 = 25 Mar
    assert complaint_decision_due(d("2026-03-02"), "normal", cal, [pause], restart=d("2026-03-10")) == d(
        "2026-03-25"
    )
    # still waiting for the appraisal: unknown
    assert complaint_decision_due(d("2026-03-02"), "normal", cal, [Pause(d("2026-03-05"))]) is None


def test_complaint_regulator_deadline_earlier_wins(cal):
    # own deadline 17 Mar; the regulator wants 12 Mar
    assert complaint_decision_due(d("2026-03-02"), "normal", cal, regulator_due=d("2026-03-12")) == d(
        "2026-03-12"
    )


def test_complaint_regulator_deadline_later_loses(cal):
    assert complaint_decision_due(d("2026-03-02"), "normal", cal, regulator_due=d("2026-03-20")) == d(
        "2026-03-17"
    )


def test_complaint_regulator_deadline_runs_during_a_pause(cal):
    dl = complaint_decision_deadline(
        d("2026-03-02"), "normal", cal, [Pause(d("2026-03-05"))], regulator_due=d("2026-03-20")
    )
    assert dl.due == d("2026-03-20") and dl.paused is False


def test_complaint_sixty_day_cap(cal):
    # complex from Mon 1 Jun: 30 + 30 + 15 approved = 75 days would be 15 Aug;
    # cap: 1 Jun + 60 = Fri 31 Jul (working day)
    assert complaint_decision_due(d("2026-06-01"), "complex", cal, extensions=[30, 15]) == d("2026-07-31")
    assert complaint_decision_due(d("2026-06-01"), "particularly_complex", cal, extensions=[5]) == d(
        "2026-07-31"
    )
    # within the cap the extension applies: 30 + 20 = 50 days → Tue 21 Jul
    assert complaint_decision_due(d("2026-06-01"), "complex", cal, extensions=[20]) == d("2026-07-21")


def test_complaint_cap_adds_the_pauses(cal):
    # pause [10 Jun, 15 Jun) = 5 days: cap = 1 Jun + 60 + 5 = Wed 5 Aug
    pause = Pause(d("2026-06-10"), d("2026-06-15"))
    assert complaint_decision_due(d("2026-06-01"), "complex", cal, [pause], extensions=[45]) == d(
        "2026-08-05"
    )
    # after a restart on 1 Jul the cap counts from it (the June pause is before it and ignored):
    # 1 Jul + 60 = Sun 30 Aug → Mon 31 Aug
    assert complaint_decision_due(
        d("2026-06-01"), "particularly_complex", cal, [pause], restart=d("2026-07-01"), extensions=[30]
    ) == d("2026-08-31")


# --- evaluate ------------------------------------------------------------------------------------------


def test_evaluate_working_states_across_spring_festival(cal):
    due = d("2026-02-26")
    # (12 Feb, 26 Feb]: 13, 14 (make-up), 24, 25, 26 = 5
    s = evaluate(d("2026-02-12"), due, None, 2, cal, W)
    assert (s.state, s.days_left, s.overdue_days) == (ON_TRACK, 5, 0)
    # (24, 26]: 25, 26 = 2 → within remind_before
    s = evaluate(d("2026-02-24"), due, None, 2, cal, W)
    assert (s.state, s.days_left) == (DUE_SOON, 2)
    # during the holiday (20 Feb): (20, 26] = 24 25 26 = 3 → on track
    assert evaluate(d("2026-02-20"), due, None, 2, cal, W).state == ON_TRACK
    assert evaluate(d("2026-02-26"), due, None, 2, cal, W) == evaluate(d("2026-02-26"), due, None, 0, cal, W)
    assert evaluate(d("2026-02-26"), due, None, 0, cal, W).days_left == 0
    s = evaluate(d("2026-02-27"), due, None, 2, cal, W)
    assert (s.state, s.days_left, s.overdue_days) == (BREACHED, -1, 1)
    # (26 Feb, 2 Mar]: Fri 27, Sat 28 (make-up), Mon 2 = 3
    s = evaluate(d("2026-03-02"), due, None, 2, cal, W)
    assert (s.state, s.days_left, s.overdue_days) == (BREACHED, -3, 3)


def test_evaluate_overdue_over_a_weekend_is_at_least_one(cal):
    due = d("2026-03-06")  # Fri
    assert evaluate(d("2026-03-07"), due, None, 1, cal, W).overdue_days == 1  # Sat
    assert evaluate(d("2026-03-09"), due, None, 1, cal, W).overdue_days == 1  # Mon
    assert evaluate(d("2026-03-10"), due, None, 1, cal, W).overdue_days == 2  # Tue


def test_evaluate_done(cal):
    due = d("2026-02-26")
    s = evaluate(d("2026-03-10"), due, d("2026-02-24"), 2, cal, W)
    assert (s.state, s.days_left, s.overdue_days) == (MET, 2, 0)
    assert evaluate(d("2026-03-10"), due, due, 2, cal, W).state == MET
    s = evaluate(d("2026-03-10"), due, d("2026-03-02"), 2, cal, W)
    assert (s.state, s.days_left, s.overdue_days) == (BREACHED, -3, 3)
    assert evaluate(d("2026-03-10"), None, d("2026-03-02"), 2, cal, W).state == MET


def test_evaluate_paused(cal):
    s = evaluate(d("2026-03-10"), None, None, 2, cal, W)
    assert (s.state, s.days_left, s.overdue_days) == (PAUSED, None, 0)


def test_evaluate_calendar_kind(cal):
    due = d("2026-10-08")
    assert evaluate(d("2026-10-01"), due, None, 3, cal, C) == evaluate(
        d("2026-10-01"), due, None, 3, cal, "calendar"
    )
    s = evaluate(d("2026-10-01"), due, None, 3, cal, C)
    assert (s.state, s.days_left) == (ON_TRACK, 7)
    s = evaluate(d("2026-10-05"), due, None, 3, cal, C)
    assert (s.state, s.days_left) == (DUE_SOON, 3)
    s = evaluate(d("2026-10-11"), due, None, 3, cal, C)
    assert (s.state, s.days_left, s.overdue_days) == (BREACHED, -3, 3)


# --- escalations and reminders ---------------------------------------------------------------------


STEPS = [
    EscalationStep(1, 1, "outlet_head"),
    EscalationStep(2, 3, "sub_branch"),
    EscalationStep(3, 5, "branch_department_head"),
    EscalationStep(4, 10, "branch_leader"),
]


def test_escalations_are_idempotent():
    applied: set[int] = set()
    assert due_escalations(0, STEPS, applied) == []
    first = due_escalations(4, STEPS, applied)
    assert [s.level for s in first] == [1, 2]
    applied |= {s.level for s in first}
    assert due_escalations(4, STEPS, applied) == []  # second run: nothing new
    assert [s.target for s in due_escalations(6, STEPS, applied)] == ["branch_department_head"]


def test_escalations_jump_several_levels_in_order():
    assert [s.level for s in due_escalations(12, reversed(STEPS), set())] == [1, 2, 3, 4]
    assert due_escalations(12, STEPS, {1, 2, 3, 4}) == []
    assert due_escalations(-3, STEPS, set()) == []


def test_escalation_at_zero_days_fires_only_when_overdue():
    steps = [EscalationStep(1, 0, "outlet_head")]
    assert due_escalations(0, steps, set()) == []
    assert [s.level for s in due_escalations(1, steps, set())] == [1]


def test_reminders(cal):
    due = d("2026-02-26")
    assert reminder_due(d("2026-02-24"), due, 2, cal, W, already_sent=False) is True
    assert reminder_due(d("2026-02-24"), due, 2, cal, W, already_sent=True) is False
    assert reminder_due(d("2026-02-12"), due, 2, cal, W, already_sent=False) is False
    assert reminder_due(d("2026-02-26"), due, 2, cal, W, already_sent=False) is True
    assert reminder_due(d("2026-02-27"), due, 2, cal, W, already_sent=False) is False  # overdue
    assert reminder_due(d("2026-02-24"), None, 2, cal, W, already_sent=False) is False  # paused
    # the holiday does not count: on 13 Feb the due date 26 Feb is 14, 24, 25, 26 = 4 working days away
    assert reminder_due(d("2026-02-13"), due, 3, cal, W, already_sent=False) is False
    assert reminder_due(d("2026-02-13"), due, 4, cal, W, already_sent=False) is True


# --- FastCalendar ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fast(cal):
    return FastCalendar(cal, d("2025-01-01"), d("2027-12-31"))


OFFSETS = [-65, -30, -10, -5, -2, -1, 0, 1, 2, 3, 5, 7, 10, 15, 22, 30, 45, 60]


def test_fast_calendar_is_working_day_matches(cal, fast):
    day = d("2024-12-01")
    while day <= d("2028-01-31"):
        assert fast.is_working_day(day) == cal.is_working_day(day), day
        day += timedelta(days=1)


def test_fast_calendar_add_working_days_matches(cal, fast):
    # every day of 2025–2027 (and a margin outside the table, which falls back) × a third of the
    # offsets, rotating, so every offset meets every weekday and holiday position
    day = d("2024-12-15")
    i = 0
    while day <= d("2028-01-15"):
        for n in OFFSETS[i % 3 :: 3] + [0, 1, -1]:
            assert fast.add_working_days(day, n) == cal.add_working_days(day, n), (day, n)
        day += timedelta(days=1)
        i += 1


def test_fast_calendar_working_days_between_matches(cal, fast):
    day = d("2024-12-15")
    while day <= d("2028-01-15"):
        for k in (-70, -31, -8, -1, 0, 1, 6, 13, 29, 61):
            other = day + timedelta(days=k)
            assert fast.working_days_between(day, other) == cal.working_days_between(day, other), (day, k)
        day += timedelta(days=3)
    assert fast.next_working_day(d("2026-10-01")) == d("2026-10-08")
    assert fast.next_working_day(d("2026-10-08"), include_self=False) == d("2026-10-09")


def test_fast_calendar_honours_overrides():
    # the bank marks 2027-02-08 a day off and Sun 2027-02-07 a working day
    overrides = {d("2027-02-08"): False, d("2027-02-07"): True}
    slow = WorkingCalendar(overrides)
    fast = FastCalendar(slow, d("2027-01-01"), d("2027-03-31"))
    for n in range(-10, 11):
        for start in (d("2027-02-01"), d("2027-02-05"), d("2027-02-07"), d("2027-02-08")):
            assert fast.add_working_days(start, n) == slow.add_working_days(start, n)
    assert fast.is_working_day(d("2027-02-07")) and not fast.is_working_day(d("2027-02-08"))


def test_deadlines_with_fast_calendar_match(cal, fast):
    rng = random.Random(20260216)
    rules = [Rule("r", 5, W), Rule("r", 20, W), Rule("d", 15, C), Rule("d", 30, C, roll_to_working_day=False)]
    for _ in range(500):
        start = d("2025-01-01") + timedelta(days=rng.randrange(0, 900))
        rule = rng.choice(rules)
        pauses = []
        if rng.random() < 0.5:
            a = start + timedelta(days=rng.randrange(0, 20))
            pauses.append(Pause(a, None if rng.random() < 0.2 else a + timedelta(days=rng.randrange(0, 15))))
        ext = [rng.randrange(0, 10)] if rng.random() < 0.3 else []
        assert compute_deadline(start, rule, fast, pauses, ext) == compute_deadline(
            start, rule, cal, pauses, ext
        )
        due = due_date(start, rule, cal, pauses, ext)
        now = start + timedelta(days=rng.randrange(0, 60))
        assert evaluate(now, due, None, 2, fast, rule.kind) == evaluate(now, due, None, 2, cal, rule.kind)
