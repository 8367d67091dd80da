"""Org services: validation, tree maintenance, permissions, audit."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from branchops.org import services
from branchops.org.models import Institution, Level
from branchops.org.roles import Role


def test_level_must_sit_below_parent(bank):
    with pytest.raises(ValidationError) as exc:
        services.save_institution(None, code="X1", name="错层", level=Level.SUB_BRANCH, parent=bank.o11)
    assert "parent" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.save_institution(None, code="X2", name="无上级", level=Level.OUTLET)
    assert not Institution.objects.filter(code__in=["X1", "X2"]).exists()


def test_only_outlets_have_clusters_and_one_hub_per_cluster(bank):
    with pytest.raises(ValidationError) as exc:
        services.save_institution(None, bank.o12, is_hub=True)
    assert "is_hub" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.save_institution(None, bank.sb2, cluster=bank.cluster)


def test_moving_a_sub_branch_moves_its_subtree(bank):
    tier2 = services.save_institution(None, code="SZ9", name="二级分行", level=Level.TIER2_BRANCH, parent=bank.branch)
    services.save_institution(None, bank.sb1, parent=tier2)
    bank.o11.refresh_from_db()
    assert bank.o11.path == f"{bank.branch.path}{tier2.pk}/{bank.sb1.pk}/{bank.o11.pk}/"
    assert bank.o11.depth == 4
    # A staff member of the sub-branch still sees the moved outlets.
    from django.contrib.auth import get_user_model

    from branchops.org import queries

    user = get_user_model().objects.get(username="sb1mgr")  # as on the next request
    assert set(queries.institutions(user).values_list("code", flat=True)) == {
        "SZ01", "SZ0101", "SZ0102"}


def test_cannot_move_under_own_descendant(bank):
    with pytest.raises(ValidationError):
        services.save_institution(None, bank.sb1, parent=bank.o11)


def test_outlet_staff_cannot_change_org(bank):
    with pytest.raises(PermissionDenied):
        services.save_institution(bank.users["head11"], bank.o11, name="改名")
    with pytest.raises(PermissionDenied):
        services.save_staff(bank.users["staff11"], bank.users["staff11"].staff, phone="1")


def test_admin_change_is_audited_with_before_value(bank):
    admin = bank.users["admin1"]
    services.save_institution(admin, bank.o21, name="罗湖新网点", counters=6)
    rec = bank.o21.history.first()
    assert rec.history_user == admin and rec.name == "罗湖新网点"
    assert rec.prev_record.name == "罗湖网点"
    from branchops.core.audit import timeline

    event = timeline(bank.o21)[0]
    assert event.action == "updated" and event.who == "admin1"
    assert {(c.old, c.new) for c in event.changes} == {("罗湖网点", "罗湖新网点"), ("4", "6")}


def test_unchanged_save_writes_nothing(bank):
    before = bank.o21.history.count()
    services.save_institution(None, bank.o21, name=bank.o21.name)
    assert bank.o21.history.count() == before


def test_roles_and_department_scope(bank):
    person = bank.users["staff21"].staff
    services.set_roles(None, person, [Role.OUTLET_HEAD, Role.OUTLET_STAFF])
    assert set(person.user.groups.values_list("name", flat=True)) == {"outlet_head", "outlet_staff"}
    with pytest.raises(ValidationError):
        services.set_roles(None, person, ["wizard"])
    # A department of another branch's subtree cannot be set.
    other = services.save_department(None, institution=bank.sb1, code="SB1OPS", name="福田运营")
    with pytest.raises(ValidationError):
        services.save_staff(None, person, department=other)


def test_business_hours(bank):
    from datetime import time

    services.set_business_hours(None, bank.o11, {0: (time(9), time(17)), 5: services.parse_hours("09:30-16:00")})
    hours = {h.weekday: h for h in bank.o11.business_hours.all()}
    assert hours[0].opens_at == time(9) and hours[5].closes_at == time(16)
    assert hours[6].is_closed
    with pytest.raises(ValidationError):
        services.parse_hours("17:00-09:00")
    with pytest.raises(ValidationError):
        services.parse_hours("全天")
    with pytest.raises(ValidationError):
        services.set_business_hours(None, bank.sb1, {})
