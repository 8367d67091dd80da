"""Concurrent updates on PostgreSQL: row locks serialise them, versions catch stale forms."""

import threading
from datetime import date

import pytest
from django.db import connection, connections

from branchops.cases import services
from branchops.cases.models import Case, Escalation

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def run_together(*fns):
    barrier = threading.Barrier(len(fns))
    errors, results = [], [None] * len(fns)

    def runner(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # collected and inspected by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


def test_concurrent_changes_are_all_kept(complaint, cases_bank):
    b = cases_bank
    case = complaint()
    start = case.version
    _results, errors = run_together(
        lambda: services.assign_case(b.users["head11"], Case.objects.get(pk=case.pk), department=b.cpp),
        lambda: services.set_complexity(b.users["head11"], Case.objects.get(pk=case.pk), "complex"),
        lambda: services.comment_case(b.users["staff11"], Case.objects.get(pk=case.pk), "客户已再次来电"),
    )
    assert not errors
    case.refresh_from_db()
    assert case.assignee_department == b.cpp
    assert case.complaint.complexity == "complex"
    assert case.comments.count() == 1
    assert case.version > start


def test_same_stale_form_twice_only_one_wins(complaint, cases_bank):
    b = cases_bank
    case = complaint()
    shown = case.version
    results, errors = run_together(
        lambda: services.accept_case(b.users["head11"], Case.objects.get(pk=case.pk), expected_version=shown),
        lambda: services.accept_case(b.users["staff11"], Case.objects.get(pk=case.pk), expected_version=shown),
    )
    assert len([r for r in results if r is not None]) == 1 and len(errors) == 1
    assert Case.objects.get(pk=case.pk).version == shown + 1


def test_two_workers_escalate_once(complaint, cases_bank):
    case = complaint()
    case.refresh_from_db()
    later = date(2026, 12, 31)
    run_together(lambda: services.apply_sla(today=later), lambda: services.apply_sla(today=later))
    levels = list(Escalation.objects.filter(case=case).values_list("level", flat=True))
    assert levels == sorted(set(levels)) and levels
