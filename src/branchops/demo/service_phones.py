"""Demo public-phone governance (公示电话专项治理, seed 001: 2,300 entries checked, 327 wrong): every demo
outlet's published numbers imported from a directory file, and one check campaign of the branch in
the seed's proportions at demo scale — about 14 % of the numbers called found wrong, a few unanswered,
a few still to call (the campaign is running); most wrong numbers corrected by the outlet heads within
their ten days, two still open within their due date and one overdue, so the corrections list shows
every state.

Everything goes through the services at the moment it happens (``call_at``), deterministic (seeded),
idempotent: a branch with a campaign is left as it is.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.org.models import Institution, Level
from branchops.org.roles import Role
from branchops.org.scope import in_scope
from branchops.service import phones
from branchops.service.phonebook import PhoneCampaign, PhoneCorrection

from .data import BRANCH, _say, anchor, call_at

SEED_CHECKED, SEED_WRONG = 2300, 327
PLACES = ["网点门楣", "官方网站网点查询", "地图App", "营业厅公告栏", "手机银行网点信息"]
UNANSWERED, PENDING = 0.05, 0.06  # shares of the numbers: no answer on the day; not called yet


def _rows(outlets: list[Institution]) -> list[list[str]]:
    rows = []
    for i, o in enumerate(outlets):
        n = 2000 + i * 7
        rows.append([o.code, "服务电话", f"0755-8{n:04d}{i % 10}{(i * 3) % 10}{(i * 7) % 10}"[:13], PLACES[i % 5]])
        rows.append([o.code, "投诉电话", f"0755-8{n + 1:04d}{i % 10}{(i * 3) % 10}{(i * 7) % 10}"[:13],
                     PLACES[(i + 1) % 5]])
        rows.append([o.code, "大堂经理电话", f"13{5 + i % 5}{i:04d}{(n * 13) % 10000:04d}", "营业厅公告栏"])
        if i % 3 == 0:
            rows.append([o.code, "业务咨询电话", f"400-{600 + i:03d}-{8000 + i:04d}", "官方网站网点查询"])
    return rows


def _caller(supervisors: list, outlet, fallback):
    return next((s for s in supervisors if in_scope(s, outlet)), fallback)


def build_demo_phones(stdout=None, *, branch_code: str = BRANCH["code"]) -> dict:
    started = time.monotonic()
    branch = Institution.objects.filter(code=branch_code).first()
    if branch is None:
        raise ValueError("The demo organisation is missing: run build_demo() first.")
    if PhoneCampaign.objects.filter(scope=branch).exists():
        _say(stdout, _("Public phones: already present, skipped …"))
        return {"status": "already present"}
    _say(stdout, _("Public phones: the directory and a check campaign …"))
    users = get_user_model().objects.filter(is_active=True, staff__institution__path__startswith=branch.path)
    sec = users.filter(groups__name=Role.SECRETARIAT).order_by("username").first()
    supervisors = list(users.filter(groups__name=Role.SERVICE_SUPERVISOR).order_by("username"))
    outlets = list(Institution.objects.filter(path__startswith=branch.path, level=Level.OUTLET, is_active=True)
                   .order_by("code"))
    now = anchor()
    today = now.date()
    data = "\n".join(",".join(r) for r in [["网点代码", "电话类型", "电话号码", "公示位置"], *_rows(outlets)])
    plan = call_at(clock.instant(today - timedelta(days=40), 10), phones.import_directory, sec, branch=branch,
                   data=data.encode("utf-8"), file_name="公示电话清单.csv", dry_run=False)
    if not plan.ok:
        raise ValueError("; ".join(str(e) for e in plan.errors))
    start = today - timedelta(days=28)
    campaign = call_at(clock.instant(start, 9), phones.create_campaign, sec, name=f"{today.year}年公示电话专项治理",
                       scope=branch, starts_on=start, ends_on=today + timedelta(days=14))
    rng = random.Random(f"phones-{branch_code}")
    calls = list(campaign.calls.select_related("entry__outlet").order_by("id"))
    rng.shuffle(calls)
    total = len(calls)
    pending = round(total * PENDING)
    called = calls[pending:]
    wrong = round(len(called) * SEED_WRONG / SEED_CHECKED)
    unanswered = round(total * UNANSWERED)
    results = ["wrong"] * wrong + ["unanswered"] * unanswered + ["answered"] * (len(called) - wrong - unanswered)
    rng.shuffle(results)  # spread over the campaign's days
    notes = {"wrong": ["空号", "接听人称非本网点", "号码已停用", "转接至其他单位", "传真音"],
             "unanswered": ["工作时间内三次拨打无人接听"], "answered": [""]}
    wrong_calls = []
    for k, (call, result) in enumerate(zip(called, results, strict=True)):
        day = start + timedelta(days=1 + (k * 23) // len(called))
        who = _caller(supervisors, call.entry.outlet, sec)
        done = call_at(clock.instant(day, 10 + k % 6), phones.record_call, who, call, result=result,
                       note=rng.choice(notes[result]))
        if result == "wrong":
            wrong_calls.append((done, day))
    # Most wrong numbers fixed within the ten days; the last three: two still within their due date,
    # the earliest-called of them overdue.
    wrong_calls.sort(key=lambda c: c[1])
    recent = [c.pk for c, day in wrong_calls if day >= today - timedelta(days=phones.FIX_DAYS - 1)]
    keep_open = set(recent[-2:]) | ({wrong_calls[0][0].pk} if wrong_calls else set())
    for call, day in wrong_calls:
        if call.pk in keep_open:
            continue
        correction = PhoneCorrection.objects.select_related("entry__outlet").get(call=call)
        fixed_on = min(today - timedelta(days=1), day + timedelta(days=rng.randint(1, phones.FIX_DAYS - 2)))
        number = f"0755-{rng.randint(82000000, 89999999)}" if correction.entry.kind != "lobby" else \
            f"139{rng.randint(10000000, 99999999)}"
        call_at(clock.instant(fixed_on, 15), phones.fix_correction, correction.owner or sec, correction,
                number=number)
    figures = {"numbers": total, "called": len(called), "wrong": wrong, "unanswered": unanswered,
               "open_corrections": PhoneCorrection.objects.filter(call__campaign=campaign, closed_at=None).count()}
    _say(stdout, _("Public phones: %(numbers)s numbers, %(wrong)s of %(called)s called found wrong.") % figures)
    return {"status": "created", "seconds": round(time.monotonic() - started, 1), **figures}
