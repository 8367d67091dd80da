"""Security defaults: deploy checks, sign-in lock-out, CSRF, LDAP settings."""

import os
import subprocess
import sys

import pytest
from django.test import Client

from branchops.core.ldap import ldap_settings
from tests.conftest import PASSWORD


def test_check_deploy_is_clean_in_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_", "SESSION_", "CSRF_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "branchops.settings",
        "DEBUG": "0",
        "SECRET_KEY": "p7$Kq9!vT2#xL5@wN8^rB3&yH6*zJ4(mC1)dF0-gS7_eA2+uP9",
        "ALLOWED_HOSTS": "branchops.example.cn",
        "BRANCHOPS_DATA_DIR": str(tmp_path),
    })
    env.pop("BRANCHOPS_TESTING", None)
    out = subprocess.run([sys.executable, "-m", "branchops", "check", "--deploy", "--fail-level", "WARNING"],
                         env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_production_refuses_to_start_without_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE")}
    env.update({"DJANGO_SETTINGS_MODULE": "branchops.settings", "BRANCHOPS_DATA_DIR": str(tmp_path)})
    out = subprocess.run([sys.executable, "-m", "branchops", "check"], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "SECRET_KEY" in out.stderr


@pytest.mark.django_db
def test_lock_out_after_repeated_failures(bank, settings):
    c = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        r = c.post("/accounts/login/", {"username": "staff11", "password": "wrong-password"})
        assert r.status_code in (200, 429)
    # Even the right password is refused while locked.
    r = c.post("/accounts/login/", {"username": "staff11", "password": PASSWORD})
    assert r.status_code == 429
    assert "_auth_user_id" not in c.session


@pytest.mark.django_db
def test_sign_in_and_out(bank):
    c = Client(enforce_csrf_checks=False)
    r = c.post("/accounts/login/", {"username": "staff11", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/"
    assert c.get("/").status_code == 200
    c.post("/accounts/logout/")
    assert c.get("/").status_code == 302


@pytest.mark.django_db
def test_login_page_requires_csrf(bank):
    c = Client(enforce_csrf_checks=True)
    assert c.post("/accounts/login/", {"username": "staff11", "password": PASSWORD}).status_code == 403


@pytest.mark.django_db
def test_password_change_enforces_validators(bank):
    c = Client()
    c.force_login(bank.users["staff11"])
    r = c.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "12345678",
                                        "new_password2": "12345678"})
    assert r.status_code == 200  # form re-shown with errors
    assert bank.users["staff11"].check_password(PASSWORD)
    r = c.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "Quite-Long-Pass-77",
                                        "new_password2": "Quite-Long-Pass-77"})
    assert r.status_code == 302
    bank.users["staff11"].refresh_from_db()
    assert bank.users["staff11"].check_password("Quite-Long-Pass-77")


def test_ldap_off_by_default():
    assert ldap_settings({}) == {}


def test_ldap_settings_when_configured():
    pytest.importorskip("django_auth_ldap", reason="the optional `ldap` extra is not installed")
    conf = ldap_settings({"LDAP_SERVER_URI": "ldaps://ad.bank.cn", "LDAP_USER_BASE_DN": "OU=Staff,DC=bank,DC=cn"})
    assert conf["AUTH_LDAP_SERVER_URI"] == "ldaps://ad.bank.cn"
    assert conf["AUTH_LDAP_NO_NEW_USERS"] is True


@pytest.mark.parametrize("url", ["/", "/cases/", "/coordination/", "/api/v1/me", "/api/v1/cases/"])
def test_answers_for_a_signed_in_user_are_never_stored(bank, url):
    """Issue 13 item 12: personal data (revealed complainant numbers, cases) must not sit in a browser
    or proxy cache."""
    c = Client()
    c.force_login(bank.users["staff11"])
    r = c.get(url)
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]


def test_token_answers_are_never_stored_either(bank):
    from branchops.core import services

    _token, raw = services.create_api_token(bank.users["staff11"], "script")
    r = Client().get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
