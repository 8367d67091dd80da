"""Validating a service input file against the organisation and what is stored (reads only).

``plan_import`` reads every row, names every bad one (line, column, message) and works out which rows
are new and which are already stored; ``services.import_inputs`` writes the new rows only when there
is no error at all. The rules:

- a row's key is unique: a rating (outlet, teller number, time), a survey score (outlet, quarter), a
  call-centre day (branch, day). The same key twice in the file with the same values counts once;
  with different values both lines are named. A key already stored with the same values is
  "already stored" (so importing a file twice changes nothing); with a different value the row is
  refused — a correction is never a silent overwrite.
- outlets must be outlets of the branch the file is imported for; times and days cannot be in the
  future; a call-centre day answers at most the calls offered, and within 20 s at most those answered.
- a teller number that names nobody keeps the rating as *unmapped*: it still counts for the outlet's
  satisfaction and evaluation rate, and is listed so that HR can add the number to the person.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from branchops.core import clock, limits
from branchops.org.models import Institution, Level, Staff, code_validator

from . import input_files as files
from .inputs import CallCentreDay, InputKind, SurveyScore, TellerRating


@dataclass
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = _("line %(line)s") % {"line": self.line} if self.line else ""
        return " ".join(p for p in (where, f"{self.field}:" if self.field else "", self.message) if p)


@dataclass
class Plan:
    kind: str
    branch: Institution
    file_name: str
    dry_run: bool = True
    rows: int = 0
    new: list[dict] = field(default_factory=list)
    unchanged: int = 0
    unmapped: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    more_errors: int = 0
    batch_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def add_error(self, line: int, key: str, message: str) -> None:
        if len(self.errors) >= limits.MAX_IMPORT_ERRORS:
            self.more_errors += 1
            return
        self.errors.append(RowError(line, files.HEADERS[self.kind].get(key, key), message))

    def as_dict(self) -> dict:
        return {"ok": self.ok, "dry_run": self.dry_run, "kind": self.kind, "branch": self.branch.code,
                "rows": self.rows, "added": len(self.new) if self.ok else 0, "unchanged": self.unchanged,
                "unmapped": sorted(set(self.unmapped)), "errors": [asdict(e) for e in self.errors],
                "more_errors": self.more_errors, "batch": self.batch_id}


def _parse(plan: Plan, line: int, cells: dict, parsers: dict) -> dict | None:
    out, bad = {}, False
    for key, parse in parsers.items():
        try:
            out[key] = parse(cells.get(key, ""))
        except files.CellProblem as exc:
            plan.add_error(line, key, str(exc))
            bad = True
    return None if bad else out


def _required(parse):
    def check(text: str):
        if not text:
            raise files.CellProblem(_("This column is required."))
        return parse(text)

    return check


def _teller_no(text: str) -> str:
    if len(text) > 16:
        raise files.CellProblem(_("A teller number has at most 16 characters."))
    try:
        code_validator(text)
    except Exception:
        raise files.CellProblem(_("Use letters, digits, '-' or '_' only.")) from None
    return text


class _Keys:
    """The keys met so far in the file: the same key again with other values names both lines."""

    def __init__(self, plan: Plan, key_column: str):
        self.plan, self.column, self.seen = plan, key_column, {}

    def first(self, line: int, key, values) -> bool:
        earlier = self.seen.get(key)
        if earlier is None:
            self.seen[key] = (line, values)
            return True
        if earlier[1] != values:
            self.plan.add_error(line, self.column, _("Same key as line %(line)s with different values.")
                                % {"line": earlier[0]})
        return False


def _outlets(branch: Institution) -> dict[str, Institution]:
    return {o.code: o for o in Institution.objects.filter(path__startswith=branch.path, level=Level.OUTLET)}


def _outlet(plan: Plan, outlets: dict, line: int, code: str) -> Institution | None:
    outlet = outlets.get(code)
    if outlet is None:
        plan.add_error(line, "outlet_code", _("%(code)s is not an outlet of %(branch)s.")
                       % {"code": code, "branch": plan.branch.name})
    return outlet


def _clash(plan: Plan, line: int, column: str, stored, batch_id: int) -> None:
    plan.add_error(line, column, _("Already stored with %(value)s (import #%(batch)s); a different value is not "
                                   "overwritten.") % {"value": stored, "batch": batch_id})


def _plan_ratings(plan: Plan, rows) -> None:
    tz = ZoneInfo(settings.TIME_ZONE)
    now = clock.now()
    outlets = _outlets(plan.branch)
    parsers = {"outlet_code": _required(str), "teller_no": _required(_teller_no),
               "rated_at": _required(files.parse_time), "rating": _required(files.parse_rating)}
    keys = _Keys(plan, "rated_at")
    wanted = []
    for line, cells in rows:
        values = _parse(plan, line, cells, parsers)
        outlet = _outlet(plan, outlets, line, cells.get("outlet_code", "")) if cells.get("outlet_code") else None
        if values is None or outlet is None:
            continue
        rated_at = values["rated_at"].replace(tzinfo=tz)
        if rated_at > now:
            plan.add_error(line, "rated_at", _("The time is in the future."))
            continue
        if keys.first(line, (outlet.pk, values["teller_no"], rated_at), values["rating"]):
            wanted.append((line, outlet, values["teller_no"], rated_at, values["rating"]))
    _sort_ratings(plan, wanted)


def _sort_ratings(plan: Plan, wanted: list) -> None:
    """Stored with the same rating: already stored; with another: refused; new: kept (unmapped or not)."""
    if not wanted:
        return
    times = [w[3] for w in wanted]
    stored = {(r.outlet_id, r.teller_no, r.rated_at): r for r in TellerRating.objects.filter(
        outlet__in={w[1].pk for w in wanted}, rated_at__range=(min(times), max(times)))}
    staff = dict(Staff.objects.filter(teller_no__in={w[2] for w in wanted}).values_list("teller_no", "pk"))
    for line, outlet, teller_no, rated_at, rating in wanted:
        old = stored.get((outlet.pk, teller_no, rated_at))
        if old is not None:
            if old.rating != rating:
                _clash(plan, line, "rating", old.rating, old.batch_id)
            else:
                plan.unchanged += 1
            continue
        if teller_no not in staff:
            plan.unmapped.append(teller_no)
        plan.new.append({"outlet_id": outlet.pk, "teller_no": teller_no, "rated_at": rated_at, "rating": rating,
                         "staff_id": staff.get(teller_no)})


def _positive(text: str) -> int:
    number = files.parse_count(text)
    if number < 1:
        raise files.CellProblem(_("At least 1 is required."))
    return number


def _plan_surveys(plan: Plan, rows) -> None:
    outlets = _outlets(plan.branch)
    parsers = {"outlet_code": _required(str), "period": _required(files.parse_period),
               "score": _required(files.parse_score), "sample_size": _required(_positive)}
    today = clock.today()
    keys = _Keys(plan, "period")
    stored = {(s.outlet_id, s.year, s.quarter): s for s in SurveyScore.objects.filter(outlet__in=outlets.values())}
    for line, cells in rows:
        values = _parse(plan, line, cells, parsers)
        outlet = _outlet(plan, outlets, line, cells.get("outlet_code", "")) if cells.get("outlet_code") else None
        if values is None or outlet is None:
            continue
        year, quarter = values["period"]
        if (year, quarter) > (today.year, (today.month - 1) // 3 + 1):
            plan.add_error(line, "period", _("The quarter is in the future."))
            continue
        key, value = (outlet.pk, year, quarter), (values["score"], values["sample_size"])
        if not keys.first(line, key, value):
            continue
        old = stored.get(key)
        if old is not None:
            if (old.score, old.sample_size) != value:
                _clash(plan, line, "score", f"{old.score} / {old.sample_size}", old.batch_id)
            else:
                plan.unchanged += 1
            continue
        plan.new.append({"outlet_id": outlet.pk, "year": year, "quarter": quarter, "score": values["score"],
                         "sample_size": values["sample_size"]})


def _call_counts(plan: Plan, line: int, values: dict) -> bool:
    if values["answered"] > values["offered"]:
        plan.add_error(line, "answered", _("More calls answered than offered."))
        return False
    if values["answered_20s"] > values["answered"]:
        plan.add_error(line, "answered_20s", _("More calls answered within 20 s than answered."))
        return False
    return True


def _plan_call_centre(plan: Plan, rows) -> None:
    parsers = {"day": _required(files.parse_day), "offered": _required(files.parse_count),
               "answered": _required(files.parse_count), "answered_20s": _required(files.parse_count)}
    today = clock.today()
    keys = _Keys(plan, "day")
    stored = {d.day: d for d in CallCentreDay.objects.filter(branch=plan.branch)}
    for line, cells in rows:
        values = _parse(plan, line, cells, parsers)
        if values is None or not _call_counts(plan, line, values):
            continue
        if values["day"] > today:
            plan.add_error(line, "day", _("The day is in the future."))
            continue
        value = (values["offered"], values["answered"], values["answered_20s"])
        if not keys.first(line, values["day"], value):
            continue
        old = stored.get(values["day"])
        if old is not None:
            if (old.offered, old.answered, old.answered_20s) != value:
                _clash(plan, line, "offered", f"{old.offered} / {old.answered} / {old.answered_20s}", old.batch_id)
            else:
                plan.unchanged += 1
            continue
        plan.new.append({"day": values["day"], "offered": value[0], "answered": value[1], "answered_20s": value[2]})


PLANNERS = {InputKind.RATINGS: _plan_ratings, InputKind.SURVEYS: _plan_surveys,
            InputKind.CALL_CENTRE: _plan_call_centre}


def plan_import(kind: str, branch: Institution, data: bytes, file_name: str, dry_run: bool = True) -> Plan:
    plan = Plan(kind=kind, branch=branch, file_name=file_name, dry_run=dry_run)
    try:
        rows = files.read_rows(kind, data, file_name)
    except files.FileProblem as exc:
        plan.errors.append(RowError(exc.line, "", exc.message))
        return plan
    plan.rows = len(rows)
    if not rows:
        plan.errors.append(RowError(0, "", _("The file has no rows under its header.")))
        return plan
    PLANNERS[kind](plan, rows)
    plan.errors.sort(key=lambda e: e.line)
    return plan

