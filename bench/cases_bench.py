"""Benchmark: the SLA worker over N open cases, and the case list over N cases.

Builds a throw-away database (SQLite file in a temporary directory by default, or the database of
DATABASE_URL: a test database is created next to it and dropped afterwards) with a branch, its
sub-branches and outlets, and N open cases inserted with bulk_create (a benchmark fixture, not the
services). Due dates are spread around today the way a live backlog is: most due in the next five
weeks, some overdue by up to eight weeks. Unless --cold, the reminders and escalations the worker
would have recorded yesterday are in place too, so the timed run is a normal daily run.

Measures
  apply_sla   services.apply_sla(today) over every open case: wall time, cases/s, what it wrote;
              then a second run, which must write nothing (idempotence).
  evaluation  the pure per-case evaluation loop the worker runs (sla.evaluate + due_escalations) on
              the same rows, with sla.FastCalendar and with the plain WorkingCalendar as the naive
              baseline (on a sample when N is large; the full time is extrapolated).
  case_list   at each of --sizes (two by default: the growth): queries.case_listing(user, queue=...) first
              page (25 rows, evaluated) and its count (exact up to 1,000) for an outlet, a sub-branch
              and a branch user, queues open / overdue / mine: p50 and p95 — beside the baseline in
              the same minutes (one query over the OR of every visibility path and its exact count).
Prints one JSON document.

    .venv/bin/python bench/cases_bench.py [--sizes 100000,1000000] [--skip-sla] [--no-baseline] [--repeat 20] [--sub-branches 20]
        [--outlets 25] [--baseline-sample 100000] [--cold] [--explain]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "branchops.settings_test")
OWN_DATA_DIR = "BRANCHOPS_DATA_DIR" not in os.environ
os.environ.setdefault("BRANCHOPS_DATA_DIR", tempfile.mkdtemp(prefix="branchops-bench-"))

TYPE_SHARES = [("complaint", 40), ("support", 30), ("feedback", 15), ("rectification", 15)]
PRIORITIES = [("normal", 85), ("high", 10), ("urgent", 5)]
QUEUES = ["open", "overdue", "mine"]


def pct(samples, q):
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",")], default=[100_000, 1_000_000],
                        help="case counts the list is measured at (the table grows from one to the next); "
                             "the SLA worker runs at the largest")
    parser.add_argument("--skip-sla", action="store_true", help="measure only the case list")
    parser.add_argument("--no-baseline", action="store_true", help="leave out the one-query baseline")
    parser.add_argument("--repeat", type=int, default=20, help="runs per case-list measurement")
    parser.add_argument("--sub-branches", type=int, default=20)
    parser.add_argument("--outlets", type=int, default=25, help="outlets per sub-branch")
    parser.add_argument("--baseline-sample", type=int, default=100_000,
                        help="rows the naive (plain calendar) evaluation loop is timed on")
    parser.add_argument("--batch", type=int, default=20_000, help="cases generated and inserted per batch")
    parser.add_argument("--cold", action="store_true",
                        help="no reminders/escalations from 'yesterday': the timed run is the very first one")
    parser.add_argument("--explain", action="store_true", help="add the query plans of the branch user's pages")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    if connection.vendor == "sqlite":
        # A file, not the in-memory test database: what a SQLite installation really reads.
        connection.settings_dict.setdefault("TEST", {})
        connection.settings_dict["TEST"]["NAME"] = str(Path(os.environ["BRANCHOPS_DATA_DIR"]) / "bench.sqlite3")

    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        call_command("migrate", verbosity=0)
        result = run(args)
        print(json.dumps(result, ensure_ascii=False, indent=2))
    finally:
        connection.close()
        connection.creation.destroy_test_db(old, verbosity=0)
        if OWN_DATA_DIR:
            shutil.rmtree(os.environ["BRANCHOPS_DATA_DIR"], ignore_errors=True)


def run(args):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from branchops.cases import queries, services, sla
    from branchops.cases.models import (
        NUMBER_PREFIX,
        OPEN_STATUSES,
        Case,
        Category,
        DayKind,
        Escalation,
        Reminder,
        SlaPolicy,
    )
    from branchops.core.models import Notification, TimelineEntry
    from branchops.core.workdays import calendar as working_calendar
    from branchops.org.models import Department, Institution, Level, Staff
    from branchops.org.roles import Role

    rng = random.Random(args.seed)
    User = get_user_model()
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    tz = timezone.get_current_timezone()
    fast = sla.FastCalendar(working_calendar, date(today.year - 1, 1, 1), date(today.year + 2, 12, 31))
    result = {"benchmark": "cases", "database": connection.vendor, "sizes": args.sizes, "today": today.isoformat()}

    # --- the organisation -------------------------------------------------------------------
    t0 = time.perf_counter()
    ho = Institution.objects.create(code="HO", name="总行", level=Level.HEAD_OFFICE, path="/1/")
    Institution.objects.filter(pk=ho.pk).update(path=f"/{ho.pk}/")
    ho.refresh_from_db()

    def child(parent, code, level):
        inst = Institution.objects.create(code=code, name=code, level=level, parent=parent)
        inst.path, inst.depth = f"{parent.path}{inst.pk}/", parent.depth + 1
        Institution.objects.filter(pk=inst.pk).update(path=inst.path, depth=inst.depth)
        return inst

    branch = child(ho, "B", Level.TIER1_BRANCH)
    depts = {code: Department.objects.create(institution=branch, code=code, name=code, is_secretariat=code == "OPS",
                                             is_business=True)
             for code in ("OPS", "FINTECH", "OFFICE", "CPP")}
    groups = {g.name: g for g in Group.objects.all()}
    people = []  # (username, institution, department, role)
    sub_branches, outlets = [], []
    for s in range(args.sub_branches):
        sb = child(branch, f"S{s}", Level.SUB_BRANCH)
        sub_branches.append(sb)
        people.append((f"sup{s}", sb, None, Role.SERVICE_SUPERVISOR))
        for o in range(args.outlets):
            outlet = child(sb, f"S{s}O{o}", Level.OUTLET)
            outlets.append(outlet)
            people.append((f"head{s}-{o}", outlet, None, Role.OUTLET_HEAD))
            for k in range(3):
                people.append((f"staff{s}-{o}-{k}", outlet, None, Role.OUTLET_STAFF))
    for k in range(5):
        people.append((f"sec{k}", branch, depts["OPS"], Role.SECRETARIAT))
    for code in ("FINTECH", "OFFICE", "CPP"):
        for k in range(3):
            people.append((f"{code.lower()}{k}", branch, depts[code], Role.REVIEWER))
    for k in range(4):
        people.append((f"leader{k}", branch, None, Role.BRANCH_LEADER))
    User.objects.bulk_create([User(username=u) for u, *_ in people], batch_size=1000)
    ids = dict(User.objects.values_list("username", "id"))
    Staff.objects.bulk_create([Staff(user_id=ids[u], staff_no=f"N{i}", name=u, institution=inst, department=dept)
                               for i, (u, inst, dept, _r) in enumerate(people)], batch_size=1000)
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=ids[u], group_id=groups[str(role)].pk) for u, _i, _d, role in people],
        batch_size=1000)
    staff_of = {}
    head_of = {}
    for u, inst, _d, role in people:
        if role == Role.OUTLET_STAFF:
            staff_of.setdefault(inst.pk, []).append(ids[u])
        elif role == Role.OUTLET_HEAD:
            head_of[inst.pk] = ids[u]
    viewers = {"outlet": ids["staff0-0-0"], "sub_branch": ids["sup0"], "branch": ids["sec0"]}
    outlet0, sb0 = outlets[0], sub_branches[0]

    # --- the cases --------------------------------------------------------------------------
    categories = {}
    for c in Category.objects.filter(is_active=True).select_related("parent"):
        if c.case_type == "support" and c.parent_id is None and c.code != "OTHER":
            continue  # support requests are filed under the leaf categories
        categories.setdefault(c.case_type, []).append(c)
    policies = {}

    def policy(case_type, category, priority):
        key = (case_type, category.pk, priority)
        if key not in policies:
            policies[key] = services.find_policy(case_type, category, priority, today)
        return policies[key]

    steps_of = {p.pk: [sla.EscalationStep(int(s["level"]), int(s.get("after_overdue_days", 1)), s["target"])
                       for s in p.escalation] for p in SlaPolicy.objects.all()}
    support_dept = {"REPAIR": "FINTECH", "ENV": "OFFICE", "SUPPLY": "OPS", "OTHER": "OPS"}
    types, type_w = zip(*TYPE_SHARES, strict=True)
    prios, prio_w = zip(*PRIORITIES, strict=True)
    created = 0
    seeded_reminders = seeded_escalations = 0
    mine = {"outlet": 0, "sub_branch": 0, "branch": 0}
    def grow(target):
        nonlocal created, seeded_reminders, seeded_escalations
        while created < target:
            n = min(args.batch, target - created)
            batch, pre = [], []
            for i in range(created, created + n):
                case_type = rng.choices(types, type_w)[0]
                category = rng.choice(categories[case_type])
                priority = rng.choices(prios, prio_w)[0]
                pol = policy(case_type, category, priority)
                # Due dates: 82 % due in the next five weeks, 18 % overdue by up to eight weeks.
                k = rng.randint(0, 25) if rng.random() < 0.82 else -rng.randint(1, 40)
                due = fast.add_working_days(today, k) if k else (today if fast.is_working_day(today)
                                                                  else fast.add_working_days(today, 1))
                start = fast.add_working_days(due, -pol.resolution_days)
                received = timezone.make_aware(datetime.combine(start, dtime(9, 0)), tz) + timedelta(
                    minutes=rng.randint(0, 480))
                response_due = fast.add_working_days(start, pol.response_days)
                status = rng.choice(["new", "accepted", "in_progress"]) if response_due >= today else \
                    rng.choice(["accepted", "in_progress", "in_progress"])
                outlet = outlet0 if rng.random() < 0.004 else rng.choice(outlets)
                owner = rng.choice(staff_of[outlet.pk])
                assignee, department = None, None
                if case_type == "complaint":
                    assignee = owner
                elif case_type == "rectification":
                    owner = assignee = head_of[outlet.pk]
                else:
                    root = category.parent.code if category.parent_id else category.code
                    department = depts[support_dept.get(root, "OPS")] if case_type == "support" else depts["OPS"]
                if outlet.pk == outlet0.pk and case_type == "complaint" and rng.random() < 0.5:
                    owner = assignee = viewers["outlet"]
                    mine["outlet"] += 1
                elif case_type == "rectification" and outlet.parent_id == sb0.pk and rng.random() < 0.05:
                    assignee = viewers["sub_branch"]
                    mine["sub_branch"] += 1
                elif case_type == "feedback" and rng.random() < 0.01:
                    assignee = viewers["branch"]
                    mine["branch"] += 1
                level = 0
                decision_due = start + timedelta(days=15) if case_type == "complaint" else None
                if not args.cold:  # what yesterday's run recorded
                    kind = sla.DayKind.WORKING if pol.day_kind == DayKind.WORKING else sla.DayKind.CALENDAR
                    watched = min(due, decision_due) if decision_due else due  # as services._watched_due
                    state = sla.evaluate(yesterday, watched, None, pol.remind_before_days, fast, kind)
                    reached = []
                    if state.overdue_days > 0:
                        reached = sla.due_escalations(state.overdue_days, steps_of[pol.pk], set())
                        level = max((s.level for s in reached), default=0)
                    pre.append((watched if state.state == "due_soon" else None, reached))
                batch.append(Case(
                    number=f"{NUMBER_PREFIX[case_type]}-B-{i + 1:08d}", case_type=case_type, category=category,
                    title=f"{category.name} {i + 1}", channel="on_site" if case_type == "complaint" else "outlet",
                    institution=outlet, requester_id=owner, first_contact_owner_id=owner, assignee_id=assignee,
                    assignee_department=department, priority=priority, status=status, received_at=received,
                    sla_policy=pol, clock_start=start, response_due=response_due, resolution_due=due,
                    decision_due=decision_due,
                    responded_at=None if status == "new" else received + timedelta(hours=2), escalation_level=level,
                ))
            with transaction.atomic():
                Case.objects.bulk_create(batch, batch_size=2000)
                if not args.cold:
                    reminders, escalations = [], []
                    for case, (remind_due, reached) in zip(batch, pre, strict=True):
                        if remind_due is not None:
                            reminders.append(Reminder(case_id=case.pk, kind="resolution", due=remind_due))
                        escalations += [Escalation(case_id=case.pk, level=s.level, target=s.target) for s in reached]
                    Reminder.objects.bulk_create(reminders, batch_size=2000)
                    Escalation.objects.bulk_create(escalations, batch_size=2000)
                    seeded_reminders += len(reminders)
                    seeded_escalations += len(escalations)
            created += n
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics, as a live database has
    def fresh(pk):  # as a request would load it: roles and permissions are not cached yet
        return User.objects.select_related("staff__institution").get(pk=pk)

    def timed(fn, runs):
        samples, out = [], None
        for _ in range(runs):
            user = fresh(viewer)
            t = time.perf_counter()
            out = fn(user)
            samples.append((time.perf_counter() - t) * 1000)
        return out, {"p50_ms": round(statistics.median(samples), 2), "p95_ms": round(pct(samples, 0.95), 2)}

    def measure_lists():
        """The first page (25 rows) and the count of each queue for each viewer, as the list page
        reads them (queries.case_listing), beside the baseline in the same minutes: one query
        over the OR of every visibility path (visible_cases), ordered, and its exact count."""
        nonlocal viewer
        lists = {}
        for label, pk in viewers.items():
            viewer = pk
            lists[label] = {}
            for queue in QUEUES:
                rows, page = timed(lambda u, queue=queue: len(queries.case_listing(u, queue=queue)[0:25]), args.repeat)
                count, count_t = timed(lambda u, queue=queue: queries.case_listing(u, queue=queue).count(),
                                       max(3, args.repeat // 4))
                entry = {"page_rows": rows, "count": count, "page": page, "count_capped": count_t}
                if not args.no_baseline:
                    base_runs = max(3, args.repeat // 4)
                    _r, entry["baseline_page"] = timed(
                        lambda u, queue=queue: len(list(queries.case_list(u, queue=queue)[:25])), base_runs)
                    entry["baseline_count"], entry["baseline_count_t"] = timed(
                        lambda u, queue=queue: queries.case_list(u, queue=queue).count(), base_runs)
                if args.explain:
                    entry["plan"] = queries.case_list(fresh(pk), queue=queue)[:25].explain()
                lists[label][queue] = entry
        return lists

    viewer = None
    result["case_list"] = {}
    for size in sorted(args.sizes):
        t_grow = time.perf_counter()
        grow(size)
        result["case_list"][str(size)] = {"build_seconds": round(time.perf_counter() - t_grow, 1),
                                          **measure_lists()}
    open_qs = Case.objects.filter(status__in=OPEN_STATUSES)
    result.update({
        "outlets": len(outlets),
        "people": len(people),
        "open_cases": open_qs.count(),
        "overdue_cases": open_qs.filter(resolution_due__lt=today).count(),
        "warm_state": not args.cold,
        "seeded_reminders": seeded_reminders,
        "seeded_escalations": seeded_escalations,
        "build_seconds": round(time.perf_counter() - t0, 1),
    })

    # --- (a) the SLA worker -----------------------------------------------------------------
    if args.skip_sla:
        result["repeat"], result["mine_assigned"] = args.repeat, mine
        return result
    def footprint():
        return {"escalations": Escalation.objects.count(), "reminders": Reminder.objects.count(),
                "notifications": Notification.objects.count(), "timeline": TimelineEntry.objects.count()}

    open_cases = result["open_cases"]
    runs = {}
    for name in ("first_run", "second_run"):
        before = footprint()
        t = time.perf_counter()
        stats = services.apply_sla(today)
        seconds = time.perf_counter() - t
        after = footprint()
        runs[name] = {"seconds": round(seconds, 2), "open_cases_per_second": round(open_cases / seconds),
                      "scanned_per_second": round(stats["scanned"] / seconds), **stats,
                      "writes": {k: after[k] - before[k] for k in after}}
    assert not any(runs["second_run"]["writes"].values()), runs["second_run"]
    result["apply_sla"] = runs

    # The pure evaluation loop of the worker on the same rows: FastCalendar against the plain
    # WorkingCalendar (the naive baseline), no database in the timed part.
    rows = list(Case.objects.filter(status__in=OPEN_STATUSES, resolution_due__isnull=False,
                                    paused_since__isnull=True).order_by("pk")
                .values_list("resolution_due", "decision_due", "sla_policy_id"))
    rows = [(min(due, decision) if decision else due, pid) for due, decision, pid in rows]
    pols = {p.pk: (p.remind_before_days, sla.DayKind.WORKING if p.day_kind == DayKind.WORKING
                   else sla.DayKind.CALENDAR) for p in SlaPolicy.objects.all()}

    def loop(calendar, sample):
        overdue = soon = steps = 0
        t = time.perf_counter()
        for due, pid in sample:
            remind, kind = pols[pid]
            state = sla.evaluate(today, due, None, remind, calendar, kind)
            if state.state == "due_soon":
                soon += 1
            if state.overdue_days > 0:
                overdue += 1
                steps += len(sla.due_escalations(state.overdue_days, steps_of[pid], set()))
        return time.perf_counter() - t, (overdue, soon, steps)

    sample = rows[: args.baseline_sample]
    t_fast_sample, check_fast = loop(fast, sample)
    t_plain, check_plain = loop(working_calendar, sample)
    assert check_fast == check_plain, (check_fast, check_plain)  # same answers
    t_fast_all, (overdue, soon, steps) = loop(fast, rows)
    result["evaluation_loop"] = {
        "rows": len(rows),
        "fast_calendar": {"seconds": round(t_fast_all, 3), "us_per_case": round(t_fast_all / len(rows) * 1e6, 2)},
        "plain_calendar": {"sample_rows": len(sample), "seconds": round(t_plain, 3),
                           "us_per_case": round(t_plain / len(sample) * 1e6, 2),
                           "extrapolated_seconds_all_rows": round(t_plain / len(sample) * len(rows), 1)},
        "speedup": round(t_plain / t_fast_sample, 1),
        "due_soon": soon, "overdue": overdue, "escalation_steps_reached": steps,
    }

    result["repeat"] = args.repeat
    result["mine_assigned"] = mine
    return result


if __name__ == "__main__":
    main()
