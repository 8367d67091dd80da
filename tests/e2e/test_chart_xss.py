"""Issue 13: chart tooltips are HTML, and outlet names are user data (the admin form, the org
workbook). An outlet renamed to carry markup must show as text in every tooltip, never run."""

import pytest

from branchops.org import services as org
from tests.cases.conftest import cases_bank, complaint  # noqa: F401  (fixtures)
from tests.e2e.test_case_journey import signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EVIL = '水贝支行 <img src=x onerror="window.__xss=1">'

# Show the tooltip of the first heat-map cell on the row of the outlet `name` in the chart `#id`.
SHOW_TIP = """([id, name]) => {
  const chart = echarts.getInstanceByDom(document.getElementById(id));
  const option = chart.getOption();
  const y = option.yAxis[0].data.indexOf(name);
  const dataIndex = option.series[0].data.findIndex(d => (d.value || d)[1] === y);
  if (y < 0 || dataIndex < 0) return false;
  chart.dispatchAction({type: "showTip", seriesIndex: 0, dataIndex: dataIndex});
  return true;
}"""


def _tooltip_shows_text(page, chart_id):
    assert page.evaluate(SHOW_TIP, [chart_id, EVIL]), "the outlet is not on the chart"
    page.wait_for_function("id => document.getElementById(id).textContent.includes('水贝支行')", arg=chart_id)
    page.wait_for_timeout(300)  # an injected image would have failed to load by now
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("window.__xss") is None
    assert EVIL in page.locator(f"#{chart_id}").text_content()  # the name, shown as text


@pytest.fixture
def evil_outlet(cases_bank):  # noqa: F811
    org.save_institution(cases_bank.users["admin1"], cases_bank.o11, name=EVIL)
    return cases_bank.o11


def test_workload_tooltip_escapes_the_outlet_name(browser, live_server, evil_outlet):
    page = signed_in(browser, live_server, "sec1")
    page.goto(f"{live_server.url}/dispatch/workload/")
    page.wait_for_selector("#chart-workload canvas")
    _tooltip_shows_text(page, "chart-workload")


def test_cases_dashboard_tooltip_escapes_the_outlet_name(browser, live_server, evil_outlet, complaint):  # noqa: F811
    complaint()
    page = signed_in(browser, live_server, "sec1")
    page.goto(f"{live_server.url}/cases/dashboard/")
    page.wait_for_selector("#chart-outlets canvas")
    _tooltip_shows_text(page, "chart-outlets")
