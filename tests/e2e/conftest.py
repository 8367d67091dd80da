import os
import re
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; the test server and the ORM calls of
# the test itself are ordinary synchronous Django, so allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        pytest.skip("Debian chromium is not installed (scripts/test.sh installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


# Every page of every browser context a test opens is watched: a Content-Security-Policy violation, a
# console error or an uncaught script error fails the test (issue 13: the strict CSP must break nothing).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                " at " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
});
"""
# The document itself answering 4xx (a test that expects a 404 page) is not a fault of the page.
HTTP_STATUS = re.compile(r"^Failed to load resource: the server responded with a status of \d+")


def _watch(context, problems):
    context.add_init_script(REPORT_VIOLATIONS)

    def on_console(msg):
        if msg.type != "error":
            return
        url = msg.location.get("url", "") if msg.location else ""
        if HTTP_STATUS.match(msg.text) and (url == msg.page.url or url.endswith("/favicon.ico")):
            return
        problems.append(f"console error on {msg.page.url if msg.page else '?'}: {msg.text} ({url})")

    context.on("console", on_console)
    context.on("weberror", lambda err: problems.append(f"script error on {err.page.url if err.page else '?'}: {err.error}"))
    return context


@pytest.fixture(autouse=True)
def no_csp_violations(request):
    """Wrap ``browser.new_context`` for the test so that every context is watched; fail on any problem."""
    if "browser" not in request.fixturenames:
        yield []
        return
    b = request.getfixturevalue("browser")
    problems: list[str] = []
    original = b.new_context

    def new_context(*args, **kwargs):
        return _watch(original(*args, **kwargs), problems)

    b.new_context = new_context
    try:
        yield problems
    finally:
        del b.new_context
    assert not problems, "the browser reported:\n" + "\n".join(problems)
