"""Import and export of the organisation and its people as one xlsx workbook.

The bank's HR lists live in Excel, so the workbook is the exchange format in both directions:
``export_workbook`` writes exactly the layout that ``import_workbook`` reads, and a workbook
exported and imported again changes nothing.

Layout — three sheets, each with a header row (row 1); columns are found by their Chinese header
or by the English key (``code``, ``parent_code`` …), in any order, and unknown columns are ignored:

- ``机构`` institutions, keyed by 机构代码. 层级 takes the code (``outlet``) or the Chinese label
  (总行/一级分行/二级分行/支行/网点); 网点类型 and 岗位 take a code or a name; 集群角色 is
  核心/卫星 (hub/satellite); 周一…周日 take ``09:00-17:00`` or 休息/empty (closed); 启用 is 是/否.
- ``部门`` departments, keyed by (所属机构代码, 部门代码).
- ``人员`` people, keyed by 员工号. 用户名 defaults to the staff number on creation and cannot be
  changed by import. 部门代码 is looked up in the person's institution first, then in each
  institution above it (the nearest match wins). 角色 lists role codes or labels separated by
  ``,``, ``，``, ``、`` or ``;``.

Any sheet may be absent, and of a sheet only the key columns are required: a column that is absent
leaves that attribute as it is (new records get the default), a column that is present is
authoritative — an empty 角色 cell removes every role. Nothing is ever deleted.

Clusters: an outlet's 集群代码 that does not exist yet creates the cluster, named by the optional
集群名称 column (else the code + "集群") and managed by the parent institution of its hub (else of
the first outlet listed in it). Existing clusters are never renamed by import.

Rules: the import is all-or-nothing. Every row is validated first and every problem is reported
with its sheet, Excel row number and column; if there is any, nothing is written. Otherwise all
rows are applied in one transaction through the services of ``org/services.py`` (so permissions,
history and timeline apply); should a service still refuse a row, everything is rolled back and
that row's error is returned. Institutions are applied parents first, whatever their order in the
sheet. A dry run validates and lists the changes without writing.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from branchops.core import limits
from branchops.core.services import require_perm
from branchops.core.xlsx import add_sheet

from . import queries
from .models import (
    LEVEL_RANK,
    BusinessHours,
    Cluster,
    Department,
    Institution,
    Level,
    OutletType,
    Post,
    Staff,
)
from .roles import Role
from .scope import in_scope, sees_everything
from .services import (
    parse_hours,
    save_cluster,
    save_department,
    save_institution,
    save_staff,
    set_business_hours,
)

User = get_user_model()

INSTITUTIONS, DEPARTMENTS, PEOPLE = "机构", "部门", "人员"
SHEETS = (INSTITUTIONS, DEPARTMENTS, PEOPLE)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool = False  # the header must be present


WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_HEADERS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

COLUMNS: dict[str, tuple[Column, ...]] = {
    INSTITUTIONS: (
        Column("code", "机构代码", True), Column("name", "机构名称"), Column("short_name", "简称"),
        Column("level", "层级"), Column("parent_code", "上级机构代码"), Column("outlet_type", "网点类型"),
        Column("cluster_code", "集群代码"), Column("cluster_name", "集群名称"), Column("cluster_role", "集群角色"),
        Column("counters", "柜台数"), Column("smart_devices", "智能设备数"), Column("address", "地址"),
        Column("phone", "对外电话"), *(Column(k, h) for k, h in zip(WEEKDAY_KEYS, WEEKDAY_HEADERS, strict=True)),
        Column("is_active", "启用"),
    ),
    DEPARTMENTS: (
        Column("institution_code", "所属机构代码", True), Column("code", "部门代码", True),
        Column("name", "部门名称"), Column("is_business", "业务部门"), Column("is_review", "评议部门"),
        Column("is_secretariat", "秘书处"), Column("is_active", "启用"),
    ),
    PEOPLE: (
        Column("staff_no", "员工号", True), Column("name", "姓名"), Column("username", "用户名"),
        Column("institution_code", "所属机构代码"), Column("department_code", "部门代码"), Column("post", "岗位"),
        Column("teller_no", "柜员号"), Column("phone", "电话"), Column("email", "邮箱"), Column("roles", "角色"), Column("is_active", "在职"),
    ),
}
HEADERS = {sheet: {c.key: c.header for c in cols} for sheet, cols in COLUMNS.items()}
# Names that service errors use for what the sheet calls otherwise.
SERVICE_FIELDS = {
    "parent": "parent_code", "cluster": "cluster_code", "is_hub": "cluster_role", "outlet_type": "outlet_type",
    "institution": "institution_code", "department": "department_code", "business_hours": "mon", "__all__": "",
}

LEVEL_LABELS_ZH = {
    Level.HEAD_OFFICE: "总行", Level.TIER1_BRANCH: "一级分行", Level.TIER2_BRANCH: "二级分行",
    Level.SUB_BRANCH: "支行", Level.OUTLET: "网点",
}
CLUSTER_ROLE_LABELS_ZH = {"hub": "核心", "satellite": "卫星"}
ROLE_LABELS_ZH = {
    Role.SECRETARIAT: "秘书处", Role.SUBMITTER: "业务部门提交人", Role.REVIEWER: "评议人",
    Role.OUTLET_HEAD: "网点负责人", Role.OUTLET_STAFF: "网点员工", Role.SERVICE_SUPERVISOR: "服务督导员",
    Role.BRANCH_LEADER: "分行领导", Role.ADMINISTRATOR: "系统管理员",
}
TRUE_WORDS = {"是", "y", "yes", "true", "t", "1", "√", "✓", "启用", "在职"}
FALSE_WORDS = {"否", "n", "no", "false", "f", "0", "×", "停用", "离职"}
ROLE_SEPARATORS = re.compile(r"[,，、;；\n]+")


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class RowError:
    sheet: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        if not self.sheet:
            return self.message
        where = f"{self.sheet}!第{self.row}行"
        return f"{where} {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass
class ImportResult:
    dry_run: bool = True
    errors: list[RowError] = field(default_factory=list)
    summary: dict[str, dict[str, int]] = field(default_factory=dict)
    changes: list[dict] = field(default_factory=list)
    # Errors past limits.MAX_IMPORT_ERRORS are counted, not listed: the answer stays small.
    more_errors: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.more_errors

    def add_error(self, error: RowError) -> None:
        if len(self.errors) < limits.MAX_IMPORT_ERRORS:
            self.errors.append(error)
        else:
            self.more_errors += 1

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "errors": [asdict(e) for e in self.errors],
            "more_errors": self.more_errors,
            "summary": self.summary,
            # A refused workbook's preview is only a hint: as bounded as its error list.
            "changes": self.changes if self.ok else self.changes[:limits.MAX_IMPORT_ERRORS],
        }


# ---------------------------------------------------------------------------------------------
# Cell values: pure helpers


class _Problem(Exception):
    """A cell value that cannot be used; the message is shown to the user."""


def _text(value) -> str:
    """A cell as text: numbers typed into Excel (staff numbers, counters) come back as '1001'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _clean(model, name: str, value):
    """Validate a value as the model field would (length, code pattern, e-mail, range)."""
    try:
        return model._meta.get_field(name).clean(value, None)
    except ValidationError as exc:
        raise _Problem(" ".join(exc.messages)) from exc


def _char(model, name: str) -> Callable[[str], str]:
    return lambda text: _clean(model, name, text)


def _optional(model, name: str) -> Callable[[str], str]:
    return lambda text: _clean(model, name, text) if text else ""


def _parse_bool(text: str, default: bool) -> bool:
    word = text.strip().lower()
    if not word:
        return default
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _Problem(_("Use 是 or 否, not “%(value)s”.") % {"value": text})


def _bool(default: bool) -> Callable[[str], bool]:
    return lambda text: _parse_bool(text, default)


def _int(model, name: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text:
            return 0
        try:
            number = int(text)
        except ValueError:
            raise _Problem(_("A whole number is required, not “%(value)s”.") % {"value": text}) from None
        return _clean(model, name, number)

    return parse


def _parse_level(text: str) -> str:
    for level in Level:
        if text.lower() in {level.value, str(level.label).lower()} or text == LEVEL_LABELS_ZH[level]:
            return level.value
    raise _Problem(_("Unknown level “%(value)s”; use 总行, 一级分行, 二级分行, 支行 or 网点.") % {"value": text})


def _parse_cluster_role(text: str) -> str:
    word = text.lower()
    if not word:
        return ""
    if word in {"hub", "核心", "核心网点"}:
        return "hub"
    if word in {"satellite", "卫星", "卫星网点"}:
        return "satellite"
    raise _Problem(_("Unknown cluster role “%(value)s”; use 核心 or 卫星.") % {"value": text})


def _hours_text(span: tuple[time, time] | None) -> str:
    return f"{span[0]:%H:%M}-{span[1]:%H:%M}" if span else ""


def _parse_hours(text: str) -> str:
    """Normalised '09:00-17:00', or '' for closed."""
    try:
        return _hours_text(parse_hours(text))
    except ValidationError as exc:
        raise _Problem(" ".join(exc.messages)) from exc


@lru_cache
def _role_aliases(language: str | None) -> dict[str, str]:
    aliases = {}
    for role in Role:
        names = {role.value, ROLE_LABELS_ZH[role], str(role.label)}
        for language in ("en", "zh-hans"):
            with translation.override(language):
                names.add(str(role.label))
        aliases.update({name.lower(): role.value for name in names})
    return aliases


def _parse_roles(text: str) -> list[str]:
    aliases = _role_aliases(translation.get_language())
    wanted, unknown = set(), []
    for token in filter(None, (t.strip() for t in ROLE_SEPARATORS.split(text))):
        if token.lower() in aliases:
            wanted.add(aliases[token.lower()])
        else:
            unknown.append(token)
    if unknown:
        raise _Problem(_("Unknown role: %(roles)s") % {"roles": "、".join(unknown)})
    return [r for r in Role.values if r in wanted]


class _Refs:
    """Reference records (outlet types, posts) found by code or by a name no other record has."""

    def __init__(self, objects: Iterable):
        objects = list(objects)
        names = Counter(o.name for o in objects)
        self.by_code = {o.code: o for o in objects}
        self.by_name = {o.name: o for o in objects if names[o.name] == 1}

    def code(self, text: str, message: str) -> str:
        if not text:
            return ""
        obj = self.by_code.get(text) or self.by_name.get(text)
        if obj is None:
            raise _Problem(message % {"value": text})
        return obj.code

    def label(self, obj) -> str:
        if obj is None:
            return ""
        named = self.by_name.get(obj.name)
        return obj.name if named is not None and named.pk == obj.pk else obj.code


# ---------------------------------------------------------------------------------------------
# Reading the workbook


def _open(fileobj):
    if isinstance(fileobj, str | Path):
        return load_workbook(fileobj, read_only=True, data_only=True)
    if hasattr(fileobj, "seek"):
        fileobj.seek(0)
    return load_workbook(fileobj, read_only=True, data_only=True)


def read_sheet(ws, sheet: str) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The non-blank rows of a sheet as (Excel row number, {key: text}) for the columns present."""
    columns = COLUMNS[sheet]
    aliases = {alias: col.key for col in columns for alias in (col.header, col.key)}
    if hasattr(ws, "reset_dimensions"):
        # Read-only sheets trust the file's <dimension>, which other generators get wrong: rows past it
        # would be dropped without a word.
        ws.reset_dimensions()
    rows = ws.iter_rows(values_only=True)
    index: dict[str, int] = {}
    for i, value in enumerate(next(rows, None) or ()):
        key = aliases.get(_text(value)) or aliases.get(_text(value).lower())
        if key and key not in index:
            index[key] = i
    missing = [c for c in columns if c.required and c.key not in index]
    if missing:
        return [], [RowError(sheet, 1, c.header, _("Missing required column %(header)s") % {"header": c.header})
                     for c in missing]
    out = []
    for number, values in enumerate(rows, start=2):
        if number > limits.MAX_IMPORT_ROWS + 1:
            return [], [RowError(sheet, number, "", _("More than %(n)s rows: split the workbook.") % {
                "n": limits.MAX_IMPORT_ROWS})]
        cells = {key: _text(values[i]) if i < len(values) else "" for key, i in index.items()}
        if any(cells.values()):
            out.append((number, cells))
    return out, []


# ---------------------------------------------------------------------------------------------
# Current values of existing records, in the same form as parsed cells


def _institution_values(inst: Institution, hours: dict[int, BusinessHours]) -> dict:
    values = {
        "code": inst.code, "name": inst.name, "short_name": inst.short_name, "level": inst.level,
        "parent_code": inst.parent.code if inst.parent_id else "",
        "outlet_type": inst.outlet_type.code if inst.outlet_type_id else "",
        "cluster_code": inst.cluster.code if inst.cluster_id else "", "cluster_role": inst.cluster_role,
        "counters": inst.counters, "smart_devices": inst.smart_devices, "address": inst.address,
        "phone": inst.phone, "is_active": inst.is_active,
    }
    for weekday, key in enumerate(WEEKDAY_KEYS):
        row = hours.get(weekday)
        values[key] = _hours_text((row.opens_at, row.closes_at) if row and not row.is_closed else None)
    return values


NEW_INSTITUTION = {
    "short_name": "", "parent_code": "", "outlet_type": "", "cluster_code": "", "cluster_role": "",
    "counters": 0, "smart_devices": 0, "address": "", "phone": "", "is_active": True,
    **dict.fromkeys(WEEKDAY_KEYS, ""),
}


def _department_values(dept: Department) -> dict:
    return {
        "institution_code": dept.institution.code, "code": dept.code, "name": dept.name,
        "is_business": dept.is_business, "is_review": dept.is_review, "is_secretariat": dept.is_secretariat,
        "is_active": dept.is_active,
    }


NEW_DEPARTMENT = {"is_business": False, "is_review": False, "is_secretariat": False, "is_active": True}


def _department_ref(dept: Department | None) -> str:
    return f"{dept.institution.code}/{dept.code}" if dept else ""


def _staff_values(person: Staff, roles: list[str]) -> dict:
    return {
        "staff_no": person.staff_no, "name": person.name, "username": person.user.username,
        "institution_code": person.institution.code, "department": _department_ref(person.department),
        "post": person.post.code if person.post_id else "", "teller_no": person.teller_no, "phone": person.phone, "email": person.email,
        "roles": [r for r in Role.values if r in roles], "is_active": person.is_active,
    }


NEW_STAFF = {"department": "", "post": "", "teller_no": "", "phone": "", "email": "", "roles": [], "is_active": True}


# ---------------------------------------------------------------------------------------------
# Plans: one per valid row


@dataclass
class _Plan:
    sheet: str
    row: int
    key: str
    existing: object | None
    current: dict
    final: dict
    bad: set[str] = field(default_factory=set)  # columns whose cell could not be read
    cluster_name: str = ""
    hidden: bool = False  # an existing record outside the actor's scope: its values are not shown

    @property
    def changed(self) -> dict:
        """{field: [old, new]} in column order; for a new record, the values it gets."""
        order = {c.key: i for i, c in enumerate(COLUMNS[self.sheet])}
        keys = sorted(self.final, key=lambda k: order.get(k, order.get(f"{k}_code", len(order))))
        if self.existing is None:
            return {k: [None, self.final[k]] for k in keys if self.final[k] not in ("", None, [])}
        return {k: [self.current.get(k), self.final[k]] for k in keys if self.current.get(k) != self.final[k]}

    @property
    def action(self) -> str:
        if self.existing is None:
            return "create"
        return "update" if self.changed else "unchanged"


class _Abort(Exception):
    """A service refused a row while applying; the transaction is rolled back."""


class _Importer:
    def __init__(self, actor, dry_run: bool):
        self.actor = actor
        self.result = ImportResult(dry_run=dry_run)
        self.plans: dict[str, dict[str, _Plan]] = {sheet: {} for sheet in SHEETS}
        self.insts = {i.code: i for i in Institution.objects.select_related("parent", "outlet_type", "cluster")}
        self.children: dict[str, list[Institution]] = defaultdict(list)
        for inst in self.insts.values():
            if inst.parent_id:
                self.children[inst.parent.code].append(inst)
        self.clusters = {c.code: c for c in Cluster.objects.all()}
        self.new_clusters: dict[str, dict] = {}
        self.outlet_types = _Refs(OutletType.objects.all())
        self.posts = _Refs(Post.objects.all())

    # -- errors ---------------------------------------------------------------------------------

    def error(self, sheet: str, row: int, key: str, message: str) -> None:
        header = HEADERS.get(sheet, {}).get(key, key)
        self.result.add_error(RowError(sheet, row, header, message))

    def plan_error(self, plan: _Plan, key: str, message: str) -> None:
        self.error(plan.sheet, plan.row, key, message)

    def parse(self, sheet: str, row: int, cells: dict, parsers: dict) -> tuple[dict, set[str]]:
        parsed, bad = {}, set()
        for key, text in cells.items():
            try:
                parsed[key] = parsers[key](text)
            except _Problem as exc:
                self.error(sheet, row, key, str(exc))
                bad.add(key)
        return parsed, bad

    def require(self, sheet: str, row: int, final: dict, bad: set, keys: Iterable[str]) -> None:
        for key in keys:
            if key not in bad and final.get(key) in (None, ""):
                header = HEADERS[sheet][key]
                self.error(sheet, row, key, _("%(field)s is required.") % {"field": header})

    def may(self, sheet: str, row: int, key: str, perm: str) -> bool:
        if self.actor is None or self.actor.has_perm(perm):
            return True
        self.error(sheet, row, key, _("You do not have permission to do this."))
        return False

    def first_row(self, sheet: str, row: int, column: str, key: str) -> bool:
        """Report a key listed twice in a sheet; True when this is its first row."""
        earlier = self.plans[sheet].get(key)
        if earlier is None:
            return True
        self.error(sheet, row, column, _("%(key)s is listed twice (also on row %(row)s).")
                   % {"key": key, "row": earlier.row})
        return False

    # -- the institution tree as it will be after the import -------------------------------------

    def parent_of(self, code: str) -> str:
        plan = self.plans[INSTITUTIONS].get(code)
        if plan is not None:
            return plan.final.get("parent_code") or ""
        inst = self.insts.get(code)
        return inst.parent.code if inst is not None and inst.parent_id else ""

    def level_of(self, code: str) -> str | None:
        plan = self.plans[INSTITUTIONS].get(code)
        if plan is not None:
            return plan.final.get("level")
        inst = self.insts.get(code)
        return inst.level if inst else None

    def known(self, code: str) -> bool:
        return code in self.insts or code in self.plans[INSTITUTIONS]

    def chain(self, code: str) -> tuple[list[str], bool]:
        """``code`` and the institutions above it; True when the chain loops."""
        out, seen = [], set()
        while code and code not in seen:
            seen.add(code)
            out.append(code)
            code = self.parent_of(code)
        return out, bool(code)

    def rooted(self, code: str) -> bool:
        """Whether the chain above ``code`` ends at a known institution without looping."""
        chain, loops = self.chain(code)
        return not loops and self.known(chain[-1])

    def in_scope(self, code: str) -> bool:
        """Whether the actor may touch ``code`` — a new institution counts as its nearest existing ancestor."""
        if self.actor is None:
            return True
        anchor = next((self.insts[c] for c in self.chain(code)[0] if c in self.insts), None)
        return sees_everything(self.actor) if anchor is None else in_scope(self.actor, anchor)

    def check_scope(self, sheet: str, row: int, key: str, code: str) -> None:
        if code and self.known(code) and not self.in_scope(code):
            self.error(sheet, row, key, _("Institution %(code)s is out of your scope.") % {"code": code})

    # -- institutions ---------------------------------------------------------------------------

    def institution_parsers(self) -> dict:
        return {
            "code": _char(Institution, "code"), "name": _char(Institution, "name"),
            "short_name": _char(Institution, "short_name"), "level": _parse_level,
            "parent_code": str.strip,
            "outlet_type": lambda t: self.outlet_types.code(t, _("Unknown outlet type %(value)s")),
            "cluster_code": _optional(Cluster, "code"), "cluster_name": _optional(Cluster, "name"),
            "cluster_role": _parse_cluster_role,
            "counters": _int(Institution, "counters"), "smart_devices": _int(Institution, "smart_devices"),
            "address": _char(Institution, "address"), "phone": _char(Institution, "phone"),
            **dict.fromkeys(WEEKDAY_KEYS, _parse_hours), "is_active": _bool(True),
        }

    def institution_row(self, row: int, cells: dict, parsers: dict, hours: dict) -> None:
        parsed, bad = self.parse(INSTITUTIONS, row, cells, parsers)
        code = parsed.pop("code", "")
        if not code or not self.first_row(INSTITUTIONS, row, "code", code):
            return
        cluster_name = parsed.pop("cluster_name", "")
        existing = self.insts.get(code)
        current = (_institution_values(existing, hours.get(existing.pk, {})) if existing
                   else {"code": code, **NEW_INSTITUTION})
        final = {**current, **parsed}
        if parsed.get("cluster_role") and not final["cluster_code"]:
            self.error(INSTITUTIONS, row, "cluster_role", _("A cluster role needs a cluster code."))
        if not final["cluster_code"]:
            final["cluster_role"] = ""
        elif "cluster_role" not in parsed and final["cluster_code"] != current["cluster_code"]:
            final["cluster_role"] = "satellite"  # moved to another cluster: not its hub unless said so
        elif not final["cluster_role"]:
            final["cluster_role"] = "satellite"
        if existing is None:
            self.require(INSTITUTIONS, row, final, bad, ("name", "level"))
            self.may(INSTITUTIONS, row, "code", "org.add_institution")
        self.plans[INSTITUTIONS][code] = _Plan(INSTITUTIONS, row, code, existing, current, final, bad, cluster_name)

    def check_institution(self, plan: _Plan) -> None:
        final, level = plan.final, plan.final.get("level")
        if (plan.existing is not None or self.rooted(plan.key)) and not self.in_scope(plan.key):
            self.plan_error(plan, "code", _("Institution %(code)s is out of your scope.") % {"code": plan.key})
            plan.hidden = plan.existing is not None
            if plan.hidden:
                return
        if plan.action == "update":
            self.may(INSTITUTIONS, plan.row, "code", "org.change_institution")
        self.check_parent(plan, level, final["parent_code"])
        if level:
            self.check_outlet_only(plan, level)
            self.check_children(plan, level)

    def check_parent(self, plan: _Plan, level: str | None, parent: str) -> None:
        if parent and not self.known(parent):
            self.plan_error(plan, "parent_code", _("Unknown parent institution code %(code)s") % {"code": parent})
            return
        if level is None:  # already reported: nothing more can be checked
            return
        if level == Level.HEAD_OFFICE:
            if parent:
                self.plan_error(plan, "parent_code", _("The head office has no parent institution."))
            return
        if not parent:
            if "parent_code" not in plan.bad:
                self.plan_error(plan, "parent_code", _("A parent institution is required."))
            return
        if self.chain(plan.key)[1]:
            self.plan_error(plan, "parent_code", _("Institution %(code)s would be placed under itself.")
                            % {"code": plan.key})
            return
        parent_level = self.level_of(parent)
        if parent_level and LEVEL_RANK[parent_level] >= LEVEL_RANK[level]:
            self.plan_error(plan, "parent_code", _("A %(level)s cannot be placed under a %(parent_level)s.") % {
                "level": Level(level).label, "parent_level": Level(parent_level).label})
        if plan.existing is not None and parent != plan.current["parent_code"]:
            self.check_scope(INSTITUTIONS, plan.row, "parent_code", parent)

    def check_outlet_only(self, plan: _Plan, level: str) -> None:
        if level == Level.OUTLET:
            return
        final = plan.final
        if final["outlet_type"]:
            self.plan_error(plan, "outlet_type", _("Only outlets have an outlet type."))
        if final["cluster_code"]:
            self.plan_error(plan, "cluster_code", _("Only outlets belong to clusters."))
        day = next((k for k in WEEKDAY_KEYS if final[k]), None)
        if day:
            self.plan_error(plan, day, _("Only outlets have business hours."))

    def check_children(self, plan: _Plan, level: str) -> None:
        """Institutions left under one whose level changes must still rank below it."""
        if plan.existing is None or level == plan.current["level"]:
            return
        for child in self.children.get(plan.key, ()):
            if child.code not in self.plans[INSTITUTIONS] and LEVEL_RANK[child.level] <= LEVEL_RANK[level]:
                self.plan_error(plan, "level", _("A %(level)s cannot be placed under a %(parent_level)s.") % {
                    "level": f"{child.get_level_display()} {child.code}", "parent_level": Level(level).label})

    def check_clusters(self) -> None:
        plans = self.plans[INSTITUTIONS]
        hubs: dict[str, list[str]] = defaultdict(list)
        members: dict[str, list[_Plan]] = defaultdict(list)
        for inst in self.insts.values():
            if inst.code not in plans and inst.is_hub and inst.cluster_id:
                hubs[inst.cluster.code].append(inst.code)
        for plan in plans.values():
            cluster = plan.final["cluster_code"]
            if cluster:
                members[cluster].append(plan)
                if plan.final["cluster_role"] == "hub":
                    hubs[cluster].append(plan.key)
        for cluster, codes in hubs.items():
            if len(codes) > 1:
                for code in codes:
                    if code in plans:
                        self.plan_error(plans[code], "cluster_role", _(
                            "Cluster %(cluster)s would have more than one hub: %(codes)s.")
                            % {"cluster": cluster, "codes": "、".join(codes)})
        for cluster, listed in members.items():
            if cluster not in self.clusters:
                self.plan_new_cluster(cluster, listed, hubs.get(cluster, []))

    def plan_new_cluster(self, code: str, listed: list[_Plan], hubs: list[str]) -> None:
        first = next((p for p in listed if p.key in hubs), listed[0])
        name = next((p.cluster_name for p in listed if p.cluster_name), "") or f"{code}集群"
        self.new_clusters[code] = {"name": name, "institution": first.final["parent_code"]}
        if not self.may(INSTITUTIONS, first.row, "cluster_code", "org.add_cluster"):
            return
        try:
            _clean(Cluster, "name", name)
        except _Problem as exc:
            self.plan_error(first, "cluster_name", str(exc))

    def validate_institutions(self, rows) -> None:
        parsers = self.institution_parsers()
        ids = [self.insts[cells["code"]].pk for _row, cells in rows if cells.get("code") in self.insts]
        hours: dict[int, dict[int, BusinessHours]] = defaultdict(dict)
        for span in BusinessHours.objects.filter(institution_id__in=ids):
            hours[span.institution_id][span.weekday] = span
        for row, cells in rows:
            self.institution_row(row, cells, parsers, hours)
        for plan in self.plans[INSTITUTIONS].values():
            self.check_institution(plan)
        self.check_clusters()

    # -- departments ----------------------------------------------------------------------------

    def validate_departments(self, rows) -> None:
        parsers = {
            "institution_code": _char(Department, "code"), "code": _char(Department, "code"),
            "name": _char(Department, "name"), "is_business": _bool(False), "is_review": _bool(False),
            "is_secretariat": _bool(False), "is_active": _bool(True),
        }
        existing_depts = {(d.institution.code, d.code): d for d in Department.objects.select_related("institution")}
        self.department_keys = set(existing_depts)
        for row, cells in rows:
            parsed, bad = self.parse(DEPARTMENTS, row, cells, parsers)
            inst_code, code = parsed.get("institution_code"), parsed.get("code")
            if not inst_code or not code or not self.first_row(DEPARTMENTS, row, "code", f"{inst_code}/{code}"):
                continue
            existing = existing_depts.get((inst_code, code))
            current = _department_values(existing) if existing else {
                "institution_code": inst_code, "code": code, **NEW_DEPARTMENT}
            plan = _Plan(DEPARTMENTS, row, f"{inst_code}/{code}", existing, current, {**current, **parsed}, bad)
            self.plans[DEPARTMENTS][plan.key] = plan
            self.department_keys.add((inst_code, code))
            self.check_department(plan)

    def check_department(self, plan: _Plan) -> None:
        inst_code, row = plan.final["institution_code"], plan.row
        if plan.existing is None:
            self.require(DEPARTMENTS, row, plan.final, plan.bad, ("name",))
            self.may(DEPARTMENTS, row, "code", "org.add_department")
        elif plan.changed:
            self.may(DEPARTMENTS, row, "code", "org.change_department")
        if not self.known(inst_code):
            self.error(DEPARTMENTS, row, "institution_code", _("Unknown institution code %(code)s") % {"code": inst_code})
            return
        if self.level_of(inst_code) == Level.OUTLET:
            self.error(DEPARTMENTS, row, "institution_code",
                       _("Departments belong to branches and sub-branches, not outlets."))
        if self.rooted(inst_code) and not self.in_scope(inst_code):
            self.error(DEPARTMENTS, row, "institution_code",
                       _("Institution %(code)s is out of your scope.") % {"code": inst_code})
            plan.hidden = plan.existing is not None

    # -- people ---------------------------------------------------------------------------------

    def validate_people(self, rows) -> None:
        parsers = {
            "staff_no": _char(Staff, "staff_no"), "name": _char(Staff, "name"),
            "username": _optional(User, User.USERNAME_FIELD), "institution_code": str.strip,
            "department_code": str.strip,
            "post": lambda t: self.posts.code(t, _("Unknown post %(value)s")),
            "teller_no": _optional(Staff, "teller_no"),
            "phone": _char(Staff, "phone"), "email": _char(Staff, "email"), "roles": _parse_roles,
            "is_active": _bool(True),
        }
        people = {p.staff_no: p for p in Staff.objects.select_related(
            "user", "institution", "department__institution", "post")}
        roles = queries.roles_by_user([p.user_id for p in people.values()])
        self.usernames = {u.lower(): None for u in User.objects.values_list(User.USERNAME_FIELD, flat=True)}
        for row, cells in rows:
            parsed, bad = self.parse(PEOPLE, row, cells, parsers)
            staff_no = parsed.get("staff_no", "")
            if not staff_no or not self.first_row(PEOPLE, row, "staff_no", staff_no):
                continue
            username, department_code = parsed.pop("username", ""), parsed.pop("department_code", None)
            existing = people.get(staff_no)
            current = _staff_values(existing, roles.get(existing.user_id, [])) if existing else {
                "staff_no": staff_no, **NEW_STAFF}
            plan = _Plan(PEOPLE, row, staff_no, existing, current, {**current, **parsed}, bad)
            self.plans[PEOPLE][staff_no] = plan
            self.check_person(plan, username, department_code)
        self.check_teller_numbers(people)

    def check_teller_numbers(self, people: dict) -> None:
        """A teller number names one person after the import: twice in the sheet, or already held by
        someone the sheet leaves holding it, is an error on every row that claims it."""
        holders: dict[str, list[str]] = defaultdict(list)
        for staff_no, person in people.items():
            plan = self.plans[PEOPLE].get(staff_no)
            teller_no = plan.final.get("teller_no", "") if plan is not None else person.teller_no
            if teller_no:
                holders[teller_no].append(staff_no)
        for staff_no, plan in self.plans[PEOPLE].items():
            teller_no = plan.final.get("teller_no", "")
            if plan.existing is None and teller_no:
                holders[teller_no].append(staff_no)
        for teller_no, staff_nos in holders.items():
            if len(staff_nos) < 2:
                continue
            for staff_no in staff_nos:
                plan = self.plans[PEOPLE].get(staff_no)
                if plan is not None and "teller_no" not in plan.bad:
                    others = "、".join(s for s in staff_nos if s != staff_no)
                    self.plan_error(plan, "teller_no", _("Teller number %(no)s is also given to %(others)s.")
                                    % {"no": teller_no, "others": others})

    def check_person(self, plan: _Plan, username: str, department_code: str | None) -> None:
        final = plan.final
        if plan.existing is not None and self.actor is not None and not in_scope(self.actor, plan.existing.institution):
            self.plan_error(plan, "staff_no", _("Staff member %(code)s is out of your scope.") % {"code": plan.key})
            plan.hidden = True
            return
        self.check_username(plan, username)
        self.require(PEOPLE, plan.row, final, plan.bad, ("name", "institution_code"))
        inst_code = final.get("institution_code", "")
        if inst_code and not self.known(inst_code):
            self.plan_error(plan, "institution_code", _("Unknown institution code %(code)s") % {"code": inst_code})
            return
        if inst_code:
            self.resolve_department(plan, inst_code, department_code)
        if inst_code != plan.current.get("institution_code"):
            self.check_scope(PEOPLE, plan.row, "institution_code", inst_code)
        if plan.action != "unchanged":
            perm = "org.add_staff" if plan.existing is None else "org.change_staff"
            self.may(PEOPLE, plan.row, "staff_no", perm)

    def check_username(self, plan: _Plan, username: str) -> None:
        existing = plan.existing
        if existing is not None:
            if username and username.lower() != existing.user.username.lower():
                message = (_("User name %(name)s is already used by another person.") if username.lower() in self.usernames
                           else _("A user name cannot be changed by import (now %(current)s)."))
                self.plan_error(plan, "username", message % {"name": username, "current": existing.user.username})
            plan.final["username"] = existing.user.username
            return
        username = username or plan.key
        plan.final["username"] = username
        owner = self.usernames.get(username.lower(), False)
        if owner is None:
            self.plan_error(plan, "username", _("User name %(name)s is already used by another person.")
                            % {"name": username})
        elif owner:
            self.plan_error(plan, "username", _("%(key)s is listed twice (also on row %(row)s).")
                            % {"key": username, "row": owner})
        else:
            self.usernames[username.lower()] = plan.row

    def resolve_department(self, plan: _Plan, inst_code: str, department_code: str | None) -> None:
        chain, _loops = self.chain(inst_code)
        if department_code is None:  # column absent: keep the department if it still fits
            current = plan.final.get("department", "")
            if current and current.split("/")[0] not in chain:
                self.plan_error(plan, "department_code", _(
                    "Department %(dept)s is not part of %(inst)s or an institution above it.")
                    % {"dept": current, "inst": inst_code})
            return
        if not department_code:
            plan.final["department"] = ""
            return
        found = next((c for c in chain if (c, department_code) in self.department_keys), None)
        if found is None:
            self.plan_error(plan, "department_code", _(
                "Unknown department %(code)s in %(inst)s or the institutions above it.")
                % {"code": department_code, "inst": inst_code})
            return
        plan.final["department"] = f"{found}/{department_code}"

    # -- applying -------------------------------------------------------------------------------

    @contextmanager
    def applying(self, plan: _Plan):
        try:
            yield
        except ValidationError as exc:
            items = exc.message_dict.items() if hasattr(exc, "error_dict") else [("", exc.messages)]
            for name, messages in items:
                key = SERVICE_FIELDS.get(name, name)
                for message in messages:
                    self.plan_error(plan, key, message)
            raise _Abort from exc
        except PermissionDenied as exc:
            self.plan_error(plan, "", str(exc) or _("You do not have permission to do this."))
            raise _Abort from exc

    def apply(self) -> None:
        plans = self.plans[INSTITUTIONS].values()
        promote = []
        for plan in sorted((p for p in plans if p.action != "unchanged"), key=lambda p: len(self.chain(p.key)[0])):
            with self.applying(plan):
                if not self.apply_institution(plan):
                    promote.append(plan)
        for plan in promote:
            with self.applying(plan):
                save_institution(self.actor, Institution.objects.get(code=plan.key), is_hub=True)
        for plan in self.plans[DEPARTMENTS].values():
            if plan.action != "unchanged":
                with self.applying(plan):
                    self.apply_department(plan)
        # People who give up a teller number first, so that another row may take it over.
        people = sorted(self.plans[PEOPLE].values(), key=lambda p: not (p.current.get("teller_no") and "teller_no" in p.changed))
        for plan in people:
            if plan.action != "unchanged":
                with self.applying(plan):
                    self.apply_person(plan)

    def cluster(self, code: str) -> Cluster | None:
        if not code:
            return None
        if code not in self.clusters:
            spec = self.new_clusters[code]
            self.clusters[code] = save_cluster(self.actor, code=code, name=spec["name"],
                                               institution=Institution.objects.get(code=spec["institution"]))
        return self.clusters[code]

    def apply_institution(self, plan: _Plan) -> bool:
        """Create or update one institution; False when making it a hub must wait for the others."""
        final = plan.final
        inst = Institution.objects.get(code=plan.key) if plan.existing else None
        cluster = self.cluster(final["cluster_code"])
        is_hub = final["cluster_role"] == "hub"
        deferred = is_hub and Institution.objects.filter(cluster=cluster, is_hub=True).exclude(code=plan.key).exists()
        inst = save_institution(
            self.actor, inst, code=plan.key, name=final["name"], short_name=final["short_name"],
            level=final["level"],
            parent=Institution.objects.get(code=final["parent_code"]) if final["parent_code"] else None,
            address=final["address"], phone=final["phone"],
            outlet_type=self.outlet_types.by_code.get(final["outlet_type"]), counters=final["counters"],
            smart_devices=final["smart_devices"], cluster=cluster, is_hub=is_hub and not deferred,
            is_active=final["is_active"],
        )
        if any(key in plan.changed for key in WEEKDAY_KEYS):
            set_business_hours(self.actor, inst, {
                weekday: parse_hours(final[key]) for weekday, key in enumerate(WEEKDAY_KEYS)})
        return not deferred

    def apply_department(self, plan: _Plan) -> None:
        final = plan.final
        dept = Department.objects.get(pk=plan.existing.pk) if plan.existing else None
        save_department(self.actor, dept, institution=Institution.objects.get(code=final["institution_code"]),
                        code=final["code"], name=final["name"], is_business=final["is_business"],
                        is_review=final["is_review"], is_secretariat=final["is_secretariat"],
                        is_active=final["is_active"])

    def apply_person(self, plan: _Plan) -> None:
        final, creating = plan.final, plan.existing is None
        person = None if creating else Staff.objects.select_related("user").get(pk=plan.existing.pk)
        department = None
        if final["department"]:
            inst_code, code = final["department"].split("/", 1)
            department = Department.objects.get(institution__code=inst_code, code=code)
        save_staff(
            self.actor, person, username=final["username"] if creating else None,
            roles=final["roles"] if creating or "roles" in plan.changed else None,
            staff_no=plan.key, name=final["name"],
            institution=Institution.objects.get(code=final["institution_code"]), department=department,
            post=self.posts.by_code.get(final["post"]), teller_no=final["teller_no"], phone=final["phone"],
            email=final["email"],
            is_active=final["is_active"],
        )

    # -- the result -----------------------------------------------------------------------------

    def summarise(self, sheets: Iterable[str]) -> None:
        for sheet in sheets:
            plans = sorted((p for p in self.plans[sheet].values() if not p.hidden), key=lambda p: p.row)
            counts = Counter(plan.action for plan in plans)
            self.result.summary[sheet] = {a: counts.get(a, 0) for a in ("create", "update", "unchanged")}
            for plan in plans:
                if plan.action != "unchanged":
                    self.result.changes.append({"sheet": sheet, "row": plan.row, "action": plan.action,
                                                "key": plan.key,
                                                "fields": {HEADERS[sheet].get(k, k): v for k, v in plan.changed.items()}})


def import_workbook(actor, fileobj, dry_run: bool = True) -> ImportResult:
    """Validate a workbook and, unless ``dry_run`` or anything is wrong, apply it all at once."""
    require_perm(actor, "org.import_org")
    importer = _Importer(actor, dry_run)
    result = importer.result
    size = getattr(fileobj, "size", None)
    if size is not None and size > limits.MAX_IMPORT_BYTES:
        result.errors.append(RowError("", 0, "", _("The file is larger than %(mb)s MB: split the workbook.") % {
            "mb": limits.MAX_IMPORT_BYTES // (1024 * 1024)}))
        return result
    try:
        wb = _open(fileobj)
    except Exception:  # openpyxl raises many kinds for a file that is not an xlsx workbook
        result.errors.append(RowError("", 0, "", _("The file is not a readable xlsx workbook.")))
        return result
    present = [sheet for sheet in SHEETS if sheet in wb.sheetnames]
    if not present:
        result.errors.append(RowError("", 0, "", _("The workbook has none of the sheets %(sheets)s.")
                                      % {"sheets": "、".join(SHEETS)}))
        return result
    rows = {}
    for sheet in present:
        rows[sheet], errors = read_sheet(wb[sheet], sheet)
        for error in errors:
            result.add_error(error)
    wb.close()
    importer.validate_institutions(rows.get(INSTITUTIONS, []))
    importer.validate_departments(rows.get(DEPARTMENTS, []))
    importer.validate_people(rows.get(PEOPLE, []))
    result.errors.sort(key=lambda e: (SHEETS.index(e.sheet) if e.sheet in SHEETS else -1, e.row))
    importer.summarise(present)
    if result.ok and not dry_run:
        try:
            with transaction.atomic():
                importer.apply()
        except _Abort:
            pass
    return result


# ---------------------------------------------------------------------------------------------
# Export


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _institution_cells(inst: Institution, hours: dict[int, BusinessHours], types: _Refs) -> list:
    values = _institution_values(inst, hours)
    values.update(
        level=LEVEL_LABELS_ZH[inst.level], outlet_type=types.label(inst.outlet_type),
        cluster_name=inst.cluster.name if inst.cluster_id else "",
        cluster_role=CLUSTER_ROLE_LABELS_ZH.get(inst.cluster_role, ""), is_active=_yes(inst.is_active),
    )
    for weekday, key in enumerate(WEEKDAY_KEYS):
        if weekday in hours and hours[weekday].is_closed:
            values[key] = "休息"
    return [values[c.key] for c in COLUMNS[INSTITUTIONS]]


def _department_cells(dept: Department) -> list:
    values = _department_values(dept)
    for key in ("is_business", "is_review", "is_secretariat", "is_active"):
        values[key] = _yes(values[key])
    return [values[c.key] for c in COLUMNS[DEPARTMENTS]]


def _staff_cells(person: Staff, roles: list[str], posts: _Refs) -> list:
    values = _staff_values(person, roles)
    values.update(
        department_code=person.department.code if person.department_id else "", post=posts.label(person.post),
        roles="、".join(ROLE_LABELS_ZH[Role(r)] for r in values["roles"]), is_active=_yes(person.is_active),
    )
    return [values[c.key] for c in COLUMNS[PEOPLE]]


def export_workbook(user) -> Workbook:
    """Everything in ``user``'s scope (everything for ``None``, the system) in the import layout."""
    require_perm(user, "org.export_org")
    if user is None:
        insts = Institution.objects.select_related("parent", "outlet_type", "cluster").order_by("path")
        depts = Department.objects.select_related("institution")
        people = Staff.objects.select_related("user", "institution", "department__institution", "post")
    else:
        insts = queries.institutions(user)
        depts = queries.departments(user)
        people = queries.staff(user, active=None)
    insts, people = list(insts), list(people.order_by("institution__path", "staff_no"))
    hours: dict[int, dict[int, BusinessHours]] = defaultdict(dict)
    for row in BusinessHours.objects.filter(institution__in=[i.pk for i in insts]):
        hours[row.institution_id][row.weekday] = row
    types, posts = _Refs(OutletType.objects.all()), _Refs(Post.objects.all())
    roles = queries.roles_by_user([p.user_id for p in people])
    wb = Workbook()
    wb.remove(wb.active)
    add_sheet(wb, INSTITUTIONS, [c.header for c in COLUMNS[INSTITUTIONS]],
              (_institution_cells(i, hours[i.pk], types) for i in insts))
    add_sheet(wb, DEPARTMENTS, [c.header for c in COLUMNS[DEPARTMENTS]], (_department_cells(d) for d in depts))
    add_sheet(wb, PEOPLE, [c.header for c in COLUMNS[PEOPLE]],
              (_staff_cells(p, roles.get(p.user_id, []), posts) for p in people))
    return wb
