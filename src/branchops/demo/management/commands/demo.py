"""`branchops demo` — load (or bring up to date) the deterministic demo organisation, then a year
of demo cases (skipped when already there, or with --no-cases)."""

import time
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from branchops.demo.cases import build_demo_cases
from branchops.demo.coordination import build_demo_coordination
from branchops.demo.data import build_demo, demo_sign_ins


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


class Command(BaseCommand):
    help = (
        "Create the deterministic demo organisation (Shenzhen-style branch, ~60 outlets, ~600 people) "
        "and one sign-in per role. Safe to run again: nothing changes the second time."
    )

    def add_arguments(self, parser):
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

    def handle(self, *args, force=False, quiet=False, no_cases=False, no_coordination=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load demo data: DEBUG is off, so this looks like a production system, and the "
                "demo accounts use a public password. Run with DEBUG=1, or pass --force if you really "
                "mean it.\n拒绝生成演示数据：DEBUG 未开启（疑似生产环境），演示账号的密码是公开的。"
                "请在 DEBUG=1 下运行，或确认后加 --force。"
            )
        started = time.monotonic()
        try:
            counts = build_demo(stdout=None if quiet else self.stdout)
            cases = None if no_cases else build_demo_cases(stdout=None if quiet else self.stdout)
            if not no_coordination:
                build_demo_coordination(stdout=None if quiet else self.stdout)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if quiet:
            return
        elapsed = time.monotonic() - started

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
        for line in _table(["数量 Counts", ""], summary):
            self.stdout.write("  " + line)
