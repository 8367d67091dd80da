"""Issue 13: under the strict Content-Security-Policy the pages still work in a browser — chart
tooltips of every kind, the error page's way back, the admin's scripts and the API's Swagger page.
The autouse watcher in conftest.py fails any test on a CSP violation or a script error."""

import pytest

from tests.cases.conftest import cases_bank, complaint  # noqa: F401  (fixtures)
from tests.conftest import PASSWORD
from tests.e2e.test_case_journey import signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOW_TIP = """id => {
  const chart = echarts.getInstanceByDom(document.getElementById(id));
  chart.dispatchAction({type: "showTip", seriesIndex: 0, dataIndex: 0});
}"""


def test_chart_tooltips_and_the_way_back(browser, live_server, cases_bank, complaint):  # noqa: F811
    complaint()
    page = signed_in(browser, live_server, "sec1")
    page.goto(f"{live_server.url}/cases/dashboard/")
    for chart, text in (("chart-backlog", "投诉"), ("chart-status", "%"), ("chart-outlets", "福田中心网点")):
        page.wait_for_selector(f"#{chart} canvas")
        assert page.locator(f"#{chart}").evaluate("e => e.offsetHeight") >= 150  # data-height applied
        page.evaluate(SHOW_TIP, chart)
        page.wait_for_function("([id, t]) => document.getElementById(id).textContent.includes(t)", arg=[chart, text])
    # The error page's "go back" link works without javascript: URLs.
    page.goto(f"{live_server.url}/no-such-page/")
    page.locator("a[data-back]").click()
    page.wait_for_url(f"{live_server.url}/cases/dashboard/")


def test_admin_and_api_docs_work_under_the_policy(browser, live_server, superuser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    for path in ("/admin/auth/user/", "/admin/auth/user/add/", "/admin/org/institution/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.django === 'object'"), path  # the admin's scripts ran
    page.goto(f"{live_server.url}/api/v1/docs")
    page.wait_for_selector("#swagger-ui .info")  # Swagger UI rendered from its static files
    context.close()
