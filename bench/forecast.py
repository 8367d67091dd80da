"""Benchmark: the arrival-forecast engine (baseline vs model path) on simulated outlets.

Simulates Poisson arrivals per outlet and half-hour (weekday × interval profile with a lunch peak,
payday uplift on the 10th, a closed holiday week, some outlets closed on Sundays, some growing),
then times
  baseline — forecast_arrivals(use_model=False): last-four-weekdays baseline + holdout scoring
  model    — forecast_arrivals(use_model=True): + the model on the holdout, refit where it wins
and reports the holdout WAPE (baseline, model, Poisson noise floor) averaged over outlets, the
share of outlets where the model won, and — since the simulation knows the future — the WAPE of
both forecasts against the simulated next weeks. Pure pandas/statsforecast, no Django. Prints JSON.

    .venv/bin/python bench/forecast.py [--outlets 60] [--days 365] [--models mstl] [--n-jobs 1]
"""

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from branchops.queueing.forecast import forecast_arrivals  # noqa: E402

FIRST_INTERVAL = 17  # 08:30
N_INTERVALS = 18  # 08:30–17:30
WEEKDAY_MULT = np.array([1.3, 1.0, 0.95, 1.0, 1.15, 0.8, 0.6])


def simulate(outlets: int, days: int, future_days: int, seed: int):
    """Long history frame (zero intervals left out, as exports do) + future actuals and means."""
    rng = np.random.default_rng(seed)
    start = date(2024, 1, 1)
    all_days = [start + timedelta(days=k) for k in range(days + future_days)]
    # National Day week, closed.
    holidays = {d for d in all_days if d.month == 10 and d.day <= 7}
    paydays = {d for d in all_days if d.day == 10}
    t = np.arange(N_INTERVALS)
    shape = 2 + 3 * np.exp(-0.5 * ((t - 3) / 2) ** 2) + 4 * np.exp(-0.5 * ((t - 8) / 1.2) ** 2)
    scale = rng.uniform(0.3, 3.0, outlets)
    growth = np.where(rng.random(outlets) < 0.3, rng.uniform(0.0005, 0.003, outlets), 0.0)  # per day
    sunday_closed = rng.random(outlets) < 0.4
    day_idx = np.arange(len(all_days))
    weekday = np.array([d.weekday() for d in all_days])
    is_pay = np.array([d in paydays for d in all_days])
    is_hol = np.array([d in holidays for d in all_days])
    # λ[outlet, day, interval]
    lam = (scale[:, None, None] * shape[None, None, :]
           * WEEKDAY_MULT[weekday][None, :, None]
           * (1 + growth[:, None] * day_idx[None, :])[:, :, None]
           * np.where(is_pay, 1.4, 1.0)[None, :, None])
    open_ = ~is_hol[None, :] & ~(sunday_closed[:, None] & (weekday == 6)[None, :])
    lam = lam * open_[:, :, None]
    y = rng.poisson(lam)
    o_i, d_i, k_i = np.nonzero(y[:, :days, :])
    history = pd.DataFrame({
        "outlet_code": np.char.add("O", np.char.zfill(o_i.astype(str), 4)),
        "date": pd.to_datetime(np.array(all_days, dtype="datetime64[D]")[d_i]),
        "interval": FIRST_INTERVAL + k_i,
        "arrivals": y[o_i, d_i, k_i],
    })
    return history, holidays, paydays, start + timedelta(days=days), y[:, days:, :], lam[:, days:, :]


def future_wape(result, start: date, actual: np.ndarray, lam: np.ndarray) -> dict:
    fc = result.forecast
    o = fc.outlet_code.str[1:].astype(int).to_numpy()
    d = (fc.date - pd.Timestamp(start)).dt.days.to_numpy()
    k = fc.interval.to_numpy() - FIRST_INTERVAL
    f = np.zeros_like(lam)
    f[o, d, k] = fc.forecast.to_numpy()
    return {"vs_actuals": round(float(np.abs(f - actual).sum() / actual.sum()), 4),
            "vs_true_means": round(float(np.abs(f - lam).sum() / lam.sum()), 4)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--outlets", type=int, default=60)
    parser.add_argument("--days", type=int, default=365, help="days of history")
    parser.add_argument("--horizon-weeks", type=int, default=4)
    parser.add_argument("--holdout-weeks", type=int, default=1)
    parser.add_argument("--models", default="mstl", help="comma-separated: mstl, ets")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--skip-model", action="store_true", help="time the baseline path only")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    t0 = time.perf_counter()
    history, holidays, paydays, start, future, future_lam = simulate(
        args.outlets, args.days, 7 * args.horizon_weeks, args.seed)
    simulate_s = time.perf_counter() - t0
    common = dict(closed_dates=holidays, paydays=paydays, horizon_weeks=args.horizon_weeks,
                  holdout_weeks=args.holdout_weeks)

    t = time.perf_counter()
    base = forecast_arrivals(history, start, use_model=False, **common)
    baseline_s = time.perf_counter() - t
    report = {
        "benchmark": "arrival_forecast",
        "outlets": args.outlets,
        "history_days": args.days,
        "history_rows": len(history),
        "forecast_rows": len(base.forecast),
        "horizon_weeks": args.horizon_weeks,
        "holdout_weeks": args.holdout_weeks,
        "simulate_seconds": round(simulate_s, 2),
        "baseline_seconds": round(baseline_s, 2),
    }
    summary = base.summary()
    report["mean_wape_baseline"] = round(float(summary.wape_baseline.mean()), 4)
    report["mean_noise_floor"] = round(float(summary.noise_floor.mean()), 4)
    report["future_wape_baseline"] = future_wape(base, start, future, future_lam)

    if not args.skip_model:
        models = tuple(m.strip() for m in args.models.split(",") if m.strip())
        # statsforecast's first call compiles (numba); keep that out of the timing.
        warm = history[history.outlet_code == history.outlet_code.iloc[0]]
        forecast_arrivals(warm, start, models=models, **common)
        t = time.perf_counter()
        result = forecast_arrivals(history, start, models=models, n_jobs=args.n_jobs, **common)
        model_s = time.perf_counter() - t
        summary = result.summary()
        report.update({
            "models": list(models),
            "n_jobs": args.n_jobs,
            "model_path_seconds": round(model_s, 2),
            "mean_wape_model": round(float(summary.wape_model.mean()), 4),
            "mean_wape_chosen": round(float(summary.wape.mean()), 4),
            "model_won_share": round(float((summary.method != "baseline").mean()), 4),
            "methods": summary.method.value_counts().to_dict(),
            "future_wape_chosen": future_wape(result, start, future, future_lam),
        })
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
