"""Flexible-window proposals from needed vs open counters (pure, no database)."""

from datetime import time

import numpy as np
import pytest

from branchops.queueing import erlang
from branchops.queueing.staffing import (
    ABOVE_MAXIMUM,
    BELOW_MINIMUM,
    CAPACITY_EXCEEDED,
    OVERSTAFFED,
    UNDERSTAFFED,
    FlexPolicy,
    WindowChange,
    plan_outlet_day,
    plan_outlets,
)

NINE = time(9, 0)


def summary(changes: list[WindowChange]) -> list[tuple[str, str, int, str]]:
    return [(c.start.strftime("%H:%M"), c.end.strftime("%H:%M"), c.change, c.reason) for c in changes]


def test_open_more_windows_over_a_merged_run():
    need = [2, 2, 4, 4, 4, 4, 2, 2]
    have = [2, 2, 2, 2, 2, 2, 2, 2]
    changes = plan_outlet_day(need, have, start=time(10, 30))
    assert summary(changes) == [("11:30", "13:30", 2, UNDERSTAFFED)]
    assert changes[0].intervals == 4 and changes[0].first_interval == 2
    assert changes[0].counter_hours == pytest.approx(4.0)
    assert changes[0].actionable


def test_close_a_window_where_open_exceeds_need():
    need = [3, 3, 3, 3, 3, 3, 2, 2, 3]
    have = [3, 3, 3, 3, 3, 3, 3, 3, 3]
    assert summary(plan_outlet_day(need, have, start=time(12, 0))) == [("15:00", "16:00", -1, OVERSTAFFED)]


def test_nested_layers_become_separate_changes():
    need = [2, 3, 4, 4, 3, 2]
    have = [2, 2, 2, 2, 2, 2]
    assert summary(plan_outlet_day(need, have, start=NINE)) == [
        ("09:30", "11:30", 1, UNDERSTAFFED),
        ("10:00", "11:00", 1, UNDERSTAFFED),
    ]


def test_single_interval_blips_are_ignored():
    need = [2, 3, 2, 2, 1, 2, 2]
    have = [2, 2, 2, 2, 2, 2, 2]
    assert plan_outlet_day(need, have, start=NINE) == []
    # With a minimum length of one interval they are proposed.
    changes = plan_outlet_day(need, have, start=NINE, policy=FlexPolicy(min_intervals=1))
    assert summary(changes) == [("09:30", "10:00", 1, UNDERSTAFFED), ("11:00", "11:30", -1, OVERSTAFFED)]


def test_blip_on_top_of_a_longer_run_is_dropped():
    need = [3, 3, 4, 3, 3]
    have = [2, 2, 2, 2, 2]
    assert summary(plan_outlet_day(need, have, start=NINE)) == [("09:00", "11:30", 1, UNDERSTAFFED)]


def test_short_dips_are_bridged_but_surplus_is_not():
    need = [3, 3, 2, 3, 3]
    have = [2, 2, 2, 2, 2]
    assert summary(plan_outlet_day(need, have, start=NINE)) == [("09:00", "11:30", 1, UNDERSTAFFED)]
    assert summary(plan_outlet_day(need, have, start=NINE, policy=FlexPolicy(bridge_gap=0))) == [
        ("09:00", "10:00", 1, UNDERSTAFFED),
        ("10:30", "11:30", 1, UNDERSTAFFED),
    ]
    # A dip with surplus (need 1 < open 2) is not bridged, and a two-interval dip exceeds bridge_gap.
    assert len(plan_outlet_day([3, 3, 1, 3, 3], have, start=NINE)) == 2
    assert len(plan_outlet_day([3, 3, 2, 2, 3, 3], have + [2], start=NINE)) == 2


def test_minimum_counters_are_enforced_even_briefly():
    need = [0, 0, 0, 1, 1]
    have = [1, 0, 1, 1, 1]
    changes = plan_outlet_day(need, have, start=NINE, policy=FlexPolicy(min_counters=1))
    assert summary(changes) == [("09:30", "10:00", 1, BELOW_MINIMUM)]
    # The minimum is also a floor for closing.
    assert plan_outlet_day([0, 0, 0], [1, 1, 1], policy=FlexPolicy(min_counters=1)) == []


def test_maximum_counters_cap_openings_and_report_the_shortfall():
    need = [4, 8, 8, 8, 4]
    have = [4, 4, 4, 4, 4]
    changes = plan_outlet_day(need, have, start=NINE, policy=FlexPolicy(max_counters=6))
    assert summary(changes) == [
        ("09:30", "11:00", 2, UNDERSTAFFED),
        ("09:30", "11:00", 2, CAPACITY_EXCEEDED),
    ]
    assert not changes[1].actionable and changes[1].counter_hours == 0


def test_above_maximum_is_closed_even_briefly():
    changes = plan_outlet_day([2, 2, 2], [3, 7, 3], start=NINE, policy=FlexPolicy(max_counters=5))
    # The two windows above the maximum close first (forced, kept although brief); closing the
    # other three would only follow demand for one interval, a blip.
    assert summary(changes) == [("09:00", "10:30", -1, OVERSTAFFED), ("09:30", "10:00", -1, ABOVE_MAXIMUM)]
    changes = plan_outlet_day([2, 2, 2], [2, 7, 2], start=NINE, policy=FlexPolicy(max_counters=5))
    assert summary(changes) == [("09:30", "10:00", -2, ABOVE_MAXIMUM)]


def test_spare_counters_are_kept():
    need = [2, 2, 2, 2]
    have = [4, 4, 4, 4]
    assert summary(plan_outlet_day(need, have, start=NINE)) == [("09:00", "11:00", -2, OVERSTAFFED)]
    assert summary(plan_outlet_day(need, have, start=NINE, policy=FlexPolicy(spare=1))) == [
        ("09:00", "11:00", -1, OVERSTAFFED)
    ]


def test_unknown_intervals_break_runs():
    need = [3, 3, None, 3, 3]
    have = [2, 2, 2, float("nan"), 2]
    changes = plan_outlet_day(need, have, start=NINE, policy=FlexPolicy(min_intervals=1, bridge_gap=2))
    assert summary(changes) == [("09:00", "10:00", 1, UNDERSTAFFED), ("11:00", "11:30", 1, UNDERSTAFFED)]


def test_end_of_day_and_other_interval_lengths():
    changes = plan_outlet_day([1, 2, 2], [1, 1, 1], start=time(22, 30))
    assert summary(changes) == [("23:00", "00:00", 1, UNDERSTAFFED)]
    changes = plan_outlet_day([1, 2, 2], [1, 1, 1], start=NINE, interval_minutes=15)
    assert summary(changes) == [("09:15", "09:45", 1, UNDERSTAFFED)]
    assert changes[0].counter_hours == pytest.approx(0.5)
    with pytest.raises(ValueError, match="midnight"):
        plan_outlet_day([1, 1, 1], [1, 1, 1], start=time(23, 30))


def test_numpy_rows_and_per_outlet_limits():
    need = np.array([[2, 4, 4, 2], [3, 3, 3, 3]])
    have = np.array([[2, 2, 2, 2], [5, 5, 5, 5]])
    plans = plan_outlets(need, have, start=NINE, max_counters=[3, 4], min_counters=[1, 1])
    assert summary(plans[0]) == [("09:30", "10:30", 1, UNDERSTAFFED), ("09:30", "10:30", 1, CAPACITY_EXCEEDED)]
    assert summary(plans[1]) == [("09:00", "11:00", -1, ABOVE_MAXIMUM), ("09:00", "11:00", -1, OVERSTAFFED)]


def test_from_erlang_counters():
    # The usual pipeline: forecast arrivals -> counters needed -> proposals against the logged counters.
    arrivals = np.array([6, 10, 20, 30, 30, 20, 10, 6])
    load = erlang.offered_load(arrivals, 300.0)
    needed, capped = erlang.counters_needed(load, 300.0, 600, 0.8, max_counters=8)
    assert not capped.any()
    have = np.full(arrivals.size, 4)
    changes = plan_outlet_day(needed, have, start=NINE, policy=FlexPolicy(max_counters=8))
    opened = [c for c in changes if c.change > 0]
    closed = [c for c in changes if c.change < 0]
    assert opened and closed
    assert all(c.start >= time(10, 0) and c.end <= time(12, 0) for c in opened)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"needed": [1, -1], "open_counters": [1, 1]}, "needed"),
        ({"needed": [1, 1.5], "open_counters": [1, 1]}, "needed"),
        ({"needed": [1, 1], "open_counters": [1, "x"]}, "open_counters"),
        ({"needed": [1, 1], "open_counters": [1]}, "same length"),
        ({"needed": [1], "open_counters": [1], "interval_minutes": 0}, "interval_minutes"),
    ],
)
def test_invalid_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        plan_outlet_day(**kwargs)


def test_invalid_policy():
    with pytest.raises(ValueError, match="max_counters"):
        FlexPolicy(min_counters=3, max_counters=2)
    with pytest.raises(ValueError, match="min_intervals"):
        FlexPolicy(min_intervals=0)
    with pytest.raises(ValueError, match="spare"):
        FlexPolicy(spare=-1)
