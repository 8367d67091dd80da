"""The workload engine (pure, no database) and the outlets' weekly capacity."""

from datetime import date, timedelta

import pytest

from branchops.dispatch import queries, services, workload
from branchops.dispatch.queries import workload_settings_for
from branchops.dispatch.workload import Load

MON = date(2026, 6, 1)  # a Monday (ISO week 23)


# --- spread over ISO weeks -------------------------------------------------------------------------

def test_week_start_is_the_monday():
    assert workload.week_start(MON) == MON
    assert workload.week_start(MON + timedelta(days=6)) == MON
    assert workload.week_start(MON + timedelta(days=7)) == MON + timedelta(days=7)


def test_spread_within_one_week():
    assert workload.spread(7, MON, MON + timedelta(days=6)) == pytest.approx({MON: 7})


def test_spread_by_days_in_each_iso_week():
    # Wednesday to the next Tuesday: 5 days in the first week, 2 in the second.
    per_week = workload.spread(7, MON + timedelta(days=2), MON + timedelta(days=8))
    assert per_week == pytest.approx({MON: 5, MON + timedelta(days=7): 2})


def test_spread_over_three_weeks_keeps_the_total():
    start, end = MON + timedelta(days=4), MON + timedelta(days=17)  # Fri … Thu two weeks later
    per_week = workload.spread(14, start, end)
    assert sorted(per_week) == [MON, MON + timedelta(days=7), MON + timedelta(days=14)]
    assert per_week[MON] == pytest.approx(3) and per_week[MON + timedelta(days=7)] == pytest.approx(7)
    assert sum(per_week.values()) == pytest.approx(14)


def test_spread_of_an_empty_window_is_nothing():
    assert workload.spread(5, MON, MON - timedelta(days=1)) == {}


def test_one_day_window():
    assert workload.spread(3, MON + timedelta(days=3), MON + timedelta(days=3)) == pytest.approx({MON: 3})


# --- weekly load -----------------------------------------------------------------------------------

def test_weekly_load_sums_loads_per_outlet_and_week():
    loads = [
        Load("A", (1, 2), 7, MON, MON + timedelta(days=6)),
        Load("B", (2, 3), 14, MON, MON + timedelta(days=13)),
        Load("C", (3,), 2, MON + timedelta(days=7), MON + timedelta(days=7)),
    ]
    table = workload.weekly_load(loads)
    w1, w2 = MON, MON + timedelta(days=7)
    assert table[1] == pytest.approx({w1: 7})
    assert table[2] == pytest.approx({w1: 14, w2: 7})
    assert table[3] == pytest.approx({w1: 7, w2: 9})
    assert 4 not in table


def test_weekly_load_of_nothing():
    assert workload.weekly_load([]) == {}


# --- overloads -------------------------------------------------------------------------------------

def test_overloads_only_where_over_capacity():
    existing = [Load("A", (1, 2), 7, MON, MON + timedelta(days=6))]
    candidate = Load("NEW", (1, 2, 3), 4, MON, MON + timedelta(days=6))
    capacity = {1: 10.0, 2: 12.0, 3: 3.0}
    over = workload.overloads(candidate, existing, capacity)
    # outlet 1: 7 + 4 = 11 > 10; outlet 2: 11 ≤ 12; outlet 3: 4 > 3 on its own.
    assert {(o.outlet, o.week) for o in over} == {(1, MON), (3, MON)}
    one = next(o for o in over if o.outlet == 1)
    assert one.load == pytest.approx(11) and one.capacity == 10 and one.excess == pytest.approx(1)


def test_overloads_exactly_at_capacity_is_not_over():
    candidate = Load("NEW", (1,), 10, MON, MON + timedelta(days=6))
    assert workload.overloads(candidate, [], {1: 10.0}) == []


def test_overloads_only_in_the_weeks_the_candidate_touches():
    existing = [Load("A", (1,), 20, MON + timedelta(days=14), MON + timedelta(days=20))]  # week 3 already over
    candidate = Load("NEW", (1,), 14, MON, MON + timedelta(days=13))  # weeks 1–2, 7 h each
    assert workload.overloads(candidate, existing, {1: 10.0}) == []
    assert [o.week for o in workload.overloads(candidate, existing, {1: 6.0})] == [MON, MON + timedelta(days=7)]


def test_outlet_without_known_capacity_is_not_reported():
    candidate = Load("NEW", (1, 2), 100, MON, MON + timedelta(days=6))
    assert [o.outlet for o in workload.overloads(candidate, [], {1: 5.0})] == [1]


# --- stagger ---------------------------------------------------------------------------------------

def test_stagger_in_waves_a_week_apart_inside_the_window():
    end = MON + timedelta(days=9)
    plan = workload.stagger([40, 10, 30, 20], 2, MON, end)
    assert plan[10] == plan[20] == (MON, end - timedelta(weeks=1))
    assert plan[30] == plan[40] == (MON + timedelta(weeks=1), end)  # the last wave ends with the window


def test_stagger_uneven_groups_and_bounds():
    end = MON + timedelta(days=16)
    plan = workload.stagger([1, 2, 3], 3, MON, end)
    assert [plan[o][0] for o in (1, 2, 3)] == [MON, MON + timedelta(weeks=1), MON + timedelta(weeks=2)]
    assert max(e for _s, e in plan.values()) == end
    # More groups than outlets: one outlet per wave; one group or fewer: everyone at once.
    assert len({s for s, _e in workload.stagger([1, 2], 5, MON, MON + timedelta(days=7)).values()}) == 2
    assert {s for s, _e in workload.stagger([1, 2, 3], 0, MON, MON).values()} == {MON}
    assert workload.stagger([], 2, MON, MON) == {}


def test_stagger_never_runs_past_the_window():
    with pytest.raises(ValueError):
        workload.stagger([1, 2, 3], 3, MON, MON + timedelta(days=2))
    plan = workload.stagger(list(range(12)), 4, MON, MON + timedelta(days=27))
    assert all(MON <= s <= e <= MON + timedelta(days=27) for s, e in plan.values())


def test_lower_urgency_loads_on_an_overloaded_week_yield():
    capacity = {1: 5.0, 2: 5.0}
    existing = [Load("LOW", (1, 2), 3, MON, MON + timedelta(days=6), urgency_rank=2),
                Load("HIGH", (1,), 1, MON, MON + timedelta(days=6), urgency_rank=0),
                Load("LATER", (1,), 3, MON + timedelta(weeks=3), MON + timedelta(weeks=3, days=6), urgency_rank=2)]
    plan = {1: (MON, MON + timedelta(days=6))}
    over = workload.plan_overloads("NEW", 4, plan, existing, capacity, urgency_rank=1)
    assert [(o.outlet, o.week) for o in over] == [(1, MON)]
    # The normal item on that week yields (only where it is over); the urgent one and the later one do not.
    assert workload.yielders(1, over, existing) == {"LOW": {1}}
    assert workload.yielders(2, over, existing) == {}  # nothing is less urgent than a normal item


def test_staggering_removes_an_overload():
    capacity = {1: 5.0, 2: 5.0}
    existing = [Load("A", (1, 2), 4, MON, MON + timedelta(days=6))]
    whole = Load("NEW", (1, 2), 4, MON, MON + timedelta(days=13))
    assert len(workload.overloads(whole, existing, capacity)) == 2
    plan = workload.stagger([1, 2], 2, MON, MON + timedelta(days=13))
    waves = [Load("NEW", (o,), 4, *plan[o]) for o in (1, 2)]
    assert [len(workload.overloads(w, existing, capacity)) for w in waves] == [1, 0]
    assert [o.outlet for o in workload.plan_overloads("NEW", 4, plan, existing, capacity)] == [1]


# --- blackouts -------------------------------------------------------------------------------------

def test_blackout_overlap_is_inclusive_at_both_ends():
    blackouts = [(date(2026, 6, 29), date(2026, 7, 3), "半年末"), (date(2026, 9, 28), date(2026, 10, 8), "国庆")]
    assert workload.in_blackout(date(2026, 6, 20), date(2026, 6, 29), blackouts) == ["半年末"]
    assert workload.in_blackout(date(2026, 7, 3), date(2026, 7, 10), blackouts) == ["半年末"]
    assert workload.in_blackout(date(2026, 7, 4), date(2026, 9, 27), blackouts) == []
    assert workload.in_blackout(date(2026, 6, 1), date(2026, 12, 31), blackouts) == ["半年末", "国庆"]
    assert workload.in_blackout(date(2026, 6, 30), date(2026, 7, 1), blackouts) == ["半年末"]  # inside


# --- capacities (database) -------------------------------------------------------------------------

def test_default_capacity_is_head_count_times_40_times_share(coord_bank):
    b = coord_bank
    cap = queries.capacities([b.o11.pk, b.o12.pk, b.o21.pk])
    # o11: head11 and staff11; o12 and o21: one teller each; the default share is 5 %.
    assert cap == {b.o11.pk: 4.0, b.o12.pk: 2.0, b.o21.pk: 2.0}


def test_default_capacity_follows_the_branch_share(coord_bank):
    b = coord_bank
    conf = workload_settings_for(b.branch)
    assert conf.pk  # made with the branch
    conf.capacity_share = "0.10"
    conf.save()
    assert queries.capacities([b.o11.pk])[b.o11.pk] == 8.0


def test_override_replaces_the_default(coord_bank):
    b = coord_bank
    services.set_capacity(b.users["sec1"], b.o12, 12.5, note="新增两名客服经理")
    cap = queries.capacities([b.o11.pk, b.o12.pk])
    assert cap == {b.o11.pk: 4.0, b.o12.pk: 12.5}
    services.set_capacity(b.users["sec1"], b.o12, 0)
    assert queries.capacities([b.o12.pk]) == {b.o12.pk: 0.0}


def test_set_capacity_guards(coord_bank):
    from django.core.exceptions import PermissionDenied, ValidationError

    b = coord_bank
    with pytest.raises(PermissionDenied):
        services.set_capacity(b.users["head11"], b.o11, 10)
    with pytest.raises(ValidationError):
        services.set_capacity(b.users["sec1"], b.sb1, 10)  # not an outlet
    with pytest.raises(ValidationError):
        services.set_capacity(b.users["sec1"], b.o11, -1)


@pytest.mark.date_sensitive
def test_heatmap_counts_released_work_and_shows_pending_as_expected(coord_bank, released, draft):
    b = coord_bank
    item = released()
    pending = services_submit(b, draft(title="待审事项", effort_hours=2))
    data = queries.heatmap([b.o11, b.o21], item.window_start, weeks=4)
    assert data["weeks"][0] == workload.week_start(item.window_start) and len(data["weeks"]) == 4
    row = data["rows"][0]
    assert row["id"] == b.o11.pk and row["capacity"] == 4.0
    # Only the released item is load (4 h); the pending one is expected (2 h), shown apart.
    assert sum(row["loads"]) == pytest.approx(4.0, abs=0.2)
    assert sum(row["expected"]) == pytest.approx(2.0, abs=0.2)
    assert row["ratios"] == [round(x / 4.0, 2) for x in row["loads"]]
    assert pending.status == "submitted"


def services_submit(b, item):
    from branchops.coordination import services as coordination

    return coordination.submit_item(b.users["pfb1"], item)
