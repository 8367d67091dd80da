"""The arrival-forecast engine: baseline, calendar effects, holdout scoring, noise floor, model choice."""

import ast
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from branchops.queueing.forecast import (
    FULL_DAYS,
    ForecastResult,
    OutletForecastInfo,
    baseline_forecast,
    forecast_arrivals,
    model_forecast,
    noise_floor,
    poisson_mad,
    wape,
)

START = date(2025, 3, 3)  # a Monday
FIRST_INTERVAL = 18  # 09:00
N_INTERVALS = 16  # 09:00–17:00
_t = np.arange(N_INTERVALS)
SHAPE = 2.0 + 4.0 * np.exp(-0.5 * ((_t - 7) / 1.3) ** 2)  # lunch peak at 12:30
WEEKDAY = np.array([1.3, 1.0, 0.95, 1.0, 1.15, 0.8, 0.0])  # closed on Sundays


def day(n: int) -> date:
    return START + timedelta(days=n)


def paydays_between(first: date, days: int) -> set[date]:
    return {first + timedelta(days=k) for k in range(days) if (first + timedelta(days=k)).day in (10, 25)}


def simulate(n_outlets: int, days: int, *, seed: int, scale: float | list[float] = 3.0,
             growth: float | list[float] = 0.0, payday_mult: float = 1.0, paydays=(), holidays=()):
    """Seeded Poisson arrivals; zero intervals are left out, as the queue machines' export does."""
    rng = np.random.default_rng(seed)
    scale = np.broadcast_to(np.asarray(scale, dtype=float), (n_outlets,))
    growth = np.broadcast_to(np.asarray(growth, dtype=float), (n_outlets,))
    dates = [day(k) for k in range(days)]
    wd = WEEKDAY[[d.weekday() for d in dates]]
    pay = np.where([d in paydays for d in dates], payday_mult, 1.0)
    shut = np.array([d in holidays for d in dates])
    trend = 1 + growth[:, None] * np.arange(days)[None, :]
    lam = scale[:, None, None] * trend[:, :, None] * (wd * pay * ~shut)[None, :, None] * SHAPE[None, None, :]
    y = rng.poisson(lam)
    o, d, k = np.nonzero(y)
    return pd.DataFrame({
        "outlet_code": np.array([f"OUT{j}" for j in range(n_outlets)])[o],
        "date": pd.to_datetime(np.array(dates, dtype="datetime64[D]")[d]),
        "interval": FIRST_INTERVAL + k,
        "arrivals": y[o, d, k],
    })


def counting_history(weeks: int = 6, intervals=(18, 19, 20)) -> pd.DataFrame:
    """Deterministic: arrivals = day number + interval, every day, one outlet."""
    rows = [("A", pd.Timestamp(day(n)), i, n + i) for n in range(7 * weeks) for i in intervals]
    return pd.DataFrame(rows, columns=["outlet_code", "date", "interval", "arrivals"])


def at(frame: pd.DataFrame, d: date, interval: int, outlet: str = "A") -> pd.Series:
    hit = (frame.outlet_code == outlet) & (frame.date == pd.Timestamp(d)) & (frame.interval == interval)
    return frame[hit].iloc[0]


# --------------------------------------------------------------------------------------------
# Baseline and calendar


def test_baseline_is_the_median_of_the_last_four_same_weekdays():
    hist = counting_history()
    # A missing interval inside opening hours is a zero, not a gap.
    hist = hist[~((hist.date == pd.Timestamp(day(35))) & (hist.interval == 20))]
    fc = baseline_forecast(hist, day(42), 7)
    mean = baseline_forecast(hist, day(42), 7, baseline="mean")
    # Next Monday: Mondays 14, 21, 28, 35 → median (21+28)/2 = mean (14+21+28+35)/4 + interval.
    assert at(fc, day(42), 18).forecast == pytest.approx(24.5 + 18) == at(mean, day(42), 18).forecast
    assert at(fc, day(42), 19).forecast == pytest.approx(24.5 + 19)
    # The zero counts: median of 0, 34, 41, 48 is (34 + 41) / 2; the mean is pulled down by it.
    assert at(fc, day(42), 20).forecast == pytest.approx((34 + 41) / 2)
    assert at(mean, day(42), 20).forecast == pytest.approx((34 + 41 + 48 + 0) / 4)
    # Tuesday: 15, 22, 29, 36.
    assert at(fc, day(43), 18).forecast == pytest.approx(25.5 + 18)
    assert set(fc.columns) == {"outlet_code", "date", "interval", "forecast", "method", "closed", "payday"}
    assert len(fc) == 7 * 3 and (fc.method == "baseline").all()


def test_a_burst_on_one_day_does_not_carry_into_next_week():
    """Issue 16: one interval of a ~50-ticket series holds a 406-ticket burst (a queue machine replaying
    its log, a one-off event); next week's forecast of that interval stays within 20 % of 50."""
    rng = np.random.default_rng(16)
    rows = [("A", pd.Timestamp(day(n)), i, int(rng.poisson(50))) for n in range(42) for i in (18, 19, 20)]
    hist = pd.DataFrame(rows, columns=["outlet_code", "date", "interval", "arrivals"])
    hist.loc[(hist.date == pd.Timestamp(day(35))) & (hist.interval == 19), "arrivals"] = 406
    fc = forecast_arrivals(hist, day(42), horizon_weeks=1)
    assert abs(at(fc.forecast, day(42), 19).forecast - 50) <= 0.2 * 50
    # The plain mean of the last four Mondays would not: (3 × ~50 + 406) / 4 ≈ 139.
    mean = baseline_forecast(hist, day(42), 7, baseline="mean")
    assert at(mean, day(42), 19).forecast > 120
    with pytest.raises(ValueError, match="baseline"):
        baseline_forecast(hist, day(42), 7, baseline="mode")


def test_closed_dates_are_zero_and_skipped_in_the_weekday_pool():
    hist = counting_history()
    hist.loc[hist.date == pd.Timestamp(day(28)), "arrivals"] = 1000  # holiday opening, odd hours
    fc = baseline_forecast(hist, day(42), 14, closed_dates={day(28), day(49)}, baseline="mean")
    # Mondays 7, 14, 21, 35 (28 is closed).
    assert at(fc, day(42), 18).forecast == pytest.approx((7 + 14 + 21 + 35) / 4 + 18)
    closed = fc[fc.date == pd.Timestamp(day(49))]
    assert len(closed) == 3 and (closed.forecast == 0).all() and closed.closed.all()
    assert not fc[fc.date != pd.Timestamp(day(49))].closed.any()


def test_paydays_are_left_out_of_the_pool_and_need_enough_history_for_a_factor():
    hist = counting_history()
    fc = baseline_forecast(hist, day(42), 7, paydays={day(21), day(42)})
    # Monday 21 is a payday: pool 7, 14, 28, 35; only one historical payday → factor 1.0.
    assert at(fc, day(42), 18).forecast == pytest.approx((7 + 14 + 28 + 35) / 4 + 18)
    assert at(fc, day(42), 18).payday


def test_payday_uplift_is_estimated_and_applied():
    days = 20 * 7
    pays = paydays_between(START, days + 28)
    hist = simulate(3, days, seed=1, scale=4.0, payday_mult=1.5, paydays=pays)
    res = forecast_arrivals(hist, day(days), 4, closed_dates=(), paydays=pays, use_model=False)
    for info in res.outlets.values():
        assert info.paydays_used >= 6
        assert info.payday_factor == pytest.approx(1.5, abs=0.12)
    fc = res.forecast[res.forecast.outlet_code == "OUT0"]
    payday = next(d for d in sorted(pays) if d >= day(days) and d.weekday() < 6)
    same_wd = next(day(days) + timedelta(days=k) for k in range(28)
                   if (day(days) + timedelta(days=k)).weekday() == payday.weekday()
                   and day(days) + timedelta(days=k) not in pays)
    on = fc[fc.date == pd.Timestamp(payday)].forecast.to_numpy()
    off = fc[fc.date == pd.Timestamp(same_wd)].forecast.to_numpy()
    assert fc[fc.date == pd.Timestamp(payday)].payday.all()
    np.testing.assert_allclose(on, off * res.outlets["OUT0"].payday_factor)
    # Without paydays in history the factor stays 1.0.
    plain = forecast_arrivals(hist, day(days), 1, paydays={day(days + 3)}, use_model=False)
    assert plain.outlets["OUT0"].payday_factor == 1.0 and plain.outlets["OUT0"].paydays_used == 0


def test_makeup_workday_is_forecast_like_the_weekday_it_stands_for():
    hist = counting_history(intervals=(18, 19))
    # Sundays in history are closed in this outlet (no rows), Saturday 47 is a make-up working day.
    hist = hist[pd.to_datetime(hist.date).dt.weekday != 6]
    sunday = day(48)
    fc = baseline_forecast(hist, day(42), 14, workdays_override={day(47): 4, sunday: 0})
    assert at(fc, day(47), 18).forecast == pytest.approx(at(fc, day(46), 18).forecast)  # Friday-like
    assert at(fc, sunday, 19).forecast == pytest.approx(at(fc, day(42), 19).forecast)  # Monday-like
    assert fc[fc.date == pd.Timestamp(day(55))].empty  # an ordinary Sunday: closed
    # A plain collection means Monday-like.
    fc2 = baseline_forecast(hist, day(42), 7, workdays_override={day(47)})
    assert at(fc2, day(47), 18).forecast == pytest.approx(at(fc2, day(42), 18).forecast)


# --------------------------------------------------------------------------------------------
# Metrics


def test_wape_hand_example():
    assert wape([10, 0, 5, 5], [8, 1, 5, 7]) == pytest.approx((2 + 1 + 0 + 2) / 20)
    assert np.isnan(wape([0, 0], [1, 2]))


@pytest.mark.parametrize("lam", [0.3, 1.0, 2.5, 7.0, 30.0])
def test_poisson_mad_matches_simulation(lam):
    x = np.random.default_rng(int(lam * 10)).poisson(lam, 400_000)
    assert poisson_mad(lam) == pytest.approx(np.abs(x - lam).mean(), rel=0.01)


def test_noise_floor_matches_simulation_and_the_large_volume_approximation():
    rng = np.random.default_rng(5)
    lam = np.tile(SHAPE * 1.5, 200)
    sims = rng.poisson(lam, size=(50, lam.size))
    simulated = np.abs(sims - lam).sum(axis=1).mean() / lam.sum()
    assert noise_floor(lam) == pytest.approx(simulated, rel=0.02)
    big = np.full(100, 50.0)
    approx = (np.sqrt(2 / (np.pi * big)) * big).sum() / big.sum()
    assert noise_floor(big) == pytest.approx(approx, rel=0.02)


# --------------------------------------------------------------------------------------------
# Holdout and model choice


def test_holdout_wape_and_floor_recomputed_by_hand():
    days = 10 * 7
    holiday = {day(days - 4)}  # inside the holdout: not scored
    pays = paydays_between(START, days)
    hist = simulate(2, days, seed=3, scale=[1.0, 4.0], holidays=holiday, paydays=pays, payday_mult=1.3)
    res = forecast_arrivals(hist, day(days), 2, holdout_weeks=2, closed_dates=holiday, paydays=pays,
                            use_model=False)
    last = hist.date.max().date()  # a Saturday: the holdout ends on the last day with data
    hold_start = last - timedelta(days=13)
    assert (res.holdout_start, res.holdout_end) == (hold_start, last)
    train = hist[hist.date < pd.Timestamp(hold_start)]
    fc = baseline_forecast(train, hold_start, 14, closed_dates=holiday, paydays=pays)
    actual = hist[hist.date >= pd.Timestamp(hold_start)]
    both = fc.merge(actual, on=["outlet_code", "date", "interval"], how="outer").fillna({"arrivals": 0,
                                                                                          "forecast": 0})
    open_days = actual[["outlet_code", "date"]].drop_duplicates()
    both = both.merge(open_days, on=["outlet_code", "date"])
    both = both[~both.date.isin([pd.Timestamp(d) for d in holiday])]
    for code, g in both.groupby("outlet_code"):
        info = res.outlets[code]
        assert info.wape_baseline == pytest.approx(wape(g.arrivals, g.forecast), rel=1e-12)
        lam = g.forecast * g.arrivals.sum() / g.forecast.sum()
        assert info.noise_floor == pytest.approx(noise_floor(lam), rel=1e-12)
        assert info.holdout_arrivals == g.arrivals.sum()
        expected = f"WAPE {info.wape_baseline * 100:.0f} % (noise floor {info.noise_floor * 100:.0f} %)"
        assert info.wape_label() == expected


def test_baseline_wape_is_close_to_the_floor_on_pure_seasonal_poisson_data():
    days = 12 * 7
    hist = simulate(8, days, seed=11, scale=2.0)
    res = forecast_arrivals(hist, day(days), 1, holdout_weeks=2, use_model=False)
    s = res.summary()
    ratio = s.wape_baseline / s.noise_floor
    # A mean of four weeks has error variance λ(1 + 1/4): expected ratio ≈ √1.25 ≈ 1.12.
    assert 1.0 < ratio.mean() < 1.25
    assert (ratio < 1.45).all()


def _assert_choice_rule(res: ForecastResult, margin: float) -> None:
    for info in res.outlets.values():
        wins = info.wape_model is not None and info.wape_model < info.wape_baseline - margin
        assert (info.method != "baseline") == wins, info
        methods = set(res.forecast[res.forecast.outlet_code == info.outlet_code].method)
        assert methods == {info.method}


def test_model_is_chosen_only_where_it_beats_the_baseline():
    days = 10 * 7
    # GROW doubles in ten weeks: the four-week mean lags ~3 weeks behind; FLAT is pure noise.
    hist = simulate(2, days, seed=21, scale=[5.0, 3.0], growth=[0.015, 0.0])
    hist["outlet_code"] = hist.outlet_code.map({"OUT0": "GROW", "OUT1": "FLAT"})
    res = forecast_arrivals(hist, day(days), 2, holdout_weeks=1)
    _assert_choice_rule(res, 0.0)
    grow = res.outlets["GROW"]
    assert grow.method == "mstl" and grow.model == "mstl"
    assert grow.wape_model < grow.wape_baseline
    fc = res.forecast.groupby("outlet_code").forecast.sum()
    base = baseline_forecast(hist, day(days), 14).groupby("outlet_code").forecast.sum()
    assert fc["GROW"] > 1.05 * base["GROW"]  # follows the trend
    assert (res.forecast.forecast >= 0).all()
    # A margin no model can clear keeps the baseline everywhere.
    strict = forecast_arrivals(hist, day(days), 1, margin=1.0, models=("ets",))
    _assert_choice_rule(strict, 1.0)
    assert {i.method for i in strict.outlets.values()} == {"baseline"}
    assert all(i.wape_model is not None for i in strict.outlets.values())


def test_model_forecast_falls_back_to_the_baseline_for_short_series():
    hist = pd.concat([simulate(1, 42, seed=4), simulate(1, 21, seed=5).assign(outlet_code="NEW")])
    fc = model_forecast(hist, day(42), 7, model="ets")
    assert set(fc[fc.outlet_code == "OUT0"].method) == {"ets"}
    assert set(fc[fc.outlet_code == "NEW"].method) == {"baseline"}
    base = baseline_forecast(hist, day(42), 7)
    new_fc = fc[fc.outlet_code == "NEW"].drop(columns="method").reset_index(drop=True)
    new_base = base[base.outlet_code == "NEW"].drop(columns="method").reset_index(drop=True)
    pd.testing.assert_frame_equal(new_fc, new_base)


# --------------------------------------------------------------------------------------------
# Validation and short history


def test_short_history_falls_back_to_baseline_with_a_flag():
    hist = pd.concat([simulate(1, 35, seed=6), simulate(1, 9, seed=7).assign(outlet_code="NEW")])
    hist.loc[hist.outlet_code == "NEW", "date"] += pd.Timedelta(days=26)  # NEW: days 26..34
    res = forecast_arrivals(hist, day(35), 1)
    new = res.outlets["NEW"]
    assert new.short_history and new.method == "baseline" and new.wape_baseline is None
    assert new.history_days == 9 and f"at least {FULL_DAYS} days" in new.note
    assert new.wape_label() == "WAPE n/a"
    assert not res.forecast[res.forecast.outlet_code == "NEW"].empty
    assert not res.outlets["OUT0"].short_history and res.outlets["OUT0"].wape_baseline is not None


def test_too_short_history_raises_or_is_skipped():
    hist = pd.concat([simulate(1, 35, seed=6), simulate(1, 5, seed=7).assign(outlet_code="TINY")])
    with pytest.raises(ValueError, match="history for outlet TINY covers only 5 days; at least 7 days"):
        forecast_arrivals(hist, day(35), 1)
    res = forecast_arrivals(hist, day(35), 1, skip_insufficient=True, use_model=False)
    assert "TINY" in res.skipped and "TINY" not in res.outlets
    assert set(res.forecast.outlet_code) == {"OUT0"}


@pytest.mark.parametrize("mutate, message", [
    (lambda h: h.drop(columns="arrivals"), "missing column"),
    (lambda h: h.iloc[:0], "empty"),
    (lambda h: pd.concat([h, h.iloc[:1]]), "duplicate"),
    (lambda h: h.assign(arrivals=-1), "non-negative"),
    (lambda h: h.assign(interval=48), "0..47"),
    (lambda h: h.assign(date=h.date + pd.Timedelta(hours=9)), "times of day"),
])
def test_invalid_history_is_rejected(mutate, message):
    with pytest.raises(ValueError, match=message):
        forecast_arrivals(mutate(counting_history()), day(42), 1, use_model=False)


def test_invalid_arguments_are_rejected():
    hist = counting_history()
    with pytest.raises(ValueError, match="1 to 4 weeks"):
        forecast_arrivals(hist, day(42), 5)
    with pytest.raises(ValueError, match="1 or 2 weeks"):
        forecast_arrivals(hist, day(42), 1, holdout_weeks=3)
    with pytest.raises(ValueError, match="unknown model"):
        forecast_arrivals(hist, day(42), 1, models=("prophet",))
    with pytest.raises(ValueError, match="no days before the start date"):
        forecast_arrivals(hist, day(0), 1)


def test_result_grid_covers_every_open_interval():
    days = 6 * 7
    hist = simulate(3, days, seed=8)
    res = forecast_arrivals(hist, day(days), 4, use_model=False)
    fc = res.forecast
    assert isinstance(next(iter(res.outlets.values())), OutletForecastInfo)
    assert fc.date.min() == pd.Timestamp(day(days))
    assert fc.date.max() == pd.Timestamp(day(days + 26))  # day 27 is a Sunday
    assert not (fc.date.dt.weekday == 6).any()  # Sundays: never open
    per_day = fc.groupby(["outlet_code", "date"]).size()
    assert (per_day == N_INTERVALS).all() and len(per_day) == 3 * 24
    assert (fc.forecast >= 0).all() and not fc.duplicated(["outlet_code", "date", "interval"]).any()


def test_engine_does_not_import_django():
    import branchops.queueing.forecast as engine

    tree = ast.parse(Path(engine.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.split(".")[0] in ("django", "branchops") for name in imported), imported
