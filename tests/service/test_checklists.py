"""Checklist templates edited as data: a version no inspection used changes in place; editing a used
one makes a new version and past inspections keep theirs — their scores never change. The page and
the API refuse alike."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from branchops.core import clock
from branchops.service import inspecting, services
from branchops.service.models import ChecklistItem, ChecklistTemplate, Inspection

pytestmark = pytest.mark.django_db
URL = "/api/v1/service/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def item(template, code) -> ChecklistItem:
    return ChecklistItem.objects.get(section__template=template, code=code)


def inspect(b, failed=("l1",)) -> Inspection:
    sup = b.users["sb1mgr"]
    inspection = services.schedule_inspection(b.users["sec1"], outlet=b.o11, supervisor=sup,
                                              planned_on=clock.today(), inspection_type="video")
    for code in failed:
        services.add_photo(sup, inspection, code, SimpleUploadedFile(f"{code}.png", PNG))
    answers = {i.code: "pass" for i in services.template_items(inspection.template)} | dict.fromkeys(failed, "fail")
    return services.submit_inspection(sup, inspection, answers=answers)


def rescored(inspection) -> float:
    """The inspection scored again from its stored answers and the items of the version it used."""
    items = [inspecting.Item(r.item.code, float(r.item.weight), r.item.na_allowed, r.item.veto)
             for r in inspection.results.select_related("item")]
    return inspecting.score(items, {r.item.code: r.answer for r in inspection.results.select_related("item")}).total


def test_unused_version_changes_in_place(world):
    b = world
    changed = services.edit_checklist_item(b.users["sec1"], item(b.v1, "l1"), weight="8", text="1号岗必须有人")
    assert changed.section.template == b.v1 and float(changed.weight) == 8
    assert ChecklistTemplate.objects.filter(code="hall").count() == 1


def test_editing_a_used_version_makes_a_new_one_and_never_changes_a_past_score(world):
    b = world
    past = inspect(b, failed=("l1",))
    score = float(past.score)
    assert rescored(past) == score

    changed = services.edit_checklist_item(b.users["admin1"], item(b.v1, "l1"), weight="20", veto=True)
    v2 = changed.section.template
    assert v2.version == 2 and v2.effective_from == clock.today() and float(changed.weight) == 20 and changed.veto
    assert float(item(b.v1, "l1").weight) == 5 and not item(b.v1, "l1").veto  # v1 untouched
    past.refresh_from_db()
    assert past.template == b.v1 and float(past.score) == score and not past.vetoed
    assert rescored(past) == score  # its results still point at v1's items
    # The next inspection is scheduled on the new version and scored with the new weight.
    later = inspect(b, failed=("l1",))
    assert later.template == v2 and later.vetoed and float(later.score) < score

    # v1 is superseded: its edit is refused (edit v2); v2, now used, versions again.
    with pytest.raises(ValidationError):
        services.edit_checklist_item(b.users["sec1"], item(b.v1, "l2"), weight="9")
    v3 = services.edit_checklist_item(b.users["sec1"], item(v2, "l2"), weight="9",
                                      effective_from=clock.today() + timedelta(days=7)).section.template
    assert v3.version == 3 and services.template_for(clock.today()) == v2
    assert services.template_for(clock.today() + timedelta(days=7)) == v3


def test_only_checklist_keepers_edit_and_bad_values_change_nothing(world):
    b = world
    l1 = item(b.v1, "l1")
    for who in ("head11", "sb1mgr", "leader1"):
        with pytest.raises(PermissionDenied):
            services.edit_checklist_item(b.users[who], l1, weight="9")
    with pytest.raises(ValidationError) as err:
        services.edit_checklist_item(b.users["sec1"], l1, weight="0")
    assert "weight" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.edit_checklist_item(b.users["sec1"], l1, weight="9", effective_from=clock.today() - timedelta(days=1))
    assert "effective_from" in err.value.message_dict
    assert float(item(b.v1, "l1").weight) == 5


def test_pages_edit_and_version(world, login):
    b = world
    inspect(b)
    sec = login(b.users["sec1"])
    listing = sec.get("/service/checklists/").content.decode()
    assert 'data-checklist="hall-1"' in listing
    page = sec.get(f"/service/checklists/{b.v1.pk}/").content.decode()
    assert "data-frozen" in page and f"/service/checklists/{b.v1.pk}/items/l1/" in page
    body = {"text": "1号岗（大堂引导）不空岗", "weight": "7", "severity": "serious", "na_allowed": ""}
    made = sec.post(f"/service/checklists/{b.v1.pk}/items/l1/", body)
    v2 = ChecklistTemplate.objects.get(code="hall", version=2)
    assert made.status_code == 302 and made["Location"].startswith(f"/service/checklists/{v2.pk}/")
    assert item(v2, "l1").severity == "serious" and float(item(b.v1, "l1").weight) == 5
    v2_page = sec.get(f"/service/checklists/{v2.pk}/").content.decode()
    assert "l1: weight: 5.00 → 7" in v2_page  # the change is in the version's history
    # The outlet reads, never edits.
    head = login(b.users["head11"])
    assert "/items/l1/" not in head.get(f"/service/checklists/{v2.pk}/").content.decode()
    assert head.post(f"/service/checklists/{v2.pk}/items/l1/", body).status_code == 403
    sec = login(b.users["sec1"])
    bad = sec.post(f"/service/checklists/{v2.pk}/items/l1/", body | {"weight": "-1"}, follow=True)
    assert "alert-danger" in bad.content.decode() and float(item(v2, "l1").weight) == 7


def test_api_refuses_what_the_page_refuses(world, api):
    b = world
    past = inspect(b)
    listed = api(b.users["head11"]).get(f"{URL}checklists").json()
    inspection_lists = [(c["code"], c["version"], c["in_use"]) for c in listed if not c["code"].startswith("routine_")]
    assert inspection_lists == [("hall", 1, True)]  # the outlet routines' checklists are listed beside it
    detail = api(b.users["head11"]).get(f"{URL}checklists/{b.v1.pk}").json()
    assert detail["can_edit"] is False and {"l1", "s6"} <= {i["code"] for i in detail["checklist_items"]}
    url = f"{URL}checklists/{b.v1.pk}/items/l1"
    assert api(b.users["head11"]).patch(url, {"weight": 9}, content_type="application/json").status_code == 403
    assert api(b.users["sec1"]).patch(url, {"weight": 0}, content_type="application/json").status_code in (400, 422)
    assert api(b.users["sec1"]).patch(f"{URL}checklists/{b.v1.pk}/items/zz", {"weight": 9},
                                      content_type="application/json").status_code == 404
    past_day = (clock.today() - timedelta(days=3)).isoformat()
    refused = api(b.users["sec1"]).patch(url, {"weight": 9, "effective_from": past_day},
                                         content_type="application/json")
    assert refused.status_code == 400 and "effective_from" in refused.content.decode()
    assert ChecklistTemplate.objects.filter(code="hall").count() == 1  # no new version was made
    made = api(b.users["sec1"]).patch(url, {"weight": 9}, content_type="application/json")
    assert made.status_code == 200, made.content
    assert made.json()["version"] == 2 and made.json()["in_use"] is False
    assert next(i for i in made.json()["checklist_items"] if i["code"] == "l1")["weight"] == 9
    past.refresh_from_db()
    assert past.template_id == b.v1.pk
