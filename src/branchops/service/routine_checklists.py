"""The outlet routines' checklists (seed 003: equipment checks, emergency drills; seed 001: convenience
facilities, the winter-temperature and air-quality campaigns). Plain data written by a data migration as
versioned checklist templates of type "routine" — the same templates, items, weights and versions as
the inspections' (edited on the checklist pages; a used version's edit makes a new version)."""

from datetime import date

# kind → template: code, name, sections (code, name, items: code, text, weight, N/A allowed, veto, severity)
TEMPLATES = {
    "equipment": ("routine_equipment", "网点设备定期检查表", [
        ("ac", "空调", [("ac1", "空调制冷制热正常、无异响漏水", 3, False, False, "major"),
                       ("ac2", "滤网按期清洗", 1, False, False, "minor")]),
        ("water", "饮水机", [("w1", "饮水机运行正常、水桶在保质期内", 2, True, False, "minor"),
                           ("w2", "一次性水杯充足", 1, True, False, "minor")]),
        ("self", "自助设备", [("sd1", "自助设备全部正常开机运行", 3, False, False, "major"),
                            ("sd2", "自助设备无故障提示、凭条纸充足", 2, False, False, "minor")]),
        ("wiring", "线路", [("wr1", "电源线路无裸露、无私拉乱接", 3, False, True, "serious"),
                           ("wr2", "应急照明与疏散指示完好", 2, False, False, "major")]),
    ]),
    "drill": ("routine_drill", "网点应急预案演练记录表", [
        ("drill", "预案演练", [("d1", "按预案完成报警与疏散", 3, False, False, "major"),
                              ("d2", "人员到岗分工清楚", 2, False, False, "minor"),
                              ("d3", "客户安抚与引导到位", 2, False, False, "minor"),
                              ("d4", "演练后完成总结与整改", 1, False, False, "minor")]),
    ]),
    "facilities": ("routine_facilities", "网点便民设施检查表", [
        ("conv", "便民设施", [("f1", "轮椅完好可用", 2, True, False, "minor"),
                             ("f2", "爱心雨伞在位", 1, False, False, "minor"),
                             ("f3", "急救药箱药品齐全且在有效期内", 3, False, False, "major"),
                             ("f4", "老花镜、填单样本齐全", 1, False, False, "minor")]),
    ]),
    "environment": ("routine_environment", "网点环境专项检查表", [
        ("env", "营业环境", [("e1", "冬季营业厅室温不低于18℃", 3, True, False, "major"),
                            ("e2", "室内空气清新、无异味，按时通风", 2, False, False, "minor"),
                            ("e3", "照明充足、无灯具损坏", 1, False, False, "minor")]),
    ]),
}
EFFECTIVE_FROM = date(2020, 1, 1)


def install(apps) -> None:
    """Write the routine templates with a migration's historical models (idempotent)."""
    Template = apps.get_model("service", "ChecklistTemplate")
    Section = apps.get_model("service", "ChecklistSection")
    Item = apps.get_model("service", "ChecklistItem")
    for code, name, sections in TEMPLATES.values():
        if Template.objects.filter(code=code).exists():
            continue
        template = Template.objects.create(code=code, version=1, name=name, inspection_type="routine",
                                           effective_from=EFFECTIVE_FROM)
        for s_order, (scode, sname, items) in enumerate(sections, start=1):
            section = Section.objects.create(template=template, code=scode, name=sname, sort_order=s_order)
            for i_order, (icode, text, weight, na, veto, severity) in enumerate(items, start=1):
                Item.objects.create(section=section, code=icode, text=text, weight=weight, na_allowed=na, veto=veto,
                                    severity=severity, sort_order=i_order)
