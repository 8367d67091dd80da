"""Shared fixtures. Data is set up through the services, as users would create it.

Time: every test but the browser journeys runs on the core clock, moved to 10:00 (Asia/Shanghai) of
the run's day — the real today, or `BRANCHOPS_TEST_TODAY=YYYY-MM-DD` — and ticking from there. Tests
marked `date_sensitive` run once more on each of `SHIFTED_DAYS`; a test (or module) marked
`clock_at("YYYY-MM-DD")` is about one calendar situation and always runs on that day (a date-sensitive
test in such a module still runs on its days). Write dates relative to the clock
(`ago`, `ahead`, `clock.today()`), or freeze it (`clock.frozen`) when a test is about one calendar
situation; never compare a fixed date with "now".
"""

import os
from datetime import date, timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.utils import translation

from branchops.core import clock
from branchops.org import services as org
from branchops.org.models import Level, OutletType, Post
from branchops.org.roles import Role

PASSWORD = "Test-pass-2026!"

# Spring Festival (in the statutory calendar), a mid-year end of month, a leap day two years ahead.
SHIFTED_DAYS = ["2026-02-17", "2027-06-30", "2028-02-29"]


def run_day() -> date:
    """The day the whole run is moved to: BRANCHOPS_TEST_TODAY, else the real today."""
    value = os.environ.get("BRANCHOPS_TEST_TODAY", "").strip()
    if not value:
        return clock.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise pytest.UsageError(f"BRANCHOPS_TEST_TODAY must be YYYY-MM-DD, not {value!r}") from None


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("date_sensitive"):
        metafunc.fixturenames.append("clock_day")
        metafunc.parametrize("clock_day", [None, *SHIFTED_DAYS], ids=["run-day", *SHIFTED_DAYS], indirect=True)


@pytest.fixture
def clock_day(request):
    return date.fromisoformat(request.param) if request.param else None


@pytest.fixture(autouse=True)
def run_clock(request):
    """The core clock for this test (see the module docstring); released afterwards."""
    if request.node.get_closest_marker("e2e"):
        yield None  # the browser's cookies and the live server keep the real clock
        return
    pinned = request.node.get_closest_marker("clock_at")
    if "clock_day" in request.fixturenames:  # date_sensitive: the run day and each shifted day
        day = request.getfixturevalue("clock_day") or run_day()
    elif pinned:  # a test about one calendar situation (a given week's holidays) says which day it is
        day = date.fromisoformat(pinned.args[0])
    else:
        day = run_day()
    clock.travel_to(clock.instant(day, 10))
    try:
        yield clock.today()
    finally:
        clock.release()


def on_meeting_day(meeting, hour: int = 14):
    """Move the clock to the meeting's day (a meeting is held, and decides, on its date, not before);
    ``meeting`` is a Meeting or its id."""
    from branchops.coordination.models import Meeting

    if not isinstance(meeting, Meeting):
        meeting = Meeting.objects.get(pk=meeting)
    clock.travel_to(clock.instant(meeting.held_on, hour))
    return meeting


def ago(days: float = 0, hours: float = 0, minutes: float = 0):
    """An instant before the clock's now."""
    return clock.now() - timedelta(days=days, hours=hours, minutes=minutes)


def ahead(days: float = 0, hours: float = 0, minutes: float = 0):
    """An instant after the clock's now."""
    return clock.now() + timedelta(days=days, hours=hours, minutes=minutes)


class Org:
    """A small bank: head office → Shenzhen branch → two sub-branches → three outlets."""

    def __init__(self):
        self.flagship = OutletType.objects.get_or_create(code="flagship", defaults={"name": "旗舰网点"})[0]
        self.light = OutletType.objects.get_or_create(code="light", defaults={"name": "轻型网点"})[0]
        self.teller = Post.objects.get_or_create(code="teller", defaults={"name": "柜员"})[0]
        self.head = Post.objects.get_or_create(code="outlet_head", defaults={"name": "网点负责人"})[0]
        self.ho = org.save_institution(None, code="HO", name="总行", level=Level.HEAD_OFFICE)
        self.branch = org.save_institution(None, code="SZ", name="深圳分行", level=Level.TIER1_BRANCH, parent=self.ho)
        self.sb1 = org.save_institution(None, code="SZ01", name="福田支行", level=Level.SUB_BRANCH, parent=self.branch)
        self.sb2 = org.save_institution(None, code="SZ02", name="罗湖支行", level=Level.SUB_BRANCH, parent=self.branch)
        self.cluster = org.save_cluster(None, code="C01", name="福田1+2", institution=self.sb1)
        self.o11 = org.save_institution(None, code="SZ0101", name="福田中心网点", level=Level.OUTLET, parent=self.sb1,
                                        outlet_type=self.flagship, counters=8, smart_devices=6,
                                        cluster=self.cluster, is_hub=True)
        self.o12 = org.save_institution(None, code="SZ0102", name="福田卫星网点", level=Level.OUTLET, parent=self.sb1,
                                        outlet_type=self.light, counters=3, cluster=self.cluster)
        self.o21 = org.save_institution(None, code="SZ0201", name="罗湖网点", level=Level.OUTLET, parent=self.sb2,
                                        outlet_type=self.light, counters=4)
        self.ops = org.save_department(None, institution=self.branch, code="OPS", name="运行管理部",
                                       is_business=True, is_secretariat=True)
        self.legal = org.save_department(None, institution=self.branch, code="LEGAL", name="法律事务部",
                                         is_review=True)
        self.users = {}

    def person(self, key, institution, roles, department=None, post=None, password=PASSWORD):
        staff = org.save_staff(None, username=key, staff_no=key.upper(), name=key, institution=institution,
                               department=department, post=post, roles=roles)
        staff.user.set_password(password)
        staff.user.save()
        self.users[key] = staff.user
        return staff.user


@pytest.fixture
def bank(db):
    b = Org()
    b.person("admin1", b.branch, [Role.ADMINISTRATOR])
    b.person("sec1", b.branch, [Role.SECRETARIAT], department=b.ops)
    b.person("leader1", b.branch, [Role.BRANCH_LEADER])
    b.person("head11", b.o11, [Role.OUTLET_HEAD], post=b.head)
    b.person("staff11", b.o11, [Role.OUTLET_STAFF], post=b.teller)
    b.person("staff12", b.o12, [Role.OUTLET_STAFF], post=b.teller)
    b.person("staff21", b.o21, [Role.OUTLET_STAFF], post=b.teller)
    b.person("sb1mgr", b.sb1, [Role.SERVICE_SUPERVISOR])
    b.person("sub1", b.branch, [Role.SUBMITTER], department=b.ops)
    b.person("rev1", b.branch, [Role.REVIEWER], department=b.legal)
    return b


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def api(login):
    """The client signed in as a user: API tests call it per request's user."""
    return login


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the product's default language: a request leaves its language active on
    the worker's thread, so without this a service message's language hangs on which test ran before."""
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def english_messages(client, settings):
    """Requests and the services called directly speak English."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
