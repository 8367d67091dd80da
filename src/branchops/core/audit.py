"""A record's timeline: the service-written sentences merged with django-simple-history diffs."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import TimelineEntry

# Labels of timeline verbs; each app registers its own with register_verbs() in AppConfig.ready().
VERB_LABELS = {
    "created": gettext_lazy("Created"),
    "updated": gettext_lazy("Changed"),
    "changed": gettext_lazy("Changed"),
    "deleted": gettext_lazy("Deleted"),
    "hours_changed": gettext_lazy("Business hours changed"),
    "roles_changed": gettext_lazy("Roles changed"),
    "token_created": gettext_lazy("API token created"),
    "token_revoked": gettext_lazy("API token revoked"),
    "token_changed": gettext_lazy("API token changed"),
    "imported": gettext_lazy("Imported"),
    "groups_added": gettext_lazy("Added to a group"),
    "groups_removed": gettext_lazy("Removed from a group"),
    "permissions_added": gettext_lazy("Permissions granted"),
    "permissions_removed": gettext_lazy("Permissions withdrawn"),
    "account_flags_changed": gettext_lazy("Superuser or admin-site access changed"),
}


def register_verbs(labels: dict) -> None:
    VERB_LABELS.update(labels)


def verb_label(verb: str) -> str:
    return str(VERB_LABELS.get(verb, verb))



@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class Event:
    when: datetime
    who: str
    action: str
    message: str = ""
    changes: list[Change] = field(default_factory=list)


def _display(model, field_name: str, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list | tuple):  # many-to-many history: a list of through-rows
        return f"{len(value)}"
    try:
        f = model._meta.get_field(field_name)
    except Exception:
        return str(value)
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if f.is_relation and f.related_model is not None:
        obj = f.related_model._default_manager.filter(pk=value).first()
        return str(obj) if obj else f"#{value}"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        from django.utils import formats, timezone

        return formats.date_format(timezone.localtime(value) if timezone.is_aware(value) else value,
                                   "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        from django.utils import formats

        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def _who(user) -> str:
    if user is None:
        return _("System")
    staff = getattr(user, "staff", None)
    return staff.name if staff else user.get_username()


ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def history_events(obj, limit: int = 200) -> list[Event]:
    if not hasattr(obj, "history"):
        return []
    model = type(obj)
    records = list(obj.history.select_related("history_user").order_by("-history_date", "-history_id")[:limit + 1])
    events = []
    for i, rec in enumerate(records[:limit]):
        prev = records[i + 1] if i + 1 < len(records) else None
        changes = []
        if prev is not None and rec.history_type == "~":
            delta = rec.diff_against(prev)
            for c in delta.changes:
                try:
                    label = str(model._meta.get_field(c.field).verbose_name)
                except Exception:
                    label = c.field
                changes.append(Change(label, _display(model, c.field, c.old), _display(model, c.field, c.new)))
            if not changes:
                continue
        events.append(Event(rec.history_date, _who(rec.history_user), ACTIONS.get(rec.history_type, "changed"),
                            changes=changes))
    return events


def timeline(obj, limit: int = 200) -> list[Event]:
    """Newest first: what services said (with their words) and what the fields were before."""
    ct = ContentType.objects.get_for_model(obj, for_concrete_model=True)
    entries = TimelineEntry.objects.filter(content_type=ct, object_id=str(obj.pk)).select_related(
        "actor", "actor__staff")[:limit]
    events = [Event(e.created_at, _who(e.actor), e.verb, e.message) for e in entries]
    # A service writes "created"/"updated" in the same transaction as the history row: show them
    # as one event, the service's sentence with the before/after values underneath.
    unmatched = []
    for h in history_events(obj, limit):
        twin = next((e for e in events if e.action in ("created", "updated") and not e.changes
                     and e.who == h.who and abs((e.when - h.when).total_seconds()) < 5), None)
        if twin is not None:
            twin.changes = h.changes
        else:
            unmatched.append(h)
    events += unmatched
    events.sort(key=lambda e: e.when, reverse=True)
    return events[:limit]
