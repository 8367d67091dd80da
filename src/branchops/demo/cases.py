"""Deterministic demo cases: a year of complaints, outlet feedback, support requests and
rectifications at the demo branch's outlets, up to the moment the demo is built (``data.anchor``:
the core clock), so the branch looks alive on the day it is built.

Every case is written through ``branchops.cases.services`` — opened, accepted, assigned, triaged,
paused, resolved, called back, verified and closed by the demo accounts and the outlets' own
staff — so the records, timelines, history and notifications are the ones the application itself
writes. The plan is drawn from one fixed-seed generator (``random.Random(2026)``) and staff,
outlets and categories are taken in a fixed order, so the same database state gives the same cases.

Every service call runs with the core clock frozen at the moment that step is planned for
(``_Builder.call`` = ``data.call_at``: ``with clock.frozen(when)``); a step planned after the anchor
has not happened yet and is left out. The SLA worker runs at 07:00 on the anchor's day (or just
before the anchor when the demo is built earlier than that): the services themselves stamp what happens (opened, responded,
resolved, closed, called back, verified, extensions, reminders, escalations), the timeline, the
history rows and the notifications, and apply their rules as on that day. Nothing is rewritten
afterwards, and the clock is as it was after each call.

A living branch has few overdue cases: old cases are resolved and closed in their history; the open
ones are mostly recent and within their deadline (under one open case in ten is overdue).
Feedback the secretariat raises to the coordination meeting goes onto the next meeting's agenda
(``cases.services.triage_feedback``); that meeting is held on its day (quorate, chaired by the demo's
chair account), answers it and names who follows up, and the follow-up done resolves the case
(``coordination.services``). The meetings of the coordination demo's current weeks (``CURRENT_WEEKS``
before the anchor) are that demo's: feedback received then waits for its triage, which that demo does.

Idempotent: when the demo outlets already hold cases received in the demo year, nothing is done
and the result says "already present". Running ``branchops demo`` again never duplicates them.
"""

from __future__ import annotations

import heapq
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from branchops.cases import services
from branchops.cases.models import (
    OPEN_STATUSES,
    Case,
    CaseType,
    Category,
    ComplaintCode,
    ComplaintDetail,
    Escalation,
    Outcome,
    Priority,
    Reminder,
    Status,
)
from branchops.cases.sla import FastCalendar
from branchops.coordination import services as coord
from branchops.coordination.models import FeedbackEntry, Meeting
from branchops.core import clock
from branchops.core.models import Notification
from branchops.core.services import mark_notifications_read
from branchops.core.workdays import calendar as working_calendar
from branchops.dispatch.models import WorkOrder
from branchops.org.models import Department, Institution, Level, Staff

from .data import BRANCH, COMPOUND_SURNAMES, SEED, _Names, _say, anchor, call_at, current_from
from .feedback import REVIEW_DEPARTMENTS, answer_open_entries, raise_to_meeting

#: The demo year: the 365 days up to the anchor's day.
YEAR_DAYS = 365

#: Cases at scale 1: about 25 per outlet over the year. Every case goes through three to eight
#: service calls (~30 ms of CPU per case on SQLite, most of it in the services' ORM work), so 3,000
#: cases took ~2.5 minutes; 1,500 take ~45–55 s (measured on a 2-CPU machine).
BASE_CASES = 1500
SHARES = {
    CaseType.COMPLAINT: 0.40,
    CaseType.SUPPORT: 0.30,
    CaseType.FEEDBACK: 0.15,
    CaseType.RECTIFICATION: 0.15,
}

# Support categories → the demo departments responsible (set once when the category has none).
SUPPORT_DEPARTMENTS = {
    "REPAIR": "FINTECH", "REPAIR-SMART": "FINTECH", "REPAIR-ATM": "FINTECH",
    "REPAIR-AC": "OFFICE", "REPAIR-LIGHT": "OFFICE",
    "ENV": "OFFICE", "ENV-AIR": "OFFICE", "ENV-TEMP": "OFFICE",
    "SUPPLY": "OPS", "SUPPLY-FORMS": "OPS", "SUPPLY-OFFICE": "OPS",
    "OTHER": "OPS",
}

# How often a recent case (received in the last STUCK_DAYS) whose deadline has passed is still open,
# up to OVERDUE_SHARE of all cases. None by default: at full size the branch already has its
# stragglers elsewhere (the inspections' one overdue finding, feedback the meeting answered after its
# extended deadline); one more here made 3 of 27 open cases overdue, over the one-in-ten line (measured
# on the full demo, 2026-12-08). Older cases were all settled.
STUCK = 0.04
STUCK_DAYS = 30
OVERDUE_SHARE = 0.0
LATE = 0.09  # share of cases resolved a few working days after their deadline

OUTLET_WEIGHT = {"flagship": 3.0, "comprehensive": 2.0, "light": 1.2, "community": 1.0, "self_service": 0.5}
FRONTLINE_POSTS = ("lobby_manager", "lobby_staff", "customer_service_manager", "teller", "operations_supervisor")

# --------------------------------------------------------------------------------------------
# Texts
# --------------------------------------------------------------------------------------------

COMPLAINT_CHANNELS = [("on_site", 46), ("hotline", 30), ("online", 10), ("letter", 3), ("regulator", 8),
                      ("media", 3)]

# category: weight, cause code, business codes, [(title, what happened)]
COMPLAINTS = {
    "WAIT": (24, "C.01", ["B.01", "B.03.01", "B.04.01", "B.05.01", "B.04.02"], [
        ("排队等候时间过长", "取号后等候约{m}分钟仍未叫号，大堂仅开放两个窗口"),
        ("叫号后长时间无人办理", "叫号后到达窗口，柜员离柜约{m}分钟未返回"),
        ("午间窗口开放不足", "午间高峰仅开放一个对私窗口，等候{m}分钟"),
        ("贵宾窗口长期空闲未分流普通客户", "普通客户排队{m}分钟，贵宾窗口空闲未分流"),
    ]),
    "SERVICE": (22, "C.01", ["B.01", "B.03.01", "B.04.01", "B.05.01", "B.05.02"], [
        ("柜员服务态度生硬", "办理业务时柜员语气生硬、不耐烦，未解释需补充的材料"),
        ("大堂经理未主动引导", "进门后无人询问需求，在自助区操作失败后无人协助"),
        ("员工未使用规范服务用语", "柜员未起身迎接、未使用“您好”“请稍候”等规范用语"),
        ("业务解释不清导致反复跑腿", "前后两次到网点均被告知材料不齐，每次要求不同"),
    ]),
    "PROCESS": (14, "C.03", ["B.04.01", "B.04.02", "B.02.01.02", "B.03.01", "B.07"], [
        ("开户资料要求过多", "开立个人账户时被要求提供工作证明等额外资料"),
        ("销户流程繁琐", "办理销户需先解约多项签约业务，耗时较长"),
        ("大额取款未提前告知需预约", "取现金{n}万元被告知需提前一天预约，未在公示中看到"),
        ("异地开立的账户无法在本网点办理挂失补卡", "异地账户挂失补卡被要求回开户地办理"),
    ]),
    "FACILITY": (12, "C.02", ["B.01", "B.03.01", "B.05.01", "B.04.04"], [
        ("ATM吞卡", "在自助银行取款时银行卡被吞，联系电话长时间无人接听"),
        ("智能柜台故障无法办理", "智能柜台多次读卡失败，等候后仍需转人工窗口"),
        ("取款机未吐钞但账户已扣款", "ATM取款{n}千元未吐钞，账户显示已扣款"),
        ("叫号机故障导致秩序混乱", "叫号机故障，客户自行排队发生争执"),
    ]),
    "ERROR": (8, "C.01", ["B.01", "B.04.02", "B.05.01"], [
        ("存款金额录入错误", "存入现金后回单金额与实际不符，经查为柜员录入错误"),
        ("汇款收款人信息录入有误", "跨行汇款因柜员录入收款人户名有误被退回，延误{n}天"),
        ("业务回单打印错误", "定期存单打印的期限与约定不一致"),
    ]),
    "FEE": (7, "C.07", ["B.04.01", "B.04.02", "B.03.01", "B.03.02"], [
        ("账户管理费扣收有异议", "账户被扣收小额账户管理费，开户时未被告知"),
        ("跨行转账手续费有异议", "柜面跨行转账收取手续费，与手机银行免费不一致"),
        ("短信通知费未经同意扣收", "未申请短信通知服务却被按月扣费"),
    ]),
    "SALES": (6, "C.04", ["B.09", "B.08.01", "B.08.02", "B.03.02"], [
        ("理财产品风险提示不足", "购买理财产品时未充分提示风险，到期收益低于预期"),
        ("办理存款时被推销保险产品", "本意办理定期存款，被引导购买分红型保险"),
        ("办卡时捆绑开通业务", "办理借记卡时被要求同时开通信用卡和手机银行"),
    ]),
    "INFO": (3, "C.11", ["B.06"], [
        ("个人信息疑似泄露", "在网点办理业务后频繁接到营销电话，怀疑信息泄露"),
        ("柜面未遮挡客户信息", "办理业务时屏幕显示的客户信息被后面客户看到"),
    ]),
    "OTHER": (4, "C.99", ["B.99", "B.01"], [
        ("实际营业时间与公示不符", "按公示时间到达网点，网点已停止办理业务"),
        ("网点停车位不足", "网点门前停车位被占用，无法停车办理业务"),
    ]),
}
CHANNEL_CODES = {  # JR/T 0169 business-handling channel codes, by complaint category
    "FACILITY": [("A.01.02", 70), ("A.01.01", 30)],
    "*": [("A.01.01", 82), ("A.01.03.03", 10), ("A.01.03.02", 5), ("A.01.02", 3)],
}
SOLUTIONS = {
    "WAIT": "已向客户致歉，说明当日客流情况，并安排优先办理",
    "SERVICE": "网点负责人当面致歉，对当事员工进行批评教育",
    "PROCESS": "已向客户解释制度要求，并协助客户一次性备齐资料办结业务",
    "FACILITY": "已协调厂商处理设备故障，款项/银行卡已于当日退还客户",
    "ERROR": "已更正差错并向客户致歉，差错已纳入柜员考核",
    "FEE": "已核实收费依据并向客户解释，按规定退还相关费用",
    "SALES": "已向客户说明产品情况并按客户意愿办理，相关人员已约谈",
    "INFO": "已核查业务系统访问记录并向客户反馈核查结果",
    "OTHER": "已向客户解释并致歉，调整公示信息",
}
ROOT_CAUSES = {
    "WAIT": ("午间与月初高峰弹性窗口未按排班开放", "实行午间错峰就餐，高峰时段增开弹性窗口并由大堂经理分流"),
    "SERVICE": ("员工服务规范执行不到位，新员工培训不足", "组织全员服务规范培训，纳入每周晨会和神秘人检查"),
    "PROCESS": ("业务办理须知未公示，员工对制度理解不一致", "制作业务办理须知并在大堂公示，开展制度学习"),
    "FACILITY": ("设备老化，日常巡检未覆盖读卡模块", "更换设备部件并将巡检频次由每周一次提高到每日一次"),
    "ERROR": ("复核环节流于形式", "重申双人复核要求，差错纳入柜员月度考核"),
    "FEE": ("开户时收费告知不充分", "开户环节增加收费项目告知书签字确认"),
    "SALES": ("营销话术未经合规审核", "营销话术统一报内控合规部审核后使用"),
    "INFO": ("柜面屏幕朝向不当", "调整屏幕朝向并加装防窥膜"),
    "OTHER": ("公示信息更新不及时", "建立公示信息月度核对机制"),
}
UNSUPPORTED = "经核实业务办理符合制度规定，已向客户耐心解释相关规定，客户表示知悉"
ON_THE_SPOT = "大堂经理现场安抚并协调优先办理，向客户解释说明，客户当场表示满意（诉前化解）"
CALLBACK_NOTES = {
    ComplaintDetail.Satisfaction.SATISFIED: "客户对处理结果表示满意",
    ComplaintDetail.Satisfaction.BASICALLY: "客户表示基本满意，希望网点继续改进",
    ComplaintDetail.Satisfaction.UNSATISFIED: "客户对处理结果不满意，已做好解释",
    ComplaintDetail.Satisfaction.UNREACHABLE: "三次致电均未接通，已发短信告知处理结果",
}
SATISFACTION = [(ComplaintDetail.Satisfaction.SATISFIED, 70), (ComplaintDetail.Satisfaction.BASICALLY, 18),
                (ComplaintDetail.Satisfaction.UNSATISFIED, 7), (ComplaintDetail.Satisfaction.UNREACHABLE, 5)]

# Major complaints (fast track): channel, category, business code, title, description.
MAJORS = [
    ("media", "SERVICE", "B.05.01", "老年客户取款受阻引发网络舆情",
     "八旬客户因本人无法到场取款与网点发生争执，家属拍摄视频上传短视频平台，播放量较大"),
    ("regulator", "SALES", "B.09", "理财产品亏损群体投诉（监管转办）",
     "多名客户联名反映在网点购买的理财产品亏损，称销售时未揭示风险，经监管部门转办"),
    ("hotline", "FACILITY", "B.01", "存取款一体机故障致客户资金未入账",
     "客户存入现金{n}万元，设备故障未入账，客户情绪激动并表示将向媒体反映"),
    ("regulator", "INFO", "B.06", "客户信息疑似泄露后遭电信诈骗（监管转办）",
     "客户称在网点办理业务后遭精准诈骗，怀疑个人信息从网点泄露"),
    ("on_site", "SERVICE", "B.01", "客户在营业厅聚集维权",
     "多名客户在营业厅聚集，就存款产品到期支取问题要求答复，影响正常营业"),
    ("media", "PROCESS", "B.04.01", "残疾客户办理业务受阻被媒体报道",
     "轮椅客户因无障碍通道被占用无法进入网点，被本地媒体报道"),
    ("hotline", "ERROR", "B.04.02", "大额汇款错汇导致客户资金损失",
     "柜员录入错误导致客户{n}万元汇款错汇他行账户，追回前客户多次投诉"),
    ("regulator", "FEE", "B.02.01.01", "房贷提前还款违约金收取争议（监管转办）",
     "客户对提前还款违约金计算有异议，向金融监管部门投诉后转办"),
]

FEEDBACK = {  # category: weight, preferred triage, department when handed over, [(title, description)]
    "SYSTEM": (26, "assign", "FINTECH", [
        ("新版柜面系统开户交易响应慢", "高峰时段开户交易单笔耗时超过5分钟，客户等候时间明显增加"),
        ("智能柜台签约功能频繁报错", "智能柜台手机银行签约环节频繁报错，需转人工办理"),
        ("对公开户预约系统无法提交", "企业客户线上预约开户时提交失败，客户到网点反映"),
        ("叫号系统与柜面系统业务类型不一致", "叫号机取号类型与柜面系统业务分类不一致，影响统计"),
    ]),
    "PROCESS": (20, "answer", "ICC", [
        ("代发工资开户需多次录入客户信息", "批量代发开户需在三个系统重复录入，易出差错"),
        ("个人养老金开户需重复采集影像", "同一客户在同一网点办理两项业务需重复采集影像"),
        ("老年客户代办取款流程不明确", "子女代老人取款所需材料各网点掌握尺度不一"),
    ]),
    "WORKLOAD": (22, "to_meeting", "PFB", [
        ("同期下派营销任务过多", "本月同时收到五个部门下派的营销和宣传任务，网点人手不足"),
        ("多个部门重复要求报送同类台账", "不同部门要求报送的客户台账内容基本相同，格式不一"),
        ("周末外拓活动与柜面排班冲突", "周末外拓活动要求抽调柜员，影响周末窗口开放"),
        ("临时通知要求当日完成的任务过多", "本周收到三个当日完成的临时任务，均无上会编号"),
    ]),
    "CUSTOMER": (16, "assign", "CPP", [
        ("老年客户现金业务需求集中", "每月养老金发放日老年客户集中，建议设置专门通道"),
        ("外籍客户开户指引不足", "外籍客户开户所需材料无英文指引，沟通耗时"),
        ("客户对新版手机银行操作不熟悉", "大量客户到网点咨询新版手机银行操作"),
    ]),
    "FACILITY": (10, "assign", "OFFICE", [
        ("网点无障碍通道损坏", "无障碍坡道扶手松动，存在安全隐患"),
        ("填单台与座椅老化", "大堂填单台与等候座椅老化破损，影响客户体验"),
    ]),
    "OTHER": (6, "answer", "OFFICE", [
        ("网点宣传物料过期需更换", "大堂宣传折页和海报多项活动已过期"),
        ("网点周边施工影响客户进出", "网点门前道路施工，客户进出不便"),
    ]),
}
FEEDBACK_ANSWERS = {
    "answer": "已答复：相关要求已在分行制度中明确，秘书处将汇总后统一发布操作指引",
    "to_meeting": "提交下一期运营沟通会统筹研究",
    "dept": "已研究并答复网点：{fix}",
}
FEEDBACK_FIXES = {
    "FINTECH": "已定位系统问题，版本修复已上线",
    "ICC": "已梳理流程并发布统一操作口径",
    "PFB": "已调整任务下派节奏并取消重复报送",
    "CPP": "已制定专门服务方案并下发网点执行",
    "OFFICE": "已安排维修与更换",
}

# category: weight by season (winter Dec–Feb, summer Jun–Sep, other), urgent share, [titles]
SUPPORT = {
    "REPAIR-SMART": ((22, 22, 22), 0.1, ["智能柜台读卡器故障", "智能柜台身份证识别失败", "填单机触摸屏失灵",
                                         "智能柜台凭条打印机卡纸"]),
    "REPAIR-ATM": ((18, 18, 18), 0.25, ["ATM频繁吞卡", "存取款一体机钞箱卡钞", "ATM凭条打印机故障",
                                        "ATM屏幕显示异常"]),
    "REPAIR-AC": ((3, 24, 8), 0.15, ["营业厅空调不制冷", "空调漏水", "空调噪音过大"]),
    "REPAIR-LIGHT": ((8, 6, 7), 0.0, ["营业厅照明灯管损坏", "门楣灯箱不亮", "自助银行照明故障"]),
    "SUPPLY-FORMS": ((14, 14, 14), 0.0, ["重要空白凭证申领", "业务单据库存不足", "存折与存单申领"]),
    "SUPPLY-OFFICE": ((12, 12, 12), 0.0, ["打印纸与硒鼓申领", "叫号纸申领", "保洁用品申领"]),
    "ENV-AIR": ((4, 6, 5), 0.0, ["营业厅异味需检测空气质量", "装修后空气质量检测"]),
    "ENV-TEMP": ((16, 0, 1), 0.05, ["营业厅温度低于18℃", "大堂温度过低客户反映寒冷"]),
    "OTHER": ((4, 4, 4), 0.0, ["网点门禁系统故障", "网点外墙渗水"]),
}
SUPPORT_SOLUTIONS = {
    "FINTECH": "厂商工程师已上门更换故障部件，设备恢复正常",
    "OFFICE": "物业与维保单位已上门处理，已恢复正常",
    "OPS": "物品已配送到网点，网点已签收",
}

RECTIFICATIONS = {  # category: weight, channel, evidence required, [titles]
    "MYSTERY": (35, "inspection", "整改说明、员工培训签到表", [
        "神秘人检查：柜员未起身迎接客户", "神秘人检查：大堂经理未主动询问客户需求",
        "神秘人检查：未执行唱收唱付", "神秘人检查：服务结束未使用礼貌用语",
        "神秘人检查：未主动介绍电子渠道"]),
    "VIDEO": (30, "inspection", "整改说明、整改后视频截图", [
        "视频检查：柜员离柜未锁屏", "视频检查：柜面摆放私人物品", "视频检查：营业前未开展晨会",
        "视频检查：高峰时段弹性窗口未开放", "视频检查：大堂无人值守超过10分钟"]),
    "ONSITE": (25, "inspection", "整改前后现场照片", [
        "现场检查：宣传折页过期", "现场检查：填单台物品摆放不符合6S要求", "现场检查：应急预案未张贴",
        "现场检查：无障碍设施被杂物占用", "现场检查：自助设备故障未挂牌提示"]),
    "GRADING": (10, "grading", "整改方案及一个月的超时等候占比数据", [
        "服务等级评价整改：客户超时等候占比偏高", "服务等级评价整改：评价器满意度低于分行平均",
        "服务等级评价整改：规范度检查扣分较多"]),
}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _weighted(rng: random.Random, pairs):
    items, weights = zip(*pairs, strict=True)
    return rng.choices(items, weights=weights)[0]


def _id_number(rng: random.Random) -> str:
    """A well-formed (checksummed) but made-up resident ID number."""
    region = rng.choice(["440303", "440304", "440305", "440306", "440307", "440308", "440309", "430102",
                         "360102", "450102", "510104", "420102", "350102", "441302"])
    born = date(1945, 1, 1) + timedelta(days=rng.randint(0, 60 * 365))
    body = f"{region}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return body + check


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randint(0, 999999999):09d}"


@dataclass
class _Outlet:
    inst: Institution
    weight: float
    head: object  # User
    frontline: list
    ops: object  # the operations supervisor, who raises most support requests
    supervisor: object | None  # the sub-branch's service supervisor


@dataclass(order=True)
class _Job:
    when: datetime
    seq: int
    kind: str = field(compare=False)
    data: dict = field(compare=False, default_factory=dict)


# --------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, scale: float, now: datetime, watch=None):
        self.now = now
        self.watch = watch  # demo.watch.WatchAgenda: its item goes on one of these meetings
        self.today = timezone.localdate(now)
        self.first_day = first_day(self.today)
        self.current_from = current_from(self.today)
        self.meetings: set[int] = set()
        self.rng = random.Random(SEED)
        self.names = _Names(SEED + 11)
        self.cal = FastCalendar(working_calendar, date(self.first_day.year - 1, 1, 1),
                                 date(self.today.year + 1, 12, 31))
        self.total = max(40, round(BASE_CASES * scale))
        self.majors = max(2, min(len(MAJORS), round(len(MAJORS) * scale)))
        self.tz = timezone.get_current_timezone()
        self._load_people()
        self.categories = {(c.case_type, c.code): c for c in Category.objects.select_related("parent", "department")}
        codes = ComplaintCode.objects.filter(effective_from__lte=self.today).exclude(effective_to__lt=self.today)
        self.codes = {(c.dimension, c.code): c for c in codes}
        self.seq = 0
        self.jobs: list[_Job] = []
        self.stats = {"stuck": 0, "for_the_meeting": 0}
        self.overdue_budget = round(self.total * OVERDUE_SHARE)

    # --- people ------------------------------------------------------------------------------

    def _load_people(self):
        staff = list(Staff.objects.filter(is_active=True, user__is_active=True).select_related(
            "user", "post", "institution", "department").order_by("staff_no"))
        by_username = {s.user.username: s.user for s in staff}
        self.demo = by_username
        self.departments: dict[str, list] = {}
        for s in staff:
            if s.department_id and s.institution.code == BRANCH["code"]:
                self.departments.setdefault(s.department.code, []).append(s.user)
        self.dept_objs = {d.code: d for d in Department.objects.filter(institution__code=BRANCH["code"])}
        self.secretariat = [s.user for s in staff if s.department_id and s.department.code == "OPS"
                            and s.post and s.post.code == "department_staff" and s.user.username != "admin"]
        self.supervisors = [s.user for s in staff if s.institution.code == BRANCH["code"] and s.post
                            and s.post.code == "service_supervisor"]
        sub_supervisor = {s.institution_id: s.user for s in staff if s.institution.level == Level.SUB_BRANCH
                          and s.post and s.post.code == "service_supervisor"}
        per_outlet: dict[int, list[Staff]] = {}
        for s in staff:
            if s.institution.level == Level.OUTLET:
                per_outlet.setdefault(s.institution_id, []).append(s)
        outlets = Institution.objects.filter(level=Level.OUTLET, is_active=True, parent__parent__code=BRANCH["code"]
                                             ).select_related("outlet_type").order_by("code")
        self.outlets: list[_Outlet] = []
        for inst in outlets:
            people = per_outlet.get(inst.pk, [])
            heads = [s.user for s in people if s.post and s.post.code == "outlet_head"]
            front = [s.user for s in people if s.post and s.post.code in FRONTLINE_POSTS]
            ops = [s.user for s in people if s.post and s.post.code == "operations_supervisor"]
            if not heads or not front:
                continue
            weight = OUTLET_WEIGHT.get(inst.outlet_type.code if inst.outlet_type_id else "", 1.0)
            if heads[0].username == "outlet_head":
                weight *= 2  # the demo accounts' outlet gets a fuller case list
            self.outlets.append(_Outlet(inst, weight, heads[0], front, (ops or front)[0],
                                        sub_supervisor.get(inst.parent_id)))
        self.outlet_weights = [o.weight for o in self.outlets]

    def frontline(self, outlet: _Outlet):
        if outlet.head.username == "outlet_head" and self.rng.random() < 0.45:
            return self.demo["outlet_staff"]
        return self.rng.choice(outlet.frontline)

    def secretary(self):
        return self.demo["secretariat"] if self.rng.random() < 0.5 else self.rng.choice(self.secretariat)

    def department_member(self, code: str):
        demo = {"OPS": "secretariat", "ICC": "reviewer", "PFB": "submitter"}.get(code)
        if demo and self.rng.random() < 0.5:
            return self.demo[demo]
        people = self.secretariat if code == "OPS" else self.departments.get(code, [])
        return self.rng.choice(people)

    # --- time --------------------------------------------------------------------------------

    def at(self, d: date, lo: float = 9, hi: float = 17.5) -> datetime:
        minutes = self.rng.randint(int(lo * 60), int(hi * 60) - 1)
        return timezone.make_aware(datetime.combine(d, dtime(minutes // 60, minutes % 60)), self.tz)

    def after(self, t: datetime, working_days: int = 0, lo: int = 10, hi: int = 120) -> datetime:
        """A moment ``working_days`` working days after ``t`` (same day: some minutes later)."""
        if working_days <= 0:
            return t + timedelta(minutes=self.rng.randint(lo, hi))
        d = self.cal.add_working_days(timezone.localtime(t, self.tz).date(), working_days)
        return self.at(d)

    def received_day(self) -> date:
        while True:
            d = self.first_day + timedelta(days=self.rng.randrange(YEAR_DAYS))
            if self.cal.is_working_day(d) or self.rng.random() < 0.3:
                return d

    def past(self, t: datetime) -> bool:
        """Has it happened by the anchor? (What is planned later has not happened yet.)"""
        return t < self.now

    def day(self, t: datetime) -> date:
        return timezone.localtime(t, self.tz).date()

    def resolution_moment(self, case: Case, start: datetime, stuck_p: float) -> datetime | None:
        """When the case gets resolved: None while it stays open past its deadline (stuck), else
        a moment before its due date, or (sometimes) a few working days late."""
        due = case.resolution_due or self.cal.add_working_days(self.day(start), 5)
        age = (self.today - self.day(start)).days
        if due < self.today and age <= STUCK_DAYS and self.rng.random() < stuck_p and self.overdue_budget > 0:
            self.overdue_budget -= 1
            return None
        if self.rng.random() < LATE:
            late = self.at(self.cal.add_working_days(due, self.rng.randint(1, 8)))
            if due >= self.today or late < self.now:
                return late  # settled late by now, or not yet overdue
            if self.overdue_budget > 0:
                self.overdue_budget -= 1
                return late  # still open, overdue
        span = max(0, self.cal.working_days_between(self.day(start), due))
        # Cases still within their deadline take about half of it; the year's took a third.
        n = min(span, int(self.rng.triangular(0, span + 1, span * (0.6 if due >= self.today else 0.35)))) if span else 0
        t = self.after(start, n, 30, 240)
        return t if t > start else start + timedelta(minutes=45)

    def schedule(self, when: datetime, kind: str, **data):
        self.seq += 1
        heapq.heappush(self.jobs, _Job(when, self.seq, kind, data))

    call = staticmethod(call_at)  # call(moment, service, *args): the service runs at that moment

    # --- plan ---------------------------------------------------------------------------------

    def plan(self):
        rng = self.rng
        counts = {t: round(self.total * share) for t, share in SHARES.items()}
        major_slots = set(rng.sample(range(counts[CaseType.COMPLAINT]), self.majors))
        major_iter = iter(MAJORS)
        for i in range(counts[CaseType.COMPLAINT]):
            outlet = rng.choices(self.outlets, weights=self.outlet_weights)[0]
            major = next(major_iter) if i in major_slots else None
            self.schedule(self.at(self.received_day(), 8.5, 18), "complaint", outlet=outlet, major=major)
        for kind in (CaseType.SUPPORT, CaseType.FEEDBACK, CaseType.RECTIFICATION):
            for _ in range(counts[kind]):
                weights = self.outlet_weights
                if kind == CaseType.SUPPORT:  # self-service outlets are mostly machines
                    weights = [w * (6 if o.inst.outlet_type and o.inst.outlet_type.code == "self_service" else 1)
                               for o, w in zip(self.outlets, weights, strict=True)]
                outlet = rng.choices(self.outlets, weights=weights)[0]
                self.schedule(self.at(self.received_day()), str(kind), outlet=outlet)

    def run(self, stdout=None):
        self.plan()
        done = 0
        started = time.monotonic()
        while self.jobs:
            job = heapq.heappop(self.jobs)
            if not self.past(job.when):
                continue  # received after the anchor: not yet
            getattr(self, f"_{job.kind}")(job.when, **job.data)
            done += 1
            if stdout is not None and done % 500 == 0:
                _say(stdout, f"  … {done} 件（{time.monotonic() - started:.0f} 秒）")

    # --- complaints ---------------------------------------------------------------------------

    def _complaint(self, t0: datetime, outlet: _Outlet, major=None):
        rng = self.rng
        if major:
            channel, cat_code, business, title, text = major
            description = text.format(n=rng.randint(2, 30))
        else:
            channel = _weighted(rng, COMPLAINT_CHANNELS)
            cat_code = _weighted(rng, [(k, v[0]) for k, v in COMPLAINTS.items()])
            business = rng.choice(COMPLAINTS[cat_code][2])
            title, what = rng.choice(COMPLAINTS[cat_code][3])
            description = what.format(m=rng.randint(35, 90), n=rng.randint(2, 9))
        cause = COMPLAINTS[cat_code][1]
        chan = _weighted(rng, CHANNEL_CODES.get(cat_code, CHANNEL_CODES["*"]))
        owner = self.frontline(outlet)
        if channel == "on_site":
            actor = owner
        elif channel in ("regulator", "media"):
            actor = self.department_member("CPP")
        else:
            actor = self.secretary()
        name = self.names.next()
        surname = name[:2] if name[:2] in COMPOUND_SURNAMES else name[0]
        received = self.day(t0)
        detail = {
            "complainant_name": name, "complainant_phone": _phone(rng), "complainant_id_number": _id_number(rng),
            "channel_code": self.codes.get(("channel", chan)), "business_code": self.codes.get(("business", business)),
            "cause_code": self.codes.get(("cause", cause)),
        }
        if channel == "regulator":
            detail["regulator_reference"] = f"深金监投〔{received.year}〕{rng.randint(100, 9999):04d}号"
            detail["regulator_due"] = received + timedelta(days=rng.choice([7, 10, 10, 15]))
        source = {"on_site": "现场", "hotline": "95599热线转办", "online": "线上渠道", "letter": "来信",
                  "regulator": "监管转办", "media": "媒体舆情"}[channel]
        priority = Priority.URGENT if major else (Priority.HIGH if channel in ("regulator", "media") or
                                                  rng.random() < 0.06 else Priority.NORMAL)
        case = self.call(t0, services.open_case, actor, case_type=CaseType.COMPLAINT, institution=outlet.inst,
                         title=title, channel=channel, category=self.categories[(CaseType.COMPLAINT, cat_code)],
                         description=f"【{source}】{surname}{rng.choice(['先生', '女士'])}反映：{received.month}月"
                                     f"{received.day}日在{outlet.inst.name}{description}，要求网点给予解释并改进。",
                         priority=priority, received_at=t0, first_contact_owner=owner, is_major=bool(major),
                         complaint=detail)

        if channel == "on_site" and not major and rng.random() < 0.42:  # 诉前化解
            t1 = self.after(t0, 0, 10, 45)
            if self.past(t1):
                case = self.call(t1, services.resolve_case, owner, case, outcome=Outcome.ON_THE_SPOT,
                                 resolution=ON_THE_SPOT)
                if self.past(t2 := self.after(t1, 0, 5, 30)):
                    self.call(t2, services.close_case, owner, case)
            return

        handler = outlet.head if (major or rng.random() < 0.2) else owner
        t = self.after(t0, 0 if (major or rng.random() < 0.6) else 1, 20, 180)
        if not self.past(t):
            return
        case = self.call(t, services.accept_case, owner, case)
        if not major and rng.random() < 0.03:
            t = self.after(t, 1)
            if not self.past(t):
                return
            case = self.call(t, services.set_complexity, outlet.head, case, ComplaintDetail.Complexity.COMPLEX)
        if not major and rng.random() < 0.02:  # waiting for an external appraisal (e.g. counterfeit notes)
            t = self.after(t, 1)
            p0 = self.day(t)
            if not self.past(t):
                return
            case = self.call(t, services.pause_clock, owner, case, "等待人民银行假币鉴定结果", on=p0)
            p1 = self.cal.add_working_days(p0, rng.randint(3, 8))
            t = self.at(p1)
            if not self.past(t):
                return  # still paused now
            case = self.call(t, services.resume_clock, owner, case, on=p1)
        resolved = self.after(t, rng.randint(0, 2)) if major else self.resolution_moment(case, t, STUCK)
        if resolved is None:  # still open past its deadline on the reference date
            self.stats["stuck"] += 1
            if rng.random() < 0.5 and self.past(begun := self.after(t, 1)):
                self.call(begun, services.start_case, owner, case)
            return
        begun = self.after(t, 0, 30, 240)
        if rng.random() < 0.25 and self.past(begun) and begun < resolved:
            case = self.call(begun, services.start_case, handler, case)
        if not self.past(resolved):
            return
        outcome = Outcome.NOT_SUPPORTED if (not major and rng.random() < 0.1) else Outcome.RESOLVED
        text = UNSUPPORTED if outcome == Outcome.NOT_SUPPORTED else SOLUTIONS[cat_code]
        case = self.call(resolved, services.resolve_case, handler, case, outcome=outcome, resolution=text)
        t = resolved
        if major or rng.random() < 0.22:
            cause_text, improvement = ROOT_CAUSES[cat_code]
            t = self.after(t, 1)
            if self.past(t):
                self.call(t, services.record_root_cause, outlet.head, case, cause_text, improvement)
                if major or rng.random() < 0.35:  # the root cause opens a rectification at the outlet
                    self.schedule(self.after(t, 0, 60, 240), str(CaseType.RECTIFICATION), outlet=outlet,
                                  complaint=case, complaint_category=cat_code)
        t = self.after(t, rng.randint(1, 3))
        if not self.past(t):
            return
        satisfaction = _weighted(rng, SATISFACTION)
        case = self.call(t, services.record_callback, rng.choice([outlet.head, owner]), case, satisfaction,
                         CALLBACK_NOTES[satisfaction])
        t = self.after(t, rng.choice([0, 0, 1]), 10, 90)
        if self.past(t):
            self.call(t, services.close_case, owner, case)

    # --- outlet feedback ------------------------------------------------------------------------

    def _feedback(self, t0: datetime, outlet: _Outlet):
        rng = self.rng
        code = _weighted(rng, [(k, v[0]) for k, v in FEEDBACK.items()])
        _w, preferred, dept_code, texts = FEEDBACK[code]
        title, description = rng.choice(texts)
        reporter = outlet.head if rng.random() < 0.55 else self.frontline(outlet)
        if reporter == outlet.head and outlet.head.username == "outlet_head" and rng.random() < 0.3:
            reporter = self.demo["outlet_staff"]
        case = self.call(t0, services.open_case, reporter, case_type=CaseType.FEEDBACK, institution=outlet.inst,
                         title=title, description=f"{outlet.inst.name}反映：{description}。",
                         category=self.categories[(CaseType.FEEDBACK, code)], received_at=t0)
        action = preferred if rng.random() < 0.6 else rng.choice(["answer", "assign", "to_meeting"])
        if self.day(t0) >= self.current_from:
            if code == "WORKLOAD":
                self.stats["for_the_meeting"] += 1
                return  # the coordination demo's current meetings take it (its secretariat triages it)
            if action == "to_meeting":
                action = "answer"
        if action == "to_meeting":  # the secretariat puts it on the next agenda within days
            triaged = self.after(t0, rng.randint(0, 2))
        elif action == "answer":
            triaged = self.resolution_moment(case, t0, STUCK)
        else:
            triaged = self.after(t0, rng.randint(0, 2))
        if triaged is None:
            self.stats["stuck"] += 1
            return  # still waiting for the secretariat
        if not self.past(triaged):
            return
        secretary = self.secretary()
        if action == "answer":
            case = self.call(triaged, services.triage_feedback, secretary, case, "answer",
                             answer=FEEDBACK_ANSWERS["answer"])
        elif action == "to_meeting":
            # On the next meeting's agenda: the meeting answers it; the follow-up done resolves it.
            raise_to_meeting(triaged, secretary, case, FEEDBACK_ANSWERS["to_meeting"], self.now)
            self.plan_meeting(FeedbackEntry.objects.select_related("meeting").get(
                case=case, status=FeedbackEntry.Status.OPEN).meeting)
            return
        else:
            case = self.call(triaged, services.triage_feedback, secretary, case, "assign",
                             department=self.dept_objs[dept_code], note="请牵头研究并答复网点")
            member = self.department_member(dept_code)
            t = self.after(triaged, rng.choice([0, 1]))
            if not self.past(t):
                return
            case = self.call(t, services.accept_case, member, case)
            resolved = self.resolution_moment(case, t, STUCK)
            if resolved is None:
                self.stats["stuck"] += 1
                return
            if not self.past(resolved):
                return
            case = self.call(resolved, services.resolve_case, member, case, outcome=Outcome.ANSWERED,
                             resolution=FEEDBACK_ANSWERS["dept"].format(fix=FEEDBACK_FIXES[dept_code]))
            triaged = resolved
        t = self.after(triaged, rng.randint(0, 2))
        if self.past(t):
            self.call(t, services.close_case, reporter, case)

    # --- the coordination meetings that answer feedback (feedback-only: the demo year's) ----------

    def plan_meeting(self, meeting: Meeting):
        """Freeze its agenda at the cut-off and hold it on its day (the next working day if that is a
        holiday), once for each meeting."""
        if meeting.pk in self.meetings:
            return
        self.meetings.add(meeting.pk)
        if self.watch is not None and self.watch.wants(meeting):
            # The post-release watch's item, submitted and reviewed before the cut-off.
            self.watch.claim(meeting)
            self.schedule(max(meeting.created_at + timedelta(minutes=1), meeting.cutoff_at - timedelta(hours=3)),
                          "watch_item", meeting=meeting)
        self.schedule(meeting.cutoff_at, "freeze", meeting=meeting)
        day = meeting.held_on
        while not self.cal.is_working_day(day):
            day += timedelta(days=1)
        self.schedule(timezone.make_aware(datetime.combine(day, dtime(14, 30)), self.tz), "hold", meeting=meeting)

    def _watch_item(self, t: datetime, meeting: Meeting):
        self.watch.submit(t, meeting)

    def _freeze(self, t: datetime, meeting: Meeting):
        self.call(t, coord.freeze_agenda, self.demo["secretariat"], meeting)

    def _hold(self, t: datetime, meeting: Meeting):
        """Held with the chair and the five review departments present; every entry answered, each
        with who follows up; the minutes closed at 17:30."""
        secretary = self.demo["secretariat"]
        attendees = [*self.secretariat[:2], *[self.departments[c][0] for c in REVIEW_DEPARTMENTS
                                              if self.departments.get(c)]]
        meeting = self.call(t, coord.record_attendance, secretary, meeting, attendees, chair=self.demo["leader"])
        if self.watch is not None and self.watch.meeting_id == meeting.pk:
            self.watch.decide(t + timedelta(minutes=5))
        people = {**self.departments, "OPS": self.secretariat}
        for day, entry, person, note in answer_open_entries(meeting, t + timedelta(minutes=10), secretary,
                                                            self.dept_objs, people, self.rng):
            self.schedule(self.at(day), "follow_up", entry=entry, person=person, note=note)
        meeting = self.call(t + timedelta(hours=3), coord.close_meeting, secretary, meeting)
        # Closing issued the minutes; the chair approves them that evening, as at every demo meeting.
        self.call(t + timedelta(hours=3, minutes=15), coord.approve_minutes, self.demo["leader"], meeting)

    def _follow_up(self, t: datetime, entry, person, note: str):
        """The follow-up done: the feedback case is resolved with the meeting's answer; its reporter
        closes it a few days later."""
        self.call(t, coord.complete_feedback, person, entry, note=note)
        case = Case.objects.get(pk=entry.case_id)
        if self.past(t := self.after(t, self.rng.randint(1, 3))):
            self.call(t, services.close_case, case.requester or case.first_contact_owner, case)

    # --- support requests -----------------------------------------------------------------------

    def _support(self, t0: datetime, outlet: _Outlet):
        rng = self.rng
        month = self.day(t0).month
        season = 0 if month in (12, 1, 2) else 1 if month in (6, 7, 8, 9) else 2
        code = _weighted(rng, [(k, v[0][season]) for k, v in SUPPORT.items()])
        _w, urgent, titles = SUPPORT[code]
        title = rng.choice(titles)
        reporter = outlet.ops if rng.random() < 0.6 else rng.choice([outlet.head, self.frontline(outlet)])
        priority = Priority.URGENT if rng.random() < urgent else Priority.NORMAL
        category = self.categories[(CaseType.SUPPORT, code)]
        case = self.call(t0, services.open_case, reporter, case_type=CaseType.SUPPORT, institution=outlet.inst,
                         title=title, description=f"{outlet.inst.name}：{title}，请尽快安排处理。",
                         category=category, priority=priority, received_at=t0)
        dept = case.assignee_department.code if case.assignee_department_id else "OPS"
        member = self.department_member(dept)
        t = self.after(t0, 0 if (priority == Priority.URGENT or rng.random() < 0.5) else 1, 15, 150)
        if not self.past(t):
            return
        case = self.call(t, services.accept_case, member, case)
        resolved = self.resolution_moment(case, t, STUCK)
        if resolved is None:
            self.stats["stuck"] += 1
            if code.startswith("REPAIR") and self.past(s := self.after(t, 1)):
                self.call(s, services.start_case, member, case)
            return
        if code.startswith("REPAIR") and self.past(s := self.after(t, 0, 30, 180)) and s < resolved:
            case = self.call(s, services.start_case, member, case)
        if not self.past(resolved):
            return
        if code.startswith("SUPPLY") and rng.random() < 0.05:
            outcome, text = Outcome.NOT_SUPPORTED, "超出网点申领标准，已调剂同类物品"
        else:
            outcome, text = Outcome.RESOLVED, SUPPORT_SOLUTIONS.get(dept, SUPPORT_SOLUTIONS["OPS"])
        case = self.call(resolved, services.resolve_case, member, case, outcome=outcome, resolution=text)
        t = self.after(resolved, rng.choice([0, 0, 1, 2]), 20, 120)
        if self.past(t):
            self.call(t, services.close_case, reporter, case)

    # --- rectifications -------------------------------------------------------------------------

    def _rectification(self, t0: datetime, outlet: _Outlet, complaint: Case | None = None,
                       complaint_category: str = ""):
        rng = self.rng
        if complaint is not None:
            code = "COMPLAINT"
            title = f"投诉整改：{complaint.title}"
            evidence_required = "整改措施落实情况说明、相关制度或培训记录"
            channel = "complaint"
            opener = self.demo["supervisor"]
            found = f"投诉 {complaint.number} 根因：{ROOT_CAUSES[complaint_category][0]}"
        else:
            code = _weighted(rng, [(k, v[0]) for k, v in RECTIFICATIONS.items()])
            _w, channel, evidence_required, titles = RECTIFICATIONS[code]
            title = rng.choice(titles)
            r = rng.random()
            opener = (self.demo["supervisor"] if r < 0.5 else
                      outlet.supervisor if (r < 0.8 and outlet.supervisor) else rng.choice(self.supervisors))
            found = title.split("：", 1)[-1]
        head = outlet.head
        case = self.call(t0, services.open_case, opener, case_type=CaseType.RECTIFICATION, institution=outlet.inst,
                         title=title, channel=channel, description=f"检查发现：{found}。请网点限期整改并提交整改材料。",
                         category=self.categories[(CaseType.RECTIFICATION, code)], received_at=t0,
                         first_contact_owner=head, rectification={"evidence_required": evidence_required},
                         link_to=complaint)
        t = self.after(t0, rng.choice([0, 1]), 30, 240)
        if not self.past(t):
            return
        case = self.call(t, services.accept_case, head, case)
        if rng.random() < 0.05:
            t = self.after(t, 2)
            if not self.past(t):
                return
            ext = self.call(t, services.request_extension, head, case, min(5, case.sla_policy.max_extension_days or 1),
                            "整改涉及设施更换，需等待采购到货")
            t = self.after(t, 1)
            if not self.past(t):
                return
            self.call(t, services.decide_extension, self.demo["secretariat"], ext, True, "同意延期")
            case.refresh_from_db()
        resolved = self.resolution_moment(case, t, STUCK)
        if resolved is None:
            self.stats["stuck"] += 1
            return
        if not self.past(resolved):
            return
        evidence = "已完成整改：附整改前后照片、员工培训签到表及整改说明"
        case = self.call(resolved, services.submit_evidence, head, case, evidence)
        if not self.past(t := self.after(resolved, 0, 5, 30)):
            return
        case = self.call(t, services.resolve_case, head, case, outcome=Outcome.RESOLVED,
                         resolution="已按要求完成整改，整改材料已提交")
        verifier = self.demo["supervisor"]
        t = self.after(resolved, rng.randint(1, 3))
        if not self.past(t):
            return
        if rng.random() < 0.12:
            case = self.call(t, services.verify_rectification, verifier, case, passed=False,
                             note="整改照片未覆盖全部问题点，请补充")
            t = self.after(t, rng.randint(1, 3))
            if not self.past(t):
                return
            case = self.call(t, services.submit_evidence, head, case, evidence + "（已补充全部问题点照片）")
            if not self.past(t2 := self.after(t, 0, 5, 30)):
                return
            case = self.call(t2, services.resolve_case, head, case, outcome=Outcome.RESOLVED,
                             resolution="已补充整改材料")
            t = self.after(t, rng.randint(1, 2))
            if not self.past(t):
                return
        case = self.call(t, services.verify_rectification, verifier, case, passed=True, note="复查通过")
        if self.past(t := self.after(t, 0, 5, 60)):
            self.call(t, services.close_case, verifier, case)

# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def _demo_outlets():
    return Institution.objects.filter(level=Level.OUTLET, parent__parent__code=BRANCH["code"])


def first_day(today: date) -> date:
    """The first day of the demo year that ends on ``today``."""
    return today - timedelta(days=YEAR_DAYS - 1)


def _window(today: date):
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(first_day(today), dtime.min), tz),
            timezone.make_aware(datetime.combine(today + timedelta(days=1), dtime.min), tz))


def demo_cases(today: date | None = None):
    """The cases of the demo year (up to ``today``, the core clock's by default) at the demo outlets —
    not the problem an outlet raises on a work order in the coordination demo, so that either demo may
    be built first."""
    start, end = _window(today or clock.today())
    raised_on_work_orders = WorkOrder.objects.filter(problem_case__isnull=False).values("problem_case")
    return Case.objects.filter(institution__in=_demo_outlets(), received_at__gte=start, received_at__lt=end
                               ).exclude(pk__in=raised_on_work_orders)


def route_support_categories() -> int:
    """Give each support category without a department the demo department responsible for it.
    Idempotent, and a department the bank already chose in the admin is kept."""
    departments = {d.code: d for d in Department.objects.filter(institution__code=BRANCH["code"],
                                                                 code__in=set(SUPPORT_DEPARTMENTS.values()))}
    changed = 0
    for category in Category.objects.filter(case_type=CaseType.SUPPORT, code__in=list(SUPPORT_DEPARTMENTS),
                                            department__isnull=True):
        dept = departments.get(SUPPORT_DEPARTMENTS[category.code])
        if dept is not None:
            category.department = dept
            category.save(update_fields=["department", "updated_at"])
            changed += 1
    return changed


def case_counts(today: date | None = None) -> dict:
    today = today or clock.today()
    qs = demo_cases(today)
    by_type = dict(qs.values_list("case_type").annotate(n=Count("id")).order_by())
    open_qs = qs.filter(status__in=OPEN_STATUSES)
    return {
        "cases": qs.count(),
        "by_type": {str(t): by_type.get(t, 0) for t in CaseType.values},
        "open": open_qs.count(),
        "overdue": open_qs.filter(resolution_due__lt=today).count(),
        "closed": qs.filter(status=Status.CLOSED).count(),
        "resolved_late": qs.filter(resolved_at__isnull=False, resolved_at__date__gt=F("resolution_due")).count(),
        "major": qs.filter(is_major=True).count(),
        "on_the_spot": qs.filter(outcome=Outcome.ON_THE_SPOT).count(),
        "to_meeting": qs.filter(outcome=Outcome.TO_MEETING).count(),
        "escalations": Escalation.objects.filter(case__in=qs).count(),
        "reminders": Reminder.objects.filter(case__in=qs).count(),
    }


def build_demo_cases(stdout=None, scale: float = 1.0, watch=None) -> dict:
    """Create a year of demo cases (about ``1500 × scale``) up to the anchor (now) and apply the
    SLA worker on that day; return the counts. Needs the demo organisation (``build_demo``) first.
    Does nothing when the demo outlets already hold cases of the demo year. ``watch`` (a
    ``demo.watch.WatchAgenda``) puts the post-release watch's item on one of the year's meetings."""
    started = time.monotonic()
    if not _demo_outlets().exists():
        raise ValueError("The demo organisation is missing: run build_demo() first.")
    route_support_categories()
    if demo_cases().exists():
        _say(stdout, "案件：演示数据已存在，跳过 …")
        return {"status": "already present", **case_counts(), "seconds": round(time.monotonic() - started, 1)}

    _say(stdout, "案件（投诉、问题反馈、援助保障、整改）…")
    first_notification = Notification.objects.aggregate(m=Max("id"))["m"] or 0
    builder = _Builder(scale, anchor(), watch)
    with transaction.atomic():
        builder.run(stdout)
    # The year's notifications are history: mark them read (through the service, per recipient),
    # so the demo accounts' bells show only what the SLA worker raises today.
    recipients = (Notification.objects.filter(id__gt=first_notification, read_at__isnull=True)
                  .values_list("recipient", flat=True).distinct())
    for user in get_user_model().objects.filter(pk__in=list(recipients)).order_by("pk"):
        mark_notifications_read(user, Notification.objects.filter(recipient=user, id__gt=first_notification)
                                .values("id"))

    _say(stdout, "案件时限：提醒与升级 …")
    # The worker runs early on the anchor's day (just before the anchor if the demo is built earlier).
    worker_at = min(timezone.make_aware(datetime.combine(builder.today, dtime(7, 0)), builder.tz),
                    builder.now - timedelta(minutes=1))
    with transaction.atomic():
        sla = builder.call(worker_at, services.apply_sla, today=builder.today)
    result = {"status": "created", **case_counts(builder.today), "stuck_planned": builder.stats["stuck"], "sla": sla,
              "seconds": round(time.monotonic() - started, 1)}
    return result
