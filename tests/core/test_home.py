"""Issue 17: each role's home page ("我的工作") shows its work, and every number on it links to the
list behind it — following the link shows exactly that many rows (the seeded world of the
authorisation matrix, tests/core/authz_world.py)."""

import logging
from html.parser import HTMLParser

import pytest

from .authz_world import ROLES, build_world

pytestmark = pytest.mark.django_db


class _Figures(HTMLParser):
    """Every link carrying ``data-count`` (a number that counts rows) and every ``bo-figure`` link."""

    def __init__(self):
        super().__init__()
        self.counted, self.figures = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag != "a":
            return
        if "data-count" in a:
            self.counted.append((a["href"], int(a["data-count"])))
        if "bo-figure" in (a.get("class") or ""):
            self.figures.append(a["href"])


def _figures(html: str) -> _Figures:
    parser = _Figures()
    parser.feed(html)
    return parser


def _rows(response) -> int:
    """The number of rows of the list a page shows: its paginator's count, or its list."""
    ctx = response.context
    if "page" in ctx and hasattr(ctx["page"], "paginator"):
        return ctx["page"].paginator.count
    for name in ("opinions", "runs", "inspections"):  # lists shown whole, without pages
        if name in ctx:
            return len(list(ctx[name]))
    raise AssertionError(f"{response.request['PATH_INFO']} shows no list to count")


@pytest.fixture
def world(db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.BRANCHOPS_QUEUE_DIR = tmp_path / "queueing"
    return build_world(tmp_path)


# The sections each role finds on its home page (their keys).
EXPECTED_SECTIONS = {
    "pfb1": ["coordination-items"],
    "icc1": ["coordination-reviews"],
    "sec1": ["coordination-next-meeting", "coordination-follow-up", "dispatch-work-orders", "service-runs"],
    "head11": ["dispatch-work-orders", "queueing-outlet-yesterday", "cases"],
    "staff11": ["dispatch-work-orders", "queueing-outlet-yesterday", "cases"],
    "sb1mgr": ["cases-to-verify", "service-inspections", "dispatch-work-orders"],
    "leader1": ["coordination-leader", "cases-overview", "dispatch-work-orders", "queueing-branch-trend"],
}


def test_every_number_on_each_roles_home_page_is_the_count_of_the_list_it_links_to(world, client):
    logging.getLogger("django.request").setLevel(logging.ERROR)
    checked = 0
    for key in ROLES:
        client.force_login(world.users[key])
        home = client.get("/")
        assert home.status_code == 200
        shown = [s["key"] for s in home.context["work_sections"]]
        for section in EXPECTED_SECTIONS.get(key, []):
            assert section in shown, f"{key}: no section {section} in {shown}"
        html = home.content.decode()
        found = _figures(html)
        for href in found.figures:  # every figure, counted or a measure, opens a page the user may read
            assert client.get(href).status_code == 200, f"{key}: {href}"
        for href, count in found.counted:
            listed = client.get(href)
            assert listed.status_code == 200, f"{key}: {href}"
            assert _rows(listed) == count, f"{key}: {href} shows {_rows(listed)} rows, the home page said {count}"
            checked += 1
    assert checked >= 20


def test_the_roles_home_pages_show_their_work_in_numbers(world, client):
    """The seeded world has work for each role: the numbers are not all zero."""
    nonzero = {}
    for key in ("pfb1", "icc1", "sec1", "head11", "sb1mgr", "leader1"):
        client.force_login(world.users[key])
        found = _figures(client.get("/").content.decode())
        nonzero[key] = [href for href, count in found.counted if count]
    assert all(nonzero.values()), nonzero
    # The outlet head's open work order is on the home page, linked.
    client.force_login(world.users["head11"])
    assert world.wo11.get_absolute_url() in client.get("/").content.decode()


def _counted(client, part: str) -> list[int]:
    return [count for href, count in _figures(client.get("/").content.decode()).counted if part in href]


def test_a_supervisor_sees_a_rectification_to_verify_once_its_evidence_is_in(world, client):
    from branchops.cases import services as cases

    u = world.users
    client.force_login(u["sb1mgr"])
    assert _counted(client, "queue=to_verify") == [0]
    rect = cases.resolve_case(u["head11"], world.rect11, outcome="resolved", resolution="已整理")
    assert _counted(client, "queue=to_verify") == [0]  # no evidence yet: nothing to verify
    cases.submit_evidence(u["head11"], rect, "整理后的照片")
    assert _counted(client, "queue=to_verify") == [1]
    listed = client.get("/cases/?queue=to_verify")
    assert [c.pk for c in listed.context["page"]] == [rect.pk]
    # Outside the supervisor's sub-branch, nothing to verify; an outlet head verifies nothing.
    client.force_login(u["sb2mgr"])
    assert _counted(client, "queue=to_verify") == [0]
    client.force_login(u["head11"])
    assert _counted(client, "queue=to_verify") == []
    assert list(client.get("/cases/?queue=to_verify").context["page"]) == []
