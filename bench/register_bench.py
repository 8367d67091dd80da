"""Benchmark: the coordination register (清单) page and API over N items and M work orders.

Builds a throw-away database (a SQLite file in a temporary directory, or a fresh PostgreSQL database
on 127.0.0.1 that is created and dropped again) with a branch of realistic size (10 sub-branches,
100 outlets, the demo's 16 departments) and N items inserted with bulk_create (a benchmark fixture,
not the services): the demo's item specs (``demo.coordination.HISTORY``) spread over weekly meetings
of several years, with the seed's decision shares (31 % approved, 59 % conditional, 10 % rejected),
five review opinions each, conditions (signed off, or open / reported met / overdue for recent and
stalled items), approval numbers in issue order, resolved outlets, and for the released items one
work order per outlet — M in all — done on time, done late, in progress or overdue.

The build runs in two steps so that the baseline is measured in the same run: first a random sample
(--baseline-items / --baseline-work-orders, 10 % by default) of the same plan, measured; then the
rest, measured again. The baseline is the small data set because the question at scale is whether a
request's cost grows with the size of the register; N+1 is ruled out by the query counts at page sizes
20 and 100 (N+1 would add at least 80; the API may add up to 2 for another department's rows), and a
naive per-row rendering of the same page is timed for reference.

Measures, as the secretariat user and as a business-department (PFB) submitter, over --repeat runs
after one warm-up run (whose queries are counted):
  register_page   GET /coordination/ — first page, page_size 20 / 100, by status, decision,
                  department, period (last calendar year), title search, number search
  register_api    GET /api/v1/coordination/items — the same; GET .../register/statistics (all, period)
  statistics      queries.statistics(user): the statistics block every page request computes
  export_xlsx     GET /coordination/?format=xlsx, the full register (secretariat; others get 403)
  naive_per_row   in-process: the page's rows read with one query per row and figure, for reference
Prints one JSON document.

    .venv/bin/python bench/register_bench.py --items 10000 --work-orders 100000 --repeat 20 \\
        --database sqlite|postgres [--baseline-items 1000] [--baseline-work-orders 10000] [--years 5] \\
        [--export-repeat 3] [--budget-seconds 30] [--explain]

PostgreSQL: postgres://postgres@127.0.0.1:5432/branchops_register_bench_<pid> (trust auth), created for
the run and dropped afterwards. A measurement stops repeating once it has used --budget-seconds (after
3 runs), so a slow register still finishes; each result says how many "runs" it got. Latencies are
wall-clock through the test Client (middleware, session, templates included); the machine's load
average is recorded next to them.
"""

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "branchops.settings_test")
OWN_DATA_DIR = "BRANCHOPS_DATA_DIR" not in os.environ
os.environ.setdefault("BRANCHOPS_DATA_DIR", tempfile.mkdtemp(prefix="branchops-bench-"))

SUB_BRANCHES = 10
OUTLETS_PER_SUB_BRANCH = 10
# The seed's first-year decision shares (demo.coordination: 16 / 30 / 5 of 51).
DECISION_SHARES = [("approved", 31), ("conditional", 59), ("rejected", 10)]
# What happens to an item that is not simply decided at a past meeting.
FATES = [("decided", 940), ("submitted", 25), ("withdrawn", 20), ("draft", 15)]
SLOW_MS = 500
SEARCH_TITLE = "手机银行"


def log(message):
    """Progress on stderr (the JSON goes to stdout): a full run takes tens of minutes."""
    print(f"[register_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pct(samples, q):
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


# Set from --budget-seconds: a slow measurement stops repeating once it has used this much time
# (after MIN_RUNS runs), so that a run over a slow register still ends; "runs" says how many ran.
BUDGET = {"seconds": 30.0}
MIN_RUNS = 3


def sample(fn, repeat):
    """Milliseconds of `repeat` calls of fn (fewer when over the time budget)."""
    samples, spent = [], 0.0
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
        spent += samples[-1] / 1000
        if len(samples) >= MIN_RUNS and spent > BUDGET["seconds"]:
            break
    return samples


def figures(samples):
    return {"runs": len(samples), "p50_ms": round(statistics.median(samples), 1),
            "p95_ms": round(pct(samples, 0.95), 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--work-orders", type=int, default=100_000)
    parser.add_argument("--baseline-items", type=int, default=None, help="default: 10 %% of --items")
    parser.add_argument("--baseline-work-orders", type=int, default=None, help="default: 10 %% of --work-orders")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per measurement")
    parser.add_argument("--export-repeat", type=int, default=3, help="timed runs of the xlsx export")
    parser.add_argument("--budget-seconds", type=float, default=30.0,
                        help="stop repeating a measurement after this much time (at least 3 runs)")
    parser.add_argument("--years", type=int, default=5, help="years of weekly meetings the items spread over")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--explain", action="store_true", help="add the query plans of the slowest queries")
    parser.add_argument("--seed", type=int, default=2021)
    args = parser.parse_args()
    BUDGET["seconds"] = args.budget_seconds
    if args.baseline_items is None:
        args.baseline_items = max(1, args.items // 10)
    if args.baseline_work_orders is None:
        args.baseline_work_orders = args.work_orders // 10
    assert 0 < args.baseline_items < args.items and 0 <= args.baseline_work_orders <= args.work_orders

    fresh_name = f"branchops_register_bench_{os.getpid()}"
    if args.database == "postgres":
        # Read by the settings at django.setup(); the database itself is created below.
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{fresh_name}"
    else:
        os.environ.pop("DATABASE_URL", None)

    import django

    django.setup()
    from django.db import connection

    connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        # A file, not the in-memory test database: what a SQLite installation really reads.
        connection.settings_dict["TEST"]["NAME"] = str(Path(os.environ["BRANCHOPS_DATA_DIR"]) / "bench.sqlite3")
    else:
        connection.settings_dict["TEST"]["NAME"] = fresh_name  # exactly this name, dropped afterwards

    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    # A killed run (SIGTERM) still drops its database: the finally below runs on SystemExit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    old, created = connection.settings_dict["NAME"], False
    try:
        old = connection.creation.create_test_db(verbosity=0, keepdb=False, autoclobber=True)
        created = True
        call_command("migrate", verbosity=0)
        result = run(args)
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    finally:
        connection.close()
        if created or connection.vendor == "postgresql":  # interrupted while creating: PG may hold it
            try:
                connection.creation.destroy_test_db(old, verbosity=0)
            except Exception as exc:  # cleanup must not hide the real error
                print(f"could not drop the bench database: {exc}", file=sys.stderr)
        if OWN_DATA_DIR:
            shutil.rmtree(os.environ["BRANCHOPS_DATA_DIR"], ignore_errors=True)


# --- the organisation --------------------------------------------------------------------------

def build_org(rng):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from branchops.demo.data import DEPARTMENTS, OUTLET_TYPES
    from branchops.demo.data import SUB_BRANCHES as DEMO_SUB_BRANCHES
    from branchops.org.models import Department, Institution, Level, OutletType, Staff
    from branchops.org.roles import Role

    User = get_user_model()
    types = {code: OutletType.objects.get_or_create(code=code, defaults={"name": name})[0]
             for code, name in OUTLET_TYPES}
    ho = Institution.objects.create(code="HO", name="总行", level=Level.HEAD_OFFICE, path="/1/")
    Institution.objects.filter(pk=ho.pk).update(path=f"/{ho.pk}/")
    ho.refresh_from_db()

    def child(parent, code, name, level, **extra):
        inst = Institution.objects.create(code=code, name=name, level=level, parent=parent, **extra)
        inst.path, inst.depth = f"{parent.path}{inst.pk}/", parent.depth + 1
        Institution.objects.filter(pk=inst.pk).update(path=inst.path, depth=inst.depth)
        return inst

    branch = child(ho, "4000", "深圳分行", Level.TIER1_BRANCH)
    depts = {}
    for order, (code, name, business, review, secretariat) in enumerate(DEPARTMENTS):
        depts[code] = Department.objects.create(institution=branch, code=code, name=name, is_business=business,
                                                is_review=review, is_secretariat=secretariat, sort_order=order)
    outlets = []
    extra_names = [("光明支行", []), ("坪山支行", [])]
    sub_specs = [(name, [o for o, _t in demo_outlets]) for _c, name, _d, _r, demo_outlets in DEMO_SUB_BRANCHES]
    for s, (sb_name, outlet_names) in enumerate((sub_specs + extra_names)[:SUB_BRANCHES]):
        sb = child(branch, f"40{s + 1:02d}", sb_name, Level.SUB_BRANCH)
        for o in range(OUTLETS_PER_SUB_BRANCH):
            name = outlet_names[o] if o < len(outlet_names) else f"{sb_name[:-2]}第{o + 1}网点"
            kind = "flagship" if o == 0 else rng.choice(["comprehensive", "comprehensive", "light", "community"])
            outlets.append(child(sb, f"40{s + 1:02d}{o + 1:02d}", name, Level.OUTLET, outlet_type=types[kind]))

    people = []  # (username, institution, department, role)
    for k in range(3):
        people.append((f"ops{k}", branch, depts["OPS"], Role.SECRETARIAT))
    for code, _n, business, review, secretariat in DEPARTMENTS:
        if business and not secretariat:
            people += [(f"{code.lower()}{k}", branch, depts[code], Role.SUBMITTER) for k in range(3)]
        if review:
            people += [(f"{code.lower()}{k}", branch, depts[code], Role.REVIEWER) for k in range(2)]
    for k in range(2):
        people.append((f"leader{k}", branch, None, Role.BRANCH_LEADER))
    for outlet in outlets:
        people.append((f"head{outlet.code}", outlet, None, Role.OUTLET_HEAD))
        people += [(f"staff{outlet.code}-{k}", outlet, None, Role.OUTLET_STAFF) for k in range(2)]
    User.objects.bulk_create([User(username=u) for u, *_ in people], batch_size=1000)
    ids = dict(User.objects.values_list("username", "id"))
    Staff.objects.bulk_create([Staff(user_id=ids[u], staff_no=f"N{i:05d}", name=u, institution=inst, department=d)
                               for i, (u, inst, d, _r) in enumerate(people)], batch_size=1000)
    groups = {g.name: g.pk for g in Group.objects.all()}
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=ids[u], group_id=groups[str(role)]) for u, _i, _d, role in people],
        batch_size=1000)
    submitters = defaultdict(list)
    reviewers = defaultdict(list)
    for u, _i, d, role in people:
        if role in (Role.SUBMITTER, Role.SECRETARIAT):
            submitters[d.code].append(ids[u])
        elif role == Role.REVIEWER:
            reviewers[d.code].append(ids[u])
    return {
        "branch": branch, "depts": depts, "outlets": outlets, "people": len(people),
        "submitters": submitters, "reviewers": reviewers,
        "heads": {o.pk: ids[f"head{o.code}"] for o in outlets},
        "secretary": ids["ops0"],
        "viewers": {"secretariat": ids["ops0"], "business": ids["pfb0"]},
        "review_depts": [depts[c] for c, _n, _b, review, _s in DEPARTMENTS if review],
    }


def build_meetings(world, today, years):
    """Weekly meetings (Wednesdays) from `years` back to the next one; numbered per year."""
    from django.utils import timezone

    from branchops.coordination.models import Meeting

    tz = timezone.get_current_timezone()
    day = today - timedelta(days=365 * years)
    day += timedelta(days=(2 - day.weekday()) % 7)
    last = today + timedelta(days=(2 - today.weekday()) % 7 or 7)
    rows, seq = [], Counter()
    while day <= last:
        seq[day.year] += 1
        cutoff = timezone.make_aware(datetime.combine(day - timedelta(days=2), dtime(17)), tz)
        status = "closed" if day < today - timedelta(days=7) else "held" if day < today else "planned"
        rows.append(Meeting(branch=world["branch"], year=day.year, sequence=seq[day.year], held_on=day,
                            cutoff_at=cutoff, status=status, location="分行12楼第一会议室",
                            chair_id=world["secretary"]))
        day += timedelta(days=7)
    Meeting.objects.bulk_create(rows, batch_size=1000)
    return list(Meeting.objects.order_by("held_on"))


# --- the plan (pure Python) --------------------------------------------------------------------

def plan_items(rng, world, meetings, today, args):
    """Every item of the full data set as a dict: fields, opinions, conditions, outlets, work orders.
    Numbers (item, approval) are given over the whole plan so the two insert steps never clash."""
    from django.utils import timezone

    from branchops.demo.coordination import BACKGROUND, CONCERNS, HISTORY, IMPACT, JUSTIFICATION, KINDS

    tz = timezone.get_current_timezone()
    past = [m for m in meetings if m.held_on < today]
    upcoming = [m for m in meetings if m.held_on >= today] or past[-1:]
    fates, fate_w = zip(*FATES, strict=True)
    decisions, decision_w = zip(*DECISION_SHARES, strict=True)
    dims = list(CONCERNS)

    def at(day, hour=9, minutes=0):
        return timezone.make_aware(datetime.combine(day, dtime(hour)), tz) + timedelta(minutes=minutes)

    items = []
    for _ in range(args.items):
        spec = rng.choice(HISTORY)
        fate = rng.choices(fates, fate_w)[0]
        meeting = rng.choice(past) if fate == "decided" else rng.choice(upcoming) if fate == "submitted" else None
        if meeting is not None:
            submitted = meeting.cutoff_at - timedelta(minutes=rng.randint(60, 14 * 24 * 60))
        elif fate == "withdrawn":
            submitted = at(today - timedelta(days=rng.randint(10, 365 * args.years)), 10, rng.randint(0, 420))
        else:
            submitted = None
        base_day = meeting.held_on if meeting else today
        start = base_day + timedelta(days=rng.randint(7, 28))
        it = {
            "spec": spec, "fate": fate, "meeting": meeting, "submitted_at": submitted,
            "department": spec.dept, "item_type": KINDS[spec.kind],
            "background": BACKGROUND[spec.kind].format(title=spec.title), "actions": spec.actions,
            "online_justification": spec.justification or JUSTIFICATION[spec.kind],
            "customer_impact": IMPACT[spec.kind] if spec.customer_facing else "",
            "window_start": start, "window_end": start + timedelta(days=spec.days),
            "decision": "", "status": {"draft": "draft", "submitted": "submitted", "withdrawn": "withdrawn"}.get(fate),
            "conditions": [], "work_orders": [], "issued_at": None, "revoked": False,
        }
        if fate == "decided":
            decision = rng.choices(decisions, decision_w)[0]
            it["decision"] = decision
            it["decided_at"] = at(meeting.held_on, 15, rng.randint(0, 120))
            age = (today - meeting.held_on).days
            if decision == "rejected":
                it["status"] = "rejected"
            elif decision == "conditional":
                concerns = spec.concerns or [rng.choice(dims)]
                stalled = rng.random() < 0.02
                recent = age < 21
                for dim in concerns[: rng.randint(1, 3)]:
                    _concern, text, proof = rng.choice(CONCERNS[dim])
                    due = meeting.held_on + timedelta(days=10)
                    if recent or stalled:
                        state = rng.choice(["open", "open", "met", "signed_off"])
                    else:
                        state = "signed_off"
                    it["conditions"].append({"text": text, "proof": proof, "due": due, "status": state,
                                             "met_at": at(due - timedelta(days=rng.randint(0, 8)), 16)
                                             if state != "open" else None})
                if all(c["status"] == "signed_off" for c in it["conditions"]):
                    it["issued_at"] = max(c["met_at"] for c in it["conditions"]) + timedelta(hours=20)
                    it["status"] = "approved"
                else:
                    it["status"] = "conditional"
            else:
                it["issued_at"] = it["decided_at"] + timedelta(hours=2)
                it["status"] = "approved"
            if it["status"] == "approved":
                # Released when its window opens, unless a few are left waiting (or revoked).
                if it["window_start"] <= today + timedelta(days=3) and rng.random() > 0.02:
                    it["status"] = "released"
                elif rng.random() < 0.1:
                    it["revoked"] = True
        items.append(it)
    items.sort(key=lambda i: (i["submitted_at"] is None, i["submitted_at"] or 0))
    seq, approval_seq = Counter(), Counter()
    for it in items:
        year = (it["submitted_at"] or at(today)).year
        seq[year] += 1
        it["number"] = f"SH-{year}-{seq[year]:04d}"
        it["title"] = f"{year}年{it['spec'].title}（{seq[year]:04d}）"
    for it in sorted((i for i in items if i["issued_at"]), key=lambda i: i["issued_at"]):
        year = it["issued_at"].year
        approval_seq[year] += 1
        it["approval_number"] = f"运统〔{year}〕第{approval_seq[year]:03d}号"
    return items


def split_plan(rng, items, n_small):
    order = list(range(len(items)))
    rng.shuffle(order)
    small = set(order[:n_small])
    return [it for i, it in enumerate(items) if i in small], [it for i, it in enumerate(items) if i not in small]


def plan_outlets(rng, items, work_orders, outlets, today):
    """Resolved outlets for every item and one work order per outlet for the released ones, exactly
    `work_orders` in all: a few items go to every outlet, the rest to a list of outlets."""
    from branchops.demo.coordination import DONE_NOTES

    n_out = len(outlets)
    released = [it for it in items if it["status"] == "released"]
    while len(released) > work_orders:  # fewer orders than released items: some wait for release
        released.pop()["status"] = "approved"
    if not released:
        for it in items:
            it["target_mode"], it["outlets"] = "list", rng.sample(outlets, rng.randint(1, min(8, n_out)))
        return
    mean = work_orders / len(released)
    small_mean = min(8.0, mean)
    p_all = 0.0 if mean <= small_mean else min(0.5, (mean - small_mean) / (n_out - small_mean))
    counts = {}
    for it in items:
        counts[id(it)] = n_out if rng.random() < p_all else rng.randint(1, max(1, round(2 * small_mean - 1)))
    diff = work_orders - sum(counts[id(it)] for it in released)
    adjustable = [it for it in released if counts[id(it)] < n_out] or released
    while diff:  # to the exact total, one outlet at a time on random list items
        it = rng.choice(adjustable)
        step = 1 if diff > 0 else -1
        if 1 <= counts[id(it)] + step <= n_out:
            counts[id(it)] += step
            diff -= step
    for it in items:
        k = counts[id(it)]
        it["target_mode"] = "all" if k == n_out else "list"
        it["outlets"] = list(outlets) if k == n_out else rng.sample(outlets, k)
    for it in released:
        start, due = it["window_start"], it["window_end"]
        ended_long_ago = (today - due).days > 90
        for outlet in it["outlets"]:
            wo = {"outlet": outlet, "start": start, "due": due, "status": "released", "done": None, "ack": None}
            if due < today:
                if rng.random() < (0.985 if ended_long_ago else 0.93):
                    late = rng.random() < 0.12
                    wo["done"] = due + timedelta(days=rng.randint(1, 14)) if late else \
                        start + timedelta(days=rng.randint(0, max(0, (due - start).days)))
                    wo["status"] = "done"
                else:
                    wo["status"] = rng.choice(["acknowledged", "acknowledged", "problem", "released"])
            elif start <= today:
                r = rng.random()
                if r < 0.35:
                    wo["status"], wo["done"] = "done", start + timedelta(days=rng.randint(0, (today - start).days))
                elif r < 0.75:
                    wo["status"] = "acknowledged"
            if wo["status"] != "released":
                wo["ack"] = (wo["done"] or start) if wo["status"] == "done" else start
            wo["note"] = rng.choice(DONE_NOTES) if wo["status"] == "done" else ""
            it["work_orders"].append(wo)
        if all(wo["status"] == "done" for wo in it["work_orders"]):
            it["status"] = "closed"  # as dispatch closes an item when its last work order is done


# --- inserting a plan --------------------------------------------------------------------------

def insert_items(rng, world, items):
    from django.db import transaction
    from django.utils import timezone

    from branchops.coordination.models import Condition, Item, Opinion
    from branchops.dispatch.models import Release, WorkOrder

    tz = timezone.get_current_timezone()
    depts = world["depts"]
    recommendation = {"approved": "approve", "conditional": "conditional", "rejected": "reject"}

    def at(day, hour):
        return timezone.make_aware(datetime.combine(day, dtime(hour)), tz)

    with transaction.atomic():
        rows = []
        for it in items:
            spec = it["spec"]
            rows.append(Item(
                number=it["number"], department=depts[it["department"]],
                submitter_id=rng.choice(world["submitters"][it["department"]]), title=it["title"],
                item_type=it["item_type"], background=it["background"], actions=it["actions"],
                target_mode=it["target_mode"], effort_hours=spec.effort, window_start=it["window_start"],
                window_end=it["window_end"], urgency=spec.urgency, customer_facing=spec.customer_facing,
                customer_impact=it["customer_impact"], online_justification=it["online_justification"],
                status=it["status"], submitted_at=it["submitted_at"], meeting=it["meeting"],
                agenda_order=rng.randint(1, 40) if it["meeting"] else 0, decision=it["decision"],
                decision_reasons=spec.reasons if it["decision"] == "rejected" else "",
                decided_at=it.get("decided_at"), decided_by_id=world["secretary"] if it["decision"] else None,
                approval_number=it.get("approval_number", ""), approval_issued_at=it["issued_at"],
                approval_revoked_at=it["issued_at"] + timedelta(days=5) if it["revoked"] else None,
                approval_revoked_reason="方案调整，原批准取消" if it["revoked"] else "",
                version=rng.randint(1, 6),
            ))
        Item.objects.bulk_create(rows, batch_size=1000)
        for it, row in zip(items, rows, strict=True):
            it["pk"] = row.pk

        opinions, conditions, targets, resolved, releases = [], [], [], [], []
        for it in items:
            if it["submitted_at"] is not None and it["status"] != "withdrawn":
                for dept in world["review_depts"]:
                    given = it["decision"] or rng.random() < 0.6
                    opinions.append(Opinion(
                        item_id=it["pk"], department=dept, reviewer_id=rng.choice(world["reviewers"][dept.code])
                        if given else None,
                        recommendation=recommendation.get(it["decision"], "approve") if given else "",
                        submitted_at=it["submitted_at"] + timedelta(days=rng.randint(1, 4)) if given else None,
                        item_version=1 if given else 0))
            for c in it["conditions"]:
                signed = c["status"] == "signed_off"
                conditions.append(Condition(
                    item_id=it["pk"], text=c["text"], owner_department=depts[it["department"]], due_date=c["due"],
                    proof=c["proof"], status=c["status"], evidence="已按要求落实，材料已报秘书处" if c["met_at"] else "",
                    met_at=c["met_at"], signed_off_by_id=world["secretary"] if signed else None,
                    signed_off_at=c["met_at"] + timedelta(hours=18) if signed else None))
            resolved += [Item.outlets.through(item_id=it["pk"], institution_id=o.pk) for o in it["outlets"]]
            if it["target_mode"] == "list":
                targets += [Item.target_list.through(item_id=it["pk"], institution_id=o.pk) for o in it["outlets"]]
            if it["work_orders"]:
                releases.append(Release(item_id=it["pk"], released_by_id=world["secretary"]))
        Opinion.objects.bulk_create(opinions, batch_size=2000)
        Condition.objects.bulk_create(conditions, batch_size=2000)
        Item.outlets.through.objects.bulk_create(resolved, batch_size=5000)
        Item.target_list.through.objects.bulk_create(targets, batch_size=5000)
        Release.objects.bulk_create(releases, batch_size=2000)
        release_of = {r.item_id: r.pk for r in releases}
        orders = []
        for it in items:
            for wo in it["work_orders"]:
                head = world["heads"][wo["outlet"].pk]
                orders.append(WorkOrder(
                    item_id=it["pk"], release_id=release_of[it["pk"]], institution=wo["outlet"],
                    approval_number=it["approval_number"], start_date=wo["start"], due_date=wo["due"],
                    hours=it["spec"].effort, status=wo["status"],
                    acknowledged_by_id=head if wo["ack"] else None,
                    acknowledged_at=at(wo["ack"], 10) if wo["ack"] else None,
                    done_by_id=head if wo["done"] else None, done_at=at(wo["done"], 16) if wo["done"] else None,
                    note=wo["note"]))
                if len(orders) >= 20_000:
                    WorkOrder.objects.bulk_create(orders, batch_size=2000)
                    orders = []
        WorkOrder.objects.bulk_create(orders, batch_size=2000)


def analyze():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics, as a live database has


def data_summary():
    from django.db.models import Count, F, Q
    from django.utils import timezone

    from branchops.coordination.models import Condition, Item, Meeting, Opinion
    from branchops.dispatch.models import WorkOrder

    today = timezone.localdate()
    done = Q(status="done")
    wo = WorkOrder.objects.aggregate(
        total=Count("pk"), done_on_time=Count("pk", filter=done & Q(done_at__date__lte=F("due_date"))),
        done_late=Count("pk", filter=done & Q(done_at__date__gt=F("due_date"))),
        open_not_due=Count("pk", filter=~done & Q(due_date__gte=today)),
        overdue=Count("pk", filter=~done & Q(due_date__lt=today)))
    return {
        "items": Item.objects.count(),
        "work_orders": wo.pop("total"),
        "work_orders_by_state": wo,
        "items_by_status": dict(Item.objects.values_list("status").annotate(n=Count("pk")).order_by("status")),
        "items_by_decision": dict(Item.objects.exclude(decision="").values_list("decision")
                                  .annotate(n=Count("pk")).order_by("decision")),
        "submitted_years": sorted({d.year for d in Item.objects.exclude(submitted_at=None)
                                   .values_list("submitted_at", flat=True)}),
        "meetings": Meeting.objects.count(),
        "opinions": Opinion.objects.count(),
        "conditions": Condition.objects.count(),
        "conditions_open": Condition.objects.exclude(status="signed_off").count(),
        "resolved_outlet_links": Item.outlets.through.objects.count(),
    }


# --- measuring ---------------------------------------------------------------------------------

def timed_get(client, url, params, repeat, expect=200):
    """One warm-up request with its queries captured, then `repeat` timed ones (no capture)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        t = time.perf_counter()
        response = client.get(url, params)
        first_ms = (time.perf_counter() - t) * 1000
    assert response.status_code == expect, (url, params, response.status_code, response.content[:300])
    sql = [(float(q["time"]) * 1000, q["sql"]) for q in ctx.captured_queries]
    sql_ms = sum(ms for ms, _ in sql)
    # Time outside the database (view, serialisation, templates) of the warm-up request.
    out = {"queries": len(sql), "first_ms": round(first_ms, 1), "first_sql_ms": round(sql_ms, 1),
           "first_non_sql_ms": round(first_ms - sql_ms, 1)}
    if sql:
        slowest = max(sql)
        out["slowest_sql_ms"] = round(slowest[0], 1)
        out["slowest_sql"] = slowest[1][:160]
    if response.status_code != 200:
        return out
    last = {}

    def get():
        last["response"] = client.get(url, params)

    out.update(figures(sample(get, repeat)))
    response = last["response"]
    if response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        if isinstance(body.get("items"), list):
            out.update(rows=len(body["items"]), total=body["count"],
                       limited_rows=sum(1 for i in body["items"] if i.get("view") == "limited"))
    elif response.context is not None and "page" in response.context:
        page = response.context["page"]
        out.update(rows=len(page.object_list), total=page.paginator.count)
    return out


def scenarios(world, today):
    last_year = today.year - 1
    period = {"since": date(last_year, 1, 1).isoformat(), "until": date(last_year, 12, 31).isoformat()}
    from branchops.coordination.models import Item

    number = Item.objects.filter(status="released").order_by("pk").values_list("number", flat=True).first() or "SH-"
    pfb = world["depts"]["PFB"].pk
    filters = {
        "first_page": {},
        "first_page_size_20": {"page_size": 20},
        "first_page_size_100": {"page_size": 100},
        "status_released": {"status": "released"},
        "decision_conditional": {"decision": "conditional"},
        "department_pfb": {"department": pfb},
        f"period_{last_year}": period,
        "search_title": {"q": SEARCH_TITLE},
        "search_number": {"q": number},
    }
    api_stats = {"statistics": {}, f"statistics_{last_year}": period}
    return filters, api_stats


def measure(world, args, full=True):
    """The register page and API (and, when `full`, the statistics block and the export)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from branchops.coordination import queries

    User = get_user_model()
    today = timezone.localdate()
    filters, api_stats = scenarios(world, today)
    out = {"register_page": {}, "register_api": {}, "statistics_block": {}}
    for label, pk in world["viewers"].items():
        log(f"measuring as {label} ({'full data set' if full else 'baseline sample'})")
        client = Client()
        client.force_login(User.objects.get(pk=pk))
        page, api = {}, {}
        for name, params in filters.items():
            page[name] = timed_get(client, "/coordination/", params, args.repeat)
            api[name] = timed_get(client, "/api/v1/coordination/items", params, args.repeat)
        for name, params in api_stats.items():
            api[name] = timed_get(client, "/api/v1/coordination/register/statistics", params, args.repeat)
        out["register_page"][label] = page
        out["register_api"][label] = api
        # The statistics block alone, as each page request computes it (user loaded afresh).
        user = User.objects.select_related("staff__institution").get(pk=pk)
        with CaptureQueriesContext(connection) as ctx:
            queries.statistics(user)
        users = iter([User.objects.select_related("staff__institution").get(pk=pk) for _ in range(args.repeat)])
        samples = sample(lambda users=users: queries.statistics(next(users)), args.repeat)
        out["statistics_block"][label] = {"queries": len(ctx.captured_queries), **figures(samples)}
        if full:
            out.setdefault("export_xlsx", {})[label] = export(client, label, args)
    # N+1 would add at least one query per row: 80 more from page size 20 to 100. The API may add
    # up to two in all (queries.full_view_ids) when a page holds other departments' items.
    out["n_plus_one"] = {
        kind: {label: {"queries_page_size_20": rows["first_page_size_20"]["queries"],
                       "queries_page_size_100": rows["first_page_size_100"]["queries"],
                       "n_plus_one": rows["first_page_size_100"]["queries"] - rows["first_page_size_20"]["queries"]
                       >= 80}
               for label, rows in out[kind].items()}
        for kind in ("register_page", "register_api")}
    return out


def export(client, label, args):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        t = time.perf_counter()
        response = client.get("/coordination/", {"format": "xlsx"})
        first = time.perf_counter() - t
    n_queries = len(ctx.captured_queries)  # before the next request resets the query log
    if response.status_code != 200:
        return {"status": response.status_code, "note": "no export_register permission"}
    samples = [first]
    for _ in range(args.export_repeat - 1):
        t = time.perf_counter()
        response = client.get("/coordination/", {"format": "xlsx"})
        samples.append(time.perf_counter() - t)
    from io import BytesIO

    from openpyxl import load_workbook

    rows = load_workbook(BytesIO(response.content), read_only=True).worksheets[0].max_row - 1
    return {"rows": rows, "bytes": len(response.content), "queries": n_queries,
            "runs": len(samples), "median_s": round(statistics.median(samples), 2), "max_s": round(max(samples), 2)}


def naive_per_row(world, repeat):
    """The page's rows read the naive way — no select_related, no annotations, one query per
    related row and per figure — against queries.register, in-process, as the secretariat."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Q
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from branchops.coordination import queries

    User = get_user_model()
    today = timezone.localdate()

    def naive(user, n):
        rows = []
        for i in queries.visible_items(user).order_by("-submitted_at", "-id")[:n]:
            orders = i.work_orders.all()
            conds = i.conditions.exclude(status="signed_off")
            rows.append((i.department.name, str(i.meeting) if i.meeting_id else "", orders.count(),
                         orders.filter(status="done").count(),
                         orders.filter(Q(due_date__lt=today) & ~Q(status="done")).count(),
                         conds.count(), conds.filter(due_date__lt=today).count()))
        return rows

    def annotated(user, n):
        return [(i.department.name, str(i.meeting) if i.meeting_id else "", i.orders, i.orders_done,
                 i.orders_overdue, i.conditions_open, i.conditions_overdue)
                for i in queries.register(user)[:n]]

    def load():  # as a request would: roles and permissions not cached yet
        return User.objects.select_related("staff__institution").get(pk=world["viewers"]["secretariat"])

    out = {}
    for n in (20, 100):
        rows = []
        for name, fn in (("naive", naive), ("register", annotated)):
            with CaptureQueriesContext(connection) as ctx:
                rows.append(fn(load(), n))
            users = iter([load() for _ in range(repeat)])
            samples = sample(lambda fn=fn, users=users, n=n: fn(next(users), n), repeat)
            out.setdefault(f"page_size_{n}", {})[name] = {"queries": len(ctx.captured_queries), **figures(samples)}
        out[f"page_size_{n}"]["same_rows"] = rows[0] == rows[1]
    return out


def ratios(full, small):
    """p50 at full size / p50 on the small data set, per measurement: ~1 means it does not grow."""
    out = {}
    for kind in ("register_page", "register_api", "statistics_block"):
        for label, rows in full[kind].items():
            if kind == "statistics_block":
                rows, srows = {"statistics": rows}, {"statistics": small[kind][label]}
            else:
                srows = small[kind][label]
            for name, r in rows.items():
                s = srows.get(name, {})
                if r.get("p50_ms") and s.get("p50_ms"):
                    out.setdefault(kind, {}).setdefault(label, {})[name] = round(r["p50_ms"] / s["p50_ms"], 1)
    return out


def slow(full):
    out = []
    for kind in ("register_page", "register_api"):
        for label, rows in full[kind].items():
            out += [{"where": kind, "viewer": label, "measurement": name, "p95_ms": r["p95_ms"],
                     "slowest_sql_ms": r.get("slowest_sql_ms"), "queries": r["queries"]}
                    for name, r in rows.items() if r.get("p95_ms", 0) > SLOW_MS]
    for label, r in full["statistics_block"].items():
        if r["p95_ms"] > SLOW_MS:
            out.append({"where": "statistics_block", "viewer": label, "p95_ms": r["p95_ms"], "queries": r["queries"]})
    return out


def explain(world):
    """Plans of the register's page query and count, and of one statistics count, for the secretariat."""
    from django.contrib.auth import get_user_model

    from branchops.coordination import queries

    user = get_user_model().objects.select_related("staff__institution").get(pk=world["viewers"]["secretariat"])
    qs = queries.register(user)
    return {"register_page_query": qs[:25].explain(), "visible_items_count": queries.visible_items(user).explain()}


def run(args):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from branchops.coordination import queries

    rng = random.Random(args.seed)
    today = timezone.localdate()
    result = {"benchmark": "coordination_register", "database": connection.vendor,
              "database_version": ".".join(map(str, connection.Database.sqlite_version_info))
              if connection.vendor == "sqlite" else connection.pg_version, "today": today.isoformat(),
              "command": " ".join([".venv/bin/python", "bench/register_bench.py", *sys.argv[1:]]),
              "repeat": args.repeat, "budget_seconds_per_measurement": args.budget_seconds,
              # Latencies are wall-clock: say how busy the machine was.
              "machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}}
    t0 = time.perf_counter()
    world = build_org(rng)
    meetings = build_meetings(world, today, args.years)
    plan = plan_items(rng, world, meetings, today, args)
    small, rest = split_plan(rng, plan, args.baseline_items)
    plan_outlets(rng, small, args.baseline_work_orders, world["outlets"], today)
    plan_outlets(rng, rest, args.work_orders - args.baseline_work_orders, world["outlets"], today)

    # Step 1: the baseline sample, measured.
    log(f"inserting the baseline sample: {len(small)} items")
    t1 = time.perf_counter()
    insert_items(rng, world, small)
    analyze()
    small_build = time.perf_counter() - t1
    small_data = data_summary()
    small_result = measure(world, args, full=False)

    # Step 2: the rest, measured again.
    log(f"inserting the rest: {len(rest)} items")
    t2 = time.perf_counter()
    insert_items(rng, world, rest)
    analyze()
    result["data"] = {**data_summary(), "sub_branches": SUB_BRANCHES, "outlets": len(world["outlets"]),
                      "departments": len(world["depts"]), "people": world["people"], "years": args.years,
                      "build_seconds": round(time.perf_counter() - t2 + (t1 - t0), 1),
                      "not_built": "opinion lines, attachments, history rows, timeline entries, notifications "
                                   "(the register reads none of them)"}
    user_model = get_user_model()
    result["viewers"] = {}
    for label, pk in world["viewers"].items():
        user = user_model.objects.select_related("staff__institution", "staff__department").get(pk=pk)
        result["viewers"][label] = {
            "username": user.username, "department": user.staff.department.code,
            "roles": list(user.groups.values_list("name", flat=True)),
            "visible_items": queries.visible_items(user).count(),
        }
    full = measure(world, args, full=True)
    result.update(full)
    log("naive per-row reference")
    result["baseline"] = {
        "why": (f"The baseline is the same register on a random sample ({args.baseline_items} items, "
                f"{args.baseline_work_orders} work orders) of the same plan (same org, users and meetings), "
                "measured in this run before the rest was inserted: the risk at scale is a "
                "request whose cost grows with the size of the register (aggregating every visible item "
                "before taking one page), which a smaller data set exposes and a per-row comparison does "
                "not. 'p50_ratio_full_to_small' ~1 means a request does not grow with the data, ~10 that it "
                "grows linearly. No N+1 is shown by 'n_plus_one' (query counts at page sizes 20 and 100: N+1 "
                "would add at least 80) and, for reference, by 'naive_per_row': the same rows read with one query per row "
                "and figure."),
        "small_data_set": {"data": {**small_data, "build_seconds": round(small_build, 1)}, **small_result},
        "p50_ratio_full_to_small": ratios(full, small_result),
        "naive_per_row": naive_per_row(world, args.repeat),
    }
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["slow_p95_over_500_ms"] = slow(full)
    if args.explain:
        result["explain"] = explain(world)
    return result


if __name__ == "__main__":
    main()
