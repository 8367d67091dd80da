"""Default reference data of the case engine: categories and SLA policies (loaded by a data
migration; the bank edits them in the admin afterwards), and the complaint code standard."""

from datetime import date

CATEGORIES = {
    "complaint": [
        ("SERVICE", "服务态度与服务质量", None), ("WAIT", "排队等候", None), ("ERROR", "业务差错", None),
        ("FEE", "收费定价", None), ("SALES", "营销方式", None), ("FACILITY", "设施设备与系统", None),
        ("PROCESS", "制度流程", None), ("INFO", "个人信息保护", None), ("OTHER", "其他", None),
    ],
    "feedback": [
        ("SYSTEM", "系统功能问题", None), ("PROCESS", "流程制度问题", None), ("WORKLOAD", "工作负荷与下派任务", None),
        ("CUSTOMER", "客户服务问题", None), ("FACILITY", "设备设施问题", None), ("OTHER", "其他", None),
    ],
    "support": [
        ("REPAIR", "设备维修", None),
        ("REPAIR-SMART", "智能设备", "REPAIR"), ("REPAIR-ATM", "自动柜员机（ATM）", "REPAIR"),
        ("REPAIR-AC", "空调", "REPAIR"), ("REPAIR-LIGHT", "照明", "REPAIR"),
        ("SUPPLY", "物品配送", None), ("SUPPLY-FORMS", "凭证与单据", "SUPPLY"),
        ("SUPPLY-OFFICE", "办公用品", "SUPPLY"),
        ("ENV", "营业环境", None), ("ENV-AIR", "空气质量", "ENV"), ("ENV-TEMP", "温度（冬季低于18℃）", "ENV"),
        ("OTHER", "其他援助", None),
    ],
    "rectification": [
        ("MYSTERY", "神秘人检查", None), ("VIDEO", "视频检查", None), ("ONSITE", "现场检查", None),
        ("COMPLAINT", "投诉整改", None), ("GRADING", "服务等级评价整改", None),
    ],
}

# A level is reached once the case is at least `after_overdue_days` days overdue, counted in the
# policy's kind of day; 1 is the first overdue day.
ESCALATE_OUTLET = [
    {"level": 1, "after_overdue_days": 1, "target": "outlet_head"},
    {"level": 2, "after_overdue_days": 3, "target": "sub_branch"},
    {"level": 3, "after_overdue_days": 6, "target": "department_head"},
    {"level": 4, "after_overdue_days": 11, "target": "branch_leader"},
]
ESCALATE_DEPARTMENT = [
    {"level": 1, "after_overdue_days": 1, "target": "department_head"},
    {"level": 2, "after_overdue_days": 6, "target": "branch_leader"},
]
ESCALATE_COMPLAINT = [
    {"level": 1, "after_overdue_days": 1, "target": "outlet_head"},
    {"level": 2, "after_overdue_days": 2, "target": "sub_branch"},
    {"level": 3, "after_overdue_days": 4, "target": "consumer_protection"},
    {"level": 4, "after_overdue_days": 6, "target": "branch_leader"},
]

# name, type, category code or None, priority, response, resolution, decision, kind, remind, max ext, escalation
POLICIES = [
    ("客户投诉（监管时限15日）", "complaint", None, "", 1, 10, 15, "working", 2, 5, ESCALATE_COMPLAINT),
    ("紧急投诉", "complaint", None, "urgent", 1, 3, 15, "working", 1, 0, ESCALATE_COMPLAINT),
    ("网点问题反馈", "feedback", None, "", 2, 5, None, "working", 1, 5, ESCALATE_DEPARTMENT),
    ("援助保障（默认）", "support", None, "", 1, 5, None, "working", 1, 5, ESCALATE_DEPARTMENT),
    ("设备维修", "support", "REPAIR", "", 1, 3, None, "working", 1, 5, ESCALATE_DEPARTMENT),
    ("设备维修（紧急）", "support", "REPAIR", "urgent", 1, 1, None, "working", 0, 2, ESCALATE_DEPARTMENT),
    ("营业环境", "support", "ENV", "", 1, 2, None, "working", 1, 3, ESCALATE_DEPARTMENT),
    ("限期整改", "rectification", None, "", 2, 10, None, "working", 2, 10, ESCALATE_OUTLET),
]
POLICY_EFFECTIVE_FROM = date(2020, 1, 1)


def load_reference_data(Category, SlaPolicy) -> None:  # noqa: N803 — historical models from a migration
    """Idempotent: existing rows (matched by code or name) are left as the bank edited them."""
    for case_type, rows in CATEGORIES.items():
        for order, (code, name, parent) in enumerate(rows):
            parent_obj = Category.objects.get(case_type=case_type, code=parent) if parent else None
            Category.objects.get_or_create(case_type=case_type, code=code,
                                           defaults={"name": name, "parent": parent_obj, "sort_order": order})
    for name, case_type, cat, priority, resp, res, dec, kind, remind, ext, esc in POLICIES:
        category = Category.objects.get(case_type=case_type, code=cat) if cat else None
        SlaPolicy.objects.get_or_create(name=name, defaults={
            "case_type": case_type, "category": category, "priority": priority, "response_days": resp,
            "resolution_days": res, "decision_days": dec, "day_kind": kind, "remind_before_days": remind,
            "max_extension_days": ext, "escalation": esc, "effective_from": POLICY_EFFECTIVE_FROM})


def load_complaint_codes(ComplaintCode) -> int:  # noqa: N803
    """Load the complaint classification standard's codes, parents first; idempotent."""
    from .complaint_codes import iter_codes, load_standard

    standard = load_standard()
    created = 0
    by_key = {}
    for code in iter_codes(standard):
        parent = by_key.get((code.dimension, code.parent)) if code.parent else None
        obj, made = ComplaintCode.objects.get_or_create(
            standard=standard.standard, dimension=code.dimension, code=code.code,
            defaults={"name": code.name, "parent": parent, "level": max(code.level, 1),
                      "effective_from": standard.effective_from})
        by_key[(code.dimension, code.code)] = obj
        created += made
    return created
