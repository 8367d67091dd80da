"""In-app notifications and their e-mail copies (only where a mail server is configured)."""

import pytest
from django.core import mail
from django.test import override_settings

from branchops.core.models import Notification
from branchops.core.services import notify

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def someone(django_user_model):
    return django_user_model.objects.create_user("mailme", email="mailme@bank.example", password="x")


def test_no_mail_without_a_mail_server(someone, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(someone, "Agenda published", "body", "/coordination/")
    assert Notification.objects.filter(recipient=someone).count() == 1
    assert mail.outbox == []


@override_settings(BRANCHOPS_EMAIL_NOTIFICATIONS=True, TASKS=IMMEDIATE, BRANCHOPS_SITE_URL="https://ops.bank")
def test_mail_copy_with_link(someone, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(someone, "Work order released", "Do the thing", "/dispatch/work-orders/1/")
    assert Notification.objects.filter(recipient=someone).count() == 1
    [message] = mail.outbox
    assert message.to == ["mailme@bank.example"]
    assert message.subject == "Work order released"
    assert "https://ops.bank/dispatch/work-orders/1/" in message.body


@override_settings(BRANCHOPS_EMAIL_NOTIFICATIONS=True, TASKS=IMMEDIATE)
def test_failed_mail_keeps_the_in_app_notification(someone, django_capture_on_commit_callbacks, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("branchops.core.tasks.send_mail", broken)
    with django_capture_on_commit_callbacks(execute=True):
        notify(someone, "Decision made")
    assert Notification.objects.filter(recipient=someone, title="Decision made").exists()
    assert mail.outbox == []


@override_settings(BRANCHOPS_EMAIL_NOTIFICATIONS=True, TASKS=IMMEDIATE)
def test_no_mail_for_a_user_without_address(django_user_model, django_capture_on_commit_callbacks):
    user = django_user_model.objects.create_user("noaddr", password="x")
    with django_capture_on_commit_callbacks(execute=True):
        notify(user, "Condition overdue")
    assert Notification.objects.filter(recipient=user).count() == 1
    assert mail.outbox == []


def test_dated_when_the_event_happens_not_at_commit(someone, django_capture_on_commit_callbacks):
    from datetime import datetime

    from branchops.core import clock

    with django_capture_on_commit_callbacks(execute=True):
        with clock.frozen(datetime(2021, 6, 9, 14, 40)) as at:
            notify(someone, "Decision made")
    assert Notification.objects.get(recipient=someone).created_at == at != clock.now()


@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/x", "http://evil.example",
                                    "javascript:alert(1)"])
def test_marking_read_never_redirects_off_site(client, someone, target):
    client.force_login(someone)
    r = client.post("/notifications/read/", {"next": target})
    assert r.status_code == 302 and r["Location"] == "/notifications/"


def test_marking_read_returns_to_a_page_of_the_site(client, someone):
    client.force_login(someone)
    r = client.post("/notifications/read/", {"next": "/cases/?queue=mine"})
    assert r.status_code == 302 and r["Location"] == "/cases/?queue=mine"


def test_api_marks_only_the_notifications_given_by_id(client, someone, django_capture_on_commit_callbacks):
    """The document declares ``ids`` a query array (``?ids=1&ids=2``); the demo fuzz run found the
    server refusing it as "not a valid list"."""
    from branchops.core.services import create_api_token

    with django_capture_on_commit_callbacks(execute=True):
        for title in ("one", "two", "three"):
            notify(someone, title)
    one, two, three = Notification.objects.filter(recipient=someone).order_by("pk")
    _, raw = create_api_token(someone, "script")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    r = client.post(f"/api/v1/me/notifications/read?ids={one.pk}&ids={three.pk}", **auth)
    assert r.status_code == 200, r.content
    assert r.json() == {"marked": 2}
    assert set(Notification.objects.filter(read_at__isnull=True).values_list("title", flat=True)) == {"two"}
    r = client.post("/api/v1/me/notifications/read?ids=x", **auth)
    assert r.status_code == 400 and "ids.0" in r.json()["detail"]  # names the field
    assert Notification.objects.filter(read_at__isnull=True).count() == 1  # bad input changes nothing
    r = client.post("/api/v1/me/notifications/read", **auth)  # no ids: all of mine
    assert r.status_code == 200 and r.json() == {"marked": 1}
