"""Benchmark: a quarterly grading run for N outlets (16,000 by default) from stored indicator inputs,
database writes included.

Builds a throw-away database (SQLite file, or a fresh PostgreSQL database on 127.0.0.1 created and
dropped again) with one branch of N outlets (100 per sub-branch) and a draft run under the default
scheme whose inputs are already stored, as the run's gathering leaves them (the ticket KPIs computed
beforehand: 13 inputs per outlet — the eight indicators, the veto inputs and the context figures —
with a few missing on purpose). Then times:

  run            services._compute(run) + save: read every stored input, grade every outlet (the pure
                 engine), bulk-write every outlet's grade and breakdown — what create/refresh/adjust do
                 after gathering. Repeated --repeat times (each replaces the grades).
  replay         services.replay_matches(run): the published-run check, graded again from the inputs
  naive          the baseline in the same run: per outlet, one query for its inputs and one INSERT for
                 its grade (the obvious ORM loop), on a sample of --baseline-outlets, extrapolated to N;
                 its grades must equal the run's for the sample.

Prints one JSON document.

    .venv/bin/python bench/grading.py [--outlets 16000] [--repeat 3] [--baseline-outlets 1000] \\
        [--database sqlite|postgres] [--budget-seconds 60]
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "branchops.settings_test")
os.environ.setdefault("BRANCHOPS_DATA_DIR", tempfile.mkdtemp(prefix="branchops-bench-"))

PER_SUB_BRANCH = 100


def log(message):
    print(message, file=sys.stderr, flush=True)


def build(n_outlets: int, seed: int = 7):
    """The branch, its outlets and a draft run with every input stored (bulk, a benchmark fixture)."""
    from decimal import Decimal

    from branchops.org.models import Institution, Level
    from branchops.service import services
    from branchops.service.models import GradingRun, RunInput

    rng = random.Random(seed)
    ho = Institution.objects.create(id=1, code="HO", name="总行", level=Level.HEAD_OFFICE, path="/1/", depth=0)
    branch = Institution.objects.create(id=2, code="B", name="分行", level=Level.TIER1_BRANCH, parent=ho,
                                        path="/1/2/", depth=1)
    subs, outlets = [], []
    n_subs = (n_outlets + PER_SUB_BRANCH - 1) // PER_SUB_BRANCH
    for s in range(n_subs):
        pk = 10 + s
        subs.append(Institution(id=pk, code=f"S{s:03d}", name=f"支行{s}", level=Level.SUB_BRANCH, parent_id=2,
                                path=f"/1/2/{pk}/", depth=2))
    for i in range(n_outlets):
        sub = subs[i // PER_SUB_BRANCH]
        pk = 100_000 + i
        outlets.append(Institution(id=pk, code=f"O{i:05d}", name=f"网点{i}", level=Level.OUTLET, parent_id=sub.id,
                                   path=f"{sub.path}{pk}/", depth=3))
    Institution.objects.bulk_create(subs, batch_size=2000)
    Institution.objects.bulk_create(outlets, batch_size=2000)
    scheme = services.scheme_for(services.quarter_bounds(2026, 3)[0])
    run = GradingRun.objects.create(branch=branch, year=2026, quarter=3, scheme=scheme)
    codes = [(i.code, i.source, i.unit) for i in scheme.indicators.all()] + \
        [(v.code, v.source, "count") for v in scheme.vetoes.all()] + \
        [(c, s, "count") for c, s in services.CONTEXT.items()]

    def value(unit):
        if rng.random() < 0.02:
            return None  # missing: the scheme's rule decides
        if unit == "ratio":
            return Decimal(str(round(rng.uniform(0.5, 1.0), 4)))
        if unit == "score":
            return Decimal(str(round(rng.uniform(60, 100), 2)))
        if unit == "per_10k":
            return Decimal(str(round(rng.uniform(0, 3), 4)))
        return Decimal(rng.choice([0] * 60 + [1])) if rng.random() < 0.5 else Decimal(rng.randint(0, 30000))

    rows = [RunInput(run=run, outlet_id=o.id, code=code, value=value(unit), gathered_value=None, source=source)
            for o in outlets for code, source, unit in codes]
    RunInput.objects.bulk_create(rows, batch_size=5000)
    return run, outlets, len(rows)


def naive(run, outlets):
    """The baseline: one query per outlet for its inputs, one INSERT per grade (ranks from the engine)."""
    from decimal import Decimal

    from branchops.service import scoring, services
    from branchops.service.models import OutletGrade, RunInput

    scheme = services.engine_scheme(run.scheme)
    inputs = {}
    for o in outlets:
        inputs[o.code] = {code: None if v is None else float(v)
                          for code, v in RunInput.objects.filter(run=run, outlet_id=o.id).values_list("code", "value")}
    by_code = {o.code: o for o in outlets}
    out = {}
    for r in scoring.grade_outlets(scheme, inputs):
        g = OutletGrade.objects.create(run=run, outlet=by_code[r.outlet], rank=r.rank, grade=r.grade,
                                       total=None if r.total is None else Decimal(str(r.total)), vetoes=r.vetoes,
                                       missing=r.missing, unreliable=r.unreliable, breakdown=services._breakdown(r))
        out[r.outlet] = (g.grade, r.total)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--outlets", type=int, default=16_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-outlets", type=int, default=1000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--budget-seconds", type=float, default=60.0)
    parser.add_argument("--profile", action="store_true", help="cProfile the first run (to stderr)")
    args = parser.parse_args()
    if args.database == "postgres":
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/branchops_grading_bench_{os.getpid()}"

    import django

    django.setup()
    from django.db import connection, transaction
    from django.test.utils import setup_test_environment

    from branchops.service import services
    from branchops.service.models import GradingRun, OutletGrade

    setup_test_environment()
    old = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        t0 = time.perf_counter()
        run, outlets, n_inputs = build(args.outlets)
        built = time.perf_counter() - t0
        log(f"built {len(outlets)} outlets, {n_inputs} stored inputs in {built:.1f} s")
        runs, cpus = [], []  # wall clock, and this process's CPU (the machine is shared)
        for i in range(args.repeat):
            profiler = None
            if args.profile and i == 0:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            t, cpu = time.perf_counter(), time.process_time()
            with transaction.atomic():
                run = GradingRun.objects.get(pk=run.pk)
                services._compute(run)
                run.save(update_fields=["computed_at"])
            runs.append(time.perf_counter() - t)
            cpus.append(time.process_time() - cpu)
            if profiler is not None:
                import pstats

                profiler.disable()
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
            log(f"run: {runs[-1]:.2f} s (CPU {cpus[-1]:.2f} s)")
        grades = {code: (grade, None if total is None else float(total)) for code, grade, total in
                  OutletGrade.objects.filter(run=run).values_list("outlet__code", "grade", "total")}
        t = time.perf_counter()
        matches = services.replay_matches(run)
        replay = time.perf_counter() - t
        # The baseline on a sample, in its own run of the same inputs (a copy), then extrapolated.
        sample = outlets[: args.baseline_outlets]
        base_run = GradingRun.objects.create(branch=run.branch, year=2026, quarter=2, scheme=run.scheme)
        from branchops.service.models import RunInput

        RunInput.objects.bulk_create([RunInput(run=base_run, outlet_id=i.outlet_id, code=i.code, value=i.value,
                                               source=i.source)
                                      for i in RunInput.objects.filter(run=run, outlet_id__in=[o.id for o in sample])],
                                     batch_size=5000)
        t, cpu = time.perf_counter(), time.process_time()
        with transaction.atomic():
            naive_grades = naive(base_run, sample)
        naive_s, naive_cpu = time.perf_counter() - t, time.process_time() - cpu
        # Alone in the sample the ranks and quotas differ; the engine's scores and threshold grades do not.
        same = all(abs((grades[c][1] or 0) - (total or 0)) < 0.01 for c, (_g, total) in naive_grades.items())
        best = min(runs)
        out = {
            "database": connection.vendor, "outlets": len(outlets), "stored_inputs": n_inputs,
            "build_seconds": round(built, 2),
            "run_seconds": [round(r, 2) for r in runs], "run_best_seconds": round(best, 2),
            "run_cpu_seconds": [round(c, 2) for c in cpus],
            "outlets_per_second": round(len(outlets) / best),
            "within_budget": best <= args.budget_seconds, "budget_seconds": args.budget_seconds,
            "replay_seconds": round(replay, 2), "replay_matches": matches,
            "baseline": {"name": "naive per-outlet ORM (a query per outlet, an INSERT per grade)",
                         "outlets": len(sample), "seconds": round(naive_s, 2), "cpu_seconds": round(naive_cpu, 2),
                         "extrapolated_seconds": round(naive_s * len(outlets) / max(1, len(sample)), 1),
                         "same_scores": same},
            "speed_up": round(naive_s * len(outlets) / max(1, len(sample)) / best, 1),
            "load_average": os.getloadavg()[0],
        }
        print(json.dumps(out, indent=2))
    finally:
        connection.creation.destroy_test_db(old, verbosity=0)


if __name__ == "__main__":
    main()
