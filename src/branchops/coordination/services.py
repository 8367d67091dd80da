"""Every write of the coordination mechanism: items, opinions, meetings, decisions, conditions,
approval numbers. Each service takes the actor first, checks permission and rule, runs in one
transaction, writes the timeline, and notifies after commit."""

import re
import unicodedata
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from branchops.cases import services as case_services
from branchops.core import clock
from branchops.core.actions import require
from branchops.core.services import (
    check_lengths,
    document_number,
    length_errors,
    lock_versioned,
    next_number,
    notify,
    record_timeline,
    require_perm,
    save_versioned,
    stamp_history,
    store_document,
)
from branchops.core.workdays import add_working_days, is_working_day
from branchops.dispatch import queries as dispatch_queries
from branchops.dispatch import rules as dispatch_rules
from branchops.dispatch import services as dispatch
from branchops.dispatch import workload
from branchops.dispatch.models import Release, WorkOrder
from branchops.org.models import Cluster, Department, Institution, Level, OutletType

from . import queries, rules, watch
from .models import (
    Condition,
    Decision,
    FeedbackEntry,
    Item,
    ItemAttachment,
    ItemStatus,
    Meeting,
    Opinion,
    OpinionLine,
    PostReview,
    ReviewDimension,
    ReviewOutcome,
    Settings,
    TargetMode,
    Waiver,
    WatchResult,
)
from .queries import branch_of, describe_gap, is_consent, item_load, quorum, review_gap, settings_for

User = get_user_model()

ITEM_FIELDS = {"title", "item_type", "background", "actions", "target_mode", "effort_hours", "window_start",
               "window_end", "urgency", "customer_facing", "customer_impact", "online_justification"}
WEAK_JUSTIFICATION = 20  # characters: "无" or "不能线上" is not an answer


# --- helpers -------------------------------------------------------------------------------------

def create_settings(sender=None, *, actor=None, branch: Institution, **kwargs) -> Settings:
    """The branch's coordination settings, made with the branch (org's ``branch_created`` hook)."""
    return Settings.objects.get_or_create(branch=branch)[0]


def _lock(item: Item, expected_version: int | None = None) -> Item:
    return lock_versioned(item, expected_version,
                          _("This item was changed by someone else in the meantime; reload it and try again."))


_save = save_versioned


def _staff(actor):
    return getattr(actor, "staff", None) if actor is not None else None


def _users_with_perm(codename: str, **staff_filter) -> list:
    return list(User.objects.filter(is_active=True, groups__permissions__codename=codename,
                                    **{f"staff__{k}": v for k, v in staff_filter.items()}).distinct())


def resolve_outlets(item: Item) -> list[Institution]:
    """The active outlets an item targets, within the submitting department's branch."""
    branch = branch_of(item.department.institution)
    qs = Institution.objects.filter(level=Level.OUTLET, is_active=True, path__startswith=branch.path)
    if item.target_mode == TargetMode.BY_TYPE:
        qs = qs.filter(outlet_type__in=item.target_types.all())
    elif item.target_mode == TargetMode.BY_CLUSTER:
        qs = qs.filter(cluster__in=item.target_clusters.all())
    elif item.target_mode == TargetMode.LIST:
        qs = qs.filter(pk__in=item.target_list.values("pk"))
    return list(qs.order_by("path"))


# --- items ---------------------------------------------------------------------------------------

TARGETS = {TargetMode.BY_TYPE: "target_types", TargetMode.BY_CLUSTER: "target_clusters",
           TargetMode.LIST: "target_list"}
REASON_LENGTH = 200  # the reasons stored with an item (urgent addition, revocation) and its actions'


def _not_owner():
    return _("Only the submitting department can change this item.")


@transaction.atomic
def save_item(actor, item: Item | None = None, *, department: Department | None = None, target_types=None,
              target_clusters=None, target_list=None, expected_version: int | None = None, **fields) -> Item:
    """Draft a new item or edit one not yet decided. Editing a submitted item marks the opinions
    already given as stale: their reviewers are asked again."""
    unknown = set(fields) - ITEM_FIELDS
    if unknown:
        raise TypeError(f"unknown item fields: {sorted(unknown)}")
    creating = item is None
    item = _new_item(actor, department) if creating else _editable(actor, item, expected_version)
    for name, value in fields.items():
        setattr(item, name, value)
    item.full_clean(exclude=["number", "submitter", "department", "version"])
    if item.effort_hours < 0:
        raise ValidationError({"effort_hours": _("The effort cannot be negative.")})
    if creating:
        year = clock.today().year
        item.number = f"SH-{year}-{next_number('coordination:item', year):04d}"
        stamp_history(item, actor)
        item.save()
    else:
        _save(actor, item, list(fields))
    _set_targets(item, target_types=target_types, target_clusters=target_clusters, target_list=target_list)
    record_timeline(actor, item, "drafted" if creating else "edited",
                    _("Item drafted") if creating else _("Item edited"))
    if not creating and item.status == ItemStatus.SUBMITTED:
        item.precheck = precheck(item)
        Item.objects.filter(pk=item.pk).update(precheck=item.precheck)
        _mark_opinions_stale(actor, item)
    return item


def _new_item(actor, department: Department | None) -> Item:
    require_perm(actor, "coordination.submit_item")  # before the department is looked for
    staff = _staff(actor)
    department = department or (staff.department if staff else None)
    if department is None:
        raise ValidationError({"department": _("Choose the submitting department.")})
    require(rules.drafts_for, actor, department, _("You can only submit items for your own department."))
    return Item(department=department, submitter=actor or department.staff.first().user)


def _editable(actor, item: Item, expected_version: int | None) -> Item:
    item = _lock(item, expected_version)
    require(rules.edits, actor, item, _not_owner())
    check_editable(item)
    return item


def check_editable(item: Item) -> None:
    """Refuse, saying why, an item that can no longer be edited (the edit page asks it first)."""
    if item.status not in rules.EDITABLE:
        raise ValidationError(_("A decided or withdrawn item can no longer be edited; revise it instead."))
    if not rules.agenda_open(item):
        raise ValidationError(_("The meeting has been held; the item can no longer be edited."))


def _target_choices(item: Item) -> dict:
    """What an item may target: active outlet types, and the clusters and active outlets of its branch."""
    branch = branch_of(item.department.institution)
    return {
        "target_types": OutletType.objects.filter(is_active=True),
        "target_clusters": Cluster.objects.filter(institution__path__startswith=branch.path),
        "target_list": Institution.objects.filter(level=Level.OUTLET, is_active=True, path__startswith=branch.path),
    }


def _set_targets(item: Item, **targets) -> None:
    """Set the targets given (None: unchanged) within the item's choices, check that the chosen mode
    has at least one, and resolve the outlets. Choices of another mode are refused, never silently
    ignored (clusters ticked beside "all outlets" would read as targeted); a mode's old choices are
    cleared when the mode changes."""
    choices, errors = _target_choices(item), {}
    needed = TARGETS.get(item.target_mode)
    mode = TargetMode(item.target_mode).label
    for name, rows in targets.items():
        rows = None if rows is None else list(rows)
        if name != needed:
            error = _clear_other_mode(item, name, rows, mode)
        else:
            error = _set_chosen(item, name, rows, choices[name])
        if error:
            errors[name] = error
    if needed and needed not in errors and not getattr(item, needed).exists():
        errors[needed] = _("Choose at least one.")
    if errors:
        raise ValidationError(errors)
    item.outlets.set(resolve_outlets(item))


def _clear_other_mode(item: Item, name: str, rows: list | None, mode: str) -> str | None:
    """A choice of a mode other than the item's: refused if given, its old rows cleared if not
    (a mode's old choices must not linger once the mode changed). Returns the error, if any."""
    if rows:
        return _("The target mode is “%(mode)s”: clear this choice, or choose its mode.") % {"mode": mode}
    if getattr(item, name).exists():
        getattr(item, name).clear()
    return None


def _set_chosen(item: Item, name: str, rows: list | None, choices) -> str | None:
    """The chosen mode's rows (None: unchanged), set only when all are within the item's choices;
    returns the error naming those outside, if any."""
    if rows is None:
        return None
    allowed = set(choices.filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True))
    outside = [str(r) for r in rows if r.pk not in allowed]
    if outside:
        return _("Not within the item's branch, or no longer active: %(names)s.") % {"names": "、".join(outside)}
    getattr(item, name).set(rows)
    return None


def _mark_opinions_stale(actor, item: Item) -> None:
    given = item.opinions.filter(submitted_at__isnull=False, is_stale=False)
    for opinion in given.select_related("reviewer"):
        opinion.is_stale = True
        opinion.save(update_fields=["is_stale", "updated_at"])
        record_timeline(actor, item, "opinion_stale", _("The item changed after %(dept)s gave its opinion") % {
            "dept": opinion.department.name})
        if opinion.reviewer_id:
            notify(opinion.reviewer, _("Item %(number)s changed: please review it again") % {"number": item.number},
                   url=item.get_absolute_url())
    item.waivers.filter(is_stale=False).update(is_stale=True)


@transaction.atomic
def add_attachment(actor, item: Item, kind: str, upload, *, expected_version: int | None = None) -> ItemAttachment:
    import os

    item = _lock(item, expected_version)
    require(rules.owns, actor, item, _not_owner())
    if item.status not in rules.EDITABLE:
        raise ValidationError(_("A decided item's materials are fixed."))
    if kind not in ItemAttachment.Kind.values:
        raise ValidationError({"kind": _("Choose what the file is.")})
    if upload.size > MAX_UPLOAD:
        raise ValidationError({"file": _("A file may be at most 20 MB.")})
    att = ItemAttachment(item=item, kind=kind, name=os.path.basename(upload.name)[:200], uploaded_by=actor)
    att.file.save(att.name, upload, save=False)
    att.save()
    record_timeline(actor, item, "edited", _("Material attached: %(name)s") % {"name": att.name})
    if item.status == ItemStatus.SUBMITTED:
        Item.objects.filter(pk=item.pk).update(precheck=precheck(item))
        _mark_opinions_stale(actor, item)
    return att


MAX_UPLOAD = 20 * 1024 * 1024


def _check_revision(actor, item: Item, *, upload, reason: str, kind: str, replaces: int | None,
                    condition: int | None) -> tuple:
    """Check a material revision's inputs, collecting every error before raising them together (the
    form shows them all at once). Returns the condition met, the version replaced and the kind (a
    new version keeps the kind of the one it replaces)."""
    errors = {}
    if not reason:
        errors["reason"] = _("Say why the material is revised.")
    errors |= length_errors(reason=(reason, REASON_LENGTH))
    cond = _revision_condition(actor, item, condition, errors)
    previous = None
    if replaces is not None:
        previous = item.attachments.filter(pk=replaces).first()
        error = _replaced_error(previous)
        if error:
            errors["replaces"] = error
        else:
            kind = previous.kind
    if previous is None and kind not in ItemAttachment.Kind.values:
        errors.setdefault("kind", _("Choose what the file is."))
    if upload is None or not getattr(upload, "size", 0):
        errors["file"] = _("Choose a file that is not empty.")
    elif upload.size > MAX_UPLOAD:
        errors["file"] = _("A file may be at most 20 MB.")
    if errors:
        raise ValidationError(errors)
    return cond, previous, kind


def _revision_condition(actor, item: Item, condition: int | None, errors: dict) -> Condition | None:
    """The open condition a revision meets, noting in ``errors`` why not; only the secretariat may
    revise without one (a correction)."""
    if condition is None:
        if not rules.decides(actor, item):
            errors["condition"] = _("Name the open condition the revision meets (only the secretariat revises "
                                    "without one).")
        return None
    cond = item.conditions.filter(pk=condition).first()
    if cond is None:
        errors["condition"] = _("Not a condition of this item.")
    elif cond.status == Condition.Status.SIGNED_OFF:
        errors["condition"] = _("This condition is already signed off: its material can no longer change.")
    return cond


def _replaced_error(previous: ItemAttachment | None) -> str | None:
    """Why the version named as replaced cannot be: only the item's current version may be revised."""
    if previous is None:
        return _("Not a material of this item.")
    if not previous.is_current:
        return _("A later version of this material exists: revise the current version.")
    return None


@transaction.atomic
def revise_material(actor, item: Item, *, upload, reason: str, kind: str = "", replaces: int | None = None,
                    condition: int | None = None, expected_version: int | None = None) -> ItemAttachment:
    """A new version of a decided item's material (or a material added after the decision): who, when,
    why and which condition it meets are kept; the version it replaces stays readable. The submitter
    revises only to meet an open condition; the secretariat also without one (a correction). Outlets
    with open work orders are told that the material they work to has changed."""
    import os

    require(rules.revises_materials, actor, item, _not_owner())
    item = _lock(item, expected_version)
    if not rules.materials_revisable(item):
        raise ValidationError(_("Materials are revised only while the item's decision is in force (conditionally "
                                "approved, approved or released, and not revoked)."))
    reason = (reason or "").strip()
    cond, previous, kind = _check_revision(actor, item, upload=upload, reason=reason, kind=kind,
                                           replaces=replaces, condition=condition)
    att = ItemAttachment(item=item, kind=kind, name=os.path.basename(upload.name)[:200], uploaded_by=actor,
                         uploaded_at=clock.now(), version=previous.version + 1 if previous else 1,
                         previous=previous, condition=cond, reason=reason)
    att.file.save(att.name, upload, save=False)
    if previous is not None:  # one current version per material; the earlier one stays readable
        previous.is_current = False
        previous.save(update_fields=["is_current"])
    att.save()
    _save(actor, item, [])  # the version moves: a page showing the old list refuses its next write
    text = _("%(kind)s version %(version)s: %(name)s — %(reason)s") % {
        "kind": att.get_kind_display(), "version": att.version, "name": att.name, "reason": reason}
    record_timeline(actor, item, "material_revised", text, {"attachment": att.pk, "condition": condition})
    reached = dispatch.material_revised(actor, item, text)
    if actor is not None and actor.pk != item.submitter_id:
        notify(item.submitter, _("Material of %(number)s revised") % {"number": item.number}, text,
               url=item.get_absolute_url())
    if cond is not None:
        record_timeline(actor, item, "edited", _("Revision for the condition: %(condition)s") % {
            "condition": cond.text[:150]}, {"work_orders_told": len(reached)})
    return att


def precheck(item: Item) -> list[dict]:
    """The automatic pre-check shown to everyone who reviews. Each finding says why and where."""
    findings = []
    kinds = set(item.attachments.values_list("kind", flat=True))
    if item.customer_facing and ItemAttachment.Kind.SCRIPT not in kinds:
        findings.append({"code": "no_script", "severity": "warning",
                         "message": _("Customer-facing item without a service script (服务话术).")})
    if item.customer_facing and ItemAttachment.Kind.TRAINING not in kinds:
        findings.append({"code": "no_training", "severity": "warning",
                         "message": _("Customer-facing item without training material.")})
    if ItemAttachment.Kind.EMERGENCY not in kinds:
        findings.append({"code": "no_emergency_plan", "severity": "info",
                         "message": _("No emergency plan attached.")})
    justification = (item.online_justification or "").strip()
    if len(justification) < WEAK_JUSTIFICATION:
        findings.append({"code": "weak_online_justification", "severity": "warning",
                         "message": _("The answer to “why can this not be done online or centrally?” is empty "
                                      "or too short to judge.")})
    outlet_ids = list(item.outlets.values_list("pk", flat=True))
    overlapping = (Item.objects.filter(outlets__in=outlet_ids, window_start__lte=item.window_end,
                                       window_end__gte=item.window_start)
                   .exclude(pk=item.pk).exclude(status__in=[ItemStatus.DRAFT, ItemStatus.WITHDRAWN,
                                                            ItemStatus.REJECTED, ItemStatus.CLOSED])
                   .distinct())
    for other in overlapping[:20]:
        shared = other.outlets.filter(pk__in=outlet_ids).count()
        findings.append({"code": "overlap", "severity": "info", "item": other.number,
                         "message": _("%(number)s “%(title)s” lands on %(n)s of the same outlets in an "
                                      "overlapping window (%(start)s – %(end)s).") % {
                             "number": other.number, "title": other.title, "n": shared,
                             "start": other.window_start, "end": other.window_end}})
    over = release_check(item)["overloads"]
    if over:
        names = dict(Institution.objects.filter(pk__in={o.outlet for o in over}).values_list("pk", "name"))
        worst = sorted(over, key=lambda o: -o.excess)[:10]
        findings.append({"code": "over_capacity", "severity": "warning",
                         "outlets": sorted({names[o.outlet] for o in over}),
                         "message": _("Would push %(n)s outlets over their weekly capacity, e.g. %(examples)s.") % {
                             "n": len({o.outlet for o in over}),
                             "examples": "；".join(f"{names[o.outlet]} {o.week:%m-%d} 周 {o.load}/{o.capacity} h"
                                                  for o in worst[:3])}})
    return findings


@transaction.atomic
def submit_item(actor, item: Item, expected_version: int | None = None) -> Item:
    item = _lock(item, expected_version)
    require(rules.owns, actor, item, _not_owner())
    rules.ITEM_FLOW.apply(item, "submit")
    errors = {}
    if not item.outlets.exists():
        errors["target_mode"] = _("The item targets no outlets.")
    if item.window_start < clock.today():
        errors["window_start"] = _("The window starts in the past.")
    if errors:
        raise ValidationError(errors)
    item.submitted_at = clock.now()
    item.precheck = precheck(item)
    _save(actor, item, ["status", "submitted_at", "precheck"])
    _request_opinions(item)
    branch = _lock_agendas(branch_of(item.department.institution))
    meeting = next_meeting(branch, item.submitted_at)
    _put_on_agenda(actor, item, meeting)
    record_timeline(actor, item, "submitted", _("Submitted; on the agenda of %(meeting)s") % {"meeting": meeting})
    return item


def _request_opinions(item: Item) -> None:
    branch = branch_of(item.department.institution)
    for dept in Department.objects.filter(institution=branch, is_review=True, is_active=True):
        opinion, _created = Opinion.objects.get_or_create(item=item, department=dept)
        for user in _users_with_perm("review_item", department=dept):
            notify(user, _("Opinion requested on %(number)s: %(title)s") % {"number": item.number,
                                                                             "title": item.title},
                   url=item.get_absolute_url())


@transaction.atomic
def withdraw_item(actor, item: Item, reason: str = "", *, expected_version: int | None = None) -> Item:
    item = _lock(item, expected_version)
    require(rules.owns, actor, item, _not_owner())
    rules.ITEM_FLOW.apply(item, "withdraw")
    if not rules.agenda_open(item):
        raise ValidationError(_("The meeting has been held; the item can no longer be withdrawn."))
    check_lengths(reason=(reason, REASON_LENGTH))
    item.meeting = None
    _save(actor, item, ["status", "meeting"])
    record_timeline(actor, item, "withdrawn", reason or _("Withdrawn by the submitter"))
    return item


@transaction.atomic
def revise_item(actor, item: Item, *, expected_version: int | None = None) -> Item:
    """After a rejection: a new revision, linked to the old one, back to draft."""
    item = _lock(item, expected_version)
    require(rules.owns, actor, item, _not_owner())
    if item.status != ItemStatus.REJECTED:
        raise ValidationError(_("Only a rejected item is revised."))
    if hasattr(item, "next_revision"):
        raise ValidationError(_("This item already has a newer revision."))
    base = item.number.split("/")[0]
    new = Item(previous=item, revision=item.revision + 1, number=f"{base}/{item.revision + 1}",
               department=item.department, submitter=actor or item.submitter,
               **{f: getattr(item, f) for f in ITEM_FIELDS})
    stamp_history(new, actor)
    new.save()
    new.target_types.set(item.target_types.all())
    new.target_clusters.set(item.target_clusters.all())
    new.target_list.set(item.target_list.all())
    new.outlets.set(resolve_outlets(new))
    record_timeline(actor, new, "revised", _("Revision %(rev)s of %(number)s") % {"rev": new.revision,
                                                                                    "number": item.number})
    record_timeline(actor, item, "revised", _("Revised as %(number)s") % {"number": new.number})
    return new


# --- opinions ------------------------------------------------------------------------------------

@transaction.atomic
def give_opinion(actor, item: Item, *, recommendation: str, lines: list[dict], department: Department | None = None,
                 expected_version: int | None = None) -> Opinion:
    """A review department's opinion: per dimension of its remit "no concern" or a concern with
    text and a proposed condition, and an overall recommendation."""
    require(rules.reviews, actor, item, _("Your department is not asked for an opinion on this item."))
    item = _lock(item, expected_version)
    opinion = _asked_opinion(actor, item, department)
    if item.status != ItemStatus.SUBMITTED:
        raise ValidationError(_("Opinions are given only on submitted items before the decision."))
    if not rules.agenda_open(item):
        raise ValidationError(_("The meeting has been held; opinions are closed."))
    if recommendation not in Opinion.Recommendation.values:
        raise ValidationError({"recommendation": _("Choose a recommendation.")})
    clean = _opinion_lines(opinion.department, recommendation, lines)
    opinion.lines.all().delete()
    OpinionLine.objects.bulk_create([OpinionLine(opinion=opinion, dimension_id=d, concern=c, text=t,
                                                 proposed_condition=p) for d, c, t, p in clean])
    opinion.reviewer, opinion.recommendation = actor, recommendation
    opinion.submitted_at, opinion.item_version, opinion.is_stale = clock.now(), item.version, False
    stamp_history(opinion, actor)
    opinion.save()
    department = opinion.department
    record_timeline(actor, item, "opinion_given", _("%(dept)s: %(rec)s") % {
        "dept": department.name, "rec": opinion.get_recommendation_display()})
    notify(item.submitter, _("%(dept)s gave its opinion on %(number)s") % {"dept": department.name,
                                                                             "number": item.number},
           url=item.get_absolute_url())
    return opinion


def _asked_opinion(actor, item: Item, department: Department | None) -> Opinion:
    """The opinion the department (the actor's own unless named) owes on the item, locked."""
    staff = _staff(actor)
    department = department or (staff.department if staff else None)
    if department is None or (staff is not None and staff.department_id != department.pk and not actor.is_superuser):
        raise PermissionDenied(_("You can give opinions only for your own review department."))
    opinion = (Opinion.objects.select_for_update().select_related("department")
               .filter(item=item, department=department).first())
    if opinion is None:
        raise PermissionDenied(_("Your department is not asked for an opinion on this item."))
    return opinion


def remit_of(department: Department):
    """The dimensions a review department answers: its remit, else every active dimension."""
    remit = getattr(department, "review_remit", None)
    return remit.dimensions.all() if remit is not None else ReviewDimension.objects.filter(is_active=True)


def _opinion_lines(department: Department, recommendation: str, lines: list[dict]) -> list[tuple]:
    """The lines as (dimension id, concern, text, proposed condition); ValidationError naming each bad one."""
    remit = set(remit_of(department).values_list("pk", flat=True))
    errors, clean = {}, []
    for i, line in enumerate(lines):
        dim = line.get("dimension")
        dim_id = getattr(dim, "pk", dim)
        if dim_id not in remit:
            errors[f"lines.{i}.dimension"] = _("This dimension is not in your department's remit.")
            continue
        concern = bool(line.get("concern"))
        text = (line.get("text") or "").strip()
        if concern and not text:
            errors[f"lines.{i}.text"] = _("Describe the concern.")
        clean.append((dim_id, concern, text, (line.get("proposed_condition") or "").strip()))
    if not clean and not errors:
        errors["lines"] = _("Give at least one dimension.")
    if recommendation == Opinion.Recommendation.APPROVE and any(c for _d, c, _t, _p in clean):
        errors["recommendation"] = _("With concerns, recommend approval with conditions or rejection.")
    if errors:
        raise ValidationError(errors)
    return clean


# --- meetings ------------------------------------------------------------------------------------

def _cutoff(settings: Settings, held_on: date) -> datetime:
    day = add_working_days(held_on, -settings.cutoff_days_before)
    return timezone.make_aware(datetime.combine(day, time(settings.cutoff_hour)))


def next_meeting(branch: Institution, at: datetime | None = None) -> Meeting:
    """The first meeting whose agenda is still open at ``at``, created on the configured weekday
    when it does not exist yet."""
    at = at or clock.now()
    conf = settings_for(branch)
    open_meeting = (Meeting.objects.filter(branch=branch, status=Meeting.Status.PLANNED, cutoff_at__gt=at)
                    .order_by("held_on").first())
    if open_meeting:
        return open_meeting
    day = max(timezone.localtime(at).date(), clock.today() - timedelta(days=1))
    while True:
        day += timedelta(days=1)
        if day.weekday() != conf.meeting_weekday:
            continue
        if Meeting.objects.filter(branch=branch, year=day.year, held_on__gte=day).exists():
            continue  # taken, or a later meeting of the year is planned: numbers stay in date order
        if _cutoff(conf, day) > at:
            break
    return create_meeting(None, branch, day)


def _latest_meeting(branch: Institution, year: int | None = None) -> Meeting | None:
    qs = Meeting.objects.filter(branch=branch)
    return (qs.filter(year=year) if year else qs).order_by("-held_on").first()


def check_meeting_date(branch: Institution, held_on: date) -> None:
    """A meeting is planned on a free day, not in the past, and not before a meeting of the same
    year already planned: meetings are numbered in date order and issued minutes never renumber."""
    if held_on < clock.today():
        raise ValidationError({"held_on": _("%(date)s is in the past: a meeting is planned for today or later.") % {
            "date": held_on.isoformat()}})
    same_day = Meeting.objects.filter(branch=branch, held_on=held_on).first()
    if same_day is not None:
        raise ValidationError({"held_on": _("There is already a meeting on %(date)s: %(meeting)s.") % {
            "date": held_on.isoformat(), "meeting": same_day}})
    latest = _latest_meeting(branch, held_on.year)
    if latest is not None and held_on < latest.held_on:
        raise ValidationError({"held_on": _(
            "%(meeting)s is already planned for %(date)s: a meeting of the same year cannot be dated before it, "
            "so that meetings stay numbered in date order.") % {"meeting": latest, "date": latest.held_on.isoformat()}})


def check_meeting_day_reached(meeting: Meeting) -> None:
    """A meeting is held, and decisions are recorded at it, on its date or later — never before."""
    if clock.today() < meeting.held_on:
        raise ValidationError({"held_on": _("%(meeting)s is on %(date)s: it cannot be held, nor decisions recorded "
                                            "at it, before that day.") % {
            "meeting": meeting, "date": meeting.held_on.isoformat()}})


def check_chair(branch: Institution, chair, field: str = "chair") -> None:
    """The chair is active staff of the branch in a chairing role: a branch leader, or the
    secretariat (the head of the operations management department)."""
    if chair is None:
        return
    staff = getattr(chair, "staff", None)
    if not (chair.is_active and staff is not None and staff.is_active and staff.institution_id == branch.pk
            and rules.may_chair(chair)):
        raise ValidationError({field: _("%(name)s cannot chair: the chair is a branch leader or the secretariat "
                                        "(head of operations management), active staff of %(branch)s.") % {
            "name": getattr(staff, "name", None) or chair.get_username(), "branch": branch.name}})


@transaction.atomic
def create_meeting(actor, branch: Institution, held_on: date, location: str = "", chair=None) -> Meeting:
    require(rules.plans_meeting, actor, branch)
    check_lengths(location=(location, Meeting._meta.get_field("location").max_length))
    Institution.objects.select_for_update().filter(pk=branch.pk).first()  # one planner of a branch at a time
    check_meeting_date(branch, held_on)
    check_chair(branch, chair)
    conf = settings_for(branch)
    seq = next_number(f"coordination:meeting:{branch.pk}", held_on.year)
    meeting = Meeting(branch=branch, year=held_on.year, sequence=seq, held_on=held_on,
                      cutoff_at=_cutoff(conf, held_on), location=location, chair=chair)
    stamp_history(meeting, actor)
    meeting.save()
    record_timeline(actor, meeting, "meeting_planned", _("Planned for %(date)s") % {"date": held_on.isoformat()}
                    + (f" · {location}" if location else ""))
    return meeting


def _lock_agendas(branch: Institution) -> Institution:
    """Serialise the branch's agenda changes until commit: finding (or creating) the next meeting and
    taking the next agenda place read before they write, so two submissions at once would otherwise
    create the same meeting or take the same place. (No-key lock: rows may still point at the branch.)"""
    return Institution.objects.select_for_update(no_key=True).get(pk=branch.pk)


def _put_on_agenda(actor, item: Item, meeting: Meeting, reason: str = "") -> None:
    _lock_agendas(meeting.branch)
    last = meeting.items.order_by("-agenda_order").values_list("agenda_order", flat=True).first() or 0
    item.meeting, item.agenda_order, item.urgent_addition_reason = meeting, last + 1, reason
    _save(actor, item, ["meeting", "agenda_order", "urgent_addition_reason"])
    record_timeline(actor, item, "scheduled", str(meeting))


@transaction.atomic
def schedule_item(actor, item: Item, meeting: Meeting, reason: str = "", *,
                  expected_version: int | None = None) -> Item:
    """The secretariat moves an item to another meeting of its branch; after the cut-off only as
    urgent, with a reason."""
    require(rules.decides, actor, item)
    item = _lock(item, expected_version)
    if item.status != ItemStatus.SUBMITTED:
        raise ValidationError(_("Only submitted, undecided items go on an agenda."))
    if meeting.branch_id != branch_of(item.department.institution).pk:
        raise ValidationError({"meeting": _("Choose a meeting of the item's branch.")})
    if meeting.pk == item.meeting_id:
        raise ValidationError({"meeting": _("The item is already on that meeting's agenda.")})
    if meeting.status not in rules.OPEN_AGENDA:
        raise ValidationError(_("That meeting has already been held."))
    late = meeting.status == Meeting.Status.FROZEN or clock.now() >= meeting.cutoff_at
    if late and not reason.strip():
        raise ValidationError({"reason": _("The agenda is frozen: add the item only as urgent, with a reason.")})
    check_lengths(reason=(reason.strip(), REASON_LENGTH))
    _put_on_agenda(actor, item, meeting, reason.strip() if late else "")
    return item


@transaction.atomic
def defer_item(actor, item: Item, reason: str = "", *, expected_version: int | None = None) -> Item:
    require(rules.decides, actor, item)
    item = _lock(item, expected_version)
    if item.status != ItemStatus.SUBMITTED or item.meeting_id is None:
        raise ValidationError(_("Only an undecided item on an agenda can be deferred."))
    current = item.meeting
    if current.status == Meeting.Status.CLOSED:
        raise ValidationError(_("The meeting's minutes are closed."))
    check_lengths(reason=(reason, REASON_LENGTH))
    later = (Meeting.objects.filter(branch=current.branch, held_on__gt=max(current.held_on, clock.today() - timedelta(days=1)),
                                    status=Meeting.Status.PLANNED).order_by("held_on").first()
             or create_meeting(None, current.branch, _week_after(current)))
    _put_on_agenda(actor, item, later)
    record_timeline(actor, item, "deferred", reason or _("Deferred to %(meeting)s") % {"meeting": later})
    return item


def _week_after(meeting: Meeting) -> date:
    """The first free day on the meeting's weekday, a week after it or later, from today, after the
    branch's last meeting."""
    latest = _latest_meeting(meeting.branch)
    day = max(meeting.held_on + timedelta(days=7), clock.today(), latest.held_on + timedelta(days=1))
    while day.weekday() != meeting.held_on.weekday():
        day += timedelta(days=1)
    return day


def _lock_meeting(meeting: Meeting) -> Meeting:
    return Meeting.objects.select_for_update().select_related("branch").get(pk=meeting.pk)


@transaction.atomic
def reorder_agenda(actor, meeting: Meeting, item_ids: list[int]) -> None:
    require(rules.runs, actor, meeting)
    meeting = _lock_meeting(meeting)
    if meeting.status not in rules.OPEN_AGENDA:
        raise ValidationError(_("That meeting has already been held."))
    numbers = dict(meeting.items.values_list("pk", "number"))
    if set(item_ids) != set(numbers):
        raise ValidationError(_("The new order must list exactly the items on the agenda."))
    for order, pk in enumerate(item_ids, start=1):
        Item.objects.filter(pk=pk).update(agenda_order=order)
    record_timeline(actor, meeting, "agenda_reordered", "、".join(numbers[pk] for pk in dict.fromkeys(item_ids)))


@transaction.atomic
def freeze_agenda(actor, meeting: Meeting) -> Meeting:
    require(rules.runs, actor, meeting)
    meeting = _lock_meeting(meeting)
    if not rules.MEETING_FLOW.can(meeting.status, "freeze"):
        return meeting
    rules.MEETING_FLOW.apply(meeting, "freeze")
    stamp_history(meeting, actor)
    meeting.save(update_fields=["status", "updated_at"])
    record_timeline(actor, meeting, "agenda_frozen", _("Agenda frozen"))
    for item in meeting.items.select_related("submitter"):
        notify(item.submitter, _("Agenda of %(meeting)s published: your item %(number)s is on it") % {
            "meeting": meeting, "number": item.number}, url=meeting.get_absolute_url())
    return meeting


def freeze_due_agendas(now: datetime | None = None) -> int:
    """Freeze every agenda whose cut-off has passed (the worker calls this); idempotent."""
    now = now or clock.now()
    n = 0
    for meeting in Meeting.objects.filter(status=Meeting.Status.PLANNED, cutoff_at__lte=now):
        freeze_agenda(None, meeting)
        n += 1
    return n


def _name(user) -> str:
    return getattr(getattr(user, "staff", None), "name", None) or user.get_username()


def _attendance_overlaps(lists: dict, chair) -> dict:
    """Each person in one list only (present, in attendance, on leave); the chair present."""
    errors, seen = {}, {}
    for field, users in lists.items():
        twice = [_name(u) for u in users if seen.setdefault(u.pk, field) != field]
        if twice:
            errors[field] = _("Each person is present, in attendance or on leave — not two of these: %(names)s.") % {
                "names": "、".join(twice)}
    if chair is not None and seen.get(chair.pk, "attendees") != "attendees":
        errors["chair"] = _("The chair presides: the chair is present, not in attendance or on leave.")
    return errors


def _check_attendance(meeting: Meeting, attendees: list, chair, observers=(), on_leave=()) -> None:
    """Everyone in the attendance (present, in attendance, on leave) and the chair are active staff of
    the meeting's branch — the people its page offers; each person is in one list only, and the chair
    is present."""
    lists = {"attendees": attendees, "observers": observers, "on_leave": on_leave}
    people = {u.pk for u in [*attendees, *observers, *on_leave, chair] if u is not None}
    staff = set(User.objects.filter(pk__in=people, is_active=True, staff__is_active=True,
                                    staff__institution=meeting.branch).values_list("pk", flat=True))
    errors = _attendance_overlaps(lists, chair)
    for field, users in (*lists.items(), ("chair", [chair] if chair is not None else [])):
        outside = [_name(u) for u in users if u.pk not in staff]
        if outside:
            errors[field] = _("Not active staff of %(branch)s: %(names)s.") % {
                "branch": meeting.branch.name, "names": "、".join(outside)}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def designate_chair(actor, meeting: Meeting, chair) -> Meeting:
    """The secretariat names (or changes) the meeting's chair before its minutes are closed."""
    require(rules.runs, actor, meeting)
    meeting = _lock_meeting(meeting)
    if meeting.status == Meeting.Status.CLOSED:
        raise ValidationError(_("The minutes are closed."))
    if chair is None:
        raise ValidationError({"chair": _("Choose the chair.")})
    check_chair(meeting.branch, chair)
    meeting.chair = chair
    stamp_history(meeting, actor)
    meeting.save(update_fields=["chair", "updated_at"])
    record_timeline(actor, meeting, "chair_designated", _("Chair: %(name)s") % {
        "name": getattr(getattr(chair, "staff", None), "name", None) or chair.get_username()})
    return meeting


@transaction.atomic
def record_attendance(actor, meeting: Meeting, attendees, chair=None, observers=(), on_leave=()) -> Meeting:
    """The attendance by kind — present (出席, counted for the quorum), in attendance (列席), on leave
    (请假) — all active staff of the branch; recording it holds the meeting."""
    require(rules.runs, actor, meeting)
    meeting = _lock_meeting(meeting)
    if meeting.status == Meeting.Status.CLOSED:
        raise ValidationError(_("The minutes are closed."))
    attendees, observers, on_leave = list(attendees), list(observers or []), list(on_leave or [])
    _check_attendance(meeting, attendees, chair, observers, on_leave)
    check_chair(meeting.branch, chair)
    check_meeting_day_reached(meeting)
    if chair is not None:
        meeting.chair = chair
        if chair not in attendees:
            attendees.append(chair)  # the chair named with the attendance presided: present
    meeting.attendees.set(attendees)
    meeting.observers.set(observers)
    meeting.on_leave.set(on_leave)
    if rules.MEETING_FLOW.can(meeting.status, "hold"):
        rules.MEETING_FLOW.apply(meeting, "hold")
    stamp_history(meeting, actor)
    meeting.save()
    record_timeline(actor, meeting, "meeting_held", _("%(n)s present, %(o)s in attendance, %(l)s on leave") % {
        "n": len(attendees), "o": len(observers), "l": len(on_leave)})
    return meeting


@transaction.atomic
def close_meeting(actor, meeting: Meeting) -> Meeting:
    require(rules.runs, actor, meeting)
    meeting = _lock_meeting(meeting)
    rules.MEETING_FLOW.check(meeting, "close")
    undecided = meeting.items.filter(status=ItemStatus.SUBMITTED)
    if undecided.exists():
        raise ValidationError(_("Decide or defer every item first: %(items)s") % {
            "items": "、".join(undecided.values_list("number", flat=True))})
    _defer_open_feedback(actor, meeting)
    _defer_open_post_reviews(actor, meeting)
    rules.MEETING_FLOW.apply(meeting, "close")
    stamp_history(meeting, actor)
    meeting.save(update_fields=["status", "updated_at"])
    record_timeline(actor, meeting, "meeting_closed", _("Meeting closed, minutes issued: %(n)s items decided") % {
        "n": meeting.items.exclude(decision="").count()})
    _issue(actor, meeting)  # closing the meeting issues its minutes; the chair approves them
    return meeting


# --- the minutes as an issued record -------------------------------------------------------------

def _issue(actor, meeting: Meeting) -> None:
    meeting.minutes_issued_by, meeting.minutes_issued_at = actor, clock.now()
    stamp_history(meeting, actor)
    meeting.save(update_fields=["minutes_issued_by", "minutes_issued_at", "updated_at"])
    record_timeline(actor, meeting, "minutes_issued", _("Minutes issued: waiting for the chair's approval"))
    if meeting.chair_id and meeting.chair_id != getattr(actor, "pk", None):
        notify(meeting.chair, _("Approve the minutes of %(meeting)s") % {"meeting": meeting},
               url=reverse("coordination:minutes", args=[meeting.pk]))


@transaction.atomic
def issue_minutes(actor, meeting: Meeting) -> Meeting:
    """The secretariat issues the minutes of a closed meeting whose minutes were not issued when it
    closed (closed before minutes were issued on closing). An open meeting is closed instead."""
    require(rules.runs, actor, meeting)
    meeting = _lock_meeting(meeting)
    if meeting.status != Meeting.Status.CLOSED:
        raise ValidationError(_("Close the meeting: closing it issues the minutes."))
    if meeting.minutes_issued_at is not None:
        raise ValidationError(_("The minutes have already been issued."))
    _issue(actor, meeting)
    return meeting


def minutes_number(meeting: Meeting) -> str:
    """The next 文号 of the branch's minutes in the meeting's year, in the configured format; taken
    once, on approval, and never given again (a gap is possible, a renumbering is not)."""
    return document_number(settings_for(meeting.branch).minutes_number_format,
                           f"coordination:minutes:{meeting.branch_id}", meeting.year,
                           _("The minutes number format “%(format)s” is not valid: use {year} and {seq}."))


@transaction.atomic
def approve_minutes(actor, meeting: Meeting) -> Meeting:
    """The chair approves the issued minutes — never the person who issued them. Only now are they
    numbered (文号) and the .docx built once and stored in core's store of issued documents: every
    download serves those bytes, whatever changes later."""
    from .minutes import DOCX_TYPE, build_minutes_docx, minutes_title

    require(rules.chairs_meeting, actor, meeting, _("Only the chair of the meeting approves its minutes."))
    meeting = _lock_meeting(meeting)
    if meeting.minutes_document_id is not None:
        raise ValidationError(_("The minutes have already been approved."))
    if meeting.status != Meeting.Status.CLOSED or meeting.minutes_issued_at is None:
        raise ValidationError(_("The minutes are approved once the secretariat has issued them (closed the meeting)."))
    approver = actor or meeting.chair
    if approver is None:
        raise ValidationError({"chair": _("Designate the chair: the chair approves the minutes.")})
    if approver.pk == meeting.minutes_issued_by_id:
        raise ValidationError(_("The minutes are issued and approved by two different people: %(name)s issued "
                                "them, so someone else (the chair) approves them.") % {
            "name": getattr(getattr(approver, "staff", None), "name", None) or approver.get_username()})
    number, now = minutes_number(meeting), clock.now()
    content = build_minutes_docx(meeting, number=number, approved_by=approver, approved_at=now)
    title = minutes_title(meeting)
    doc = store_document(meeting, kind=queries.MINUTES_KIND, number=number, title=title, content=content,
                         content_type=DOCX_TYPE, file_name=f"{title}（{number}）.docx",
                         issued_by=meeting.minutes_issued_by, issued_at=meeting.minutes_issued_at,
                         approved_by=approver, approved_at=now)
    meeting.minutes_document = doc
    stamp_history(meeting, actor)
    meeting.save(update_fields=["minutes_document", "updated_at"])
    record_timeline(actor, meeting, "minutes_approved", _("Minutes approved: %(number)s") % {"number": number},
                    {"number": number, "sha256": doc.sha256})
    if meeting.minutes_issued_by_id:
        notify(meeting.minutes_issued_by, _("Minutes of %(meeting)s approved: %(number)s") % {
            "meeting": meeting, "number": number}, url=reverse("coordination:minutes", args=[meeting.pk]))
    return meeting


# --- feedback raised to the meeting, and other business --------------------------------------

NOTES_LENGTH = 10_000
FOLLOW_UP = (FeedbackEntry.Status.OPEN, FeedbackEntry.Status.ANSWERED)  # the case waits on these


def on_feedback_raised(sender, *, actor, case, note: str = "", **kwargs) -> Meeting:
    """Cases' hand-over: the feedback becomes an entry on the agenda of its branch's next meeting."""
    branch = branch_of(case.institution)
    if FeedbackEntry.objects.filter(case=case, status__in=FOLLOW_UP).exists():
        raise ValidationError(_("This feedback is already on a meeting's agenda."))
    meeting = next_meeting(branch)
    FeedbackEntry.objects.create(meeting=meeting, case=case, note=note, raised_by=actor)
    record_timeline(actor, meeting, "feedback_raised", f"{case.number} {case.title}")
    return meeting


def _lock_entry(entry: FeedbackEntry) -> FeedbackEntry:
    return (FeedbackEntry.objects.select_for_update(of=("self",))
            .select_related("meeting__branch", "case").get(pk=entry.pk))


def _follow_up_errors(meeting: Meeting, department, person, due) -> dict:
    """Who follows up — an active department or active staff of the meeting's branch — and by when."""
    errors = {}
    if department is None and person is None:
        errors["follow_up_department"] = _("Name who follows up: a department or a person.")
    if department is not None and (not department.is_active or department.institution_id != meeting.branch_id):
        errors["follow_up_department"] = _("Choose a department of the meeting's branch.")
    if person is not None and not User.objects.filter(pk=person.pk, is_active=True, staff__is_active=True,
                                                      staff__institution=meeting.branch).exists():
        errors["follow_up_person"] = _("Choose an active member of staff of the meeting's branch.")
    if due is None:
        errors["follow_up_due"] = _("Give the follow-up's due date.")
    else:
        _check_due_date(due, clock.today(), "follow_up_due", errors)
    return errors


@transaction.atomic
def answer_feedback(actor, entry: FeedbackEntry, *, answer: str, follow_up_department: Department | None = None,
                    follow_up_person=None, follow_up_due: date | None = None) -> FeedbackEntry:
    """The meeting's answer to a feedback entry and who follows it up by when — recorded like a
    decision: the agenda frozen, on or after the meeting's date, quorate, before the minutes close."""
    entry = _lock_entry(entry)
    meeting = entry.meeting
    require(rules.answers_feedback, actor, entry)
    if entry.status != FeedbackEntry.Status.OPEN:
        raise ValidationError(_("This feedback entry has already been answered or deferred."))
    if meeting.status == Meeting.Status.PLANNED:
        raise ValidationError(_("Freeze the agenda before answering."))
    if meeting.status == Meeting.Status.CLOSED:
        raise ValidationError(_("The meeting's minutes are closed."))
    check_meeting_day_reached(meeting)
    answer = (answer or "").strip()
    errors = {} if answer else {"answer": _("Write the meeting's answer.")}
    errors |= length_errors(answer=(answer, NOTES_LENGTH))
    errors |= _follow_up_errors(meeting, follow_up_department, follow_up_person, follow_up_due)
    if errors:
        raise ValidationError(errors)
    check_quorum(meeting)
    entry.answer, entry.status = answer, FeedbackEntry.Status.ANSWERED
    entry.follow_up_department, entry.follow_up_person = follow_up_department, follow_up_person
    entry.follow_up_due, entry.answered_by, entry.answered_at = follow_up_due, actor, clock.now()
    stamp_history(entry, actor)
    entry.save()
    record_timeline(actor, meeting, "feedback_answered", f"{entry.case.number}：{answer[:300]}")
    owners = [follow_up_person] if follow_up_person else list(
        User.objects.filter(is_active=True, staff__department=follow_up_department, staff__is_active=True))
    for user in owners:
        notify(user, _("Follow up feedback %(number)s by %(due)s") % {
            "number": entry.case.number, "due": follow_up_due.isoformat()}, answer, meeting.get_absolute_url())
    return entry


@transaction.atomic
def complete_feedback(actor, entry: FeedbackEntry, *, note: str) -> FeedbackEntry:
    """The follow-up owner reports it done: the feedback case is resolved with the meeting's answer
    and the outlet is told."""
    entry = _lock_entry(entry)
    require(rules.follows_up, actor, entry)
    if entry.status != FeedbackEntry.Status.ANSWERED:
        raise ValidationError(_("Only an answered feedback entry waits for its follow-up."))
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say what was done.")})
    check_lengths(note=(note, NOTES_LENGTH))
    entry.status, entry.done_note, entry.done_by, entry.done_at = FeedbackEntry.Status.DONE, note, actor, clock.now()
    stamp_history(entry, actor)
    entry.save()
    case_services.resolve_from_meeting(actor, entry.case, _("%(meeting)s: %(answer)s\nFollow-up: %(note)s") % {
        "meeting": entry.meeting, "answer": entry.answer, "note": note})
    record_timeline(actor, entry.meeting, "feedback_done", f"{entry.case.number}：{note[:300]}")
    return entry


def _meeting_after(meeting: Meeting) -> Meeting:
    """The next planned meeting of the branch after this one, planned a week later if there is none."""
    return (Meeting.objects.filter(branch=meeting.branch, held_on__gt=max(meeting.held_on, clock.today() - timedelta(days=1)),
                                   status=Meeting.Status.PLANNED).order_by("held_on").first()
            or create_meeting(None, meeting.branch, _week_after(meeting)))


def _carry_over(actor, meeting: Meeting, entries: list, deferred: str, verb: str, copy) -> None:
    """Agenda entries the closing meeting left open move to the next meeting: each is marked
    ``deferred`` and ``copy(entry, later)`` makes its new entry there (the seed's way: defer)."""
    if not entries:
        return
    later = _meeting_after(meeting)
    for entry in entries:
        entry.status = deferred
        stamp_history(entry, actor)
        entry.save(update_fields=["status", "updated_at"])
        label = copy(entry, later)
        record_timeline(actor, later, verb, _("%(item)s deferred from %(meeting)s") % {
            "item": label, "meeting": meeting})


def _defer_open_feedback(actor, meeting: Meeting) -> None:
    def copy(entry, later):
        FeedbackEntry.objects.create(meeting=later, case=entry.case, deferred_from=entry, note=entry.note,
                                     raised_by=entry.raised_by)
        return entry.case.number

    _carry_over(actor, meeting, list(meeting.feedback_entries.filter(status=FeedbackEntry.Status.OPEN)
                                     .select_related("case")),
                FeedbackEntry.Status.DEFERRED, "feedback_deferred", copy)


@transaction.atomic
def edit_notes(actor, meeting: Meeting, notes: str) -> Meeting:
    """Notes and other business (其他事项): the secretariat writes them until the minutes close;
    each change is kept in the meeting's history and timeline."""
    require(rules.runs, actor, meeting)
    meeting = _lock_meeting(meeting)
    if meeting.status == Meeting.Status.CLOSED:
        raise ValidationError(_("The minutes are closed."))
    notes = (notes or "").strip()
    check_lengths(notes=(notes, NOTES_LENGTH))
    if notes == meeting.notes:
        return meeting
    meeting.notes = notes
    stamp_history(meeting, actor)
    meeting.save(update_fields=["notes", "updated_at"])
    record_timeline(actor, meeting, "notes_edited", notes[:300])
    return meeting


# --- decisions and conditions --------------------------------------------------------------------

DECISION_MOVES = {Decision.APPROVED: "approve", Decision.CONDITIONAL: "approve_on_conditions",
                  Decision.REJECTED: "reject"}
PROOF_LENGTH = Condition._meta.get_field("proof").max_length


@transaction.atomic
def record_decision(actor, item: Item, decision: str, *, reasons: str = "", conditions: list[dict] | None = None,
                    expected_version: int | None = None) -> Item:
    """Approved → an approval number at once; conditionally approved → conditions tracked, the
    number once all are signed off; rejected → reasons, and the submitter may revise."""
    require(rules.decides, actor, item)
    item = _lock(item, expected_version)
    rules.ITEM_FLOW.check(item, DECISION_MOVES.get(decision, "approve"))  # an unknown decision: below
    if item.meeting_id is None:
        raise ValidationError(_("The item is not on a meeting's agenda."))
    if item.meeting.status == Meeting.Status.PLANNED:
        raise ValidationError(_("Freeze the agenda before deciding."))
    if item.meeting.status == Meeting.Status.CLOSED:
        raise ValidationError(_("The meeting's minutes are closed."))
    check_meeting_day_reached(item.meeting)
    clean = _decision_input(item, decision, reasons, conditions or [])
    check_gate(item)
    item.decision, item.decision_reasons = decision, reasons.strip()
    item.decided_at, item.decided_by = clock.now(), actor
    rules.ITEM_FLOW.apply(item, DECISION_MOVES[decision])
    _save(actor, item, ["decision", "decision_reasons", "decided_at", "decided_by", "status"])
    for text, dept, due, proof in clean:
        cond = Condition(item=item, text=text, owner_department=dept, due_date=due, proof=proof)
        stamp_history(cond, actor)
        cond.save()
        for user in _users_with_perm("submit_item", department=dept):
            notify(user, _("Condition on %(number)s due %(due)s") % {"number": item.number, "due": due},
                   text, item.get_absolute_url())
    record_timeline(actor, item, "decided", f"{item.get_decision_display()} {item.decision_reasons}".strip())
    if decision == Decision.APPROVED:
        _issue_number(actor, item)
    notify(item.submitter, _("Decision on %(number)s: %(decision)s") % {
        "number": item.number, "decision": item.get_decision_display()}, url=item.get_absolute_url())
    return item


def _decision_input(item: Item, decision: str, reasons: str, conditions: list[dict]) -> list[tuple]:
    """The conditions of a decision as (text, owner department, due date, proof); ValidationError
    naming every field in error."""
    errors = {}
    if decision not in Decision.values:
        errors["decision"] = _("Choose approved, conditionally approved or rejected.")
    if decision == Decision.CONDITIONAL and not conditions:
        errors["conditions"] = _("A conditional approval needs at least one condition.")
    if decision == Decision.REJECTED and not reasons.strip():
        errors["reasons"] = _("Give the reasons for the rejection.")
    clean = _conditions(item, conditions if decision == Decision.CONDITIONAL else [], errors)
    if errors:
        raise ValidationError(errors)
    return clean


def _conditions(item: Item, conditions: list[dict], errors: dict) -> list[tuple]:
    """Each condition says what, who (an active department of the item's branch), and what proves it."""
    decided_on = clock.today()
    due_by_default = add_working_days(max(item.meeting.held_on, decided_on),
                                      settings_for(item.meeting.branch).condition_days)
    owners = set(Department.objects.filter(institution=branch_of(item.department.institution), is_active=True)
                 .values_list("pk", flat=True))
    clean = []
    for i, c in enumerate(conditions):
        text, owner, proof = (c.get("text") or "").strip(), c.get("owner_department"), (c.get("proof") or "").strip()
        if not text:
            errors[f"conditions.{i}.text"] = _("Say what must be done.")
        if not owner:
            errors[f"conditions.{i}.owner_department"] = _("Name the department that owns the condition.")
        elif owner.pk not in owners:
            errors[f"conditions.{i}.owner_department"] = _("Choose a department of the item's branch.")
        if not proof:
            errors[f"conditions.{i}.proof"] = _("Say what proves the condition met.")
        errors.update(length_errors(**{f"conditions.{i}.proof": (proof, PROOF_LENGTH)}))
        due = c.get("due_date") or due_by_default
        _check_due_date(due, decided_on, f"conditions.{i}.due_date", errors)
        clean.append((text, owner, due, proof))
    return clean


def _check_due_date(due: date, decided_on: date, field: str, errors: dict) -> None:
    """A condition falls due after the decision, on a working day."""
    if due <= decided_on:
        errors[field] = _("The due date must be after the decision date (%(date)s).") % {
            "date": decided_on.isoformat()}
    elif not is_working_day(due):
        errors[field] = _("%(date)s is not a working day: choose a working day.") % {"date": due.isoformat()}


def check_quorum(meeting: Meeting) -> None:
    """Without quorum the meeting decides nothing: it can only defer."""
    q = quorum(meeting)
    if not q["ok"]:
        raise ValidationError(_("The meeting is not quorate (%(missing)s): it can only defer items. Record the "
                                "attendance with the chair and the review departments present.") % {
            "missing": "；".join(q["problems"])})


def check_gate(item: Item) -> None:
    """A decision (approve, conditional, reject) needs a quorate meeting and, for every dimension the
    item's type requires, a current opinion from each review department whose remit covers it, or
    the chair's waiver. Deferring needs neither."""
    check_quorum(item.meeting)
    gap = review_gap(item)
    if gap:
        raise ValidationError(_("The review is incomplete: %(missing)s. Wait for the opinions, defer the item, "
                                "or the chair waives what is missing with a reason.") % {"missing": describe_gap(gap)})


@transaction.atomic
def waive_review(actor, item: Item, dimensions, reason: str, *, expected_version: int | None = None) -> list[Waiver]:
    """The chair of the item's meeting waives required dimensions no current opinion answers, with a
    reason: recorded (who, when, why) on the item, its timeline and the minutes."""
    item = _lock(item, expected_version)
    require(rules.chairs, actor, item, _("Only the chair of the item's meeting waives a review."))
    if not rules.decidable(item):
        raise ValidationError(_("Only an undecided item on a meeting being held can have its review waived."))
    # A waiver is part of the meeting's decision (DESIGN.md §1.1: "at the meeting the item gets a
    # decision"): a frozen agenda is not yet a meeting held.
    check_meeting_day_reached(item.meeting)
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = _("Give the reason for the waiver.")
    errors.update(length_errors(reason=(reason, REASON_LENGTH)))
    dimensions = list(dict.fromkeys(dimensions or []))
    gap = {row["dimension"].pk for row in review_gap(item)}
    if not dimensions:
        errors["dimensions"] = _("Choose the dimensions to waive.")
    elif any(d.pk not in gap for d in dimensions):
        errors["dimensions"] = _("Only a required dimension still missing can be waived: %(names)s is not.") % {
            "names": "、".join(d.name for d in dimensions if d.pk not in gap)}
    if errors:
        raise ValidationError(errors)
    waivers = [Waiver.objects.create(item=item, dimension=d, meeting=item.meeting, reason=reason, waived_by=actor,
                                     waived_at=clock.now()) for d in dimensions]
    record_timeline(actor, item, "review_waived", _("%(dims)s waived: %(reason)s") % {
        "dims": "、".join(d.name for d in dimensions), "reason": reason})
    return waivers


@transaction.atomic
def decide_consent_block(actor, meeting: Meeting) -> list[Item]:
    """Approve together every item on the agenda whose opinions raise no concern and whose review is
    complete; the meeting must be quorate."""
    require(rules.runs, actor, meeting)
    meeting = _lock_meeting(meeting)
    check_meeting_day_reached(meeting)
    check_quorum(meeting)
    decided = []
    for item in meeting.items.filter(status=ItemStatus.SUBMITTED).prefetch_related("opinions__lines"):
        if is_consent(item) and not review_gap(item):
            decided.append(record_decision(actor, item, Decision.APPROVED, reasons=_("Consent block")))
    return decided


@transaction.atomic
def report_condition_met(actor, condition: Condition, evidence: str) -> Condition:
    condition = Condition.objects.select_for_update().select_related("item").get(pk=condition.pk)
    require(rules.reports_met, actor, condition, _("Only the owner department reports a condition met."))
    rules.CONDITION_FLOW.apply(condition, "report_met")
    if not (evidence or "").strip():
        raise ValidationError({"evidence": _("Describe the evidence: %(proof)s") % {"proof": condition.proof}})
    condition.evidence, condition.met_at = evidence.strip(), clock.now()
    stamp_history(condition, actor)
    condition.save()
    record_timeline(actor, condition.item, "condition_met", condition.text[:200])
    for user in _users_with_perm("run_meeting", institution=branch_of(condition.item.department.institution)):
        notify(user, _("Condition on %(number)s reported met") % {"number": condition.item.number},
               condition.text, condition.item.get_absolute_url())
    return condition


SIGN_OFF_NOTE_LENGTH = 500


@transaction.atomic
def sign_off_condition(actor, condition: Condition, accept: bool = True, note: str = "") -> Condition:
    condition = Condition.objects.select_for_update().select_related("item").get(pk=condition.pk)
    require(rules.signs_off, actor, condition)
    if accept:
        rules.CONDITION_FLOW.apply(condition, "sign_off")
        condition.signed_off_by, condition.signed_off_at = actor, clock.now()
    else:
        rules.CONDITION_FLOW.apply(condition, "send_back")
        if not note.strip():
            raise ValidationError({"note": _("Say what is still missing.")})
        check_lengths(note=(note, SIGN_OFF_NOTE_LENGTH))
        condition.met_at = None
    stamp_history(condition, actor)
    condition.save()
    item = condition.item
    record_timeline(actor, item, "condition_signed_off" if accept else "condition_met",
                    condition.text[:200] if accept else _("Sent back: %(note)s") % {"note": note})
    if accept and rules.ITEM_FLOW.can(item.status, "conditions_signed_off") and not item.conditions.exclude(
            status=Condition.Status.SIGNED_OFF).exists():
        _issue_number(actor, _lock(item))
    return condition


@transaction.atomic
def issue_approval_number(actor, item: Item) -> Item:
    """The approval number of an item approved, or conditionally approved with every condition signed
    off. ``record_decision`` and ``sign_off_condition`` issue it as they go; this is the checked entry
    for anyone else (the secretariat, or the system)."""
    require(rules.decides, actor, item, _("Only the secretariat issues approval numbers."))
    item = _lock(item)
    if item.status != ItemStatus.APPROVED and not (
            item.status == ItemStatus.CONDITIONAL
            and not item.conditions.exclude(status=Condition.Status.SIGNED_OFF).exists()):
        raise ValidationError(_("Only an approved item, or one whose conditions are all signed off, gets an "
                                "approval number."))
    return _issue_number(actor, item)


def _issue_number(actor, item: Item) -> Item:
    """Number the item (locked by the caller); a conditional approval becomes an approval."""
    require(rules.decides, actor, item, _("Only the secretariat issues approval numbers."))
    if item.approval_number:
        return item
    branch = branch_of(item.department.institution)
    conf = settings_for(branch)
    year = clock.today().year
    seq = next_number(f"coordination:approval:{branch.pk}", year)
    item.approval_number = conf.approval_format.format(year=year, seq=seq)
    item.approval_issued_at = clock.now()
    if rules.ITEM_FLOW.can(item.status, "conditions_signed_off"):
        rules.ITEM_FLOW.apply(item, "conditions_signed_off")
    _save(actor, item, ["approval_number", "approval_issued_at", "status"])
    record_timeline(actor, item, "number_issued", item.approval_number)
    notify(item.submitter, _("%(number)s may now be released: approval number %(approval)s") % {
        "number": item.number, "approval": item.approval_number}, url=item.get_absolute_url())
    return item


@transaction.atomic
def revoke_approval(actor, item: Item, reason: str, *, expected_version: int | None = None) -> Item:
    require(rules.decides, actor, item)
    item = _lock(item, expected_version)
    if not rules.has_valid_number(item):
        raise ValidationError(_("This item has no valid approval number."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason.")})
    check_lengths(reason=(reason.strip(), REASON_LENGTH))
    item.approval_revoked_at, item.approval_revoked_reason = clock.now(), reason.strip()
    _save(actor, item, ["approval_revoked_at", "approval_revoked_reason"])
    record_timeline(actor, item, "number_revoked", reason.strip())
    # The work stops where it was sent: each open work order cancelled, each outlet told.
    cancelled = dispatch.cancel_open_orders(actor, item, _("Approval %(approval)s revoked: %(reason)s") % {
        "approval": item.approval_number, "reason": reason.strip()})
    notify(item.submitter, _("Approval %(approval)s of %(number)s revoked") % {
        "approval": item.approval_number, "number": item.number},
        _("%(reason)s (%(n)s open work orders cancelled)") % {"reason": reason.strip(), "n": len(cancelled)},
        url=item.get_absolute_url())
    return item


@transaction.atomic
def close_item(actor, item: Item, reason: str, *, expected_version: int | None = None) -> Item:
    """The secretariat closes an item whose loop will not close by itself (a stale item, a plan
    dropped), with a reason: open work orders are cancelled and their outlets told; the register
    and the item page show the reason."""
    require(rules.decides, actor, item, _("Only the secretariat closes items."))
    item = _lock(item, expected_version)
    if not rules.closable(item):
        rules.ITEM_FLOW.check(item, "close_admin")
        raise ValidationError(_("The item is before the meeting now: decide or defer it first."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for closing.")})
    check_lengths(reason=(reason, REASON_LENGTH))
    fields = ["status", "closed_at", "closed_by", "close_reason"]
    if item.status == ItemStatus.SUBMITTED and item.meeting_id is not None:
        item.meeting, fields = None, [*fields, "meeting"]  # off the agenda of a meeting not yet held
    rules.ITEM_FLOW.apply(item, "close_admin")
    item.closed_at, item.closed_by, item.close_reason = clock.now(), actor, reason
    _save(actor, item, fields)
    cancelled = dispatch.cancel_open_orders(actor, item, _("Item %(number)s closed: %(reason)s") % {
        "number": item.number, "reason": reason}) if item.work_orders.exists() else []
    record_timeline(actor, item, "closed_by_secretariat", reason, {"work_orders_cancelled": len(cancelled)})
    notify(item.submitter, _("%(number)s closed by the secretariat") % {"number": item.number}, reason,
           url=item.get_absolute_url())
    return item


_BRACKETS = str.maketrans({c: "(" for c in "〔[（【［〖〘"} | {c: ")" for c in "〕]）】］〗〙"})
_DIGIT_RUN = re.compile(r"\d+")


def number_key(number: str) -> str:
    """An approval number as typed, reduced to what identifies it: full-width characters half-width,
    every kind of bracket one, no whitespace, 第 and 号 optional, no leading zeros in a number."""
    text = unicodedata.normalize("NFKC", number or "").translate(_BRACKETS)
    text = "".join(text.split()).replace("第", "").replace("号", "").replace("號", "")
    return _DIGIT_RUN.sub(lambda m: str(int(m.group())), text).upper()


def canonical_numbers(number: str) -> list[str]:
    """The numbers, in each configured format, that a typed number means (none when it fits no format)."""
    key = number_key(number)
    runs = _DIGIT_RUN.findall(key)
    if len(runs) < 2:
        return []
    year, seq = int(runs[0]), int(runs[-1])
    formats = dict.fromkeys(Settings.objects.order_by("pk").values_list("approval_format", flat=True))
    out = []
    for fmt in formats:
        try:
            candidate = fmt.format(year=year, seq=seq)
        except (KeyError, IndexError, ValueError):
            continue
        if number_key(candidate) == key and candidate not in out:
            out.append(candidate)
    return out


def _find_approved(number: str) -> Item | None:
    """The item whose approval number this is, typed as issued or with brackets, widths, zeros or
    第/号 of its own (a read)."""
    items = Item.objects.exclude(approval_number="").select_related("department")
    return (items.filter(approval_number=number).first()
            or items.filter(approval_number__in=canonical_numbers(number)).order_by("pk").first())


def verify_number(number: str, today: date | None = None) -> dict:
    """What an outlet learns from an approval number: valid (item, scope, window), or plainly that
    the work was not reviewed and the outlet may decline it. The number may be typed loosely
    (〔〕 [] () （）【】, full-width digits, 2 for 002, without 第/号); the answer names the number
    as issued."""
    today = today or clock.today()
    typed = (number or "").strip()
    item = _find_approved(typed) if typed else None
    if item is None:
        return {"status": "unknown", "number": typed, "typed": typed}
    number = item.approval_number
    branch = branch_of(item.department.institution)
    expires = item.window_end + timedelta(days=settings_for(branch).approval_valid_days)
    if item.approval_revoked_at:
        return {"status": "revoked", "number": number, "typed": typed, "item": item,
                "reason": item.approval_revoked_reason}
    if today > expires:
        return {"status": "expired", "number": number, "typed": typed, "item": item, "expired_on": expires}
    return {"status": "valid", "number": number, "typed": typed, "item": item, "valid_until": expires}


# --- release to outlets and the closing of the loop ---------------------------------------------

STAGGER_GROUPS = (1, 12)


def release_plan(item: Item, stagger_groups: int = 1, outlet_ids=None) -> dict[int, tuple[date, date]]:
    """Each outlet's dates: the approved window, or its wave when staggered — always inside the window."""
    if not STAGGER_GROUPS[0] <= stagger_groups <= STAGGER_GROUPS[1]:
        raise ValidationError({"stagger_groups": _("Stagger in %(min)s to %(max)s groups.") % {
            "min": STAGGER_GROUPS[0], "max": STAGGER_GROUPS[1]}})
    ids = list(outlet_ids if outlet_ids is not None else item.outlets.values_list("pk", flat=True))
    try:
        return workload.stagger(ids, stagger_groups, item.window_start, item.window_end)
    except ValueError as exc:
        raise ValidationError({"stagger_groups": _(
            "The approved window (%(start)s–%(end)s) is too short for %(n)s waves a week apart: stagger in "
            "fewer groups, or defer the item.") % {"start": item.window_start, "end": item.window_end,
                                                   "n": stagger_groups}}) from exc


def release_check(item: Item, stagger_groups: int = 1) -> dict:
    """Which outlets this item would push over capacity (released work only, each outlet in its wave),
    which blackout periods it hits, and what could make room: released items of lower urgency on the
    overloaded outlet-weeks, which yield first."""
    candidate = item_load(item)
    check = dispatch_queries.check_load(candidate, exclude_item=item.pk,
                                        plan=release_plan(item, stagger_groups, candidate.outlets))
    check["proposal"] = _yield_proposal(item, check["yielders"])
    return check


def _yield_proposal(item: Item, yielders: dict[str, set[int]]) -> list[dict]:
    """For each lower-urgency released item sharing an overloaded week: its open work orders at those
    outlets moved to start the working day after this item's window (keeping their length)."""
    if not yielders:
        return []
    new_start = add_working_days(item.window_end, 1)
    out = []
    for other in Item.objects.filter(number__in=yielders).order_by("-urgency", "number"):
        orders = other.work_orders.filter(institution_id__in=yielders[other.number],
                                          status__in=dispatch_rules.OPEN, start_date__lte=item.window_end)
        n = orders.count()
        if n:
            out.append({"item": other, "number": other.number, "urgency": other.urgency, "work_orders": n,
                        "outlets": sorted(yielders[other.number]), "new_start": new_start})
    return out


@transaction.atomic
def accept_yield(actor, item: Item, yield_number: str, reason: str = "", *,
                 expected_version: int | None = None) -> list[WorkOrder]:
    """The secretariat accepts the release check's proposal: the lower-urgency item's open work orders
    on the overloaded outlets move after this item's window (outlets told, timelines written)."""
    require(rules.releases, actor, item)
    item = _lock(item, expected_version)
    rules.ITEM_FLOW.check(item, "release")
    proposal = next((p for p in release_check(item)["proposal"] if p["number"] == (yield_number or "").strip()),
                    None)
    if proposal is None:
        raise ValidationError({"yield_number": _("Choose an item the release check proposes to move.")})
    reason = (reason or "").strip() or _("Makes room for %(number)s (more urgent)") % {"number": item.number}
    check_lengths(reason=(reason, REASON_LENGTH))
    moved = dispatch.reschedule_open_orders(actor, proposal["item"], proposal["outlets"], proposal["new_start"],
                                            reason)
    record_timeline(actor, proposal["item"], "edited", _("%(n)s work orders moved to start %(day)s: %(reason)s") % {
        "n": len(moved), "day": proposal["new_start"].isoformat(), "reason": reason})
    return moved


@transaction.atomic
def release_item(actor, item: Item, *, override_reason: str = "", stagger_groups: int = 1,
                 expected_version: int | None = None) -> Release:
    """Release an approved item to its outlets: one work order per outlet (dispatch makes them),
    carrying the approval number. Nothing is released without a valid number; staggered waves stay in
    the approved window; over capacity or into a blackout only with a recorded reason."""
    require(rules.releases, actor, item)
    item = _lock(item, expected_version)
    rules.ITEM_FLOW.apply(item, "release")
    if not item.approval_number:
        raise ValidationError(_("Only an item with an approval number can be released."))
    if verify_number(item.approval_number)["status"] != "valid":
        raise ValidationError(_("The approval number is revoked or expired."))
    reason = override_reason.strip()
    check_lengths(override_reason=(reason, REASON_LENGTH))
    outlets = list(item.outlets.all())
    if not outlets:
        raise ValidationError(_("The item targets no outlets."))
    plan = release_plan(item, stagger_groups, [o.pk for o in outlets])
    check = release_check(item, stagger_groups)
    _check_release_reason(check, reason)
    release = dispatch.create_work_orders(actor, item, outlets, plan, approval_number=item.approval_number,
                                          hours=item.effort_hours, override_reason=reason,
                                          over_capacity=check["overloads"])
    _save(actor, item, ["status"])
    record_timeline(actor, item, "released", _("Released to %(n)s outlets") % {"n": len(outlets)}
                    + (f"；{reason}" if reason else ""))
    return release


def _check_release_reason(check: dict, reason: str) -> None:
    """Over capacity, even staggered, or into a blackout: the secretariat defers, makes room, or
    gives the reason."""
    if reason:
        return
    if check["overloads"]:
        raise ValidationError({"override_reason": _(
            "This cannot fit: it would push %(n)s outlets over capacity. Stagger it, accept the proposal to "
            "move lower-urgency work, defer it, or give the reason to release it anyway.") % {
            "n": len({o.outlet for o in check["overloads"]})}})
    if check["blackouts"]:
        raise ValidationError({"override_reason": _(
            "The window falls in a blackout period (%(names)s): give the reason to release it anyway.") % {
            "names": "、".join(check["blackouts"])}})


def close_item_when_done(actor, item: Item) -> Item:
    """The loop closes when every outlet has done its work order: the item leaves the open work,
    dated (``closed_at``; no ``closed_by`` nor reason: it closed by itself)."""
    item = _lock(item)  # two outlets finishing at once: the second sees the first's work order done
    finished = (WorkOrder.Status.DONE, WorkOrder.Status.CANCELLED)
    if not rules.ITEM_FLOW.can(item.status, "close") or item.work_orders.exclude(status__in=finished).exists() \
            or not item.work_orders.filter(status=WorkOrder.Status.DONE).exists():
        return item  # work left, or none of it done (every order cancelled: the secretariat closes it)
    rules.ITEM_FLOW.apply(item, "close")
    item.closed_at = clock.now()
    _save(actor, item, ["status", "closed_at"])
    record_timeline(actor, item, "closed", _("All %(n)s work orders done") % {"n": item.work_orders.count()})
    notify(item.submitter, _("All outlets have done %(title)s (%(number)s)") % {
        "title": item.title, "number": item.approval_number}, url=item.get_absolute_url())
    return item


def on_work_order_changed(sender, *, actor, work_order: WorkOrder, change: str, case=None, **kwargs) -> None:
    """Dispatch's hook: a work order done may close its item; a problem goes on the item's timeline."""
    if change in ("done", "cancelled"):
        if change == "cancelled":
            record_timeline(actor, work_order.item, "edited", _("Work order of %(outlet)s cancelled: %(reason)s") % {
                "outlet": work_order.institution.name, "reason": work_order.cancel_reason})
        close_item_when_done(actor, work_order.item)
    elif change == "problem" and case is not None:
        record_timeline(actor, work_order.item, "edited", _("%(outlet)s raised a problem: %(case)s") % {
            "outlet": work_order.institution.name, "case": case.number})


CONDITION_REMIND_WORKING_DAYS = 2


def check_conditions(today: date | None = None) -> int:
    """Remind owners of conditions falling due, flag and escalate overdue ones, each once (the worker
    calls this); idempotent."""
    today = today or clock.today()
    n = 0
    soon = add_working_days(today, CONDITION_REMIND_WORKING_DAYS)
    for cond in Condition.objects.filter(status=Condition.Status.OPEN, due_date__gte=today, due_date__lte=soon,
                                         reminded_at__isnull=True).select_related("item"):
        with transaction.atomic():
            if not Condition.objects.filter(pk=cond.pk, reminded_at__isnull=True).update(reminded_at=clock.now()):
                continue
            for user in _users_with_perm("submit_item", department=cond.owner_department):
                notify(user, _("Condition on %(number)s is due on %(due)s") % {
                    "number": cond.item.number, "due": cond.due_date}, cond.text, cond.item.get_absolute_url())
            n += 1
    for cond in Condition.objects.filter(status=Condition.Status.OPEN, due_date__lt=today,
                                         escalated_at__isnull=True).select_related("item"):
        with transaction.atomic():
            updated = Condition.objects.filter(pk=cond.pk, escalated_at__isnull=True).update(
                escalated_at=clock.now())
            if not updated:
                continue
            branch = branch_of(cond.item.department.institution)
            people = set(_users_with_perm("run_meeting", institution=branch))
            people.update(_users_with_perm("submit_item", department=cond.owner_department))
            for user in people:
                notify(user, _("Condition on %(number)s is overdue (due %(due)s)") % {
                    "number": cond.item.number, "due": cond.due_date}, cond.text, cond.item.get_absolute_url())
            n += 1
    return n



def remind_reviewers(today: date | None = None) -> int:
    """Remind a review department's reviewers, once per item and department, of an opinion it still
    owes when the agenda's cut-off is the configured working days away or nearer (the worker calls
    this daily); idempotent."""
    from .queries import owed_opinions

    today = today or clock.today()
    n = 0
    for opinion in owed_opinions(reminded_at__isnull=True, item__meeting__cutoff_at__gt=clock.now()):
        meeting = opinion.item.meeting
        cutoff = timezone.localtime(meeting.cutoff_at)
        if add_working_days(today, settings_for(meeting.branch).opinion_reminder_days) < cutoff.date():
            continue
        with transaction.atomic():
            if not Opinion.objects.filter(pk=opinion.pk, reminded_at__isnull=True).update(reminded_at=clock.now()):
                continue
            for user in _users_with_perm("review_item", department=opinion.department):
                notify(user, _("Opinion on %(number)s due by the cut-off %(cutoff)s (%(meeting)s)") % {
                    "number": opinion.item.number, "meeting": meeting, "cutoff": cutoff.strftime("%Y-%m-%d %H:%M")},
                    opinion.item.title, opinion.item.get_absolute_url())
            n += 1
    return n


# --- post-release watch and post-implementation reviews ---------------------------------------

RELEASED_ONCE = (ItemStatus.RELEASED, ItemStatus.CLOSED)
WATCH_WEEKS = watch.WEEKS
watch_weeks = queries.watch_weeks


def watch_due(item: Item, today: date) -> bool:
    """The four weeks after have all ended."""
    return watch_weeks(item)[1][-1] + timedelta(days=6) < today


def _watch_series(item: Item, branch: Institution, before: list[date], after: list[date]) -> list:
    """Every active outlet of the branch, targeted or not, with its weekly figures from the apps that
    own them: queue KPIs from queueing's roll-ups, complaints from cases."""
    from branchops.cases import queries as case_queries
    from branchops.queueing import queries as queue_queries

    treated = set(item.outlets.values_list("pk", flat=True))
    outlets = list(Institution.objects.filter(level=Level.OUTLET, is_active=True, path__startswith=branch.path)
                   .values_list("pk", "code"))
    first, last = before[0], after[-1] + timedelta(days=6)
    kpis = {(r["outlet_code"], r["period_start"]): r
            for r in queue_queries.weekly_outlet_kpis(branch, [c for _pk, c in outlets], first, last)}
    complaints = case_queries.weekly_complaints([pk for pk, _c in outlets], first, last)
    series = []
    for pk, code in outlets:
        weeks = {}
        for monday in [*before, *after]:
            row = kpis.get((code, monday))
            if row is None:
                continue  # no queue data that week: the outlet's period means use the weeks it has
            weeks[monday] = watch.Week(overtime_ratio=row.get("overtime_ratio"), served=int(row.get("served") or 0),
                                       complaints=complaints.get((pk, monday), 0))
        series.append(watch.OutletSeries(code, pk in treated, weeks))
    return series


@transaction.atomic
def evaluate_watch(actor, item: Item) -> WatchResult:
    """Compare the item's target outlets with the branch's other outlets before and after its window
    (``watch.evaluate``), store the result once, and put a flagged item on the next meeting's agenda
    as a post-implementation review."""
    item = Item.objects.select_for_update().select_related("department__institution").get(pk=item.pk)
    if item.status not in RELEASED_ONCE or not item.releases.exists():
        raise ValidationError(_("Only a released item is watched after its release."))
    if hasattr(item, "watch"):
        return item.watch
    if not watch_due(item, clock.today()):
        raise ValidationError(_("The four weeks after the item's window start have not passed yet."))
    branch = branch_of(item.department.institution)
    conf = settings_for(branch)
    before, after = watch_weeks(item)
    result = watch.evaluate(_watch_series(item, branch, before, after), before, after, {
        watch.OVERTIME: float(conf.watch_overtime_threshold), watch.COMPLAINTS: float(conf.watch_complaints_threshold)})
    stored = WatchResult.objects.create(
        item=item, status=result["status"], flagged=result["flagged"], n_treated=result["n_treated"],
        n_control=result["n_control"], result=result)
    if stored.flagged:
        raise_post_review(actor, item)
    return stored


def raise_post_review(actor, item: Item) -> PostReview:
    """A released item back on the next meeting's agenda as a post-implementation review (the watch
    flagged it); the secretariat is told."""
    if item.status not in RELEASED_ONCE:
        raise ValidationError(_("Only a released item is watched after its release."))
    if item.post_reviews.filter(status=PostReview.Status.OPEN).exists():
        raise ValidationError(_("This item is already on a meeting's agenda for its post-implementation review."))
    branch = branch_of(item.department.institution)
    meeting = next_meeting(branch)
    entry = PostReview.objects.create(meeting=meeting, item=item)
    record_timeline(actor, item, "watch_flagged", _("On the agenda of %(meeting)s") % {"meeting": meeting})
    record_timeline(actor, meeting, "post_review_raised", str(item))
    for user in _users_with_perm("run_meeting", institution=branch):
        notify(user, _("Post-release watch flagged %(number)s for a post-implementation review") % {
            "number": item.number}, item.title, item.get_absolute_url())
    return entry


def evaluate_due_watches(today: date | None = None) -> int:
    """The periodic job: every released item whose four weeks after have passed and that has not been
    watched yet. Idempotent (one result per item)."""
    today = today or clock.today()
    # Due means the Monday of the window's week is at least four weeks back: the window starts at most
    # six days after that Monday (``watch_due`` decides exactly).
    candidates = (Item.objects.filter(status__in=RELEASED_ONCE, watch__isnull=True, releases__isnull=False,
                                      window_start__lte=today - timedelta(days=WATCH_WEEKS * 7 - 6))
                  .distinct().order_by("window_start", "pk"))
    done = 0
    for item in candidates:
        if watch_due(item, today):
            evaluate_watch(None, item)
            done += 1
    return done


def _lock_post_review(entry: PostReview) -> PostReview:
    return PostReview.objects.select_for_update(of=("self",)).select_related("meeting__branch", "item").get(
        pk=entry.pk)


@transaction.atomic
def record_post_review(actor, entry: PostReview, *, outcome: str, note: str = "") -> PostReview:
    """The meeting's outcome of a post-implementation review (successful / with issues / failed), kept
    on the item as well — recorded like a decision: the agenda frozen, on or after the meeting's date,
    quorate, before the minutes close."""
    entry = _lock_post_review(entry)
    meeting = entry.meeting
    require(rules.records_post_review, actor, entry)
    if entry.status != PostReview.Status.OPEN:
        raise ValidationError(_("This post-implementation review has already been recorded or deferred."))
    if meeting.status == Meeting.Status.PLANNED:
        raise ValidationError(_("Freeze the agenda before recording the outcome."))
    if meeting.status == Meeting.Status.CLOSED:
        raise ValidationError(_("The meeting's minutes are closed."))
    check_meeting_day_reached(meeting)
    note = (note or "").strip()
    errors = {} if outcome in ReviewOutcome.values else {"outcome": _("Choose the outcome.")}
    if outcome in (ReviewOutcome.WITH_ISSUES, ReviewOutcome.FAILED) and not note:
        errors["note"] = _("Say what went wrong and what follows.")
    errors |= length_errors(note=(note, NOTES_LENGTH))
    if errors:
        raise ValidationError(errors)
    check_quorum(meeting)
    entry.status, entry.outcome, entry.note = PostReview.Status.RECORDED, outcome, note
    entry.recorded_by, entry.recorded_at = actor, clock.now()
    stamp_history(entry, actor)
    entry.save()
    item = Item.objects.select_for_update().get(pk=entry.item_id)
    item.review_outcome = outcome
    stamp_history(item, actor)
    item.save(update_fields=["review_outcome", "updated_at"])
    label = ReviewOutcome(outcome).label
    record_timeline(actor, item, "post_review_recorded", f"{meeting}：{label} {note[:300]}".strip())
    record_timeline(actor, meeting, "post_review_recorded", f"{item.number}：{label}")
    return entry


def _defer_open_post_reviews(actor, meeting: Meeting) -> None:
    """Reviews the closing meeting did not record move to the next meeting, like feedback."""
    def copy(entry, later):
        PostReview.objects.create(meeting=later, item=entry.item, deferred_from=entry)
        return entry.item.number

    _carry_over(actor, meeting, list(meeting.post_reviews.filter(status=PostReview.Status.OPEN).select_related("item")),
                PostReview.Status.DEFERRED, "post_review_deferred", copy)
