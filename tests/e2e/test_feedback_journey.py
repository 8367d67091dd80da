"""Outlet feedback through the coordination meeting, in headless Chromium: an outlet reports a
problem; the secretariat raises it to the meeting from the case page; it appears on the next
meeting's agenda as feedback (not an item); at the meeting the secretariat records the answer and the
follow-up department; the department reports the follow-up done; the outlet reads the answer on its
case, now resolved."""

import pytest

from branchops.cases import services as cases
from branchops.cases.models import Case, CaseType, Status
from branchops.coordination import services
from branchops.coordination.models import FeedbackEntry
from branchops.core import clock
from branchops.core.workdays import add_working_days
from tests.coordination.conftest import coord_bank, hold  # noqa: F401  (fixture)
from tests.e2e.test_coordination_journey import (  # noqa: F401  (fixtures)
    follow,
    journey_bank,
    moved_clock,
    review_dimensions,
    signed_in,
)

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ANSWER = "由个人金融业务部统一印发新版操作指引，并组织网点培训"
DONE = "操作指引已印发，12家网点完成培训"


def test_feedback_to_the_meeting_answer_and_case_resolved(browser, live_server, journey_bank, moved_clock):  # noqa: F811
    b = journey_bank
    case = cases.open_case(b.users["staff12"], case_type=CaseType.FEEDBACK, institution=b.o12,
                           title="新系统上线无操作指引")

    # 1. The secretariat raises it to the meeting from the case page: the case stays in progress.
    sec = signed_in(browser, live_server, "sec1", case.get_absolute_url())
    details = sec.locator("details:has(form[action$='/triage/']) > summary")
    if details.count():
        details.first.click()
    triage = sec.locator("form[action$='/triage/']")
    triage.locator("input[name=action][value=to_meeting]").check()
    follow(sec, triage.locator("button[type=submit]"))
    assert Case.objects.get(pk=case.pk).status == Status.IN_PROGRESS
    entry = FeedbackEntry.objects.get(case=case)
    meeting = entry.meeting

    # 2. On the meeting's agenda as feedback; the meeting is held (quorate, on its day).
    services.freeze_agenda(b.users["sec1"], meeting)
    hold(b, meeting)
    sec.goto(f"{live_server.url}{meeting.get_absolute_url()}")
    row = sec.locator(f"[data-feedback='{entry.pk}']")
    expect(row).to_contain_text(case.number)
    answer = row.locator("form[data-form=feedback-answer]")
    answer.locator("textarea[name=answer]").fill(ANSWER)
    answer.locator("select[name=follow_up_department]").select_option(str(b.pfb.pk))
    answer.locator("input[name=follow_up_due]").fill(add_working_days(clock.today(), 3).isoformat())
    follow(sec, answer.locator("button[type=submit]"))
    expect(sec.locator(f"[data-feedback='{entry.pk}']")).to_have_attribute("data-feedback-status", "answered")

    # 3. The follow-up department reports it done.
    pfb = signed_in(browser, live_server, "pfb1", meeting.get_absolute_url())
    done = pfb.locator(f"[data-feedback='{entry.pk}'] form[data-form=feedback-done]")
    done.locator("textarea[name=note]").fill(DONE)
    follow(pfb, done.locator("button[type=submit]"))
    expect(pfb.locator(f"[data-feedback='{entry.pk}']")).to_have_attribute("data-feedback-status", "done")

    # 4. The outlet reads the meeting's answer on its case, resolved.
    outlet = signed_in(browser, live_server, "staff12", case.get_absolute_url())
    expect(outlet.locator("body")).to_contain_text(ANSWER)
    assert Case.objects.get(pk=case.pk).status == Status.RESOLVED
