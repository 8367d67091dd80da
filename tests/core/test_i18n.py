"""Chinese by default, English on request; every message has its Chinese text."""

from datetime import date
from pathlib import Path

import polib
import pytest
from django.utils import formats, translation

import branchops

LOCALE = Path(branchops.__file__).parent / "locale"


@pytest.mark.django_db
def test_chinese_by_default_and_english_by_switch(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'lang="zh-hans"' in page and "登录" in page
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert r.status_code == 302
    page = client.get("/accounts/login/").content.decode()
    assert 'lang="en"' in page and "Sign in" in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "登录" in client.get("/accounts/login/").content.decode()


@pytest.mark.django_db
def test_pages_are_chinese_for_a_signed_in_user(client, bank):
    client.force_login(bank.users["leader1"])
    html = client.get("/org/").content.decode()
    for word in ("组织机构", "人员", "部门"):
        assert word in html


def test_every_message_has_chinese_text():
    po = polib.pofile(str(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    assert not missing, f"{len(missing)} messages without Chinese text, e.g. {missing[:10]}"
    assert len(po) > 100


def test_chinese_date_formats():
    with translation.override("zh-hans"):
        assert formats.date_format(date(2026, 11, 23)) == "2026年11月23日"
        assert formats.date_format(date(2026, 11, 23), "SHORT_DATE_FORMAT") == "2026-11-23"
        assert formats.number_format(1234567.5, 1, force_grouping=True) == "1,234,567.5"
    with translation.override("en"):
        assert formats.date_format(date(2026, 11, 23)) == "23 Nov 2026"


def test_time_zone_is_shanghai(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai" and settings.USE_TZ


@pytest.mark.django_db
def test_english_browser_still_gets_chinese_until_the_user_switches(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="zh-hans"' in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'lang="en"' in page


@pytest.mark.django_db
def test_the_chinese_admin_index_has_no_english_sections(superuser):
    import re

    from django.test import Client

    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(superuser)
    text = re.sub(r"<[^>]+>", " ", c.get("/admin/").content.decode())
    for english in ("Axes", "Task Results", "Tasks Database Backend", "Access attempts", "Access logs",
                    "Model name", "Add link"):
        assert english not in text
    assert "登录锁定" in text and "后台任务" in text
