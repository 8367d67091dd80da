"""Reads of the coordination mechanism shared by pages, API and exports."""

from datetime import date
from statistics import median

from django.db.models import Count, F, Func, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from branchops.core import clock
from branchops.dispatch import workload
from branchops.dispatch.models import WorkOrder
from branchops.dispatch.queries import visible_work_orders
from branchops.org import queries as org_queries
from branchops.org.models import Department, Institution, Level
from branchops.org.scope import scope_q, sees_everything

from .models import (
    URGENCY_RANK,
    Condition,
    Decision,
    FeedbackEntry,
    Item,
    ItemStatus,
    Meeting,
    Opinion,
    PostReview,
    ReviewDimension,
    ReviewRequirement,
    Settings,
    WatchResult,
)

# Items still in the mechanism's hands (the register opens on these); the rest behind ``state=all``.
OPEN_ITEM_STATUSES = [ItemStatus.DRAFT, ItemStatus.SUBMITTED, ItemStatus.APPROVED, ItemStatus.CONDITIONAL,
                      ItemStatus.RELEASED]
ITEM_STATES = ("open", "all")
DECIDED = [ItemStatus.APPROVED, ItemStatus.CONDITIONAL, ItemStatus.REJECTED, ItemStatus.RELEASED, ItemStatus.CLOSED]
BRANCH_WIDE = ("coordination.run_meeting", "coordination.export_register")


def visibility_q(user) -> Q:
    """A department sees its own items in full; reviewers the items they are asked about; the
    secretariat and branch leaders everything in their scope; everyone else decided items only
    (and outlets the released items that target them)."""
    if sees_everything(user):
        return Q()
    staff = getattr(user, "staff", None)
    q = Q(submitter=user)
    if staff is not None and staff.department_id:
        # Subqueries, not joins: a join to opinions or outlets multiplies every item by its opinions
        # × outlets before anything can de-duplicate (measured: 10,000 items → 592,000 rows).
        q |= Q(department_id=staff.department_id) | Q(
            pk__in=Opinion.objects.filter(department_id=staff.department_id).values("item_id"))
    if any(user.has_perm(p) for p in BRANCH_WIDE):
        q |= scope_q(user, "department__institution")
    decided = Q(status__in=DECIDED)
    if staff is not None:
        q |= decided & (Q(pk__in=Item.outlets.through.objects.filter(institution_id=staff.institution_id)
                          .values("item_id"))
                        | Q(department__institution__path__startswith=_branch_path(staff)))
    return q


def _branch_path(staff) -> str:
    return branch_of(staff.institution).path


def branch_of(inst: Institution) -> Institution:
    """The branch whose meeting and settings apply: the nearest branch, else the institution itself."""
    return org_queries.branch_of(inst) or inst


def settings_for(branch: Institution) -> Settings:
    """The branch's row, made with the branch; an unsaved default where there is none (never written here)."""
    return Settings.objects.filter(branch=branch).first() or Settings(branch=branch)


# Items that weigh on outlets: waiting for or past a decision, and released ones by their work orders.
PENDING_STATUSES = [ItemStatus.SUBMITTED, ItemStatus.APPROVED, ItemStatus.CONDITIONAL]


def item_load(item: Item, outlet_ids=None) -> workload.Load:
    """The load an item not yet released would put on its outlets."""
    outlet_ids = tuple(outlet_ids if outlet_ids is not None else item.outlets.values_list("pk", flat=True))
    return workload.Load(item.number, outlet_ids, float(item.effort_hours or 0), item.window_start, item.window_end,
                         URGENCY_RANK.get(item.urgency, 2))


def released_loads(outlet_ids: list[int] | None, exclude_item: int | None) -> list[workload.Load]:
    """The released work as loads, by each work order's own dates (cancelled orders weigh nothing):
    the load source coordination gives dispatch's workload."""
    orders = WorkOrder.objects.exclude(status=WorkOrder.Status.CANCELLED).select_related("item").only(
        "institution_id", "hours", "start_date", "due_date", "item__number", "item__urgency")
    if exclude_item:
        orders = orders.exclude(item_id=exclude_item)
    if outlet_ids is not None:
        orders = orders.filter(institution_id__in=outlet_ids)
    return [workload.Load(wo.item.number, (wo.institution_id,), float(wo.hours), wo.start_date, wo.due_date,
                          URGENCY_RANK.get(wo.item.urgency, 2)) for wo in orders]


def pending_loads(outlet_ids: list[int] | None, exclude_item: int | None) -> list[workload.Load]:
    """Items submitted or approved but not yet released: the load outlets should expect."""
    items = Item.objects.filter(status__in=PENDING_STATUSES).prefetch_related("outlets")
    if exclude_item:
        items = items.exclude(pk=exclude_item)
    if outlet_ids is not None:
        items = items.filter(outlets__in=outlet_ids).distinct()
    return [item_load(item, [o.pk for o in item.outlets.all()]) for item in items]


def visible_items(user) -> QuerySet:
    if not user.is_authenticated or not user.has_perm("coordination.view_item"):
        return Item.objects.none()
    return Item.objects.filter(visibility_q(user))  # no multi-valued join left: no duplicates


def access_item(user, pk) -> Item:
    try:
        return visible_items(user).select_related("department__institution", "submitter__staff", "meeting",
                                                  "decided_by__staff", "previous").get(pk=pk)
    except (Item.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def material_versions(item: Item) -> list[dict]:
    """Each material of the item with its versions, newest first: ``{"current", "versions"}`` (the
    current version is what the work orders carry; the earlier ones stay readable)."""
    atts = {a.pk: a for a in item.attachments.select_related("uploaded_by__staff", "condition")}
    out = []
    for att in (a for a in atts.values() if a.is_current):
        chain, step = [], att
        while step is not None:
            chain.append(step)
            step = atts.get(step.previous_id)
        out.append({"current": att, "versions": chain})
    return out


def sees_full_item(user, item: Item) -> bool:
    """Others' items show their decision only; the full plan to the department, its reviewers,
    the secretariat, branch leaders and the outlets it targets."""
    return item.pk in full_view_ids(user, [item])


def full_view_ids(user, items: list[Item]) -> set[int]:
    """``sees_full_item`` for a whole page at once: at most two queries, whatever its size."""
    if sees_everything(user) or any(user.has_perm(p) for p in BRANCH_WIDE):
        return {i.pk for i in items}
    staff = getattr(user, "staff", None)
    full = {i.pk for i in items
            if i.submitter_id == user.pk or (staff is not None and staff.department_id == i.department_id)}
    if staff is None:
        return full
    rest = [i.pk for i in items if i.pk not in full]
    if rest and staff.department_id:
        full |= set(Opinion.objects.filter(item_id__in=rest, department_id=staff.department_id)
                    .values_list("item_id", flat=True))
        rest = [pk for pk in rest if pk not in full]
    if rest and staff.institution_id:
        full |= set(Item.outlets.through.objects.filter(item_id__in=rest, institution_id=staff.institution_id)
                    .values_list("item_id", flat=True))
    return full


def meetings(user) -> QuerySet:
    if not user.has_perm("coordination.view_meeting"):
        return Meeting.objects.none()
    if sees_everything(user):
        return Meeting.objects.all()
    staff = getattr(user, "staff", None)
    if staff is None:
        return Meeting.objects.none()
    return Meeting.objects.filter(branch__path__startswith=_branch_path(staff))


def unheld_meetings(user) -> QuerySet:
    """Meetings whose day has passed and that were not held."""
    return meetings(user).filter(held_on__lt=clock.today(),
                                 status__in=[Meeting.Status.PLANNED, Meeting.Status.FROZEN]).order_by("held_on", "pk")


def access_meeting(user, pk) -> Meeting:
    try:
        return meetings(user).get(pk=pk)
    except (Meeting.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def reads_minutes(user) -> bool:
    """The minutes record every item of the meeting: outlets and sub-branches get none (issue 13)."""
    if sees_everything(user):
        return True
    staff = getattr(user, "staff", None)
    return staff is not None and staff.institution.level not in (Level.OUTLET, Level.SUB_BRANCH)


def access_minutes(user, pk) -> Meeting:
    """The meeting whose minutes the user may read (``rules.reads_minutes``: drafts the secretariat and
    the chair only); the same 404 as a meeting they cannot see."""
    from . import rules

    meeting = access_meeting(user, pk)
    if not rules.reads_minutes(user, meeting):
        raise Http404
    return Meeting.objects.select_related("branch", "chair__staff__department", "chair__staff__institution",
                                          "minutes_issued_by__staff", "minutes_document").get(pk=meeting.pk)


def feedback_entries(user, meeting: Meeting) -> QuerySet:
    """The outlets' feedback on the meeting's agenda, for readers of minutes (an outlet reads the
    meeting's answer on its own case)."""
    if not reads_minutes(user):
        return FeedbackEntry.objects.none()
    return (meeting.feedback_entries.select_related(
        "case__institution", "follow_up_department", "follow_up_person__staff", "deferred_from__meeting",
        "answered_by__staff", "done_by__staff").prefetch_related("deferred_to__meeting").order_by("id"))


def access_feedback(user, pk) -> FeedbackEntry:
    """A feedback entry of a meeting whose minutes the user reads; 404 otherwise."""
    meeting_id = FeedbackEntry.objects.filter(pk=pk).values_list("meeting_id", flat=True).first()
    if meeting_id is None:
        raise Http404
    meeting = access_meeting(user, meeting_id)
    if not reads_minutes(user):
        raise Http404
    entry = feedback_entries(user, meeting).get(pk=pk)
    entry.meeting = meeting
    return entry


def meetings_with_counts(user) -> QuerySet:
    """The meetings with the number of their items the user sees, and of those decided."""
    items = visible_items(user).filter(meeting=OuterRef("pk"))
    return meetings(user).annotate(n_items=_count(items), n_decided=_count(items.exclude(decision="")))


def _count(qs):
    """COUNT(*) of a correlated subquery."""
    return Subquery(qs.order_by().values(n=Func("pk", function="COUNT")), output_field=IntegerField())


def register(user, *, q: str = "", status: str = "", decision: str = "", department: int | None = None,
             item_type: str = "", meeting: int | None = None, since: date | None = None,
             until: date | None = None, state: str = "all") -> QuerySet:
    """The register (清单): every item with its decision, conditions and work-order completion."""
    today = clock.today()
    orders = WorkOrder.objects.filter(item=OuterRef("pk"))
    open_conds = Condition.objects.filter(item=OuterRef("pk")).exclude(status=Condition.Status.SIGNED_OFF)
    # Correlated counts are computed for the rows of the page only, after the sort and the limit;
    # joining work orders and conditions and grouping would count over the whole register.
    qs = visible_items(user).select_related("department", "meeting").annotate(
        orders=_count(orders),
        orders_done=_count(orders.filter(status="done")),
        orders_overdue=_count(orders.filter(due_date__lt=today).exclude(status__in=["done", "cancelled"])),
        orders_cancelled=_count(orders.filter(status="cancelled")),
        conditions_open=_count(open_conds),
        conditions_overdue=_count(open_conds.filter(due_date__lt=today)),
    )
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(number__icontains=q) | Q(approval_number__icontains=q))
    if status:
        qs = qs.filter(status=status)
    elif state == "open":
        qs = qs.filter(status__in=OPEN_ITEM_STATUSES)
    if decision:
        qs = qs.filter(decision=decision)
    if department:
        qs = qs.filter(department_id=department)
    if item_type:
        qs = qs.filter(item_type=item_type)
    if meeting:
        qs = qs.filter(meeting_id=meeting)
    if since:
        qs = qs.filter(submitted_at__date__gte=since)
    if until:
        qs = qs.filter(submitted_at__date__lte=until)
    return qs.order_by(*ITEM_ORDER)


# Items by their meeting's date, the next meeting first; drafts (no meeting yet) last on every database.
ITEM_ORDER = (F("meeting__held_on").asc(nulls_last=True), "number", "id")

def _full_view_q(user) -> Q:
    """``full_view_ids`` as a filter on items: those whose plan (and conditions) the user reads."""
    if sees_everything(user) or any(user.has_perm(p) for p in BRANCH_WIDE):
        return Q()
    staff = getattr(user, "staff", None)
    q = Q(submitter=user)
    if staff is not None and staff.department_id:
        q |= Q(department_id=staff.department_id) | Q(
            pk__in=Opinion.objects.filter(department_id=staff.department_id).values("item_id"))
    if staff is not None and staff.institution_id:
        q |= Q(pk__in=Item.outlets.through.objects.filter(institution_id=staff.institution_id).values("item_id"))
    return q


def _condition_scope(user) -> Q:
    """The conditions of the items the user reads in full, and those their department owns."""
    if not user.is_authenticated or not user.has_perm("coordination.view_item"):
        return Q(pk__in=[])
    items = visible_items(user).filter(_full_view_q(user))
    q = Q(item__in=items)
    staff = getattr(user, "staff", None)
    if staff is not None and staff.department_id:
        q |= Q(owner_department_id=staff.department_id)
    return q


CONDITION_STATES = ("pending", "open", "met", "signed_off", "all")


def condition_list(user, *, q: str = "", state: str = "pending", owner: int | None = None,
                   overdue: bool = False, item: int | None = None) -> QuerySet:
    """The conditions of every item the user sees (the register's scope), soonest due first.
    ``pending`` (the default) is every condition not signed off; overdue is pending past its due date."""
    today = clock.today()
    qs = (Condition.objects.filter(_condition_scope(user))
          .select_related("item", "item__department", "item__meeting", "owner_department"))
    if state == "pending":
        qs = qs.exclude(status=Condition.Status.SIGNED_OFF)
    elif state in Condition.Status.values:
        qs = qs.filter(status=state)
    if overdue:
        qs = qs.exclude(status=Condition.Status.SIGNED_OFF).filter(due_date__lt=today)
    if owner:
        qs = qs.filter(owner_department_id=owner)
    if item:
        qs = qs.filter(item_id=item)
    if q:
        qs = qs.filter(Q(text__icontains=q) | Q(item__number__icontains=q) | Q(item__title__icontains=q))
    return qs.order_by("due_date", "item__number", "id")


def statistics(user, *, since: date | None = None, until: date | None = None) -> dict:
    """The register's figures: meetings, decisions with shares, by department and type, median days
    from submission to decision, conditions, work orders done on time."""

    items = visible_items(user)
    if since:
        items = items.filter(submitted_at__date__gte=since)
    if until:
        items = items.filter(submitted_at__date__lte=until)
    decided = items.exclude(decision="")
    # One aggregate per table instead of a count per figure: the statistics block is on every page load.
    counts = items.aggregate(items=Count("id"), decided=Count("id", filter=~Q(decision="")),
                             **{f"d_{d}": Count("id", filter=Q(decision=d)) for d in Decision.values})
    total = counts["decided"]
    days = [(d - s).days for s, d in decided.filter(submitted_at__isnull=False).values_list("submitted_at", "decided_at")]
    meeting_ids = items.exclude(meeting__isnull=True).values("meeting_id")
    today = clock.today()
    open_ = ~Q(status=Condition.Status.SIGNED_OFF)
    conds = Condition.objects.filter(item__in=items).aggregate(
        open=Count("id", filter=open_), overdue=Count("id", filter=open_ & Q(due_date__lt=today)))
    # The reader's own work orders only: an outlet sees a decided item but not the other outlets' work.
    orders = visible_work_orders(user).filter(item__in=items).aggregate(
        total=Count("id"), done=Count("id", filter=Q(status="done")),
        on_time=Count("id", filter=Q(status="done", done_at__date__lte=F("due_date"))))
    return {
        # By date: a meeting counts once its day has come and it was held, whatever its status says.
        "meetings_held": Meeting.objects.filter(pk__in=meeting_ids, held_on__lte=today,
                                                status__in=["held", "closed"]).count(),
        "items": counts["items"],
        "decided": total,
        "by_decision": [{"decision": d, "label": str(Decision(d).label), "count": counts[f"d_{d}"],
                         "share": round(counts[f"d_{d}"] / total, 4) if total else None}
                        for d in Decision.values],
        "by_department": list(decided.values("department__name").annotate(n=Count("id")).order_by("-n")),
        "by_type": list(decided.values("item_type").annotate(n=Count("id")).order_by("-n")),
        "median_days_to_decision": median(days) if days else None,
        "conditions_open": conds["open"],
        "conditions_overdue": conds["overdue"],
        "work_orders": orders["total"],
        "work_orders_done": orders["done"],
        "work_orders_done_on_time": orders["on_time"],
    }


# --- the review gate, the quorum and the reviewers' work list --------------------------------------

def required_dimensions(item_type: str) -> list[ReviewDimension]:
    """The active dimensions an item type must have answered before a decision (configuration)."""
    req = ReviewRequirement.objects.filter(item_type=item_type).first()
    return list(req.dimensions.filter(is_active=True).order_by("sort_order", "code")) if req else []


def remit_ids(department: Department, every: set[int]) -> set[int]:
    """A department's remit; a review department without one answers every active dimension."""
    remit = getattr(department, "review_remit", None)
    return set(remit.dimensions.values_list("pk", flat=True)) if remit is not None else every


def _opinion_state(opinion: Opinion, dim_id: int) -> str:
    if opinion.submitted_at is None:
        return "none"
    if opinion.is_stale:
        return "stale"
    return "current" if any(ln.dimension_id == dim_id for ln in opinion.lines.all()) else "omitted"


def review_status(item: Item) -> list[dict]:
    """For every dimension the item's type requires: the review departments asked whose remit covers
    it, each with the state of its answer (current, stale, none, omitted), and the chair's current
    waiver. ``ok``: every covering department answered it currently; ``satisfied``: ok or waived."""
    dims = required_dimensions(item.item_type)
    if not dims:
        return []
    every = set(ReviewDimension.objects.filter(is_active=True).values_list("pk", flat=True))
    opinions = list(item.opinions.select_related("department").prefetch_related("lines"))
    remits = {o.department_id: remit_ids(o.department, every) for o in opinions}
    waivers = {w.dimension_id: w for w in item.waivers.filter(is_stale=False).select_related("waived_by__staff")}
    rows = []
    for dim in dims:
        answers = [{"department": o.department, "state": _opinion_state(o, dim.pk)}
                   for o in opinions if dim.pk in remits[o.department_id]]
        ok = bool(answers) and all(a["state"] == "current" for a in answers)
        waiver = waivers.get(dim.pk)
        rows.append({"dimension": dim, "answers": answers, "ok": ok, "waiver": waiver,
                     "satisfied": ok or waiver is not None})
    return rows


def review_gap(item: Item) -> list[dict]:
    """The required dimensions neither answered currently by their departments nor waived."""
    return [row for row in review_status(item) if not row["satisfied"]]


def describe_gap(gap: list[dict]) -> str:
    """“合规管理（内控合规部：意见已过期）；品宣管理（无评议部门负责）” — what is missing and from whom."""
    from django.utils.translation import gettext as _

    states = {"none": _("no opinion"), "stale": _("opinion stale: the item changed after it"),
              "omitted": _("dimension not answered")}
    parts = []
    for row in gap:
        missing = [f"{a['department'].name}：{states[a['state']]}" for a in row["answers"] if a["state"] != "current"]
        detail = "；".join(missing) if missing else _("no review department's remit covers it")
        parts.append(f"{row['dimension'].name}（{detail}）")
    return "；".join(parts)


def quorum(meeting: Meeting) -> dict:
    """Whether the attendance makes the meeting quorate under its branch's rule (default: the chair
    present and at least 3 of the fixed review departments), and what is missing if not."""
    from django.utils.translation import gettext as _

    conf = settings_for(meeting.branch)
    people = list(meeting.attendees.select_related("staff"))
    present_depts = {p.staff.department_id for p in people if getattr(p, "staff", None) is not None}
    review = list(Department.objects.filter(institution=meeting.branch, is_review=True, is_active=True)
                  .order_by("sort_order", "code"))
    present = [d for d in review if d.pk in present_depts]
    absent = [d for d in review if d.pk not in present_depts]
    chair_present = meeting.chair_id is not None and meeting.chair_id in {p.pk for p in people}
    needed = conf.quorum_review_departments
    problems = []
    if conf.quorum_chair and meeting.chair_id is None:
        problems.append(_("no chair is designated"))
    elif conf.quorum_chair and not chair_present:
        problems.append(_("the chair is not in the attendance"))
    if len(present) < needed:
        problems.append(_("%(present)s of the review departments present, %(needed)s needed (absent: %(absent)s)") % {
            "present": len(present), "needed": needed, "absent": "、".join(d.name for d in absent) or "—"})
    return {"ok": not problems, "problems": problems, "present": present, "absent": absent,
            "needed": needed, "chair_present": chair_present, "chair_required": conf.quorum_chair}


def owed_opinions(**filters) -> list[Opinion]:
    """Opinions owed on items of an open agenda — never given, stale since the item changed, or
    leaving out a required dimension of the department's remit — soonest cut-off first, each with
    ``missing`` (the required dimensions of its remit it still owes)."""
    qs = (Opinion.objects.filter(item__status=ItemStatus.SUBMITTED,
                                 item__meeting__status__in=[Meeting.Status.PLANNED, Meeting.Status.FROZEN], **filters)
          .select_related("item__meeting__branch", "item__department", "department__review_remit")
          .prefetch_related("lines").order_by("item__meeting__cutoff_at", "item__number", "department__sort_order"))
    every = set(ReviewDimension.objects.filter(is_active=True).values_list("pk", flat=True))
    remits, required, out = {}, {}, []
    for opinion in qs:
        if opinion.department_id not in remits:
            remits[opinion.department_id] = remit_ids(opinion.department, every)
        if opinion.item.item_type not in required:
            required[opinion.item.item_type] = required_dimensions(opinion.item.item_type)
        opinion.missing = [d for d in required[opinion.item.item_type] if d.pk in remits[opinion.department_id]
                           and _opinion_state(opinion, d.pk) != "current"]
        if opinion.submitted_at is None or opinion.is_stale or opinion.missing:
            out.append(opinion)
    return out


def awaiting_opinion(user) -> list[Opinion]:
    """The reviewer's work list: the opinions their department owes (``owed_opinions``)."""
    staff = getattr(user, "staff", None)
    if not user.has_perm("coordination.review_item") or staff is None or staff.department_id is None:
        return []
    return owed_opinions(department_id=staff.department_id)


def is_consent(item: Item) -> bool:
    """Every opinion given, current, and without concern: decided together in the consent block."""
    opinions = list(item.opinions.all())
    return bool(opinions) and all(o.submitted_at and not o.is_stale and not o.has_concerns for o in opinions)


# --- the minutes -----------------------------------------------------------------------------------

MINUTES_KIND = "coordination.minutes"  # the kind of the issued document in core's store


def minutes_state(meeting: Meeting) -> str:
    """draft (the meeting is open), issued (closed: the secretariat issued them, waiting for the
    chair), approved (numbered and stored: final)."""
    if meeting.minutes_document_id:
        return "approved"
    if meeting.status == Meeting.Status.CLOSED and meeting.minutes_issued_at:
        return "issued"
    return "draft"


def _people(qs) -> list:
    return list(qs.select_related("staff__department", "staff__institution")
                .order_by("staff__department__sort_order", "staff__staff_no", "pk"))


def follow_up_conditions(meeting: Meeting) -> list[Condition]:
    """Conditions decided at earlier meetings of the branch that are still open, or that changed
    (reported met, signed off) since the previous meeting: issued minutes never change, so later
    changes appear here, in the next meeting's minutes."""
    previous = (Meeting.objects.filter(branch=meeting.branch, held_on__lt=meeting.held_on)
                .order_by("-held_on").values_list("held_on", flat=True).first())
    changed = Q(status=Condition.Status.SIGNED_OFF, signed_off_at__date__gte=previous) if previous else Q(pk__in=[])
    return list(Condition.objects.filter(item__meeting__branch=meeting.branch,
                                         item__meeting__held_on__lt=meeting.held_on)
                .filter(~Q(status=Condition.Status.SIGNED_OFF) | changed)
                .select_related("item__meeting", "owner_department").order_by("due_date", "id"))


def minutes_content(meeting: Meeting) -> dict:
    """What the minutes say, for the page, the API and the .docx alike: attendance by kind, every
    agenda item with every review department's opinion per dimension, the decision, conditions,
    waivers; the feedback answered; the post-implementation reviews; other business; the follow-up
    of earlier open conditions."""
    from .models import OpinionLine, Waiver

    items = list(meeting.items.select_related("department").prefetch_related(
        "conditions__owner_department",
        Prefetch("opinions", queryset=Opinion.objects.select_related("department", "reviewer__staff")
                 .prefetch_related(Prefetch("lines", queryset=OpinionLine.objects.select_related("dimension")))
                 .order_by("department__sort_order", "department__code")),
        Prefetch("waivers", queryset=Waiver.objects.filter(meeting=meeting).select_related(
            "dimension", "waived_by__staff"))).order_by("agenda_order", "id"))
    for item in items:
        item.consent = item.decision == Decision.APPROVED and is_consent(item)
    return {
        "meeting": meeting, "state": minutes_state(meeting), "document": meeting.minutes_document,
        "present": _people(meeting.attendees), "observers": _people(meeting.observers),
        "on_leave": _people(meeting.on_leave), "items": items,
        "feedback": list(meeting.feedback_entries.select_related(
            "case__institution", "follow_up_department", "follow_up_person__staff").order_by("id")),
        "post_reviews": [_minutes_post_review(e) for e in meeting.post_reviews.select_related(
            "item__watch", "recorded_by__staff").order_by("id")],
        "follow_up": follow_up_conditions(meeting),
    }


def _minutes_post_review(entry: PostReview) -> PostReview:
    """A post-implementation review as the minutes carry it: the flagged figures (effect and its 95 %
    interval per metric) on ``entry.flagged_metrics``."""
    watch = getattr(entry.item, "watch", None)
    metrics = (watch.result or {}).get("metrics", {}) if watch is not None else {}
    entry.flagged_metrics = [{"metric": name, **m} for name, m in metrics.items() if m.get("flagged")]
    return entry


# --- post-release watch ------------------------------------------------------------------------

def watch_weeks(item: Item) -> tuple[list[date], list[date]]:
    """The Mondays of the four weeks before the week the item's window starts, and of the four from it."""
    from . import watch

    return watch.weeks_around(item.window_start)


def watch_data(item: Item, result: WatchResult | None) -> dict:
    """The watch of an item as the API and the item page's chart show it: ``pending`` until stored."""
    before, after = watch_weeks(item)
    if result is None:
        return {"status": "pending", "evaluated_at": None, "flagged": False, "n_treated": 0, "n_control": 0,
                "before": before, "after": after, "metrics": [], "series": None, "review_outcome": item.review_outcome}
    r = result.result
    return {"status": result.status, "evaluated_at": result.evaluated_at, "flagged": result.flagged,
            "n_treated": result.n_treated, "n_control": result.n_control, "before": r["before"], "after": r["after"],
            "metrics": list(r["metrics"].values()), "series": r["series"], "review_outcome": item.review_outcome}


def sees_watch(user, item: Item) -> bool:
    """The watch compares outlets with each other: the item's full readers see it, outlets do not."""
    if sees_everything(user):
        return True
    staff = getattr(user, "staff", None)
    return (staff is not None and staff.institution.level != Level.OUTLET and sees_full_item(user, item))


def watch_of(user, item: Item) -> WatchResult | None:
    """The item's stored watch result for a reader of it (``sees_watch``), or None; 404 for others."""
    if not sees_watch(user, item):
        raise Http404
    return WatchResult.objects.filter(item=item).first()


def post_reviews(user, meeting: Meeting) -> QuerySet:
    """The post-implementation reviews on the meeting's agenda, for readers of minutes."""
    if not reads_minutes(user):
        return PostReview.objects.none()
    return (meeting.post_reviews.select_related("item__watch", "deferred_from__meeting", "recorded_by__staff")
            .prefetch_related("deferred_to__meeting").order_by("id"))


def access_post_review(user, pk) -> PostReview:
    """A post-implementation review of a meeting the user sees, for branch-level readers (as feedback
    entries: the agenda, not the issued minutes, decides who sees it); 404 otherwise."""
    meeting_id = PostReview.objects.filter(pk=pk).values_list("meeting_id", flat=True).first()
    if meeting_id is None:
        raise Http404
    meeting = access_meeting(user, meeting_id)
    if not reads_minutes(user):
        raise Http404
    entry = post_reviews(user, meeting).get(pk=pk)
    entry.meeting = meeting
    return entry


def item_post_reviews(item: Item) -> QuerySet:
    return item.post_reviews.select_related("meeting").order_by("meeting__held_on", "id")
