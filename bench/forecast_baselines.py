"""Which four-weekday baseline: the median or the plain mean? (issue 16)

Simulates a queue log (``queueing.simulate``: outlets with every queue pattern, 12 weeks), counts the
arrivals per outlet × day × half-hour, and forecasts each of weeks 7–11 from the weeks before it with
``baseline_forecast(baseline="median")`` and ``baseline="mean"``; WAPE against the week's actuals.
Twice: on the clean log, and with a burst (× 8) planted in 0.5 % of the training intervals (a queue
machine replaying its log, a one-off event) while the actuals stay clean. A trimmed mean of four
values dropping the highest and the lowest is the mean of the middle two, i.e. the median of four,
so the median stands for both. Prints JSON.

    .venv/bin/python bench/forecast_baselines.py [--outlets 8] [--seed 11]
"""

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from branchops.queueing import forecast, simulate  # noqa: E402

START = date(2026, 1, 5)  # a Monday
WEEKS = 12


def arrivals(outlets: int, seed: int) -> pd.DataFrame:
    codes = [f"E{i:02d}" for i in range(outlets)]
    logs = simulate.generate_logs(outlets, 7 * WEEKS, seed, start_date=START, outlet_codes=codes)
    t = pd.concat([r.tickets.to_pandas() for r in logs])
    issued = pd.to_datetime(t["issued_at"])
    t = t.assign(date=pd.to_datetime(t["ticket_date"]), interval=issued.dt.hour * 2 + issued.dt.minute // 30)
    return t.groupby(["outlet_code", "date", "interval"]).size().rename("arrivals").reset_index()


def score(history: pd.DataFrame, actual: pd.DataFrame) -> dict[str, float]:
    out = {}
    for method in forecast.BASELINES:
        wapes = []
        for week in range(7, WEEKS):
            cut = pd.Timestamp(START + timedelta(weeks=week))
            fc = forecast.baseline_forecast(history[history.date < cut], cut.date(), 7, baseline=method)
            act = actual[(actual.date >= cut) & (actual.date < cut + pd.Timedelta(days=7))]
            joined = fc.merge(act, on=["outlet_code", "date", "interval"], how="outer").fillna(0)
            wapes.append(forecast.wape(joined.arrivals, joined.forecast))
        out[method] = round(float(np.mean(wapes)), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outlets", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    clean = arrivals(args.outlets, args.seed)
    burst = clean.copy()
    pick = np.random.default_rng(args.seed).random(len(burst)) < 0.005
    burst.loc[pick, "arrivals"] *= 8
    print(json.dumps({"outlets": args.outlets, "weeks_scored": WEEKS - 7,
                      "wape_clean": score(clean, clean), "wape_with_bursts": score(burst, clean)}))


if __name__ == "__main__":
    main()
