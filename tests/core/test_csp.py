"""Issue 13: a strict Content-Security-Policy on every response, and templates that keep to it — no
inline script, no inline event handler, no inline style (the policy would block them)."""

import re
from pathlib import Path

import pytest

import branchops

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
          "base-uri 'self'; frame-ancestors 'none'; form-action 'self'")


def _directives(header: str) -> dict[str, list[str]]:
    parts = [p.split() for p in header.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def assert_policy(response):
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.wsgi_request.path}"
    assert _directives(header) == _directives(POLICY), header
    assert "Content-Security-Policy-Report-Only" not in response


PAGES = ["/", "/notifications/", "/calendar/", "/accounts/profile/", "/accounts/password/",
         "/org/", "/org/institutions/", "/org/departments/",
         "/cases/", "/cases/new/", "/cases/new/?type=complaint", "/cases/dashboard/",
         "/coordination/", "/coordination/meetings/",
         "/dispatch/", "/dispatch/workload/",
         "/queueing/", "/queueing/imports/"]


@pytest.mark.django_db
def test_every_page_carries_the_policy(client, bank):
    client.force_login(bank.users["admin1"])
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_policy(response)
    assert_policy(client.get("/no-such-page/"))  # the error pages too
    assert_policy(client.get("/api/v1/docs"))  # the API's Swagger page (its scripts are static files)


@pytest.mark.django_db
def test_sign_in_and_admin_carry_the_policy(client, superuser):
    assert_policy(client.get("/accounts/login/"))
    client.force_login(superuser)
    for url in ("/admin/", "/admin/org/institution/", "/admin/auth/user/", "/admin/auth/user/add/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_policy(response)


TEMPLATE_ROOT = Path(branchops.__file__).parent
FORBIDDEN = {
    "inline <script>": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
    "inline event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def _templates():
    for path in sorted(TEMPLATE_ROOT.rglob("*.html")):
        rel = path.relative_to(TEMPLATE_ROOT)
        if "vendor" in rel.parts or rel.parts[:2] == ("templates", "admin"):
            continue
        yield rel, path.read_text(encoding="utf-8")


def test_templates_have_no_inline_script_or_style():
    found = []
    for rel, text in _templates():
        # A json_script block is data, not script: Django renders it as <script type="application/json">.
        for what, pattern in FORBIDDEN.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{rel}:{line}: {what}: {match.group(0)}")
    assert not found, "the Content-Security-Policy would block:\n" + "\n".join(found)
    assert sum(1 for _ in _templates()) > 50  # the scan did find the templates


def test_the_scan_catches_what_it_looks_for():
    samples = {"inline <script>": '<script>alert(1)</script>', "inline event handler": '<a onclick="x()">',
               "style attribute": '<div style="height: 3px">', "<style> element": "<style>p{}</style>",
               "javascript: URL": '<a href="javascript:history.back()">'}
    for what, sample in samples.items():
        assert FORBIDDEN[what].search(sample), what
    assert not FORBIDDEN["inline <script>"].search('<script src="/static/x.js"></script>')
    assert not FORBIDDEN["inline event handler"].search('<select data-autosubmit class="form-select">')
