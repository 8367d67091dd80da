"""Deterministic demo data: a Shenzhen-style tier-1 branch, its sub-branches, outlets, clusters,
departments and about 600 people, with one sign-in for every role.

The data is first planned as plain Python (``make_plan``: no database, fixed-seed random
generators), then applied through the org services (``build_demo``). Applying the same plan
again changes nothing: the services return early when no field differs, roles are only reset
when they differ, and demo passwords are only set when they do not already check.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import transaction

from branchops.core import clock
from branchops.org import services as org
from branchops.org.models import Cluster, Department, Institution, Level, OutletType, Post, Staff
from branchops.org.roles import Role

SEED = 2026

# --------------------------------------------------------------------------------------------
# Reference data (no service: upserted by code, saved only when something differs)
# --------------------------------------------------------------------------------------------

OUTLET_TYPES = [
    ("flagship", "旗舰网点"),
    ("comprehensive", "综合网点"),
    ("light", "轻型网点"),
    ("community", "社区网点"),
    ("self_service", "自助网点"),
]

POSTS = [
    ("branch_leader", "分行领导"),
    ("department_staff", "部门员工"),
    ("service_supervisor", "服务督导员"),
    ("outlet_head", "网点负责人"),
    ("operations_supervisor", "运营主管"),
    ("account_manager", "客户经理"),
    ("customer_service_manager", "客服经理"),
    ("teller", "柜员"),
    ("lobby_manager", "大堂经理"),
    ("lobby_staff", "大堂服务人员"),
]

# Chinese labels of the roles, for the sign-in table (the UI translates Role labels itself).
ROLE_LABELS = {
    Role.ADMINISTRATOR: "系统管理员",
    Role.SECRETARIAT: "秘书处（运行管理部）",
    Role.SUBMITTER: "业务部门提交人",
    Role.REVIEWER: "评议部门评议人",
    Role.OUTLET_HEAD: "网点负责人",
    Role.OUTLET_STAFF: "网点员工",
    Role.SERVICE_SUPERVISOR: "服务督导员",
    Role.BRANCH_LEADER: "分行领导",
}

# (username, role, description): one sign-in per role, all with settings.BRANCHOPS_DEMO_PASSWORD.
DEMO_ACCOUNTS = [
    ("admin", Role.ADMINISTRATOR, "系统管理员（运行管理部），可进入 Django 管理后台"),
    ("secretariat", Role.SECRETARIAT, "运行管理部，运营沟通会秘书处"),
    ("submitter", Role.SUBMITTER, "个人金融业务部，提交上会事项"),
    ("reviewer", Role.REVIEWER, "内控合规部，固定评议部门"),
    ("outlet_head", Role.OUTLET_HEAD, "福田支行营业部（1+N 核心网点）负责人"),
    ("outlet_staff", Role.OUTLET_STAFF, "福田支行营业部客服经理"),
    ("supervisor", Role.SERVICE_SUPERVISOR, "分行服务督导员"),
    ("leader", Role.BRANCH_LEADER, "深圳分行领导"),
]

# --------------------------------------------------------------------------------------------
# The organisation
# --------------------------------------------------------------------------------------------

HEAD_OFFICE = {"code": "HO", "name": "中国XX银行总行", "short_name": "总行",
               "address": "北京市西城区复兴门内大街55号", "phone": "010-66106114"}
BRANCH = {"code": "4000", "name": "中国XX银行深圳分行", "short_name": "深圳分行",
          "address": "深圳市福田区深南中路4011号", "phone": "0755-95588"}

# code, name, district, roads, outlets [(name, outlet type)] — the first outlet is the
# sub-branch's business department (营业部); self-service outlets come last.
SUB_BRANCHES = [
    ("4001", "福田支行", "福田区",
     ["深南中路", "福华一路", "金田路", "益田路", "福中三路", "红荔路", "香梅路", "农林路", "彩田路", "新洲路"],
     [("福田支行营业部", "flagship"), ("车公庙支行", "comprehensive"), ("华强北支行", "comprehensive"),
      ("香蜜湖支行", "comprehensive"), ("景田支行", "light"), ("梅林支行", "comprehensive"),
      ("皇岗支行", "light"), ("上沙支行", "community"), ("福田口岸自助银行", "self_service")]),
    ("4002", "罗湖支行", "罗湖区",
     ["人民南路", "深南东路", "东门中路", "建设路", "宝安南路", "笋岗东路", "沿河北路", "莲塘路", "翠竹路"],
     [("罗湖支行营业部", "flagship"), ("东门支行", "comprehensive"), ("国贸支行", "comprehensive"),
      ("人民南支行", "comprehensive"), ("翠竹支行", "light"), ("笋岗支行", "comprehensive"),
      ("莲塘支行", "community"), ("黄贝岭支行", "light"), ("水贝支行", "light")]),
    ("4003", "南山支行", "南山区",
     ["南海大道", "科技南十二路", "创业路", "蛇口工业一路", "后海大道", "南光路", "沙河西路", "留仙大道", "学苑大道"],
     [("南山支行营业部", "flagship"), ("科技园支行", "flagship"), ("蛇口支行", "comprehensive"),
      ("后海支行", "comprehensive"), ("南油支行", "light"), ("西丽支行", "comprehensive"),
      ("华侨城支行", "comprehensive"), ("大学城支行", "light"), ("深圳湾自助银行", "self_service")]),
    ("4004", "宝安支行", "宝安区",
     ["宝安大道", "新安六路", "建安一路", "西乡大道", "福永大道", "沙井路", "松岗大道", "石岩宏发路", "航城大道"],
     [("宝安支行营业部", "flagship"), ("新安支行", "comprehensive"), ("西乡支行", "comprehensive"),
      ("福永支行", "comprehensive"), ("沙井支行", "comprehensive"), ("松岗支行", "light"),
      ("石岩支行", "light"), ("宝安中心区支行", "comprehensive"), ("机场自助银行", "self_service")]),
    ("4005", "龙岗支行", "龙岗区",
     ["龙岗大道", "布吉路", "横岗大道", "五和大道", "平湖大街", "龙城大道", "深汕路", "大运路"],
     [("龙岗支行营业部", "flagship"), ("布吉支行", "comprehensive"), ("横岗支行", "comprehensive"),
      ("坂田支行", "comprehensive"), ("平湖支行", "light"), ("龙城支行", "comprehensive"),
      ("大运支行", "community"), ("坪地支行", "light")]),
    ("4006", "龙华支行", "龙华区",
     ["人民路", "民治大道", "观澜大道", "大浪北路", "清湖路", "梅龙大道", "致远中路", "观乐路"],
     [("龙华支行营业部", "flagship"), ("民治支行", "comprehensive"), ("观澜支行", "comprehensive"),
      ("大浪支行", "light"), ("清湖支行", "light"), ("红山支行", "comprehensive"),
      ("观湖支行", "community"), ("深圳北站自助银行", "self_service")]),
    ("4007", "前海支行", "南山区",
     ["前海大道", "梦海大道", "桂湾五路", "听海大道", "妈湾大道"],
     [("前海支行营业部", "comprehensive"), ("前海国际金融中心支行", "comprehensive"),
      ("妈湾支行", "light"), ("前海湾支行", "light")]),
    ("4008", "盐田支行", "盐田区",
     ["深盐路", "海山路", "盐田路", "盐梅路", "梧桐路"],
     [("盐田支行营业部", "comprehensive"), ("沙头角支行", "light"), ("盐田港支行", "light"),
      ("大梅沙支行", "community")]),
]

# code, name, is_business, is_review, is_secretariat — list order is the sort order.
DEPARTMENTS = [
    ("OPS", "运行管理部", True, False, True),
    ("OFFICE", "办公室", False, True, False),
    ("ICC", "内控合规部", False, True, False),
    ("LEGAL", "法律事务部", False, True, False),
    ("ONLINE", "网络金融部（线上运营中心）", False, True, False),
    ("FINTECH", "金融科技部", False, True, False),
    ("PFB", "个人金融业务部", True, False, False),
    ("CARD", "银行卡业务部", True, False, False),
    ("WEALTH", "财富管理部", True, False, False),
    ("CORP", "公司金融业务部", True, False, False),
    ("INCLUSIVE", "普惠金融事业部", True, False, False),
    ("CPP", "消费者权益保护部", True, False, False),
    ("HR", "人力资源部", True, False, False),
    ("CREDIT", "信用卡部", True, False, False),
    ("SECURITY", "安全保卫部", True, False, False),
    ("FINANCE", "财务会计部", True, False, False),
]

# Counters and smart devices (inclusive ranges) by outlet type.
EQUIPMENT = {
    "flagship": ((9, 12), (7, 10)),
    "comprehensive": ((5, 8), (4, 7)),
    "light": ((3, 4), (2, 4)),
    "community": ((3, 4), (2, 3)),
    "self_service": ((3, 3), (6, 10)),
}

# Outlet posts and (min, max) head-counts by outlet type.
OUTLET_STAFFING = {
    "flagship": [("outlet_head", 1, 1), ("operations_supervisor", 1, 1), ("account_manager", 2, 2),
                 ("customer_service_manager", 3, 4), ("teller", 3, 4), ("lobby_manager", 1, 1),
                 ("lobby_staff", 1, 1)],
    "comprehensive": [("outlet_head", 1, 1), ("operations_supervisor", 1, 1), ("account_manager", 1, 1),
                      ("customer_service_manager", 2, 3), ("teller", 2, 3), ("lobby_manager", 1, 1)],
    "light": [("outlet_head", 1, 1), ("operations_supervisor", 1, 1), ("account_manager", 1, 1),
              ("customer_service_manager", 2, 2), ("teller", 2, 2), ("lobby_staff", 1, 1)],
    "community": [("outlet_head", 1, 1), ("operations_supervisor", 1, 1), ("account_manager", 1, 1),
                  ("customer_service_manager", 2, 2), ("teller", 2, 2), ("lobby_staff", 1, 1)],
    "self_service": [("outlet_head", 1, 1), ("operations_supervisor", 1, 1), ("account_manager", 1, 1),
                     ("customer_service_manager", 2, 2), ("teller", 2, 2), ("lobby_staff", 1, 1)],
}

BRANCH_LEADERS = 4
BRANCH_SUPERVISORS = 3
SECRETARIAT_STAFF = 5
REVIEW_STAFF = 3
BUSINESS_STAFF = 3
PFB_STAFF = 4  # 个人金融业务部 pushes the most work to outlets

SURNAMES = (
    "陈林黄李张王刘吴郑杨" * 3
    + "赵周徐孙马朱胡郭何罗高梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆"
    "范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严赖温庄翁"
)
COMPOUND_SURNAMES = ["欧阳", "司徒", "上官"]
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉萍红鹏飞宇浩凯晨欣怡婷雪琳晶颖佳嘉俊思梦雅子涵睿"
    "泽轩博文志健诗琪晓慧倩彤瑶婉家振海宏斌峰辉波宁阳亮锋建国春燕兰凤洁梅琴云莉蕾薇蓉璐冰月珊菲妍悦"
    "楠昊然一心安乐德成永荣新立铭晗奕可馨彬毅航逸帆晴韵卓"
)

HUB_TYPES = {"flagship", "comprehensive"}
WEEKDAYS = range(5)
H = time


# --------------------------------------------------------------------------------------------
# The plan (pure data)
# --------------------------------------------------------------------------------------------


@dataclass
class InstitutionPlan:
    code: str
    name: str
    short_name: str
    level: str
    parent: str | None
    address: str = ""
    phone: str = ""
    outlet_type: str | None = None
    counters: int = 0
    smart_devices: int = 0
    cluster: str | None = None
    is_hub: bool = False
    sort_order: int = 0
    hours: dict[int, tuple[time, time] | None] = field(default_factory=dict)


@dataclass
class ClusterPlan:
    code: str
    name: str
    institution: str


@dataclass
class StaffPlan:
    staff_no: str
    name: str
    institution: str
    post: str
    roles: list[str]
    department: str | None = None
    username: str | None = None


@dataclass
class Plan:
    institutions: list[InstitutionPlan]
    clusters: list[ClusterPlan]
    staff: list[StaffPlan]


class _Names:
    """Unique Chinese names from a fixed-seed generator."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.seen: set[str] = set()

    def next(self) -> str:
        rng = self.rng
        while True:
            surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.01 else rng.choice(SURNAMES)
            given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.65 else "")
            name = surname + given
            if name not in self.seen:
                self.seen.add(name)
                return name


def _short(name: str) -> str:
    return name.replace("支行营业部", "营业部").removesuffix("支行")


def _phone(rng: random.Random) -> str:
    return f"0755-{rng.choice('2388')}{rng.randint(0, 9999999):07d}"


def _hours(rng: random.Random, outlet_type: str, index: int) -> dict[int, tuple[time, time] | None]:
    if outlet_type == "self_service":
        return {d: (H(7), H(22)) for d in range(7)}
    weekday = (H(9), H(17))
    if outlet_type == "light" and rng.random() < 0.3:
        weekday = (H(9, 30), H(17))
    hours: dict[int, tuple[time, time] | None] = {d: weekday for d in WEEKDAYS}
    saturday = {"flagship": 1.0, "comprehensive": 0.6, "community": 0.8, "light": 0.35}[outlet_type]
    if rng.random() < saturday:
        hours[5] = (H(9), H(17)) if outlet_type == "flagship" else (H(9, 30), H(16))
    if outlet_type == "flagship" and index == 0 and rng.random() < 0.75:
        hours[6] = (H(10), H(16))
    return hours


def make_plan() -> Plan:
    """The whole demo organisation as data. Deterministic: same result on every call."""
    layout = random.Random(SEED + 1)
    names = _Names(SEED)
    institutions = [
        InstitutionPlan(level=Level.HEAD_OFFICE, parent=None, **HEAD_OFFICE),
        InstitutionPlan(level=Level.TIER1_BRANCH, parent="HO", **BRANCH),
    ]
    clusters: list[ClusterPlan] = []
    staff: list[StaffPlan] = []

    def person(institution, post, roles, department=None, username=None):
        staff.append(StaffPlan(staff_no=f"SZ{len(staff) + 1:06d}", name=names.next(), institution=institution,
                               post=post, roles=[str(r) for r in roles], department=department,
                               username=username))

    branch = BRANCH["code"]
    # Branch leaders and department staff.
    for i in range(BRANCH_LEADERS):
        person(branch, "branch_leader", [Role.BRANCH_LEADER], username="leader" if i == 0 else None)
    person(branch, "department_staff", [Role.ADMINISTRATOR], "OPS", username="admin")
    for i in range(SECRETARIAT_STAFF):
        person(branch, "department_staff", [Role.SECRETARIAT], "OPS", username="secretariat" if i == 0 else None)
    for i in range(BRANCH_SUPERVISORS):
        person(branch, "service_supervisor", [Role.SERVICE_SUPERVISOR], "OPS",
               username="supervisor" if i == 0 else None)
    for code, _name, is_business, is_review, is_secretariat in DEPARTMENTS:
        if is_secretariat:
            continue
        if is_review:
            for i in range(REVIEW_STAFF):
                person(branch, "department_staff", [Role.REVIEWER], code,
                       username="reviewer" if code == "ICC" and i == 0 else None)
        elif is_business:
            for i in range(PFB_STAFF if code == "PFB" else BUSINESS_STAFF):
                person(branch, "department_staff", [Role.SUBMITTER], code,
                       username="submitter" if code == "PFB" and i == 0 else None)

    for sb_index, (sb_code, sb_name, district, roads, outlets) in enumerate(SUB_BRANCHES, start=1):
        institutions.append(InstitutionPlan(
            code=sb_code, name=sb_name, short_name=sb_name.removesuffix("支行"), level=Level.SUB_BRANCH,
            parent=branch, address=f"深圳市{district}{layout.choice(roads)}{layout.randint(1, 3000)}号",
            phone=_phone(layout), sort_order=sb_index,
        ))
        person(sb_code, "service_supervisor", [Role.SERVICE_SUPERVISOR])

        # 1+N clusters: a flagship or comprehensive hub and the next 2–4 outlets as satellites;
        # a sub-branch may leave its last outlets outside any cluster.
        membership: dict[int, tuple[str, bool]] = {}
        outside = layout.choice([0, 1, 1, 2])
        remaining = list(range(len(outlets) - outside))
        cluster_no = 0
        while len(remaining) >= 3:
            hub = next((i for i in remaining if outlets[i][1] in HUB_TYPES), None)
            if hub is None:
                break
            remaining.remove(hub)
            n = min(layout.choice([2, 3, 3, 4]), len(remaining))
            if len(remaining) - n in (1, 2):
                n = min(4, len(remaining))  # absorb stragglers rather than leave them alone
            cluster_no += 1
            cluster_code = f"C{sb_code}{cluster_no:02d}"
            clusters.append(ClusterPlan(cluster_code, f"{outlets[hub][0]} 1+{n}", sb_code))
            membership[hub] = (cluster_code, True)
            for j in remaining[:n]:
                membership[j] = (cluster_code, False)
            remaining = remaining[n:]

        for o_index, (o_name, o_type) in enumerate(outlets):
            code = f"{sb_code}{o_index + 1:02d}"
            (c_lo, c_hi), (d_lo, d_hi) = EQUIPMENT[o_type]
            cluster_code, is_hub = membership.get(o_index, (None, False))
            institutions.append(InstitutionPlan(
                code=code, name=o_name, short_name=_short(o_name), level=Level.OUTLET, parent=sb_code,
                address=f"深圳市{district}{layout.choice(roads)}{layout.randint(1, 3000)}号",
                phone=_phone(layout),
                outlet_type=o_type, counters=layout.randint(c_lo, c_hi),
                smart_devices=layout.randint(d_lo, d_hi), cluster=cluster_code, is_hub=is_hub,
                sort_order=o_index + 1, hours=_hours(layout, o_type, o_index),
            ))
            demo_outlet = sb_index == 1 and o_index == 0
            for post, lo, hi in OUTLET_STAFFING[o_type]:
                for k in range(layout.randint(lo, hi)):
                    username = None
                    if demo_outlet and post == "outlet_head":
                        username = "outlet_head"
                    elif demo_outlet and post == "customer_service_manager" and k == 0:
                        username = "outlet_staff"
                    role = Role.OUTLET_HEAD if post == "outlet_head" else Role.OUTLET_STAFF
                    person(code, post, [role], username=username)
    return Plan(institutions, clusters, staff)


# --------------------------------------------------------------------------------------------
# Applying the plan
# --------------------------------------------------------------------------------------------


def _ensure_reference(model, rows) -> dict:
    """Upsert reference rows by code; save (and so write history) only when something differs."""
    existing = {obj.code: obj for obj in model.objects.filter(code__in=[code for code, _ in rows])}
    for order, (code, name) in enumerate(rows, start=1):
        obj = existing.get(code)
        wanted = {"name": name, "sort_order": order * 10, "is_active": True}
        if obj is None:
            existing[code] = model.objects.create(code=code, **wanted)
        elif any(getattr(obj, k) != v for k, v in wanted.items()):
            for k, v in wanted.items():
                setattr(obj, k, v)
            obj.save()
    return existing


def _say(stdout, message: str) -> None:
    if stdout is not None:
        stdout.write(message)


def anchor() -> datetime:
    """The demo's "now", shared by the demo modules: the core clock when the demo is built. Each module
    builds its history up to this moment and plans nothing after it, so the branch looks alive as of the
    day the demo is built, whatever that day is (tests freeze the clock on the days they need)."""
    return clock.now()


#: The coordination demo's current weeks before the anchor: its own meetings fall within them (and
#: take the outlets' feedback raised then); the demo cases' feedback meetings come before them.
CURRENT_WEEKS = 8


def current_from(today: date) -> date:
    return today - timedelta(weeks=CURRENT_WEEKS)


def call_at(moment, fn, *args, **kwargs):
    """Run a service call as if it were ``moment``: the core clock stands at it during the call, so the
    service stamps and checks that time; afterwards the clock is as it was."""
    with clock.frozen(moment):
        return fn(*args, **kwargs)


def build_demo(stdout=None) -> dict:
    """Create or bring up to date the demo organisation; return the counts of what is there."""
    plan = make_plan()
    password = settings.BRANCHOPS_DEMO_PASSWORD
    User = get_user_model()
    with transaction.atomic():
        types = _ensure_reference(OutletType, OUTLET_TYPES)
        posts = _ensure_reference(Post, POSTS)

        _say(stdout, "机构与 1+N 集群 …")
        codes = [i.code for i in plan.institutions]
        insts = {
            i.code: i
            for i in Institution.objects.filter(code__in=codes).prefetch_related("business_hours")
        }
        clusters = {c.code: c for c in Cluster.objects.filter(code__in=[c.code for c in plan.clusters])}
        clusters_by_sb: dict[str, list[ClusterPlan]] = {}
        for cp in plan.clusters:
            clusters_by_sb.setdefault(cp.institution, []).append(cp)

        for ip in plan.institutions:
            current = insts.get(ip.code)
            saved = org.save_institution(
                None, current, code=ip.code, name=ip.name, short_name=ip.short_name, level=ip.level,
                parent=insts[ip.parent] if ip.parent else None, address=ip.address, phone=ip.phone,
                outlet_type=types[ip.outlet_type] if ip.outlet_type else None, counters=ip.counters,
                smart_devices=ip.smart_devices, cluster=clusters[ip.cluster] if ip.cluster else None,
                is_hub=ip.is_hub, is_active=True, sort_order=ip.sort_order,
            )
            if current is None:
                insts[ip.code] = saved
            else:
                current.path = saved.path  # keep the prefetched hours on the object we hold
            if ip.level == Level.OUTLET:
                org.set_business_hours(None, insts[ip.code], ip.hours)
            # Clusters are managed by a sub-branch: create them once it exists, before its outlets.
            for cp in clusters_by_sb.get(ip.code, []):
                clusters[cp.code] = org.save_cluster(
                    None, clusters.get(cp.code), code=cp.code, name=cp.name, institution=insts[cp.institution]
                )

        _say(stdout, "部门 …")
        branch = insts[BRANCH["code"]]
        depts = {d.code: d for d in Department.objects.filter(institution=branch).select_related("institution")}
        for order, (code, name, is_business, is_review, is_secretariat) in enumerate(DEPARTMENTS, start=1):
            depts[code] = org.save_department(
                None, depts.get(code), institution=branch, code=code, name=name, is_business=is_business,
                is_review=is_review, is_secretariat=is_secretariat, is_active=True, sort_order=order * 10,
            )

        _say(stdout, "人员 …")
        existing = {
            s.staff_no: s
            for s in Staff.objects.filter(staff_no__in=[p.staff_no for p in plan.staff]).select_related(
                "user", "institution", "department__institution", "post"
            )
        }
        # Roles of existing accounts in one query, so unchanged people cost no role query each.
        role_names = set(Role.values)
        roles_of: dict[int, set[str]] = {}
        for user_id, group in User.groups.through.objects.filter(
            user_id__in=[s.user_id for s in existing.values()], group__name__in=role_names
        ).values_list("user_id", "group__name"):
            roles_of.setdefault(user_id, set()).add(group)
        demo_users = {}
        for sp in plan.staff:
            current = existing.get(sp.staff_no)
            same_roles = current is not None and roles_of.get(current.user_id, set()) == set(sp.roles)
            if current is None and sp.username:
                clash = User.objects.filter(username__iexact=sp.username).first()
                if clash is not None:
                    raise ValidationError(
                        f"用户名 {sp.username} 已被一个非演示人员的账号占用；请改名或删除该账号后再生成演示数据。"
                    )
            saved = org.save_staff(
                None, current, username=sp.username, roles=None if same_roles else sp.roles,
                staff_no=sp.staff_no, name=sp.name,
                institution=insts[sp.institution], department=depts[sp.department] if sp.department else None,
                post=posts[sp.post], is_active=True,
            )
            if sp.username:
                demo_users[sp.username] = saved.user

        _say(stdout, "演示账号 …")
        accounts = [(demo_users[username], role) for username, role, _description in DEMO_ACCOUNTS]
        # Password hashing is deliberately slow; PBKDF2 releases the GIL, so check and hash in threads.
        with ThreadPoolExecutor(max_workers=len(accounts)) as pool:
            valid = list(pool.map(lambda ur: check_password(password, ur[0].password), accounts))
            fresh = list(pool.map(lambda ok: None if ok else make_password(password), valid))
        for (user, role), encoded in zip(accounts, fresh, strict=True):
            dirty = False
            if not user.is_active:
                user.is_active, dirty = True, True
            if role == Role.ADMINISTRATOR and not (user.is_staff and user.is_superuser):
                user.is_staff = user.is_superuser = True
                dirty = True
            if encoded is not None:
                user.password, dirty = encoded, True
            if dirty:
                user.save()

    return counts()


def counts() -> dict:
    outlets = Institution.objects.filter(level=Level.OUTLET)
    return {
        "institutions": Institution.objects.count(),
        "sub_branches": Institution.objects.filter(level=Level.SUB_BRANCH).count(),
        "outlets": outlets.count(),
        "clusters": Cluster.objects.count(),
        "outlets_in_clusters": outlets.filter(cluster__isnull=False).count(),
        "departments": Department.objects.count(),
        "review_departments": Department.objects.filter(is_review=True).count(),
        "people": Staff.objects.count(),
        "demo_accounts": len(DEMO_ACCOUNTS),
    }


def demo_sign_ins() -> list[dict]:
    """The demo accounts with their role label and institution, for the command and the README."""
    by_username = {
        s.user.username: s
        for s in Staff.objects.filter(user__username__in=[u for u, _r, _d in DEMO_ACCOUNTS]).select_related(
            "user", "institution", "department"
        )
    }
    rows = []
    for username, role, description in DEMO_ACCOUNTS:
        staff = by_username.get(username)
        where = ""
        if staff is not None:
            where = staff.institution.name + (f" · {staff.department.name}" if staff.department_id else "")
        rows.append({"username": username, "role": str(role), "role_label": ROLE_LABELS[role],
                     "description": description, "institution": where,
                     "password": settings.BRANCHOPS_DEMO_PASSWORD})
    return rows
