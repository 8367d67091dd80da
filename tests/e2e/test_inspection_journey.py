"""Service quality in headless Chromium: the secretariat schedules an inspection; the supervisor
inspects the outlet on a phone-sized screen (390 px), fails an item with a photo (refused first without
one), which opens a rectification due by the finding's deadline; a re-inspection, scheduled at the
desk and answered on the phone, closes it. The secretariat opens, reviews and — another member —
publishes a quarter; the outlet head reads the outlet's breakdown on the phone."""

import pytest

from branchops.cases.models import Status
from branchops.core import clock
from branchops.service.models import GradingRun, Inspection
from tests.conftest import PASSWORD
from tests.service.conftest import grading  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1400, "height": 900}
# A 1×1 PNG: the photo of the failed item.
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def signed_in(browser, live_server, username, viewport=DESK):
    context = browser.new_context(locale="zh-CN", viewport=viewport, is_mobile=viewport is PHONE,
                                  has_touch=viewport is PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def fits(page) -> bool:
    """Nothing wider than the screen: no sideways scrolling on the phone."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def answer_all(page, fail=()):
    for item in page.locator("[data-item]").all():
        code = item.get_attribute("data-item")
        item.locator(f"label[for='a-{code}-{'fail' if code in fail else 'pass'}']").click()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # A browser test's transaction flush empties what the migrations wrote (the default grading scheme
    # and checklist) for the tests after it on the same worker: write them again (idempotent).
    from django.apps import apps

    from branchops.service import checklists, defaults

    defaults.install(apps)
    checklists.install(apps)


def test_inspection_to_rectification_and_a_published_quarter(browser, live_server, grading, media):  # noqa: F811
    b = grading
    today = clock.today().isoformat()
    # 1. The secretariat schedules an on-site inspection of SZ0101 at the desk.
    sec = signed_in(browser, live_server, "sec1")
    sec.goto(f"{live_server.url}/service/inspections/")
    form = sec.locator("form[action$='/inspections/new/']")
    form.locator("select[name=outlet]").select_option(str(b.o11.pk))
    form.locator("select[name=supervisor]").select_option(str(b.users["sb1mgr"].pk))
    form.locator("input[name=planned_on]").fill(today)
    form.locator("select[name=inspection_type]").select_option("on_site")
    form.locator("button[type=submit]").click()
    sec.wait_for_url(lambda url: "/service/inspections/" in url and url.rstrip("/").split("/")[-1].isdigit())
    inspection = Inspection.objects.get(outlet=b.o11)

    # 2. The supervisor inspects on the phone: lobby post 1 empty. Without a photo: refused, naming it.
    sup = signed_in(browser, live_server, "sb1mgr", PHONE)
    sup.goto(f"{live_server.url}/service/inspections/{inspection.pk}/")
    assert sup.locator("#inspection-form").is_visible() and fits(sup)
    answer_all(sup, fail=("l1",))
    sup.locator("input[name=note-l1]").fill("1号岗空岗十分钟")
    sup.locator("#inspection-form button[type=submit]").click()
    sup.wait_for_load_state("load")
    assert "l1" in sup.locator(".alert-danger").first.inner_text()
    inspection.refresh_from_db()
    assert inspection.status == "scheduled"
    # The choices are kept; the photo is taken and the form sent again.
    assert sup.locator("#a-l1-fail").is_checked()
    sup.locator("input[name=photo-l1]").set_input_files({"name": "l1.png", "mimeType": "image/png", "buffer": PNG})
    sup.locator("#inspection-form button[type=submit]").click()
    sup.wait_for_selector("[data-finding]")
    assert fits(sup)
    inspection.refresh_from_db()
    finding = inspection.findings.get()
    case = finding.rectification
    assert inspection.status == "submitted" and finding.item.code == "l1" and finding.note == "1号岗空岗十分钟"
    assert case.resolution_due == finding.deadline and case.status != Status.CLOSED
    assert case.number in sup.locator(f"[data-finding='{finding.pk}']").inner_text()

    # 3. The secretariat schedules the re-inspection from the inspection page (desk).
    sec.goto(f"{live_server.url}/service/inspections/{inspection.pk}/")
    re = sec.locator(f"[data-finding='{finding.pk}'] form[data-action=reinspect]")
    re.locator("select[name=supervisor]").select_option(str(b.users["sb1mgr"].pk))
    re.locator("input[name=planned_on]").fill(today)
    re.locator("button[type=submit]").click()
    sec.wait_for_load_state("load")
    again = Inspection.objects.get(reinspects=finding)

    # 4. On the phone the supervisor answers the one item: it passes, the finding and the case close.
    sup.goto(f"{live_server.url}/service/inspections/{again.pk}/")
    assert sup.locator("[data-item]").count() == 1
    answer_all(sup)
    sup.locator("#inspection-form button[type=submit]").click()
    sup.wait_for_load_state("load")
    finding.refresh_from_db()
    case.refresh_from_db()
    assert finding.closed_at is not None and case.status == Status.CLOSED
    sup.goto(f"{live_server.url}/service/inspections/{inspection.pk}/")
    assert sup.locator(f"[data-finding='{finding.pk}'] .badge.text-bg-success").count() == 1

    # 5. The secretariat opens last quarter's run and reviews it; the reviewer is not offered publishing.
    sec.goto(f"{live_server.url}/service/")
    form = sec.locator("form[action$='/runs/new/']")
    form.locator("select[name=branch]").select_option(str(b.branch.pk))
    form.locator("input[name=year]").fill(str(b.year))
    form.locator("select[name=quarter]").select_option(str(b.quarter))
    form.locator("button[type=submit]").click()
    sec.wait_for_url(lambda url: "/service/runs/" in url)
    run = GradingRun.objects.get(branch=b.branch, year=b.year, quarter=b.quarter)
    sec.locator("form[action$='/review/'] button[type=submit]").click()
    sec.wait_for_load_state("load")
    run.refresh_from_db()
    assert run.status == "reviewed" and sec.locator("form[action$='/publish/']").count() == 0

    # 6. Another member of the secretariat publishes it.
    sec2 = signed_in(browser, live_server, "sec2")
    sec2.goto(f"{live_server.url}/service/runs/{run.pk}/")
    sec2.once("dialog", lambda d: d.accept())
    sec2.locator("form[action$='/publish/'] button[type=submit]").click()
    sec2.wait_for_load_state("load")
    run.refresh_from_db()
    assert run.status == "published" and run.published_by == b.users["sec2"]

    # 7. The outlet head reads the outlet's breakdown on the phone, and no other outlet's.
    head = signed_in(browser, live_server, "head11", PHONE)
    head.goto(f"{live_server.url}/service/runs/{run.pk}/outlets/{b.o11.pk}/")
    assert b.o11.name in head.content() and fits(head)
    assert head.goto(f"{live_server.url}/service/runs/{run.pk}/outlets/{b.o12.pk}/").status == 404
