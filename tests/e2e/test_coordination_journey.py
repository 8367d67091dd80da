"""An item through the operations coordination meeting, in headless Chromium: the business
department drafts and submits it, internal control gives its opinion but legal affairs does not, so
the secretariat's first decision is refused until the chair (a branch leader) waives the missing
review with a reason; the secretariat then approves it on a condition (the minutes carry the waiver), the condition is met and signed off (the item
gets its approval number), the secretariat releases it, one outlet head completes its work order
while the other has only acknowledged it, an outlet checks an approval number — a valid one and an
unknown one — and then the secretariat revokes the approval: the open work order is cancelled, its
outlet head is notified, and the verify page says revoked."""

import importlib
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.apps import apps as django_apps
from django.utils import translation

from branchops.coordination.models import Condition, Item, ItemStatus
from branchops.core import clock
from branchops.core.workdays import add_working_days
from branchops.dispatch.models import WorkOrder
from branchops.org.roles import Role
from tests.conftest import PASSWORD
from tests.coordination.conftest import coord_bank  # noqa: F401  (fixture)

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ITEM_PAGE = re.compile(r"/coordination/items/(\d+)/$")
TITLE = "新版手机银行上线网点推广"
CONCERN = "推广话术未提示理财产品风险"
CONDITION = "服务话术补充风险提示并经内控合规部确认"
PROOF = "内控合规部确认的话术定稿"
EVIDENCE = "话术定稿已由内控合规部书面确认（附邮件）"
UNKNOWN_NUMBER = "运统〔2099〕第999号"
REVOKE_REASON = "监管通知暂停该类推广"


@pytest.fixture
def review_dimensions(transactional_db):
    """Transactional tests flush what the data migration seeded: put the review dimensions back
    before ``coord_bank`` gives the review departments their remits."""
    seed = importlib.import_module("branchops.coordination.migrations.0002_review_dimensions")
    seed.load(django_apps, None)
    importlib.import_module("branchops.coordination.migrations.0008_review_gate").load(django_apps, None)


@pytest.fixture
def journey_bank(review_dimensions, coord_bank, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    coord_bank.person("head12", coord_bank.o12, [Role.OUTLET_HEAD], post=coord_bank.head)
    return coord_bank


def signed_in(browser, live_server, username, path="/"):
    """A browser of its own for the user, signed in through the sign-in page and taken on to
    ``path`` (as when following a link from a notification)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30000)  # a long journey on a shared, busy machine
    page.goto(f"{live_server.url}/accounts/login/?{urlencode({'next': path})}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{path}")
    return page


def field(label):
    """A form field's label as rendered, with or without the required-field asterisk."""
    return re.compile(rf"^{re.escape(label)}(\s*\*)?$")


def follow(page, target):
    """Click a link or a form's submit button and wait for the page it (or its redirect) loads."""
    with page.expect_navigation():
        target.click()


def follow_confirmed(page, button):
    """Submit a form that asks "are you sure?" first (``data-confirm``), saying yes."""
    page.once("dialog", lambda dialog: dialog.accept())
    follow(page, button)


def open_panel(details):
    """Open a folded panel (<details>) by its summary line."""
    details.locator(":scope > summary").click()
    expect(details).to_have_js_property("open", True)


def told(page, text):
    """The page shows the message of the action just done."""
    expect(page.get_by_role("alert").filter(has_text=text).first).to_be_visible()


@pytest.fixture
def moved_clock():
    """The journey moves the core clock to the meeting's day (a meeting is not held before it)."""
    yield
    clock.release()


def test_item_from_draft_to_outlets_and_verification(browser, live_server, journey_bank, tmp_path, moved_clock):
    b = journey_bank
    url = live_server.url
    start = clock.today() + timedelta(days=14)
    end = start + timedelta(days=13)
    script = tmp_path / "新版手机银行服务话术.txt"
    script.write_text("您好，新版手机银行已上线，我来帮您完成首次登录。\n", encoding="utf-8")

    # 1. The business department drafts the item through the form, attaches the service script
    #    and submits it: the pre-check findings appear.
    pfb = signed_in(browser, live_server, "pfb1", "/coordination/")
    follow(pfb, pfb.get_by_role("link", name="新建事项"))
    pfb.get_by_label(field("标题")).fill(TITLE)
    pfb.get_by_label(field("类型")).select_option(label="新业务或新产品上线")
    pfb.get_by_label(field("紧急程度")).select_option(label="重要")
    pfb.get_by_label(field("背景及方案")).fill("新版手机银行上线，需网点配合向到店客户推广")
    pfb.get_by_label(field("网点需完成的工作")).fill("向到店客户介绍新功能，协助老年客户下载并完成首次登录")
    pfb.get_by_label(field("无法线上化/集约化处理的原因")).fill(
        "老年客户首次登录需要面对面指导和身份核验，无法完全通过线上或集中作业完成")
    pfb.get_by_label(field("涉及客户")).check()
    pfb.get_by_label(field("对客户的影响")).fill("到店客户办理时间每人约增加五分钟")
    pfb.get_by_label(field("按清单")).check()
    pfb.get_by_label(field("所列网点")).select_option(label=["福田中心网点（SZ0101）", "福田卫星网点（SZ0102）"])
    pfb.get_by_label(field("每网点工作量（人时）")).fill("3")
    pfb.get_by_label(field("实施期开始")).fill(start.isoformat())
    pfb.get_by_label(field("实施期结束")).fill(end.isoformat())
    follow(pfb, pfb.get_by_role("button", name="保存草稿"))
    expect(pfb).to_have_url(ITEM_PAGE)
    item_pk = int(ITEM_PAGE.search(pfb.url).group(1))
    item_path = f"/coordination/items/{item_pk}/"
    item_url = f"{url}{item_path}"
    told(pfb, "已起草")
    attach = pfb.locator("form[action$='/attach/']")
    attach.get_by_label(field("类型")).select_option(label="服务话术")
    attach.get_by_label(field("文件")).set_input_files(script)
    follow(pfb, attach.get_by_role("button", name="上传"))
    told(pfb, "附件已上传。")
    expect(pfb.locator("#attachments")).to_contain_text(script.name)
    follow(pfb, pfb.get_by_role("button", name="提交上会"))
    told(pfb, "事项已提交：已列入下次会议议程。")
    precheck = pfb.locator("#precheck")
    expect(precheck.locator("[data-finding=no_training]")).to_contain_text("涉及客户的事项未附培训材料。")
    expect(precheck.locator("[data-finding=no_emergency_plan]")).to_contain_text("未附应急预案。")
    expect(precheck.locator("[data-finding=no_script]")).to_have_count(0)  # the script is attached
    item = Item.objects.get(pk=item_pk)
    assert item.status == ItemStatus.SUBMITTED and item.meeting is not None
    assert set(item.outlets.all()) == {b.o11, b.o12}

    # 2. Each review department asked gives its opinion: internal control raises a concern and
    #    proposes a condition, legal affairs has none.
    icc = signed_in(browser, live_server, "icc1", item_path)
    opinion = icc.locator("form[data-form=opinion]")
    dimension = opinion.locator("fieldset[data-dimension=compliance]")
    dimension.get_by_label(field("有异议")).check()
    dimension.get_by_label(field("异议")).fill(CONCERN)
    dimension.get_by_label(field("建议的整改条件")).fill(CONDITION)
    opinion.get_by_label(field("有条件通过")).check()
    follow(icc, opinion.get_by_role("button", name="出具评议意见"))
    told(icc, "评议意见已记录。")
    expect(icc.locator("#opinions [data-opinion=ICC]")).to_contain_text(CONDITION)

    # Legal affairs gives no opinion: consumer rights (its remit) stays unreviewed.

    # 3. On the meeting's day (not before: the meeting is held on its date), the secretariat opens
    #    the meeting the item was put on: the item is on the agenda (not in
    #    the consent block, it has a concern). It freezes the agenda, records the attendance,
    #    approves the item on one condition and closes the meeting; the minutes say 有条件通过.
    clock.travel_to(clock.instant(item.meeting.held_on, 14))
    due = add_working_days(item.meeting.held_on, 3)  # after the decision, on a working day
    sec = signed_in(browser, live_server, "sec1", "/coordination/meetings/")
    with translation.override("zh-hans"):
        meeting_name = str(item.meeting)
    follow(sec, sec.get_by_role("link", name=meeting_name, exact=True))
    row = sec.locator(f"#agenda [data-agenda-item='{item_pk}']")
    expect(row).to_contain_text(TITLE)
    expect(row).to_contain_text(CONDITION)  # the proposed condition, for the meeting to see
    follow_confirmed(sec, sec.get_by_role("button", name="冻结议程"))
    told(sec, "议程已冻结")
    attendance = sec.locator("form[action$='/attendance/']")
    attendees = [b.users[u] for u in ("leader1", "sec1", "pfb1", "icc1", "legal1")]
    attendance.get_by_label(field("出席")).select_option([str(u.pk) for u in attendees])
    attendance.get_by_label(field("主持人")).select_option(str(b.users["leader1"].pk))
    follow(sec, attendance.get_by_role("button", name="记录出席情况"))
    told(sec, "出席情况已记录。")
    expect(sec.locator("#quorum")).to_contain_text("已达法定人数")
    # Deciding without legal affairs' review is refused, naming what is missing.
    meeting_url = sec.url
    open_panel(row.locator("details:has(form[data-form=decide])"))
    row.locator("form[data-form=decide]").get_by_label(field("通过")).check()
    follow(sec, row.locator("form[data-form=decide]").get_by_role("button", name="记录决定"))
    told(sec, "评议不完整")
    told(sec, "消费者权益保护（法律事务部：未提交意见）")
    item.refresh_from_db()
    assert item.status == ItemStatus.SUBMITTED
    # The chair — a branch leader, read-only elsewhere — waives it on the item page with a reason.
    chair = signed_in(browser, live_server, "leader1", item_path)
    waive = chair.locator("form[data-form=waive]")
    waive.get_by_label("消费者权益保护").check()
    waive.get_by_label(field("豁免理由")).fill("法律事务部书面确认无消保影响")
    follow(chair, waive.get_by_role("button", name="按此理由豁免"))
    told(chair, "评议已豁免")
    expect(chair.locator("#waivers [data-waiver=consumer_rights]")).to_contain_text("法律事务部书面确认无消保影响")
    sec.goto(meeting_url)
    open_panel(row.locator("details:has(form[data-form=decide])"))
    decide = row.locator("form[data-form=decide]")
    decide.get_by_label(field("有条件通过")).check()
    decide.get_by_label(field("理由")).fill("同意推广，话术须补充风险提示")
    open_panel(decide.locator("details"))  # the condition rows
    condition = decide.locator("[data-condition-row='1']")
    condition.get_by_label(field("条件1")).fill(CONDITION)
    condition.get_by_label(field("责任部门")).select_option(label="个人金融业务部")
    condition.get_by_label(field("截止日期")).fill(due.isoformat())
    condition.get_by_label(field("达标证明")).fill(PROOF)
    follow(sec, decide.get_by_role("button", name="记录决定"))
    told(sec, "决定已记录。")
    expect(row.locator("[data-decision=conditional]")).to_have_text("有条件通过")
    follow_confirmed(sec, sec.get_by_role("button", name="结束会议"))
    told(sec, "会议已结束，纪要已签发：请主持人审批。")
    follow(sec, sec.get_by_role("link", name="会议纪要", exact=True))
    minutes = sec.locator(f"[data-minutes-item='{item_pk}']")
    expect(minutes).to_contain_text("有条件通过")
    expect(minutes).to_contain_text(CONDITION)
    expect(minutes).to_contain_text(PROOF)
    expect(sec.locator("[data-attendance=present]")).to_contain_text("legal1")
    expect(minutes.locator("[data-minutes-waiver=consumer_rights]")).to_contain_text("法律事务部书面确认无消保影响")
    # Closing issued the minutes (a draft still); the secretariat cannot approve what it issued,
    # the chair approves: numbered (文号) and stored.
    expect(sec.locator("[data-minutes-state=issued]")).to_be_visible()
    expect(sec.locator("[data-action=approve]")).to_have_count(0)
    chair.goto(sec.url)
    follow_confirmed(chair, chair.locator("[data-action=approve]"))
    told(chair, "会议纪要已审批")
    chair.goto(sec.url)
    expect(chair.locator("[data-minutes-state=approved]")).to_be_visible()
    expect(chair.locator("[data-minutes-number]")).to_contain_text("运管纪要〔")
    item.refresh_from_db()
    assert item.status == ItemStatus.CONDITIONAL and not item.approval_number

    # 4. The owner department reports the condition met; the secretariat signs it off and the
    #    item gets its approval number.
    pfb.goto(item_url)
    condition = pfb.locator("#conditions [data-condition]")
    expect(condition).to_have_attribute("data-condition-status", Condition.Status.OPEN)
    expect(condition).to_contain_text("个人金融业务部")
    condition.get_by_label(field("证明材料")).fill(EVIDENCE)
    follow(pfb, condition.get_by_role("button", name="报告达标"))
    told(pfb, "已报告整改条件达标")
    sec.goto(item_url)
    condition = sec.locator("#conditions [data-condition]")
    expect(condition).to_contain_text(EVIDENCE)
    follow(sec, condition.get_by_role("button", name="验收通过"))
    told(sec, "整改条件已验收通过")
    expect(condition).to_have_attribute("data-condition-status", Condition.Status.SIGNED_OFF)
    number = sec.locator("#approval [data-approval-number]").inner_text().strip()
    item.refresh_from_db()
    assert item.status == ItemStatus.APPROVED and number == item.approval_number
    assert re.fullmatch(r"运统〔\d{4}〕第\d{3}号", number)

    # 5. The secretariat releases it: one work order per target outlet.
    release = sec.locator("form[data-form=release]")
    follow(sec, release.get_by_role("button", name="下发至2个网点"))
    told(sec, "已作为下发工单下发至网点。")
    expect(sec.locator("[data-figure=work_orders]")).to_contain_text("已完成0/2个下发工单")
    orders = WorkOrder.objects.filter(item=item)
    assert {wo.institution_id for wo in orders} == {b.o11.pk, b.o12.pk}
    assert {wo.approval_number for wo in orders} == {number}

    # 6. Each outlet head finds the work order and acknowledges it; the first marks it done with a
    #    note, the second is still at work. The secretariat's item page shows the work completed.
    for username, outlet in (("head11", b.o11), ("head12", b.o12)):
        head = signed_in(browser, live_server, username, "/dispatch/")
        follow(head, head.get_by_role("link", name=TITLE))
        expect(head.locator("[data-approval-number]")).to_have_text(number)
        expect(head.locator("dd").filter(has_text=outlet.code)).to_contain_text(outlet.name)
        follow(head, head.get_by_role("button", name="签收"))
        told(head, "下发工单已签收。")
        if username == "head12":
            head12 = head
            continue
        done = head.locator("form[action$='/done/']")
        done.get_by_label(field("完成情况")).fill(f"{outlet.name}已完成推广，协助32位客户完成首次登录")
        follow(head, done.get_by_role("button", name="标记为已完成"))
        told(head, "下发工单已标记为已完成。")
        head.context.close()
    sec.goto(item_url)
    expect(sec.locator("[data-figure=work_orders]")).to_contain_text("已完成1/2个下发工单")
    expect(sec.locator("h1 + div [data-status]")).to_have_attribute("data-status", ItemStatus.RELEASED)

    # 7. An outlet checks the number on the instruction it received: valid, with the item, the
    #    scope (its own outlet included) and the window. An unknown number is plainly refused.
    teller = signed_in(browser, live_server, "staff11", "/coordination/")
    follow(teller, teller.get_by_role("link", name="核验批准文号"))
    teller.get_by_label(field("您收到的工作要求上的批准文号")).fill(number)
    follow(teller, teller.get_by_role("button", name="复核", exact=True))
    valid = teller.locator("[data-verify=valid]")
    expect(valid).to_contain_text("批准文号有效")
    expect(valid).to_contain_text(TITLE)
    expect(valid).to_contain_text("个人金融业务部")
    expect(valid).to_contain_text("2个网点")
    expect(valid.locator("[data-own-outlet=yes]")).to_contain_text("包括您的网点（福田中心网点）")
    expect(valid).to_contain_text(f"{start:%Y-%m-%d} – {end:%Y-%m-%d}")
    # Typed loosely — other brackets, no 第/号, no leading zeros — it is still found, shown as issued.
    loose = re.sub(r"〔(\d+)〕第0*(\d+)号", r"(\1)\2", number)
    assert loose != number
    teller.get_by_label(field("您收到的工作要求上的批准文号")).fill(loose)
    follow(teller, teller.get_by_role("button", name="复核", exact=True))
    expect(teller.locator("[data-verify=valid]")).to_contain_text(number)
    teller.get_by_label(field("您收到的工作要求上的批准文号")).fill(UNKNOWN_NUMBER)
    follow(teller, teller.get_by_role("button", name="复核", exact=True))
    refused = teller.locator("[data-verify=unknown]")
    expect(refused).to_contain_text("未知的批准文号")
    expect(refused).to_contain_text("此项工作未经运营沟通会评议（或其批准已失效）：您的网点可不予实施。")
    expect(refused).to_contain_text(UNKNOWN_NUMBER)
    expect(teller.locator("[data-verify=valid]")).to_have_count(0)

    # 8. The secretariat revokes the approval after release, with a reason: the second outlet's open
    #    work order is cancelled (the done one stays done), its head is told, and the verify page
    #    now says revoked.
    revoke = sec.locator("details:has(form[action$='/revoke/'])")
    open_panel(revoke)
    revoke.get_by_label(field("原因")).fill(REVOKE_REASON)
    follow_confirmed(sec, revoke.get_by_role("button", name="吊销"))
    told(sec, "批准文号已撤销：未完成的工单已取消")
    expect(sec.locator("#approval")).to_contain_text(REVOKE_REASON)
    statuses = dict(WorkOrder.objects.filter(item=item).values_list("institution_id", "status"))
    assert statuses == {b.o11.pk: WorkOrder.Status.DONE, b.o12.pk: WorkOrder.Status.CANCELLED}
    head12.reload()
    expect(head12.locator("[data-cancel-reason]")).to_contain_text(REVOKE_REASON)
    expect(head12.get_by_role("button", name="标记为已完成")).to_have_count(0)
    head12.goto(f"{url}/notifications/")
    expect(head12.locator("main")).to_contain_text(f"工单已取消：{TITLE}（{number}）")
    teller.get_by_label(field("您收到的工作要求上的批准文号")).fill(number)
    follow(teller, teller.get_by_role("button", name="复核", exact=True))
    revoked = teller.locator("[data-verify=revoked]")
    expect(revoked).to_contain_text("该批准文号已撤销")
    expect(revoked).to_contain_text(REVOKE_REASON)
    expect(teller.locator("[data-verify=valid]")).to_have_count(0)
