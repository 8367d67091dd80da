"""Issue 17's phone bar in Chromium at 390 px: the outlet's lists become cards, the filters fold
behind a "筛选" toggle and nothing is wider than the phone; the open work order is on the first
screen of the work-order list, its link reachable."""

import pytest

from branchops.cases import services as cases
from branchops.cases.models import CaseType
from tests.conftest import PASSWORD
from tests.coordination.conftest import coord_bank, draft  # noqa: F401  (fixtures)
from tests.dispatch.conftest import approved, released  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _signed_in(browser, live_server, username, viewport=PHONE):
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def _fits(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _on_first_screen(locator):
    assert locator.is_visible()
    box = locator.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box


def test_work_orders_and_cases_are_cards_with_folded_filters(browser, live_server, coord_bank, released):  # noqa: F811
    b = coord_bank
    item = released(title="手机银行推广到店指导")
    wo = item.work_orders.get(institution=b.o11)
    case = cases.open_case(b.users["head11"], case_type=CaseType.FEEDBACK, institution=b.o11,
                           title="叫号机打印纸不足")
    page = _signed_in(browser, live_server, "head11")

    page.goto(f"{live_server.url}/dispatch/")
    link = page.locator(f"table.bo-cards a[href='{wo.get_absolute_url()}']")
    _on_first_screen(link)
    _fits(page)
    assert page.locator("table.bo-cards thead").is_hidden()  # a card, not a squeezed table
    assert page.locator("table.bo-cards td[data-label]").first.is_visible()
    search = page.locator("#f-q")
    assert search.is_hidden()
    toggle = page.locator("button.bo-filter-toggle")
    assert toggle.inner_text().strip() == "筛选"
    toggle.click()
    search.wait_for(state="visible")
    _fits(page)
    link.click()
    page.wait_for_url(f"**{wo.get_absolute_url()}")
    _fits(page)

    page.goto(f"{live_server.url}/cases/")
    link = page.locator(f"table.bo-cards a[href='{case.get_absolute_url()}']").first
    _on_first_screen(link)
    _fits(page)
    assert page.locator("#f-q").is_hidden()

    for path in ("/notifications/", "/coordination/verify/"):
        page.goto(f"{live_server.url}{path}")
        _fits(page)


def test_filters_stay_open_at_desktop_width(browser, live_server, coord_bank, released):  # noqa: F811
    released(title="手机银行推广到店指导")
    page = _signed_in(browser, live_server, "head11", viewport={"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/dispatch/")
    assert page.locator("#f-q").is_visible()
    assert page.locator("button.bo-filter-toggle").is_hidden()
    assert page.locator("table.bo-cards thead").is_visible()
