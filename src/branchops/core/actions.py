"""One action layer per app, read by the pages and by the API alike (DESIGN.md §2).

Each use case an app offers on a record is declared once, as an :class:`Action`:

- ``allowed(user, obj)``: the permission predicate — role, scope and the record's state — that
  decides whether the action is offered. Pages read it as ``can.<name>`` in templates, the API as
  ``allowed_actions`` in responses; the app's service checks the same predicate again (through
  ``require``), so a rule changed in one place changes the page, the API and the service together.
- ``state(user, obj)`` (optional): the part of the rule that is the record's state alone (a status
  from the app's ``Transitions``, a meeting not yet held …). It decides what is offered, like
  ``allowed``, but ``authorize`` leaves it to the service, which refuses a wrong state with a
  ValidationError saying why (400, or a message on the page) rather than a bare 403.
- ``run(user, obj, data)``: the service call, with the typed input the page's form or the API's
  schema produced (``data`` is a dict; ``expected_version`` is in it when ``versioned``).
- ``form`` / ``schema``: the page form and the API input schema (either may be None).
- ``label``, ``done``, ``icon``, ``style``, ``confirm``: what the page shows (``done`` may be a function
  of the service's result).

An app builds one :class:`ActionTable` and its views and API look actions up in it; an unknown
name is a 404, an action not allowed a 403 — before any input is parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _

Predicate = Callable[[Any, Any], bool]


@dataclass(frozen=True)
class Action:
    name: str
    allowed: Predicate
    run: Callable[[Any, Any, dict], Any]
    state: Predicate | None = None
    label: Any = ""
    form: type | None = None
    schema: type | None = None
    versioned: bool = False
    done: Any = ""
    icon: str = ""
    style: str = "primary"
    confirm: Any = None
    extra: dict = field(default_factory=dict)

    def done_message(self, result) -> str:
        """What the page says once done: ``done``, or ``done(result)`` when it needs the result."""
        return str(self.done(result) if callable(self.done) else self.done)


class ActionTable:
    def __init__(self, actions: Iterable[Action]):
        self._actions = {a.name: a for a in actions}

    def __iter__(self) -> Iterator[Action]:
        return iter(self._actions.values())

    def __contains__(self, name: str) -> bool:
        return name in self._actions

    def names(self) -> list[str]:
        return list(self._actions)

    def get(self, name: str) -> Action:
        """The action, or 404 for a name the table does not know."""
        try:
            return self._actions[name]
        except KeyError:
            raise Http404 from None

    @staticmethod
    def _offered(action: Action, user, obj) -> bool:
        return bool(action.allowed(user, obj) and (action.state is None or action.state(user, obj)))

    def can(self, user, obj, only: Iterable[str] | None = None) -> dict[str, bool]:
        """``{name: offered}`` for every action (or those named in ``only``): the page's ``can``."""
        wanted = self._actions.values() if only is None else [self.get(name) for name in only]
        return {a.name: self._offered(a, user, obj) for a in wanted}

    def allowed(self, user, obj) -> list[str]:
        """The names of the actions the user may take on obj now: the API's ``allowed_actions``."""
        return [a.name for a in self._actions.values() if self._offered(a, user, obj)]

    def authorize(self, user, obj, name: str) -> Action:
        """The action, after its predicate: 404 for an unknown name, 403 when not allowed. The state
        is the service's to check (it says why)."""
        action = self.get(name)
        if not action.allowed(user, obj):
            raise PermissionDenied(_("You cannot do this now."))
        return action


def rule(module, name: str) -> Predicate:
    """The predicate ``module.<name>``, looked up at each call rather than once at import: an action
    table names its rules this way, so that a test patching one rule of the module sees the pages,
    the API and the services (which call ``require(module.<name>, …)``) change together."""

    def predicate(user, obj):
        return getattr(module, name)(user, obj)

    predicate.__name__ = predicate.__qualname__ = name
    return predicate


def require(predicate: Predicate, user, obj, message=None) -> None:
    """In a service: refuse with PermissionDenied unless the predicate holds. ``user=None`` is the
    system (commands, the worker, the demo) and is always allowed."""
    if user is not None and not predicate(user, obj):
        raise PermissionDenied(message or _("You do not have permission to do this."))


class Transitions:
    """A state machine as a table: ``{action: (source states, target state)}``. Services move a record
    only through ``apply``; pages and API ask ``can`` to offer the move."""

    def __init__(self, table: dict[str, tuple[Iterable[str], str]], refusal):
        # refusal(record, action) → the message when the record's state does not allow the action
        self.table = {action: (frozenset(sources), target) for action, (sources, target) in table.items()}
        self._refusal = refusal

    def sources(self, action: str) -> frozenset:
        return self.table[action][0]

    def target(self, action: str) -> str:
        return self.table[action][1]

    def can(self, status: str, action: str) -> bool:
        return status in self.table[action][0]

    def check(self, record, action: str, field_name: str = "status") -> None:
        """ValidationError (the refusal) unless the record's state allows ``action``; nothing moves."""
        from django.core.exceptions import ValidationError

        if getattr(record, field_name) not in self.table[action][0]:
            raise ValidationError(self._refusal(record, action))

    def apply(self, record, action: str, field_name: str = "status") -> str:
        """Move ``record`` along ``action`` (setting the field, not saving); ValidationError if its
        state does not allow it."""
        self.check(record, action, field_name)
        target = self.table[action][1]
        setattr(record, field_name, target)
        return target
