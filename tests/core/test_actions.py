"""The shared action layer: one table answers the page's `can`, the API's `allowed_actions` and the
service's check; transition tables move records only along their edges."""

from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from branchops.core.actions import Action, ActionTable, Transitions, require, rule


def _owner(user, obj):
    return user.name == obj.owner


TABLE = ActionTable([
    Action("edit", allowed=_owner, run=lambda u, o, d: ("edited", d)),
    Action("view", allowed=lambda u, o: True, run=lambda u, o, d: "seen"),
])


def test_one_table_answers_can_allowed_and_authorize():
    obj, owner, other = SimpleNamespace(owner="a"), SimpleNamespace(name="a"), SimpleNamespace(name="b")
    assert TABLE.can(owner, obj) == {"edit": True, "view": True}
    assert TABLE.allowed(other, obj) == ["view"]
    assert TABLE.authorize(owner, obj, "edit").run(owner, obj, {"x": 1}) == ("edited", {"x": 1})
    with pytest.raises(PermissionDenied):
        TABLE.authorize(other, obj, "edit")
    with pytest.raises(Http404):
        TABLE.authorize(owner, obj, "nonsense")
    require(_owner, owner, obj)
    require(_owner, None, obj)  # the system
    with pytest.raises(PermissionDenied):
        require(_owner, other, obj)


def test_transitions_move_only_along_their_edges():
    flow = Transitions({"submit": (["draft"], "submitted"), "withdraw": (["draft", "submitted"], "withdrawn")},
                       refusal=lambda r, a: f"{r.status} cannot {a}")
    rec = SimpleNamespace(status="draft")
    assert flow.can("draft", "submit") and not flow.can("withdrawn", "submit")
    assert flow.apply(rec, "submit") == "submitted" and rec.status == "submitted"
    with pytest.raises(ValidationError, match="submitted cannot submit"):
        flow.apply(rec, "submit")
    assert rec.status == "submitted"


def test_state_decides_what_is_offered_and_the_service_says_why():
    flow = Transitions({"submit": (["draft"], "submitted")}, refusal=lambda r, a: "not a draft")
    table = ActionTable([Action("submit", allowed=_owner, state=lambda u, o: flow.can(o.status, "submit"),
                                run=lambda u, o, d: flow.apply(o, "submit"))])
    owner = SimpleNamespace(name="a")
    draft, sent = SimpleNamespace(owner="a", status="draft"), SimpleNamespace(owner="a", status="submitted")
    assert table.can(owner, draft) == {"submit": True} and table.allowed(owner, sent) == []
    # Not offered, yet authorised: the state is refused by the service with its reason, not a bare 403.
    action = table.authorize(owner, sent, "submit")
    with pytest.raises(ValidationError, match="not a draft"):
        action.run(owner, sent, {})
    with pytest.raises(PermissionDenied):
        table.authorize(SimpleNamespace(name="b"), draft, "submit")


def test_a_rule_named_on_its_module_follows_a_patch(monkeypatch):
    import types

    module = types.SimpleNamespace(owner=_owner)
    table = ActionTable([Action("edit", allowed=rule(module, "owner"), run=lambda u, o, d: None)])
    user, obj = SimpleNamespace(name="a"), SimpleNamespace(owner="a")
    assert table.allowed(user, obj) == ["edit"]
    monkeypatch.setattr(module, "owner", lambda u, o: False)
    assert table.allowed(user, obj) == []
    flow = Transitions({"submit": (["draft"], "submitted")}, refusal=lambda r, a: "no")
    flow.check(SimpleNamespace(status="draft"), "submit")
    with pytest.raises(ValidationError):
        flow.check(SimpleNamespace(status="submitted"), "submit")


def test_can_for_some_actions_and_the_done_message():
    table = ActionTable([
        Action("edit", allowed=_owner, run=lambda u, o, d: None, done="Edited."),
        Action("count", allowed=lambda u, o: True, run=lambda u, o, d: [1, 2], done=lambda result: f"{len(result)} done"),
    ])
    user, obj = SimpleNamespace(name="a"), SimpleNamespace(owner="b")
    assert table.can(user, obj, only=["count"]) == {"count": True}
    with pytest.raises(Http404):
        table.can(user, obj, only=["nonsense"])
    assert table.get("edit").done_message(None) == "Edited."
    assert table.get("count").done_message([1, 2]) == "2 done"
