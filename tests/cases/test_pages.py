"""The case pages: every page for every role, scope (404), the forms, actions, masking, exports."""

from io import BytesIO

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from branchops.cases import queries, rules, services
from branchops.cases.models import Attachment, Case, CaseType, Category, PiiAccess, Status
from branchops.core import clock

from ..conftest import ago

ROLES = ["staff11", "head11", "sec1", "leader1", "sb1mgr", "cpp1", "ft1"]
QUEUES = ["mine", "team", "first_contact", "overdue", "open", "all"]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def all_cases(cases_bank, complaint):
    """One case of each type, plus a complaint handed to the consumer-protection department."""
    b = cases_bank
    cases = {
        "complaint": complaint(),
        "overdue": complaint(received=ago(days=300)),
        "feedback": services.open_case(b.users["staff12"], case_type=CaseType.FEEDBACK, institution=b.o12,
                                       title="新系统上线无操作指引", received_at=ago(hours=3)),
        "support": services.open_case(b.users["staff11"], case_type=CaseType.SUPPORT, institution=b.o11,
                                      title="ATM 吞卡", received_at=ago(hours=3),
                                      category=Category.objects.get(case_type=CaseType.SUPPORT, code="REPAIR-ATM")),
        "rectification": services.open_case(b.users["sb1mgr"], case_type=CaseType.RECTIFICATION, institution=b.o11,
                                            title="神秘人检查：未使用礼貌用语", channel="inspection",
                                            rectification={"evidence_required": "培训签到表"},
                                            received_at=ago(hours=3)),
        "to_cpp": complaint(received=ago(hours=4)),
    }
    services.assign_case(b.users["head11"], cases["to_cpp"], department=b.cpp)
    services.comment_case(b.users["staff11"], cases["complaint"], "已联系客户")
    return cases


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _errors(response):
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


def _version(case):
    return Case.objects.get(pk=case.pk).version


@pytest.mark.parametrize("username", ROLES)
def test_every_page_renders_for_every_role(client, cases_bank, all_cases, username):
    user = cases_bank.users[username]
    client.force_login(user)
    urls = ["/cases/", "/cases/?q=ATM", "/cases/?case_type=complaint&status=new&priority=normal&major=0"
            f"&institution={cases_bank.o11.pk}&received_from=2026-01-01&received_to=2026-12-31",
            "/cases/?received_from=not-a-date&institution=x&queue=nonsense",
            "/cases/dashboard/", "/cases/dashboard/?year=2026"]
    urls += [f"/cases/?queue={q}" for q in QUEUES]
    opens = rules.opening_types(user)  # the other types: tests/core/test_authorisation_matrix.py
    urls += ["/cases/new/"] * bool(opens) + [f"/cases/new/?type={t}" for t in opens]
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, (username, url, r.status_code)
        assert b"BranchOps" in r.content
    visible = set(queries.visible_cases(user).values_list("pk", flat=True))
    assert visible, username  # every role of the fixture sees at least one case
    for case in all_cases.values():
        r = client.get(f"/cases/{case.pk}/")
        assert r.status_code == (200 if case.pk in visible else 404), (username, case.number)


@pytest.mark.date_sensitive
def test_list_shows_queues_and_overdue_marks(client, cases_bank, all_cases):
    client.force_login(cases_bank.users["staff11"])
    r = client.get("/cases/?queue=overdue")
    rows = list(r.context["page"])
    assert [c.pk for c in rows] == [all_cases["overdue"].pk]
    assert rows[0].sla["state"] == "breached" and rows[0].sla["overdue_days"] > 100
    assert all_cases["overdue"].number in r.content.decode()
    r = client.get("/cases/?queue=mine")
    assert all_cases["complaint"].number in r.content.decode()
    assert all_cases["feedback"].number not in r.content.decode()  # another outlet's
    r = client.get("/cases/?queue=all&case_type=support")
    assert [c.pk for c in r.context["page"]] == [all_cases["support"].pk]
    # An empty queue says so.
    client.force_login(cases_bank.users["cpp1"])
    r = client.get("/cases/?queue=overdue")
    assert not r.context["page"].object_list and r.context["empty_message"]


def test_outlet_user_gets_404_for_another_outlets_case_and_file(client, cases_bank, all_cases, media):
    case = all_cases["complaint"]
    att = services.add_attachment(cases_bank.users["staff11"], case,
                                  SimpleUploadedFile("回执.txt", b"receipt", content_type="text/plain"))
    for username in ("staff21", "staff12"):
        client.force_login(cases_bank.users[username])
        assert client.get(f"/cases/{case.pk}/").status_code == 404
        assert client.get(f"/cases/{case.pk}/files/{att.pk}/").status_code == 404
        r = client.post(f"/cases/{case.pk}/accept/", {"version": _version(case)})
        assert r.status_code == 404
    client.force_login(cases_bank.users["head11"])
    r = client.get(f"/cases/{case.pk}/files/{att.pk}/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == b"receipt"
    assert "attachment" in r["Content-Disposition"]
    # A file of another case through this case's URL: 404 too.
    other = services.add_attachment(cases_bank.users["staff11"], all_cases["support"],
                                    SimpleUploadedFile("b.txt", b"x"))
    assert client.get(f"/cases/{case.pk}/files/{other.pk}/").status_code == 404
    assert client.get("/cases/999999/").status_code == 404


def test_anonymous_is_sent_to_sign_in(client, all_cases):
    case = all_cases["complaint"]
    for url in ("/cases/", "/cases/new/", "/cases/dashboard/", f"/cases/{case.pk}/"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    r = client.post(f"/cases/{case.pk}/accept/", {"version": case.version})
    assert r.status_code == 302 and Case.objects.get(pk=case.pk).status == Status.NEW


def _complaint_form(b, **extra):
    data = {"title": "柜台服务态度差", "description": "客户反映柜员不耐烦", "channel": "on_site",
            "received_at": clock.localtime().strftime("%Y-%m-%dT%H:%M"), "institution": b.o11.pk,
            "priority": "normal", "complainant_name": "李四", "complainant_phone": "13912345678",
            "complainant_id_number": "440301199001011234", "complexity": "normal"}
    data.update(extra)
    return data


def test_new_complaint_form_creates_case(client, cases_bank):
    b = cases_bank
    client.force_login(b.users["staff11"])
    form = client.get("/cases/new/?type=complaint").context["form"]
    assert set(form.fields["institution"].queryset) == {b.o11}  # an outlet opens cases for itself only
    r = client.post("/cases/new/?type=complaint", _complaint_form(b))
    assert r.status_code == 302
    case = Case.objects.get()
    assert r["Location"] == f"/cases/{case.pk}/"
    assert case.number == f"TS-{clock.today().year}-000001"
    assert case.first_contact_owner == b.users["staff11"] and case.case_type == CaseType.COMPLAINT
    assert case.complaint.complainant_phone == "13912345678"
    assert case.resolution_due and case.decision_due


def test_new_complaint_rejects_bad_input_and_writes_nothing(client, cases_bank):
    b = cases_bank
    client.force_login(b.users["staff11"])
    bad = _complaint_form(b, complainant_name="", channel="", complainant_phone="abc",
                          institution=b.o21.pk)  # another outlet
    r = client.post("/cases/new/?type=complaint", bad)
    assert r.status_code == 200
    assert {"complainant_name", "channel", "complainant_phone", "institution"} <= set(r.context["form"].errors)
    # A regulator transfer needs the regulator's deadline.
    r = client.post("/cases/new/?type=complaint", _complaint_form(b, channel="regulator"))
    assert r.status_code == 200 and "regulator_due" in r.context["form"].errors
    assert Case.objects.count() == 0


def test_service_errors_become_field_errors(client, cases_bank, monkeypatch):
    def refuse(actor, **kwargs):
        raise ValidationError({"title": "标题重复", "case_type": "类型错误"})

    monkeypatch.setattr(services, "open_case", refuse)
    client.force_login(cases_bank.users["staff11"])
    r = client.post("/cases/new/?type=feedback", {"title": "x", "institution": cases_bank.o11.pk,
                                                   "priority": "normal"})
    form = r.context["form"]
    assert r.status_code == 200 and form.errors["title"] == ["标题重复"]
    assert form.non_field_errors() == ["类型错误"]


def test_new_forms_of_the_other_types(client, cases_bank):
    b = cases_bank
    client.force_login(b.users["staff11"])
    atm = Category.objects.get(case_type=CaseType.SUPPORT, code="REPAIR-ATM")
    r = client.post("/cases/new/?type=support", {"title": "ATM 故障", "institution": b.o11.pk, "priority": "normal"})
    assert r.status_code == 200 and "category" in r.context["form"].errors  # a support request needs a category
    r = client.post("/cases/new/?type=support", {"title": "ATM 故障", "institution": b.o11.pk,
                                                  "priority": "normal", "category": atm.pk})
    assert r.status_code == 302
    assert Case.objects.get(case_type=CaseType.SUPPORT).assignee_department == b.fintech
    r = client.post("/cases/new/?type=feedback", {"title": "叫号机卡顿", "institution": b.o11.pk,
                                                   "priority": "normal"})
    assert r.status_code == 302
    client.force_login(b.users["sb1mgr"])
    r = client.post("/cases/new/?type=rectification", {"title": "整改", "institution": b.o11.pk, "priority": "normal",
                                                        "channel": "inspection", "evidence_required": "照片"})
    assert r.status_code == 302
    assert Case.objects.get(case_type=CaseType.RECTIFICATION).rectification.evidence_required == "照片"


def test_actions_take_a_complaint_to_closed(client, cases_bank, all_cases):
    case = all_cases["complaint"]
    client.force_login(cases_bank.users["head11"])
    page = client.get(f"/cases/{case.pk}/")
    assert {"accept", "resolve", "assign", "cancel"} <= {a["name"] for a in page.context["actions"]}
    assert "close" not in {a["name"] for a in page.context["actions"]}
    r = client.post(f"/cases/{case.pk}/accept/", {"version": page.context["case"].version})
    assert r.status_code == 302 and r["Location"] == f"/cases/{case.pk}/"
    assert Case.objects.get(pk=case.pk).status == Status.ACCEPTED
    r = client.post(f"/cases/{case.pk}/resolve/", {"version": _version(case), "outcome": "resolved",
                                                   "resolution": "已致歉并调整叫号规则"})
    assert Case.objects.get(pk=case.pk).status == Status.RESOLVED, _messages(r)
    r = client.post(f"/cases/{case.pk}/callback/", {"version": _version(case), "satisfaction": "satisfied",
                                                    "note": "客户满意"})
    assert Case.objects.get(pk=case.pk).complaint.callback_satisfaction == "satisfied", _messages(r)
    assert "close" in {a["name"] for a in client.get(f"/cases/{case.pk}/").context["actions"]}
    r = client.post(f"/cases/{case.pk}/close/", {"version": _version(case)})
    closed = Case.objects.get(pk=case.pk)
    assert closed.status == Status.CLOSED and closed.closed_at
    page = client.get(f"/cases/{case.pk}/")
    assert {a["name"] for a in page.context["actions"]} >= {"reopen"}
    assert "已致歉并调整叫号规则" in page.content.decode()


def test_invalid_action_input_and_guards_show_errors(client, cases_bank, all_cases):
    case = all_cases["complaint"]
    client.force_login(cases_bank.users["head11"])
    r = client.post(f"/cases/{case.pk}/resolve/", {"version": case.version, "outcome": "resolved",
                                                   "resolution": ""}, follow=True)
    assert r.status_code == 200 and _errors(r) and Case.objects.get(pk=case.pk).status == Status.NEW
    r = client.post(f"/cases/{case.pk}/close/", {"version": case.version}, follow=True)  # not resolved
    assert _errors(r) and Case.objects.get(pk=case.pk).status == Status.NEW
    assert client.post(f"/cases/{case.pk}/no-such-action/", {"version": case.version}).status_code == 404
    assert client.get(f"/cases/{case.pk}/accept/").status_code == 302  # GET never changes anything
    assert Case.objects.get(pk=case.pk).status == Status.NEW


def test_stale_version_is_refused_and_changes_nothing(client, cases_bank, all_cases):
    case = all_cases["complaint"]
    shown = case.version
    client.force_login(cases_bank.users["head11"])
    client.post(f"/cases/{case.pk}/accept/", {"version": shown})
    r = client.post(f"/cases/{case.pk}/start/", {"version": shown}, follow=True)
    assert Case.objects.get(pk=case.pk).status == Status.ACCEPTED
    assert r.status_code == 200 and len(_errors(r)) == 1
    # The same for an action whose service takes no version: the view compares it.
    r = client.post(f"/cases/{case.pk}/pause/", {"version": shown, "reason": "等待外部鉴定"}, follow=True)
    assert Case.objects.get(pk=case.pk).paused_since is None and _errors(r)
    client.post(f"/cases/{case.pk}/pause/", {"version": _version(case), "reason": "等待外部鉴定"})
    assert Case.objects.get(pk=case.pk).paused_since is not None


def test_user_without_rights_gets_403(client, cases_bank, all_cases):
    case = all_cases["complaint"]
    client.force_login(cases_bank.users["leader1"])  # sees the outlet's cases, does not work on them
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 200 and not page.context["actions"]
    for action, data in (("accept", {}), ("resolve", {"outcome": "resolved", "resolution": "x"}),
                         ("cancel", {"reason": "x"}), ("mark_major", {})):
        r = client.post(f"/cases/{case.pk}/{action}/", {"version": case.version, **data})
        assert r.status_code == 403, action
    assert Case.objects.get(pk=case.pk).status == Status.NEW
    feedback = all_cases["feedback"]
    client.force_login(cases_bank.users["staff12"])  # reported it, but only the secretariat triages
    r = client.post(f"/cases/{feedback.pk}/triage/", {"version": feedback.version, "action": "to_meeting"})
    assert r.status_code == 403 and Case.objects.get(pk=feedback.pk).status == Status.NEW


def test_secretariat_triages_feedback(client, cases_bank, all_cases):
    feedback = all_cases["feedback"]
    client.force_login(cases_bank.users["sec1"])
    assert "triage" in {a["name"] for a in client.get(f"/cases/{feedback.pk}/").context["actions"]}
    client.post(f"/cases/{feedback.pk}/triage/", {"version": feedback.version, "action": "to_meeting",
                                                   "note": "提交第12期运营沟通会"})
    case = Case.objects.get(pk=feedback.pk)
    # On the next meeting's agenda (tests/coordination/test_feedback.py): open until the answer is done.
    assert case.status == Status.IN_PROGRESS and case.outcome == ""


def test_rectification_is_verified_then_closed(client, cases_bank, all_cases):
    rect = all_cases["rectification"]
    client.force_login(cases_bank.users["head11"])
    client.post(f"/cases/{rect.pk}/evidence/", {"version": _version(rect), "evidence": "已组织培训，附签到表"})
    client.post(f"/cases/{rect.pk}/resolve/", {"version": _version(rect), "outcome": "resolved",
                                               "resolution": "已整改"})
    page = client.get(f"/cases/{rect.pk}/")
    assert "close" not in {a["name"] for a in page.context["actions"]} and page.context["close_blocker"]
    client.force_login(cases_bank.users["sb1mgr"])
    assert "verify" in {a["name"] for a in client.get(f"/cases/{rect.pk}/").context["actions"]}
    client.post(f"/cases/{rect.pk}/verify/", {"version": _version(rect), "passed": "1", "note": "抽查通过"})
    client.post(f"/cases/{rect.pk}/close/", {"version": _version(rect)})
    assert Case.objects.get(pk=rect.pk).status == Status.CLOSED


def test_particularly_complex_is_offered_only_to_approvers_above_the_outlet(client, cases_bank, all_cases):
    case = all_cases["complaint"]
    for username, offered in (("head11", False), ("sec1", True)):
        client.force_login(cases_bank.users[username])
        actions = {a["name"]: a["form"] for a in client.get(f"/cases/{case.pk}/").context["actions"]}
        choices = {v for v, _label in actions["complexity"].fields["complexity"].choices}
        assert ("particularly_complex" in choices) is offered, username
    client.post(f"/cases/{case.pk}/complexity/", {"version": _version(case), "complexity": "particularly_complex",
                                                  "customer_notified": "on"})
    assert Case.objects.get(pk=case.pk).complaint.complexity == "particularly_complex"


@pytest.mark.clock_at("2026-11-24")
def test_extension_is_requested_and_approved(client, cases_bank, all_cases):
    case = all_cases["complaint"]
    before = case.resolution_due
    client.force_login(cases_bank.users["staff11"])
    client.post(f"/cases/{case.pk}/extension/", {"version": _version(case), "days": 3, "reason": "等待监控调取"})
    ext = case.extensions.get()
    client.force_login(cases_bank.users["sec1"])
    page = client.get(f"/cases/{case.pk}/")
    assert page.context["decide_form"] is not None
    client.post(f"/cases/{case.pk}/decide_extension/", {"version": _version(case), "extension": ext.pk,
                                                        "approve": "1", "note": "同意"})
    ext.refresh_from_db()
    assert ext.state == "approved" and Case.objects.get(pk=case.pk).resolution_due > before
    client.force_login(cases_bank.users["staff11"])  # no approve permission: no buttons
    assert client.get(f"/cases/{case.pk}/").context["decide_form"] is None


def test_comment_and_upload(client, cases_bank, all_cases, media):
    case = all_cases["support"]
    client.force_login(cases_bank.users["ft1"])
    client.post(f"/cases/{case.pk}/comment/", {"body": "已派工程师上门"})
    r = client.post(f"/cases/{case.pk}/attach/", {"file": SimpleUploadedFile("维修单.pdf", b"%PDF-1.4")})
    assert r.status_code == 302
    att = Attachment.objects.get(case=case)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "已派工程师上门" in page and f"/cases/{case.pk}/files/{att.pk}/" in page
    client.post(f"/cases/{case.pk}/attach/", {"file": SimpleUploadedFile("run.exe", b"MZ")})
    assert Attachment.objects.filter(case=case).count() == 1


def test_masking_and_logged_reveal(client, cases_bank, all_cases):
    case = all_cases["complaint"]
    client.force_login(cases_bank.users["leader1"])  # no permission to see personal data
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert "138****5678" in html and "13812345678" not in html and "?reveal=1" not in html
    html = client.get(f"/cases/{case.pk}/?reveal=1").content.decode()
    assert "13812345678" not in html and PiiAccess.objects.count() == 0

    client.force_login(cases_bank.users["head11"])
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert "138****5678" in html and "13812345678" not in html and "?reveal=1" in html
    assert PiiAccess.objects.count() == 0
    r = client.get(f"/cases/{case.pk}/?reveal=1")
    html = r.content.decode()
    assert "13812345678" in html and "440301199001011234" in html and "张三" in html
    assert "no-store" in r["Cache-Control"]
    access = PiiAccess.objects.get()
    assert access.user == cases_bank.users["head11"] and access.case_id == case.pk and access.via == "page"


def test_xlsx_export_has_no_personal_data(client, cases_bank, all_cases):
    client.force_login(cases_bank.users["head11"])
    r = client.get("/cases/?queue=all&format=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(BytesIO(r.content)).active
    cells = [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    text = " ".join(cells)
    assert all_cases["complaint"].number in text
    for pii in ("13812345678", "138****5678", "5678", "440301", "张三", "张*"):
        assert pii not in text, pii
    client.force_login(cases_bank.users["staff11"])  # no export permission
    assert client.get("/cases/?format=xlsx").status_code == 403


@pytest.mark.clock_at("2026-11-24")
def test_dashboard_figures_and_export(client, cases_bank, all_cases):
    client.force_login(cases_bank.users["leader1"])
    r = client.get("/cases/dashboard/?year=2026")
    assert r.status_code == 200
    figures = r.context["figures"]
    assert figures["open"] == queries.visible_cases(cases_bank.users["leader1"]).filter(
        status__in=["new", "accepted", "in_progress"]).count() == 6
    assert figures["overdue"] >= 1
    assert {row["code"] for row in r.context["per_outlet"]} == {"SZ0101"}
    assert r.context["complaints_total"] == 3
    html = r.content.decode()
    assert 'id="cases-charts"' in html and "echarts.min.js" in html
    r = client.get("/cases/dashboard/?year=2026&format=xlsx")
    ws = load_workbook(BytesIO(r.content)).active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert rows[0][0] == "SZ0101" and rows[0][-1] == 3
    client.force_login(cases_bank.users["staff11"])
    assert client.get("/cases/dashboard/?format=xlsx").status_code == 403
