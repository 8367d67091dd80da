"""The roster engine alone (no database): small weeks whose best plan is known by hand."""

from dataclasses import replace

import pytest

from branchops.workforce import roster
from branchops.workforce.roster import (
    COUNTER,
    LOBBY_1,
    LOBBY_2,
    Need,
    Outlet,
    Problem,
    Shift,
    Staff,
)

DAY = (18, 34)  # 09:00–17:00
CLOSED = None
LOBBY = frozenset({"lobby"})
TELLER = frozenset({"counter"})


def week(*open_days, hours=DAY):
    return tuple(hours if d in open_days else CLOSED for d in range(7))


def person(code, home="A", skills=TELLER, **kw):
    kw.setdefault("min_shift_slots", 16)
    kw.setdefault("max_shift_slots", 16)
    return Staff(code, home, skills, **kw)


def counters(outlet, day, start=18, end=34, count=1):
    return tuple(Need(outlet, day, s, COUNTER, count) for s in range(start, end))


def solve(problem, **kw):
    kw.setdefault("time_limit", 5)
    kw.setdefault("num_workers", 1)
    return roster.solve(problem, **kw)


def test_one_day_fully_staffed_holds_lobby_positions_1_and_2():
    problem = Problem(
        (Outlet("A", week(0)),),
        (person("L1", skills=LOBBY), person("L2", skills=LOBBY), person("T", skills=TELLER)),
        counters("A", 0),
    )
    plan = solve(problem)
    assert plan.status == roster.OPTIMAL
    assert plan.objective == 0 and plan.best_bound == 0 and plan.gap == 0
    assert plan.shortfalls == []
    roles = {sh.role: sh.staff for sh in plan.shifts}
    assert set(roles) == {LOBBY_1, LOBBY_2, COUNTER} and roles[COUNTER] == "T"
    assert all((sh.start, sh.end) == DAY for sh in plan.shifts)


def test_one_lobby_person_holds_position_1_and_position_2_is_reported_uncovered():
    problem = Problem((Outlet("A", week(0)),), (person("L", skills=LOBBY), person("T")), counters("A", 0))
    plan = solve(problem)
    assert plan.status == roster.OPTIMAL
    assert {(sh.staff, sh.role) for sh in plan.shifts} == {("L", LOBBY_1), ("T", COUNTER)}
    # 16 half-hours of position 2 at 5,000 each; nothing else costs.
    assert plan.objective == 16 * 5_000
    assert plan.shortfalls == [roster.Shortfall("A", 0, 18, 34, LOBBY_2, 1, roster.QUALIFIED_STAFF_BUSY)]
    assert plan.score.uncovered_by_role == {LOBBY_1: 0, LOBBY_2: 16, COUNTER: 0}


def test_skills_respected_and_no_qualified_staff_named():
    problem = Problem((Outlet("A", week(0)),), (person("T1"), person("T2")), counters("A", 0, count=2))
    plan = solve(problem)
    assert plan.status == roster.OPTIMAL
    assert {sh.role for sh in plan.shifts} == {COUNTER}
    assert {(s.role, s.reason) for s in plan.shortfalls} == {
        (LOBBY_1, roster.NO_QUALIFIED_STAFF), (LOBBY_2, roster.NO_QUALIFIED_STAFF)}
    assert plan.objective == 16 * (10_000 + 5_000)


def test_leave_and_unavailable_slots_are_kept_and_explained():
    problem = Problem(
        (Outlet("A", week(0, 1)),),
        (person("T", leave_days=frozenset({0}), unavailable=frozenset({(1, 20)})),),
        counters("A", 0) + counters("A", 1), hold_lobby=(),
    )
    plan = solve(problem)
    assert plan.status == roster.OPTIMAL
    assert all(sh.day == 1 and not sh.start <= 20 < sh.end for sh in plan.shifts)
    reasons = {(s.day, s.reason) for s in plan.shortfalls}
    assert (0, roster.QUALIFIED_STAFF_ABSENT) in reasons and (1, roster.QUALIFIED_STAFF_ABSENT) in reasons


def test_rest_between_shifts_keeps_a_late_close_from_an_early_start():
    # Open 08:00–22:00 on Monday and Tuesday; a four-hour shift each. 22:00 → 08:00 is 10 hours < 11.
    outlet = Outlet("A", week(0, 1, hours=(16, 44)))
    p = person("T", min_shift_slots=8, max_shift_slots=8)
    problem = Problem((outlet,), (p,), counters("A", 0, 36, 44) + counters("A", 1, 16, 24), hold_lobby=())
    plan = solve(problem)
    assert plan.status == roster.OPTIMAL
    # Best: the late shift on Monday, Tuesday from 09:00 (11 hours later): 08:00–09:00 uncovered.
    assert plan.shifts == [Shift("T", 0, "A", 36, 44, COUNTER), Shift("T", 1, "A", 18, 26, COUNTER)]
    assert plan.objective == 2 * 1_000
    assert plan.shortfalls == [roster.Shortfall("A", 1, 16, 18, COUNTER, 1, roster.HOURS_OR_REST_LIMITS)]
    # With ten hours' rest allowed both are covered.
    plan = solve(replace(problem, staff=(replace(p, min_rest_slots=20),)))
    assert len(plan.shifts) == 2 and plan.shortfalls == []


def test_floating_staff_move_to_a_satellite_and_a_move_costs_100():
    outlets = (Outlet("A", week(0)), Outlet("B", week(0)))
    staff = (person("F", floats=True, max_week_slots=16), person("N", max_week_slots=16))
    plan = solve(Problem(outlets, staff, counters("B", 0), hold_lobby=()))
    assert plan.status == roster.OPTIMAL
    # F covers the satellite (one move, 100); N works their contract at home (no spread of hours).
    assert plan.shifts == [Shift("F", 0, "B", 18, 34, COUNTER), Shift("N", 0, "A", 18, 34, COUNTER)]
    assert plan.score.moves == 1 and plan.objective == 100
    # Without a floater the satellite stays uncovered: nobody may work there.
    plan = solve(Problem(outlets, staff[1:], counters("B", 0), hold_lobby=()))
    assert plan.shortfalls[0].reason == roster.NO_QUALIFIED_STAFF


def test_home_staff_preferred_to_a_move():
    outlets = (Outlet("A", week(0)), Outlet("B", week(0)))
    staff = (person("FA", floats=True), person("FB", home="B", floats=True))
    plan = solve(Problem(outlets, staff, counters("B", 0), hold_lobby=()))
    assert ("FB", "B") in [(sh.staff, sh.outlet) for sh in plan.shifts] and plan.score.moves == 0


def test_fairness_spreads_hours_and_weekend_shifts():
    outlet = Outlet("A", week(0, 1, 5, 6))
    staff = (person("X", max_days=2), person("Y", max_days=2))
    needs = counters("A", 0) + counters("A", 1) + counters("A", 5) + counters("A", 6)
    plan = solve(Problem((outlet,), staff, needs, hold_lobby=()))
    assert plan.status == roster.OPTIMAL and plan.objective == 0
    for code in ("X", "Y"):
        mine = [sh for sh in plan.shifts if sh.staff == code]
        assert len(mine) == 2 and sum(sh.day in (5, 6) for sh in mine) == 1
    assert plan.score.hours_spread == 0 and plan.score.unpopular_spread == 0


def test_single_shift_outlet_works_the_whole_opening():
    outlet = Outlet("A", week(0, hours=(19, 32)), single_shift=True)
    plan = solve(Problem((outlet,), (person("T", min_shift_slots=8),), counters("A", 0, 19, 24), hold_lobby=()))
    assert [(sh.start, sh.end) for sh in plan.shifts] == [(19, 32)]


def test_impossible_requests_name_the_rules_and_plan_nothing():
    outlets = (Outlet("A", week(0, 1, 2)), Outlet("B", week(0)))
    staff = (
        person("SICK", skills=TELLER | LOBBY, leave_days=frozenset({1})),
        person("PART", min_week_slots=60),  # three 8-hour days at most: 48 half-hours
        person("HOME"),
        person("NEW"),
        person("LIMITS", min_week_slots=20, max_week_slots=10),
        person("SHIFT", min_shift_slots=20, max_shift_slots=10),
    )
    pinned = (
        Shift("SICK", 1, "A", 18, 34, COUNTER),
        Shift("HOME", 0, "B", 18, 34, COUNTER),
        Shift("NEW", 0, "A", 18, 34, LOBBY_1),
        Shift("NEW", 0, "A", 18, 34, COUNTER),
        Shift("NEW", 2, "A", 10, 26, COUNTER),
        Shift("GHOST", 0, "A", 18, 34, COUNTER),
    )
    plan = solve(Problem(outlets, staff, counters("A", 0), pinned=pinned))
    assert plan.status == roster.INFEASIBLE and plan.shifts == []
    named = {(v.rule, v.staff) for v in plan.violations}
    assert named >= {
        (roster.PINNED_ON_LEAVE, "SICK"),
        (roster.MIN_HOURS_ABOVE_AVAILABILITY, "PART"),
        (roster.PINNED_OUTLET_NOT_ALLOWED, "HOME"),
        (roster.PINNED_SKILL_MISSING, "NEW"),
        (roster.ONE_SHIFT_PER_DAY, "NEW"),
        (roster.PINNED_OUTSIDE_HOURS, "NEW"),
        (roster.MIN_HOURS_ABOVE_MAX, "LIMITS"),
        (roster.SHIFT_LENGTH_LIMITS, "SHIFT"),
        (roster.UNKNOWN_REFERENCE, "GHOST"),
    }
    assert set(plan.rules) <= set(roster.RULES)
    assert roster.greedy(Problem(outlets, staff, pinned=pinned)).status == roster.INFEASIBLE


def test_bad_values_are_named():
    bad = Problem((Outlet("A", week(0)),), (person("T"),), (Need("A", 9, 18, COUNTER, 1), Need("Z", 0, 18, COUNTER, 1)))
    assert set(solve(bad).rules) == {roster.BAD_VALUE, roster.UNKNOWN_REFERENCE}
    assert solve(replace(bad, needs=(), outlets=(Outlet("A", ((18, 60),) * 7),))).rules == [roster.BAD_VALUE]
    twice = solve(replace(bad, needs=(), staff=(person("T"), person("T"))))
    assert twice.rules == [roster.BAD_VALUE] and "staff listed twice: T" in twice.violations[0].detail


def test_rules_that_only_clash_together_are_named_by_the_solver():
    # Checked one by one each rule holds: 2 × 18 hours fit the week; but 22:00 → 04:00 leaves 6 hours' rest.
    outlet = Outlet("A", week(0, 1, hours=(8, 44)))
    p = person("T", min_shift_slots=36, max_shift_slots=36, min_week_slots=72, max_week_slots=72)
    plan = solve(Problem((outlet,), (p,), counters("A", 0), hold_lobby=()))
    assert plan.status == roster.INFEASIBLE
    assert {(v.rule, v.staff) for v in plan.violations} == {
        (roster.MIN_HOURS, "T"), (roster.REST_BETWEEN_SHIFTS, "T")}


def test_contract_minimum_is_worked_even_without_need():
    outlet = Outlet("A", week(0, 1, 2))
    plan = solve(Problem((outlet,), (person("T", min_week_slots=32),), counters("A", 0), hold_lobby=()))
    assert plan.status == roster.OPTIMAL and sum(sh.slots for sh in plan.shifts) >= 32


def _team_week():
    # Hub A and satellite B open Monday to Wednesday; B's counter only 10:00–15:00.
    outlets = (Outlet("A", week(0, 1, 2)), Outlet("B", week(0, 1, 2)))
    staff = (person("A0", "A", TELLER | LOBBY, floats=True, max_days=2),
             person("A1", "A", TELLER | LOBBY, max_days=2), person("A2", "A", TELLER, max_days=2),
             person("B0", "B", LOBBY, max_days=2), person("B1", "B", TELLER | LOBBY, max_days=2))
    needs = tuple(n for d in range(3) for n in counters("A", d) + counters("B", d, 20, 30))
    return Problem(outlets, staff, needs)


def test_replan_after_sick_leave_keeps_published_shifts_and_changes_few():
    base = _team_week()
    # Two working days each out of three: someone is always free to step in.
    problem = replace(base, staff=tuple(replace(p, max_days=2) for p in base.staff)
                      + (person("A3", "A", TELLER | LOBBY, max_days=2),))
    first = solve(problem, time_limit=5)
    assert first.status == roster.OPTIMAL
    sick = next(sh for sh in first.shifts if sh.day == 2 and sh.role == LOBBY_1)
    staff = tuple(replace(p, leave_days=frozenset({2})) if p.code == sick.staff else p for p in problem.staff)
    published = tuple(sh for sh in first.shifts if sh.day < 2)
    again = solve(replace(problem, staff=staff, pinned=published, previous=tuple(first.shifts), first_day=2))
    assert again.status == roster.OPTIMAL
    assert set(published) <= set(again.shifts)
    assert not any(sh.staff == sick.staff and sh.day == 2 for sh in again.shifts)
    assert again.score.changes <= 3  # the sick shift, its cover, and the cover's own day moved
    # Position 1 is held again on the sick day.
    assert again.score.uncovered_by_role[LOBBY_1] == first.score.uncovered_by_role[LOBBY_1] == 0


def test_same_seed_same_plan():
    problem = _team_week()
    a, b = (solve(problem, seed=7, time_limit=30, work_limit=0.05) for _ in range(2))
    assert a.shifts == b.shifts and a.objective == b.objective


def test_greedy_baseline_is_a_valid_plan_no_better_than_cp_sat():
    problem = _team_week()
    base, best = roster.greedy(problem), solve(problem)
    assert base.status == roster.FEASIBLE and base.score == roster.evaluate(problem, base.shifts)
    assert best.objective <= base.objective
    assert best.best_bound <= best.objective
    per_day = {(sh.staff, sh.day) for sh in base.shifts}
    assert len(per_day) == len(base.shifts)  # one shift a day


@pytest.mark.parametrize("limit", [0.001])
def test_time_limit_gives_a_status_never_an_exception(limit):
    plan = roster.solve(_team_week(), time_limit=limit, num_workers=1, warm_start=False)
    assert plan.status in (roster.OPTIMAL, roster.FEASIBLE, roster.GREEDY)
    assert plan.shifts and plan.score == roster.evaluate(_team_week(), plan.shifts)


def test_a_day_of_leave_counts_towards_the_contract_minimum():
    outlet = Outlet("A", week(0, 1, 2, 3, 4))
    p = person("T", min_week_slots=64, max_days=4, leave_days=frozenset({0, 1}))  # 4 days × 8 h, 2 away
    plan = solve(Problem((outlet,), (p,), counters("A", 2), hold_lobby=()))
    assert p.min_slots == 32 and plan.status == roster.OPTIMAL
    assert sum(sh.slots for sh in plan.shifts) >= 32 and all(sh.day >= 2 for sh in plan.shifts)


def _cluster():
    """A small hub and two satellites for three days: mixed skills, a floater, a part-timer."""
    outlets = (Outlet("H", week(0, 1, 2)), Outlet("S1", week(0, 1, 2), single_shift=True),
               Outlet("S2", week(0, 1, hours=(19, 32)), single_shift=True))
    skills = [TELLER, LOBBY, TELLER | LOBBY]
    staff = tuple(
        person(f"P{i}", ("H", "H", "S1", "S2")[i % 4], skills[i % 3], floats=i % 5 == 0,
               min_shift_slots=8, max_shift_slots=16, max_days=2, min_week_slots=16 if i != 3 else 8,
               max_week_slots=32 if i != 3 else 16)
        for i in range(10))
    needs = tuple(n for d in range(3) for n in counters("H", d, count=2) + counters("S1", d, 20, 28))
    return Problem(outlets, staff, needs)


def test_plans_keep_every_hard_rule():
    problem = _cluster()
    for plan in (solve(problem, time_limit=1.5, num_workers=2), roster.greedy(problem)):
        assert plan.shifts and roster.check(problem, plan.shifts) == []
        by_day = {(sh.staff, sh.day) for sh in plan.shifts}
        assert len(by_day) == len(plan.shifts)
        for sh in plan.shifts:
            if sh.outlet != "H":
                assert (sh.start, sh.end) == next(o for o in problem.outlets if o.code == sh.outlet).hours[sh.day]


def test_a_shift_moved_by_hand_is_checked_against_the_rules():
    problem = _cluster()
    plan = solve(problem, time_limit=1.5, num_workers=2)
    moved = replace(plan.shifts[0], outlet="S2", day=2)  # S2 is closed on Wednesday
    rules = {v.rule for v in roster.check(problem, [moved, *plan.shifts[1:]])}
    assert roster.PINNED_OUTSIDE_HOURS in rules
    dropped = [sh for sh in plan.shifts if sh.staff != plan.shifts[0].staff]
    assert {v.rule for v in roster.check(problem, dropped)} == {roster.MIN_HOURS}
