"""Every write to the organisation: institutions, hours, clusters, departments, staff, roles."""

from datetime import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from branchops.core import account_audit
from branchops.core.services import record_timeline, require_perm, stamp_history

from .models import LEVEL_RANK, BusinessHours, Cluster, Department, Institution, Level, Staff
from .roles import Role
from .signals import branch_created

User = get_user_model()


def _changes(instance, fields: dict) -> dict:
    """Apply ``fields`` to ``instance``; return {field: (old, new)} for those that changed."""
    changed = {}
    for name, value in fields.items():
        field = instance._meta.get_field(name)
        if field.is_relation:
            old_id = getattr(instance, field.attname)
            new_id = value.pk if value is not None else None
            if old_id != new_id:
                changed[name] = (old_id, new_id)
                setattr(instance, name, value)
            continue
        old = getattr(instance, name)
        if old != value:
            changed[name] = (old, value)
            setattr(instance, name, value)
    return changed


def _describe(changed: dict, model) -> str:
    parts = []
    for name in changed:
        try:
            label = str(model._meta.get_field(name.removesuffix("_id")).verbose_name)
        except Exception:
            label = name
        parts.append(label)
    return _("Changed: %(fields)s") % {"fields": "、".join(parts)}


def _parent_error(inst: Institution) -> str:
    """Where an institution may hang: the head office at the top, every other under a higher level,
    never under an outlet or under itself."""
    parent = inst.parent
    error = ""
    if inst.level == Level.HEAD_OFFICE:
        if parent is not None:
            error = _("The head office has no parent institution.")
    elif parent is None:
        error = _("A parent institution is required.")
    elif LEVEL_RANK[parent.level] >= LEVEL_RANK[inst.level]:
        error = _("A %(level)s cannot be placed under a %(parent_level)s.") % {
            "level": inst.get_level_display(),
            "parent_level": parent.get_level_display(),
        }
    elif parent.level == Level.OUTLET:
        error = _("An outlet cannot have institutions under it.")
    if parent is not None and inst.pk and f"/{inst.pk}/" in parent.path:
        error = _("An institution cannot be placed under itself.")
    return error


def _outlet_errors(inst: Institution) -> dict:
    """Clusters, hubs and outlet types are outlets' only; a hub is one per cluster."""
    errors = {}
    if inst.level != Level.OUTLET:
        if inst.cluster_id or inst.is_hub:
            errors["cluster"] = _("Only outlets belong to clusters.")
        if inst.outlet_type_id:
            errors["outlet_type"] = _("Only outlets have an outlet type.")
    if inst.is_hub and not inst.cluster_id:
        errors["is_hub"] = _("A hub must belong to a cluster.")
    if inst.is_hub and inst.cluster_id:
        other = Institution.objects.filter(cluster_id=inst.cluster_id, is_hub=True).exclude(pk=inst.pk).first()
        if other:
            errors["is_hub"] = _("Cluster already has a hub: %(name)s.") % {"name": other.name}
    return errors


def _check_institution(inst: Institution) -> None:
    parent_error = _parent_error(inst)
    errors = ({"parent": parent_error} if parent_error else {}) | _outlet_errors(inst)
    if errors:
        raise ValidationError(errors)


def _set_path(inst: Institution) -> None:
    parent_path = inst.parent.path if inst.parent_id else "/"
    new_path = f"{parent_path}{inst.pk}/"
    old_path = inst.path
    if new_path == old_path:
        return
    Institution.objects.filter(pk=inst.pk).update(path=new_path, depth=new_path.count("/") - 2)
    if old_path:
        # Move the whole subtree in one statement.
        Institution.objects.filter(path__startswith=old_path).exclude(pk=inst.pk).update(
            path=Concat(Value(new_path), Substr(F("path"), len(old_path) + 1)),
            depth=F("depth") + (new_path.count("/") - old_path.count("/")),
        )
    inst.path = new_path
    inst.depth = new_path.count("/") - 2


def _save_record(actor, model, instance, fields: dict, allowed: set, *, created_message: str,
                 check=None, exclude=(), lock: bool = False, new=None):
    """The one path every org record is created or changed by: permission, validation, history,
    timeline. Returns (instance, changed, creating); nothing is written when nothing changed."""
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unknown {model._meta.model_name} fields: {sorted(unknown)}")
    name = model._meta.model_name
    creating = instance is None
    if creating:
        require_perm(actor, f"org.add_{name}")
        instance = new() if new is not None else model()
    else:
        require_perm(actor, f"org.change_{name}_object", instance)
        if lock:
            instance = model.objects.select_for_update().get(pk=instance.pk)
    changed = _changes(instance, fields)
    if not creating and not changed:
        return instance, changed, creating
    if check is not None:
        check(instance)
    instance.full_clean(exclude=list(exclude))
    stamp_history(instance, actor)
    instance.save()
    record_timeline(actor, instance, "created" if creating else "updated",
                    created_message if creating else _describe(changed, model))
    return instance, changed, creating


BRANCH_LEVELS = (Level.TIER1_BRANCH, Level.TIER2_BRANCH)

INSTITUTION_FIELDS = {
    "code", "name", "short_name", "level", "parent", "address", "phone", "outlet_type", "counters",
    "smart_devices", "cluster", "is_hub", "is_active", "sort_order",
}


@transaction.atomic
def save_institution(actor, instance: Institution | None = None, **fields) -> Institution:
    if instance is None and actor is not None and fields.get("parent") is not None:
        require_perm(actor, "org.change_institution_object", fields["parent"])
    instance, changed, creating = _save_record(
        actor, Institution, instance, fields, INSTITUTION_FIELDS, created_message=_("Institution created"),
        check=_check_institution, exclude=["path", "depth"], lock=True)
    if creating or "parent" in changed:
        _set_path(instance)
    if (creating or "level" in changed) and instance.level in BRANCH_LEVELS:
        branch_created.send(sender=Institution, actor=actor, branch=instance)
    return instance


def parse_hours(text: str) -> tuple[time, time] | None:
    """'09:00-17:00' → (09:00, 17:00); '休息'/'closed'/'' → None (closed that day)."""
    text = (text or "").strip().replace("—", "-").replace("–", "-").replace("～", "-").replace("~", "-")
    if text in {"", "休息", "closed", "Closed", "-"}:
        return None
    try:
        start, end = (part.strip() for part in text.split("-"))
        opens = time.fromisoformat(start if len(start) > 4 else "0" + start)
        closes = time.fromisoformat(end if len(end) > 4 else "0" + end)
    except ValueError as exc:
        raise ValidationError(_("Business hours must look like 09:00-17:00 or 休息, not “%(text)s”.") % {"text": text}) from exc
    if opens >= closes:
        raise ValidationError(_("Opening time must be before closing time: “%(text)s”.") % {"text": text})
    return opens, closes


@transaction.atomic
def set_business_hours(actor, institution: Institution, hours: dict[int, tuple[time, time] | None]) -> None:
    require_perm(actor, "org.change_institution_object", institution)
    if institution.level != Level.OUTLET:
        raise ValidationError({"business_hours": _("Only outlets have business hours.")})
    existing = {h.weekday: h for h in institution.business_hours.all()}
    changed = []
    for weekday in range(7):
        span = hours.get(weekday)
        opens, closes = span if span else (None, None)
        row = existing.get(weekday)
        if row is None:
            row = BusinessHours(institution=institution, weekday=weekday)
        elif row.opens_at == opens and row.closes_at == closes:
            continue
        row.opens_at, row.closes_at = opens, closes
        stamp_history(row, actor)
        row.save()
        changed.append(weekday)
    if changed:
        record_timeline(actor, institution, "hours_changed", _("Business hours changed"))


CLUSTER_FIELDS = {"code", "name", "institution"}


@transaction.atomic
def save_cluster(actor, instance: Cluster | None = None, **fields) -> Cluster:
    return _save_record(actor, Cluster, instance, fields, CLUSTER_FIELDS, created_message=_("Cluster created"))[0]


DEPARTMENT_FIELDS = {"institution", "code", "name", "is_business", "is_review", "is_secretariat", "is_active", "sort_order"}


def _check_department(dept: Department) -> None:
    if dept.institution_id and dept.institution.level == Level.OUTLET:
        raise ValidationError({"institution": _("Departments belong to branches and sub-branches, not outlets.")})


@transaction.atomic
def save_department(actor, instance: Department | None = None, **fields) -> Department:
    return _save_record(actor, Department, instance, fields, DEPARTMENT_FIELDS,
                        created_message=_("Department created"), check=_check_department)[0]


STAFF_FIELDS = {"staff_no", "name", "institution", "department", "post", "teller_no", "phone", "email", "is_active"}


def _check_staff(staff: Staff) -> None:
    if staff.teller_no:
        other = Staff.objects.filter(teller_no=staff.teller_no).exclude(pk=staff.pk).first()
        if other is not None:
            raise ValidationError({"teller_no": _("Teller number %(no)s is already used by %(name)s.")
                                   % {"no": staff.teller_no, "name": other.name}})
    if staff.department_id and staff.institution_id:
        dept_inst = staff.department.institution
        if not staff.institution.path.startswith(dept_inst.path):
            raise ValidationError(
                {"department": _("Department %(dept)s is not part of %(inst)s or an institution above it.")
                 % {"dept": staff.department.name, "inst": staff.institution.name}}
            )


def _new_user(username: str | None, fields: dict):
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": _("A user name is required.")})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("User name %(name)s is already taken.") % {"name": username}})
    user = User(username=username, email=fields.get("email", ""), is_active=fields.get("is_active", True))
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def save_staff(actor, instance: Staff | None = None, *, username: str | None = None,
               roles: list[str] | None = None, **fields) -> Staff:
    """Create or update a staff member and their user account.

    New accounts get no usable password: people sign in through LDAP/AD, or an administrator
    sets a first password for them.
    """
    new = None
    if instance is None:
        require_perm(actor, "org.add_staff")
        if actor is not None and fields.get("institution") is not None:
            require_perm(actor, "org.view_institution_object", fields["institution"])
        user = _new_user(username or fields.get("staff_no"), fields)
        new = lambda: Staff(user=user)  # noqa: E731
    instance, changed, _creating = _save_record(
        actor, Staff, instance, fields, STAFF_FIELDS, created_message=_("Staff member created"),
        check=_check_staff, exclude=["user"], new=new)
    user = instance.user
    if user.is_active != instance.is_active or user.email != instance.email or user.first_name != instance.name:
        user.is_active, user.email, user.first_name = instance.is_active, instance.email, instance.name
        user.save(update_fields=["is_active", "email", "first_name"])
    if roles is not None:
        set_roles(actor, instance, roles)
    return instance


@transaction.atomic
def set_roles(actor, staff: Staff, roles: list[str]) -> None:
    require_perm(actor, "org.change_staff_object", staff)
    wanted = set(roles)
    unknown = wanted - set(Role.values)
    if unknown:
        raise ValidationError({"roles": _("Unknown role: %(roles)s") % {"roles": ", ".join(sorted(unknown))}})
    user = staff.user
    current = {g.name for g in user.groups.filter(name__in=Role.values)}
    if current == wanted:
        return
    keep = user.groups.exclude(name__in=Role.values)
    with account_audit.recorded_by_caller():  # the entry below says it in the roles' words
        user.groups.set(list(keep) + list(Group.objects.filter(name__in=wanted)))
    labels = "、".join(str(Role(r).label) for r in Role.values if r in wanted) or _("none")
    record_timeline(actor, staff, "roles_changed", _("Roles set to: %(roles)s") % {"roles": labels},
                    {"before": sorted(current), "after": sorted(wanted)})
