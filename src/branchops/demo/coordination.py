"""Deterministic demo of the coordination mechanism (运营统筹管理机制): the seed's first year and
the open work of the current weeks.

**The first year** (seed ``000_7ef17feb456f04b3``; DESIGN.md §1.1): 16 coordination meetings from
June 2021 (weekly at first, then less often, to March 2022) and 51 items from the business
departments — exactly 16 approved (31 %), 30 conditionally approved (59 %) and 5 rejected (10 %).
Every item is drafted, given materials, submitted, reviewed by the five review departments,
decided at its meeting; conditions are reported met and signed off (so approval numbers are
issued in order), one item's condition is sent back and never closed, one rejected item comes
back revised; approved items are released and their work orders are (mostly) done by the outlets.

**The current weeks** (up to the moment the demo is built, ``data.anchor``: the core clock, so the
mechanism is alive on that day): three meetings on the configured weekday (the next working day when
it is a holiday) — one four weeks before the next, held; last week's, held; and the next one, this
week's until its day is over, with its agenda open or frozen as its cut-off says. An item released to
every outlet with work orders in progress (also at the ``outlet_head`` demo account's outlet) and one
problem raised by an outlet, which the secretariat puts on the next agenda; a conditionally approved
item with an open, an overdue and a reported-met condition; an approved item waiting for release; a
rejected one; items on the next meeting's agenda still waiting for opinions; a draft of the
``submitter`` account — as far as now has come (a step planned later has not happened yet). The
outlets' workload feedback of these weeks (left to triage by the demo cases) is raised to the next
meeting's agenda; the held meetings answer it and name who follows up, and the follow-up done
resolves the case. After the first year the secretariat closed, with a reason, the items whose loop
would not close by itself: every first-year item is closed or carries a reason.

Everything is written through the services (``coordination.services``, ``dispatch.services``) with
the demo accounts and the departments' own people, so records, timelines, history and notifications
are the ones the application writes. Choices come from one fixed-seed generator
(``random.Random(2021)``) and people, outlets and departments are taken in a fixed order.

**Dates.** Every service call runs with the core clock frozen at the moment it is planned for
(``_Builder.call`` = ``data.call_at``: ``with clock.frozen(moment)``), so the services themselves
stamp each event — created, submitted, decided, issued, met, signed off, acknowledged, done,
released, uploaded, the timeline, the history rows and the notifications — and apply their rules as
on that day: an item is drafted with its real window and submitted before its meeting's cut-off,
item numbers run by the year drafted (SH-2021-0001 …) and approval numbers by the year issued
(运统〔2021〕第001号 …), and the pre-check quotes what was there at submission. The first year runs
from one queue of planned calls in time order; the current weeks are written meeting by meeting,
each call at its moment. Nothing is rewritten afterwards, and the clock is as it was after each call.

Idempotent: when the demo branch already holds items submitted in the first year, nothing is done
and the result says "already present".
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from branchops.cases import services as case_services
from branchops.cases.models import Case, CaseType
from branchops.cases.models import Status as CaseStatus
from branchops.coordination import services as coord
from branchops.coordination.models import (
    Condition,
    Decision,
    Item,
    ItemAttachment,
    ItemStatus,
    Meeting,
    Opinion,
    ReviewDimension,
    ReviewRemit,
    Settings,
    TargetMode,
)
from branchops.core.models import Notification
from branchops.core.services import mark_notifications_read
from branchops.core.workdays import add_working_days, is_working_day
from branchops.dispatch import services as dispatch
from branchops.dispatch.models import WorkOrder
from branchops.org.models import Cluster, Department, Institution, Level, OutletType, Staff
from branchops.org.roles import Role

from .data import BRANCH, _say, anchor, call_at, current_from
from .feedback import answer_open_entries, raise_to_meeting

SEED = 2021
#: The seed's first year, by submission date (statistics over this period give 16 / 51 / 16-30-5).
HISTORY_START = date(2021, 6, 1)
HISTORY_END = date(2022, 3, 31)
#: After the first year, the secretariat reviews the register and closes what will not close by itself.
REGISTER_REVIEW = date(2022, 6, 29)

# Which review dimensions each review department covers (ReviewRemit; set only where a department
# has none yet, so a remit the bank changed in the admin is kept). The seed names the seven
# dimensions and the five fixed review departments but not who covers what: compliance goes to
# internal control & compliance (内控合规部), which also owns the branch's rules and so process and
# policy guidance (流程或制度指引); brand & publicity to the general office (办公室), which also
# takes business training (业务培训) — the office runs the branch's staff communications, and the
# operations department that would otherwise train outlets chairs the meeting rather than sits on
# it as a review department; consumer-rights protection to legal affairs (法律事务部); channel
# coordination and online handling to online banking (网络金融部/线上运营中心); emergency handling
# (and system changes) to FinTech (金融科技部).
REMITS = {
    "OFFICE": ["brand", "training"],
    "ICC": ["compliance", "process"],
    "LEGAL": ["consumer_rights"],
    "ONLINE": ["channel"],
    "FINTECH": ["emergency"],
}
REVIEW_ORDER = ["OFFICE", "ICC", "LEGAL", "ONLINE", "FINTECH"]

# The 16 meetings of the first year: weekly in June 2021, then every other week, then monthly.
MEETING_DAYS = [
    date(2021, 6, 9), date(2021, 6, 16), date(2021, 6, 23), date(2021, 6, 30),
    date(2021, 7, 14), date(2021, 7, 28), date(2021, 8, 11), date(2021, 8, 25),
    date(2021, 9, 15), date(2021, 10, 20), date(2021, 11, 10), date(2021, 11, 24),
    date(2021, 12, 15), date(2022, 1, 12), date(2022, 2, 23), date(2022, 3, 16),
]

KINDS = {"S": "system_change", "N": "new_business", "C": "campaign", "I": "instruction"}

# --------------------------------------------------------------------------------------------
# Texts
# --------------------------------------------------------------------------------------------

BACKGROUND = {
    "S": "根据总行统一部署，{title}。本次变更涉及柜面、智能柜台及自助渠道的操作界面和业务流程，"
         "上线后客户办理方式有变化，需网点做好客户告知、操作指导和问题收集。",
    "N": "{title}。产品和业务已完成总行准入及分行制度配套，拟在网点受理，需网点做好受理准备、"
         "客户宣传和业务办理。",
    "C": "为做好{title}，提升客户服务体验和品牌影响力，拟在网点开展宣传和客户服务活动，"
         "线上渠道同步推送。",
    "I": "按照监管和总行要求，开展{title}工作，需网点在规定时间内完成并反馈结果。",
}
JUSTIFICATION = {
    "S": "系统切换后客户首次办理需在柜面核验身份并现场指导操作，远程银行无法替代；可线上办理的环节已全部迁移至手机银行。",
    "N": "新业务需客户本人到场核验身份并签署协议，监管要求的面签环节不能线上完成；咨询和预约已由手机银行和远程银行分流。",
    "C": "活动需在厅堂面对面宣传和现场答疑，线上渠道已同步推送，网点只承担到店客户的宣传和解释工作。",
    "I": "工作需核对网点现场的实物、凭证或设备，无法线上或集中处理；可集中处理的部分已由集中作业中心承担。",
}
IMPACT = {
    "S": "切换初期客户办理时间可能延长3至5分钟，部分老年客户需要现场指导。",
    "N": "到店办理该业务的客户需预留约20分钟，高峰时段可能增加排队。",
    "C": "到店客户会收到活动介绍和宣传资料，不影响正常业务办理。",
    "I": "涉及客户到店时需配合核实或补充信息，单笔业务约增加2分钟。",
}

# dimension → [(concern, proposed condition / condition, what proves it met)]
CONCERNS = {
    "compliance": [
        ("方案对客户信息的采集和使用未说明授权依据。", "补充客户授权及信息使用的合规说明，报内控合规部审查。",
         "内控合规部出具的合规审查意见"),
        ("宣传和营销用语存在收益承诺类表述，不符合监管要求。", "删除收益承诺类表述，宣传材料报内控合规部审查。",
         "合规审查通过的宣传材料"),
    ],
    "process": [
        ("未明确网点操作流程和岗位分工，网点难以照做。", "制定网点操作流程指引，明确岗位分工和业务授权。",
         "下发的网点操作流程指引"),
        ("与现行制度存在冲突，未说明适用口径。", "明确与现行制度的衔接口径并发文说明。", "制度衔接说明文件"),
    ],
    "brand": [
        ("宣传物料未按分行品牌视觉规范设计。", "宣传物料按品牌规范修改，报办公室审核后统一印制配送。",
         "办公室审核通过的物料样稿"),
        ("对外宣传口径不统一，存在舆情风险。", "统一对外宣传口径并报办公室备案。", "对外宣传口径（定稿）"),
    ],
    "training": [
        ("未安排网点人员培训，一线人员不熟悉新流程。", "实施前完成网点相关岗位培训，覆盖率不低于90%。",
         "培训签到表及测试结果"),
        ("培训材料仅为总行通知转发，缺少操作要点。", "编写网点操作要点培训材料并组织线上培训。",
         "培训材料及线上培训记录"),
    ],
    "consumer_rights": [
        ("缺少服务话术和风险提示，存在误导客户的隐患。", "补充服务话术和风险提示，报法律事务部审核。",
         "法律事务部审核通过的服务话术"),
        ("未向客户告知收费标准和权利义务，可能引发投诉。", "在客户告知书中明示收费标准和权利义务，报法律事务部审核。",
         "审核通过的客户告知书"),
    ],
    "channel": [
        ("部分环节可通过手机银行或远程银行办理，未优先线上分流。", "开通线上办理渠道并公示引导，网点只承接线上无法办理的客户。",
         "线上渠道上线说明及分流数据"),
        ("客户通知可由短信平台集中发送，不应由网点逐户联系。", "改由短信平台集中通知，网点只做到店接待。",
         "短信批量发送记录"),
    ],
    "emergency": [
        ("未制定系统切换失败或业务中断时的应急预案。", "制定应急预案并组织网点开展应急演练。", "应急预案及演练记录"),
        ("未明确故障报告路径和技术支持联系人。", "明确故障报告路径和技术支持值守安排并通知网点。", "技术支持值守表"),
    ],
}

ATTACHMENT_TEXT = {
    ItemAttachment.Kind.SCRIPT: ("服务话术", "一、客户咨询时：“您好，{title}相关业务可以在这里办理，我先为您简单介绍一下……”\n"
                                            "二、客户有疑问时：耐心解释，不作收益承诺，必要时请客户经理协助。\n"
                                            "三、客户不愿办理时：尊重客户意愿，不得强制或捆绑。\n"),
    ItemAttachment.Kind.GUIDE: ("操作流程指引", "一、适用范围\n二、操作步骤\n三、岗位分工与授权\n四、注意事项\n"),
    ItemAttachment.Kind.TRAINING: ("培训材料", "一、背景与要求\n二、操作要点\n三、常见问题解答\n四、测试题\n"),
    ItemAttachment.Kind.EMERGENCY: ("应急预案", "一、可能的异常情形\n二、报告路径与联系人\n三、客户安抚话术\n四、恢复与回退\n"),
}

DONE_NOTES = [
    "已按要求完成，相关登记表已留存备查。",
    "已在晨会传达并组织落实，完成情况已登记。",
    "已完成厅堂布放和客户告知。",
    "已完成操作验证，运行正常。",
    "已完成，发现的问题已在问题清单中反馈。",
]


@dataclass
class Spec:
    """One item of the plan."""

    meeting: int  # 1-based index into the meetings of its phase
    dept: str
    kind: str  # S N C I
    title: str
    decision: str  # A (approved) C (conditional) R (rejected), "" undecided
    effort: float
    days: int  # window length
    target: object  # "all" | "big" | "flagship" | ("sub", [codes]) | ("list", [codes])
    urgency: str
    customer_facing: bool
    actions: str
    concerns: list[str] = field(default_factory=list)  # dimensions with a concern
    attachments: list[str] = field(default_factory=list)
    justification: str | None = None  # None: the strong text of its kind
    reasons: str = ""  # of a rejection
    texts: dict[str, str] = field(default_factory=dict)  # dimension → concern text (overrides)
    stalled: bool = False  # a conditional item whose condition is sent back and never closed
    revise_of: int | None = None  # 1-based number of the rejected item it revises


def S(*args, **kw) -> Spec:  # noqa: N802 - a short constructor for the table below
    return Spec(*args, **kw)


ALL = "all"
BIG = "big"  # flagship and comprehensive outlets
SMALL = "small"  # light and community outlets

HISTORY = [
    # Meeting 1, 2021-06-09
    S(1, "PFB", "S", "个人客户身份证件到期提醒功能上线", "A", 1.0, 21, ALL, "normal", True,
      "客户办理业务时系统弹出证件到期提示，柜员提醒客户并现场办理证件信息更新。", attachments=["script", "guide"]),
    S(1, "CARD", "I", "借记卡“断卡行动”专项排查", "C", 6.0, 42, ALL, "important", True,
      "对名下多卡且近期交易异常的客户开展核实，按要求暂停可疑账户的非柜面交易。",
      concerns=["consumer_rights", "process"], attachments=["guide"]),
    S(1, "CPP", "C", "防范非法集资宣传月网点宣传", "A", 2.0, 21, BIG, "normal", True,
      "厅堂布放宣传折页和海报，LED屏滚动播放宣传标语，向到店客户发放宣传资料。", attachments=["script"]),
    S(1, "WEALTH", "I", "理财产品销售双录抽检整改", "C", 3.0, 28, BIG, "important", False,
      "网点自查近三个月理财销售录音录像，按清单补录缺失要素并上报整改情况。", concerns=["process", "training"]),
    S(1, "SECURITY", "I", "网点安防设备季度自查", "A", 1.5, 14, ALL, "normal", False,
      "对照检查表自查监控、报警、门禁等安防设备运行情况并在系统登记。", attachments=["guide"]),
    # Meeting 2, 2021-06-16
    S(2, "PFB", "N", "社保卡激活集中办理", "C", 5.0, 35, BIG, "important", True,
      "为批量制发的社保卡客户办理激活和密码设置，做好分时预约和厅堂分流。", concerns=["channel", "emergency"],
      attachments=["script"]),
    S(2, "CORP", "I", "对公账户年检资料网点代收", "R", 4.0, 30, BIG, "normal", True,
      "网点接收企业客户提交的年检资料，扫描上传并登记。", concerns=["channel"],
      justification="企业客户习惯到网点办理。",
      texts={"channel": "企业网银已具备年检资料线上提交功能，应集约化处理，不应落地网点。"},
      reasons="企业网银已能线上提交年检资料，可集约化处理，不应落地网点；方案也未说明资料审核责任。"),
    S(2, "INCLUSIVE", "N", "普惠“经营快贷”网点受理上线", "C", 3.0, 28, BIG, "normal", True,
      "网点受理小微企业主线上申请后的面签和资料核验。", concerns=["compliance", "consumer_rights"]),
    S(2, "FINANCE", "I", "网点营业用房租赁信息核对", "A", 0.5, 10, SMALL, "normal", False,
      "核对网点营业用房租赁合同的期限、面积和租金信息，在系统中确认。"),
    # Meeting 3, 2021-06-23
    S(3, "PFB", "S", "手机银行6.0版本切换", "C", 4.0, 21, ALL, "urgent", True,
      "协助到店客户完成手机银行升级和首次登录，解答新版功能咨询，记录客户反馈的问题。",
      concerns=["training", "emergency", "channel"], attachments=["script"]),
    S(3, "CARD", "S", "ATM芯片卡改造切换", "C", 2.0, 14, BIG, "important", True,
      "切换当晚配合检查自助设备运行，次日开门前完成设备巡检并公示切换告知。", concerns=["emergency"]),
    S(3, "HR", "I", "网点员工反洗钱年度培训考试", "A", 2.0, 21, ALL, "normal", False,
      "组织网点员工在线学习反洗钱课程并完成年度考试。", attachments=["training"]),
    S(3, "PFB", "I", "睡眠账户客户逐户电话通知", "R", 8.0, 28, ALL, "normal", True,
      "网点逐户电话通知一年以上无交易的个人账户客户到网点办理激活或销户。",
      concerns=["channel", "consumer_rights"], justification="网点更熟悉客户。",
      texts={"channel": "可由短信平台和远程银行集中通知，逐户电话通知不应落地网点。",
             "consumer_rights": "未提供客户告知话术，电话通知存在被误认为诈骗电话的风险。"},
      reasons="可由短信平台和远程银行集中通知，逐户电话通知使网点负荷过重；未提供客户告知话术。"),
    # Meeting 4, 2021-06-30
    S(4, "CREDIT", "C", "信用卡分期业务厅堂营销活动", "R", 3.0, 30, BIG, "normal", True,
      "网点大堂人员向到店客户推介信用卡账单分期，完成分期笔数指标。",
      concerns=["consumer_rights", "compliance"], justification="营销需要。",
      texts={"consumer_rights": "以产品销售为导向，未告知分期费率和风险，存在误导销售和投诉隐患。",
             "compliance": "在厅堂向非信用卡客户推介分期不符合适当性要求。"},
      reasons="以产品销售为导向，缺少费率和风险告知，存在误导销售和投诉隐患，不具备落地条件。"),
    S(4, "CPP", "I", "网点投诉处理流程指引更新", "A", 1.0, 14, ALL, "normal", False,
      "组织网点学习更新后的投诉处理流程指引，张贴首问负责制公示。", attachments=["guide", "training"]),
    S(4, "OPS", "S", "网点现金业务预约系统上线", "C", 2.0, 21, BIG, "normal", True,
      "客户通过手机银行预约大额取现后，网点按预约清单备付现金并短信确认。", concerns=["training", "emergency"],
      attachments=["guide"]),
    # Meeting 5, 2021-07-14
    S(5, "PFB", "I", "存量客户身份信息核查", "C", 10.0, 63, ALL, "important", True,
      "对身份信息要素不全或证件过期的存量客户，在客户到店时核实并补录信息。",
      concerns=["channel", "consumer_rights"], attachments=["script", "guide"]),
    S(5, "WEALTH", "C", "“七夕”理财产品专属营销活动", "C", 2.0, 14, BIG, "normal", True,
      "厅堂布放活动物料，理财经理向客户介绍活动产品。", concerns=["brand", "compliance"]),
    S(5, "CARD", "N", "数字人民币钱包开立推广（试点）", "C", 3.0, 42, ("sub", ["4001", "4003"]), "important", True,
      "在试点网点协助客户开立数字人民币钱包并讲解使用方法。", concerns=["training", "emergency"]),
    S(5, "SECURITY", "I", "汛期网点安全防护专项检查", "A", 1.5, 14, SMALL, "important", False,
      "检查网点防汛物资、排水和用电安全，填报检查表。"),
    # Meeting 6, 2021-07-28
    S(6, "INCLUSIVE", "C", "小微企业走访营销（网点包片）", "R", 16.0, 56, ALL, "normal", False,
      "网点每周外出走访不少于30户小微企业，并录入走访记录。", concerns=["process"], justification="",
      texts={"process": "每周30户的外出走访要求远超网点人手，应由普惠金融事业部的客户经理团队承接。"},
      reasons="网点人员以对外服务为先，每周30户的外出走访远超网点承受能力，应由普惠金融事业部客户经理团队承接。"),
    S(6, "PFB", "S", "柜面无纸化系统升级（电子签名）", "C", 2.0, 14, BIG, "important", True,
      "系统升级后客户在签名屏上确认业务凭证，柜员指导客户完成电子签名。", concerns=["consumer_rights", "emergency"]),
    S(6, "CPP", "C", "适老化服务改造（爱心窗口）", "C", 3.0, 42, BIG, "normal", True,
      "设置爱心窗口和老年客户服务区，配备老花镜、放大镜等便民设施。", concerns=["brand", "process"]),
    # Meeting 7, 2021-08-11
    S(7, "PFB", "N", "第三代社保卡即时制卡上线", "C", 3.0, 35, "flagship", "important", True,
      "在旗舰网点受理第三代社保卡即时制卡，现场制卡发卡。", concerns=["training", "channel"], attachments=["guide"]),
    S(7, "FINANCE", "I", "残损人民币兑换服务公示更新", "A", 0.5, 7, ALL, "normal", True,
      "更换厅堂的残损人民币兑换标准公示牌。"),
    S(7, "CARD", "C", "银行卡境外支付暑期优惠活动", "A", 1.0, 28, BIG, "normal", True,
      "厅堂布放活动海报，客户咨询时介绍优惠规则。", attachments=["script"]),
    # Meeting 8, 2021-08-25
    S(8, "WEALTH", "I", "个人客户风险测评问卷更新", "C", 2.0, 21, BIG, "important", True,
      "客户购买理财产品前按新版问卷重新测评，测评过期的客户到店时提示重新测评。", concerns=["consumer_rights"]),
    S(8, "OPS", "S", "叫号机排队系统升级（预约取号）", "C", 1.5, 14, BIG, "normal", True,
      "升级后核对叫号机业务类型配置，引导预约客户在叫号机扫码取号。", concerns=["emergency", "training"]),
    S(8, "HR", "I", "网点厅堂服务礼仪培训（八点服务法）", "A", 2.0, 28, ALL, "normal", False,
      "组织网点员工参加服务礼仪培训，并在晨会开展情景演练。", attachments=["training"]),
    # Meeting 9, 2021-09-15
    S(9, "CPP", "C", "“金融知识万里行”金融知识普及月活动", "C", 4.0, 30, ALL, "important", True,
      "开展厅堂宣讲和进社区宣传，做好宣传活动记录。", concerns=["brand"], attachments=["script"]),
    S(9, "PFB", "S", "个人开户“一件事”流程优化上线", "C", 1.0, 14, BIG, "normal", True,
      "按优化后的流程为客户一次办理开户、签约手机银行和关联社保卡。", concerns=["process", "compliance"]),
    S(9, "CREDIT", "N", "信用卡网点“一键办卡”上线", "C", 2.0, 28, BIG, "normal", True,
      "客户在智能柜台扫码申请信用卡，网点人员协助核验身份。", concerns=["consumer_rights", "training"]),
    S(9, "SECURITY", "I", "国庆期间网点安全保卫工作部署", "A", 1.0, 14, ALL, "urgent", False,
      "落实节日值班和安全检查，节前完成消防和监控设备检查。"),
    # Meeting 10, 2021-10-20
    S(10, "CARD", "I", "长期不动户专项清理", "C", 4.0, 42, BIG, "normal", True,
      "对符合条件的长期不动户，在客户到店时提示销户或激活并按流程办理。", concerns=["channel", "consumer_rights"]),
    S(10, "INCLUSIVE", "N", "个体工商户结算账户开户便利化", "C", 2.0, 28, BIG, "normal", True,
      "按简化流程为个体工商户开立结算账户。", concerns=["compliance", "process"], stalled=True),
    S(10, "PFB", "C", "反诈宣传月活动", "C", 2.0, 30, ALL, "important", True,
      "厅堂播放反诈宣传片，柜面办理转账汇款时提示风险，发放反诈宣传折页。", concerns=["brand"],
      attachments=["script"]),
    # Meeting 11, 2021-11-10
    S(11, "PFB", "I", "久悬账户短信集中通知及网点接待指引", "A", 1.0, 28, ALL, "normal", True,
      "客户收到短信通知到店后，网点按接待指引办理激活或销户。", attachments=["script", "guide"], revise_of=13),
    S(11, "WEALTH", "N", "贵金属积存业务网点受理上线", "C", 2.0, 28, BIG, "normal", True,
      "受理客户开立贵金属积存账户，讲解价格波动风险。", concerns=["consumer_rights", "training"]),
    S(11, "FINANCE", "I", "年末网点费用报销集中清理", "A", 1.0, 21, SMALL, "normal", False,
      "清理年内未报销的费用单据并在财务系统提交。"),
    # Meeting 12, 2021-11-24
    S(12, "CARD", "S", "借记卡年费减免系统自动化", "A", 0.5, 7, ALL, "normal", True,
      "系统自动减免后，客户咨询时按口径解释，不再受理人工减免申请。", attachments=["script"]),
    S(12, "PFB", "I", "个人存款账户实名制电话回访", "R", 12.0, 42, ALL, "normal", True,
      "网点逐户电话回访存量客户，核实账户实名情况并录入系统。", concerns=["channel", "compliance"],
      justification="监管要求。",
      texts={"channel": "回访可由远程银行中心集中外呼完成，不应由网点逐户电话回访。",
             "compliance": "未说明回访中客户信息的保护措施。"},
      reasons="回访可由远程银行中心集中外呼完成，网点逐户回访没有必要；未说明回访话术和客户信息保护措施。"),
    S(12, "OPS", "I", "网点重要空白凭证年末盘点", "A", 2.0, 10, ALL, "important", False,
      "年末对重要空白凭证和印章进行盘点，双人签字确认。", attachments=["guide"]),
    # Meeting 13, 2021-12-15
    S(13, "CREDIT", "C", "信用卡春节分期营销物料布放", "C", 1.0, 30, BIG, "normal", True,
      "厅堂布放春节分期活动物料，客户咨询时告知费率。", concerns=["brand", "consumer_rights"]),
    S(13, "CPP", "I", "2022年消保审查要点网点传导", "C", 1.0, 21, BIG, "normal", False,
      "组织网点学习消保审查要点并完成自查。", concerns=["training"]),
    S(13, "SECURITY", "I", "春节期间网点安全检查", "A", 1.0, 14, ALL, "important", False,
      "节前完成网点安全检查和值班安排。"),
    # Meeting 14, 2022-01-12
    S(14, "PFB", "C", "春节新钞兑换预约服务", "C", 2.0, 14, BIG, "important", True,
      "客户通过手机银行预约新钞兑换，网点按预约备付并按序兑换。", concerns=["channel", "emergency"]),
    S(14, "WEALTH", "C", "“开门红”理财宣传物料布放", "C", 1.0, 21, BIG, "normal", True,
      "布放开门红理财宣传物料，按要求落实风险提示。", concerns=["compliance", "brand"]),
    # Meeting 15, 2022-02-23
    S(15, "CARD", "N", "数字人民币硬钱包发放", "C", 2.0, 28, ("sub", ["4001", "4003", "4007"]), "normal", True,
      "在试点网点向老年客户发放数字人民币硬钱包并讲解使用方法。", concerns=["training", "consumer_rights"]),
    S(15, "INCLUSIVE", "I", "普惠贷款客户贷后回访核查", "C", 3.0, 28, BIG, "normal", False,
      "配合客户经理对普惠贷款客户开展贷后回访，核实经营情况。", concerns=["channel"]),
    # Meeting 16, 2022-03-16
    S(16, "CPP", "C", "二季度消费者权益保护教育宣传", "C", 1.5, 21, BIG, "normal", True,
      "开展厅堂宣传和投资者教育讲座，做好活动记录。", concerns=["brand"]),
    S(16, "PFB", "S", "智能柜台业务功能扩展（第二批）", "C", 1.0, 14, BIG, "normal", True,
      "新增功能上线后引导客户在智能柜台自助办理，大堂人员做好协助。", concerns=["training", "emergency"]),
]

assert len(HISTORY) == 51
assert [s.decision for s in HISTORY].count("A") == 16
assert [s.decision for s in HISTORY].count("C") == 30
assert [s.decision for s in HISTORY].count("R") == 5
assert len({s.meeting for s in HISTORY}) == len(MEETING_DAYS)



# --------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------


@dataclass
class _Planned:
    """What was planned for one item, and what it became."""

    spec: Spec
    window: tuple[date, date]
    item: Item | None = None
    history: bool = True
    held_on: date | None = None
    meeting: Meeting | None = None
    conditions: list[dict] = field(default_factory=list)
    variants: dict[str, int] = field(default_factory=dict)


class _Builder:
    def __init__(self, stdout=None, now: datetime | None = None):
        self.stdout = stdout
        self.now = now or anchor()
        self.today = timezone.localdate(self.now)
        self.rng = random.Random(SEED)
        self.tz = timezone.get_current_timezone()
        self.queue: list = []
        self.order = itertools.count()
        self.planned: list[_Planned] = []
        self._load()

    # --- people and places ------------------------------------------------------------------

    def _load(self):
        User = get_user_model()
        self.branch = Institution.objects.get(code=BRANCH["code"])
        self.conf = Settings.objects.get_or_create(branch=self.branch, defaults={"meeting_weekday": 2})[0]
        self.depts = {d.code: d for d in Department.objects.filter(institution=self.branch)}
        staff = (Staff.objects.filter(is_active=True, user__is_active=True)
                 .select_related("user", "department", "institution").order_by("staff_no"))
        by_role: dict[str, set[int]] = {}
        for user_id, group in User.groups.through.objects.filter(
                group__name__in=[Role.SUBMITTER, Role.REVIEWER, Role.OUTLET_HEAD]).values_list(
                "user_id", "group__name"):
            by_role.setdefault(group, set()).add(user_id)
        self.submitters: dict[str, list] = {}
        self.reviewers: dict[str, list] = {}
        self.heads: dict[int, object] = {}
        for s in staff:
            if s.department_id and s.department.institution_id == self.branch.pk:
                if s.user_id in by_role.get(Role.SUBMITTER, ()):
                    self.submitters.setdefault(s.department.code, []).append(s.user)
                if s.user_id in by_role.get(Role.REVIEWER, ()):
                    self.reviewers.setdefault(s.department.code, []).append(s.user)
            if s.institution.level == Level.OUTLET and s.user_id in by_role.get(Role.OUTLET_HEAD, ()):
                self.heads.setdefault(s.institution_id, s.user)
        users = {u.username: u for u in User.objects.filter(
            username__in=["admin", "secretariat", "submitter", "reviewer", "outlet_head", "leader"])}
        self.secretariat = users["secretariat"]
        self.submitter = users["submitter"]
        self.reviewer = users["reviewer"]
        self.outlet_head = users["outlet_head"]
        # The branch leader chairs the meetings (the demo's chair account): the quorum needs the chair.
        self.chair = users["leader"]
        self.ops_people = [s.user for s in staff if s.department_id and s.department.code == "OPS"][:3]
        self.outlets = list(Institution.objects.filter(level=Level.OUTLET, is_active=True,
                                                       path__startswith=self.branch.path).order_by("path"))
        self.types = {t.code: t for t in OutletType.objects.all()}
        self.clusters = list(Cluster.objects.filter(institution__parent=self.branch).select_related("institution")
                             .order_by("code"))
        self.remits = {code: set(ReviewRemit.objects.get(department=self.depts[code]).dimensions
                                 .values_list("code", flat=True))
                       for code in REVIEW_ORDER if code in self.depts
                       and ReviewRemit.objects.filter(department=self.depts[code]).exists()}
        self.dims = {d.code: d for d in ReviewDimension.objects.all()}

    def person(self, dept: str, prefer=None):
        people = self.submitters.get(dept) or self.reviewers.get(dept) or [self.secretariat]
        if prefer is not None and prefer in people and self.rng.random() < 0.6:
            return prefer
        return self.rng.choice(people)

    # --- time -------------------------------------------------------------------------------

    def at(self, day: date, lo: float = 9.0, hi: float = 17.0) -> datetime:
        minute = self.rng.randint(int(lo * 60), int(hi * 60) - 1)
        return timezone.make_aware(datetime.combine(day, dtime(minute // 60, minute % 60)), self.tz)

    def moment(self, day: date, hour: int, minute: int = 0) -> datetime:
        return timezone.make_aware(datetime.combine(day, dtime(hour, minute)), self.tz)

    @staticmethod
    def workday(d: date, step: int = 1) -> date:
        while not is_working_day(d):
            d += timedelta(days=step)
        return d

    def local_day(self, t: datetime) -> date:
        return timezone.localtime(t, self.tz).date()

    # --- the event queue --------------------------------------------------------------------

    def plan(self, moment: datetime, fn, *args, **kwargs):
        heapq.heappush(self.queue, (moment, next(self.order), fn, args, kwargs))

    def run_queue(self):
        while self.queue:
            moment, _n, fn, args, kwargs = heapq.heappop(self.queue)
            fn(moment, *args, **kwargs)

    call = staticmethod(call_at)  # call(moment, service, *args): the service runs at that moment

    # --- items ------------------------------------------------------------------------------

    def targets(self, target) -> dict:
        if target == ALL:
            return {"target_mode": TargetMode.ALL}
        if target == BIG:
            return {"target_mode": TargetMode.BY_TYPE,
                    "target_types": [self.types[c] for c in ("flagship", "comprehensive") if c in self.types]}
        if target == SMALL:
            return {"target_mode": TargetMode.BY_TYPE,
                    "target_types": [self.types[c] for c in ("light", "community") if c in self.types]}
        if target == "flagship":
            return {"target_mode": TargetMode.BY_TYPE, "target_types": [self.types["flagship"]]}
        kind, codes = target
        if kind == "sub":
            return {"target_mode": TargetMode.BY_CLUSTER,
                    "target_clusters": [c for c in self.clusters if c.institution.code in codes]}
        return {"target_mode": TargetMode.LIST,
                "target_list": list(Institution.objects.filter(code__in=codes))}

    def fields(self, p: _Planned) -> dict:
        spec = p.spec
        start, end = p.window
        justification = JUSTIFICATION[spec.kind] if spec.justification is None else spec.justification
        return dict(
            title=spec.title, item_type=KINDS[spec.kind],
            background=BACKGROUND[spec.kind].format(title=spec.title), actions=spec.actions,
            effort_hours=spec.effort, window_start=start, window_end=end, urgency=spec.urgency,
            customer_facing=spec.customer_facing, customer_impact=IMPACT[spec.kind] if spec.customer_facing else "",
            online_justification=justification,
        )

    def draft(self, moment: datetime, p: _Planned, actor, previous: Item | None = None):
        spec = p.spec
        fields = self.fields(p)
        if previous is not None:
            new = self.call(moment, coord.revise_item, actor, previous)
            fields.pop("item_type")
            p.item = self.call(moment, coord.save_item, actor, new, **fields)
        else:
            p.item = self.call(moment, coord.save_item, actor, department=self.depts[spec.dept],
                               **fields, **self.targets(spec.target))
        for kind in spec.attachments:
            label, body = ATTACHMENT_TEXT[kind]
            text = f"{spec.title}\n{label}\n\n{body.format(title=spec.title)}"
            upload = ContentFile(text.encode("utf-8"), name=f"{label}-{spec.title}.txt")
            self.call(moment, coord.add_attachment, actor, p.item, kind, upload)

    def submit(self, moment: datetime, p: _Planned, actor, meeting: Meeting):
        item = self.call(moment, coord.submit_item, actor, p.item)
        if item.meeting_id != meeting.pk:  # another open agenda came first: move it to the planned one
            self.call(moment, coord.schedule_item, self.secretariat, item, meeting)
        p.item = item

    def concern(self, p: _Planned, code: str) -> tuple[str, str, str]:
        """The concern (text, condition, proof) of a dimension: one variant per item, so the opinion and
        the condition that follows from it say the same thing."""
        if code not in p.variants:
            p.variants[code] = self.rng.randrange(len(CONCERNS[code]))
        return CONCERNS[code][p.variants[code]]

    def opinion(self, moment: datetime, p: _Planned, dept: str, reject: bool = False):
        spec = p.spec
        dims = sorted(self.remits.get(dept, ()), key=lambda c: self.dims[c].sort_order if c in self.dims else 0)
        if not dims:
            return
        lines, worried = [], False
        for code in dims:
            if code in spec.concerns:
                concern, proposed, _proof = self.concern(p, code)
                lines.append({"dimension": self.dims[code], "concern": True,
                              "text": spec.texts.get(code, concern),
                              "proposed_condition": "" if reject else proposed})
                worried = True
            else:
                lines.append({"dimension": self.dims[code], "concern": False, "text": "", "proposed_condition": ""})
        recommendation = (Opinion.Recommendation.REJECT if worried and reject else
                          Opinion.Recommendation.CONDITIONAL if worried else Opinion.Recommendation.APPROVE)
        people = self.reviewers.get(dept) or []
        if not people:
            return
        reviewer = self.reviewer if dept == "ICC" and self.rng.random() < 0.6 else self.rng.choice(people)
        self.call(moment, coord.give_opinion, reviewer, p.item, recommendation=recommendation, lines=lines)

    def conditions_for(self, p: _Planned, held_on: date) -> list[dict]:
        out = []
        for i, code in enumerate(p.spec.concerns):
            _concern, text, proof = self.concern(p, code)
            owner = "FINTECH" if code == "emergency" and p.spec.kind == "S" else p.spec.dept
            due = add_working_days(held_on, 5 + 3 * i + self.rng.randint(0, 2))
            out.append({"text": text, "owner_department": self.depts[owner], "due_date": due, "proof": proof})
        return out

    # --- meetings ---------------------------------------------------------------------------

    def create_meeting(self, moment: datetime, held_on: date) -> Meeting:
        """Created before the items for it are submitted, so its agenda is open until its cut-off."""
        return self.call(moment, coord.create_meeting, self.secretariat, self.branch, held_on,
                         location="分行大楼12楼第二会议室", chair=self.chair)

    def freeze(self, meeting: Meeting):
        """The agenda is frozen at its cut-off."""
        self.call(meeting.cutoff_at, coord.freeze_agenda, self.secretariat, meeting)

    def hold(self, meeting: Meeting, planned: list[_Planned]):
        """Held on the day at 14:30: attendance, the consent block, then each item; minutes closed."""
        day = meeting.held_on
        attendees = list(self.ops_people)
        for dept in REVIEW_ORDER:
            if self.reviewers.get(dept):
                attendees.append(self.reviewers[dept][0])
        for p in planned:
            if p.item.submitter not in attendees:
                attendees.append(p.item.submitter)
        self.call(self.moment(day, 14, 30), coord.record_attendance, self.secretariat, meeting, attendees,
                  chair=self.chair)
        if any(p.spec.decision == "A" for p in planned):
            self.call(self.moment(day, 14, 40), coord.decide_consent_block, self.secretariat, meeting)
        t = self.moment(day, 14, 50)
        for p in planned:
            spec = p.spec
            t += timedelta(minutes=self.rng.randint(6, 15))
            if spec.decision == "A":
                # Approved in the consent block — unless a review department had no remit to answer with.
                if Item.objects.filter(pk=p.item.pk, status=ItemStatus.SUBMITTED).exists():
                    self.call(t, coord.record_decision, self.secretariat, p.item, Decision.APPROVED,
                              reasons="评议无异议，同意实施。")
            elif spec.decision == "R":
                self.call(t, coord.record_decision, self.secretariat, p.item, Decision.REJECTED, reasons=spec.reasons)
            else:
                conditions = p.conditions
                self.call(t, coord.record_decision, self.secretariat, p.item, Decision.CONDITIONAL,
                          reasons="按评议意见补充完善后方可实施。", conditions=conditions)
        # Feedback on the agenda: answered, each with who follows up; done later, which resolves the case.
        people = {**self.submitters, **self.reviewers, "OPS": self.ops_people}
        for follow_day, entry, person, note in answer_open_entries(meeting, t + timedelta(minutes=10), self.secretariat,
                                                                   self.depts, people, self.rng):
            done = self.at(follow_day, 9, 17)
            if self.before(done):
                self.call(done, coord.complete_feedback, person, entry, note=note)
                closed = self.at(add_working_days(follow_day, self.rng.randint(1, 3)), 9, 17)
                case = Case.objects.get(pk=entry.case_id)
                if self.before(closed):
                    self.call(closed, case_services.close_case, case.requester, case)
        self.call(self.moment(day, 17, 30), coord.close_meeting, self.secretariat, meeting)
        self.approve_minutes(meeting)
        for p in planned:
            p.item.refresh_from_db()

    def approve_minutes(self, meeting: Meeting):
        """Closing issued the minutes (the secretariat); the chair (the ``leader`` account) approves
        them the same evening: numbered and stored once."""
        self.call(self.moment(meeting.held_on, 17, 45), coord.approve_minutes, self.chair, meeting)

    # --- after the meeting ------------------------------------------------------------------

    def release(self, moment: datetime, p: _Planned, outcomes):
        item = Item.objects.get(pk=p.item.pk)
        try:
            self.call(moment, coord.release_item, self.secretariat, item)
        except ValidationError as exc:
            if "override_reason" not in getattr(exc, "message_dict", {}):
                raise
            self.call(moment, coord.release_item, self.secretariat, item,
                      override_reason="经秘书处统筹，按紧急程度优先安排，相关网点已错峰处理其他事项。")
        orders = list(WorkOrder.objects.filter(item=item).order_by("institution__path")
                      .values_list("pk", "institution_id"))
        outcomes(moment, p, orders)

    def history_outcomes(self, released: datetime, p: _Planned, orders):
        """Most done within the window, some late, a very few only acknowledged."""
        start, end = p.window
        first = max(start, self.local_day(released) + timedelta(days=1))
        days = [d for d in (first + timedelta(days=i) for i in range((end - first).days + 1)) if is_working_day(d)]
        for pk, outlet in orders:
            head = self.heads.get(outlet)
            wo = WorkOrder(pk=pk)
            r = self.rng.random()
            if r < 0.012 and not self.is_demo_head(head):
                day = self.workday(self.local_day(released) + timedelta(days=self.rng.randint(1, 3)))
                self.plan(self.at(day), self._ack, head, wo)
                continue
            if r < 0.07:
                day = self.workday(end + timedelta(days=self.rng.randint(1, 6)))
            else:
                day = self.rng.choice(days or [end])
            self.plan(self.at(day), self._done, head, wo, self.rng.choice(DONE_NOTES))

    def is_demo_head(self, head) -> bool:
        return head is not None and head.pk == self.outlet_head.pk

    def _ack(self, moment, head, wo):
        self.call(moment, dispatch.acknowledge_work_order, head, wo)

    def _done(self, moment, head, wo, note):
        self.call(moment, dispatch.complete_work_order, head, wo, note)

    def _report(self, moment, cond: Condition, actor, evidence: str):
        self.call(moment, coord.report_condition_met, actor, cond, evidence)

    def _sign(self, moment, cond: Condition, accept: bool = True, note: str = ""):
        self.call(moment, coord.sign_off_condition, self.secretariat, cond, accept, note)

    # --- the first year ---------------------------------------------------------------------

    def plan_history(self):
        """Plan windows first (they are fixed at drafting), then queue every step by its moment."""
        rng = self.rng
        cutoffs = [coord._cutoff(self.conf, d) for d in MEETING_DAYS]
        by_meeting: dict[int, list[_Planned]] = {}
        for spec in HISTORY:
            held_on = MEETING_DAYS[spec.meeting - 1]
            p = _Planned(spec, (held_on, held_on))
            p.held_on = held_on
            p.conditions = []
            if spec.decision == "C":
                p.conditions = self.conditions_for(p, held_on)
                ready = add_working_days(max(c["due_date"] for c in p.conditions), 2)
            else:
                ready = add_working_days(held_on, 1)
            start = self.workday(ready + timedelta(days=rng.randint(3, 9)))
            p.window = (start, start + timedelta(days=spec.days - 1))
            by_meeting.setdefault(spec.meeting, []).append(p)
            self.planned.append(p)

        specs_by_number = {i + 1: p for i, p in enumerate(self.planned)}
        for k, held_on in enumerate(MEETING_DAYS, start=1):
            items = by_meeting[k]
            # The mechanism started in June 2021: the first agenda collects from 1 June.
            lo = cutoffs[k - 2] if k > 1 else self.moment(HISTORY_START - timedelta(days=1), 18)
            hi = cutoffs[k - 1]
            days = [d for d in (self.local_day(lo) + timedelta(days=i)
                                for i in range(1, (self.local_day(hi) - self.local_day(lo)).days))
                    if is_working_day(d)]
            days = days[-8:] or [self.local_day(hi)]
            submits = sorted(self.at(rng.choice(days), 9, 17) for _ in items)
            self.plan(submits[0] - timedelta(minutes=1), self._open_meeting, k, held_on, items)
            for p, submitted in zip(items, submits, strict=True):
                actor = self.person(p.spec.dept, prefer=self.submitter)
                previous = specs_by_number[p.spec.revise_of] if p.spec.revise_of else None
                drafted = max(submitted - timedelta(hours=rng.uniform(1, 40)),
                              min(submitted, self.moment(HISTORY_START, 8, 30)))
                self.plan(drafted, self._draft_step, p, actor, previous)
                self.plan(submitted, self._submit_step, p, actor)
                for dept in REVIEW_ORDER:
                    t = self.workhour(submitted + timedelta(hours=rng.uniform(2, 60)))
                    latest = self.moment(held_on, 11)
                    if t > latest:
                        t = latest - timedelta(minutes=rng.randint(5, 300))
                    self.plan(t, self._opinion_step, p, dept)
            self.plan(hi, self._freeze_step, items)
            self.plan(self.moment(held_on, 14, 30), self._hold_step, items)

    def _open_meeting(self, moment, k, held_on, items):
        meeting = self.create_meeting(moment, held_on)
        for p in items:
            p.meeting = meeting

    def _draft_step(self, moment, p, actor, previous):
        self.draft(moment, p, actor, previous.item if previous else None)

    def _submit_step(self, moment, p, actor):
        self.submit(moment, p, actor, p.meeting)

    def _opinion_step(self, moment, p, dept):
        self.opinion(moment, p, dept, reject=p.spec.decision == "R")

    def _freeze_step(self, moment, items):
        self.freeze(items[0].meeting)

    def _hold_step(self, moment, items):
        self.hold(items[0].meeting, items)
        for p in items:
            self.after_decision(p)

    def after_decision(self, p: _Planned):
        rng = self.rng
        held_on = p.held_on
        start = p.window[0]
        if p.spec.decision == "A":
            day = add_working_days(held_on, rng.randint(1, 2))
            self.plan(self.at(min(day, start - timedelta(days=1)), 9, 16), self.release, p, self.history_outcomes)
            return
        if p.spec.decision != "C":
            return
        last = None
        for cond in p.item.conditions.order_by("due_date", "id"):
            owner = self.person(cond.owner_department.code)
            due = cond.due_date
            met = self.workday(due - timedelta(days=rng.randint(0, 3)), step=-1)
            if met <= held_on:
                met = add_working_days(held_on, 1)
            met_at = self.at(met, 9, 15)
            self.plan(met_at, self._report, cond, owner, f"已按要求完成：{cond.proof}已提交秘书处。")
            if p.spec.stalled:
                self.plan(self.at(add_working_days(due, 1), 9, 12), self._sign, cond, False,
                          "材料不完整，请补充后重新报送。")
                continue
            signed = self.at(add_working_days(met, 1), 9, 12)
            self.plan(signed, self._sign, cond)
            last = signed if last is None or signed > last else last
        if last is not None:
            day = self.workday(self.local_day(last) + timedelta(days=rng.randint(0, 1)))
            when = max(self.at(min(day, start - timedelta(days=1)), 13, 17), last + timedelta(minutes=30))
            self.plan(when, self.release, p, self.history_outcomes)

    def close_stale_history(self):
        """The first year's loose ends, closed by the secretariat with a reason when it reviewed the
        register after the year (the conditional item whose condition was never met, released items
        whose last outlets never reported done): every first-year item is closed or carries a reason."""
        reasons = {
            ItemStatus.CONDITIONAL: "所附条件逾期未满足、实施窗口已过，经秘书处清单清理，事项终止，不再下发。",
            ItemStatus.RELEASED: "实施窗口已结束，个别网点工单未反馈完成，经秘书处核实后清单销号，未完成工单予以取消。",
            ItemStatus.APPROVED: "批准后未下发、实施窗口已过，经秘书处清单清理，事项终止。",
        }
        for p in self.planned:
            item = Item.objects.get(pk=p.item.pk)
            if not p.history or item.status not in reasons:
                continue
            moment = self.at(self.workday(max(REGISTER_REVIEW, p.window[1] + timedelta(days=21))), 9, 12)
            self.call(moment, coord.close_item, self.secretariat, item, reasons[item.status])

    # --- the current weeks ------------------------------------------------------------------

    def current_meetings(self) -> tuple[date, date, date]:
        """The current weeks' meetings, on the configured weekday (the next working day when that is a
        holiday): the next one — this week's, until its day is over (18:00) — the one a week before it
        and the one three weeks before that."""
        wd = self.conf.meeting_weekday
        week = self.today - timedelta(days=(self.today.weekday() - wd) % 7)
        if self.workday(week) < self.today or (self.workday(week) == self.today
                                                and self.now >= self.moment(self.today, 18)):
            week += timedelta(days=7)
        return self.workday(week - timedelta(days=28)), self.workday(week - timedelta(days=7)), self.workday(week)

    def before(self, t: datetime, horizon: datetime | None = None) -> bool:
        """Has ``t`` happened by now (and, for the next agenda, before its cut-off)? What is planned
        later has not happened yet and is left out."""
        return t < min(self.now, horizon or self.now)

    def build_current(self):
        """The open work of the current weeks up to now, written meeting by meeting, each call at its
        planned moment: two meetings held, the next one's agenda open or frozen as its cut-off says."""
        rng = self.rng
        pfb = self.submitter
        m1, m2, m3 = self.current_meetings()
        w1 = m1 - timedelta(days=(m1.weekday() - self.conf.meeting_weekday) % 7)  # the weeks' weekday
        w2 = m2 - timedelta(days=(m2.weekday() - self.conf.meeting_weekday) % 7)
        w3 = m3 - timedelta(days=(m3.weekday() - self.conf.meeting_weekday) % 7)

        def back(day: date) -> date:  # a working day on or before ``day``
            return self.workday(day, step=-1)

        def planned(spec: Spec, start: date, end: date) -> _Planned:
            p = _Planned(spec, (start, end), history=False)
            self.planned.append(p)
            return p

        k1 = planned(S(1, "PFB", "I", f"存量个人客户身份信息核查（{w1.year}年度）", "A", 6.0, 0, ALL, "important", True,
                       "对身份信息要素不全、证件过期或联系方式失效的存量个人客户，在客户到店时核实并更新；"
                       "按清单逐户登记核查结果。", attachments=["script", "guide", "training"]),
                     w1 + timedelta(days=12), w1 + timedelta(days=121))
        k2 = planned(S(1, "PFB", "S", "手机银行10.0版本切换", "C", 3.0, 0, ALL, "urgent", True,
                       "切换后协助到店客户完成升级和首次登录，解答新版功能咨询，收集客户反馈的问题。",
                       concerns=["emergency", "consumer_rights", "training"], attachments=["guide"]),
                     w1 + timedelta(days=40), w1 + timedelta(days=53))
        k3_start = w2 + timedelta(days=13)
        k3 = planned(S(2, "CPP", "C", f"反诈宣传月活动（{k3_start.year}年{k3_start.month}月）", "A", 2.0, 0, ALL,
                       "important", True,
                       "厅堂播放反诈宣传片，柜面办理转账汇款时提示风险，发放反诈宣传折页，开展一次进社区宣传。",
                       attachments=["script", "guide"]),
                     k3_start, k3_start + timedelta(days=30))
        k4 = planned(S(2, "CREDIT", "C", "信用卡账单分期厅堂推广", "R", 3.0, 0, BIG, "normal", True,
                       "大堂人员向到店客户推介信用卡账单分期，按网点下达分期笔数。",
                       concerns=["consumer_rights", "compliance"], justification="冲刺业绩需要。",
                       texts={"consumer_rights": "未告知分期手续费率和提前还款规则，存在误导销售隐患。",
                              "compliance": "按网点下达销售笔数，不符合销售适当性和考核导向要求。"},
                       reasons="以销售指标为导向，缺少费率告知和风险提示，重营销轻服务，不具备落地条件。"),
                     w2 + timedelta(days=13), w2 + timedelta(days=58))
        s1 = planned(S(3, "PFB", "N", "个人养老金账户开立上线（新版流程）", "", 2.0, 0, ALL, "important", True,
                       "按新版流程为客户开立个人养老金账户，讲解缴存、投资和领取规则，做好风险提示。",
                       concerns=["consumer_rights"], attachments=["script", "guide", "training"]),
                     w3 + timedelta(days=19), w3 + timedelta(days=65))
        s2 = planned(S(3, "CARD", "N", "第三代社保卡换发网点集中办理", "", 4.0, 0, ALL, "important", True,
                       "为到期换发的社保卡客户办理领卡激活，做好分时预约和厅堂分流。", concerns=["channel"]),
                     w3 + timedelta(days=12), w3 + timedelta(days=65))
        s3 = planned(S(3, "WEALTH", "C", "贵金属实物金条节日营销布放", "", 1.5, 0, BIG, "normal", True,
                       "厅堂布放节日金条营销物料，理财经理向到店客户推介。", justification="营销需要。"),
                     w3 + timedelta(days=20), w3 + timedelta(days=67))
        d1_start = w3 + timedelta(days=33)
        d1 = planned(S(3, "PFB", "I", f"节假日网点营业时间调整公告（{d1_start.year}年{d1_start.month}月起）", "", 0.5, 0,
                       ALL, "normal", True, "按分行统一安排在厅堂和线上渠道公告节日营业时间，做好客户解释。"),
                     d1_start, d1_start + timedelta(days=62))

        def reviews(p: _Planned, start: datetime, depts=REVIEW_ORDER, reject=False):
            t = start
            for dept in depts:
                t += timedelta(hours=rng.uniform(3, 20))
                self.opinion(self.workhour(t), p, dept, reject=reject)

        # The first held meeting: the identity check (approved, released) and the app switch (conditional).
        meeting = self.create_meeting(self.moment(back(w1 - timedelta(days=12)), 17, 30), m1)
        self.draft(self.moment(back(w1 - timedelta(days=9)), 10, 12), k2, pfb)
        self.draft(self.moment(back(w1 - timedelta(days=8)), 9, 40), k1, pfb)
        self.submit(self.moment(back(w1 - timedelta(days=7)), 10, 30), k1, pfb, meeting)
        self.submit(self.moment(back(w1 - timedelta(days=7)), 16, 5), k2, pfb, meeting)
        reviews(k1, self.moment(back(w1 - timedelta(days=6)), 9))
        reviews(k2, self.moment(back(w1 - timedelta(days=6)), 10))
        emergency, script, train = (self.workday(w1 + timedelta(days=n)) for n in (16, 30, 23))
        k2.conditions = [
            {"text": "制定手机银行切换应急预案，明确切换失败的回退和客户安抚措施，并组织网点演练。",
             "owner_department": self.depts["FINTECH"], "due_date": emergency, "proof": "应急预案及演练记录"},
            {"text": "补充新版手机银行服务话术和老年客户操作指引，报法律事务部审核。",
             "owner_department": self.depts["PFB"], "due_date": script, "proof": "法律事务部审核通过的服务话术"},
            {"text": "切换前完成网点大堂及柜面人员培训，覆盖率不低于90%。",
             "owner_department": self.depts["PFB"], "due_date": train, "proof": "培训签到表及测试结果"},
        ]
        self.raise_feedback(meeting)
        self.freeze(meeting)
        self.hold(meeting, [k1, k2])
        self.release(self.moment(self.workday(w1 + timedelta(days=7)), 10, 0), k1, self.current_outcomes)
        self.in_progress = k1

        # The meeting a week ago: the anti-fraud month (approved, waiting for release) and a rejection.
        meeting = self.create_meeting(self.moment(back(w2 - timedelta(days=12)), 17, 30), m2)
        self.draft(self.moment(back(w2 - timedelta(days=9)), 15, 0), k3, self.person("CPP"))
        self.draft(self.moment(back(w2 - timedelta(days=8)), 11, 0), k4, self.person("CREDIT"))
        self.submit(self.moment(back(w2 - timedelta(days=8)), 11, 20), k3, k3.item.submitter, meeting)
        self.submit(self.moment(back(w2 - timedelta(days=7)), 14, 45), k4, k4.item.submitter, meeting)
        reviews(k3, self.moment(back(w2 - timedelta(days=7)), 9))
        reviews(k4, self.moment(back(w2 - timedelta(days=6)), 9), reject=True)
        # Meanwhile: the app switch's training is reported done.
        self._report(self.moment(back(w2 - timedelta(days=1)), 16, 20), k2.item.conditions.get(due_date=train), pfb,
                     "已分三场完成培训，覆盖率96%，签到表和测试结果已上传。")
        self.raise_feedback(meeting)
        self.freeze(meeting)
        self.hold(meeting, [k3, k4])
        # After it, an outlet raises a problem with the identity check (within its deadline until the
        # next meeting, which takes it).
        problem = self.raise_problem(self.moment(m2, 15, 50))

        # The next meeting: items waiting for opinions, and a draft — as far as now has come (its
        # agenda frozen at its cut-off when that has passed).
        meeting = self.create_meeting(self.moment(back(w3 - timedelta(days=9)), 9, 0), m3)
        cutoff = meeting.cutoff_at
        # The outlet's problem concerns several departments: the secretariat puts it on this agenda.
        raised = self.moment(m2, 17, 40)
        if problem is not None and self.before(raised, cutoff):
            self.call(raised, case_services.triage_feedback, self.secretariat, problem, "to_meeting",
                      note="涉及远程银行与个人金融业务部，提交运营沟通会统筹研究。")
        steps = [
            (self.moment(back(w3 - timedelta(days=12)), 16, 40), "draft", s1, pfb),
            (self.moment(back(w3 - timedelta(days=9)), 11, 0), "submit", s1, pfb),
            (self.moment(back(w3 - timedelta(days=8)), 10, 15), "opinion", s1, "ICC"),
            (self.moment(back(w3 - timedelta(days=7)), 9, 30), "opinion", s1, "FINTECH"),
            (self.moment(back(w3 - timedelta(days=7)), 10, 0), "draft", s2, self.person("CARD")),
            (self.moment(back(w3 - timedelta(days=7)), 15, 0), "submit", s2, None),
            (self.moment(back(w3 - timedelta(days=6)), 15, 10), "opinion", s1, "LEGAL"),
            (self.moment(back(w3 - timedelta(days=6)), 17, 5), "opinion", s2, "ONLINE"),
            (self.moment(back(w3 - timedelta(days=6)), 17, 30), "draft", s3, self.person("WEALTH")),
            (self.moment(back(w3 - timedelta(days=5)), 10, 0), "submit", s3, None),
            (self.moment(back(w3 - timedelta(days=5)), 16, 0), "draft", d1, pfb),
        ]
        for moment, step, p, who in sorted(steps, key=lambda s: s[0]):
            if not self.before(moment, cutoff if step != "draft" else None):
                continue  # not yet (or after the cut-off: for the meeting after)
            if step == "draft":
                self.draft(moment, p, who)
            elif p.item is None:
                continue
            elif step == "submit":
                self.submit(moment, p, who or p.item.submitter, meeting)
            elif p.item.status == ItemStatus.SUBMITTED:
                self.opinion(moment, p, who)
        self.raise_feedback(meeting)
        if cutoff < self.now:
            self.freeze(meeting)

        # The worker early today: overdue conditions flagged and escalated; the reviewers still owing
        # an opinion on the next agenda reminded before its cut-off.
        self.worker_at = min(self.moment(self.today, 7, 0), self.now - timedelta(minutes=1))
        self.call(self.worker_at, coord.check_conditions, self.today)
        self.call(self.worker_at, coord.remind_reviewers, self.today)

    def raise_feedback(self, meeting: Meeting):
        """The secretariat raises the outlets' workload feedback (left to triage by the demo cases) to
        the meeting's agenda, before its cut-off and no earlier than the day after it came in."""
        open_from = meeting.created_at + timedelta(minutes=5)
        for case in (Case.objects.filter(case_type=CaseType.FEEDBACK, status=CaseStatus.NEW, category__code="WORKLOAD",
                                         institution__path__startswith=self.branch.path,
                                         received_at__date__gte=current_from(self.today))
                     .order_by("received_at")):
            t = max(open_from, self.at(add_working_days(self.local_day(case.received_at), 1), 9, 12))
            if t >= min(meeting.cutoff_at, self.now):
                continue  # for a later agenda
            raise_to_meeting(t, self.secretariat, case, "涉及多个部门下派任务，提交运营沟通会统筹研究。", self.now)


    def open_work(self):
        """(items waiting for opinions, decided items still open, the work orders' page, reviewers)."""
        waiting = [p.item.pk for p in self.planned if not p.history and p.spec.decision == "" and p.item is not None]
        decided = [p.item.pk for p in self.planned if not p.history and p.spec.decision in ("A", "C")
                   and p is not self.in_progress]
        reviewers = sorted({u.pk for people in self.reviewers.values() for u in people})
        return waiting, decided, f"/dispatch/?item={self.in_progress.item.pk}", reviewers

    def workhour(self, t: datetime) -> datetime:
        """The same or the next working moment (9:00–17:30 on a working day)."""
        local = timezone.localtime(t, self.tz)
        day = local.date()
        if local.hour >= 17 or not is_working_day(day):
            day = self.workday(day + timedelta(days=1))
            return self.at(day, 9, 11)
        if local.hour < 9:
            return self.at(day, 9, 11)
        return t

    def current_outcomes(self, released: datetime, p: _Planned, orders):
        """Weeks into a long window: some done, most acknowledged, some not yet seen (as far as now)."""
        day = self.local_day(released)
        for pk, outlet in orders:
            head = self.heads.get(outlet)
            wo = WorkOrder(pk=pk)
            r = self.rng.random()
            if self.is_demo_head(head):
                self.call(self.moment(self.workday(day + timedelta(days=1)), 9, 12), dispatch.acknowledge_work_order,
                          head, wo)
                continue
            if r < 0.3:
                continue  # released, not yet acknowledged
            ack = self.at(self.workday(day + timedelta(days=self.rng.randint(1, 6))), 9, 17)
            if not self.before(ack):
                continue
            self.call(ack, dispatch.acknowledge_work_order, head, wo)
            if r > 0.72:
                done = self.at(self.workday(day + timedelta(days=6 + self.rng.randint(0, 9))), 9, 17)
                done = max(done, ack + timedelta(hours=1))
                if self.before(done):
                    self.call(done, dispatch.complete_work_order, head, wo, self.rng.choice(DONE_NOTES))

    def raise_problem(self, moment: datetime):
        """An outlet whose work order is acknowledged but not done reports a problem with it (its case)."""
        wo = (WorkOrder.objects.filter(item=self.in_progress.item, status=WorkOrder.Status.ACKNOWLEDGED)
              .exclude(institution__in=[self.outlet_head.staff.institution_id])
              .select_related("institution").order_by("institution__path").first())
        if wo is None or self.heads.get(wo.institution_id) is None:
            return None
        return self.call(
            moment, dispatch.raise_problem, self.heads[wo.institution_id], wo, "部分客户预留手机号已停机，无法联系本人到店核查",
            "清单中约三成客户的预留手机号已停机或为空号，网点无法通知客户到店。建议由远程银行先行核实联系方式，"
            "或提供客户最近一次交易的网点信息以便分流。")


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def ensure_configuration() -> dict:
    """Review remits for the five review departments and the branch's settings (Wednesday
    meetings); only what is missing is created."""
    branch = Institution.objects.get(code=BRANCH["code"])
    created = 0
    dims = {d.code: d for d in ReviewDimension.objects.all()}
    for dept in Department.objects.filter(institution=branch, code__in=list(REMITS), is_review=True):
        if ReviewRemit.objects.filter(department=dept).exists():
            continue
        remit = ReviewRemit.objects.create(department=dept)
        remit.dimensions.set([dims[c] for c in REMITS[dept.code] if c in dims])
        created += 1
    Settings.objects.get_or_create(branch=branch, defaults={"meeting_weekday": 2})
    return {"remits_created": created}


def _demo_items():
    return Item.objects.filter(department__institution__code=BRANCH["code"])


def history_items():
    """The demo items of the first year (by submission date)."""
    return _demo_items().filter(submitted_at__date__gte=HISTORY_START, submitted_at__date__lte=HISTORY_END)


def coordination_counts() -> dict:
    items = _demo_items()
    history = history_items()
    by_decision = dict(history.exclude(decision="").values_list("decision").annotate(n=models.Count("id"))
                       .order_by())
    return {
        "meetings": Meeting.objects.filter(branch__code=BRANCH["code"]).count(),
        "items": items.count(),
        "history_items": history.count(),
        "history_by_decision": {d: by_decision.get(d, 0) for d in Decision.values},
        "open_items": items.filter(status__in=[ItemStatus.DRAFT, ItemStatus.SUBMITTED]).count(),
        "conditions_open": Condition.objects.filter(item__in=items).exclude(
            status=Condition.Status.SIGNED_OFF).count(),
        "work_orders": WorkOrder.objects.filter(item__in=items).count(),
        "work_orders_open": WorkOrder.objects.filter(item__in=items).exclude(status=WorkOrder.Status.DONE).count(),
    }


@contextlib.contextmanager
def _fewer_fsyncs():
    """On SQLite (WAL), ``synchronous=NORMAL`` for this connection while the demo is written: the
    services send each notification after the commit, one autocommit INSERT — several thousand here —
    and with the default FULL each one waits for an fsync. In WAL mode NORMAL still never corrupts
    the database; at worst the last transactions before a power cut are lost, which for demo data
    does not matter. The previous setting is put back afterwards. Inside a transaction (tests) the
    setting cannot change, and nothing commits one statement at a time anyway."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={int(previous)}")


def build_demo_coordination(stdout=None, *, first_year: bool = True) -> dict:
    """Create the coordination demo (the seed's first year and the current open work); return the
    counts. Needs the demo organisation (``build_demo``) first. Does nothing when the first year is
    already there. ``first_year=False`` (a reduced demo, for tests on several days) builds only the
    current weeks, and does nothing when the demo branch already holds items."""
    started = time.monotonic()
    if not Institution.objects.filter(code=BRANCH["code"]).exists():
        raise ValueError("The demo organisation is missing: run build_demo() first.")
    ensure_configuration()
    if history_items().exists() or (not first_year and _demo_items().exists()):
        _say(stdout, "运营统筹：演示数据已存在，跳过 …")
        return {"status": "already present", **coordination_counts(), "seconds": round(time.monotonic() - started, 1)}

    _say(stdout, "运营统筹：运营沟通会、上会事项、评议、条件与工单 …")
    with _fewer_fsyncs():
        result = _build(stdout, first_year)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _build(stdout, first_year: bool = True) -> dict:
    first_notification = Notification.objects.aggregate(m=models.Max("id"))["m"] or 0
    with transaction.atomic():
        builder = _Builder(stdout)
        if first_year:
            builder.plan_history()
            builder.run_queue()
            builder.close_stale_history()
        builder.build_current()
        open_work = builder.open_work()

    # Notifications are written when the transaction commits (each dated at its event): mark
    # everything as read (per recipient, through the service) but what is open now: the opinions
    # asked for on the next agenda, the work orders in progress, and — for the departments, not the
    # reviewers — the open conditions and the approval waiting for release.
    fresh = Notification.objects.filter(id__gt=first_notification)
    waiting, decided, orders_url, reviewer_ids = open_work
    keep = {Item(pk=pk).get_absolute_url() for pk in waiting} | {orders_url}
    for_submitters = {Item(pk=pk).get_absolute_url() for pk in decided}
    stale = (fresh.filter(read_at__isnull=True).exclude(url__in=keep)
             .exclude(Q(url__in=for_submitters) & ~Q(recipient__in=reviewer_ids)))
    for user in get_user_model().objects.filter(pk__in=list(stale.values_list("recipient", flat=True).distinct())):
        mark_notifications_read(user, stale.filter(recipient=user).values("id"))

    return {"status": "created", **coordination_counts()}
