"""The queue-type mapping setting (issue 16): the secretariat maps the log's business types onto the
product's business categories (read time: KPIs by category change at once, nothing re-imported; types
not mapped show as "unmapped", never dropped) and the log's own queue-type and tier codes onto the
product's (import time: a row with an unknown code is rejected with its line; after mapping it, the same
file imported again adds exactly those rows)."""

from datetime import timedelta

import pytest

from branchops.core import clock
from branchops.core.audit import timeline
from branchops.queueing.models import QueueSettings

from .test_api import HEADER, invalid, ok, upload

URL = "/api/v1/queueing/"
pytestmark = pytest.mark.usefixtures("english_messages")


def row(day, no, business, tier="regular", queue="cash", wait=5):
    issued = f"{day}T09:{no:02d}:00"
    called = f"{day}T09:{no + wait:02d}:00"
    end = f"{day}T09:{no + wait + 2:02d}:00"
    return f"SZ0101,{day},A{no:03d},{business},{tier},{queue},{issued},{called},{called},{end},1,T01,served\n"


def patch(c, body):
    return c.patch(f"{URL}settings", body, content_type="application/json")


@pytest.fixture
def day():
    return clock.today() - timedelta(days=20)


@pytest.fixture
def log(bank, queue_dir, tmp_path, api, day):
    """A log with the machine's own business types: 取现 ×2 (waits 2, 4 min), 转账 ×1 (6), 开户 ×1 (10)
    and one already a product type (cash_deposit, 8)."""
    path = tmp_path / "own-types.csv"
    rows = [row(day, 1, "取现", wait=2), row(day, 2, "取现", wait=4), row(day, 3, "转账", wait=6),
            row(day, 4, "开户", wait=10), row(day, 5, "cash_deposit", wait=8)]
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    assert ok(upload(api(bank.users["sec1"]), path), 201)["added"] == 5
    return day


def categories(c, day):
    body = ok(c.get(f"{URL}kpis", {"start": day.isoformat(), "end": day.isoformat()}))
    return {r["business_category"]: r for r in body["by_category"]}


def test_mapping_business_types_changes_kpis_by_category_at_once_and_never_drops_a_row(api, bank, log):
    c = api(bank.users["sec1"])
    before = categories(c, log)
    # Nothing mapped yet: the product's own type is itself, the log's types are "unmapped" — all counted.
    assert set(before) == {"cash_deposit", "unmapped"}
    assert before["unmapped"]["arrivals"] == 4 and before["cash_deposit"]["arrivals"] == 1
    seen = {t["business_type"]: t for t in ok(c.get(f"{URL}settings"))["business_types"]}
    assert seen["取现"] == {"business_type": "取现", "tickets": 2, "business_category": "unmapped"}

    changed = ok(patch(c, {"type_mapping": {"business_type": {"取现": "cash_withdrawal", "转账": "transfer"}}}))
    assert changed["type_mapping"]["business_type"]["取现"] == "cash_withdrawal"
    after = categories(c, log)  # the same stored tickets, no re-import
    assert after["cash_withdrawal"]["arrivals"] == 2 and after["cash_withdrawal"]["wait_median"] == 180.0
    assert after["cash_withdrawal"]["percentiles"] == "exact"
    assert after["transfer"]["arrivals"] == 1 and after["unmapped"]["arrivals"] == 1  # 开户 still unmapped
    assert sum(r["arrivals"] for r in after.values()) == 5
    assert {t["business_type"]: t["business_category"] for t in ok(c.get(f"{URL}settings"))["business_types"]} == {
        "取现": "cash_withdrawal", "转账": "transfer", "开户": "unmapped", "cash_deposit": "cash_deposit"}
    # Audited with the values before and after.
    event = timeline(QueueSettings.objects.get(branch=bank.branch))[0]
    assert event.action == "updated" and "queue-type mapping" in event.message


def test_bad_mappings_are_refused_naming_the_field_and_nothing_changes(api, bank):
    c = api(bank.users["sec1"])
    before = ok(c.get(f"{URL}settings"))
    msgs = invalid(patch(c, {"type_mapping": {"business_type": {"取现": "cash_out"}}}), "type_mapping")
    assert "取现" in msgs[0] and "cash_out" in msgs[0]
    invalid(patch(c, {"type_mapping": {"outcome": {"ok": "served"}}}), "type_mapping")
    invalid(patch(c, {"type_mapping": {"customer_tier": {"贵宾": "gold"}}}), "type_mapping")
    invalid(patch(c, {"type_mapping": {"queue_type": {" A ": "cash"}}}), "type_mapping")
    invalid(patch(c, {"type_mapping": {"queue_type": {"x" * 101: "cash"}}}), "type_mapping")
    invalid(patch(c, {"type_mapping": {"queue_type": {f"q{i}": "cash" for i in range(501)}}}), "type_mapping")
    invalid(patch(c, {"type_mapping": {"queue_type": {"A\x00": "cash"}}}), "type_mapping")  # jsonb refuses NUL
    invalid(patch(c, {"type_mapping": None}), "type_mapping")
    # Wrong shapes are refused by the schema (what a form could never send).
    assert patch(c, {"type_mapping": {"queue_type": ["cash"]}}).status_code in (400, 422)
    assert patch(c, {"type_mapping": "queue_type: A = cash"}).status_code in (400, 422)
    assert ok(c.get(f"{URL}settings")) == before
    # Outlet staff may not change it.
    assert patch(api(bank.users["head11"]), {"type_mapping": {}}).status_code == 403


def test_log_codes_for_queue_types_and_tiers_map_at_import_and_rejected_rows_come_back(api, bank, queue_dir,
                                                                                       tmp_path, day):
    c = api(bank.users["sec1"])
    path = tmp_path / "own-codes.csv"
    path.write_text(HEADER + row(day, 1, "cash_deposit", tier="贵宾", queue="V", wait=7)
                    + row(day, 2, "cash_deposit", tier="regular", queue="cash", wait=3), encoding="utf-8")
    first = ok(upload(c, path), 201)
    assert first["added"] == 1 and first["rejected"] == 1  # never silently lost: the line is named
    assert ok(c.get(f"{URL}imports/{first['id']}"))["errors"][0]["line"] == 2
    ok(patch(c, {"type_mapping": {"customer_tier": {"贵宾": "vip"}, "queue_type": {"v": "vip"}}}))
    again = ok(upload(c, path), 201)
    assert again["added"] == 1 and again["already_stored"] == 1 and again["rejected"] == 0
    tiers = ok(c.get(f"{URL}kpis", {"start": day.isoformat(), "end": day.isoformat()}))["by_tier"]
    vip = next(r for r in tiers if r["customer_tier"] == "vip")
    assert vip["arrivals"] == 1 and vip["overtime"] == 1  # 7 min over the VIP threshold of 5


def test_settings_page_edits_the_mapping_as_lines(login, bank, log):
    c = login(bank.users["sec1"])
    page = c.get("/queueing/settings/").content.decode()
    assert "取现" in page and "unmapped" in page
    conf = QueueSettings.objects.get(branch=bank.branch)
    form = {"regular_threshold_minutes": 15, "vip_threshold_minutes": 5, "private_threshold_minutes": 5,
            "target_wait_minutes": 10, "target_level": "0.80", "abandonment_significant": "0.05",
            "pattern_ratio": "0.20", "all_day_share": "0.60", "device_saturation": "0.85", "paydays": "10,25",
            "opens_at": "08:30", "closes_at": "17:30"}
    bad = c.post("/queueing/settings/", {**form, "type_mapping": "business_type 取现 cash_withdrawal"})
    assert bad.status_code == 200 and "Line 1" in bad.content.decode()
    wrong = c.post("/queueing/settings/", {**form, "type_mapping": "business_type: 取现 = cash"})
    assert wrong.status_code == 200 and "not one of" in wrong.content.decode()
    conf.refresh_from_db()
    assert conf.type_mapping == {}
    saved = c.post("/queueing/settings/", {**form, "type_mapping": "business_type: 取现 = cash_withdrawal\n\n"
                                                                    "customer_tier: 贵宾 = vip"})
    assert saved.status_code == 302
    conf.refresh_from_db()
    assert conf.type_mapping == {"business_type": {"取现": "cash_withdrawal"}, "customer_tier": {"贵宾": "vip"}}
    assert "business_type: 取现 = cash_withdrawal" in c.get("/queueing/settings/").content.decode()
