"""Object permissions (django-rules): role permission and scope together."""

import rules

from . import scope


def _institution_of(obj):
    from .models import Institution

    if obj is None:
        return None
    if isinstance(obj, Institution):
        return obj
    return getattr(obj, "institution", None)


@rules.predicate
def in_scope(user, obj) -> bool:
    return scope.in_scope(user, _institution_of(obj))


def has_model_perm(perm: str):
    # Asks the group permissions directly; user.has_perm(perm) would re-enter this rule.
    @rules.predicate(name=f"has_model_perm:{perm}")
    def predicate(user) -> bool:
        return user.is_active and (user.is_superuser or perm in user.get_all_permissions())

    return predicate


for _model in ("institution", "department", "staff", "cluster"):
    rules.add_perm(f"org.view_{_model}_object", has_model_perm(f"org.view_{_model}") & in_scope)
    rules.add_perm(f"org.change_{_model}_object", has_model_perm(f"org.change_{_model}") & in_scope)
