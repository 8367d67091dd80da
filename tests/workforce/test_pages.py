from datetime import timedelta

import pytest
from openpyxl import load_workbook

from branchops.core import clock
from branchops.workforce import services
from branchops.workforce.models import StaffSkill

pytestmark = pytest.mark.django_db


def test_lists_render_with_empty_states_and_export(wf, login, settings, tmp_path):
    settings.BRANCHOPS_QUEUE_DIR = tmp_path
    c = login(wf.users["head21"])
    for url, empty in (("/workforce/certificates/", "没有符合条件的证书"), ("/workforce/mentorships/", "没有符合条件的带教")):
        assert empty in c.get(url).content.decode()
    c = login(wf.users["sec1"])
    html = c.get("/workforce/").content.decode()
    assert "csm21" in html and "客服经理" in html
    for url in ("/workforce/", "/workforce/certificates/", "/workforce/uncertified/", "/workforce/mentorships/",
                "/workforce/cross-post/"):
        r = c.get(url + "?format=xlsx")
        assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats"), url
    from io import BytesIO
    ws = load_workbook(BytesIO(c.get("/workforce/uncertified/?format=xlsx").content)).active
    assert ws.max_row == 5  # header + the four managers without the licence
    assert "七岗模式" in c.get("/workforce/lists/").content.decode()


def test_person_page_offers_and_runs_actions(wf, login):
    head = wf.users["head11"]
    c = login(head)
    pk = wf.staff["csm11"].pk
    html = c.get(f"/workforce/people/{pk}/").content.decode()
    assert f"/workforce/people/{pk}/grant_skill/" in html and "登记证书" in html
    r = c.post(f"/workforce/people/{pk}/grant_skill/", {"skill": wf.skill["cash"].pk})
    assert r.status_code == 302
    assert StaffSkill.objects.filter(staff_id=pk, skill=wf.skill["cash"]).exists()
    # The service's refusal comes back as a message naming the field; nothing changes.
    r = c.post(f"/workforce/people/{pk}/grant_skill/", {"skill": wf.skill["smart_review"].pk}, follow=True)
    assert "智能审核授权资格" in r.content.decode()
    assert not StaffSkill.objects.filter(staff_id=pk, skill=wf.skill["smart_review"]).exists()
    # The branch leader reads but is offered nothing, and a forged POST is 403.
    leader = login(wf.users["leader1"])
    assert "/grant_skill/" not in leader.get(f"/workforce/people/{pk}/").content.decode()
    assert leader.post(f"/workforce/people/{pk}/grant_skill/", {"skill": wf.skill["cash"].pk}).status_code == 403
    # Another outlet's person: 404 to the outlet head.
    c = login(head)
    assert c.get(f"/workforce/people/{wf.staff['csm21'].pk}/").status_code == 404


def test_mentorship_page_and_home_section(wf, login):
    head = wf.users["head11"]
    services.grant_skill(head, wf.staff["csm11"], skill=wf.skill["acceptance"])
    m = services.start_mentorship(head, wf.staff["csm11"], mentor=wf.staff["csm11b"], rotation_plan="轮岗四周",
                                  due_on=clock.today() + timedelta(days=30))
    c = login(head)
    assert "登记业务考试" in c.get(f"/workforce/mentorships/{m.pk}/").content.decode()
    c.post(f"/workforce/mentorships/{m.pk}/exam/", {"on": clock.today().isoformat(), "score": 88})
    c.post(f"/workforce/mentorships/{m.pk}/assess/", {"on": clock.today().isoformat(), "passed": "1"})
    home = c.get("/").content.decode()
    assert "应转尽转" in home and "csm11" in home
    assert "csm11" in c.get("/workforce/mentorships/?due=1").content.decode()


def test_phone_width_markup_and_bad_filters(wf, login):
    c = login(wf.users["sec1"])
    r = c.get("/workforce/certificates/?state=nope&outlet=abc&page=99999")
    assert r.status_code == 200
    r = c.get("/workforce/cross-post/?start=2026-13-01&end=x")
    assert r.status_code == 200
