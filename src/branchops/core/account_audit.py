"""What an account may do — its groups, its own permissions, the superuser and staff flags — changes only
with an entry in the person's timeline, saying who changed it and when, however it was changed (the
Django admin, a shell, an import, a service). Connected in CoreConfig.ready()."""

import contextvars
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext as _

FLAGS = ("is_superuser", "is_staff")

# Group names as people know them (org registers the role labels).
GROUP_LABELS: dict[str, str] = {}

_recorded_by_caller = contextvars.ContextVar("account_audit_recorded_by_caller", default=False)


def register_group_labels(labels) -> None:
    GROUP_LABELS.update(dict(labels))


@contextmanager
def recorded_by_caller():
    """For a service that writes its own, clearer entry for the same change (org's set_roles)."""
    token = _recorded_by_caller.set(True)
    try:
        yield
    finally:
        _recorded_by_caller.reset(token)


def current_actor():
    """The signed-in user of the request being served (simple_history's middleware keeps it), if any."""
    from simple_history.models import HistoricalRecords

    user = getattr(getattr(HistoricalRecords.context, "request", None), "user", None)
    return user if user is not None and user.is_authenticated else None


def _record(user, verb: str, message: str, data: dict) -> None:
    from .services import record_timeline

    # On the person when there is one (their page shows it), else on the bare account.
    subject = getattr(user, "staff", None) or user
    record_timeline(current_actor(), subject, verb, message, {"account": user.get_username(), **data})


def _group_names(groups) -> list[str]:
    return sorted(g.name for g in groups)


def _permission_names(perms) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in perms)


def _changed_m2m(instance, action, reverse, pk_set, related, forward_name):
    """[(user, [related objects])] touched by one m2m_changed signal, whichever side it came from."""
    user_model = get_user_model()
    if reverse:  # group.user_set.add(user, …): the instance is the group or permission
        users = instance.user_set.all() if action == "pre_clear" else user_model.objects.filter(pk__in=pk_set)
        return [(u, [instance]) for u in users]
    objs = getattr(instance, forward_name).all() if action == "pre_clear" else related.objects.filter(pk__in=pk_set)
    return [(instance, objs)]


def on_groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if _recorded_by_caller.get() or action not in ("post_add", "post_remove", "pre_clear"):
        return
    if action != "pre_clear" and not pk_set:
        return
    added = action == "post_add"
    for user, groups in _changed_m2m(instance, action, reverse, pk_set, Group, "groups"):
        names = _group_names(groups)
        if not names:
            continue
        shown = "、".join(str(GROUP_LABELS.get(n, n)) for n in names)
        message = (_("Added to group: %(groups)s") if added else _("Removed from group: %(groups)s")) % {
            "groups": shown}
        _record(user, "groups_added" if added else "groups_removed", message, {"groups": names})


def on_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "pre_clear") or (action != "pre_clear" and not pk_set):
        return
    added = action == "post_add"
    for user, perms in _changed_m2m(instance, action, reverse, pk_set, Permission, "user_permissions"):
        names = _permission_names(perms)
        if not names:
            continue
        message = (_("Permissions granted: %(perms)s") if added else _("Permissions withdrawn: %(perms)s")) % {
            "perms": ", ".join(names)}
        _record(user, "permissions_added" if added else "permissions_removed", message, {"permissions": names})


def remember_flags(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._flags_before = None
    if raw or instance.pk is None or (update_fields is not None and not set(update_fields) & set(FLAGS)):
        return  # a sign-in saves last_login only: nothing to compare
    instance._flags_before = sender.objects.filter(pk=instance.pk).values(*FLAGS).first()


def record_flags(sender, instance, created=False, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    before = getattr(instance, "_flags_before", None)
    if before is None:
        if not created:
            return
        before = dict.fromkeys(FLAGS, False)  # a new account: record it if it starts with a flag
    changed = {f: [before[f], getattr(instance, f)] for f in FLAGS if before[f] != getattr(instance, f)}
    if not changed:
        return
    labels = {"is_superuser": _("superuser"), "is_staff": _("admin site access")}
    parts = [(_("%(flag)s granted") if new else _("%(flag)s withdrawn")) % {"flag": labels[f]}
             for f, (_old, new) in changed.items()]
    _record(instance, "account_flags_changed", "; ".join(parts), {"changed": changed})


def connect() -> None:
    from django.db.models.signals import m2m_changed, post_save, pre_save

    user_model = get_user_model()
    m2m_changed.connect(on_groups_changed, sender=user_model.groups.through, dispatch_uid="core-audit-groups")
    m2m_changed.connect(on_permissions_changed, sender=user_model.user_permissions.through,
                        dispatch_uid="core-audit-user-permissions")
    pre_save.connect(remember_flags, sender=user_model, dispatch_uid="core-audit-flags-before")
    post_save.connect(record_flags, sender=user_model, dispatch_uid="core-audit-flags")
