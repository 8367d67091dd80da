"""Scope: a user sees records of their own institution and those under it — one place for it.

Every app filters with ``scope_filter`` and fetches single records with ``access_object``, which
answers the same 404 for "does not exist" and "not yours" (as Zulip's ``access_*`` helpers do),
so an outlet cannot even learn that another outlet's record exists.
"""

from django.db.models import Q, QuerySet
from django.http import Http404

from .models import Institution


def scope_root(user) -> Institution | None:
    """The institution at the top of the user's scope; None when the user sees nothing."""
    if not user.is_authenticated or not user.is_active:
        return None
    staff = getattr(user, "staff", None)
    if staff is not None and staff.is_active:
        return staff.institution
    return None


def sees_everything(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_superuser


def scope_q(user, field: str = "institution") -> Q:
    """A Q object restricting ``field`` (a FK path to Institution) to the user's scope."""
    if sees_everything(user):
        return Q()
    root = scope_root(user)
    if root is None:
        return Q(pk__in=[])
    if not field:
        return Q(path__startswith=root.path)
    # A subquery on the (small) institution table, then the record's indexed foreign key: the
    # planner never has to join every record to its institution to test the path.
    return Q(**{f"{field}__in": Institution.objects.filter(path__startswith=root.path).values("pk")})


def scope_filter(user, qs: QuerySet, field: str = "institution") -> QuerySet:
    return qs.filter(scope_q(user, field))


def visible_institutions(user) -> QuerySet:
    return scope_filter(user, Institution.objects.all(), field="")


def in_scope(user, institution: Institution | None) -> bool:
    if institution is None:
        return False
    if sees_everything(user):
        return True
    root = scope_root(user)
    return root is not None and institution.path.startswith(root.path)


def access_object(user, qs: QuerySet, perm: str | None = None, field: str = "institution", **lookup):
    """Fetch one record within the user's scope, or raise Http404 — the same for missing and hidden.

    ``perm`` (a model permission) is checked too; without it the answer is also 404, so a role
    that may not see a kind of record cannot probe ids either.
    """
    if perm and not user.has_perm(perm):
        raise Http404
    try:
        return scope_filter(user, qs, field).get(**lookup)
    except (qs.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
