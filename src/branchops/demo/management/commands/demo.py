"""`branchops demo` — load (or bring up to date) the deterministic demo organisation, then a year
of demo cases (skipped when already there, or with --no-cases), the coordination demo and a year of
queue data (--no-tickets skips it).

`branchops demo tickets --outlets N --days D --seed S [--start YYYY-MM-DD] [--out FILE] [--lean]` —
simulated ticket and device logs for the first N outlets (by code), imported into the ticket store
with their roll-ups, or written to FILE.csv / FILE.parquet (devices to FILE-devices.csv / .parquet)."""

import argparse
import time
import unicodedata
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from branchops.core import clock
from branchops.core.management.progress import CommandStream
from branchops.demo.cases import build_demo_cases, case_counts
from branchops.demo.coordination import build_demo_coordination
from branchops.demo.data import SEED, build_demo, demo_sign_ins
from branchops.demo.queueing import (
    build_demo_tickets,
    outlet_codes,
    simulate_results,
    store_results,
    write_results,
)
from branchops.demo.service import build_demo_grading
from branchops.demo.service_inputs import build_demo_service_inputs
from branchops.demo.service_phones import build_demo_phones
from branchops.demo.service_routines import build_demo_routines
from branchops.demo.watch import WatchAgenda, build_demo_watch
from branchops.demo.workforce import build_demo_workforce


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(_width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True))
    out = [line.rstrip(), "  ".join("-" * w for w in widths)]
    out += ["  ".join(_pad(str(c), w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return out


def _start(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(_("Give the start date as YYYY-MM-DD (got “%(value)s”).")
                                         % {"value": value}) from exc


class Command(BaseCommand):
    help = (
        "Create the deterministic demo organisation (Shenzhen-style branch, ~60 outlets, ~600 people) "
        "and one sign-in per role. Safe to run again: nothing changes the second time. "
        "`demo tickets` simulates queue logs for the first N outlets, into the ticket store or to a file."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "part", nargs="?", choices=["all", "tickets"], default="all",
            help="all (default): the whole demo; tickets: only simulated queue logs (see --outlets … --lean)",
        )
        parser.add_argument(
            "--force", action="store_true",
            help="Run even when DEBUG is off. The demo passwords are public: never on a real system.",
        )
        parser.add_argument("--quiet", action="store_true", help="Print nothing on success.")
        parser.add_argument(
            "--no-cases", action="store_true",
            help="Only the organisation: skip the year of demo cases (complaints, feedback, support, rectifications).",
        )
        parser.add_argument(
            "--no-coordination", action="store_true",
            help="Skip the coordination demo (the first year's 16 meetings and 51 items, and the current open work).",
        )
        parser.add_argument(
            "--no-tickets", action="store_true",
            help="Skip the demo queue data (a year of simulated ticket and device logs with their roll-ups).",
        )
        parser.add_argument(
            "--no-grading", action="store_true",
            help="Skip the demo service grading (needs the cases and the queue data; skipped without them).",
        )
        tickets = parser.add_argument_group("demo tickets")
        tickets.add_argument("--outlets", type=int, metavar="N",
                             help="simulate the first N outlets by code (default: all outlets)")
        tickets.add_argument("--days", type=int, default=28, metavar="D", help="days to simulate (default: 28)")
        tickets.add_argument("--seed", type=int, default=SEED, metavar="S", help=f"random seed (default: {SEED})")
        tickets.add_argument("--start", type=_start, metavar="YYYY-MM-DD",
                             help="first day (default: D days before today, so the logs end yesterday)")
        tickets.add_argument("--out", metavar="FILE",
                             help="write the tickets to FILE.csv or FILE.parquet and the device logs to "
                                  "FILE-devices.csv / .parquet instead of importing them; outlets O0001… "
                                  "when the database has fewer than N")
        tickets.add_argument("--lean", action="store_true",
                             help="phase in each pattern's lean-management measures over the period")

    def handle(self, *args, part="all", force=False, quiet=False, no_cases=False, no_coordination=False,
               no_tickets=False, no_grading=False, **options):
        if part == "tickets":
            self.tickets(force=force, quiet=quiet, **options)
            return
        self.guard(force)
        started = time.monotonic()
        try:
            counts = build_demo(stdout=None if quiet else self.stdout)
            # The post-release watch needs the queue data and coordination; its item goes on one of
            # the cases demo's meetings (they fill the queue year).
            watch = None if (no_tickets or no_coordination) else WatchAgenda(clock.today())
            cases = None if no_cases else build_demo_cases(stdout=None if quiet else self.stdout, watch=watch)
            if not no_coordination:
                build_demo_coordination(stdout=None if quiet else self.stdout)
            build_demo_phones(stdout=None if quiet else self.stdout)  # needs only the organisation
            if not no_cases:  # failed routines open cases
                build_demo_routines(stdout=None if quiet else self.stdout)
            queue = None if no_tickets else build_demo_tickets(stdout=None if quiet else self.stdout)
            if not (no_tickets or no_coordination):  # the watch reads the queues the tickets built
                build_demo_watch(stdout=None if quiet else self.stdout)
            if not (no_grading or no_tickets or no_cases):  # graded from the demo's queues and complaints
                build_demo_service_inputs(stdout=None if quiet else self.stdout)  # ratings, surveys, calls, targets
                build_demo_grading(stdout=None if quiet else self.stdout)
            build_demo_workforce(stdout=None if quiet else self.stdout)  # certificates, skills, 带跟转
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if quiet:
            return
        if cases is not None:  # counted at the end: later parts answer feedback and open rectifications
            cases = {**cases, **case_counts()}
        self.report(counts, cases, queue, time.monotonic() - started)

    @staticmethod
    def guard(force: bool) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load demo data: DEBUG is off, so this looks like a production system, and the "
                "demo accounts use a public password. Run with DEBUG=1, or pass --force if you really "
                "mean it.\n拒绝生成演示数据：DEBUG 未开启（疑似生产环境），演示账号的密码是公开的。"
                "请在 DEBUG=1 下运行，或确认后加 --force。"
            )

    def report(self, counts: dict, cases: dict | None, queue: dict | None, elapsed: float) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"演示数据已就绪（{elapsed:.1f} 秒）。Demo data ready."))
        self.stdout.write("")
        self.stdout.write("演示账号 Demo sign-ins:")
        rows = [[r["role_label"], r["username"], r["password"], r["institution"]] for r in demo_sign_ins()]
        for line in _table(["角色 Role", "用户名 Username", "密码 Password", "机构 Institution"], rows):
            self.stdout.write("  " + line)
        self.stdout.write("")
        summary = [
            ["机构 institutions", counts["institutions"]],
            ["支行 sub-branches", counts["sub_branches"]],
            ["网点 outlets", counts["outlets"]],
            ["1+N 集群 clusters", f"{counts['clusters']}（{counts['outlets_in_clusters']} 个网点在集群内）"],
            ["部门 departments", f"{counts['departments']}（评议部门 {counts['review_departments']}）"],
            ["人员 people", counts["people"]],
        ]
        if cases is not None:
            by_type = cases["by_type"]
            summary += [
                ["案件 cases", f"{cases['cases']}（投诉 {by_type['complaint']}，问题反馈 {by_type['feedback']}，"
                               f"援助保障 {by_type['support']}，整改 {by_type['rectification']}）"],
                ["未结 open", f"{cases['open']}（超期 {cases['overdue']}，升级 {cases['escalations']}）"],
                ["重大投诉 major complaints", cases["major"]],
            ]
        if queue is not None:
            summary.append(["排队取号 tickets",
                            _("%(tickets)s (%(start)s to %(end)s; the full year for %(full)s outlets, "
                              "from %(tail_start)s for the others)")
                            % {"tickets": queue["tickets"], "start": queue["start"], "end": queue["end"],
                               "full": queue["full_year_outlets"], "tail_start": queue["tail_start"]}])
        for line in _table(["数量 Counts", ""], summary):
            self.stdout.write("  " + line)

    # ------------------------------------------------------------------------------------------ tickets
    def tickets(self, *, force: bool, quiet: bool, outlets: int | None = None, days: int = 28, seed: int = SEED,
                start: date | None = None, out: str | None = None, lean: bool = False, **options) -> None:
        if out is None:
            self.guard(force)  # simulated tickets in a real store would mix with the real ones
        elif Path(out).suffix.lower() not in (".csv", ".parquet"):
            raise CommandError(_("Write the logs to a .csv or .parquet file (got “%(name)s”).") % {"name": out})
        if days < 1:
            raise CommandError(_("--days must be at least 1."))
        if outlets is not None and outlets < 1:
            raise CommandError(_("--outlets must be at least 1."))
        start = start or clock.today() - timedelta(days=days)
        codes = outlet_codes()
        n = outlets if outlets is not None else len(codes)
        if n == 0:
            raise CommandError(_("There are no outlets: load the demo organisation first, or give --outlets with --out."))
        if len(codes) < n:
            if out is None:
                raise CommandError(_("Outlets in the database: %(have)s; asked for: %(n)s.") % {"have": len(codes), "n": n})
            codes = [f"O{i + 1:04d}" for i in range(n)]
        codes = codes[:n]

        started = time.monotonic()
        results = simulate_results(codes, days, seed, start, lean=lean)
        end = start + timedelta(days=days - 1)
        with tqdm(total=n, unit="outlets", desc=_("Simulating"), disable=quiet, file=CommandStream(self.stderr),
                  dynamic_ncols=True, mininterval=0.5) as bar:
            def step(_result) -> None:
                bar.update(1)

            if out is not None:
                counts = write_results(results, out, on_outlet=step)
            else:
                def month_done(month: str, done: int, total: int) -> None:
                    bar.set_description(_("Roll-ups up to %(month)s") % {"month": month})

                counts = store_results(results, on_outlet=step, on_month=month_done)
        if quiet:
            return
        values = {**counts, "n": n, "start": start, "end": end, "seconds": round(time.monotonic() - started, 1)}
        if out is not None:
            self.stdout.write(_("Simulated %(start)s to %(end)s, outlets %(n)s: tickets %(tickets)s, device sessions "
                                "%(devices)s; written to %(file)s and %(devices_file)s (%(seconds)s s).")
                              % {**values, "file": counts["files"][0], "devices_file": counts["files"][1]})
        else:
            self.stdout.write(_("Simulated %(start)s to %(end)s, outlets %(n)s: tickets %(tickets)s, device sessions "
                                "%(devices)s; tickets added %(added)s, already stored %(already_stored)s; roll-ups "
                                "refreshed for partitions (outlet × month) %(partitions)s (%(seconds)s s).") % values)
