"""Issue 17's bar in Chromium: at 390 px an outlet head finds the open work order on the first
screen of "我的工作", and the number above it opens the list with that many rows."""

import pytest

from tests.conftest import PASSWORD
from tests.coordination.conftest import coord_bank, draft  # noqa: F401  (fixtures)
from tests.dispatch.conftest import approved, released  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _phone(browser, live_server, username):
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def test_the_outlet_head_finds_the_open_work_order_on_the_first_screen(browser, live_server, coord_bank,  # noqa: F811
                                                                       released):  # noqa: F811
    item = released(title="手机银行推广到店指导")
    wo = item.work_orders.get(institution=coord_bank.o11)
    page = _phone(browser, live_server, "head11")
    section = page.locator("[data-section=dispatch-work-orders]")
    link = section.locator(f"a[href='{wo.get_absolute_url()}']")
    assert link.is_visible()
    box = link.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing wider than the phone
    figure = section.locator("a.bo-figure[data-count]").first
    count = int(figure.get_attribute("data-count"))
    assert count == 1
    figure.click()
    page.wait_for_url("**/dispatch/?status=open")
    assert page.locator(f"a[href='{wo.get_absolute_url()}']").count() == 1
