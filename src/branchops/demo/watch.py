"""Demo of the post-release watch: one item released to the outlets whose queues a remedy really
changed in the demo's queue data, evaluated and flagged to the next meeting.

The demo's queue year (``demo.queueing``) lets every outlet follow its queue pattern's lean plan
(``simulate.lean_plan``): on fixed days of that year the peak-queueing outlets get staggered short
lunches with a single-counter cover, then flexible windows at the lunch peak, then at the afternoon
peak. This module writes, through the services, the item that would have brought one of those steps
to exactly those outlets — drafted, reviewed, approved at a meeting, released with its window
starting on the step's day, done by the outlets — and then runs the watch on the stored queue data.
Nothing is planted by hand: the effect is the simulated remedy's, measured from the roll-ups like
any real item's (the other patterns' own steps and drift are the comparison's noise).

The item goes to the latest step whose four weeks after have passed inside the full-year outlets'
data. The demo cases fill the queue year with feedback meetings, and a meeting may not be dated
before one already there (numbers stay in date order), so the item goes on one of those meetings
as the cases demo builds it (``WatchAgenda``: submitted and reviewed before the cut-off, approved
when the meeting is held); without the cases demo the item gets a meeting of its own where one can
be dated in order. Released, done and evaluated afterwards, once the queue data is there.
Idempotent: an item of that title already released is left as it is.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branchops.coordination import services as coord
from branchops.coordination.models import Item, ItemStatus, Meeting, ReviewDimension, WatchResult
from branchops.coordination.watch import weeks_around
from branchops.core import clock
from branchops.dispatch import services as dispatch
from branchops.dispatch.models import WorkOrder
from branchops.org.models import Institution
from branchops.queueing import simulate

from .coordination import REVIEW_ORDER, _Builder
from .data import SEED, _say, call_at
from .queueing import FULL_YEAR_OUTLETS, demo_year, outlet_codes

PATTERN = "peak_queueing"
# What each step of the peak-queueing lean plan does, as the item that brings it to the outlets.
STEP_ITEMS = [
    ("网点错峰午休与午间顶岗安排",
     "午间高峰时段网点柜员集中就餐，窗口空岗，客户等候时间明显延长。",
     "柜员午休缩短至40分钟并错峰安排，午间至少保留一名柜员顶岗，各网点报送午间排班表。"),
    ("午间高峰弹性窗口（非现金、低柜）",
     "阶段性排队网点午间11:30–13:30客流集中，现有窗口无法消化高峰。",
     "11:30–13:30增开非现金与低柜弹性窗口，大堂经理引导分流，每日记录弹性窗口开放情况。"),
    ("午间与下午高峰弹性窗口全面实施",
     "阶段性排队网点下午15:00–17:00出现第二个客流高峰。",
     "在午间弹性窗口基础上，15:00–17:00增开非现金与低柜弹性窗口，按周报送窗口开放与排队情况。"),
]
JUSTIFICATION = "窗口开放与午间排班须由网点现场安排，无法通过线上或集约化方式完成。"


def _profiles(today: date):
    start, end = demo_year(today)
    codes = outlet_codes()
    return start, end, codes, simulate.outlet_profiles(len(codes), SEED, start_date=start,
                                                      days=(end - start).days + 1, lean_improvement=True,
                                                      outlet_codes=codes)


def _step_days(profile) -> list[date]:
    """The day each step of the outlet's lean plan takes effect (progress reaches the step)."""
    lean = profile.lean
    span = max((lean.end - lean.start).days, 1)
    return [lean.start + timedelta(days=math.ceil(step.at * span)) for step in lean.steps]


def _meeting_day(branch: Institution, window_start: date, weekday: int) -> date | None:
    """A meeting day 3 to 16 weeks before the window, free, and after every meeting of its year."""
    day = window_start - timedelta(days=21)
    while day.weekday() != weekday:
        day -= timedelta(days=1)
    for _week in range(14):
        later = Meeting.objects.filter(branch=branch, year=day.year, held_on__gte=day).exists()
        if not later:
            return day
        day -= timedelta(days=7)
    return None


def _windows(today: date):
    """``(step, window start, treated outlets)`` of every step whose four weeks after have passed
    inside the queue data, latest first (empty without three peak-queueing outlets)."""
    _start, end, _codes, profiles = _profiles(today)
    full = profiles[:FULL_YEAR_OUTLETS]
    treated = [p.code for p in full if p.pattern == PATTERN]
    if len(treated) < 3:
        return []
    days = _step_days(next(p for p in full if p.pattern == PATTERN))
    out = []
    for k in reversed(range(len(days))):
        _before, after = weeks_around(days[k])
        last = after[-1] + timedelta(days=6)
        if last <= end and last < today:
            out.append((k, days[k], treated))
    return out


class WatchAgenda:
    """The watch's item on a meeting of the demo cases, as that demo builds it: ``wants`` a meeting
    2 to 26 weeks before the latest usable window, ``submit`` before its cut-off (reviewed at once),
    ``decide`` once it is held. The cases demo calls these at their moments."""

    def __init__(self, today: date):
        windows = _windows(today)
        self.window = windows[0] if windows else None
        self.meeting_id: int | None = None
        self.item_id: int | None = None
        self._builder: _Builder | None = None

    def wants(self, meeting: Meeting) -> bool:
        if self.window is None or self.meeting_id is not None:
            return False
        start = self.window[1]
        return start - timedelta(weeks=26) <= meeting.held_on <= start - timedelta(weeks=2)

    def claim(self, meeting: Meeting) -> None:
        self.meeting_id = meeting.pk

    def submit(self, moment: datetime, meeting: Meeting) -> None:
        from .coordination import ensure_configuration

        if Item.objects.filter(title__in=[t for t, _b, _a in STEP_ITEMS]).exists():
            return  # a second run: the item is there
        ensure_configuration()  # the review remits (the coordination demo keeps what exists)
        self._builder = b = _Builder()
        step, window_start, treated = self.window
        item = _submit(b, step, window_start, treated, moment)
        if item.meeting_id != meeting.pk:
            call_at(moment + timedelta(minutes=1), coord.schedule_item, b.secretariat, item,
                    Meeting.objects.get(pk=meeting.pk))
        _opinions(b, item, moment + timedelta(minutes=10))
        self.item_id = item.pk

    def decide(self, moment: datetime) -> None:
        if self.item_id is None:
            return
        call_at(moment, coord.record_decision, self._builder.secretariat, Item.objects.get(pk=self.item_id),
                "approved", reasons="评议无异议，同意按计划实施。")


def _plan(b: _Builder, today: date):
    """(step index, window start, meeting day, treated outlets) of the latest usable step whose
    meeting can be dated in order with the meetings already there, or None."""
    for k, window_start, treated in _windows(today):
        held_on = _meeting_day(b.branch, window_start, b.conf.meeting_weekday)
        if held_on is not None:
            return k, window_start, held_on, treated
    return None


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _submitter(b: _Builder):
    for code in ("PFB", *sorted(b.submitters)):
        if code != "OPS" and b.submitters.get(code):
            return b.submitters[code][0]
    return b.submitter


def _opinions(b: _Builder, item: Item, moment: datetime) -> None:
    """Every asked review department answers its remit without concern."""
    every = set(ReviewDimension.objects.filter(is_active=True).values_list("code", flat=True))
    for opinion in item.opinions.select_related("department").order_by("department__sort_order"):
        code = opinion.department.code
        people = b.reviewers.get(code)
        if not people:
            continue
        dims = sorted(b.remits.get(code, every))
        call_at(moment, coord.give_opinion, people[0], Item.objects.get(pk=item.pk), recommendation="approve",
                lines=[{"dimension": b.dims[d], "concern": False} for d in dims if d in b.dims])
        moment += timedelta(minutes=20)


def _submit(b: _Builder, step: int, window_start: date, treated: list[str], moment: datetime) -> Item:
    title, background, actions = STEP_ITEMS[min(step, len(STEP_ITEMS) - 1)]
    submitter = _submitter(b)
    item = call_at(moment, coord.save_item, submitter, department=submitter.staff.department,
                   title=title, item_type="instruction", background=background, actions=actions,
                   target_mode="list", effort_hours=3, window_start=window_start,
                   window_end=window_start + timedelta(days=13), urgency="important", customer_facing=True,
                   customer_impact="午间及下午高峰等候时间缩短。", online_justification=JUSTIFICATION,
                   target_list=list(Institution.objects.filter(code__in=treated)))
    return call_at(moment + timedelta(minutes=5), coord.submit_item, submitter, item)


def _write_item(b: _Builder, step: int, window_start: date, held_on: date, treated: list[str]) -> Item:
    """The item with a meeting of its own (no demo cases: the year has room for it)."""
    planned = held_on - timedelta(days=14)
    meeting = call_at(_at(planned, 9, 30), coord.create_meeting, b.secretariat, b.branch, held_on,
                      location="分行大楼12楼第二会议室", chair=b.chair)
    item = _submit(b, step, window_start, treated, _at(planned, 10))
    _opinions(b, item, _at(planned + timedelta(days=2), 10))
    submitter = item.submitter
    call_at(meeting.cutoff_at, coord.freeze_agenda, b.secretariat, Meeting.objects.get(pk=meeting.pk))
    attendees = list(b.ops_people) + [b.reviewers[d][0] for d in REVIEW_ORDER if b.reviewers.get(d)]
    attendees += [submitter] if submitter not in attendees else []
    call_at(_at(held_on, 14, 30), coord.record_attendance, b.secretariat, Meeting.objects.get(pk=meeting.pk),
            attendees, chair=b.chair)
    call_at(_at(held_on, 15), coord.record_decision, b.secretariat, Item.objects.get(pk=item.pk), "approved",
            reasons="评议无异议，同意按计划实施。")
    call_at(_at(held_on, 17, 30), coord.close_meeting, b.secretariat, Meeting.objects.get(pk=meeting.pk))
    # Closing issued the minutes; the chair approves them that evening, as at every demo meeting.
    call_at(_at(held_on, 17, 45), coord.approve_minutes, b.chair, Meeting.objects.get(pk=meeting.pk))
    return _release(b, Item.objects.get(pk=item.pk))


def _release(b: _Builder, item: Item) -> Item:
    """Released a week before its window (or the day after its meeting); every outlet done."""
    window_start, decided_on = item.window_start, timezone.localtime(item.decided_at).date()
    release = max(decided_on + timedelta(days=1), window_start - timedelta(days=7))
    call_at(_at(release, 10), coord.release_item, b.secretariat, Item.objects.get(pk=item.pk),
            override_reason="按计划在实施窗口前一周下发，网点已确认排班。")
    for wo in WorkOrder.objects.filter(item=item).select_related("institution").order_by("institution__path"):
        head = b.heads.get(wo.institution_id)
        if head is None:
            continue
        call_at(_at(window_start, 9), dispatch.acknowledge_work_order, head, wo)
        call_at(_at(window_start + timedelta(days=10), 17), dispatch.complete_work_order, head,
                WorkOrder.objects.get(pk=wo.pk), "已按要求调整排班并开放弹性窗口。")
    return Item.objects.get(pk=item.pk)


def build_demo_watch(stdout=None) -> dict:
    """The demo's post-release watch (see the module docstring); returns what it did."""
    today = clock.today()
    titles = [t for t, _b, _a in STEP_ITEMS]
    existing = Item.objects.filter(title__in=titles).select_related("meeting").order_by("pk").first()
    b = _Builder(stdout)
    if existing is not None and existing.status == ItemStatus.APPROVED:  # decided at a cases-demo meeting
        _say(stdout, _("Post-release watch: %(number)s released to %(count)d outlets on %(day)s …") % {
            "number": existing.number, "count": existing.outlets.count(), "day": existing.window_start})
        with transaction.atomic():
            item = _release(b, existing)
    elif existing is not None:
        _say(stdout, _("Post-release watch: already present, skipped …"))
        return {"status": "already present", "item": existing.number}
    else:
        plan = _plan(b, today)
        if plan is None:
            _say(stdout, _("Post-release watch: no remedy of the demo year fits a watch yet, skipped …"))
            return {"status": "skipped"}
        step, window_start, held_on, treated = plan
        _say(stdout, _("Post-release watch: an item released to %(count)d outlets on %(day)s …") % {
            "count": len(treated), "day": window_start})
        with transaction.atomic():
            item = _write_item(b, step, window_start, held_on, treated)
    watch: WatchResult = coord.evaluate_watch(None, item)
    return {"status": "created", "item": item.number, "flagged": watch.flagged, "watch": watch.status}
