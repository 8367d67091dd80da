"""Inspections through the services: scheduling, the phone form's rules (answers, photos on failed
items), scores and vetoes, findings opening a rectification, re-inspection closing it, frozen
checklists."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from branchops.cases.models import Case, CaseType, Status
from branchops.core import clock
from branchops.org.roles import Role
from branchops.service import services
from branchops.service.models import ChecklistTemplate, Finding, Inspection, InspectionResult

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def png(name="p.png", data=PNG):
    return SimpleUploadedFile(name, data, content_type="image/png")


@pytest.fixture
def insp(bank, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    bank.person("sup2", bank.sb2, [Role.SERVICE_SUPERVISOR])
    bank.template = ChecklistTemplate.objects.get(code="hall", version=1)
    bank.items = services.template_items(bank.template)
    return bank


def all_pass(bank, **over):
    answers = {i.code: "pass" for i in bank.items}
    answers.update(over)
    return answers


def schedule(bank, outlet=None, who="sb1mgr", kind="on_site", days=0):
    return services.schedule_inspection(bank.users["sec1"], outlet=outlet or bank.o11, supervisor=bank.users[who],
                                        planned_on=clock.today() + timedelta(days=days), inspection_type=kind)


def test_default_checklist_holds_the_seed_lists(insp):
    sections = list(insp.template.sections.values_list("name", flat=True))
    assert sections == ["四不准", "四必须", "八点服务法", "五个一（普通区）", "七个一（贵宾区）", "厅堂岗位", "6S管理"]
    texts = {i.text for i in insp.items}
    assert {"1号岗（大堂引导）不空岗", "2号岗（取号分流）不空岗", "不推诿拒办业务", "一杯茶水"} <= texts
    assert any(i.veto for i in insp.items) and any(i.na_allowed for i in insp.items)


def test_schedule_refuses_bad_fields(insp):
    sec = insp.users["sec1"]
    with pytest.raises(ValidationError) as err:
        services.schedule_inspection(sec, outlet=insp.sb1, supervisor=insp.users["head11"],
                                     planned_on=clock.today() - timedelta(days=1), inspection_type="drone")
    assert set(err.value.message_dict) == {"outlet", "supervisor", "planned_on", "inspection_type"}
    with pytest.raises(ValidationError) as err:  # sup2 covers sub-branch 2 only
        schedule(insp, outlet=insp.o11, who="sup2")
    assert "supervisor" in err.value.message_dict
    with pytest.raises(PermissionDenied):
        services.schedule_inspection(insp.users["head11"], outlet=insp.o11, supervisor=insp.users["sb1mgr"],
                                     planned_on=clock.today(), inspection_type="video")
    assert not Inspection.objects.exists()


def test_submit_all_pass_scores_100_and_opens_nothing(insp):
    inspection = schedule(insp)
    done = services.submit_inspection(insp.users["sb1mgr"], inspection, answers=all_pass(insp))
    assert done.status == Inspection.Status.SUBMITTED and float(done.score) == 100.0 and not done.vetoed
    assert not Finding.objects.exists() and not Case.objects.exists()


def test_failed_item_without_photo_is_refused_naming_it(insp):
    inspection = schedule(insp)
    answers = all_pass(insp, l1="fail", s1="fail")
    services.add_photo(insp.users["sb1mgr"], inspection, "s1", png())
    with pytest.raises(ValidationError) as err:
        services.submit_inspection(insp.users["sb1mgr"], inspection, answers=answers)
    message = err.value.message_dict["photos"][0]
    assert "l1" in message and "1号岗" in message and "s1" not in message
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.SCHEDULED and not InspectionResult.objects.exists()


def test_unanswered_and_bad_na_are_named(insp):
    inspection = schedule(insp)
    answers = all_pass(insp, fn1="na")  # fn1 does not allow N/A
    del answers["g1"]
    with pytest.raises(ValidationError) as err:
        services.submit_inspection(insp.users["sb1mgr"], inspection, answers=answers)
    joined = " ".join(err.value.message_dict["answers"])
    assert "fn1" in joined and "g1" in joined


def test_only_the_assigned_supervisor_submits(insp):
    inspection = schedule(insp)
    insp.person("sup1b", insp.sb1, [Role.SERVICE_SUPERVISOR])
    for who in ("sup1b", "sec1", "head11"):
        with pytest.raises(PermissionDenied):
            services.submit_inspection(insp.users[who], inspection, answers=all_pass(insp))
        with pytest.raises(PermissionDenied):
            services.add_photo(insp.users[who], inspection, "l1", png())


def test_photo_must_be_an_image_within_the_limit(insp, settings):
    inspection = schedule(insp)
    sup = insp.users["sb1mgr"]
    for upload in (png("x.pdf"), png("fake.png", b"%PDF-1.4 not an image"),
                   png("big.png", PNG + b"\x00" * services.MAX_PHOTO_BYTES)):
        with pytest.raises(ValidationError) as err:
            services.add_photo(sup, inspection, "l1", upload)
        assert "file" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.add_photo(sup, inspection, "nope", png())
    assert "item" in err.value.message_dict
    assert not inspection.photos.exists()


def test_findings_open_a_rectification_and_reinspection_closes_it(insp):
    sup = insp.users["sb1mgr"]
    inspection = schedule(insp)
    answers = all_pass(insp, fn1="fail", s1="fail", fm3="na")
    for code in ("fn1", "s1"):
        services.add_photo(sup, inspection, code, png())
    done = services.submit_inspection(sup, inspection, answers=answers, notes={"fn1": "拒办转账"})
    assert done.vetoed  # fn1 is a veto item
    weights = {i.code: float(i.weight) for i in insp.items}
    applicable = sum(w for c, w in weights.items() if c != "fm3")
    assert float(done.score) == pytest.approx(round(100 * (applicable - weights["fn1"] - weights["s1"]) / applicable, 2))
    findings = {f.item.code: f for f in done.findings.all()}
    assert set(findings) == {"fn1", "s1"}
    assert findings["fn1"].severity == "serious" and findings["fn1"].note == "拒办转账"
    assert findings["fn1"].deadline == clock.today() + timedelta(days=5)
    assert findings["s1"].deadline == clock.today() + timedelta(days=20)
    # One rectification case per finding, due the finding's deadline (限期整改).
    first, case = findings["fn1"].rectification, findings["s1"].rectification
    assert first.case_type == CaseType.RECTIFICATION and first.institution == insp.o11 and first != case
    assert first.resolution_due == findings["fn1"].deadline and case.resolution_due == findings["s1"].deadline
    assert "fn1" in first.description and "拒办转账" in first.description

    # The first finding passes re-inspection: its case closes, s1's stays open.
    again = services.schedule_reinspection(insp.users["sec1"], findings["fn1"], supervisor=sup, planned_on=clock.today())
    with pytest.raises(ValidationError):  # one scheduled re-inspection per finding
        services.schedule_reinspection(insp.users["sec1"], findings["fn1"], supervisor=sup, planned_on=clock.today())
    with pytest.raises(ValidationError) as err:  # a re-inspection answers its finding's item only
        services.submit_inspection(sup, again, answers=all_pass(insp))
    assert "answers" in err.value.message_dict
    services.submit_inspection(sup, again, answers={"fn1": "pass"})
    first.refresh_from_db()
    case.refresh_from_db()
    assert first.status == Status.CLOSED and case.status != Status.CLOSED
    assert Finding.objects.get(pk=findings["fn1"].pk).closed_at is not None

    # A failing re-inspection keeps s1 open (and needs its photo); a passing one closes the case.
    fail = services.schedule_reinspection(insp.users["sec1"], findings["s1"], supervisor=sup, planned_on=clock.today())
    with pytest.raises(ValidationError):
        services.submit_inspection(sup, fail, answers={"s1": "fail"})
    services.add_photo(sup, fail, "s1", png())
    services.submit_inspection(sup, fail, answers={"s1": "fail"})
    assert Finding.objects.get(pk=findings["s1"].pk).closed_at is None
    last = services.schedule_reinspection(insp.users["sec1"], findings["s1"], supervisor=sup, planned_on=clock.today())
    services.submit_inspection(sup, last, answers={"s1": "pass"})
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.rectification.verified_at is not None
    with pytest.raises(ValidationError):
        services.schedule_reinspection(insp.users["sec1"], findings["s1"], supervisor=sup, planned_on=clock.today())
    assert Inspection.objects.filter(reinspects__isnull=True).count() == 1  # re-inspections open no findings
    assert Case.objects.count() == 2


def test_used_checklist_is_frozen_and_a_new_version_leaves_the_past_alone(insp):
    sec = insp.users["sec1"]
    item = next(i for i in insp.items if i.code == "l1")
    services.update_checklist_item(sec, item, weight=6)  # not used yet: editable
    inspection = schedule(insp)
    with pytest.raises(ValidationError):
        services.update_checklist_item(sec, item, weight=7)
    with pytest.raises(PermissionDenied):
        services.update_checklist_item(insp.users["head11"], item, weight=7)
    new = services.new_template_version(sec, insp.template, clock.today() + timedelta(days=1))
    assert new.version == 2 and len(services.template_items(new)) == len(insp.items)
    new_l1 = next(i for i in services.template_items(new) if i.code == "l1")
    services.update_checklist_item(sec, new_l1, weight=9)
    assert inspection.template_id == insp.template.pk
    assert float(next(i for i in services.template_items(insp.template) if i.code == "l1").weight) == 6
    assert services.template_for(clock.today() + timedelta(days=2)) == new
    assert services.template_for(clock.today()) == insp.template
