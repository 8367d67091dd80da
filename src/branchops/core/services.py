"""Shared write helpers: permission checks, timeline, notifications, numbering, tokens, calendar."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from . import clock
from .models import ApiToken, CalendarDay, IssuedDocument, Notification, SavedFilter, Sequence, TimelineEntry

log = logging.getLogger(__name__)


def require_perm(actor, perm: str, obj=None) -> None:
    """``actor=None`` is the system (commands, the worker); anyone else needs the permission."""
    if actor is None:
        return
    allowed = actor.has_perm(perm, obj) if obj is not None else actor.has_perm(perm)
    if not actor.is_active or not allowed:
        raise PermissionDenied(_("You do not have permission to do this."))


def length_errors(**fields: tuple[str | None, int]) -> dict:
    """``{field: [message]}`` for each text longer than its limit: ``length_errors(reason=(reason, 200))``."""
    errors = {}
    for name, (value, limit) in fields.items():
        try:
            MaxLengthValidator(limit)(value or "")
        except ValidationError as exc:
            errors[name] = exc.messages
    return errors


def check_lengths(**fields: tuple[str | None, int]) -> None:
    """Refuse a text longer than its limit, naming the field. The pages' forms say the same, but the
    API reaches the services without them."""
    errors = length_errors(**fields)
    if errors:
        raise ValidationError(errors)


def stamp_history(obj, actor) -> None:
    """Tell django-simple-history who made the change when there is no request (commands)."""
    if actor is not None:
        obj._history_user = actor


def lock_versioned(obj, expected_version: int | None, changed_message: str):
    """Re-read ``obj`` under a row lock; a form shown at another version is refused with
    ``changed_message`` (optimistic check on top of the lock: the later of two editors is told)."""
    locked = type(obj).objects.select_for_update().get(pk=obj.pk)
    if expected_version is not None and locked.version != expected_version:
        raise ValidationError(changed_message)
    return locked


def save_versioned(actor, obj, fields: list[str]) -> None:
    obj.version = F("version") + 1
    stamp_history(obj, actor)
    obj.save(update_fields=[*fields, "version", "updated_at"])
    obj.refresh_from_db(fields=["version"])


def record_timeline(actor, obj, verb: str, message: str = "", data: dict | None = None) -> TimelineEntry:
    return TimelineEntry.objects.create(
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=str(obj.pk),
        actor=actor,
        verb=verb,
        message=message,
        data=data or {},
    )


def notify(recipient, title: str, body: str = "", url: str = "") -> None:
    """Queue an in-app notification after the transaction commits; a failure is logged, never raised.
    It is dated when the event happens (now, on the core clock), not when the transaction commits."""
    at = clock.now()

    def send():
        try:
            note = Notification.objects.create(recipient=recipient, title=title[:200], body=body, url=url,
                                               created_at=at)
        except Exception:  # a failed notification never undoes the change it reports
            log.exception("notification to %s failed", getattr(recipient, "pk", recipient))
            return
        if settings.BRANCHOPS_EMAIL_NOTIFICATIONS and getattr(recipient, "email", ""):
            try:
                from .tasks import email_notification

                email_notification.enqueue(note.pk)
            except Exception:  # the mail is a copy; the in-app notification stands
                log.exception("queueing the e-mail for notification %s failed", note.pk)

    transaction.on_commit(send)


def mark_notifications_read(actor, ids=None) -> int:
    qs = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(id__in=ids)
    return qs.update(read_at=clock.now())


def next_number(key: str, year: int) -> int:
    """The next number of a yearly series, safe under concurrency: the counter is raised in the database
    (the UPDATE locks the row until commit) and read back, never read first and written after."""
    with transaction.atomic():
        series = Sequence.objects.filter(key=key, year=year)
        if not series.update(last=F("last") + 1):
            Sequence.objects.get_or_create(key=key, year=year)  # the year's first; a racing twin meets the unique key
            series.update(last=F("last") + 1)
        return series.values_list("last", flat=True).get()


def document_number(fmt: str, key: str, year: int, invalid_format: str) -> str:
    """The next 文号 of a yearly series of issued documents, in a configured format with ``{year}`` and
    ``{seq}``. A format that does not fit is refused with ``invalid_format`` (it names ``%(format)s``);
    the caller's transaction then gives the number back."""
    seq = next_number(key, year)
    try:
        return fmt.format(year=year, seq=seq)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValidationError(invalid_format % {"format": fmt}) from exc


@transaction.atomic
def set_calendar_day(actor, date, is_working_day: bool, name: str = "") -> CalendarDay:
    require_perm(actor, "core.change_calendarday")
    day = CalendarDay.objects.filter(date=date).first() or CalendarDay(date=date)
    day.is_working_day = is_working_day
    day.name = name
    stamp_history(day, actor)
    day.save()
    return day


@transaction.atomic
def create_api_token(actor, name: str, days: int | None = 365, read_only: bool = False) -> tuple[ApiToken, str]:
    """Returns the token record and the plain token, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        from django.core.exceptions import ValidationError

        raise ValidationError({"name": _("Give the token a name.")})
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        user=actor,
        name=name[:100],
        prefix=raw[3:11],
        digest=ApiToken.hash(raw),
        expires_at=clock.now() + timedelta(days=days) if days else None,
        read_only=bool(read_only),
    )
    record_timeline(actor, actor, "token_created", _("API token “%(name)s” created") % {"name": token.name},
                    {"read_only": token.read_only})
    return token, raw


@transaction.atomic
def revoke_api_token(actor, token_id: int) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token_id, user=actor)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        record_timeline(actor, actor, "token_revoked", _("API token “%(name)s” revoked") % {"name": token.name})
    return token


def revoke_all_api_tokens(user, reason: str = "") -> int:
    """Revoke every active token of a user (after a password change); revocation is final."""
    now = clock.now()
    n = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    if n:
        record_timeline(None, user, "token_revoked", _("%(n)s API tokens revoked: the password was changed") % {"n": n},
                        {"reason": reason, "tokens": n})
    return n


def authenticate_token(raw: str) -> ApiToken | None:
    """The active token (of an active user) of a plain token, or None. Marks it as used (at most once a
    minute). The token acts as ``token.user`` with that user's current roles and scope."""
    if not raw or not raw.startswith("bo_"):
        return None
    token = ApiToken.objects.select_related("user").filter(digest=ApiToken.hash(raw)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


@transaction.atomic
def store_document(source, *, kind: str, number: str, title: str, content: bytes, content_type: str,
                   file_name: str, issued_by, issued_at, approved_by, approved_at) -> IssuedDocument:
    """Store an issued document once, with the SHA-256 of its bytes. The calling service has checked
    who may issue and approve; a second document of the same kind for the same source, or a number
    already used, is refused: what is issued is never replaced."""
    import hashlib

    source_type = ContentType.objects.get_for_model(source, for_concrete_model=True)
    if IssuedDocument.objects.filter(kind=kind, source_type=source_type, source_id=str(source.pk)).exists():
        raise ValidationError(_("This document has already been issued; an issued document never changes."))
    if IssuedDocument.objects.filter(kind=kind, number=number).exists():
        raise ValidationError(_("The document number %(number)s is already used.") % {"number": number})
    content = bytes(content)
    return IssuedDocument.objects.create(
        kind=kind, number=number, title=title[:200], content=content,
        sha256=hashlib.sha256(content).hexdigest(), content_type=content_type, file_name=file_name[:200],
        issued_by=issued_by, issued_at=issued_at, approved_by=approved_by, approved_at=approved_at,
        source_type=source_type, source_id=str(source.pk))
# --- saved filters -------------------------------------------------------------------------------

UNSAVED_PARAMS = {"page", "page_size", "format", "csrfmiddlewaretoken"}


def save_filter(actor, list_key: str, name: str, query: str) -> SavedFilter:
    """Keep the current filter of a list under a name (the same name again replaces it). The page
    and the export format are not part of a filter."""
    from urllib.parse import urlencode

    from django.http import QueryDict

    from . import nav

    name = (name or "").strip()
    errors = {}
    if list_key not in nav.filterable_lists():
        errors["list"] = _("This list has no saved filters.")
    if not name:
        errors["name"] = _("Give the filter a name.")
    elif len(name) > 80:
        errors["name"] = _("Ensure this value has at most %(limit)d characters (it has %(count)d).") % {
            "limit": 80, "count": len(name)}
    params = QueryDict(query or "", mutable=True)
    kept = [(k, v) for k in params for v in params.getlist(k) if k not in UNSAVED_PARAMS and v != ""]
    encoded = urlencode(kept)
    if len(encoded) > 1000:
        errors["query"] = _("The filter is too long to save.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        saved, _created = SavedFilter.objects.update_or_create(
            user=actor, list_key=list_key, name=name, defaults={"query": encoded, "created_at": clock.now()})
    return saved


def delete_filter(actor, pk: int) -> None:
    """Delete one of the user's saved filters; another's is SavedFilter.DoesNotExist, as a missing one."""
    with transaction.atomic():
        SavedFilter.objects.get(pk=pk, user=actor).delete()
