"""Verification that forgives typing (issue 12): an outlet may type an approval number with other
brackets, full-width digits, spaces, without 第/号 or leading zeros; it is told the number as issued.
Through the service, the page and the API."""

import pytest

from branchops.coordination import services
from branchops.coordination.models import Item
from tests.coordination.conftest import hold, review

pytestmark = pytest.mark.clock_at("2026-12-07")

URL = "/api/v1/coordination/verify"
SECOND = "运统〔2026〕第002号"
TYPED = ["运统[2026]第2号", "运统（2026）002号", "运统〔２０２６〕第００２号", " 运统 〔2026〕 第 002 号 ", "运统〔2026〕002",
         "运统【2026】第2号", "运统(2026)第02號", "运统［2026］2号", SECOND]


@pytest.fixture
def numbers(draft, coord_bank):
    """Two items approved at the meeting of 2026-12-09: 运统〔2026〕第001号 and 第002号."""
    b, sec = coord_bank, coord_bank.users["sec1"]
    items = [review(b, services.submit_item(b.users["pfb1"], draft(title=f"事项{i}"))) for i in (1, 2)]
    services.freeze_agenda(sec, items[0].meeting)
    hold(b, items[0].meeting)
    return [services.record_decision(sec, Item.objects.get(pk=it.pk), "approved") for it in items]


def test_numbers_are_issued_in_the_configured_format(numbers):
    assert [it.approval_number for it in numbers] == ["运统〔2026〕第001号", SECOND]


@pytest.mark.parametrize("typed", TYPED)
def test_a_number_typed_loosely_is_found_and_shown_as_issued(numbers, typed):
    result = services.verify_number(typed)
    assert (result["status"], result["number"], result["item"]) == ("valid", SECOND, numbers[1])


@pytest.mark.parametrize("typed", ["运统[2026]第3号", "运统（2025）002号", "运营〔2026〕第002号", "运统〔2026〕第0020号",
                                   "2026 002", "运统", "〔〕"])
def test_other_numbers_are_still_unknown(numbers, typed):
    assert services.verify_number(typed)["status"] == "unknown"


def test_a_revoked_number_typed_loosely_is_still_revoked(numbers, coord_bank):
    services.revoke_approval(coord_bank.users["sec1"], numbers[1], "方案调整")
    result = services.verify_number("运统[2026]第2号")
    assert (result["status"], result["number"], result["reason"]) == ("revoked", SECOND, "方案调整")


def test_the_page_shows_the_number_as_issued(client, numbers, coord_bank):
    client.force_login(coord_bank.users["head11"])
    for typed in ("运统[2026]第2号", "运统（2026）002号"):
        r = client.get("/coordination/verify/", {"number": typed})
        assert r.context["result"]["status"] == "valid" and SECOND in r.content.decode()
        assert "data-typed-number" in r.content.decode() and typed in r.content.decode()
    r = client.get("/coordination/verify/", {"number": "运统[2026]第9号"})
    assert r.context["result"]["status"] == "unknown"


def test_the_api_answers_with_the_number_as_issued(api, numbers, coord_bank):
    c = api(coord_bank.users["head11"])
    for typed in ("运统[2026]第2号", "运统（2026）002号", "运统〔２０２６〕第００２号"):
        body = c.get(URL, {"number": typed}).json()
        assert (body["status"], body["number"], body["item"]["number"]) == ("valid", SECOND, numbers[1].number)
        assert body["typed"] == typed
    assert c.get(URL, {"number": "运统[2026]第9号"}).json()["status"] == "unknown"
