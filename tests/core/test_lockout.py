"""Sign-in lock-out behind a reverse proxy: the client's address comes from the proxy's header only when
the request comes from a trusted proxy, so one person's failures do not lock another out; the lock-out
says the same whether the user name exists or not."""

import re

import pytest
from django.test import Client, RequestFactory

from branchops.core.http import client_ip
from tests.cases.conftest import cases_bank, complaint  # noqa: F401
from tests.conftest import PASSWORD

PROXY = "10.0.0.5"


@pytest.fixture
def behind_proxy(settings):
    settings.BRANCHOPS_TRUSTED_PROXIES = [PROXY, "10.1.0.0/16"]
    return settings


def via_proxy(client_address: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client_address)


def fail(c: Client, username: str, times: int):
    return [c.post("/accounts/login/", {"username": username, "password": "wrong-password"}).status_code
            for _ in range(times)]


def test_one_clients_failures_do_not_lock_out_another_behind_the_same_proxy(bank, behind_proxy):
    attacker = via_proxy("203.0.113.7")
    fail(attacker, "staff11", behind_proxy.AXES_FAILURE_LIMIT)
    assert attacker.post("/accounts/login/", {"username": "staff11", "password": PASSWORD}).status_code == 429
    owner = via_proxy("198.51.100.9")
    r = owner.post("/accounts/login/", {"username": "staff11", "password": PASSWORD})
    assert r.status_code == 302 and "_auth_user_id" in owner.session


def test_a_client_cannot_pose_as_another_address(bank, behind_proxy):
    # Straight to the server (not through the proxy): its X-Forwarded-For is not believed.
    direct = Client(REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.9")
    fail(direct, "staff11", behind_proxy.AXES_FAILURE_LIMIT)
    # Through the proxy with an invented address on the left: the proxy's own entry counts.
    spoof = via_proxy("198.51.100.9, 203.0.113.7")
    fail(spoof, "staff11", behind_proxy.AXES_FAILURE_LIMIT)
    assert via_proxy("203.0.113.7").post(
        "/accounts/login/", {"username": "staff11", "password": PASSWORD}).status_code == 429
    owner = via_proxy("198.51.100.9")
    assert owner.post("/accounts/login/", {"username": "staff11", "password": PASSWORD}).status_code == 302


def test_without_a_trusted_proxy_the_header_is_ignored(bank, settings):
    assert settings.BRANCHOPS_TRUSTED_PROXIES == []
    fail(Client(REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.1"), "staff11", settings.AXES_FAILURE_LIMIT)
    locked = Client(REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert locked.post("/accounts/login/", {"username": "staff11", "password": PASSWORD}).status_code == 429


@pytest.mark.parametrize(("remote", "header", "expected"), [
    (PROXY, "203.0.113.7", "203.0.113.7"),
    (PROXY, "198.51.100.9, 203.0.113.7", "203.0.113.7"),
    (PROXY, "203.0.113.7, 10.1.2.3", "203.0.113.7"),  # a second trusted hop is skipped
    (PROXY, "", PROXY),
    (PROXY, "not-an-address", PROXY),
    ("192.0.2.1", "203.0.113.7", "192.0.2.1"),
    (PROXY, "2001:db8::1", "2001:db8::1"),
])
def test_client_ip(behind_proxy, remote, header, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=header)
    assert client_ip(request) == expected


def _page(response) -> str:
    return re.sub(r"[A-Za-z0-9]{64}", "<csrf token>", response.content.decode())


def test_the_lock_out_does_not_tell_whether_the_user_exists(bank, settings):
    known, unknown = Client(REMOTE_ADDR="192.0.2.30"), Client(REMOTE_ADDR="192.0.2.31")
    limit = settings.AXES_FAILURE_LIMIT
    assert fail(known, "staff11", limit - 1) == fail(unknown, "nobody-here", limit - 1)
    first = known.post("/accounts/login/", {"username": "staff11", "password": "wrong-password"})
    second = unknown.post("/accounts/login/", {"username": "nobody-here", "password": "wrong-password"})
    assert first.status_code == second.status_code == 429
    assert _page(first) == _page(second)
    assert "staff11" not in first.content.decode()


def test_an_unmasked_view_is_logged_with_the_clients_address_behind_the_proxy(behind_proxy, cases_bank,  # noqa: F811
                                                                             complaint):  # noqa: F811
    from branchops.cases.models import PiiAccess

    case = complaint()
    c = via_proxy("198.51.100.9")
    c.force_login(cases_bank.users["head11"])
    assert c.get(f"/api/v1/cases/{case.pk}", {"reveal": "true"}).status_code == 200
    assert c.get(f"/cases/{case.pk}/?reveal=1").status_code == 200
    assert sorted(PiiAccess.objects.values_list("via", "ip_address")) == [("api", "198.51.100.9"),
                                                                          ("page", "198.51.100.9")]
