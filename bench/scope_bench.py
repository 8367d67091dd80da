"""Benchmark: the scope filter (materialised path prefix) against the naive recursive walk.

Builds a bank-sized tree in a throw-away database (SQLite by default, or DATABASE_URL), then times
"the staff a user may see" for users at the branch, sub-branch and outlet levels:
  path    — BranchOps' scope_filter: one indexed prefix match
  walk    — baseline: collect descendant ids level by level, then institution_id IN (...)
Both must return the same rows. Prints JSON.

    .venv/bin/python bench/scope_bench.py [--sub-branches 40] [--outlets 25] [--staff 12]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "branchops.settings_test")
os.environ.setdefault("BRANCHOPS_DATA_DIR", tempfile.mkdtemp(prefix="branchops-bench-"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sub-branches", type=int, default=40)
    parser.add_argument("--outlets", type=int, default=25, help="outlets per sub-branch")
    parser.add_argument("--staff", type=int, default=12, help="people per outlet")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from branchops.org.models import Institution, Level, Staff
    from branchops.org.scope import scope_filter

    setup_test_environment()
    old = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        call_command("migrate", verbosity=0)
        User = get_user_model()
        t0 = time.perf_counter()
        ho = Institution.objects.create(code="HO", name="总行", level=Level.HEAD_OFFICE, path="/1/")
        Institution.objects.filter(pk=ho.pk).update(path=f"/{ho.pk}/")
        ho.refresh_from_db()

        def child(parent, code, level):
            inst = Institution.objects.create(code=code, name=code, level=level, parent=parent)
            inst.path = f"{parent.path}{inst.pk}/"
            inst.depth = parent.depth + 1
            Institution.objects.filter(pk=inst.pk).update(path=inst.path, depth=inst.depth)
            return inst

        branch = child(ho, "B", Level.TIER1_BRANCH)
        users, staff = [], []
        sample = {}
        n = 0
        for s in range(args.sub_branches):
            sb = child(branch, f"S{s}", Level.SUB_BRANCH)
            sample.setdefault("sub_branch", sb)
            for o in range(args.outlets):
                outlet = child(sb, f"S{s}O{o}", Level.OUTLET)
                sample.setdefault("outlet", outlet)
                for _ in range(args.staff):
                    n += 1
                    users.append(User(username=f"u{n}"))
                    staff.append((f"N{n}", outlet))
        User.objects.bulk_create(users, batch_size=2000)
        by_name = dict(User.objects.values_list("username", "id"))
        Staff.objects.bulk_create(
            [Staff(user_id=by_name[f"u{i + 1}"], staff_no=no, name=no, institution=inst)
             for i, (no, inst) in enumerate(staff)], batch_size=2000)
        sample["branch"] = branch
        build_s = time.perf_counter() - t0

        def viewer(inst):
            u = User.objects.create(username=f"viewer-{inst.code}")
            Staff.objects.create(user=u, staff_no=f"V{inst.code}", name="v", institution=inst)
            return User.objects.select_related("staff__institution").get(pk=u.pk)

        def walk_ids(root_id):
            ids, frontier = [root_id], [root_id]
            while frontier:
                frontier = list(Institution.objects.filter(parent_id__in=frontier).values_list("id", flat=True))
                ids += frontier
            return ids

        def timed(fn):
            samples = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                result = fn()
                samples.append((time.perf_counter() - t) * 1000)
            return result, statistics.median(samples)

        results = {}
        for level, inst in sample.items():
            user = viewer(inst)
            path_count, path_ms = timed(lambda u=user: scope_filter(u, Staff.objects.all()).count())
            walk_count, walk_ms = timed(
                lambda i=inst: Staff.objects.filter(institution_id__in=walk_ids(i.pk)).count())
            assert path_count == walk_count, (level, path_count, walk_count)
            results[level] = {"visible_staff": path_count, "path_ms": round(path_ms, 3),
                              "walk_ms": round(walk_ms, 3), "speedup": round(walk_ms / path_ms, 2)}
        print(json.dumps({
            "benchmark": "scope_filter",
            "database": connection.vendor,
            "institutions": Institution.objects.count(),
            "staff": Staff.objects.count(),
            "build_seconds": round(build_s, 2),
            "repeat": args.repeat,
            "median_ms_by_viewer_level": results,
        }, ensure_ascii=False, indent=2))
    finally:
        connection.creation.destroy_test_db(old, verbosity=0)


if __name__ == "__main__":
    main()
