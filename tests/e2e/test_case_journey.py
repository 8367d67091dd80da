"""A complaint from the counter to closure, in headless Chromium: the outlet logs it on site, the
outlet head assigns it, the worker escalates it when overdue, the consumer-protection department
resolves it, the first-contact owner calls the customer back and closes it."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from branchops.cases.models import Case, Escalation
from branchops.core import clock
from tests.cases.conftest import cases_bank  # noqa: F401  (fixture)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def signed_in(browser, live_server, username):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def act(page, action, fill=None):
    """Open the action's panel if it has one, fill its fields, submit it."""
    form = page.locator(f"form[action$='/{action}/']").first
    panel = page.locator(f"details:has(form[action$='/{action}/']) > summary")
    if panel.count():
        panel.first.click()
    for selector, value in (fill or {}).items():
        field = form.locator(selector)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        elif field.get_attribute("type") == "radio":
            form.locator(f"{selector}[value='{value}']").check()
        else:
            field.fill(value)
    page.once("dialog", lambda d: d.accept())
    form.locator("button[type=submit]").first.click()
    page.wait_for_load_state("load")


def test_complaint_from_counter_to_closure(browser, live_server, cases_bank):  # noqa: F811
    b = cases_bank
    # 1. The teller logs a complaint received on site three weeks ago.
    teller = signed_in(browser, live_server, "staff11")
    teller.goto(f"{live_server.url}/cases/new/?type=complaint")
    received = clock.localtime() - timedelta(days=21)
    teller.fill("input[name=title]", "排队时间过长")
    teller.fill("textarea[name=description]", "客户在营业厅等候四十分钟未办理业务")
    teller.select_option("select[name=institution]", str(b.o11.pk))
    teller.select_option("select[name=channel]", "on_site")
    teller.fill("input[name=received_at]", received.strftime("%Y-%m-%dT%H:%M"))
    teller.fill("input[name=complainant_name]", "王小明")
    teller.fill("input[name=complainant_phone]", "13912345678")
    teller.locator("form button[type=submit]").last.click()
    teller.wait_for_url(lambda url: "/cases/" in url and "/new/" not in url)
    case = Case.objects.get(title="排队时间过长")
    assert case.first_contact_owner == b.users["staff11"] and case.number.startswith("TS-")
    assert "13912345678" not in teller.content()  # even the first-contact owner sees it masked until asked
    # 2. The outlet head hands it to the consumer-protection department.
    head = signed_in(browser, live_server, "head11")
    head.goto(f"{live_server.url}/cases/{case.pk}/")
    act(head, "assign", {"select[name=department]": str(b.cpp.pk)})
    case.refresh_from_db()
    assert case.assignee_department == b.cpp
    # 3. It is overdue: the worker escalates it, and the outlet head is told in the app.
    call_command("worker", "--once", stdout=open("/dev/null", "w"))
    assert Escalation.objects.filter(case=case).exists()
    head.goto(f"{live_server.url}/notifications/")
    assert head.get_by_text(case.number).count() >= 1
    # 4. Consumer protection resolves it.
    cpp = signed_in(browser, live_server, "cpp1")
    cpp.goto(f"{live_server.url}/cases/{case.pk}/")
    assert "139****5678" in cpp.content()  # no permission: masked
    act(cpp, "resolve", {"select[name=outcome]": "resolved", "textarea[name=resolution]": "致歉并增开弹性窗口"})
    case.refresh_from_db()
    assert case.status == "resolved"
    # 5. The teller who first received it calls the customer back and closes it.
    teller.goto(f"{live_server.url}/cases/{case.pk}/")
    act(teller, "callback", {"select[name=satisfaction]": "satisfied", "textarea[name=note]": "客户表示满意"})
    act(teller, "close")
    case.refresh_from_db()
    assert case.status == "closed" and case.complaint.callback_satisfaction == "satisfied"
    teller.goto(f"{live_server.url}/cases/{case.pk}/")
    assert teller.get_by_text(case.number).count() >= 1
