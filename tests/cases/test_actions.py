"""The action layer of cases: one table (actions.ACTIONS) answers the page's buttons and the API's
allowed_actions from the predicates of cases/rules.py, which the services check too — patching one
rule changes all three; and over cases in every state, the table offers exactly what the services do."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from branchops.cases import rules, services
from branchops.cases.actions import ACTIONS, lookup, perform
from branchops.cases.models import Case, CaseType, Category, Status
from branchops.core.models import TimelineEntry

URL = "/api/v1/cases/"


def _offered(client, case) -> set[str]:
    """The actions the case page offers: its buttons, and `can` for those drawn elsewhere."""
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    can = page.context["can"]
    buttons = {a["name"] for a in page.context["actions"]}
    assert buttons <= {name for name, yes in can.items() if yes}
    return buttons | {name for name in ("comment", "attach", "decide_extension") if can[name]}


def _allowed(client, case) -> set[str]:
    r = client.get(f"{URL}{case.pk}")
    assert r.status_code == 200
    return set(r.json()["allowed_actions"])


def _rectification(b):
    case = services.open_case(b.users["sb1mgr"], case_type=CaseType.RECTIFICATION, institution=b.o11,
                              title="6S 不达标", channel="inspection", rectification={"evidence_required": "照片"})
    services.submit_evidence(b.users["head11"], case, "照片已上传")
    return services.resolve_case(b.users["head11"], case, outcome="resolved", resolution="已整理")


def test_patching_a_permission_rule_changes_page_api_and_service_together(client, cases_bank, monkeypatch):
    b = cases_bank
    case = _rectification(b)
    sup = b.users["sb1mgr"]
    client.force_login(sup)
    assert "verify" in _offered(client, case) and "verify" in _allowed(client, case)

    monkeypatch.setattr(rules, "can_verify", lambda user, case: False)
    assert "verify" not in _offered(client, case)
    assert "verify" not in _allowed(client, case)
    r = client.post(f"{URL}{case.pk}/actions/verify", {"passed": True}, content_type="application/json")
    assert r.status_code == 403
    with pytest.raises(PermissionDenied):
        services.verify_rectification(sup, case, passed=True)
    assert Case.objects.get(pk=case.pk).rectification.verified_at is None


def test_widening_a_rule_widens_page_api_and_service_together(client, cases_bank, monkeypatch):
    """The outlet that reported feedback may not triage it — until the rule says it may."""
    b = cases_bank
    case = services.open_case(b.users["staff12"], case_type=CaseType.FEEDBACK, institution=b.o12, title="无操作指引")
    client.force_login(b.users["staff12"])
    assert "triage" not in _offered(client, case) | _allowed(client, case)

    monkeypatch.setattr(rules, "can_triage", lambda user, case: rules.can_manage(user, case))
    assert "triage" in _offered(client, case) and "triage" in _allowed(client, case)
    r = client.post(f"{URL}{case.pk}/actions/triage", {"action": "to_meeting"}, content_type="application/json")
    # On the agenda of the next coordination meeting: the case stays open until the meeting's answer is done.
    assert r.status_code == 200 and r.json()["status"] == "in_progress", r.content


def test_allowed_actions_in_the_api_are_the_page_buttons(client, cases_bank, complaint):
    b = cases_bank
    case = complaint()
    for username in ("staff11", "head11", "leader1", "sec1"):
        client.force_login(b.users[username])
        assert _allowed(client, case) == _offered(client, case) - {"attach"}, username
    client.force_login(b.users["leader1"])  # sees it, writes nothing (not even a comment)
    assert _allowed(client, case) == set()


def test_old_api_name_of_an_action_still_answers(api, complaint, cases_bank):
    case = complaint()
    assert lookup("major") is lookup("mark_major")
    r = api(cases_bank.users["head11"]).post(f"{URL}{case.pk}/actions/major", {}, content_type="application/json")
    assert r.status_code == 200 and r.json()["is_major"] is True
    assert "mark_major" not in r.json()["allowed_actions"]


# --- the table offers exactly what the services do -------------------------------------------------

class _Undo(Exception):
    pass


def _inputs(b, case) -> dict[str, dict]:
    """A valid input of each action for this case (what a user would fill in)."""
    text = {"reason": "原因", "note": "说明"}
    return {
        "accept": {}, "start": {}, "close": {}, "resume": {}, "mark_major": {},
        "triage": {"action": "assign", "answer": "", "department": b.legal, "note": ""},
        "assign": {"assignee": None, "department": b.cpp, "note": ""},
        "resolve": {"outcome": "resolved", "resolution": "已处理"},
        "callback": {"satisfaction": "satisfied", "note": ""},
        "verify": {"passed": True, "note": "合格"},
        "evidence": {"evidence": "照片"},
        "classify": {"channel_code": None, "business_code": None, "cause_code": None},
        "root_cause": {"root_cause": "流程缺失", "improvement": ""},
        "complexity": {"complexity": "complex", "customer_notified": False},
        "pause": text, "restart": text, "reopen": text, "cancel": text,
        "extension": {"days": 1, "reason": "等待"},
        "comment": {"body": "备注"},
        "attach": {"file": SimpleUploadedFile("a.txt", b"x")},
        "decide_extension": {"extension": rules.pending_extension(case), "approve": True, "note": ""},
    }


def _outcome(user, case, name, data) -> bool:
    """Whether the service did it (changed the case or wrote its timeline); undone either way."""
    before = (case.version, TimelineEntry.objects.count())
    try:
        with transaction.atomic():
            perform(user, case, ACTIONS.get(name), {"version": case.version, **data})
            done = (Case.objects.get(pk=case.pk).version, TimelineEntry.objects.count()) != before
            raise _Undo
    except _Undo:
        return done
    except (PermissionDenied, ValidationError):
        return False


def _cases(b, complaint) -> dict[str, Case]:
    """Cases in every state the actions care about, made through the services."""
    u, head = b.users["staff11"], b.users["head11"]

    def on_the_spot():
        return services.resolve_case(u, complaint(), outcome="on_the_spot", resolution="现场解释")

    verified = _rectification(b)
    services.verify_rectification(b.users["sb1mgr"], verified, passed=True)
    support = services.open_case(head, case_type=CaseType.SUPPORT, institution=b.o11, title="凭证不足",
                                 category=Category.objects.get(case_type=CaseType.SUPPORT, code="SUPPLY-FORMS"))
    services.request_extension(head, support, 1, "缺货")
    return {
        "new": complaint(),
        "accepted_paused": services.pause_clock(head, services.accept_case(u, complaint()), "等待鉴定"),
        "resolved": services.resolve_case(u, complaint(), outcome="resolved", resolution="已致歉"),
        "resolved_on_the_spot": on_the_spot(),
        "closed": services.close_case(u, on_the_spot()),
        "cancelled_while_paused": services.cancel_case(head, services.pause_clock(head, complaint(), "等待鉴定"),
                                                       "重复"),
        "major": complaint(is_major=True),
        "rectification_resolved": _rectification(b),
        "rectification_verified": verified,
        "feedback": services.open_case(b.users["staff12"], case_type=CaseType.FEEDBACK, institution=b.o12,
                                       title="叫号机卡顿"),
        "support_extension_pending": support,
    }


STATES = ["new", "accepted_paused", "resolved", "resolved_on_the_spot", "closed", "cancelled_while_paused", "major",
          "rectification_resolved", "rectification_verified", "feedback", "support_extension_pending"]


@pytest.mark.parametrize("state", STATES)
def test_the_table_offers_exactly_what_the_services_do(cases_bank, complaint, settings, tmp_path, state):
    settings.MEDIA_ROOT = tmp_path
    b = cases_bank
    case = Case.objects.get(pk=_cases(b, complaint)[state].pk)
    wrong = []
    for username in ("staff11", "head11", "sec1", "leader1", "sb1mgr", "staff12"):
        user = b.users[username]
        if not rules.can_view(user, case):
            continue
        can = ACTIONS.can(user, Case.objects.get(pk=case.pk))
        for name, data in _inputs(b, case).items():
            if name == "decide_extension" and data["extension"] is None:
                assert not can[name]
                continue
            done = _outcome(user, Case.objects.get(pk=case.pk), name, data)
            if done != can[name]:
                wrong.append((username, name, "offered" if can[name] else "hidden", "done" if done else "refused"))
    assert not wrong, wrong
    assert Case.objects.get(pk=case.pk).version == case.version  # every try was undone


def test_services_refuse_what_the_page_never_offers(cases_bank, complaint):
    b = cases_bank
    head = b.users["head11"]
    closed = services.close_case(head, services.resolve_case(head, complaint(), outcome="on_the_spot",
                                                             resolution="现场解释"))
    for call in (lambda c: services.mark_major(head, c), lambda c: services.set_complexity(head, c, "complex"),
                 lambda c: services.resume_clock(head, c)):
        with pytest.raises(ValidationError):
            call(Case.objects.get(pk=closed.pk))
    assert Case.objects.get(pk=closed.pk).version == closed.version
    assert Case.objects.get(pk=closed.pk).status == Status.CLOSED


@pytest.mark.clock_at("2026-11-10")
def test_classification_codes_are_in_force(cases_bank, complaint):
    from branchops.cases.models import ComplaintCode

    case = complaint()
    code = ComplaintCode.objects.filter(dimension="cause").first()
    ComplaintCode.objects.filter(pk=code.pk).update(effective_to=date(2026, 1, 1))
    code.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        services.classify_complaint(cases_bank.users["head11"], case, cause_code=code)
    assert "cause_code" in exc.value.message_dict
    assert Case.objects.get(pk=case.pk).complaint.cause_code is None
