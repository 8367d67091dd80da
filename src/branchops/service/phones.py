"""Writes of the public-phone governance (公示电话专项治理, seed 001): the directory of published numbers
(manual edit and an all-or-nothing xlsx/CSV import), check campaigns, calls and corrections.

Every write takes the acting user first (None: the system, e.g. the demo), checks the predicate the
action table offers (``rules``), runs in one transaction and leaves a timeline entry: a directory
number changed by a correction says so on the entry's timeline.
"""

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.core.actions import require
from branchops.core.services import notify, record_timeline
from branchops.org.models import Institution, Level
from branchops.org.roles import Role

from . import importing, input_files, phone_numbers, rules
from .phonebook import CallResult, PhoneCall, PhoneCampaign, PhoneCorrection, PhoneEntry, PhoneKind

FIX_DAYS = 10  # a wrong number is corrected within ten days of the call (限期整改)
KIND_WORDS = {label: value for value, label in [
    ("service", "服务电话"), ("complaint", "投诉电话"), ("lobby", "大堂经理电话"), ("business", "业务咨询电话"),
    ("other", "其他")]} | {v: v for v in PhoneKind.values}


def _number(text: str, field: str = "number") -> str:
    number = phone_numbers.normalise(text)
    if number is None:
        raise ValidationError({field: _("“%(value)s” is not a Chinese phone number (mobile 13812345678, landline "
                                        "0755-82345678, 95588 or 400-123-4567).") % {"value": (text or "")[:40]}})
    return number


def _outlet(outlet: Institution) -> None:
    if outlet.level != Level.OUTLET:
        raise ValidationError({"outlet": _("Choose an outlet.")})


@transaction.atomic
def save_phone(actor, *, outlet: Institution, kind: str, number: str, published_at: str = "", is_active: bool = True,
               entry: PhoneEntry | None = None) -> PhoneEntry:
    """Add a published number, or change one (``entry``); audited on the entry's timeline."""
    require(rules.edits_phones, actor, outlet)
    if entry is not None:
        require(rules.edits_phones, actor, entry.outlet)
    _outlet(outlet)
    if kind not in PhoneKind.values:
        raise ValidationError({"kind": _("Unknown kind of phone.")})
    number = _number(number)
    clash = PhoneEntry.objects.filter(outlet=outlet, kind=kind, number=number).exclude(pk=getattr(entry, "pk", None))
    if clash.exists():
        raise ValidationError({"number": _("The outlet already publishes this number for this kind.")})
    before = None if entry is None else [entry.outlet.code, entry.kind, entry.number, entry.published_at,
                                         entry.is_active]
    entry = entry or PhoneEntry()
    entry.outlet, entry.kind, entry.number = outlet, kind, number
    entry.published_at, entry.is_active = (published_at or "").strip()[:200], is_active
    if before == [outlet.code, kind, number, entry.published_at, is_active]:
        return entry
    entry.save()
    record_timeline(actor, entry, "phone_saved", _("%(kind)s %(number)s (%(where)s)") % {
        "kind": entry.get_kind_display(), "number": number, "where": entry.published_at or "—"},
        {"before": before})
    return entry


def import_directory(actor, *, branch: Institution, data: bytes, file_name: str, dry_run: bool = True):
    """Read a directory file (网点代码, 电话类型, 电话号码, 公示位置) for the outlets under ``branch``. All or
    nothing: every bad row is named and nothing is stored; a row already stored changes nothing, a known
    number with a new place of publication updates it (re-import idempotent)."""
    require(rules.edits_phones, actor, branch)
    plan = importing.Plan(kind=input_files.PHONES, branch=branch, file_name=file_name[:255], dry_run=dry_run)
    try:
        rows = input_files.read_rows(input_files.PHONES, data, file_name)
    except input_files.FileProblem as exc:
        plan.errors.append(importing.RowError(exc.line, "", exc.message))
        return plan
    plan.rows = len(rows)
    outlets = {o.code: o for o in Institution.objects.filter(path__startswith=branch.path, level=Level.OUTLET)}
    stored = {(e.outlet_id, e.kind, e.number): e for e in PhoneEntry.objects.filter(outlet__in=outlets.values())}
    seen: dict[tuple, int] = {}
    parsers = {"outlet_code": importing._required(lambda t: _cell_outlet(outlets, t)),
               "kind": importing._required(_cell_kind), "number": importing._required(_cell_number),
               "published_at": lambda t: t[:200]}
    for line, cells in rows:
        row = importing._parse(plan, line, cells, parsers)
        if row is None:
            continue
        key = (row["outlet_code"].pk, row["kind"], row["number"])
        if key in seen:
            plan.add_error(line, "number", _("The same number appears on line %(line)s.") % {"line": seen[key]})
            continue
        seen[key] = line
        old = stored.get(key)
        if old is not None and old.published_at == row["published_at"] and old.is_active:
            plan.unchanged += 1
            continue
        plan.new.append({"outlet": row["outlet_code"], "kind": row["kind"], "number": row["number"],
                         "published_at": row["published_at"], "entry": old})
    if not plan.ok or dry_run:
        return plan
    try:
        with transaction.atomic():
            for row in plan.new:
                entry = row.pop("entry") or PhoneEntry(outlet=row["outlet"], kind=row["kind"], number=row["number"])
                entry.published_at, entry.is_active = row["published_at"], True
                entry.save()
            record_timeline(actor, branch, "phones_imported", _("%(file)s imported: %(added)s numbers added or "
                                                                 "changed, %(same)s already stored")
                            % {"file": plan.file_name, "added": len(plan.new), "same": plan.unchanged})
    except IntegrityError:  # another import stored the same numbers meanwhile
        plan.errors.append(importing.RowError(0, "", _("Rows of this file were stored meanwhile; import it again.")))
    return plan


def _cell_outlet(outlets: dict, text: str) -> Institution:
    if text not in outlets:
        raise input_files.CellProblem(_("No outlet with code “%(value)s” in this branch.") % {"value": text[:40]})
    return outlets[text]


def _cell_kind(text: str) -> str:
    if text not in KIND_WORDS:
        raise input_files.CellProblem(_("The kind is one of 服务电话, 投诉电话, 大堂经理电话, 业务咨询电话, 其他, not "
                                        "“%(value)s”.") % {"value": text[:40]})
    return KIND_WORDS[text]


def _cell_number(text: str) -> str:
    number = phone_numbers.normalise(text)
    if number is None:
        raise input_files.CellProblem(_("“%(value)s” is not a Chinese phone number.") % {"value": text[:40]})
    return number


# --- campaigns, calls, corrections ----------------------------------------------------------------

@transaction.atomic
def create_campaign(actor, *, name: str, scope: Institution, starts_on: date, ends_on: date) -> PhoneCampaign:
    """Open a check campaign for the published numbers of the outlets under ``scope``: the list of calls
    is fixed now, one per published number."""
    require(rules.runs_phone_checks, actor, scope)
    errors = {}
    if not (name or "").strip():
        errors["name"] = _("Give the campaign a name.")
    if scope.level not in (Level.TIER1_BRANCH, Level.TIER2_BRANCH, Level.SUB_BRANCH):
        errors["scope"] = _("Choose a branch or a sub-branch.")
    if ends_on < starts_on:
        errors["ends_on"] = _("The period ends before it starts.")
    if errors:
        raise ValidationError(errors)
    entries = list(PhoneEntry.objects.filter(outlet__path__startswith=scope.path, is_active=True))
    if not entries:
        raise ValidationError({"scope": _("No outlet under %(scope)s publishes a number yet: fill the directory "
                                          "first.") % {"scope": scope.name}})
    campaign = PhoneCampaign.objects.create(name=name.strip()[:128], scope=scope, starts_on=starts_on,
                                            ends_on=ends_on, created_by=actor)
    PhoneCall.objects.bulk_create([PhoneCall(campaign=campaign, entry=e, number=e.number) for e in entries],
                                  batch_size=2000)
    record_timeline(actor, campaign, "phone_campaign_opened", _("%(n)s numbers to call") % {"n": len(entries)})
    return campaign


def outlet_head(outlet: Institution):
    return (get_user_model().objects.filter(is_active=True, groups__name=Role.OUTLET_HEAD, staff__institution=outlet)
            .order_by("pk").first())


@transaction.atomic
def record_call(actor, call: PhoneCall, *, result: str, note: str = "") -> PhoneCall:
    """Record a call's result. A wrong number opens a correction owned by the outlet head, due in
    ``FIX_DAYS``; an unanswered number may be called again."""
    require(rules.calls_phones, actor, call, _("Only a service supervisor or the secretariat over the outlet records "
                                              "its calls."))
    call = PhoneCall.objects.select_for_update().select_related("campaign", "entry__outlet").get(pk=call.pk)
    if not rules.call_recordable(call):
        raise ValidationError({"result": _("The campaign is closed or the number was already found wrong.")})
    if result not in (CallResult.ANSWERED, CallResult.WRONG, CallResult.UNANSWERED):
        raise ValidationError({"result": _("The result is answered, wrong or unanswered.")})
    note = (note or "").strip()[:500]
    if result == CallResult.WRONG and not note:
        raise ValidationError({"note": _("Say what was wrong (who answered, the right number if known).")})
    call.result, call.note, call.called_by, call.called_at = result, note, actor, clock.now()
    call.save(update_fields=["result", "note", "called_by", "called_at"])
    if result == CallResult.WRONG:
        owner = outlet_head(call.entry.outlet)
        correction = PhoneCorrection.objects.create(call=call, entry=call.entry, owner=owner,
                                                    due=clock.today() + timedelta(days=FIX_DAYS))
        if owner is not None:
            notify(owner, _("Published number wrong: %(number)s") % {"number": call.number}, note,
                   reverse("service:phone_corrections") + f"?open=1#c{correction.pk}")
    record_timeline(actor, call.campaign, "phone_called", _("%(outlet)s %(number)s: %(result)s") % {
        "outlet": call.entry.outlet.code, "number": call.number, "result": call.get_result_display()})
    return call


@transaction.atomic
def fix_correction(actor, correction: PhoneCorrection, *, number: str) -> PhoneCorrection:
    """Close a correction with the right number; the directory entry takes it (audited)."""
    require(rules.fixes_phone, actor, correction, _("Only the outlet's head or the secretariat over it fixes its "
                                                    "numbers."))
    correction = PhoneCorrection.objects.select_for_update().select_related("entry__outlet").get(pk=correction.pk)
    if not rules.correction_open(correction):
        raise ValidationError({"number": _("This correction is already closed.")})
    number = _number(number)
    entry = correction.entry
    if PhoneEntry.objects.filter(outlet=entry.outlet, kind=entry.kind, number=number).exclude(pk=entry.pk).exists():
        raise ValidationError({"number": _("The outlet already publishes this number for this kind.")})
    old = entry.number
    correction.corrected_number, correction.closed_by, correction.closed_at = number, actor, clock.now()
    correction.save(update_fields=["corrected_number", "closed_by", "closed_at"])
    if number != old:
        entry.number = number
        entry.save(update_fields=["number", "updated_at"])
    record_timeline(actor, entry, "phone_corrected", _("Corrected: %(old)s → %(new)s") % {"old": old, "new": number})
    return correction
