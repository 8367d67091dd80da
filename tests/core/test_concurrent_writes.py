"""Bursts of writes through the API queue rather than fail, on SQLite (a file database, WAL, IMMEDIATE
transactions, as in production) and on PostgreSQL: no 5xx, every case number distinct."""

import sqlite3
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client

from branchops.core import clock
from branchops.core import services as core
from tests.cases.conftest import cases_bank  # noqa: F401
from tests.coordination.conftest import coord_bank, draft  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 20


@pytest.fixture
def burst_database(tmp_path):
    """Call it once the data is set up; it answers how the test reads back what the threads wrote.
    On SQLite the threads write to a file copy of the test database (the shared in-memory one locks
    differently from a file) while the main thread keeps its in-memory connection; on PostgreSQL they
    all use the test database."""
    shared = connections.settings["default"]  # the dict each thread's new connection is built from
    name = shared["NAME"]

    def read_pg(sql):
        with connection.cursor() as cur:
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]

    def move():
        if connection.vendor != "sqlite":
            return read_pg
        path = tmp_path / "burst.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(path)
        connection.connection.backup(target)
        target.execute("PRAGMA journal_mode=WAL")  # as a production database is after its first connection
        target.close()
        shared["NAME"] = str(path)

        def read(sql):
            with sqlite3.connect(path) as con:
                return con.execute(sql).fetchall()

        return read

    yield move
    shared["NAME"] = name


def burst(requests):
    """Run each ``(client, method, url, data)`` in its own thread (own connection), all at once."""
    barrier = threading.Barrier(len(requests))
    answers = [None] * len(requests)

    def run(i, client, method, url, data):
        try:
            barrier.wait()
            answers[i] = getattr(client, method)(url, data, content_type="application/json")
        except Exception as exc:  # reported by the test
            answers[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, *req)) for i, req in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers


def token_client(user):
    _t, raw = core.create_api_token(user, "burst")
    return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_twenty_cases_opened_at_once_all_get_distinct_numbers(cases_bank, burst_database):  # noqa: F811
    b = cases_bank
    people = [("staff11", b.o11), ("head11", b.o11), ("staff12", b.o12), ("staff21", b.o21)]
    clients = [(token_client(b.users[key]), outlet) for key, outlet in people]
    received = (clock.now() - timedelta(hours=1)).isoformat()
    requests = [(c, "post", "/api/v1/cases/", {"case_type": "feedback", "institution_id": outlet.pk,
                                               "title": f"反馈 {i}", "received_at": received})
                for i in range(BURST) for c, outlet in [clients[i % len(clients)]]]
    rows = burst_database()
    answers = burst(requests)
    errors = [a for a in answers if isinstance(a, Exception) or a.status_code != 201]
    assert not errors, [getattr(a, "content", a) for a in errors]
    numbers = [a.json()["number"] for a in answers]
    assert len(set(numbers)) == BURST
    stored = rows("SELECT number FROM cases_case")
    assert sorted(n for (n,) in stored) == sorted(numbers)
    seq = rows("SELECT last FROM core_sequence WHERE key = 'case:feedback'")
    assert seq == [(BURST,)]


def test_twenty_comments_on_one_case_at_once_are_all_kept(cases_bank, burst_database):  # noqa: F811
    b = cases_bank
    c = token_client(b.users["staff11"])
    case = c.post("/api/v1/cases/", {"case_type": "feedback", "institution_id": b.o11.pk, "title": "空调故障",
                                     "received_at": clock.now().isoformat()}, content_type="application/json")
    assert case.status_code == 201, case.content
    pk = case.json()["id"]
    requests = [(token_client(b.users[key]), "post", f"/api/v1/cases/{pk}/actions/comment", {"body": f"跟进 {i}"})
                for i in range(BURST) for key in [("staff11", "head11")[i % 2]]]
    rows = burst_database()
    answers = burst(requests)
    errors = [a for a in answers if isinstance(a, Exception) or a.status_code != 200]
    assert not errors, [getattr(a, "content", a) for a in errors]
    stored = rows(f"SELECT COUNT(*) FROM cases_comment WHERE case_id = {int(pk)}")
    assert stored == [(BURST,)]


def test_twenty_items_submitted_at_once_share_one_meeting_in_distinct_agenda_places(coord_bank, draft,  # noqa: F811
                                                                                   burst_database):
    """Each submission finds (or creates) the next meeting and takes the next agenda place: read-then-
    write, so without a lock two would create the same meeting or take the same place."""
    items = [draft(title=f"事项 {i}") for i in range(BURST)]
    requests = [(token_client(coord_bank.users["pfb1"]), "post", f"/api/v1/coordination/items/{item.pk}/actions/submit",
                 {"version": item.version}) for item in items]
    rows = burst_database()
    answers = burst(requests)
    errors = [a for a in answers if isinstance(a, Exception) or a.status_code != 200]
    assert not errors, [getattr(a, "content", a) for a in errors]
    assert rows("SELECT COUNT(*) FROM coordination_meeting") == [(1,)]
    places = rows("SELECT agenda_order FROM coordination_item WHERE status = 'submitted'")
    assert sorted(p for (p,) in places) == list(range(1, BURST + 1))
    numbers = rows("SELECT number FROM coordination_item")
    assert len({n for (n,) in numbers}) == BURST


def test_twenty_decisions_at_once_issue_distinct_approval_numbers(coord_bank, draft, burst_database):  # noqa: F811
    from branchops.coordination import services as coordination
    from tests.coordination.conftest import hold, review

    b = coord_bank
    items = [review(b, coordination.submit_item(b.users["pfb1"], draft(title=f"事项 {i}"))) for i in range(BURST)]
    coordination.freeze_agenda(b.users["sec1"], items[0].meeting)
    hold(b, items[0].meeting)  # on its day, quorate: the review gate is passed
    requests = [(token_client(b.users["sec1"]), "post", f"/api/v1/coordination/items/{item.pk}/actions/decide",
                 {"decision": "approved", "version": type(item).objects.get(pk=item.pk).version}) for item in items]
    rows = burst_database()
    answers = burst(requests)
    errors = [a for a in answers if isinstance(a, Exception) or a.status_code != 200]
    assert not errors, [getattr(a, "content", a) for a in errors]
    numbers = rows("SELECT approval_number FROM coordination_item WHERE decision = 'approved'")
    assert len({n for (n,) in numbers if n}) == BURST
