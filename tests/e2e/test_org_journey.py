"""A person signs in and walks the organisation pages in headless Chromium."""

import re

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_leader_signs_in_and_walks_the_organisation(page, live_server, bank):
    sign_in(page, live_server, "leader1")
    # Chinese by default.
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.goto(f"{live_server.url}/org/")
    # Sub-branches start collapsed: open 福田支行 by its summary line, then follow the outlet.
    outlet = page.get_by_role("link", name="福田中心网点", exact=True)
    assert not outlet.is_visible()
    page.locator("summary", has=page.get_by_role("link", name="福田支行", exact=True)).locator(
        ".bo-node-meta").first.click()
    outlet.click()
    page.wait_for_url(re.compile(r"/org/institutions/\d+/$"))
    assert page.locator("h1, h2").filter(has_text="福田中心网点").count() >= 1
    page.goto(f"{live_server.url}/org/people/?q=staff12")
    assert page.get_by_text("STAFF12").count() >= 1
    page.goto(f"{live_server.url}/org/institutions/?q=罗湖")
    assert page.get_by_text("罗湖网点").count() >= 1
    # Switch to English and back: the choice sticks across pages.
    page.select_option("select[name=language]", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.goto(f"{live_server.url}/org/")
    assert page.locator("html").get_attribute("lang") == "en"


def test_outlet_user_cannot_open_another_outlet(page, live_server, bank):
    sign_in(page, live_server, "staff11")
    response = page.goto(f"{live_server.url}/org/institutions/{bank.o21.pk}/")
    assert response.status == 404
    page.goto(f"{live_server.url}/org/institutions/")
    assert page.get_by_text("福田中心网点").count() >= 1
    assert page.get_by_text("罗湖网点").count() == 0
