"""The post-release watch engine alone: difference-in-differences, bootstrap interval, flag."""

from datetime import date, timedelta

import numpy as np
import pytest

from branchops.coordination import watch as W

MONDAY = date(2025, 3, 3)  # the engine is pure: weeks are only labels, no clock involved
BEFORE = [MONDAY + timedelta(weeks=k) for k in range(4)]
AFTER = [MONDAY + timedelta(weeks=k) for k in range(4, 8)]
THRESHOLDS = {W.OVERTIME: 0.05, W.COMPLAINTS: 1.0}


def outlet(name, treated, before_ratio, after_ratio, *, served=2_000, before_complaints=0, after_complaints=0,
           jitter=()):
    """An outlet whose weekly ratio is ``before_ratio`` then ``after_ratio`` (plus a per-week jitter)."""
    jitter = list(jitter) or [0.0] * 8
    weeks = {}
    for k, d in enumerate(BEFORE + AFTER):
        after = k >= 4
        weeks[d] = W.Week(overtime_ratio=(after_ratio if after else before_ratio) + jitter[k], served=served,
                          complaints=(after_complaints if after else before_complaints) if k % 4 == 0 else 0)
    return W.OutletSeries(name, treated, weeks)


def _noisy(rng, n, treated, before, after):
    return [outlet(f"{'T' if treated else 'C'}{i}", treated, before + rng.normal(0, 0.03),
                   after + rng.normal(0, 0.03), jitter=rng.normal(0, 0.01, 8)) for i in range(n)]


def test_hand_checked_did():
    # Treated changes: +0.10, +0.20, +0.30 (mean +0.20); control: 0, +0.05, +0.10 (mean +0.05): DiD = 0.15.
    outlets = [outlet("T1", True, 0.30, 0.40), outlet("T2", True, 0.20, 0.40), outlet("T3", True, 0.10, 0.40),
               outlet("C1", False, 0.30, 0.30), outlet("C2", False, 0.30, 0.35), outlet("C3", False, 0.30, 0.40)]
    result = W.evaluate(outlets, BEFORE, AFTER, THRESHOLDS)
    m = result["metrics"][W.OVERTIME]
    assert m["effect"] == pytest.approx(0.15)
    assert (m["n_treated"], m["n_control"]) == (3, 3)
    assert m["low"] <= m["effect"] <= m["high"]
    # Complaints: none anywhere, so no change in either group.
    assert result["metrics"][W.COMPLAINTS]["effect"] == pytest.approx(0.0)
    assert result["metrics"][W.COMPLAINTS]["flagged"] is False


def test_complaint_rate_is_per_10000_customers_served():
    # Treated: 4 weeks × 2,000 = 8,000 served; 1 complaint before, 5 after → 1.25 → 6.25 per 10,000 (+5.0).
    outlets = [outlet(f"T{i}", True, 0.2, 0.2, before_complaints=1, after_complaints=5) for i in range(3)]
    outlets += [outlet(f"C{i}", False, 0.2, 0.2, before_complaints=1, after_complaints=1) for i in range(3)]
    m = W.evaluate(outlets, BEFORE, AFTER, THRESHOLDS)["metrics"][W.COMPLAINTS]
    assert m["effect"] == pytest.approx(5.0)
    # Every outlet moved exactly alike: the interval is the point 5.0 … 5.0, which excludes 0.
    assert m["low"] == pytest.approx(5.0) and m["high"] == pytest.approx(5.0)
    assert m["flagged"] is True


def test_planted_effect_is_flagged():
    rng = np.random.default_rng(1)
    # Both groups improve by 5 points over the period; the treated a further 10 points.
    outlets = _noisy(rng, 6, True, 0.35, 0.20) + _noisy(rng, 8, False, 0.35, 0.30)
    result = W.evaluate(outlets, BEFORE, AFTER, THRESHOLDS)
    m = result["metrics"][W.OVERTIME]
    assert m["effect"] == pytest.approx(-0.10, abs=0.04)
    assert m["high"] < 0
    assert m["flagged"] is True and result["flagged"] is True


def test_no_effect_is_not_flagged():
    rng = np.random.default_rng(2)
    outlets = _noisy(rng, 6, True, 0.35, 0.30) + _noisy(rng, 8, False, 0.35, 0.30)
    result = W.evaluate(outlets, BEFORE, AFTER, THRESHOLDS)
    m = result["metrics"][W.OVERTIME]
    assert m["status"] == W.OK
    assert m["flagged"] is False and result["flagged"] is False


def test_small_but_certain_effect_under_threshold_is_not_flagged():
    # Every treated outlet 2 points worse, controls unchanged: the interval excludes 0 but 0.02 < 0.05.
    outlets = [outlet(f"T{i}", True, 0.30, 0.32) for i in range(4)] + [outlet(f"C{i}", False, 0.3, 0.3)
                                                                        for i in range(4)]
    m = W.evaluate(outlets, BEFORE, AFTER, THRESHOLDS)["metrics"][W.OVERTIME]
    assert m["low"] > 0 and m["flagged"] is False
    assert W.evaluate(outlets, BEFORE, AFTER, {**THRESHOLDS, W.OVERTIME: 0.02})["metrics"][W.OVERTIME]["flagged"]


def test_too_few_outlets_gives_no_figure():
    outlets = [outlet(f"T{i}", True, 0.4, 0.1) for i in range(2)] + [outlet(f"C{i}", False, 0.4, 0.4)
                                                                     for i in range(5)]
    result = W.evaluate(outlets, BEFORE, AFTER, THRESHOLDS)
    assert result["status"] == W.NOT_ENOUGH and result["flagged"] is False
    for m in result["metrics"].values():
        assert m["status"] == W.NOT_ENOUGH
        assert m["effect"] is None and m["low"] is None and m["high"] is None


def test_outlets_without_data_in_a_period_do_not_count():
    outlets = [outlet(f"T{i}", True, 0.4, 0.1) for i in range(3)] + [outlet(f"C{i}", False, 0.4, 0.4)
                                                                     for i in range(3)]
    # One control outlet has no weeks after the release (closed): two controls left → not enough.
    gone = outlets[-1]
    outlets[-1] = W.OutletSeries(gone.outlet, False, {d: w for d, w in gone.weeks.items() if d in BEFORE})
    m = W.evaluate(outlets, BEFORE, AFTER, THRESHOLDS)["metrics"][W.OVERTIME]
    assert m["n_control"] == 2 and m["status"] == W.NOT_ENOUGH


def test_interval_is_reproducible():
    rng = np.random.default_rng(3)
    outlets = _noisy(rng, 5, True, 0.3, 0.2) + _noisy(rng, 5, False, 0.3, 0.3)
    first = W.evaluate(outlets, BEFORE, AFTER, THRESHOLDS)
    assert W.evaluate(outlets, BEFORE, AFTER, THRESHOLDS) == first


def test_weekly_series_for_the_chart():
    outlets = [outlet("T1", True, 0.2, 0.4), outlet("T2", True, 0.4, 0.6), outlet("C1", False, 0.3, 0.3)]
    series = W.evaluate(outlets, BEFORE, AFTER, THRESHOLDS)["series"]
    assert series["weeks"][0] == BEFORE[0].isoformat() and len(series["weeks"]) == 8
    assert series["treated"][W.OVERTIME][0] == pytest.approx(0.3)
    assert series["treated"][W.OVERTIME][-1] == pytest.approx(0.5)
    assert series["control"][W.OVERTIME] == [pytest.approx(0.3)] * 8
    # Week 1 of each period has the complaints (none here): a rate of 0, not a gap, where customers were served.
    assert series["control"][W.COMPLAINTS][0] == 0.0
