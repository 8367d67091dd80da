"""Outlet routines as checklists: plans schedule a check per outlet, the outlet does it on the routine's
versioned checklist, a failure opens a support request or a rectification through the cases engine,
the next check is scheduled, overdue checks are listed; API and pages; scope."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from branchops.cases.models import Case, CaseType
from branchops.core import clock
from branchops.service import routine_queries, routines
from branchops.service.routinebook import RoutineCheck


def _answers(check, fail=(), na=()):
    from branchops.service.services import template_items

    return {i.code: "fail" if i.code in fail else ("na" if i.code in na else "pass")
            for i in template_items(check.template)}


def _plan(b, kind="equipment", scope=None, every=30, start=None, **extra):
    return routines.create_plan(b.users["sec1"], name=f"{kind} plan", kind=kind, scope=scope or b.branch,
                                frequency_days=every, starts_on=start or clock.today(), **extra)


def test_plan_gives_every_outlet_a_check(bank, english_messages):
    plan = _plan(bank)
    checks = list(plan.checks.all())
    assert {c.outlet for c in checks} == {bank.o11, bank.o12, bank.o21}
    assert all(c.template.code == "routine_equipment" and c.due == clock.today() for c in checks)
    with pytest.raises(ValidationError) as exc:
        routines.create_plan(bank.users["sec1"], name="", kind="nope", scope=bank.branch, frequency_days=0,
                             starts_on=clock.today(), ends_on=clock.today() - timedelta(days=1))
    assert set(exc.value.message_dict) == {"name", "kind", "frequency_days", "ends_on"}
    with pytest.raises(PermissionDenied):
        routines.create_plan(bank.users["head11"], name="x", kind="drill", scope=bank.o11, frequency_days=30,
                             starts_on=clock.today())


def test_done_passed_schedules_the_next(bank):
    plan = _plan(bank)
    check = plan.checks.get(outlet=bank.o11)
    done = routines.submit_check(bank.users["staff11"], check, answers=_answers(check, na=("w1",)))
    assert done.status == "done" and done.score == 100 and done.case is None
    nxt = RoutineCheck.objects.get(plan=plan, outlet=bank.o11, status="due")
    assert nxt.due == check.due + timedelta(days=30)
    with pytest.raises(ValidationError):  # done stays done
        routines.submit_check(bank.users["staff11"], done, answers=_answers(check))
    with pytest.raises(PermissionDenied):  # another outlet's staff
        routines.submit_check(bank.users["staff21"], nxt, answers=_answers(nxt))
    with pytest.raises(PermissionDenied):  # the secretariat plans; the outlet does
        routines.submit_check(bank.users["sec1"], nxt, answers=_answers(nxt))


def test_equipment_failure_opens_a_support_request(bank, english_messages):
    check = _plan(bank).checks.get(outlet=bank.o11)
    with pytest.raises(ValidationError) as exc:  # a failure says what went wrong
        routines.submit_check(bank.users["head11"], check, answers=_answers(check, fail=("ac1",)))
    assert "issues" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:  # every item answered
        routines.submit_check(bank.users["head11"], check, answers={"ac1": "pass"})
    assert "answers" in exc.value.message_dict
    assert Case.objects.count() == 0
    done = routines.submit_check(bank.users["head11"], check, answers=_answers(check, fail=("ac1",)),
                                 notes={"ac1": "制冷失效"})
    assert done.case.case_type == CaseType.SUPPORT and done.case.institution == bank.o11
    assert done.case.category.code == "REPAIR-AC"
    assert "空调" in done.case.title and done.failed == 1 and done.score < 100


def test_drill_and_environment(bank, english_messages):
    drill = _plan(bank, kind="drill", scope=bank.o11, every=90).checks.get()
    with pytest.raises(ValidationError) as exc:
        routines.submit_check(bank.users["staff11"], drill, answers=_answers(drill))
    assert {"scenario", "participants"} <= set(exc.value.message_dict)
    done = routines.submit_check(bank.users["staff11"], drill, answers=_answers(drill, fail=("d3",)),
                                 scenario="火灾疏散", participants="全体员工8人", issues="客户引导慢")
    assert done.case.case_type == CaseType.RECTIFICATION
    assert done.case.resolution_due == clock.today() + timedelta(days=routines.RECTIFY_DAYS)
    env = _plan(bank, kind="environment", every=7).checks.get(outlet=bank.o21)
    with pytest.raises(ValidationError) as exc:
        routines.submit_check(bank.users["staff21"], env, answers=_answers(env), reading="hot")
    assert "reading" in exc.value.message_dict
    cold = routines.submit_check(bank.users["staff21"], env, answers=_answers(env, fail=("e1",)), reading="16.5",
                                 issues="空调制热不足")
    assert cold.case.case_type == CaseType.SUPPORT and cold.case.category.code == "ENV-TEMP"
    f = routine_queries.plan_figures(bank.users["sec1"], env.plan, clock.today())
    assert (f["done"], f["failed"], f["outlets_cold"], f["cases"], f["to_do"]) == (1, 1, 1, 1, 3)


def test_overdue_and_scope(bank):
    plan = _plan(bank, start=clock.today() - timedelta(days=3), every=30)
    overdue = routine_queries.visible_checks(bank.users["sec1"], overdue=True, today=clock.today())
    assert overdue.count() == 3
    own = routine_queries.visible_checks(bank.users["staff11"], overdue=True, today=clock.today())
    assert [c.outlet for c in own] == [bank.o11]
    assert routine_queries.visible_plans(bank.users["staff11"]).get() == plan
    f = routine_queries.plan_figures(bank.users["head11"], plan, clock.today())
    assert f["overdue"] == 1 and f["checks"] == 1


def test_a_later_checklist_version_leaves_past_checks_alone(bank):
    from branchops.service import services
    from branchops.service.models import ChecklistTemplate

    plan = _plan(bank, kind="facilities", scope=bank.o11, every=30)
    check = plan.checks.get()
    routines.submit_check(bank.users["staff11"], check, answers=_answers(check))
    v1 = ChecklistTemplate.objects.get(code="routine_facilities", version=1)
    v2 = services.new_template_version(bank.users["sec1"], v1, clock.today() + timedelta(days=1))
    assert v2.inspection_type == "routine"
    nxt = plan.checks.get(status="due")
    assert check.template == v1 and routine_queries.template_of(nxt) == v2
    routines.submit_check(bank.users["staff11"], nxt, answers=_answers(nxt))
    check.refresh_from_db()
    nxt.refresh_from_db()
    assert check.template == v1 and nxt.template == v2
    # the inspections keep their own checklist
    assert services.template_for(clock.today()).code == "hall"


# --- API and pages --------------------------------------------------------------------------------

API = "/api/v1/service"


def test_api(bank, api, english_messages):
    c = api(bank.users["sec1"])
    body = {"name": "空调检查", "kind": "equipment", "scope": bank.sb1.pk, "frequency_days": 30,
            "starts_on": str(clock.today() - timedelta(days=1))}
    r = c.post(f"{API}/routine-plans", body, content_type="application/json")
    assert r.status_code == 201 and r.json()["checks"] == 2 and r.json()["overdue"] == 2
    assert c.post(f"{API}/routine-plans", body | {"frequency_days": 0},
                  content_type="application/json").status_code in (400, 422)
    assert c.post(f"{API}/routine-plans", body | {"scope": 10**9}, content_type="application/json").status_code == 400
    s = api(bank.users["staff11"])
    rows = s.get(f"{API}/routine-checks?overdue=true").json()
    assert rows["count"] == 1 and rows["items"][0]["allowed_actions"] == ["submit"]
    pk = rows["items"][0]["id"]
    detail = s.get(f"{API}/routine-checks/{pk}").json()
    answers = {i["code"]: "pass" for i in detail["items"]} | {"sd1": "fail"}
    r = s.post(f"{API}/routine-checks/{pk}/submit", {"answers": answers}, content_type="application/json")
    assert r.status_code == 400 and "issues" in r.content.decode()
    r = s.post(f"{API}/routine-checks/{pk}/submit", {"answers": {"x": "pass"}}, content_type="application/json")
    assert r.status_code == 400
    r = s.post(f"{API}/routine-checks/{pk}/submit", {"answers": answers, "issues": "自助设备黑屏"},
               content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["case"]
    r = s.post(f"{API}/routine-checks/{pk}/submit", {"answers": answers, "issues": "x"},
               content_type="application/json")
    assert r.status_code == 400 and "already done" in r.content.decode()  # the state: refused saying why
    assert api(bank.users["staff21"]).get(f"{API}/routine-checks/{pk}").status_code == 404
    assert api(bank.users["staff12"]).post(f"{API}/routine-plans", body,
                                           content_type="application/json").status_code == 403


def test_pages(bank, login, english_messages):
    plan = _plan(bank, kind="drill", scope=bank.sb1, every=90, start=clock.today() - timedelta(days=2))
    check = plan.checks.get(outlet=bank.o11)
    h = login(bank.users["head11"])
    page = h.get("/service/routines/").content.decode()
    assert f'data-plan="{plan.pk}"' in page and "Plan a routine" not in page
    assert f'data-check="{check.pk}"' in h.get("/service/routine-checks/?overdue=1").content.decode()
    form = h.get(f"/service/routine-checks/{check.pk}/").content.decode()
    assert 'id="routine-form"' in form and 'name="scenario"' in form
    data = {f"answer-{k}": v for k, v in _answers(check).items()}
    r = h.post(f"/service/routine-checks/{check.pk}/", data)
    assert r.status_code == 400 and "scenario" in r.content.decode()
    r = h.post(f"/service/routine-checks/{check.pk}/", data | {"scenario": "抢劫", "participants": "6人"})
    assert r.status_code == 302
    assert "抢劫" in h.get(f"/service/routine-checks/{check.pk}/").content.decode()
    s = login(bank.users["sec1"])
    assert s.get("/service/routine-checks/?format=xlsx").status_code == 200
    r = s.post("/service/routines/", {"name": "", "kind": "equipment", "scope": bank.branch.pk,
                                      "frequency_days": 30, "starts_on": clock.today()})
    assert r.status_code == 200 and "This field is required" in r.content.decode()
    assert login(bank.users["staff21"]).get(f"/service/routine-checks/{check.pk}/").status_code == 404
    assert login(bank.users["sb1mgr"]).post(f"/service/routine-checks/{check.pk}/", data).status_code == 403
