"""Meetings as a calendar (issue 12): one meeting a day per branch, numbered in date order, never
planned in the past, held (and deciding) on its date, not before; conditions fall due after the
decision, on a working day; the register counts meetings held by date. Each rule through the
service, the API (400 naming the field, nothing written) and the page where there is one.

The week of Monday 2026-12-07: the first meeting is Wednesday 12-09, Saturday 12-12 is a day off."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from branchops.coordination import queries, services
from branchops.coordination.models import Condition, Item, ItemStatus, Meeting
from branchops.core import clock
from tests.conftest import on_meeting_day
from tests.coordination.conftest import hold, review

pytestmark = [pytest.mark.clock_at("2026-12-07"), pytest.mark.usefixtures("english_messages")]

URL = "/api/v1/coordination/"
WED, NEXT_WED, SATURDAY = date(2026, 12, 9), date(2026, 12, 16), date(2026, 12, 12)


@pytest.fixture(autouse=True)
def in_english():
    """The assertions below match the English wording; requests say so by the cookie."""
    with translation.override("en"):
        yield


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def refused(response, field):
    assert response.status_code == 400, response.content
    assert field in response.json()["detail"], response.json()
    return response.json()["detail"][field]


def on_agenda(b, draft, **extra):
    item = review(b, services.submit_item(b.users["pfb1"], draft(**extra)))
    services.freeze_agenda(b.users["sec1"], item.meeting)
    item.refresh_from_db()
    return item


# --- one meeting a day, in date order, not in the past -----------------------------------------

def test_one_meeting_per_date_per_branch(coord_bank):
    b, sec = coord_bank, coord_bank.users["sec1"]
    first = services.create_meeting(sec, b.branch, WED)
    with pytest.raises(ValidationError) as exc:
        services.create_meeting(sec, b.branch, WED)
    assert "held_on" in exc.value.error_dict and str(first) in str(exc.value)
    assert Meeting.objects.filter(branch=b.branch).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds it too
        Meeting.objects.create(branch=b.branch, year=2026, sequence=9, held_on=WED, cutoff_at=first.cutoff_at)


def test_a_meeting_is_not_dated_before_a_later_one_of_its_year(coord_bank):
    b, sec = coord_bank, coord_bank.users["sec1"]
    services.create_meeting(sec, b.branch, date(2026, 12, 23))
    with pytest.raises(ValidationError) as exc:
        services.create_meeting(sec, b.branch, NEXT_WED)
    assert "date order" in str(exc.value)
    later = services.create_meeting(sec, b.branch, date(2026, 12, 30))
    assert (later.year, later.sequence) == (2026, 2)
    services.create_meeting(sec, b.branch, date(2027, 1, 13))
    services.create_meeting(sec, b.branch, date(2027, 1, 20))  # another year numbers on its own
    assert list(Meeting.objects.filter(branch=b.branch).order_by("held_on").values_list("sequence", flat=True)) \
        == [1, 2, 1, 2]


def test_a_meeting_is_not_planned_in_the_past(coord_bank):
    b, sec = coord_bank, coord_bank.users["sec1"]
    with pytest.raises(ValidationError) as exc:
        services.create_meeting(sec, b.branch, date(2026, 12, 4))
    assert "in the past" in str(exc.value)
    assert services.create_meeting(sec, b.branch, clock.today()).sequence == 1  # today is fine
    assert Meeting.objects.count() == 1


def test_the_api_refuses_what_the_service_refuses_when_planning(api, coord_bank):
    b = coord_bank
    c = api(b.users["sec1"])
    assert "in the past" in refused(post(c, f"{URL}meetings", {"held_on": "2026-12-04"}), "held_on")[0]
    assert post(c, f"{URL}meetings", {"held_on": "2026-12-23"}).status_code == 201
    refused(post(c, f"{URL}meetings", {"held_on": "2026-12-23"}), "held_on")  # the same day
    assert "date order" in refused(post(c, f"{URL}meetings", {"held_on": "2026-12-16"}), "held_on")[0]
    assert list(Meeting.objects.values_list("held_on", flat=True)) == [date(2026, 12, 23)]


def test_the_page_refuses_a_meeting_in_the_past(client, coord_bank):
    client.force_login(coord_bank.users["sec1"])
    r = client.post("/coordination/meetings/new/", {"held_on": "2026-12-04"}, follow=True)
    assert "in the past" in r.content.decode() and not Meeting.objects.exists()


def test_automatic_meetings_keep_to_the_calendar(draft, coord_bank):
    """The next meeting an item goes to is never before a later meeting of its year, and deferring
    from a meeting already past lands on a day still to come."""
    b, sec = coord_bank, coord_bank.users["sec1"]
    item = on_agenda(b, draft)
    assert item.meeting.held_on == WED
    on_meeting_day(item.meeting)
    services.record_attendance(sec, item.meeting, [sec])
    clock.travel_to(clock.instant(date(2026, 12, 21), 10))  # the meeting passed; the item is undecided
    later = services.defer_item(sec, Item.objects.get(pk=item.pk))
    assert later.meeting.held_on == date(2026, 12, 23) and later.meeting.sequence == 2


# --- held, and deciding, on its date -----------------------------------------------------------

def test_a_meeting_is_not_held_nor_decides_before_its_date(draft, coord_bank):
    b, sec = coord_bank, coord_bank.users["sec1"]
    item = on_agenda(b, draft)
    meeting = item.meeting
    for attempt in (lambda: services.record_attendance(sec, meeting, [sec]),
                    lambda: services.record_decision(sec, Item.objects.get(pk=item.pk), "approved"),
                    lambda: services.decide_consent_block(sec, meeting)):
        with pytest.raises(ValidationError) as exc:
            attempt()
        assert "2026-12-09" in str(exc.value) and "held_on" in exc.value.error_dict
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.FROZEN and Item.objects.get(pk=item.pk).status == ItemStatus.SUBMITTED
    hold(b, meeting)
    assert services.record_decision(sec, Item.objects.get(pk=item.pk), "approved").status == ItemStatus.APPROVED


def test_the_api_refuses_holding_or_deciding_before_the_date(api, draft, coord_bank):
    b, sec = coord_bank, coord_bank.users["sec1"]
    item = on_agenda(b, draft)
    c = api(sec)
    murl = f"{URL}meetings/{item.meeting_id}/actions/"
    refused(post(c, f"{murl}attendance", {"attendee_ids": [sec.pk]}), "held_on")
    refused(post(c, f"{murl}consent"), "held_on")
    refused(post(c, f"{URL}items/{item.pk}/actions/decide", {"decision": "approved", "version": item.version}),
            "held_on")
    assert Meeting.objects.get(pk=item.meeting_id).status == Meeting.Status.FROZEN
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SUBMITTED


def test_the_page_refuses_deciding_before_the_date(client, draft, coord_bank):
    b = coord_bank
    item = on_agenda(b, draft)
    client.force_login(b.users["sec1"])
    r = client.post(f"/coordination/items/{item.pk}/decide/", {"version": item.version, "decision": "approved"},
                    follow=True)
    assert "before that day" in r.content.decode()
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SUBMITTED


# --- conditions fall due after the decision, on a working day ----------------------------------

def _condition(b, due=None):
    return {"text": "补充风险提示话术", "owner_department": b.pfb, "proof": "修订后的话术文本", "due_date": due}


def test_a_condition_falls_due_after_the_decision_on_a_working_day(draft, coord_bank):
    b, sec = coord_bank, coord_bank.users["sec1"]
    item = on_agenda(b, draft)
    hold(b, item.meeting)
    for due, words in ((WED, "after the decision date"), (date(2026, 12, 8), "after the decision date"),
                       (SATURDAY, "not a working day")):
        with pytest.raises(ValidationError) as exc:
            services.record_decision(sec, Item.objects.get(pk=item.pk), "conditional",
                                     conditions=[_condition(b, due)])
        assert words in str(exc.value.error_dict["conditions.0.due_date"])
    assert not Condition.objects.exists()
    services.record_decision(sec, Item.objects.get(pk=item.pk), "conditional",
                             conditions=[_condition(b, date(2026, 12, 10)), _condition(b)])
    dues = list(Condition.objects.order_by("pk").values_list("due_date", flat=True))
    assert dues == [date(2026, 12, 10), date(2026, 12, 16)]  # the default: five working days on


def test_the_api_and_the_page_refuse_a_condition_due_on_a_day_off(api, client, draft, coord_bank):
    b, sec = coord_bank, coord_bank.users["sec1"]
    item = on_agenda(b, draft)
    on_meeting_day(item.meeting)
    cond = {"text": "补充风险提示话术", "owner_department_id": b.pfb.pk, "proof": "话术定稿",
            "due_date": SATURDAY.isoformat()}
    r = post(api(sec), f"{URL}items/{item.pk}/actions/decide",
             {"decision": "conditional", "version": item.version, "conditions": [cond]})
    assert "not a working day" in refused(r, "conditions.0.due_date")[0]
    client.force_login(sec)
    r = client.post(f"/coordination/items/{item.pk}/decide/", {
        "version": item.version, "decision": "conditional", "c0_text": "补充风险提示话术", "c0_owner": b.pfb.pk,
        "c0_proof": "话术定稿", "c0_due": SATURDAY.isoformat()}, follow=True)
    assert "not a working day" in r.content.decode()
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SUBMITTED and not Condition.objects.exists()


# --- the register counts meetings held by date --------------------------------------------------

def test_meetings_held_counts_by_date(draft, coord_bank):
    b, sec = coord_bank, coord_bank.users["sec1"]
    item = on_agenda(b, draft)
    assert queries.statistics(sec)["meetings_held"] == 0
    on_meeting_day(item.meeting)
    services.record_attendance(sec, item.meeting, [sec])
    assert queries.statistics(sec)["meetings_held"] == 1
    # A meeting marked held whose day has not come (as old data could be) is not counted.
    other = services.submit_item(b.users["pfb1"], draft(title="下一期事项"))
    Meeting.objects.filter(pk=other.meeting_id).update(status=Meeting.Status.HELD)
    assert other.meeting.held_on > clock.today() and queries.statistics(sec)["meetings_held"] == 1


def test_verifying_writes_nothing(coord_bank):
    with CaptureQueriesContext(connection) as ctx:
        services.verify_number("运统[2026]第2号")
    assert not [q for q in ctx.captured_queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]


# --- past meetings not held are flagged to the secretariat on the home page ---------------------

def test_past_meetings_not_held_are_on_the_secretariats_home_page(client, draft, coord_bank):
    b = coord_bank
    item = on_agenda(b, draft)
    meeting = item.meeting
    client.force_login(b.users["sec1"])
    assert "Past meetings not held" not in client.get("/").content.decode()  # its day has not come
    clock.travel_to(clock.instant(date(2026, 12, 10), 10))
    page = client.get("/").content.decode()
    assert "Past meetings not held" in page and f'href="{meeting.get_absolute_url()}"' in page
    client.force_login(b.users["pfb1"])
    assert "Past meetings not held" not in client.get("/").content.decode()  # the secretariat's list
    client.force_login(b.users["sec1"])
    services.record_attendance(b.users["sec1"], meeting, [b.users["sec1"]])  # held late: off the list
    assert "Past meetings not held" not in client.get("/").content.decode()
