"""Queue analytics in headless Chromium: the secretariat uploads a queue-machine log (progress bar),
reads the rejected row, ranks the sub-branches, drills down to an outlet and reads its pattern,
flexible windows and forecast; an outlet's staff see their own outlet only."""

import shutil

import pytest

from tests.e2e.test_case_journey import signed_in
from tests.queueing.conftest import _simulated, queue_dir, ticket_csv  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_upload_rank_and_drill_down(browser, live_server, bank, queue_dir, ticket_csv, tmp_path):  # noqa: F811
    tickets, _devices = ticket_csv()
    upload = tmp_path / "叫号机日志.csv"
    shutil.copy(tickets, upload)
    with open(upload, "a", encoding="utf-8") as fh:  # one bad row at the end: an unknown outlet
        fh.write("NOPE,2026-03-02,Z001,cash_deposit,regular,cash,2026-03-02T09:02:00,,,,,,abandoned\n")
    lines = sum(1 for _ in open(upload, encoding="utf-8"))

    page = signed_in(browser, live_server, "sec1")
    page.goto(f"{live_server.url}/queueing/imports/")
    page.set_input_files("#i-file", str(upload))
    page.click("#import-form button[type=submit]")
    page.wait_for_url("**/queueing/imports/*/")
    assert page.locator("[data-status=done]").count() == 1
    row = page.locator(f"tr[data-line='{lines}']")
    assert row.get_attribute("data-reason") == "unknown_outlet" and "NOPE" in row.inner_text()

    page.click("text=等候指标")
    page.wait_for_load_state("load")
    page.select_option("#q-month", "2026-03")  # the month picker submits itself
    page.wait_for_url("**month=2026-03**")
    assert page.locator("#kpi-table tbody tr").count() == 2  # the two sub-branches
    assert page.locator("#chart-trend canvas").count() >= 1  # ECharts drew the trend
    page.click(f"#kpi-table tr[data-unit='{bank.sb1.code}'] a")
    page.wait_for_load_state("load")
    assert page.locator("#kpi-table tbody tr").count() == 2  # its two outlets
    page.click(f"#kpi-table tr[data-unit='{bank.o12.code}'] a")
    page.wait_for_url(f"**/queueing/outlets/{bank.o12.code}/**")
    assert page.locator("[data-pattern=all_day]").count() == 1
    assert "增开" in page.locator("#flexible-windows").inner_text()
    assert page.locator("#forecast [data-wape]").count() == 1
    assert page.locator("#heat-wait canvas").count() >= 1

    teller = signed_in(browser, live_server, "staff11")
    teller.goto(f"{live_server.url}/queueing/?level=outlet")
    assert teller.locator("#kpi-table tbody tr").count() == 1
    assert teller.locator(f"#kpi-table tr[data-unit='{bank.o11.code}']").count() == 1
    teller.goto(f"{live_server.url}/queueing/outlets/{bank.o21.code}/")
    assert "404" in teller.title() or teller.locator("h1").inner_text() != bank.o21.name
