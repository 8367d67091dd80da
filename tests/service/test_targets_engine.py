"""The target projection engine alone, on hand-computed cases."""

import pytest

from branchops.service import targets as T


def test_trend_line_hand_computed():
    # points (1, 10), (2, 12), (3, 14): slope 2, intercept 8
    assert T.trend_line({1: 10, 2: 12, 3: 14}) == (8.0, 2.0)
    # (1, 4), (2, 2), (3, 3): mean x 2, mean y 3; sxy = (-1)(1) + 0 + (1)(0) = -1; sxx = 2 → slope -0.5,
    # intercept 3 - (-0.5)(2) = 4
    assert T.trend_line({1: 4, 2: 2, 3: 3}) == (4.0, -0.5)
    assert T.trend_line({5: 7}) == (7.0, 0.0)


def test_rate_projected_as_the_mean_of_twelve_months():
    # answer rate 0.80, 0.82, 0.84 for Jan–Mar: line 0.78 + 0.02 m → Apr–Dec 0.86 … 1.02;
    # the mean of the twelve months: (0.80 + 0.82 + … + 1.02) / 12 = (12 × (0.80 + 1.02) / 2) / 12 = 0.91
    p = T.project({1: 0.80, 2: 0.82, 3: 0.84}, how=T.MEAN, comparison=T.AT_LEAST, target=0.90)
    assert p.year_to_date == pytest.approx(0.82)
    assert p.projected == pytest.approx(0.91)
    assert p.slope == pytest.approx(0.02)
    assert p.at_risk is False
    assert T.project({1: 0.80, 2: 0.82, 3: 0.84}, how=T.MEAN, comparison=T.AT_LEAST, target=0.92).at_risk is True


def test_count_projected_as_the_sum_and_cut_at_zero():
    # complaints 10, 8, 6 in Jan–Mar: line 12 - 2m → Apr 4, May 2, Jun 0, then negative → 0.
    # year: 10 + 8 + 6 + 4 + 2 = 30
    p = T.project({1: 10, 2: 8, 3: 6}, how=T.SUM, comparison=T.AT_MOST, target=29)
    assert p.year_to_date == 24
    assert p.projected == pytest.approx(30)
    assert p.line[6] == 0 and p.line[12] == 0
    assert p.at_risk is True
    assert T.project({1: 10, 2: 8, 3: 6}, how=T.SUM, comparison=T.AT_MOST, target=30).at_risk is False


def test_a_flat_single_month_and_a_level():
    # one month of 5 minutes' wait: flat, the year's mean is 5
    p = T.project({4: 5.0}, how=T.MEAN, comparison=T.AT_MOST, target=6)
    assert p.projected == 5.0 and p.at_risk is False and p.slope == 0
    # model outlets 2 at March, 4 at June: line 2/3 per month → December: 2 + 9 × 2/3 = 8
    p = T.project({3: 2, 6: 4}, how=T.LAST, comparison=T.AT_LEAST, target=9)
    assert p.year_to_date == 4 and p.projected == pytest.approx(8.0) and p.at_risk is True


def test_gaps_are_skipped_and_december_has_nothing_left():
    p = T.project({1: 90, 3: 94}, how=T.MEAN, comparison=T.AT_LEAST, target=90)
    assert p.slope == pytest.approx(2.0)  # through (1, 90) and (3, 94)
    full = {m: 1.0 for m in range(1, 13)}
    p = T.project(full, how=T.SUM, comparison=T.AT_MOST, target=12)
    assert p.line == {} and p.projected == 12 and p.at_risk is False


def test_no_data_no_judgement():
    p = T.project({}, how=T.MEAN, comparison=T.AT_LEAST, target=0.9)
    assert p.projected is None and p.at_risk is None


def test_a_rate_is_cut_at_its_ceiling():
    # the line of the first case reaches 1.0 in November (0.78 + 0.22) and would pass it in December;
    # capped: the twelve months are 0.80 … 1.00, 1.00 → (10.92 - 0.02) / 12
    p = T.project({1: 0.80, 2: 0.82, 3: 0.84}, how=T.MEAN, comparison=T.AT_LEAST, target=0.90, ceiling=1.0)
    assert p.line[12] == 1.0
    assert p.projected == pytest.approx(10.90 / 12)
