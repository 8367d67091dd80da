"""The background worker: reminders and escalations applied idempotently, failed notifications that
never block, and `branchops worker` running the SLA scan from the database queue.

"Today" is frozen by passing ``today=`` to ``apply_sla``; only the end-to-end worker test uses the
real date (with a case received long enough ago to be overdue whatever the date).
"""

import signal
import threading
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from branchops.cases import services
from branchops.cases.models import Case, CaseType, Category, Escalation, Reminder, Status
from branchops.core import clock, periodic, tasks
from branchops.core.management.commands import worker as worker_command
from branchops.core.models import Notification, TimelineEntry

from .conftest import at


@pytest.fixture(autouse=True)
def _english_notifications():
    # The assertions below match notification titles by their English words.
    with translation.override("en"):
        yield

# The default complaint policy (defaults.POLICIES): resolution 10 working days, reminder 2 working
# days before, escalation ESCALATE_COMPLAINT. Received Monday 23 Nov 2026 → due Monday 7 Dec.
# The scans below are about November–December 2026 (each passes its day to the scan); the cases are
# received before the clock's day, as the services require.
pytestmark = pytest.mark.clock_at("2026-12-07")

RECEIVED = at(2026, 11, 23)
DUE = date(2026, 12, 7)


def scan(capture, today):
    """One worker run on ``today``, with the notifications (sent after commit) delivered."""
    with capture(execute=True):
        return services.apply_sla(today=today)


def recipients(**filters):
    return sorted(Notification.objects.filter(**filters).values_list("recipient__username", flat=True))


def snapshot():
    """Everything a worker run may write."""
    return {
        "escalations": Escalation.objects.count(),
        "reminders": Reminder.objects.count(),
        "notifications": Notification.objects.count(),
        "timeline": TimelineEntry.objects.count(),
        "history": Case.history.count(),
        "cases": sorted(Case.objects.values_list("pk", "version", "escalation_level", "status", "resolution_due")),
    }


# --- escalation ----------------------------------------------------------------------------------

def test_overdue_complaint_escalates_level_by_level(complaint, cases_bank, django_capture_on_commit_callbacks):
    case = complaint(received=RECEIVED)
    assert case.resolution_due == DUE
    assert [s["target"] for s in case.sla_policy.escalation] == [
        "outlet_head", "sub_branch", "consumer_protection", "branch_leader"]
    ids = {u.pk: name for name, u in cases_bank.users.items()}

    def step(today):
        before = set(Notification.objects.values_list("pk", flat=True))
        stats = scan(django_capture_on_commit_callbacks, today)
        case.refresh_from_db()
        new = sorted(n.recipient.username for n in Notification.objects.exclude(pk__in=before)
                     .filter(title__contains="escalated"))
        return stats, new

    # On the due day the case is not overdue: no escalation.
    stats, new = step(DUE)
    assert stats["escalations"] == 0 and new == [] and case.escalation_level == 0

    # Tuesday 8 Dec, 1 working day overdue: the outlet head hears first, and only the outlet head.
    stats, new = step(date(2026, 12, 8))
    assert new == ["head11"] and case.escalation_level == 1
    assert Escalation.objects.get(case=case, level=1).target == "outlet_head"
    assert [ids[pk] for pk in Escalation.objects.get(case=case, level=1).notified] == ["head11"]

    # By Wednesday 9 Dec (2 days overdue) the sub-branch has been told, and nobody above it.
    stats, new = step(date(2026, 12, 9))
    assert set(Escalation.objects.filter(case=case).values_list("level", flat=True)) == {1, 2}
    assert case.escalation_level == 2
    assert recipients(title__contains="escalated") == ["head11", "sb1mgr"]
    assert [ids[pk] for pk in Escalation.objects.get(case=case, level=2).notified] == ["sb1mgr"]

    # Thursday 10 Dec, 3 days overdue: nothing new.
    stats, new = step(date(2026, 12, 10))
    assert stats["escalations"] == 0 and new == [] and case.escalation_level == 2

    # Friday 11 Dec, 4 working days overdue: consumer protection.
    stats, new = step(date(2026, 12, 11))
    assert stats["escalations"] == 1 and new == ["cpp1"] and case.escalation_level == 3

    # The weekend and Monday add nothing: weekends do not count as overdue working days.
    for day in (date(2026, 12, 12), date(2026, 12, 13), date(2026, 12, 14)):
        stats, new = step(day)
        assert stats["escalations"] == 0 and new == [] and case.escalation_level == 3

    # Tuesday 15 Dec, 6 working days overdue: the branch leader.
    stats, new = step(date(2026, 12, 15))
    assert stats["escalations"] == 1 and new == ["leader1"] and case.escalation_level == 4

    # The top level reached, later days change nothing.
    stats, new = step(date(2026, 12, 31))
    assert stats["escalations"] == 0 and new == []
    assert list(Escalation.objects.filter(case=case).values_list("level", "target")) == [
        (1, "outlet_head"), (2, "sub_branch"), (3, "consumer_protection"), (4, "branch_leader")]
    assert TimelineEntry.objects.filter(object_id=str(case.pk), verb="escalated").count() == 4


def test_first_two_complaint_levels_are_one_day_apart(complaint, cases_bank, django_capture_on_commit_callbacks):
    case = complaint(received=RECEIVED)
    scan(django_capture_on_commit_callbacks, date(2026, 12, 8))
    assert list(Escalation.objects.filter(case=case).values_list("level", flat=True)) == [1]
    assert recipients(title__contains="escalated") == ["head11"]


def test_a_worker_that_was_down_applies_every_level_reached_at_once(complaint, cases_bank,
                                                                     django_capture_on_commit_callbacks):
    case = complaint(received=RECEIVED)
    stats = scan(django_capture_on_commit_callbacks, date(2026, 12, 21))
    case.refresh_from_db()
    assert stats["escalations"] == 4 and case.escalation_level == 4
    assert recipients(title__contains="escalated") == ["cpp1", "head11", "leader1", "sb1mgr"]


# --- idempotence ---------------------------------------------------------------------------------

def test_running_twice_on_the_same_day_changes_nothing(complaint, cases_bank, django_capture_on_commit_callbacks):
    overdue = complaint(received=at(2026, 11, 16))  # due 30 Nov: 3 working days overdue on 3 Dec
    due_soon = complaint(received=RECEIVED)  # due 7 Dec: 2 working days left on 3 Dec
    today = date(2026, 12, 3)

    first = scan(django_capture_on_commit_callbacks, today)
    assert first == {"scanned": 2, "reminders": 1, "escalations": 2}  # levels 1 and 2 at 3 days overdue
    after_first = snapshot()
    assert Reminder.objects.get().case == due_soon
    assert set(Escalation.objects.values_list("case", flat=True)) == {overdue.pk}

    second = scan(django_capture_on_commit_callbacks, today)
    assert second == {"scanned": 2, "reminders": 0, "escalations": 0}
    assert snapshot() == after_first

    # The task the worker runs is just as idempotent.
    third = tasks.periodic_scan.call(today.isoformat())
    assert third["today"] == "2026-12-03" and third["jobs"]["cases.sla"] == second  # other apps' jobs ride along
    assert snapshot() == after_first


# --- reminders -----------------------------------------------------------------------------------

def test_reminder_is_sent_once_when_due_soon(complaint, cases_bank, django_capture_on_commit_callbacks):
    b = cases_bank
    case = complaint(received=RECEIVED)
    assert case.sla_policy.remind_before_days == 2
    # Wednesday 2 Dec: 3 working days left — not yet.
    assert scan(django_capture_on_commit_callbacks, date(2026, 12, 2))["reminders"] == 0
    assert not Reminder.objects.exists()
    # Thursday 3 Dec: 2 working days left (Friday, Monday) — remind the first-contact owner and the
    # assignee, each once.
    services.assign_case(b.users["head11"], case, assignee=b.users["head11"])
    Notification.objects.all().delete()
    assert scan(django_capture_on_commit_callbacks, date(2026, 12, 3))["reminders"] == 1
    reminder = Reminder.objects.get()
    assert (reminder.case, reminder.kind, reminder.due) == (case, "resolution", DUE)
    assert recipients() == ["head11", "staff11"]
    assert TimelineEntry.objects.filter(object_id=str(case.pk), verb="reminded").count() == 1
    # Not again on the following days, the due day included.
    for day in (date(2026, 12, 4), date(2026, 12, 5), DUE):
        assert scan(django_capture_on_commit_callbacks, day)["reminders"] == 0
    assert Reminder.objects.count() == 1 and Notification.objects.count() == 2


def test_a_new_due_date_earns_a_new_reminder(cases_bank, django_capture_on_commit_callbacks):
    b = cases_bank
    cat = Category.objects.get(case_type=CaseType.SUPPORT, code="SUPPLY-FORMS")
    case = services.open_case(b.users["head11"], case_type=CaseType.SUPPORT, institution=b.o11, title="凭证不足",
                              category=cat, received_at=at(2026, 11, 2))
    assert case.resolution_due == date(2026, 11, 9) and case.sla_policy.remind_before_days == 1
    assert scan(django_capture_on_commit_callbacks, date(2026, 11, 6))["reminders"] == 1
    ext = services.request_extension(b.users["head11"], case, 3, "供应商缺货")
    services.decide_extension(b.users["sec1"], ext, True)
    case.refresh_from_db()
    assert case.resolution_due == date(2026, 11, 12)
    assert scan(django_capture_on_commit_callbacks, date(2026, 11, 11))["reminders"] == 1
    assert scan(django_capture_on_commit_callbacks, date(2026, 11, 11))["reminders"] == 0
    assert sorted(Reminder.objects.values_list("due", flat=True)) == [date(2026, 11, 9), date(2026, 11, 12)]


# --- what the worker leaves alone ----------------------------------------------------------------

def test_paused_cases_are_skipped(complaint, cases_bank, django_capture_on_commit_callbacks):
    case = complaint(received=RECEIVED)
    case = services.pause_clock(cases_bank.users["head11"], case, "等待外部鉴定", on=date(2026, 11, 25))
    before = snapshot()
    for day in (date(2026, 12, 3), date(2026, 12, 21)):  # would be due soon, then far overdue
        assert scan(django_capture_on_commit_callbacks, day) == {"scanned": 0, "reminders": 0, "escalations": 0}
    assert snapshot() == before
    # Resumed, the clock runs again from the moved due date.
    case = services.resume_clock(cases_bank.users["head11"], case, on=date(2026, 12, 21))
    assert case.resolution_due > DUE
    stats = scan(django_capture_on_commit_callbacks, case.resolution_due + timedelta(days=1))
    assert stats["scanned"] == 1 and stats["escalations"] >= 1


def test_resolved_closed_and_cancelled_cases_are_skipped(complaint, cases_bank, django_capture_on_commit_callbacks):
    u = cases_bank.users["head11"]
    resolved = complaint(received=RECEIVED)
    services.resolve_case(u, resolved, outcome="resolved", resolution="已致歉并优化叫号")
    closed = complaint(received=RECEIVED)
    services.resolve_case(u, closed, outcome="on_the_spot", resolution="现场化解")
    services.close_case(u, closed)
    cancelled = complaint(received=RECEIVED)
    services.cancel_case(u, cancelled, "重复登记")
    assert set(Case.objects.values_list("status", flat=True)) == {Status.RESOLVED, Status.CLOSED, Status.CANCELLED}
    before = snapshot()
    for day in (date(2026, 12, 3), date(2026, 12, 21)):
        assert scan(django_capture_on_commit_callbacks, day) == {"scanned": 0, "reminders": 0, "escalations": 0}
    assert snapshot() == before


def test_escalation_stops_once_the_case_is_resolved(complaint, cases_bank, django_capture_on_commit_callbacks):
    case = complaint(received=RECEIVED)
    scan(django_capture_on_commit_callbacks, date(2026, 12, 9))
    services.resolve_case(cases_bank.users["head11"], case, outcome="resolved", resolution="已处理")
    scan(django_capture_on_commit_callbacks, date(2026, 12, 21))
    assert sorted(Escalation.objects.values_list("level", flat=True)) == [1, 2]


# --- failed notifications ------------------------------------------------------------------------

def test_failed_notification_blocks_neither_the_change_nor_the_escalation(
        complaint, cases_bank, django_capture_on_commit_callbacks, monkeypatch, caplog):
    b = cases_bank
    case = complaint(received=RECEIVED)

    def broken(**kwargs):
        raise RuntimeError("notification store is down")

    monkeypatch.setattr(Notification.objects, "create", broken)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.assign_case(b.users["head11"], case, department=b.cpp, note="请跟进")
    assert callbacks  # the notifications were attempted, after the commit
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        stats = services.apply_sla(today=date(2026, 12, 21))
    assert callbacks and stats["escalations"] == 4

    case.refresh_from_db()
    assert case.assignee_department == b.cpp
    assert case.escalation_level == 4
    assert Escalation.objects.filter(case=case).count() == 4
    assert TimelineEntry.objects.filter(object_id=str(case.pk), verb__in=["assigned", "escalated"]).count() == 5
    assert not Notification.objects.exists()
    assert "notification to" in caplog.text


# --- the task and the command --------------------------------------------------------------------

def scans():
    return DBTaskResult.objects.filter(task_path=tasks.periodic_scan.module_path)


@pytest.fixture
def db_worker_in_test_transaction(monkeypatch):
    """db_worker calls close_old_connections() between tasks, which drops a connection whose
    autocommit is off — the test's own transaction on PostgreSQL. Outside tests that is right."""
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)


def test_enqueue_sla_scan_is_idempotent(db):
    first = tasks.enqueue_scan()
    assert first is not None and first.status == TaskResultStatus.READY
    assert tasks.enqueue_scan() is None
    assert scans().count() == 1
    assert tasks.pending_scan_id() == str(first.id)
    # A running scan holds the next one back too…
    scans().update(status=TaskResultStatus.RUNNING, started_at=clock.wall_now())
    assert tasks.enqueue_scan() is None
    # …unless it has been "running" so long that its worker must have died.
    scans().update(started_at=clock.wall_now() - tasks.RUNNING_STALE_AFTER - timedelta(minutes=1))
    assert tasks.enqueue_scan() is not None
    assert scans().count() == 2
    # Finished scans do not count.
    scans().update(status=TaskResultStatus.SUCCESSFUL, finished_at=clock.wall_now())
    assert tasks.pending_scan_id() is None
    assert tasks.enqueue_scan() is not None and tasks.enqueue_scan() is None
    assert scans().filter(status=TaskResultStatus.READY).count() == 1


@pytest.mark.date_sensitive
def test_worker_once_processes_an_enqueued_scan_end_to_end(complaint, cases_bank, db_worker_in_test_transaction,
                                                           django_capture_on_commit_callbacks):
    # Received 40 days ago: overdue by well over 5 working days, whatever today is.
    case = complaint(received=clock.now() - timedelta(days=40))
    queued = tasks.enqueue_scan()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("worker", "--once", stdout=out, stderr=StringIO())
    assert {s: signal.getsignal(s) for s in handlers} == handlers  # the caller's Ctrl+C is left alone

    assert scans().count() == 1  # the waiting scan was run, not a second one queued
    result = tasks.periodic_scan.get_result(str(queued.id))
    assert result.status == TaskResultStatus.SUCCESSFUL
    returned = result.return_value
    assert returned["today"] == clock.today().isoformat()
    assert returned["jobs"]["cases.sla"] == {"scanned": 1, "reminders": 0, "escalations": 4}
    assert set(returned["jobs"]) == set(periodic.registered())
    assert "Periodic scan:" in out.getvalue()
    case.refresh_from_db()
    assert case.escalation_level == 4
    assert recipients(title__contains="escalated") == ["cpp1", "head11", "leader1", "sb1mgr"]

    # Run again (cron every few minutes): a new scan is queued and run, and changes nothing.
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("worker", "--once", stdout=StringIO(), stderr=StringIO())
    assert scans().filter(status=TaskResultStatus.SUCCESSFUL).count() == 2
    assert snapshot() == before


def test_worker_once_fails_loudly_when_the_scan_fails(db, db_worker_in_test_transaction, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "apply_sla", broken)
    ran = []
    monkeypatch.setitem(periodic._JOBS, "zz.after", lambda today: ran.append(today) or "ok")
    with pytest.raises(CommandError, match="PeriodicJobsFailed: .*cases.sla"):
        call_command("worker", "--once", stdout=StringIO(), stderr=StringIO())
    assert scans().get().status == TaskResultStatus.FAILED
    assert ran == [clock.today()]  # one failing job does not stop the others


def test_worker_once_without_sla_scan(db, db_worker_in_test_transaction):
    call_command("worker", "--once", "--scan-interval", "0", stdout=StringIO(), stderr=StringIO())
    assert not scans().exists()
    err = StringIO()
    call_command("worker", "--once", "--queue-name", "reports", stdout=StringIO(), stderr=err)
    assert not scans().exists() and "not scheduling" in err.getvalue()


def test_the_worker_runs_every_registered_job_itself(db, db_worker_in_test_transaction, monkeypatch):
    """The kernel's worker runs the registry, not the cases app: jobs of any app run (agendas freeze
    even where cases' SLA scan is not the reason to run)."""
    ran = []
    monkeypatch.setitem(periodic._JOBS, "test.job", lambda today: ran.append(today) or {"done": 1})
    out = StringIO()
    call_command("worker", "--once", stdout=out, stderr=StringIO())
    assert ran == [clock.today()]
    assert scans().get().return_value["jobs"]["test.job"] == {"done": 1}
    assert {"cases.sla", "coordination.freeze_agendas", "coordination.overdue_conditions",
            "dispatch.work_orders_due"} <= set(periodic.registered())


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_worker_enqueues_periodically_and_stops_cleanly(db, monkeypatch, stop):
    """The long-running mode: the enqueuer thread queues a scan at once and every interval; Ctrl+C
    (KeyboardInterrupt) or SIGTERM (db_worker exits with SystemExit) stops the thread too."""
    calls = []
    enqueued = threading.Event()

    def fake_enqueue():
        calls.append(threading.current_thread().name)
        if len(calls) >= 2:
            enqueued.set()

    def fake_db_worker(self, argv):
        assert "--batch" not in argv and "--no-reload" in argv
        assert enqueued.wait(5), "the enqueuer did not run twice"
        raise stop(0) if stop is SystemExit else stop()

    monkeypatch.setattr(tasks, "enqueue_scan", fake_enqueue)
    monkeypatch.setattr(worker_command.Command, "_db_worker", fake_db_worker)
    if stop is SystemExit:
        with pytest.raises(SystemExit):
            call_command("worker", "--scan-interval", "0.01", stdout=StringIO(), stderr=StringIO())
    else:
        call_command("worker", "--sla-interval", "0.01", stdout=StringIO(), stderr=StringIO())  # the older name
    assert set(calls) == {"branchops-scan-enqueuer"}
    assert not any(t.name == "branchops-scan-enqueuer" for t in threading.enumerate())
