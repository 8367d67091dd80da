"""Issue 17: an item's targets follow its chosen mode — choices of another mode are refused (service,
API and form), never silently ignored — and a draft previews its pre-check before it is submitted."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from branchops.coordination import services
from branchops.coordination.models import Item, ItemAttachment
from tests.coordination.test_api import URL, item_payload, post


def test_clusters_ticked_beside_all_outlets_are_refused(coord_bank, draft):
    b = coord_bank
    with pytest.raises(ValidationError) as exc:
        draft(target_mode="all", target_clusters=[b.cluster])
    assert "target_clusters" in exc.value.error_dict
    assert not Item.objects.exists()  # nothing drafted
    item = draft(target_mode="by_cluster", target_clusters=[b.cluster])
    with pytest.raises(ValidationError) as exc:
        services.save_item(b.users["pfb1"], item, target_mode="list", target_list=[b.o21], target_clusters=[b.cluster],
                           expected_version=item.version)
    assert set(exc.value.error_dict) == {"target_clusters"}
    item.refresh_from_db()
    assert item.target_mode == "by_cluster" and list(item.target_clusters.all()) == [b.cluster]


def test_changing_the_mode_clears_the_old_choices(coord_bank, draft):
    b = coord_bank
    item = draft(target_mode="by_cluster", target_clusters=[b.cluster])
    item = services.save_item(b.users["pfb1"], item, target_mode="all", expected_version=item.version)
    assert not item.target_clusters.exists()
    assert item.outlets.count() == 3  # every outlet of the branch


def test_the_api_refuses_mixed_targets_naming_the_field(api, coord_bank):
    c = api(coord_bank.users["pfb1"])
    bad = post(c, f"{URL}items", item_payload(target_mode="all", cluster_codes=["C01"]))
    assert bad.status_code == 400 and "target_clusters" in bad.json()["detail"], bad.content
    assert not Item.objects.exists()
    item = post(c, f"{URL}items", item_payload(target_mode="by_cluster", cluster_codes=["C01"])).json()
    bad = c.patch(f"{URL}items/{item['id']}", {"version": item["version"], "target_mode": "list",
                                                 "outlet_ids": [coord_bank.o21.pk], "cluster_codes": ["C01"]},
                  content_type="application/json")
    assert bad.status_code == 400 and set(bad.json()["detail"]) == {"target_clusters"}, bad.content


def test_the_form_shows_the_refusal_on_the_clusters(login, coord_bank):
    b = coord_bank
    c = login(b.users["pfb1"])
    data = {k: v for k, v in item_payload().items()}
    data.update(target_mode="all", target_clusters=[b.cluster.pk], customer_facing="on")
    page = c.post(reverse("coordination:item_new"), data)
    assert page.status_code == 200 and not Item.objects.exists()
    assert page.context["form"].errors["target_clusters"]
    form = c.get(reverse("coordination:item_new")).content.decode()
    assert "data-targets" in form and "branchops/item-form.js" in form  # modes shown one at a time, searchable


def test_a_draft_previews_its_precheck(login, api, coord_bank, draft):
    b = coord_bank
    item = draft()
    page = login(b.users["pfb1"]).get(item.get_absolute_url()).content.decode()
    assert 'id="precheck" data-preview' in page and 'data-finding="no_script"' in page
    assert {"no_script", "no_training"} <= {f["code"] for f in api(b.users["pfb1"]).get(
        f"{URL}items/{item.pk}").json()["precheck"]}
    script = SimpleUploadedFile("话术.txt", "您好，欢迎使用新版手机银行".encode(), content_type="text/plain")
    services.add_attachment(b.users["pfb1"], item, ItemAttachment.Kind.SCRIPT, script)
    page = login(b.users["pfb1"]).get(item.get_absolute_url()).content.decode()
    assert 'data-finding="no_script"' not in page and 'data-finding="no_training"' in page  # fixed before submitting
    item.refresh_from_db()
    assert item.precheck == []  # a preview: nothing recorded until the item is submitted
