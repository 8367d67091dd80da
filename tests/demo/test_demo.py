"""`branchops demo`: counts, structure, determinism, idempotence, sign-ins, and the DEBUG guard.

The demo organisation is built once for the module (inside a transaction rolled back at the end),
each test runs in its own savepoint on top of it.
"""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q
from django.http import HttpRequest

from branchops.core.models import TimelineEntry
from branchops.demo.data import DEMO_ACCOUNTS, make_plan
from branchops.org.models import (
    BusinessHours,
    Cluster,
    Department,
    Institution,
    Level,
    OutletType,
    Post,
    Staff,
)
from branchops.org.roles import Role, user_roles

HISTORY_MODELS = [Institution, Staff, Department, Cluster, BusinessHours, OutletType, Post]


@pytest.fixture(scope="module")
def demo(demo_part):
    return demo_part  # the counts of the package's one build_demo()


def snapshot():
    institutions = sorted(
        Institution.objects.values_list("code", "name", "parent__code", "cluster__code", "is_hub")
    )
    roles = {}
    for user_id, group in get_user_model().groups.through.objects.values_list("user_id", "group__name"):
        roles.setdefault(user_id, []).append(group)
    staff = sorted(
        (no, name, inst, post, tuple(sorted(roles.get(user_id, []))), username)
        for no, name, inst, post, user_id, username in Staff.objects.values_list(
            "staff_no", "name", "institution__code", "post__code", "user_id", "user__username"
        )
    )
    hours = sorted(BusinessHours.objects.values_list("institution__code", "weekday", "opens_at", "closes_at"))
    departments = sorted(Department.objects.values_list("code", "name", "is_business", "is_review", "is_secretariat"))
    return institutions, staff, hours, departments


def record_counts():
    counts = {model.__name__: model.history.count() for model in HISTORY_MODELS}
    counts["timeline"] = TimelineEntry.objects.count()
    counts["users"] = get_user_model().objects.count()
    return counts


def test_plan_is_deterministic():
    assert make_plan() == make_plan()


@pytest.mark.django_db
def test_counts_in_range(demo):
    assert demo["sub_branches"] == 8
    assert 55 <= demo["outlets"] <= 65
    assert 550 <= demo["people"] <= 650
    assert demo["review_departments"] == 5
    assert demo["clusters"] >= 10
    assert demo["outlets_in_clusters"] < demo["outlets"]  # a few outlets stay outside any cluster
    assert Institution.objects.filter(level=Level.HEAD_OFFICE).get().code == "HO"
    assert Institution.objects.filter(level=Level.TIER1_BRANCH).get().name == "中国XX银行深圳分行"


@pytest.mark.django_db
def test_departments(demo):
    review = set(Department.objects.filter(is_review=True).values_list("name", flat=True))
    assert review == {"办公室", "内控合规部", "法律事务部", "网络金融部（线上运营中心）", "金融科技部"}
    secretariat = Department.objects.get(is_secretariat=True)
    assert secretariat.name == "运行管理部" and secretariat.is_business
    assert {"个人金融业务部", "银行卡业务部", "消费者权益保护部"} <= set(
        Department.objects.filter(is_business=True).values_list("name", flat=True)
    )


@pytest.mark.django_db
def test_outlets_are_complete_and_clusters_are_1_plus_n(demo):
    outlets = Institution.objects.filter(level=Level.OUTLET).select_related("parent", "outlet_type")
    for outlet in outlets:
        assert outlet.outlet_type_id and outlet.address.startswith("深圳市") and outlet.phone.startswith("0755-")
        assert 3 <= outlet.counters <= 12 and 2 <= outlet.smart_devices <= 10
        assert outlet.parent.level == Level.SUB_BRANCH
    hours = BusinessHours.objects.filter(institution__level=Level.OUTLET)
    assert hours.count() == 7 * outlets.count()
    assert not hours.filter(weekday__lt=5, opens_at__isnull=True).exists()  # open Monday to Friday
    assert hours.filter(weekday=5, opens_at__isnull=False).exists()
    assert hours.filter(weekday=6, opens_at__isnull=False, institution__outlet_type__code="flagship").exists()

    for cluster in Cluster.objects.annotate(
        hubs=Count("outlets", filter=Q(outlets__is_hub=True)), size=Count("outlets")
    ):
        assert cluster.hubs == 1 and 3 <= cluster.size <= 5, cluster.name
        assert set(cluster.outlets.values_list("parent_id", flat=True)) == {cluster.institution_id}

    staffed = Staff.objects.filter(institution__level=Level.OUTLET)
    per_outlet = staffed.values("institution").annotate(
        heads=Count("id", filter=Q(post__code="outlet_head")),
        supervisors=Count("id", filter=Q(post__code="operations_supervisor")),
        csms=Count("id", filter=Q(post__code="customer_service_manager")),
        tellers=Count("id", filter=Q(post__code="teller")),
    )
    assert len(per_outlet) == outlets.count()
    for row in per_outlet:
        assert row["heads"] == 1 and row["supervisors"] == 1
        assert 2 <= row["csms"] <= 4 and 2 <= row["tellers"] <= 5


@pytest.mark.django_db
def test_second_run_changes_nothing(demo, settings):
    before = snapshot()
    settings.DEBUG = True  # no --force needed in development
    # The first run adds the parts built on the organisation alone (public phones, the workforce).
    call_command("demo", "--no-cases", "--no-coordination", "--no-tickets", "--quiet")
    assert snapshot() == before
    records = record_counts()
    out = StringIO()
    call_command("demo", "--no-cases", "--no-coordination", "--no-tickets", stdout=out)
    assert snapshot() == before
    assert record_counts() == records
    text = out.getvalue()
    for username, _role, _description in DEMO_ACCOUNTS:
        assert username in text
    assert settings.BRANCHOPS_DEMO_PASSWORD in text and "福田支行营业部" in text


@pytest.mark.django_db
def test_every_role_has_a_demo_sign_in(demo, client, settings):
    assert {str(role) for _u, role, _d in DEMO_ACCOUNTS} == set(Role.values)
    for username, role, _description in DEMO_ACCOUNTS:
        assert client.login(request=HttpRequest(), username=username, password=settings.BRANCHOPS_DEMO_PASSWORD), username
        user = get_user_model().objects.get(username=username)
        assert role in user_roles(user)
        client.logout()
    head, staff = (Staff.objects.get(user__username=u) for u in ("outlet_head", "outlet_staff"))
    assert head.institution_id == staff.institution_id and head.institution.is_hub
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    client.force_login(admin)
    assert client.get("/admin/").status_code == 200
    # Everyone else has no usable password.
    others = get_user_model().objects.exclude(username__in=[u for u, _r, _d in DEMO_ACCOUNTS])
    assert others.exists() and not any(u.has_usable_password() for u in others[:50])


def test_refuses_without_force_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo", "--no-cases", "--no-coordination", "--no-tickets", "--quiet")
