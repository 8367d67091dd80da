"""Benchmark: rostering a 1+N cluster for one week with CP-SAT, against the greedy baseline.

A seeded cluster (``--seed``) of one hub and four satellites with differentiated hours (the hub
opens every day, two satellites on weekdays only, one on Saturday mornings, one works a single
shift, 一班制), ``--staff`` people (lobby / counter skills, some certified for both, a quarter
allowed to float, part-timers), counters needed per half-hour shaped like a forecast (two peaks,
busier Monday and Friday) and lobby positions 1 and 2 held while open. It then runs
  plan      roster.solve with --workers workers, --time-limit seconds, stopping at --gap
  greedy    roster.greedy on the same week (objective, covered need, fairness)
  replan    one person's sick day (--sick-day): the days before it are published (pinned), the
            rest of the plan is the previous plan; roster.solve with --replan-limit seconds;
            counts the shifts that changed.
Prints one JSON document with the machine's load (``uptime``); timing never makes the exit
status non-zero.

    .venv/bin/python bench/roster.py [--staff 40] [--workers 2] [--time-limit 10] [--gap 0.01]
        [--replan-limit 2] [--sick-day 2] [--seed 20261207]
"""

import argparse
import json
import os
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from branchops.workforce import roster  # noqa: E402
from branchops.workforce.roster import COUNTER, Need, Outlet, Problem, Staff  # noqa: E402

H = 2  # slots per hour


def cluster(seed: int, staff_count: int, demand: float = 1.0) -> Problem:
    rng = random.Random(seed)
    day = (9 * H, 17 * H)
    weekend = (int(9.5 * H), int(16.5 * H))
    outlets = (
        Outlet("HUB", (day,) * 5 + (weekend, weekend)),
        Outlet("S1", (day,) * 5 + (None, None), single_shift=True),
        Outlet("S2", (day,) * 5 + ((9 * H, 13 * H), None), single_shift=True),
        Outlet("S3", ((int(9.5 * H), 16 * H),) * 5 + (None, None), single_shift=True),
        Outlet("S4", (day,) * 5 + (None, None), single_shift=True),
    )
    size = {"HUB": 7.0, "S1": 3.8, "S2": 3.2, "S3": 2.4, "S4": 3.0}
    weekday = [1.15, 1.0, 0.95, 0.95, 1.1, 0.8, 0.6]
    needs = []
    for o in outlets:
        for d, h in enumerate(o.hours):
            if h is None:
                continue
            for s in range(*h):
                hour = s / H
                shape = 0.45 + 0.55 * max(0.0, 1 - abs(hour - 10.5) / 2) + 0.4 * max(0.0, 1 - abs(hour - 15) / 1.5)
                n = round(demand * size[o.code] * weekday[d] * shape * rng.uniform(0.85, 1.15))
                if n > 0:
                    needs.append(Need(o.code, d, s, COUNTER, n))
    homes = ["HUB"] * 12 + ["S1"] * 7 + ["S2"] * 7 + ["S3"] * 6 + ["S4"] * 8
    people = []
    for i in range(staff_count):
        home = homes[i % len(homes)]
        r = rng.random()
        skills = {"counter"} if r < 0.55 else {"lobby"} if r < 0.75 else {"lobby", "counter"}
        part = rng.random() < 0.15
        people.append(Staff(
            f"P{i:02d}", home, frozenset(skills), floats=rng.random() < 0.25,
            min_week_slots=24 * H if part else 32 * H, max_week_slots=30 * H if part else 40 * H,
            min_shift_slots=4 * H, max_shift_slots=8 * H if part else 9 * H,
            max_days=5,
        ))
    return Problem(outlets, tuple(people), tuple(needs))


def summary(plan: roster.Plan) -> dict:
    s = plan.score
    if s is None:
        return {"status": plan.status, "seconds": round(plan.wall_seconds, 3), "rules": plan.rules}
    return {
        "status": plan.status,
        "objective": plan.objective,
        "best_bound": plan.best_bound,
        "gap": None if plan.gap is None else round(plan.gap, 5),
        "seconds": round(plan.wall_seconds, 3),
        "deterministic_seconds": plan.deterministic_seconds,
        "shifts": len(plan.shifts),
        "needed_half_hours": s.needed,
        "covered_half_hours": s.covered,
        "covered_share": round(s.covered / s.needed, 4) if s.needed else 1.0,
        "uncovered_by_role": s.uncovered_by_role,
        "moves": s.moves,
        "changes": s.changes,
        "hours_spread_half_hours": s.hours_spread,
        "unpopular_spread": s.unpopular_spread,
        "shortfall_runs": len(plan.shortfalls),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--staff", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--gap", type=float, default=0.01)
    ap.add_argument("--replan-limit", type=float, default=2.0)
    ap.add_argument("--sick-day", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--demand", type=float, default=1.0, help="scales the counters needed")
    args = ap.parse_args()

    problem = cluster(args.seed, args.staff, args.demand)
    from ortools.sat.python import cp_model  # noqa: F401 — imported before timing (pandas: ~2 s)

    plan = roster.solve(problem, time_limit=args.time_limit, num_workers=args.workers, seed=0,
                        relative_gap=args.gap)
    base = roster.greedy(problem)

    # Sick day: the working person with the most shifts after the sick day falls ill that day.
    d = args.sick_day
    working = sorted({sh.staff for sh in plan.shifts if sh.day == d})
    sick = max(working, key=lambda c: (sum(1 for sh in plan.shifts if sh.staff == c and sh.day >= d), c))
    staff = tuple(replace(p, leave_days=p.leave_days | {d}) if p.code == sick else p for p in problem.staff)
    replanned = replace(problem, staff=staff, pinned=tuple(sh for sh in plan.shifts if sh.day < d), first_day=d,
                        previous=tuple(plan.shifts))
    again = roster.solve(replanned, time_limit=args.replan_limit, num_workers=args.workers, seed=0,
                         relative_gap=args.gap)
    changed = again.score.changes if again.score else None

    result = {
        "benchmark": "roster",
        "instance": {"outlets": len(problem.outlets), "staff": len(problem.staff), "days": 7,
                     "slot_minutes": 30, "need_cells": len(problem.needs), "seed": args.seed,
                     "demand": args.demand},
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "cpus": os.cpu_count(),
        "cp_sat": summary(plan),
        "greedy": summary(base),
        "replan": {
            "sick": sick, "day": d, **summary(again),
            "changed_shifts": changed,
            "changed_share": round(changed / len(plan.shifts), 4) if changed is not None else None,
        },
        "targets": {
            "plan_gap_le_1pct_in_10s": bool(plan.gap is not None and plan.gap <= 0.01 + 1e-9
                                            and plan.wall_seconds <= 10.0),
            "replan_le_2s": again.wall_seconds <= 2.0,
            "replan_changes_le_5pct": bool(changed is not None and changed <= 0.05 * len(plan.shifts)),
        },
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
