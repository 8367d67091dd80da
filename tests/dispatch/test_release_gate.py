"""The workload gate at release cannot be walked round: only released work counts, staggered waves
stay inside the approved window and are checked, blackouts need a reason, and lower-urgency work is
proposed to yield — through the service, the API (refusing what the form refuses) and the page."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from branchops.coordination import services
from branchops.coordination.models import Item, ItemStatus
from branchops.dispatch.models import Blackout, WorkOrder

pytestmark = pytest.mark.usefixtures("english_messages")


@pytest.fixture(autouse=True)
def _services_in_english():
    """The services' refusals are matched in English, whatever language the test run starts in."""
    from django.utils import translation

    with translation.override("en"):
        yield

URL = "/api/v1/coordination/"


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def test_pending_items_are_expected_not_load(coord_bank, approved, draft):
    b = coord_bank
    services.submit_item(b.users["pfb1"], draft(title="大量待审", effort_hours=300))
    item = approved(title="小事项", effort_hours=2)
    assert services.release_check(item)["overloads"] == []  # the pending 300 h do not count


def test_staggering_is_checked_and_stays_in_the_window(api, coord_bank, approved):
    b = coord_bank
    item = approved(effort_hours=30)
    for groups in (1, 2):
        with pytest.raises(ValidationError) as exc:
            services.release_item(b.users["sec1"], item, stagger_groups=groups)
        assert "override_reason" in exc.value.message_dict and "cannot fit" in str(exc.value)
    assert not WorkOrder.objects.filter(item=item).exists()
    c = api(b.users["sec1"])
    url = f"{URL}items/{item.pk}/actions/release"
    refused = post(c, url, {"stagger_groups": 2})
    assert refused.status_code == 400 and "override_reason" in str(refused.json()["detail"])
    too_many = post(c, url, {"stagger_groups": 3, "override_reason": "总行要求"})  # 14 days hold 2 waves, not 3
    assert too_many.status_code == 400 and "stagger_groups" in str(too_many.json()["detail"])
    assert c.get(f"{URL}items/{item.pk}/release-check", {"stagger_groups": 3}).status_code == 400
    assert not WorkOrder.objects.filter(item=item).exists()
    assert post(c, url, {"stagger_groups": 2, "override_reason": "总行限期要求"}).status_code == 200
    orders = list(WorkOrder.objects.filter(item=item))
    assert len({wo.start_date for wo in orders}) == 2
    assert all(item.window_start <= wo.start_date <= wo.due_date <= item.window_end for wo in orders)


def test_a_blackout_needs_a_reason(api, login, coord_bank, approved):
    b = coord_bank
    item = approved(effort_hours=1)
    Blackout.objects.create(name="季末", start=item.window_start + timedelta(days=3),
                            end=item.window_start + timedelta(days=5))
    with pytest.raises(ValidationError, match="季末"):
        services.release_item(b.users["sec1"], item)
    c = api(b.users["sec1"])
    refused = post(c, f"{URL}items/{item.pk}/actions/release", {})
    assert refused.status_code == 400 and "季末" in str(refused.json()["detail"])
    page = login(b.users["sec1"])
    page.post(reverse("coordination:item_action", args=[item.pk, "release"]),
              {"version": item.version, "stagger_groups": "1", "override_reason": ""})
    assert Item.objects.get(pk=item.pk).status == ItemStatus.APPROVED
    assert post(c, f"{URL}items/{item.pk}/actions/release", {"override_reason": "监管检查要求季末前完成"}).status_code == 200
    assert Item.objects.get(pk=item.pk).releases.get().override_reason == "监管检查要求季末前完成"


def test_lower_urgency_work_yields_on_the_proposal(api, login, coord_bank, approved, released):
    b = coord_bank
    low = released(title="常规宣传", effort_hours=6, urgency="normal", override_reason="已与网点协商")
    urgent = approved(title="紧急风险提示", effort_hours=4, urgency="urgent")
    check = services.release_check(urgent)
    assert check["overloads"] and {o.outlet for o in check["overloads"]} >= {b.o11.pk}
    proposal = check["proposal"]
    assert [p["number"] for p in proposal] == [low.number]
    assert proposal[0]["new_start"] > urgent.window_end
    c = api(b.users["sec1"])
    shown = c.get(f"{URL}items/{urgent.pk}/release-check").json()["proposal"]
    assert [p["number"] for p in shown] == [low.number]
    # The API refuses what the page would not offer: an item not in the proposal; the outlet head.
    refused = post(c, f"{URL}items/{urgent.pk}/actions/make_room", {"yield_number": urgent.number})
    assert refused.status_code == 400 and "yield_number" in str(refused.json()["detail"])
    assert post(api(b.users["head11"]), f"{URL}items/{urgent.pk}/actions/make_room",
                {"yield_number": low.number}).status_code in (403, 404)
    page = login(b.users["sec1"]).get(urgent.get_absolute_url()).content.decode()
    assert "data-proposal" in page and low.number in page
    before = {wo.pk: wo.start_date for wo in WorkOrder.objects.filter(item=low)}
    response = login(b.users["sec1"]).post(reverse("coordination:item_action", args=[urgent.pk, "make_room"]),
                                           {"version": urgent.version, "yield_number": low.number})
    assert response.status_code == 302
    moved = [wo for wo in WorkOrder.objects.filter(item=low) if wo.start_date != before[wo.pk]]
    assert moved and all(wo.start_date == proposal[0]["new_start"] for wo in moved)
    after = services.release_check(urgent)
    # The lower-urgency work left the urgent window: what remains is the urgent item alone, nothing to move.
    assert sum(o.load for o in after["overloads"]) < sum(o.load for o in check["overloads"])
    assert after["proposal"] == []
    assert all(wo.due_date - wo.start_date == urgent.window_end - urgent.window_start for wo in moved)
