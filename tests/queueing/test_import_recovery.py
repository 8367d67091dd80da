"""Imports through the services: replace with preview, undo, audit; crash safety with fault injection and a
real ``kill -9`` of an importing process."""

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from branchops.core import periodic
from branchops.core.models import TimelineEntry
from branchops.queueing import kpis, rollup, services
from branchops.queueing import store as st
from branchops.queueing.models import TicketImport

from .test_store import stored, ticket, write_csv

SRC = str(Path(st.__file__).resolve().parents[2])


@pytest.fixture(autouse=True)
def _english():
    """Some assertions match the English wording of the services' messages."""
    from django.utils import translation

    with translation.override("en"):
        yield


def content(root):
    table = stored(root)
    return sorted(tuple(r.values()) for r in table.to_pylist()) if table is not None else []


def _upload(user, path, mode="append"):
    with open(path, "rb") as fh:
        return services.import_uploaded(user, fh, path.name, "tickets", mode=mode)


def timeline(batch):
    return list(TimelineEntry.objects.filter(object_id=str(batch.pk), content_type__model="ticketimport")
                .order_by("id").values_list("verb", flat=True))


def test_replace_is_previewed_confirmed_audited_and_undone(bank, queue_dir, tmp_path):
    sec = bank.users["sec1"]
    wrong = write_csv(tmp_path / "wrong.csv", [ticket("A001", customer_tier="vip"), ticket("A002", issued="08:50:00"),
                                               ticket("A003", day="2026-03-03")])
    first = _upload(sec, wrong)
    assert first.status == TicketImport.Status.DONE and first.added == 3
    fixed = write_csv(tmp_path / "fixed.csv", [ticket("A001")])
    batch = _upload(sec, fixed, mode="replace")
    assert batch.status == TicketImport.Status.AWAITING
    assert services.preview_lines(batch) == ["1 days of outlet SZ0101 will be replaced: 2026-03-02"]
    assert len(content(queue_dir)) == 3  # nothing replaced before confirmation
    with pytest.raises(PermissionDenied):
        services.confirm_import(bank.users["staff11"], batch)
    batch = services.confirm_import(sec, batch)
    assert (batch.status, batch.added, batch.replaced) == (TicketImport.Status.DONE, 1, 2)
    assert [(r[2], r[4]) for r in content(queue_dir)] == [("A001", "regular"), ("A003", "regular")]
    with pytest.raises(ValidationError):
        services.confirm_import(sec, batch)  # once
    day = date(2026, 3, 2)
    assert rollup.rollup_kpis(queue_dir, day, day)["arrivals"].to_pylist() == [1]  # roll-ups refreshed

    undone = services.undo_import(sec, batch)
    assert undone.status == TicketImport.Status.UNDONE and undone.undone_by == sec
    assert [(r[2], r[4]) for r in content(queue_dir)] == [("A001", "vip"), ("A002", "regular"), ("A003", "regular")]
    assert rollup.stale(queue_dir) == [] and rollup.rollup_kpis(queue_dir, day, day)["arrivals"].to_pylist() == [2]
    assert timeline(batch) == ["uploaded", "confirmed", "imported", "replaced", "undone"]
    with pytest.raises(ValidationError):
        services.undo_import(sec, undone)
    with pytest.raises(PermissionDenied):
        services.undo_import(bank.users["staff11"], first)
    services.undo_import(sec, first)
    assert content(queue_dir) == []


def test_an_undo_goes_back_in_order(bank, queue_dir, tmp_path):
    sec = bank.users["sec1"]
    first = _upload(sec, write_csv(tmp_path / "a.csv", [ticket("A001", customer_tier="vip")]))
    fixed = services.confirm_import(sec, _upload(sec, write_csv(tmp_path / "b.csv", [ticket("A001")]), "replace"))
    other = _upload(sec, write_csv(tmp_path / "c.csv", [ticket("C001", outlet="SZ0102")]))
    with pytest.raises(ValidationError) as exc:
        services.undo_import(sec, first)  # its A001 was replaced later: removing "its" key would remove the fix
    assert f"Import {fixed.pk}" in exc.value.messages[0]
    assert [(r[2], r[4]) for r in content(queue_dir)] == [("A001", "regular"), ("C001", "regular")]
    services.undo_import(sec, fixed)
    services.undo_import(sec, first)  # another outlet's later import does not stand in the way
    assert [r[2] for r in content(queue_dir)] == ["C001"]
    assert TicketImport.objects.get(pk=other.pk).status == TicketImport.Status.DONE


def test_a_replace_of_devices_and_an_unknown_mode_are_refused(bank, queue_dir, tmp_path):
    path = write_csv(tmp_path / "t.csv", [ticket()])
    for kind, mode in [("devices", "replace"), ("tickets", "overwrite")]:
        with pytest.raises(ValidationError) as exc, open(path, "rb") as fh:
            services.import_uploaded(bank.users["sec1"], fh, "t.csv", kind, mode=mode)
        assert "mode" in exc.value.message_dict
    assert not TicketImport.objects.exists()


def test_an_import_that_changed_nothing_cannot_be_undone(bank, queue_dir, tmp_path):
    path = write_csv(tmp_path / "t.csv", [ticket()])
    _upload(bank.users["sec1"], path)
    again = _upload(bank.users["sec1"], path)
    assert again.added == 0 and again.txid == ""
    with pytest.raises(ValidationError):
        services.undo_import(bank.users["sec1"], again)


# ------------------------------------------------------------------------------------------ crash safety

BASE = [ticket("A001"), ticket("B001", outlet="SZ0201")]
NEW = [ticket("A001"), ticket("A002", issued="08:50:00"), ticket("A003", day="2026-04-01"),
       ticket("B002", outlet="SZ0201", issued="08:40:00")]


def child(path, root, txid, crash_at=None, replace=False):
    env = {**os.environ, "PYTHONPATH": SRC}
    env.pop(st._CRASH_ENV, None)
    if crash_at is not None:
        env[st._CRASH_ENV] = str(crash_at)
    code = ("import sys; from branchops.queueing import store; "
            f"store.import_ticket_files([sys.argv[1]], sys.argv[2], None, txid=sys.argv[3], replace={replace})")
    return subprocess.run([sys.executable, "-c", code, str(path), str(root), txid], env=env, timeout=120).returncode


def running_batch(bank, path):
    batch = services.record_file(None, path, path.name, "tickets", bank.branch)
    TicketImport.objects.filter(pk=batch.pk).update(status=TicketImport.Status.RUNNING, attempts=1,
                                                   txid=f"import-{batch.pk}")
    return TicketImport.objects.get(pk=batch.pk)


def test_a_crash_at_every_step_is_finished_or_rolled_back(bank, queue_dir, tmp_path):
    base = write_csv(tmp_path / "base.csv", BASE)
    new = write_csv(tmp_path / "new.csv", NEW)
    ref = tmp_path / "reference"
    st.import_ticket_files([base], ref, None)
    before = content(ref)
    st.import_ticket_files([new], ref, None)
    after = content(ref)
    assert len(after) == 5

    template = tmp_path / "template"
    assert st.import_ticket_files([base], template, None).added == 2
    rollup.refresh(template, rollup.stale(template))
    k, outcomes = 0, set()
    while True:
        k += 1
        TicketImport.objects.all().delete()
        root = queue_dir
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(template, root)
        batch = running_batch(bank, new)
        code = child(new, root, batch.txid, crash_at=k)
        if code == 0:
            break  # past the last step: every step has been tried
        assert code == 86, code
        visible = content(root)
        committed = (root / "journal" / batch.txid / "COMMITTED").exists() or st.TicketStore(root).manifest(batch.txid)
        assert visible == before or committed, k  # before the commit point nothing of it is visible

        assert services.recover_interrupted() == 1
        batch.refresh_from_db()
        if batch.status == TicketImport.Status.QUEUED:  # rolled back: the worker imports it again
            assert content(root) == before
            batch = services.run_import(batch.pk)
        outcomes.add(batch.message)
        assert batch.status == TicketImport.Status.DONE, (k, batch.message)
        assert (batch.added, batch.already_stored, batch.rejected) == (3, 1, 0), k
        assert content(root) == after, k
        assert rollup.stale(root) == [] and not any((root / "journal").glob("import-*")), k
        day = date(2026, 3, 2)
        exact = ["outlet_code", "arrivals", "served", "abandoned", "wait_mean", "peak_queue"]  # median: from bins
        assert rollup.rollup_kpis(root, day, day).select(exact).equals(kpis.kpis(root, day, day).select(exact)), k
        assert rollup.rollup_kpis(root, day, day)["arrivals"].to_pylist() == [2, 2], k
    assert k > 6 and len(outcomes) == 2  # some crashes rolled back, some finished


def test_a_stuck_import_is_left_alone_while_its_process_lives_and_failed_after_repeated_crashes(
        bank, queue_dir, tmp_path):
    new = write_csv(tmp_path / "new.csv", NEW)
    batch = running_batch(bank, new)
    with services._run_lock(batch.pk) as mine:
        assert mine
        assert services.recover_interrupted() == 0
        batch.refresh_from_db()
        assert batch.status == TicketImport.Status.RUNNING
    TicketImport.objects.filter(pk=batch.pk).update(attempts=services.MAX_ATTEMPTS)
    assert child(new, queue_dir, batch.txid, crash_at=1) == 86
    assert services.recover_interrupted() == 1
    batch.refresh_from_db()
    assert batch.status == TicketImport.Status.FAILED and "nothing of it was stored" in batch.message
    assert content(queue_dir) == [] and timeline(batch)[-1] == "failed"
    assert "queueing.recover_imports" in periodic.registered()


def test_the_next_import_finishes_an_interrupted_one_first(bank, queue_dir, tmp_path):
    new = write_csv(tmp_path / "new.csv", NEW)
    batch = running_batch(bank, new)
    # Killed after the store commit, before the roll-ups and the record: the next import completes it.
    steps = 0
    while child(new, tmp_path / "probe", f"probe-{steps}", crash_at=steps + 1) == 86:
        steps += 1
    assert child(new, queue_dir, batch.txid, crash_at=steps) == 86  # the last step: journal cleaned
    other = _upload(bank.users["sec1"], write_csv(tmp_path / "other.csv", [ticket("C001", outlet="SZ0102")]))
    batch.refresh_from_db()
    assert batch.status == TicketImport.Status.DONE and batch.added == 4
    assert other.status == TicketImport.Status.DONE and len(content(queue_dir)) == 5
    assert rollup.stale(queue_dir) == []


def test_kill_9_during_a_real_import(bank, queue_dir, tmp_path):
    rows = [ticket(f"A{i:05d}", outlet=("SZ0101", "SZ0102", "SZ0201")[i % 3], day=f"2026-0{3 + i % 3}-0{1 + i % 9}",
                   issued=f"08:{i % 60:02d}:{(i // 60) % 60:02d}", called="09:05:00")
            for i in range(60_000)]
    path = write_csv(tmp_path / "big.csv", rows)
    batch = running_batch(bank, path)
    env = {**os.environ, "PYTHONPATH": SRC}
    code = ("import sys; from branchops.queueing import store; "
            "store.import_ticket_files([sys.argv[1]], sys.argv[2], None, txid=sys.argv[3])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), str(queue_dir), batch.txid], env=env)
    journal = queue_dir / "journal" / batch.txid / "staged"
    deadline = time.monotonic() + 120
    while not journal.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    visible = content(queue_dir)
    assert visible == [] or st.TicketStore(queue_dir).manifest(batch.txid) or (
        queue_dir / "journal" / batch.txid / "COMMITTED").exists()
    services.recover_interrupted()
    batch.refresh_from_db()
    if batch.status == TicketImport.Status.QUEUED:
        batch = services.run_import(batch.pk)
    assert batch.status == TicketImport.Status.DONE
    assert len(content(queue_dir)) == len({(r["outlet_code"], r["ticket_date"], r["ticket_no"]) for r in rows})
    assert rollup.stale(queue_dir) == [] and not list((queue_dir / "journal").glob("import-*"))


# ------------------------------------------------------------------------------------------ page, API, CLI

API = "/api/v1/queueing/"


@pytest.mark.usefixtures("english_messages")
def test_replace_and_undo_through_the_api(api, bank, queue_dir, tmp_path):
    sec = api(bank.users["sec1"])
    first = write_csv(tmp_path / "a.csv", [ticket("A001", customer_tier="vip"), ticket("A002", issued="08:50:00")])
    with open(first, "rb") as fh:
        done = sec.post(f"{API}imports", {"file": fh}).json()
    assert done["status"] == "done" and done["allowed_actions"] == ["undo"]
    fixed = write_csv(tmp_path / "b.csv", [ticket("A001")])
    with open(fixed, "rb") as fh:
        bad = sec.post(f"{API}imports", {"file": fh, "mode": "overwrite"})
    assert bad.status_code == 400 and "mode" in bad.json()["detail"]
    with open(fixed, "rb") as fh:
        waiting = sec.post(f"{API}imports", {"file": fh, "mode": "replace"}).json()
    assert waiting["status"] == "awaiting" and waiting["preview"] == {"SZ0101": ["2026-03-02"]}
    assert waiting["preview_lines"] == ["1 days of outlet SZ0101 will be replaced: 2026-03-02"]
    assert waiting["allowed_actions"] == ["confirm", "cancel"]
    assert len(content(queue_dir)) == 2
    staff = api(bank.users["staff11"])
    assert staff.post(f"{API}imports/{waiting['id']}/actions/confirm").status_code in (403, 404)
    sec = api(bank.users["sec1"])
    assert sec.post(f"{API}imports/{waiting['id']}/actions/nope").status_code == 404
    confirmed = sec.post(f"{API}imports/{waiting['id']}/actions/confirm").json()
    assert (confirmed["status"], confirmed["replaced"], confirmed["added"]) == ("done", 2, 1)
    again = sec.post(f"{API}imports/{waiting['id']}/actions/confirm")
    assert again.status_code == 400 and len(content(queue_dir)) == 1
    undone = sec.post(f"{API}imports/{waiting['id']}/actions/undo").json()
    assert undone["status"] == "undone" and undone["undone_at"] and undone["allowed_actions"] == []
    assert len(content(queue_dir)) == 2
    assert sec.post(f"{API}imports/{waiting['id']}/actions/undo").status_code == 400


@pytest.mark.usefixtures("english_messages")
def test_replace_preview_and_undo_on_the_pages(login, bank, queue_dir, tmp_path):
    client = login(bank.users["sec1"])
    with open(write_csv(tmp_path / "a.csv", [ticket("A001")]), "rb") as fh:
        client.post("/queueing/imports/", {"file": fh, "kind": "tickets"})
    with open(write_csv(tmp_path / "b.csv", [ticket("A001", teller_no="T002")]), "rb") as fh:
        response = client.post("/queueing/imports/", {"file": fh, "kind": "tickets", "mode": "replace"}, follow=True)
    page = response.content.decode()
    assert "1 days of outlet SZ0101 will be replaced: 2026-03-02" in page
    batch = TicketImport.objects.get(mode="replace")
    assert f'/queueing/imports/{batch.pk}/actions/confirm/' in page and 'data-action="undo"' not in page
    page = client.post(f"/queueing/imports/{batch.pk}/actions/confirm/", follow=True).content.decode()
    assert 'data-action="undo"' in page and "data-confirm=" in page
    assert [r[11] for r in content(queue_dir)] == ["T002"]
    page = client.post(f"/queueing/imports/{batch.pk}/actions/undo/", follow=True).content.decode()
    assert "Undone on" in page and [r[11] for r in content(queue_dir)] == ["T001"]
    assert client.get(f"/queueing/imports/{batch.pk}/actions/undo/").status_code == 302  # GET changes nothing
    staff = login(bank.users["staff11"])
    assert staff.post(f"/queueing/imports/{batch.pk}/actions/undo/").status_code in (403, 404)


def test_the_command_previews_a_replace_and_undoes_an_import(bank, queue_dir, tmp_path):
    from io import StringIO

    from django.core.management import call_command
    from django.utils import translation

    def run(*args):
        out = StringIO()
        with translation.override("en"):
            call_command(*args, stdout=out, stderr=StringIO())
        return out.getvalue()

    run("queue", "import", str(write_csv(tmp_path / "a.csv", [ticket("A001")])), "--quiet")
    fixed = write_csv(tmp_path / "b.csv", [ticket("A001", teller_no="T002")])
    out = run("queue", "import", str(fixed), "--replace")
    assert "1 days of outlet SZ0101 will be replaced: 2026-03-02" in out and "add --yes" in out
    assert [r[11] for r in content(queue_dir)] == ["T001"]
    run("queue", "import", str(fixed), "--replace", "--yes", "--quiet")
    assert [r[11] for r in content(queue_dir)] == ["T002"]
    done = TicketImport.objects.get(mode="replace", status="done")
    assert "undone" in run("queue", "undo", str(done.pk))
    assert [r[11] for r in content(queue_dir)] == ["T001"]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        run("queue", "undo", str(done.pk))


def test_a_read_over_stale_rollups_answers_from_the_tickets_and_queues_one_refresh(login, bank, queue_dir,
                                                                                   tmp_path):
    from django_tasks_db.models import DBTaskResult

    from branchops.queueing import tasks

    sec = bank.users["sec1"]
    _upload(sec, write_csv(tmp_path / "a.csv", [ticket("A001")]))
    # Tickets stored by a process that died before refreshing the roll-ups:
    st.import_ticket_files([write_csv(tmp_path / "b.csv", [ticket("A002", issued="08:50:00")])], queue_dir, None)
    before = sorted((p, p.stat().st_mtime_ns) for p in queue_dir.rglob("*") if p.is_file())
    client = login(sec)
    period = {"start": "2026-03-02", "end": "2026-03-02", "level": "outlet"}
    rows = client.get(f"{API}kpis", period).json()["rows"]
    assert [r["arrivals"] for r in rows] == [2]  # not the stale 1
    assert client.get("/queueing/", {"month": "2026-03"}).status_code == 200
    assert sorted((p, p.stat().st_mtime_ns) for p in queue_dir.rglob("*") if p.is_file()) == before  # no write
    queued = DBTaskResult.objects.filter(task_path=tasks.refresh_rollups.module_path)
    assert queued.count() == 1  # once, not per read
    tasks.refresh_rollups.call()
    assert rollup.stale(queue_dir) == []
    assert [r["arrivals"] for r in client.get(f"{API}kpis", period).json()["rows"]] == [2]
