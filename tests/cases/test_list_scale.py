"""The case list at bank scale (issue 18): one page costs one page, whoever reads it.

The page and the API read ``queries.case_listing``: the visibility paths (personal, department, each
institution of the scope) read each in the list's order and merged, or no visibility filter at all for
a branch-wide reader. These tests hold it to the one-query reading (``case_list``, the OR of every
path) row for row, check the plans (no sort of the whole list) and the query counts (constant in the
number of cases), and the count capped at 1,000.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branchops.cases import queries, services
from branchops.cases.models import CaseType, Category

from ..conftest import ago

QUEUES = ["open", "all", "overdue", "mine", "team", "first_contact", "to_verify"]


def _open(bank, actor, institution, n, case_type=CaseType.COMPLAINT, start=0):
    category = Category.objects.filter(case_type=case_type, is_active=True, parent__isnull=False).first() \
        if case_type == CaseType.SUPPORT else None
    for i in range(n):
        extra = {"complaint": {"complainant_name": "张三", "complainant_phone": "13812345678"},
                 "channel": "on_site"} if case_type == CaseType.COMPLAINT else {"channel": "outlet"}
        if category is not None:
            extra["category"] = category
        services.open_case(actor, case_type=case_type, institution=institution, title=f"事项 {start + i}",
                           description="说明", received_at=ago(days=(start + i) % 9, hours=i % 5), **extra)


@pytest.fixture
def busy(cases_bank):
    b = cases_bank
    _open(b, b.users["staff11"], b.o11, 6)
    _open(b, b.users["staff12"], b.o12, 4, start=10)
    _open(b, b.users["staff21"], b.o21, 4, start=20)
    _open(b, b.users["staff11"], b.o11, 3, case_type=CaseType.FEEDBACK, start=30)
    _open(b, b.users["staff21"], b.o21, 3, case_type=CaseType.SUPPORT, start=40)
    return b


def _pks(rows):
    return [c.pk for c in rows]


@pytest.mark.parametrize("queue", QUEUES)
def test_listing_reads_the_same_rows_in_the_same_order_as_one_query(busy, queue):
    for key, user in busy.users.items():
        expected = _pks(queries.case_list(user, queue=queue))
        listing = queries.case_listing(user, queue=queue)
        assert listing.count() == len(expected), (key, queue)
        assert _pks(listing[0:len(expected) + 5]) == expected, (key, queue)
        # Page by page, as the pager reads it: the same rows, none twice.
        paged = [pk for start in range(0, len(expected) + 1, 4) for pk in _pks(listing[start:start + 4])]
        assert paged == expected, (key, queue)


def test_branch_wide_reader_has_no_visibility_filter_others_have_paths(busy):
    assert queries.visibility_paths(busy.users["sec1"]) is None
    assert queries.visibility_paths(busy.users["leader1"]) is None
    sup = queries.visibility_paths(busy.users["sb1mgr"])
    assert sup is not None and len(sup) == 3 + 3  # personal ×3, the sub-branch and its two outlets
    # A second branch: the first branch's secretariat no longer sees every case.
    from branchops.org import services as org
    from branchops.org.models import Level

    org.save_institution(None, code="GZ", name="广州分行", level=Level.TIER1_BRANCH, parent=busy.ho)
    busy.users["sec1"].__dict__.pop("_case_paths", None)
    assert queries.visibility_paths(busy.users["sec1"]) is not None


def test_count_is_exact_up_to_the_cap_then_cap_plus_one(busy, monkeypatch, api):
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    for key in ("sec1", "sb1mgr", "staff11"):
        user = busy.users[key]
        exact = queries.case_list(user, queue="open").count()
        assert exact > 5
        assert queries.case_listing(user, queue="open").count() == 6, key
    r = api(busy.users["sb1mgr"]).get("/api/v1/cases/?page_size=2")
    assert r.status_code == 200 and r.json()["count"] == 6
    page = api(busy.users["sb1mgr"]).get("/cases/?page_size=2")
    assert page.status_code == 200
    assert "1,000+" in page.content.decode()


def _plan(sql, params) -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return [str(row[-1]) for row in cursor.fetchall()]
        # A handful of rows: make the planner show the plan it takes on a large table.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return [row[0] for row in cursor.fetchall()]


PERSONAL_INDEXES = ("first_contact_owner_id", "assignee_id", "requester_id")


@pytest.mark.parametrize("key", ["sec1", "sb1mgr", "staff11", "rev1"])
@pytest.mark.parametrize("queue", ["open", "overdue", "all", "mine"])
def test_a_page_is_read_in_index_order_without_sorting_the_list(busy, key, queue):
    listing = queries.case_listing(busy.users[key], queue=queue)
    if listing.paths is None:
        sql, params = listing.qs[:25].query.sql_with_params()
    else:
        union, params = listing._union(listing._arms(25))
        sql, params = f"{union} ORDER BY 1 ASC NULLS LAST, 2 ASC, 3 ASC LIMIT %s OFFSET %s", [*params, 25, 0]
    plan = _plan(sql, params)
    text = " | ".join(plan)
    if connection.vendor == "sqlite":
        assert "USING INDEX cases_" in text, text
        for i, line in enumerate(plan):
            if "TEMP B-TREE" in line:
                # Only a person's own cases on the "all" queue (no index in that order) are sorted.
                assert queue == "all" and any(f in plan[i - 1] for f in PERSONAL_INDEXES), text
        if queue != "all":
            assert "TEMP B-TREE" not in text, text
    else:
        # Each path an index scan under its own limit. (At a handful of rows PostgreSQL sorts a path's
        # one or two rows rather than read the ordered index; the order is measured at scale by
        # bench/cases_bench.py.)
        assert "Index" in text and "Limit" in text, text


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("key", ["sec1", "sb1mgr", "staff11"])
def test_query_count_of_the_page_and_the_api_is_constant_in_the_number_of_cases(cases_bank, key, login,
                                                                                django_assert_max_num_queries):
    b = cases_bank
    user = b.users[key]
    _open(b, b.users["staff11"], b.o11, 3)
    _open(b, b.users["staff21"], b.o21, 2, start=5)
    client = login(user)
    small = (_queries(lambda: client.get("/cases/")), _queries(lambda: client.get("/api/v1/cases/")))
    _open(b, b.users["staff11"], b.o11, 12, start=10)
    _open(b, b.users["staff12"], b.o12, 8, start=30)
    _open(b, b.users["staff21"], b.o21, 8, start=40, case_type=CaseType.FEEDBACK)
    with django_assert_max_num_queries(small[0]):
        assert client.get("/cases/").status_code == 200
    with django_assert_max_num_queries(small[1]):
        assert client.get("/api/v1/cases/").status_code == 200
