from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from branchops.core import clock
from branchops.core.models import TimelineEntry
from branchops.workforce import queries, services
from branchops.workforce.models import Mentorship, StaffSkill

pytestmark = pytest.mark.django_db


def test_certificate_states_follow_the_clock(wf):
    head, csm = wf.users["head11"], wf.staff["csm11"]
    today = clock.today()
    cert = services.issue_certificate(head, csm, certificate_type=wf.licence, issued_on=today - timedelta(days=30))
    assert cert.expires_on == services.add_months(today - timedelta(days=30), 36)
    assert queries.certificate_state(cert) == queries.VALID
    soon = services.issue_certificate(head, csm, certificate_type=wf.review_cert, issued_on=today - timedelta(days=700),
                                      expires_on=today + timedelta(days=10))
    assert queries.certificate_state(soon) == queries.EXPIRING
    # The window is the branch's setting; never stored on the certificate.
    services.save_settings(wf.users["sec1"], wf.branch, expiring_days=5)
    assert queries.certificate_state(soon) == queries.VALID
    with clock.frozen(clock.instant(today + timedelta(days=11))):
        assert queries.certificate_state(soon) == queries.EXPIRED
    services.revoke_certificate(head, cert, reason="资格复核不合格")
    cert.refresh_from_db()
    assert queries.certificate_state(cert) == queries.REVOKED
    assert TimelineEntry.objects.filter(verb="certificate_revoked", object_id=str(csm.pk)).exists()


def test_state_filter_matches_computed_state(wf):
    head, csm = wf.users["head11"], wf.staff["csm11"]
    today = clock.today()
    services.issue_certificate(head, csm, certificate_type=wf.licence, issued_on=today - timedelta(days=900),
                               expires_on=today - timedelta(days=1))
    services.issue_certificate(head, csm, certificate_type=wf.review_cert, issued_on=today,
                               expires_on=today + timedelta(days=20))
    sec = wf.users["sec1"]
    for state in queries.STATES:
        for c in queries.visible_certificates(sec, state=state):
            assert queries.certificate_state(c) == state
    assert queries.visible_certificates(sec, state="expired").count() == 1
    assert queries.visible_certificates(sec, state="expiring").count() == 1


def test_expired_certificate_no_longer_grants_the_skill(wf):
    head, csm = wf.users["head11"], wf.staff["csm11"]
    today = clock.today()
    with pytest.raises(ValidationError) as exc:
        services.grant_skill(head, csm, skill=wf.skill["smart_review"])
    assert "skill" in exc.value.message_dict
    services.issue_certificate(head, csm, certificate_type=wf.review_cert, issued_on=today - timedelta(days=10),
                               expires_on=today + timedelta(days=3))
    services.grant_skill(head, csm, skill=wf.skill["smart_review"])
    services.grant_skill(head, csm, skill=wf.skill["acceptance"])
    assert {s.skill.code for s in queries.effective_skills(csm)} == {"smart_review", "acceptance"}
    with clock.frozen(clock.instant(today + timedelta(days=4))):
        assert {s.skill.code for s in queries.effective_skills(csm)} == {"acceptance"}
        rows = {r["skill"].skill.code: r["counts"] for r in queries.skill_rows(csm)}
        assert rows == {"smart_review": False, "acceptance": True}


def test_grant_records_who_and_when_and_refuses_twice(wf):
    head, csm = wf.users["head11"], wf.staff["csm11"]
    granted = services.grant_skill(head, csm, skill=wf.skill["cash"])
    assert (granted.granted_by, granted.granted_on) == (head, clock.today())
    with pytest.raises(ValidationError):
        services.grant_skill(head, csm, skill=wf.skill["cash"])
    with pytest.raises(ValidationError) as exc:
        services.grant_skill(head, csm, skill=wf.skill["acceptance"], granted_on=clock.today() + timedelta(days=1))
    assert "granted_on" in exc.value.message_dict


def test_scope_and_four_eyes(wf):
    csm21 = wf.staff["csm21"]
    with pytest.raises(PermissionDenied):  # another outlet's head
        services.grant_skill(wf.users["head11"], csm21, skill=wf.skill["cash"])
    with pytest.raises(PermissionDenied):  # outlet staff manage nobody
        services.grant_skill(wf.users["csm11"], wf.staff["csm11b"], skill=wf.skill["cash"])
    with pytest.raises(PermissionDenied):  # nobody grants themselves
        services.grant_skill(wf.users["head11"], wf.staff["head11"], skill=wf.skill["cash"])
    with pytest.raises(PermissionDenied):  # the branch leader reads only
        services.grant_skill(wf.users["leader1"], csm21, skill=wf.skill["cash"])
    services.grant_skill(wf.users["sec1"], csm21, skill=wf.skill["cash"])


def test_personal_data_only_to_managers(wf):
    sec, head, own = wf.users["sec1"], wf.users["head11"], wf.users["csm11"]
    assert set(queries.visible_people(sec).values_list("staff_no", flat=True)) == {"CSM11", "CSM11B", "CSM12", "CSM21"}
    assert set(queries.visible_people(head).values_list("staff_no", flat=True)) == {"CSM11", "CSM11B"}
    assert set(queries.visible_people(own).values_list("staff_no", flat=True)) == {"CSM11"}
    assert not queries.visible_people(wf.users["rev1"]).exists()
    assert not queries.visible_people(wf.users["sb1mgr"]).exists()


def test_uncertified_list_with_deadline_and_coaching(wf):
    head = wf.users["head11"]
    names = {r["staff"].staff_no for r in queries.uncertified(head)}
    assert names == {"CSM11", "CSM11B"}
    services.set_certification_plan(head, wf.staff["csm11"], certificate_type=wf.licence,
                                    deadline=clock.today() + timedelta(days=30), coach=wf.staff["head11"],
                                    coaching="每周两次专项辅导")
    services.issue_certificate(head, wf.staff["csm11b"], certificate_type=wf.licence, issued_on=clock.today())
    rows = queries.uncertified(head)
    assert [(r["staff"].staff_no, r["plan"].coach.staff_no, r["overdue"]) for r in rows] == [("CSM11", "HEAD11", False)]
    with clock.frozen(clock.instant(clock.today() + timedelta(days=31))):
        assert queries.uncertified(head)[0]["overdue"] is True
    with pytest.raises(ValidationError) as exc:
        services.set_certification_plan(head, wf.staff["csm11"], certificate_type=wf.licence,
                                        deadline=clock.today() - timedelta(days=1))
    assert "deadline" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:  # a coach out of the head's reach
        services.set_certification_plan(head, wf.staff["csm11"], certificate_type=wf.licence,
                                        deadline=clock.today() + timedelta(days=3), coach=wf.staff["csm21"])
    assert "coach" in exc.value.message_dict


def _single_skill(wf, key="csm11"):
    head = wf.users["head11"]
    services.grant_skill(head, wf.staff[key], skill=wf.skill["acceptance"])
    return services.start_mentorship(head, wf.staff[key], mentor=wf.staff["csm11b" if key == "csm11" else "csm11"],
                                     rotation_plan="第1-4周智能审核岗，第5-8周客户维护岗",
                                     due_on=clock.today() + timedelta(days=60))


def test_mentor_rotate_convert_grants_the_core_skills(wf):
    head, csm = wf.users["head11"], wf.staff["csm11"]
    services.issue_certificate(head, csm, certificate_type=wf.review_cert, issued_on=clock.today())
    m = _single_skill(wf)
    services.log_practice(head, m, on=clock.today(), skill=wf.skill["smart_review"], hours=4)
    with pytest.raises(ValidationError):  # not yet examined and assessed
        services.convert(head, m)
    services.record_exam(head, m, on=clock.today(), score=85)
    services.record_assessment(head, m, on=clock.today(), passed=True, note="胜任")
    assert m in queries.visible_mentorships(head, due=True)
    services.convert(head, m)
    m.refresh_from_db()
    assert m.status == Mentorship.Status.CONVERTED and m.converted_by == head
    conv = StaffSkill.objects.filter(staff=csm, source=StaffSkill.Source.CONVERSION)
    assert {s.skill.code for s in conv} == {"smart_review", "maintenance"}
    assert all(s.granted_by == head for s in conv)
    assert TimelineEntry.objects.filter(verb="converted", object_id=str(csm.pk)).exists()
    assert m not in queries.visible_mentorships(head, due=True)
    with pytest.raises(ValidationError):  # closed
        services.log_practice(head, m, on=clock.today(), skill=wf.skill["cash"], hours=1)


def test_convert_refused_without_the_gating_certificate(wf):
    head = wf.users["head11"]
    m = _single_skill(wf)
    services.record_exam(head, m, on=clock.today(), score=90)
    services.record_assessment(head, m, on=clock.today(), passed=True)
    with pytest.raises(ValidationError) as exc:
        services.convert(head, m)
    assert "智能审核" in str(exc.value)
    assert not StaffSkill.objects.filter(staff=m.staff, source=StaffSkill.Source.CONVERSION).exists()


def test_failed_exam_does_not_convert_and_mentorship_rules(wf):
    head = wf.users["head11"]
    m = _single_skill(wf)
    services.record_exam(head, m, on=clock.today(), score=40)
    services.record_assessment(head, m, on=clock.today(), passed=True)
    m.refresh_from_db()
    assert m.exam_passed is False and not m.ready_to_convert
    with pytest.raises(ValidationError):
        services.convert(head, m)
    with pytest.raises(ValidationError):  # a second open mentorship
        services.start_mentorship(head, m.staff, mentor=wf.staff["head11"], rotation_plan="x",
                                  due_on=clock.today() + timedelta(days=9))
    with pytest.raises(ValidationError) as exc:
        services.record_exam(head, m, on=clock.today(), score=101)
    assert "score" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.log_practice(head, m, on=clock.today() - timedelta(days=1), skill=wf.skill["cash"], hours=2)
    assert "on" in exc.value.message_dict
    services.cancel_mentorship(head, m, reason="调离客服岗")
    m.refresh_from_db()
    assert m.status == Mentorship.Status.CANCELLED


def test_only_single_skill_managers_start(wf):
    head, csm = wf.users["head11"], wf.staff["csm11"]
    services.grant_skill(head, csm, skill=wf.skill["acceptance"])
    services.grant_skill(head, csm, skill=wf.skill["maintenance"])
    with pytest.raises(ValidationError):
        services.start_mentorship(head, csm, mentor=wf.staff["csm11b"], rotation_plan="x",
                                  due_on=clock.today() + timedelta(days=9))
    with pytest.raises(ValidationError) as exc:
        services.start_mentorship(head, wf.staff["csm11b"], mentor=wf.staff["csm11b"], rotation_plan="",
                                  due_on=clock.today())
    assert {"mentor", "rotation_plan", "due_on"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError):  # not a customer service manager
        services.start_mentorship(head, wf.staff["staff11"], mentor=wf.staff["csm11b"], rotation_plan="x",
                                  due_on=clock.today() + timedelta(days=9))


def test_overdue_mentorship_is_due(wf):
    m = _single_skill(wf)
    with clock.frozen(clock.instant(m.due_on + timedelta(days=1))):
        assert m in queries.visible_mentorships(wf.users["head11"], due=True)


def test_cross_post_figures_without_ticket_logs(wf, settings, tmp_path):
    settings.BRANCHOPS_QUEUE_DIR = tmp_path
    head = wf.users["sec1"]
    for key in ("csm11", "csm11b"):
        services.grant_skill(head, wf.staff[key], skill=wf.skill["acceptance"])
    services.grant_skill(head, wf.staff["csm11"], skill=wf.skill["maintenance"])
    rows, total = queries.cross_post(head, clock.today() - timedelta(days=30), clock.today())
    hub = next(r for r in rows if r.code == "SZ0101")
    assert (hub.managers, hub.two_core, hub.two_core_share) == (2, 1, 0.5)
    assert hub.deep is None and hub.forex is None and hub.deep_share is None  # missing, never zero
    assert (total.managers, total.two_core) == (4, 1)


def test_settings_refuse_bad_input(wf):
    with pytest.raises(ValidationError):
        services.save_settings(wf.users["sec1"], wf.branch, expiring_days=0)
    with pytest.raises(ValidationError):
        services.save_settings(wf.users["sec1"], wf.o11, expiring_days=30)
    with pytest.raises(PermissionDenied):
        services.save_settings(wf.users["head11"], wf.branch, expiring_days=30)
    assert queries.expiring_days(wf.branch) == 60
