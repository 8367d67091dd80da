"""`make demo` serves as production does (DEBUG off, manifest static files, the product's own error
pages), on plain HTTP at localhost: branchops/settings_demo.py, run in a fresh interpreter."""

import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import json, django
from django.conf import settings
from django.core.management import call_command
django.setup()
call_command("collectstatic", interactive=False, verbosity=0)
from django.test import Client
c = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="zh-hans")
missing = c.get("/no-such-page/")
favicon = c.get("/favicon.ico")
icon = c.get(favicon["Location"])
login = c.get("/accounts/login/")
print(json.dumps({
    "debug": settings.DEBUG,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "secure_cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
    "hsts": settings.SECURE_HSTS_SECONDS,
    "storage": settings.STORAGES["staticfiles"]["BACKEND"],
    "missing": [missing.status_code, missing.content.decode()],
    "favicon": [favicon.status_code, favicon["Location"], icon.status_code],
    "login": login.status_code,
}))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo-serving")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "SECURE_", "SESSION_", "CSRF_", "DEBUG", "SECRET_KEY", "DATABASE_URL"))}
    env.pop("BRANCHOPS_TESTING", None)
    env.update({"DJANGO_SETTINGS_MODULE": "branchops.settings_demo", "BRANCHOPS_DATA_DIR": str(data)})
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_demo_runs_with_debug_off_on_plain_http(probe):
    assert probe["debug"] is False
    assert probe["ssl_redirect"] is False and probe["secure_cookies"] == [False, False] and probe["hsts"] == 0
    assert probe["storage"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert probe["login"] == 200


def test_a_missing_page_is_the_products_chinese_404_not_the_debug_page(probe):
    status, body = probe["missing"]
    assert status == 404
    assert "Page not found" not in body and "URLconf" not in body and "Traceback" not in body
    assert "页面不存在" in body or "找不到" in body, body[:500]
    assert 'href="/"' in body  # a way home


def test_favicon_is_served(probe):
    status, location, icon = probe["favicon"]
    assert status == 301 and location.startswith("/static/branchops/favicon.") and icon == 200
