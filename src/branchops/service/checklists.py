"""The default inspection checklist (seed 004: 四不准四必须, 八点服务法, 五个一 / 七个一, lobby positions;
seed 003: 6S, 限期整改). Plain data: the data migration writes it; later versions are edited as data.
One template serves the three inspection types (each inspection names its type)."""

from datetime import date

TEMPLATE = {"code": "hall", "version": 1, "name": "网点厅堂服务检查表", "inspection_type": "on_site",
            "effective_from": date(2020, 1, 1)}

# section code, name, items: (code, text, weight, N/A allowed, veto, severity)
SECTIONS = [
    ("four_nots", "四不准", [
        ("fn1", "不推诿拒办业务", 5, False, True, "serious"),
        ("fn2", "大堂迎客取号位不空岗", 5, False, False, "major"),
        ("fn3", "不非工作需要玩手机", 3, False, False, "minor"),
        ("fn4", "不“飞单”私售", 5, False, True, "serious"),
    ]),
    ("four_musts", "四必须", [
        ("fm1", "首问负责", 4, False, False, "major"),
        ("fm2", "迎送客户", 3, False, False, "minor"),
        ("fm3", "全程陪同财富及以上客户服务", 3, True, False, "minor"),
        ("fm4", "落实标准化服务流程", 4, False, False, "major"),
    ]),
    ("eight_points", "八点服务法", [
        ("ep1", "对老年客户尊敬点", 2, True, False, "minor"),
        ("ep2", "对特殊客户帮助点", 2, True, False, "minor"),
        ("ep3", "对求助客户热心点", 2, True, False, "minor"),
        ("ep4", "对外来客户和气点", 2, True, False, "minor"),
        ("ep5", "对不熟悉银行业务客户耐心点", 2, True, False, "minor"),
        ("ep6", "对急躁客户冷静点", 2, True, False, "minor"),
        ("ep7", "对无理客户忍让点", 2, True, False, "minor"),
        ("ep8", "对抱怨客户倾听点", 2, True, False, "minor"),
    ]),
    ("five_ones", "五个一（普通区）", [
        ("g1", "一声问候", 2, False, False, "minor"),
        ("g2", "一个微笑", 2, False, False, "minor"),
        ("g3", "一次询问", 2, False, False, "minor"),
        ("g4", "一次引导/辅导", 2, False, False, "minor"),
        ("g5", "一声道别", 2, False, False, "minor"),
    ]),
    ("seven_ones", "七个一（贵宾区）", [
        ("v1", "一声问候", 2, True, False, "minor"),
        ("v2", "一杯茶水", 2, True, False, "minor"),
        ("v3", "一张名片", 2, True, False, "minor"),
        ("v4", "一次交流", 2, True, False, "minor"),
        ("v5", "一次营销", 2, True, False, "minor"),
        ("v6", "一次体验", 2, True, False, "minor"),
        ("v7", "一次送别", 2, True, False, "minor"),
    ]),
    ("lobby", "厅堂岗位", [
        ("l1", "1号岗（大堂引导）不空岗", 5, False, False, "major"),
        ("l2", "2号岗（取号分流）不空岗", 5, False, False, "major"),
    ]),
    ("six_s", "6S管理", [
        ("s1", "整理", 1, False, False, "minor"),
        ("s2", "整顿", 1, False, False, "minor"),
        ("s3", "清扫", 1, False, False, "minor"),
        ("s4", "清洁", 1, False, False, "minor"),
        ("s5", "素养", 1, False, False, "minor"),
        ("s6", "安全", 2, False, False, "major"),
    ]),
]


def install(apps) -> None:
    """Write the default template with a migration's historical models (idempotent)."""
    Template = apps.get_model("service", "ChecklistTemplate")
    if Template.objects.filter(code=TEMPLATE["code"]).exists():
        return
    template = Template.objects.create(**TEMPLATE)
    Section = apps.get_model("service", "ChecklistSection")
    Item = apps.get_model("service", "ChecklistItem")
    for s_order, (scode, name, items) in enumerate(SECTIONS, start=1):
        section = Section.objects.create(template=template, code=scode, name=name, sort_order=s_order)
        for i_order, (icode, text, weight, na, veto, severity) in enumerate(items, start=1):
            Item.objects.create(section=section, code=icode, text=text, weight=weight, na_allowed=na, veto=veto,
                                severity=severity, sort_order=i_order)
