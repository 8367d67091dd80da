"""The coordination API under /api/v1/coordination/: thin — parse, call one service or query, render.

Every read goes through ``queries`` (``visible_items``, ``access_item``, ``meetings`` …), so an item
outside the user's view answers the same 404 as a missing one; an item the user may see only as a
decision (another department's) comes back in its limited form — number, title, department,
status, decision and approval number — in the list and the detail alike. Writes go through
``services`` (the release too: it has dispatch make the work orders); the codes and ids the client sends are
resolved here to rows, and an unknown one is a 400 naming the field before anything is written.
"""

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Prefetch, Q
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import Field

from branchops.core import clock
from branchops.core.api import Amount, Day, Id, IdList, Version, Year, one_of, run_action
from branchops.core.audit import timeline
from branchops.org.api import EventOut, Pages, Ref
from branchops.org.models import Cluster, Department, Level, OutletType
from branchops.org.scope import visible_institutions

from . import queries, rules, schemas, services
from .actions import CONDITION_ACTIONS, FEEDBACK_ACTIONS, ITEM_ACTIONS, MEETING_ACTIONS, POST_REVIEW_ACTIONS
from .minutes import minutes_response
from .models import (
    Condition,
    Decision,
    Item,
    ItemAttachment,
    ItemStatus,
    ItemType,
    Meeting,
    Opinion,
    OpinionLine,
    PostReview,
    TargetMode,
    Urgency,
)

router = Router(tags=["coordination"])
# The words of the glossary (README): 事项编号 for an item's number, 批准文号 for its approval number,
# 第N次会议 for a meeting.
ITEM_NUMBER = Field(description="Item number (事项编号).")
APPROVAL_NUMBER = Field(description="Approval number (批准文号); empty until issued.")
MEETING_LABEL = Field(description="The meeting as 〈year〉年第N次会议 (numbered per year in date order).")
ACTIONS_FIELD = Field(description="The actions the user may take on it now (a POST to its actions/{action}); the "
                                  "others answer 403, or 400 saying why the state does not allow them.")


# --- small output pieces -----------------------------------------------------------------------

class PersonOut(Schema):
    id: int
    username: str
    name: str


class CodeOut(Schema):
    code: str
    name: str


class NumberRef(Schema):
    id: int
    number: str


class MeetingRef(Schema):
    id: int
    label: str = MEETING_LABEL
    held_on: date
    status: str


def _person(user) -> dict | None:
    if user is None:
        return None
    staff = getattr(user, "staff", None)
    return {"id": user.pk, "username": user.get_username(), "name": staff.name if staff else user.get_username()}


def _ref(obj) -> dict | None:
    return {"id": obj.pk, "code": obj.code, "name": obj.name} if obj is not None else None


def _meeting_ref(m: Meeting | None) -> dict | None:
    return {"id": m.pk, "label": str(m), "held_on": m.held_on, "status": m.status} if m is not None else None


def _choice(value: str, choices, field: str) -> None:
    """A filter or input value outside its choices is a 400 naming the field."""
    if value and value not in choices.values:
        raise ValidationError({field: _("Choose one of: %(values)s.") % {"values": ", ".join(choices.values)}})


# --- items: the two views ----------------------------------------------------------------------

class ItemLimitedOut(Schema):
    """Another department's item: its decision only."""

    view: Literal["limited"] = "limited"
    id: int
    number: str = ITEM_NUMBER
    title: str
    department: Ref
    status: str
    decision: str
    approval_number: str


class ItemRowOut(Schema):
    """An item in the register, as its department, reviewers and the secretariat see it."""

    view: Literal["full"] = "full"
    id: int
    number: str = ITEM_NUMBER
    revision: int
    title: str
    item_type: str
    department: Ref
    submitter: PersonOut
    urgency: str
    effort_hours: float
    window_start: date
    window_end: date
    status: str
    submitted_at: datetime | None
    meeting: MeetingRef | None
    decision: str
    decided_at: datetime | None
    approval_number: str = APPROVAL_NUMBER
    approval_revoked: bool
    conditions_open: int
    conditions_overdue: int
    work_orders: int
    work_orders_done: int
    work_orders_overdue: int
    work_orders_cancelled: int
    close_reason: str
    review_outcome: str = Field(description="The post-implementation review's outcome: successful, with_issues, "
                                            "failed, or empty when none was held.")
    version: int


ItemListOut = Annotated[ItemRowOut | ItemLimitedOut, Field(discriminator="view")]


def _limited(item: Item) -> dict:
    return {"view": "limited", "id": item.pk, "number": item.number, "title": item.title,
            "department": _ref(item.department), "status": item.status, "decision": item.decision,
            "approval_number": item.approval_number}


def _row(item: Item, counts: dict | None = None) -> dict:
    """The full register row; ``counts`` when the item was not read through ``queries.register``."""
    c = counts if counts is not None else {
        "conditions_open": item.conditions_open, "conditions_overdue": item.conditions_overdue,
        "work_orders": item.orders, "work_orders_done": item.orders_done,
        "work_orders_overdue": item.orders_overdue, "work_orders_cancelled": item.orders_cancelled}
    return {"view": "full", "id": item.pk, "number": item.number, "revision": item.revision, "title": item.title,
            "item_type": item.item_type, "department": _ref(item.department), "submitter": _person(item.submitter),
            "urgency": item.urgency, "effort_hours": float(item.effort_hours), "window_start": item.window_start,
            "window_end": item.window_end, "status": item.status, "submitted_at": item.submitted_at,
            "meeting": _meeting_ref(item.meeting) if item.meeting_id else None, "decision": item.decision,
            "decided_at": item.decided_at, "approval_number": item.approval_number,
            "approval_revoked": item.approval_revoked_at is not None, "close_reason": item.close_reason,
            "review_outcome": item.review_outcome, "version": item.version, **c}


class ItemPages(Pages):
    """The register's pages: each row in the view the user has of that item."""

    def paginate_queryset(self, queryset, pagination, request=None, **params):
        page = super().paginate_queryset(queryset, pagination, request=request, **params)
        items = list(page["items"])
        full = queries.full_view_ids(request.user, items)
        page["items"] = [_row(i) if i.pk in full else _limited(i) for i in items]
        return page


# --- item detail -------------------------------------------------------------------------------

class OutletOut(Schema):
    id: int
    code: str
    name: str


class AttachmentOut(Schema):
    id: int
    kind: str
    name: str
    url: str
    uploaded_by: PersonOut
    uploaded_at: datetime
    version: int = Field(description="1 for the material as decided; each revision after the decision adds one.")
    is_current: bool = Field(description="The version the work orders carry.")
    previous_id: int | None = Field(description="The version this one replaces.")
    condition_id: int | None = Field(description="The condition the revision meets.")
    reason: str = Field(description="Why it was revised (empty for a version 1).")


class MaterialVersionsOut(Schema):
    kind: str
    current: AttachmentOut
    versions: list[AttachmentOut] = Field(description="Every version, newest first (the current one first).")


class OpinionLineOut(Schema):
    dimension: CodeOut
    concern: bool
    text: str
    proposed_condition: str


class OpinionOut(Schema):
    id: int
    department: Ref
    reviewer: PersonOut | None
    recommendation: str
    submitted_at: datetime | None
    is_stale: bool
    lines: list[OpinionLineOut]


class ConditionOut(Schema):
    id: int
    text: str
    owner_department: Ref
    due_date: date
    proof: str
    status: str
    evidence: str
    met_at: datetime | None
    signed_off_by: PersonOut | None
    signed_off_at: datetime | None
    overdue: bool
    escalated_at: datetime | None
    allowed_actions: list[str] = Field(description="met, signoff: those the user may take on it now.")


class AnswerOut(Schema):
    department: Ref
    state: str = Field(description="current, stale (given before the item last changed), none, omitted (given "
                                   "without this dimension)")


class WaiverOut(Schema):
    dimension: CodeOut
    reason: str
    waived_by: PersonOut
    waived_at: datetime
    meeting: MeetingRef
    is_stale: bool


class GateRowOut(Schema):
    dimension: CodeOut
    answers: list[AnswerOut]
    ok: bool
    waived: bool
    satisfied: bool


class ItemDetailOut(ItemRowOut):
    background: str
    actions: str
    target_mode: str
    target_types: list[CodeOut]
    target_clusters: list[CodeOut]
    target_list: list[OutletOut]
    outlets: list[OutletOut]
    customer_facing: bool
    customer_impact: str
    online_justification: str
    precheck: list[dict]
    attachments: list[AttachmentOut]
    opinions: list[OpinionOut] | None = Field(
        description="Null while the user may not see the opinions yet (a reviewer before giving their own).")
    consent: bool
    conditions: list[ConditionOut]
    decision_reasons: str
    decided_by: PersonOut | None
    agenda_order: int
    urgent_addition_reason: str
    approval_issued_at: datetime | None
    approval_revoked_at: datetime | None
    approval_revoked_reason: str
    closed_at: datetime | None
    closed_by: PersonOut | None
    previous: NumberRef | None
    next_revision: NumberRef | None
    review_gate: list[GateRowOut] = Field(description="Each dimension the item's type requires: the review "
                                                      "departments covering it and their answers, or the waiver.")
    waivers: list[WaiverOut]
    allowed_actions: list[str] = ACTIONS_FIELD


ItemOut = Annotated[ItemDetailOut | ItemLimitedOut, Field(discriminator="view")]


def _attachment_url(att: ItemAttachment) -> str:
    return reverse("api:coordination_item_attachment", kwargs={"pk": att.item_id, "att_pk": att.pk})


def _attachment(a: ItemAttachment) -> dict:
    return {"id": a.id, "kind": a.kind, "name": a.name, "url": _attachment_url(a), "uploaded_by": _person(a.uploaded_by),
            "uploaded_at": a.uploaded_at, "version": a.version, "is_current": a.is_current,
            "previous_id": a.previous_id, "condition_id": a.condition_id, "reason": a.reason}


def _condition(user, c: Condition, today: date) -> dict:
    return {"id": c.id, "text": c.text, "owner_department": _ref(c.owner_department), "due_date": c.due_date,
            "proof": c.proof, "status": c.status, "evidence": c.evidence, "met_at": c.met_at,
            "signed_off_by": _person(c.signed_off_by), "signed_off_at": c.signed_off_at,
            "overdue": c.status != Condition.Status.SIGNED_OFF and c.due_date < today,
            "escalated_at": c.escalated_at, "allowed_actions": CONDITION_ACTIONS.allowed(user, c)}


def _opinion(o: Opinion) -> dict:
    return {"id": o.id, "department": _ref(o.department), "reviewer": _person(o.reviewer),
            "recommendation": o.recommendation, "submitted_at": o.submitted_at, "is_stale": o.is_stale,
            "lines": [{"dimension": {"code": ln.dimension.code, "name": ln.dimension.name}, "concern": ln.concern,
                       "text": ln.text, "proposed_condition": ln.proposed_condition} for ln in o.lines.all()]}


def _counts(item: Item, conditions: list[Condition], today: date) -> dict:
    """The register's figures of one item, from its conditions and work orders."""
    orders = item.work_orders.aggregate(
        n=Count("pk"), done=Count("pk", filter=Q(status="done")),
        overdue=Count("pk", filter=Q(due_date__lt=today) & ~Q(status__in=["done", "cancelled"])),
        cancelled=Count("pk", filter=Q(status="cancelled")))
    open_conds = [c for c in conditions if c.status != Condition.Status.SIGNED_OFF]
    return {"conditions_open": len(open_conds), "conditions_overdue": sum(1 for c in open_conds if c.due_date < today),
            "work_orders": orders["n"], "work_orders_done": orders["done"], "work_orders_overdue": orders["overdue"],
            "work_orders_cancelled": orders["cancelled"]}


def _precheck(item: Item) -> list[dict]:
    """A draft's pre-check as it would read now (a preview, so scripts and training can be attached
    before it is submitted); a submitted item's as recorded."""
    return services.precheck(item) if item.status == ItemStatus.DRAFT else (item.precheck or [])


def _plan(item: Item) -> dict:
    return dict(
        background=item.background, actions=item.actions, target_mode=item.target_mode,
        target_types=[{"code": t.code, "name": t.name} for t in item.target_types.all()],
        target_clusters=[{"code": c.code, "name": c.name} for c in item.target_clusters.all()],
        target_list=[_ref(o) for o in item.target_list.order_by("path")],
        outlets=[_ref(o) for o in item.outlets.order_by("path")],
        customer_facing=item.customer_facing, customer_impact=item.customer_impact,
        online_justification=item.online_justification, precheck=_precheck(item),
        attachments=[_attachment(a) for a in item.attachments.filter(is_current=True)
                     .select_related("uploaded_by__staff")],
    )


def _review(user, item: Item) -> dict:
    opinions = list(item.opinions.select_related("department", "reviewer__staff").prefetch_related(
        Prefetch("lines", queryset=OpinionLine.objects.select_related("dimension"))))
    return dict(
        opinions=[_opinion(o) for o in opinions] if rules.sees_opinions(user, item) else None,
        consent=bool(opinions) and all(o.submitted_at and not o.is_stale
                                       and not any(ln.concern for ln in o.lines.all()) for o in opinions),
    )


def _gate(item: Item) -> dict:
    rows = queries.review_status(item)
    waivers = item.waivers.select_related("dimension", "waived_by__staff", "meeting")
    return dict(
        review_gate=[{"dimension": _code(r["dimension"]), "ok": r["ok"], "waived": r["waiver"] is not None,
                      "satisfied": r["satisfied"],
                      "answers": [{"department": _ref(a["department"]), "state": a["state"]} for a in r["answers"]]}
                     for r in rows],
        waivers=[{"dimension": _code(w.dimension), "reason": w.reason, "waived_by": _person(w.waived_by),
                  "waived_at": w.waived_at, "meeting": _meeting_ref(w.meeting), "is_stale": w.is_stale}
                 for w in waivers],
    )


def _code(obj) -> dict:
    return {"code": obj.code, "name": obj.name}


def _decision(item: Item) -> dict:
    nxt = Item.objects.filter(previous=item).only("pk", "number").first()
    return dict(
        decision_reasons=item.decision_reasons, decided_by=_person(item.decided_by),
        agenda_order=item.agenda_order, urgent_addition_reason=item.urgent_addition_reason,
        approval_issued_at=item.approval_issued_at, approval_revoked_at=item.approval_revoked_at,
        approval_revoked_reason=item.approval_revoked_reason,
        closed_at=item.closed_at, closed_by=_person(item.closed_by),
        previous={"id": item.previous.pk, "number": item.previous.number} if item.previous_id else None,
        next_revision={"id": nxt.pk, "number": nxt.number} if nxt else None,
    )


def _detail(user, item: Item) -> dict:
    """The item as the user may see it: in full, with the actions the user may take, or its decision only."""
    if not queries.sees_full_item(user, item):
        return _limited(item)
    today = clock.today()
    conditions = list(item.conditions.select_related("owner_department", "signed_off_by__staff"))
    for c in conditions:
        c.item = item  # the predicates read it
    data = _row(item, _counts(item, conditions, today))
    return {**data, **_plan(item), **_review(user, item), **_decision(item), **_gate(item),
            "conditions": [_condition(user, c, today) for c in conditions],
            "allowed_actions": ITEM_ACTIONS.allowed(user, item)}


ITEM_RELATED = ("department__institution", "submitter__staff", "meeting", "decided_by__staff", "previous")


def _reload(request, pk: Id) -> dict:
    """The item after a write. The actor saw it when the request began; if the write moved it out
    of their view, they still get the result of their own act."""
    try:
        item = queries.access_item(request.user, pk)
    except Http404:
        item = Item.objects.select_related(*ITEM_RELATED).get(pk=pk)
    return _detail(request.user, item)


# --- list, detail, history ---------------------------------------------------------------------

class ItemFilter(Schema):
    q: str = ""
    status: str = one_of(ItemStatus.values)
    decision: str = one_of(Decision.values)
    department: Id | None = None
    item_type: str = one_of(ItemType.values)
    meeting: Id | None = None
    since: Day | None = None
    until: Day | None = None
    state: str = Field("all", json_schema_extra={"enum": list(queries.ITEM_STATES)},
                       description="open: items still in hand (draft to released); all (the default) every item. "
                                   "Ordered by meeting date, drafts last.")


@router.get("/items", response=list[ItemListOut],
            summary="The register: items within my view, by filters (others' items by their decision only)")
@paginate(ItemPages)
def list_items(request, filters: Query[ItemFilter]):
    _choice(filters.status, ItemStatus, "status")
    _choice(filters.decision, Decision, "decision")
    _choice(filters.item_type, ItemType, "item_type")
    if filters.state not in queries.ITEM_STATES:
        raise ValidationError({"state": _("Choose one of: %(values)s.") % {"values": ", ".join(queries.ITEM_STATES)}})
    return queries.register(request.user, **filters.dict()).select_related("submitter__staff")


class ConditionFilter(Schema):
    q: str = ""
    state: str = Field("pending", json_schema_extra={"enum": list(queries.CONDITION_STATES)},
                       description="pending (the default): not signed off; open, met, signed_off; all.")
    owner: Id | None = Field(None, description="The owner department's id.")
    overdue: bool = False
    item: Id | None = None


class ConditionRowOut(ConditionOut):
    item: NumberRef
    item_title: str


class ConditionPages(Pages):
    """The conditions list's pages: each row with its item and the actions the user may take on it."""

    def paginate_queryset(self, queryset, pagination, request=None, **params):
        page = super().paginate_queryset(queryset, pagination, request=request, **params)
        today = clock.today()
        page["items"] = [_condition(request.user, c, today) | {"item": {"id": c.item_id, "number": c.item.number},
                                                                 "item_title": c.item.title} for c in page["items"]]
        return page


@router.get("/conditions", response=list[ConditionRowOut],
            summary="Conditions across the items within my view, soonest due first")
@paginate(ConditionPages)
def list_conditions(request, filters: Query[ConditionFilter]):
    if filters.state not in queries.CONDITION_STATES:
        raise ValidationError({"state": _("Choose one of: %(values)s.") % {
            "values": ", ".join(queries.CONDITION_STATES)}})
    return queries.condition_list(request.user, **filters.dict()).select_related("signed_off_by__staff")


@router.get("/items/{int:pk}", response=ItemOut, summary="One item, in full or by its decision only")
def get_item(request, pk: Id):
    return _detail(request.user, queries.access_item(request.user, pk))


@router.get("/items/{int:pk}/history", response=list[EventOut], summary="Who changed what, and when")
def item_history(request, pk: Id):
    item = queries.access_item(request.user, pk)
    if not queries.sees_full_item(request.user, item):
        raise PermissionDenied(_("Only the submitting department, its reviewers and the secretariat see the history."))
    return [{"when": e.when, "who": e.who, "action": e.action, "message": e.message,
             "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in e.changes]}
            for e in timeline(item)]


# --- release check -------------------------------------------------------------------------------

class OutletRefOut(Schema):
    id: int
    code: str
    name: str


class OverloadOut(Schema):
    outlet: OutletRefOut
    week: date
    week_end: date
    load: float
    capacity: float
    excess: float


class ItemTitleRef(NumberRef):
    title: str


class YieldOut(Schema):
    number: str
    urgency: str
    work_orders: int
    new_start: date


class ReleaseCheckOut(Schema):
    item: ItemTitleRef
    outlets: int
    overloads: list[OverloadOut]
    over_capacity_outlets: int
    blackouts: list[str]
    proposal: list[YieldOut] = Field(description="Released items of lower urgency that could make room (accept "
                                                 "with the item action make_room and their number).")


@router.get("/items/{int:item_id}/release-check", response=ReleaseCheckOut,
            summary="Before deciding or releasing: the outlets an item would push over capacity, and blackouts")
def release_check(request, item_id: Id, stagger_groups: Annotated[int, Field(ge=-1000, le=1000)] = 1):
    item = queries.access_item(request.user, item_id)
    if not queries.sees_full_item(request.user, item):
        raise PermissionDenied(_("Only the submitting department, its reviewers and the secretariat see this."))
    check = services.release_check(item, stagger_groups)
    outlets = {o.pk: o for o in item.outlets.all()}
    return {
        "item": {"id": item.pk, "number": item.number, "title": item.title},
        "outlets": len(outlets),
        "overloads": [{"outlet": _ref(outlets[o.outlet]), "week": o.week, "week_end": o.week + timedelta(days=6),
                       "load": o.load, "capacity": o.capacity, "excess": o.excess}
                      for o in check["overloads"] if o.outlet in outlets],
        "over_capacity_outlets": len({o.outlet for o in check["overloads"]}),
        "blackouts": check["blackouts"],
        "proposal": [{k: p[k] for k in ("number", "urgency", "work_orders", "new_start")} for p in check["proposal"]],
    }



# --- drafting and editing ----------------------------------------------------------------------

class ItemFieldsIn(Schema):
    title: str | None = None
    item_type: str | None = None
    background: str | None = None
    actions: str | None = None
    target_mode: str | None = None
    effort_hours: Amount | None = None
    window_start: Day | None = None
    window_end: Day | None = None
    urgency: str | None = None
    customer_facing: bool | None = None
    customer_impact: str | None = None
    online_justification: str | None = None
    target_type_codes: list[str] | None = None
    cluster_codes: list[str] | None = None
    outlet_ids: IdList | None = None


class ItemIn(ItemFieldsIn):
    department_id: Id | None = Field(None, description="Defaults to my own department.")


class ItemPatchIn(ItemFieldsIn):
    version: Version | None = Field(None, description="The version shown; a stale one is refused with 400.")


TEXT_DEFAULTS = {"title": "", "item_type": "", "background": "", "actions": "", "target_mode": TargetMode.ALL,
                 "urgency": Urgency.NORMAL, "customer_facing": False, "customer_impact": "",
                 "online_justification": ""}


def _unknown(field: str, missing) -> str:
    listed = ", ".join(str(m) for m in sorted(missing))
    if field == "target_type_codes":
        return _("Unknown outlet types: %(codes)s.") % {"codes": listed}
    if field == "cluster_codes":
        return _("Unknown clusters: %(codes)s.") % {"codes": listed}
    return _("Not outlets within your view: %(ids)s.") % {"ids": listed}


def _targets(user, payload: ItemFieldsIn) -> dict:
    """target_type_codes / cluster_codes / outlet_ids → rows; unknown ones are a 400 naming the field."""
    lookups = (("target_type_codes", "target_types", OutletType.objects.all(), "code"),
               ("cluster_codes", "target_clusters", Cluster.objects.all(), "code"),
               ("outlet_ids", "target_list", visible_institutions(user).filter(level=Level.OUTLET), "pk"))
    errors, out = {}, {}
    for field, name, rows, key in lookups:
        given = getattr(payload, field)
        if given is None:
            continue
        wanted = {v.strip() for v in given if v.strip()} if key == "code" else set(given)
        out[name] = list(rows.filter(**{f"{key}__in": wanted}))
        missing = wanted - {getattr(r, key) for r in out[name]}
        if missing:
            errors[field] = _unknown(field, missing)
    if errors:
        raise ValidationError(errors)
    return out


def _item_fields(payload: ItemFieldsIn, *, creating: bool) -> dict:
    given = payload.dict(include=services.ITEM_FIELDS, exclude_unset=not creating)
    if creating:  # a field left out is blank, and the item's own validation names what is missing
        given = {k: (TEXT_DEFAULTS[k] if v is None and k in TEXT_DEFAULTS else v) for k, v in given.items()}
    _choice(given.get("item_type") or "", ItemType, "item_type")
    _choice(given.get("target_mode") or "", TargetMode, "target_mode")
    _choice(given.get("urgency") or "", Urgency, "urgency")
    for text in TEXT_DEFAULTS:  # null on a patch clears a text field rather than failing
        if text in given and given[text] is None:
            given[text] = TEXT_DEFAULTS[text]
    return given


@router.post("/items", response={201: ItemDetailOut}, summary="Draft an item")
def create_item(request, payload: ItemIn):
    department = None
    if payload.department_id is not None:
        department = Department.objects.filter(pk=payload.department_id, is_active=True).first()
        if department is None:
            raise ValidationError({"department_id": _("Unknown department.")})
    fields = _item_fields(payload, creating=True)
    targets = _targets(request.user, payload)
    item = services.save_item(request.user, department=department, **targets, **fields)
    return Status(201, _reload(request, item.pk))


@router.patch("/items/{int:pk}", response=ItemDetailOut, summary="Edit an undecided item (opinions given go stale)")
def edit_item(request, pk: Id, payload: ItemPatchIn):
    item = queries.access_item(request.user, pk)
    edit = ITEM_ACTIONS.authorize(request.user, item, "edit")
    fields = _item_fields(payload, creating=False)
    targets = _targets(request.user, payload)
    edit.run(request.user, item, {"expected_version": payload.version, **targets, **fields})
    return _reload(request, pk)


@router.post("/items/{int:pk}/attachments", response={201: ItemDetailOut},
             summary="Attach material: script, guide, training, emergency or other")
def add_attachment(request, pk: Id, kind: Form[str], file: File[UploadedFile]):
    item = queries.access_item(request.user, pk)
    ITEM_ACTIONS.authorize(request.user, item, "attach").run(request.user, item, {"kind": kind, "upload": file})
    return Status(201, _reload(request, pk))


@router.get("/items/{int:pk}/materials", response=list[MaterialVersionsOut],
            summary="An item's materials with every version (the current one is what work orders carry)")
def list_materials(request, pk: Id):
    item = queries.access_item(request.user, pk)
    if not queries.sees_full_item(request.user, item):
        raise Http404
    return [{"kind": m["current"].kind, "current": _attachment(m["current"]),
             "versions": [_attachment(a) for a in m["versions"]]} for m in queries.material_versions(item)]


@router.post("/items/{int:pk}/materials/revisions", response={201: ItemDetailOut},
             summary="Upload a new version of a decided item's material (or a material added after the decision): "
                     "the submitter to meet an open condition, the secretariat also without one")
def revise_material(request, pk: Id, file: File[UploadedFile], reason: Form[str],
                    replaces: Form[Id | None] = None, kind: Form[str] = "", condition: Form[Id | None] = None,
                    version: Form[Id | None] = None):
    item = queries.access_item(request.user, pk)
    if not queries.sees_full_item(request.user, item):
        raise Http404
    ITEM_ACTIONS.authorize(request.user, item, "revise_material").run(request.user, item, {
        "upload": file, "reason": reason, "replaces": replaces, "kind": kind, "condition": condition,
        "expected_version": version})
    return Status(201, _reload(request, pk))


@router.get("/items/{int:pk}/attachments/{int:att_pk}", url_name="coordination_item_attachment",
            summary="Download an item's material")
def download_attachment(request, pk: Id, att_pk: Id):
    item = queries.access_item(request.user, pk)
    if not queries.sees_full_item(request.user, item):
        raise Http404
    att = ItemAttachment.objects.filter(item=item, pk=att_pk).first()
    if att is None:
        raise Http404
    try:
        handle = att.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    return FileResponse(handle, as_attachment=True, filename=att.name)


# --- actions -----------------------------------------------------------------------------------

@router.post("/items/{int:pk}/actions/{action}", response=ItemOut,
             summary="Act on an item: " + ", ".join(a.name for a in ITEM_ACTIONS if a.schema is not None)
             + " (revise answers the new revision; allowed_actions says which the user may take now)")
def item_action(request, pk: Id, action: str, payload: schemas.ItemActionIn | None = None):
    item = queries.access_item(request.user, pk)
    result = run_action(ITEM_ACTIONS, request.user, item, action, payload)
    return _reload(request, result.pk if isinstance(result, Item) else item.pk)


# --- conditions --------------------------------------------------------------------------------

def _access_condition(user, pk: int) -> Condition:
    cond = Condition.objects.filter(pk=pk, item__in=queries.visible_items(user)).select_related(
        "item__department__institution").first()
    if cond is None:
        raise Http404
    return cond


@router.post("/conditions/{int:pk}/met", response=ItemDetailOut, summary="Report a condition met, with evidence")
def condition_met(request, pk: Id, payload: schemas.MetIn):
    cond = _access_condition(request.user, pk)
    run_action(CONDITION_ACTIONS, request.user, cond, "met", payload)
    return _reload(request, cond.item_id)


@router.post("/conditions/{int:pk}/signoff", response=ItemDetailOut,
             summary="Sign a condition off (the last one issues the approval number) or send it back")
def condition_signoff(request, pk: Id, payload: schemas.SignoffIn):
    cond = _access_condition(request.user, pk)
    run_action(CONDITION_ACTIONS, request.user, cond, "signoff", payload)
    return _reload(request, cond.item_id)


# --- meetings ----------------------------------------------------------------------------------

class MeetingFields(Schema):
    id: int
    label: str = MEETING_LABEL
    year: int
    sequence: int
    held_on: date
    cutoff_at: datetime
    status: str
    location: str
    items: int


class MeetingOut(MeetingFields):
    """A meeting in the list (read from the annotated queryset)."""

    @staticmethod
    def resolve_label(obj):
        return str(obj)

    @staticmethod
    def resolve_items(obj):
        return obj.item_count


class AgendaItemOut(Schema):
    id: int
    number: str = ITEM_NUMBER
    title: str
    department: Ref
    status: str
    decision: str
    approval_number: str = APPROVAL_NUMBER
    agenda_order: int
    urgent_addition_reason: str
    consent: bool


class QuorumOut(Schema):
    ok: bool
    problems: list[str] = Field(description="What is missing; without quorum the meeting can only defer.")
    chair_required: bool
    chair_present: bool
    review_departments_needed: int
    review_departments_present: list[Ref]
    review_departments_absent: list[Ref]


class FeedbackOut(Schema):
    id: int
    case: NumberRef
    title: str
    institution: Ref
    status: str
    note: str
    deferred_from: MeetingRef | None
    deferred_to: MeetingRef | None
    answer: str
    follow_up_department: Ref | None
    follow_up_person: PersonOut | None
    follow_up_due: date | None
    answered_at: datetime | None
    done_note: str
    done_at: datetime | None
    allowed_actions: list[str] = ACTIONS_FIELD


class PostReviewOut(Schema):
    id: int
    item: NumberRef
    title: str
    status: str = Field(description="open, recorded or deferred")
    flagged_metrics: list[str] = Field(description="The metrics the watch flagged: overtime_ratio, complaints_per_10k.")
    deferred_from: MeetingRef | None
    deferred_to: MeetingRef | None
    outcome: str
    note: str
    recorded_by: PersonOut | None
    recorded_at: datetime | None
    allowed_actions: list[str] = ACTIONS_FIELD


class MeetingDetailOut(MeetingFields):
    branch: Ref
    chair: PersonOut | None
    attendees: list[PersonOut]
    quorum: QuorumOut
    notes: str
    agenda: list[AgendaItemOut]
    feedback: list[FeedbackOut] = Field(description="Outlets' feedback raised to the meeting (readers of minutes).")
    post_reviews: list[PostReviewOut] = Field(description="Items the post-release watch flagged back to the meeting "
                                                          "(readers of minutes).")
    allowed_actions: list[str] = ACTIONS_FIELD


def _post_review(user, e: PostReview) -> dict:
    later = getattr(e, "deferred_to", None) if e.status == PostReview.Status.DEFERRED else None
    watch = getattr(e.item, "watch", None)
    return {"id": e.pk, "item": {"id": e.item.pk, "number": e.item.number}, "title": e.item.title,
            "status": e.status, "flagged_metrics": [m["metric"] for m in (watch.result.get("metrics") or {}).values()
                                                    if m.get("flagged")] if watch else [],
            "deferred_from": _meeting_ref(e.deferred_from.meeting) if e.deferred_from_id else None,
            "deferred_to": _meeting_ref(later.meeting) if later else None,
            "outcome": e.outcome, "note": e.note, "recorded_by": _person(e.recorded_by), "recorded_at": e.recorded_at,
            "allowed_actions": POST_REVIEW_ACTIONS.allowed(user, e)}


def _feedback(user, e) -> dict:
    later = getattr(e, "deferred_to", None) if e.status == e.Status.DEFERRED else None
    return {"id": e.pk, "case": {"id": e.case.pk, "number": e.case.number}, "title": e.case.title,
            "institution": _ref(e.case.institution), "status": e.status, "note": e.note,
            "deferred_from": _meeting_ref(e.deferred_from.meeting) if e.deferred_from_id else None,
            "deferred_to": _meeting_ref(later.meeting) if later else None,
            "answer": e.answer, "follow_up_department": _ref(e.follow_up_department),
            "follow_up_person": _person(e.follow_up_person), "follow_up_due": e.follow_up_due,
            "answered_at": e.answered_at, "done_note": e.done_note, "done_at": e.done_at,
            "allowed_actions": FEEDBACK_ACTIONS.allowed(user, e)}


def _meeting(m: Meeting, items: int) -> dict:
    return {"id": m.pk, "label": str(m), "year": m.year, "sequence": m.sequence, "held_on": m.held_on,
            "cutoff_at": m.cutoff_at, "status": m.status, "location": m.location, "items": items}


def _meeting_detail(user, meeting: Meeting) -> dict:
    """The meeting with its agenda in order — the items on it the user may see, each with its consent flag."""
    agenda = list(queries.visible_items(user).filter(meeting=meeting).select_related("department")
                  .prefetch_related(Prefetch("opinions", queryset=Opinion.objects.prefetch_related("lines")))
                  .order_by("agenda_order", "id"))
    data = _meeting(meeting, len(agenda))
    data.update(
        branch=_ref(meeting.branch), chair=_person(meeting.chair), notes=meeting.notes,
        attendees=[_person(u) for u in meeting.attendees.select_related("staff").order_by("staff__name", "pk")],
        agenda=[{"id": i.pk, "number": i.number, "title": i.title, "department": _ref(i.department),
                 "status": i.status, "decision": i.decision, "approval_number": i.approval_number,
                 "agenda_order": i.agenda_order, "urgent_addition_reason": i.urgent_addition_reason,
                 "consent": i.status == ItemStatus.SUBMITTED and services.is_consent(i)} for i in agenda],
        allowed_actions=MEETING_ACTIONS.allowed(user, meeting),
        quorum=_quorum(meeting),
        feedback=[_feedback(user, e) for e in queries.feedback_entries(user, meeting)],
        post_reviews=[_post_review(user, e) for e in queries.post_reviews(user, meeting)],
    )
    return data


def _quorum(meeting: Meeting) -> dict:
    q = queries.quorum(meeting)
    return {"ok": q["ok"], "problems": q["problems"], "chair_required": q["chair_required"],
            "chair_present": q["chair_present"], "review_departments_needed": q["needed"],
            "review_departments_present": [_ref(d) for d in q["present"]],
            "review_departments_absent": [_ref(d) for d in q["absent"]]}


def _access_meeting(user, pk: int) -> Meeting:
    meeting = queries.access_meeting(user, pk)
    return Meeting.objects.select_related("branch", "chair__staff").get(pk=meeting.pk)


class MeetingFilter(Schema):
    status: str = one_of(Meeting.Status.values)
    year: Year | None = None


@router.get("/meetings", response=list[MeetingOut], summary="Coordination meetings, newest first")
@paginate(Pages)
def list_meetings(request, filters: Query[MeetingFilter]):
    status, year = filters.status, filters.year
    _choice(status, Meeting.Status, "status")
    qs = queries.meetings_with_counts(request.user).annotate(item_count=F("n_items"))  # the items they see
    if status:
        qs = qs.filter(status=status)
    if year:
        qs = qs.filter(year=year)
    return qs.order_by("-held_on", "-id")


class MeetingIn(Schema):
    held_on: date
    location: str = ""
    branch_id: Id | None = Field(None, description="Defaults to my own branch.")
    chair_id: Id | None = Field(None, description="The chair: a branch leader or the head of operations management.")


@router.post("/meetings", response={201: MeetingDetailOut}, summary="Plan a meeting (numbered 第N次会议 in its year)")
def create_meeting(request, payload: MeetingIn):
    if payload.branch_id is not None:
        branch = visible_institutions(request.user).filter(
            pk=payload.branch_id, level__in=[Level.TIER1_BRANCH, Level.TIER2_BRANCH]).first()
        if branch is None:
            raise ValidationError({"branch_id": _("Choose a branch within your view.")})
    else:
        staff = getattr(request.user, "staff", None)
        if staff is None:
            raise ValidationError({"branch_id": _("Choose the branch.")})
        branch = services.branch_of(staff.institution)
    chair = schemas.users([payload.chair_id], "chair_id")[0] if payload.chair_id is not None else None
    meeting = services.create_meeting(request.user, branch, payload.held_on, payload.location, chair=chair)
    return Status(201, _meeting_detail(request.user, _access_meeting(request.user, meeting.pk)))


class AwaitingOut(Schema):
    item: NumberRef
    title: str
    item_type: str
    department: Ref
    review_department: Ref
    meeting: MeetingRef
    cutoff_at: datetime
    state: str = Field(description="none (not given yet), stale (the item changed after it), or partial (a "
                                   "required dimension of the remit not answered)")
    missing: list[CodeOut] = Field(description="The required dimensions of the department's remit still owed.")


@router.get("/reviews/waiting", response=list[AwaitingOut],
            summary="My review department's work list: items waiting for its opinion, soonest cut-off first")
def reviews_waiting(request):
    if not request.user.has_perm("coordination.review_item"):
        raise PermissionDenied
    return [{"item": {"id": o.item.pk, "number": o.item.number}, "title": o.item.title,
             "item_type": o.item.item_type, "department": _ref(o.item.department),
             "review_department": _ref(o.department), "meeting": _meeting_ref(o.item.meeting),
             "cutoff_at": o.item.meeting.cutoff_at,
             "state": "none" if o.submitted_at is None else "stale" if o.is_stale else "partial",
             "missing": [_code(d) for d in o.missing]} for o in queries.awaiting_opinion(request.user)]


@router.get("/meetings/{int:pk}", response=MeetingDetailOut, summary="A meeting with its agenda in order")
def get_meeting(request, pk: Id):
    return _meeting_detail(request.user, _access_meeting(request.user, pk))


@router.post("/meetings/{int:pk}/actions/{action}", response=MeetingDetailOut,
             summary="Run a meeting: " + ", ".join(MEETING_ACTIONS.names()))
def meeting_action(request, pk: Id, action: str, payload: schemas.MeetingActionIn | None = None):
    meeting = queries.access_meeting(request.user, pk)
    run_action(MEETING_ACTIONS, request.user, meeting, action, payload)
    return _meeting_detail(request.user, _access_meeting(request.user, pk))


@router.post("/feedback/{int:pk}/actions/{action}", response=FeedbackOut,
             summary="Feedback on a meeting's agenda: " + ", ".join(FEEDBACK_ACTIONS.names()))
def feedback_action(request, pk: Id, action: str, payload: schemas.FeedbackActionIn | None = None):
    entry = queries.access_feedback(request.user, pk)
    run_action(FEEDBACK_ACTIONS, request.user, entry, action, payload)
    return _feedback(request.user, queries.access_feedback(request.user, pk))


# --- the minutes ---------------------------------------------------------------------------------

class MinutesConditionOut(Schema):
    id: int
    text: str
    owner_department: Ref
    due_date: date
    proof: str
    status: str


class MinutesWaiverOut(Schema):
    dimension: CodeOut
    reason: str
    waived_by: PersonOut
    waived_at: datetime
    is_stale: bool


class MinutesItemOut(Schema):
    id: int
    number: str = Field(description="Item number (事项编号).")
    title: str
    department: Ref
    item_type: str
    consent: bool = Field(description="Approved in the consent block (无异议事项).")
    opinions: list[OpinionOut] = Field(description="Every review department's opinion, one line per dimension.")
    decision: str
    decision_reasons: str
    approval_number: str = Field(description="Approval number (批准文号), once issued.")
    waivers: list[MinutesWaiverOut]
    conditions: list[MinutesConditionOut]


class MinutesFollowUpOut(MinutesConditionOut):
    item: NumberRef
    meeting: MeetingRef


class MinutesFeedbackOut(Schema):
    case: NumberRef
    title: str
    institution: Ref
    status: str
    answer: str
    follow_up_department: Ref | None
    follow_up_person: PersonOut | None
    follow_up_due: date | None
    done_note: str


class MinutesMetricOut(Schema):
    metric: str = Field(description="overtime_ratio or complaints_per_10k")
    effect: float
    low: float
    high: float


class MinutesPostReviewOut(Schema):
    id: int
    item: NumberRef
    title: str
    approval_number: str
    status: str = Field(description="open, recorded, or deferred (carried to the next meeting).")
    outcome: str = Field(description="successful, with_issues or failed once recorded.")
    note: str = Field(description="The meeting's conclusion.")
    flagged_metrics: list[MinutesMetricOut] = Field(
        description="What the post-release watch flagged: the effect and its 95% interval.")


class MinutesOut(Schema):
    meeting: MeetingRef
    state: Literal["draft", "issued", "approved"] = Field(
        description="draft (meeting open; 草稿), issued (closed by the secretariat, waiting for the chair), "
                    "approved (numbered and stored: final).")
    number: str = Field(description="The minutes' document number (文号), given on the chair's approval.")
    chair: PersonOut | None
    present: list[PersonOut] = Field(description="出席")
    observers: list[PersonOut] = Field(description="列席")
    on_leave: list[PersonOut] = Field(description="请假")
    items: list[MinutesItemOut]
    feedback: list[MinutesFeedbackOut]
    post_reviews: list[MinutesPostReviewOut] = Field(
        description="Post-implementation reviews the post-release watch brought to the meeting (实施后评估).")
    notes: str = Field(description="Other business (其他事项).")
    follow_up: list[MinutesFollowUpOut] = Field(
        description="Conditions of earlier meetings still open, or signed off since the previous meeting.")
    issued_by: PersonOut | None
    issued_at: datetime | None
    approved_by: PersonOut | None
    approved_at: datetime | None
    sha256: str = Field(description="SHA-256 of the stored document (approved minutes only).")
    document_url: str = Field(description="The .docx: the stored bytes once approved, else the draft.")
    allowed_actions: list[str] = ACTIONS_FIELD


def _minutes_condition(c: Condition) -> dict:
    return {"id": c.pk, "text": c.text, "owner_department": _ref(c.owner_department), "due_date": c.due_date,
            "proof": c.proof, "status": c.status}


def _minutes_item(i: Item) -> dict:
    return {"id": i.pk, "number": i.number, "title": i.title, "department": _ref(i.department),
            "item_type": i.item_type, "consent": i.consent, "opinions": [_opinion(o) for o in i.opinions.all()],
            "decision": i.decision, "decision_reasons": i.decision_reasons, "approval_number": i.approval_number,
            "waivers": [{"dimension": _code(w.dimension), "reason": w.reason, "waived_by": _person(w.waived_by),
                         "waived_at": w.waived_at, "is_stale": w.is_stale} for w in i.waivers.all()],
            "conditions": [_minutes_condition(c) for c in i.conditions.all()]}


def _minutes_feedback(e) -> dict:
    return {"case": {"id": e.case.pk, "number": e.case.number}, "title": e.case.title,
            "institution": _ref(e.case.institution), "status": e.status, "answer": e.answer,
            "follow_up_department": _ref(e.follow_up_department), "follow_up_person": _person(e.follow_up_person),
            "follow_up_due": e.follow_up_due, "done_note": e.done_note}


def _minutes_post_review(e) -> dict:
    return {"id": e.pk, "item": {"id": e.item.pk, "number": e.item.number}, "title": e.item.title,
            "approval_number": e.item.approval_number, "status": e.status, "outcome": e.outcome,
            "note": e.note, "flagged_metrics": [
                {k: m[k] for k in ("metric", "effect", "low", "high")} for m in e.flagged_metrics]}


def _minutes_follow_up(c: Condition) -> dict:
    return _minutes_condition(c) | {"item": {"id": c.item.pk, "number": c.item.number},
                                    "meeting": _meeting_ref(c.item.meeting)}


def _minutes_document(doc) -> dict:
    """The stored document's fields; blank while no minutes document exists yet."""
    if not doc:
        return {"number": "", "approved_by": None, "approved_at": None, "sha256": ""}
    return {"number": doc.number, "approved_by": _person(doc.approved_by), "approved_at": doc.approved_at,
            "sha256": doc.sha256}


def _minutes(user, meeting: Meeting) -> dict:
    content = queries.minutes_content(meeting)
    doc = _minutes_document(content["document"])
    return {
        "meeting": _meeting_ref(meeting), "state": content["state"], "number": doc["number"],
        "chair": _person(meeting.chair), "present": [_person(u) for u in content["present"]],
        "observers": [_person(u) for u in content["observers"]], "on_leave": [_person(u) for u in content["on_leave"]],
        "items": [_minutes_item(i) for i in content["items"]],
        "feedback": [_minutes_feedback(e) for e in content["feedback"]],
        "post_reviews": [_minutes_post_review(e) for e in content["post_reviews"]],
        "notes": meeting.notes,
        "follow_up": [_minutes_follow_up(c) for c in content["follow_up"]],
        "issued_by": _person(meeting.minutes_issued_by), "issued_at": meeting.minutes_issued_at,
        "approved_by": doc["approved_by"], "approved_at": doc["approved_at"],
        "sha256": doc["sha256"],
        "document_url": reverse("api:coordination_minutes_document", kwargs={"pk": meeting.pk}),
        "allowed_actions": [a for a in MEETING_ACTIONS.allowed(user, meeting) if a in ("issue", "approve")],
    }


@router.get("/meetings/{int:pk}/minutes", response=MinutesOut,
            summary="The minutes of a meeting (drafts: the secretariat and the chair only); issue and approve "
                    "through the meeting's actions")
def get_minutes(request, pk: Id):
    return _minutes(request.user, queries.access_minutes(request.user, pk))


@router.get("/meetings/{int:pk}/minutes/document", url_name="coordination_minutes_document",
            summary="The minutes as .docx: the stored bytes once approved (never rebuilt), else the draft")
def minutes_document(request, pk: Id):
    return minutes_response(queries.access_minutes(request.user, pk))
@router.post("/post-reviews/{int:pk}/actions/{action}", response=PostReviewOut,
             summary="A post-implementation review on a meeting's agenda: " + ", ".join(POST_REVIEW_ACTIONS.names()))
def post_review_action(request, pk: Id, action: str, payload: schemas.PostReviewIn | None = None):
    entry = queries.access_post_review(request.user, pk)
    run_action(POST_REVIEW_ACTIONS, request.user, entry, action, payload)
    return _post_review(request.user, queries.access_post_review(request.user, pk))


# --- post-release watch ------------------------------------------------------------------------

class WatchMetricOut(Schema):
    metric: str = Field(description="overtime_ratio (a share, 0–1) or complaints_per_10k")
    status: str = Field(description="ok, or not_enough_outlets (fewer than 3 target or comparison outlets with "
                                    "data before and after): then no figure")
    effect: float | None = Field(description="Difference in differences: the target outlets' change minus the "
                                             "comparison outlets' change.")
    low: float | None = Field(description="95 % bootstrap interval, lower end")
    high: float | None
    threshold: float
    flagged: bool
    n_treated: int
    n_control: int


class WatchGroupOut(Schema):
    overtime_ratio: list[float | None]
    complaints_per_10k: list[float | None]


class WatchSeriesOut(Schema):
    weeks: list[date] = Field(description="The Monday of each week: four before the window's week, four from it.")
    treated: WatchGroupOut
    control: WatchGroupOut


class WatchOut(Schema):
    status: str = Field(description="pending (the four weeks after have not been evaluated yet), ok, or "
                                    "not_enough_outlets")
    evaluated_at: datetime | None
    flagged: bool
    n_treated: int
    n_control: int
    before: list[date]
    after: list[date]
    metrics: list[WatchMetricOut]
    series: WatchSeriesOut | None
    review_outcome: str


@router.get("/items/{int:pk}/watch", response=WatchOut,
            summary="The post-release watch of an item: its target outlets against the others, before and after")
def item_watch(request, pk: Id):
    item = queries.access_item(request.user, pk)
    return queries.watch_data(item, queries.watch_of(request.user, item))


# --- register figures and verification ---------------------------------------------------------

class DecisionShareOut(Schema):
    decision: str
    label: str
    count: int
    share: float | None


class NamedCountOut(Schema):
    key: str
    label: str
    count: int


class StatisticsOut(Schema):
    meetings_held: int
    items: int
    decided: int
    by_decision: list[DecisionShareOut]
    by_department: list[NamedCountOut]
    by_type: list[NamedCountOut]
    median_days_to_decision: float | None
    conditions_open: int
    conditions_overdue: int
    work_orders: int
    work_orders_done: int
    work_orders_done_on_time: int


@router.get("/register/statistics", response=StatisticsOut, summary="The register's figures within my view")
def register_statistics(request, since: Day | None = None, until: Day | None = None):
    stats = queries.statistics(request.user, since=since, until=until)
    types = dict(ItemType.choices)
    stats["by_department"] = [{"key": r["department__name"], "label": r["department__name"], "count": r["n"]}
                              for r in stats["by_department"]]
    stats["by_type"] = [{"key": r["item_type"], "label": str(types.get(r["item_type"], r["item_type"])),
                         "count": r["n"]} for r in stats["by_type"]]
    return stats


class WindowOut(Schema):
    start: date
    end: date


class VerifiedItemOut(Schema):
    number: str
    title: str
    department: str
    window: WindowOut
    outlets_count: int
    targets_my_outlet: bool
    valid_until: date | None


class VerifyOut(Schema):
    number: str = Field(description="The number as issued (as typed when it is unknown).")
    typed: str = Field(description="The number as typed: brackets, widths, zeros and 第/号 are forgiven.")
    status: Literal["valid", "unknown", "revoked", "expired"]
    message: str
    item: VerifiedItemOut | None


def _verify_message(result: dict) -> str:
    status, item = result["status"], result.get("item")
    if status == "valid":
        return _("This number is valid: “%(title)s” was reviewed and approved by the coordination meeting "
                 "and may be carried out from %(start)s to %(end)s.") % {
            "title": item.title, "start": item.window_start, "end": item.window_end}
    if status == "revoked":
        return _("This number was revoked (%(reason)s): the work is no longer approved, and the outlet may "
                 "decline it.") % {"reason": result.get("reason") or _("no reason given")}
    if status == "expired":
        return _("This number expired on %(date)s: the work is no longer approved, and the outlet may "
                 "decline it.") % {"date": result["expired_on"]}
    return _("This number is not on the register: the work was not reviewed by the coordination meeting, and "
             "the outlet may decline it.")


@router.get("/verify", response=VerifyOut, summary="Verify an approval number (any staff member)")
def verify(request, number: str = Query(..., pattern=r"\S", max_length=100)):  # noqa: B008 - required, as the document says
    if not number.strip():
        raise ValidationError({"number": _("Give the approval number to verify.")})
    result = services.verify_number(number)
    item = result.get("item")
    summary = None
    if item is not None:
        staff = getattr(request.user, "staff", None)
        summary = {
            "number": item.number, "title": item.title, "department": item.department.name,
            "window": {"start": item.window_start, "end": item.window_end},
            "outlets_count": item.outlets.count(),
            "targets_my_outlet": bool(staff and item.outlets.filter(pk=staff.institution_id).exists()),
            "valid_until": result.get("valid_until") or result.get("expired_on"),
        }
    return {"number": result["number"], "typed": result["typed"], "status": result["status"],
            "message": _verify_message(result),
            "item": summary}

