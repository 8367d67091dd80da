"""Queue settings for the secretariat (issue 16, item 5): the page and the API change them, each change
is validated (nothing saved on any error), recorded on the timeline, and the KPIs follow at once."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from branchops.core import clock
from branchops.core.audit import timeline
from branchops.queueing import services
from branchops.queueing.models import QueueSettings

from .test_api import HEADER, invalid, ok, upload

URL = "/api/v1/queueing/"
pytestmark = pytest.mark.usefixtures("english_messages")


def ticket(day, no, wait_minutes, tier="regular", hour=9, outcome="served"):
    issued = f"{day}T{hour:02d}:{no:02d}:00"
    if outcome == "abandoned":
        return f"SZ0101,{day},A{no:03d},cash_deposit,{tier},cash,{issued},,,,,,abandoned\n"
    called_min = no + wait_minutes
    called = f"{day}T{hour + called_min // 60:02d}:{called_min % 60:02d}:00"
    end = f"{day}T{hour + (called_min + 3) // 60:02d}:{(called_min + 3) % 60:02d}:00"
    return (f"SZ0101,{day},A{no:03d},cash_deposit,{tier},cash,{issued},{called},{called},{end},1,T01,"
            f"{outcome}\n")


@pytest.fixture
def waits(bank, queue_dir, tmp_path, api):
    """Four regular customers of one past day waiting 3, 8, 12 and 20 minutes."""
    day = clock.today() - timedelta(days=20)
    path = tmp_path / "waits.csv"
    path.write_text(HEADER + "".join(ticket(day, n, w) for n, w in ((1, 3), (2, 8), (3, 12), (4, 20))),
                    encoding="utf-8")
    assert ok(upload(api(bank.users["sec1"]), path), 201)["added"] == 4
    return day


def test_threshold_change_through_the_api_recomputes_kpis_at_once(api, bank, waits):
    c = api(bank.users["sec1"])
    period = {"start": waits.isoformat(), "end": waits.isoformat()}
    before = ok(c.get(f"{URL}kpis", period))["rows"][0]
    assert before["overtime"] == 1 and before["overtime_ratio"] == pytest.approx(0.25)  # only the 20-min wait
    changed = ok(c.patch(f"{URL}settings", {"regular_threshold_minutes": 10}, content_type="application/json"))
    assert changed["regular_threshold_minutes"] == 10 and changed["allowed_actions"] == ["change"]
    after = ok(c.get(f"{URL}kpis", period))
    assert after["rows"][0]["overtime"] == 2 and after["rows"][0]["overtime_ratio"] == pytest.approx(0.5)
    assert after["definitions"]["thresholds_minutes"]["regular"] == 10
    # Audited: who changed what, before → after.
    conf = QueueSettings.objects.get(branch=bank.branch)
    event = timeline(conf)[0]
    assert event.action == "updated" and "overtime wait, regular customers" in event.message
    assert any(ch.old == "15" and ch.new == "10" for ch in event.changes)


def test_bad_values_are_refused_naming_each_field_and_nothing_changes(api, bank):
    c = api(bank.users["sec1"])
    before = ok(c.get(f"{URL}settings"))
    r = c.patch(f"{URL}settings", {"vip_threshold_minutes": 500, "opens_at": "18:00", "closes_at": "09:00"},
                content_type="application/json")
    invalid(r, "vip_threshold_minutes")
    assert ok(c.get(f"{URL}settings")) == before
    invalid(c.patch(f"{URL}settings", {"opens_at": "18:00", "closes_at": "09:00"}, content_type="application/json"),
            "closes_at")
    invalid(c.patch(f"{URL}settings", {"opens_at": "25:99"}, content_type="application/json"), "opens_at")
    invalid(c.patch(f"{URL}settings", {"paydays": "10,40"}, content_type="application/json"), "paydays")
    invalid(c.patch(f"{URL}settings", {"target_level": 0.2}, content_type="application/json"), "target_level")
    assert ok(c.get(f"{URL}settings")) == before


def test_the_api_refuses_what_the_page_refuses(api, login, bank):
    # Outlet staff read the figures but neither see nor change the settings — page and API alike.
    c = api(bank.users["head11"])
    assert c.get(f"{URL}settings").status_code == 403
    assert c.patch(f"{URL}settings", {"regular_threshold_minutes": 5},
                   content_type="application/json").status_code == 403
    assert c.get("/queueing/settings/").status_code == 403
    assert c.post("/queueing/settings/", {"regular_threshold_minutes": 5}).status_code == 403
    assert QueueSettings.objects.get(branch=bank.branch).regular_threshold_minutes == 15
    with pytest.raises(PermissionDenied):
        services.save_settings(bank.users["head11"], bank.branch, regular_threshold_minutes=5)


def test_settings_page_explains_validates_and_saves(login, bank):
    c = login(bank.users["sec1"])
    page = c.get("/queueing/settings/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "flexible-window proposals stay inside them" in text and 'name="opens_at"' in text
    form = {"regular_threshold_minutes": 12, "vip_threshold_minutes": 4, "private_threshold_minutes": 4,
            "target_wait_minutes": 10, "target_level": "0.80", "abandonment_significant": "0.05",
            "pattern_ratio": "0.20", "all_day_share": "0.60", "device_saturation": "0.85", "paydays": "10,25",
            "opens_at": "17:00", "closes_at": "09:00"}
    refused = c.post("/queueing/settings/", form)
    assert refused.status_code == 200 and "The closing time must be after the opening time." in refused.content.decode()
    assert QueueSettings.objects.get(branch=bank.branch).regular_threshold_minutes == 15
    saved = c.post("/queueing/settings/", {**form, "opens_at": "09:00", "closes_at": "17:00"})
    assert saved.status_code == 302
    conf = QueueSettings.objects.get(branch=bank.branch)
    assert conf.regular_threshold_minutes == 12 and conf.opens_at.hour == 9 and conf.business_slots() == (18, 34)
    assert "Queue settings changed" in c.get("/queueing/settings/").content.decode()
