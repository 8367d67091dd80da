"""The API's rate limits: calls per signed-in user, and unknown tokens per client address; past a limit
the answer is 429 with Retry-After and a message in the user's language, and the limit passes."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from ninja.throttling import SimpleRateThrottle

from branchops.core import services as core


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def timer(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(SimpleRateThrottle, "timer", staticmethod(lambda: now[0]))
    return now


def token_client(user, **extra):
    _t, raw = core.create_api_token(user, "script")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", **extra)


def test_calls_past_the_per_user_limit_get_429_with_retry_after(bank, settings, timer):
    settings.BRANCHOPS_API_RATE = "3/min"
    c = token_client(bank.users["staff11"])
    assert [c.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    r = c.get("/api/v1/me")
    assert r.status_code == 429
    assert 1 <= int(r["Retry-After"]) <= 60
    with translation.override("zh-hans"):
        assert r.json()["detail"] == translation.gettext(
            "Too many requests: please wait %(seconds)s seconds and try again.") % {"seconds": r["Retry-After"]}
    assert "请" in r.json()["detail"]  # Chinese by default
    # Writes count too, and nothing is written past the limit.
    assert c.post("/api/v1/me/notifications/read", [], content_type="application/json").status_code == 429
    # The same person through the browser is the same user: also limited.
    browser = Client()
    browser.force_login(bank.users["staff11"])
    assert browser.get("/api/v1/me").status_code == 429
    # Someone else is not.
    assert token_client(bank.users["head11"]).get("/api/v1/me").status_code == 200
    # A minute later the calls go through again.
    timer[0] += 61
    assert c.get("/api/v1/me").status_code == 200


def test_the_limit_is_in_english_for_an_english_user(bank, settings, timer):
    settings.BRANCHOPS_API_RATE = "1/min"
    c = token_client(bank.users["staff11"])
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    c.get("/api/v1/me")
    r = c.get("/api/v1/me")
    assert r.status_code == 429 and r.json()["detail"].startswith("Too many requests")


def test_guessing_tokens_is_limited_per_client_address(bank, settings, timer):
    settings.BRANCHOPS_API_BAD_TOKEN_RATE = "2/min"
    guesser = Client(REMOTE_ADDR="192.0.2.10", HTTP_AUTHORIZATION="Bearer bo_guess")
    assert [guesser.get("/api/v1/me").status_code for _ in range(2)] == [401, 401]
    r = guesser.get("/api/v1/me")
    assert r.status_code == 429 and int(r["Retry-After"]) >= 1
    assert Client(REMOTE_ADDR="192.0.2.10", HTTP_X_API_TOKEN="bo_other").get("/api/v1/me").status_code == 429
    # Another address is not held back, nor is a good token from the same one.
    assert Client(REMOTE_ADDR="192.0.2.11", HTTP_AUTHORIZATION="Bearer bo_guess").get(
        "/api/v1/me").status_code == 401
    assert token_client(bank.users["staff11"], REMOTE_ADDR="192.0.2.10").get("/api/v1/me").status_code == 200
    timer[0] += 61
    assert guesser.get("/api/v1/me").status_code == 401


def test_a_forged_forwarded_for_does_not_escape_the_limit(bank, settings, timer):
    """Without a trusted proxy the header is the client's own text: the connection's address counts."""
    settings.BRANCHOPS_API_BAD_TOKEN_RATE = "1/min"
    Client(REMOTE_ADDR="192.0.2.20", HTTP_AUTHORIZATION="Bearer bo_x", HTTP_X_FORWARDED_FOR="1.1.1.1").get("/api/v1/me")
    r = Client(REMOTE_ADDR="192.0.2.20", HTTP_AUTHORIZATION="Bearer bo_x",
               HTTP_X_FORWARDED_FOR="2.2.2.2").get("/api/v1/me")
    assert r.status_code == 429
