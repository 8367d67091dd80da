"""The default grading scheme (seed 001: three dimensions, eight key indicators, 100 points, grades A–D).
Plain data: the data migration writes it; later versions are edited as data, never here."""

from datetime import date

SCHEME = {
    "code": "default", "version": 1, "name": "全网点服务等级评价", "effective_from": date(2020, 1, 1),
    "method": "thresholds", "missing_rule": "renormalise", "missing_share": 0,
    # Ratings can be gamed by prompting only happy customers: under a 30 % evaluation rate the
    # teller-evaluator satisfaction of the outlet is marked unreliable.
    "reliability_code": "evaluation_rate", "reliability_min": "0.3", "reliability_affects": ["teller_satisfaction"],
}

DIMENSIONS = [("baseline", "基准度", 1), ("satisfaction", "满意度", 2), ("conformance", "规范度", 3)]

# code, dimension, name, source, unit, direction, rule, full_at, zero_at, scale, weight
INDICATORS = [
    ("overtime_wait_ratio", "baseline", "客户超时等候占比", "queueing", "ratio", "lower", "linear", "0.05", "0.35", [], 20),
    ("device_migration_rate", "baseline", "业务分流率（智能设备）", "queueing", "ratio", "higher", "linear", "0.80", "0.30",
     [], 10),
    ("teller_satisfaction", "satisfaction", "柜员服务评价器满意度", "teller_evaluator", "ratio", "higher", "linear", "0.99",
     "0.85", [], 10),
    ("evaluation_rate", "satisfaction", "评价率", "teller_evaluator", "ratio", "higher", "linear", "0.90", "0.50", [], 10),
    ("survey_satisfaction", "satisfaction", "第三方满意度调查得分", "survey", "score", "higher", "linear", "95", "70", [], 10),
    ("complaints_per_10k", "satisfaction", "万名客户投诉量", "cases", "per_10k", "lower", "scale", "0", "0",
     [[0.5, 1.0], [1.0, 0.8], [2.0, 0.5], [3.0, 0.2]], 10),
    ("inspection_score", "conformance", "检查（神秘人、视频、现场）得分", "inspection", "score", "higher", "linear", "95", "60",
     [], 20),
    ("rectification_on_time", "conformance", "整改按期完成率", "inspection", "ratio", "higher", "linear", "1.00", "0.60",
     [], 10),
]

BANDS = [("A", 90, None), ("B", 80, None), ("C", 60, None), ("D", 0, None)]

VETOES = [
    ("media_major_complaint", "重大投诉且经媒体曝光", "manual", 1, "D"),
    ("serious_violation", "检查发现严重违规", "inspection", 1, "D"),
]


def install(apps, code: str = SCHEME["code"]) -> None:
    """Write the default scheme with the historical models of a migration (idempotent)."""
    Scheme = apps.get_model("service", "GradingScheme")
    if Scheme.objects.filter(code=code).exists():
        return
    scheme = Scheme.objects.create(**SCHEME)
    dims = {}
    for dcode, name, order in DIMENSIONS:
        dims[dcode] = apps.get_model("service", "Dimension").objects.create(scheme=scheme, code=dcode, name=name,
                                                                             sort_order=order)
    Indicator = apps.get_model("service", "Indicator")
    for order, (icode, dim, name, source, unit, direction, rule, full_at, zero_at, scale, weight) in enumerate(
            INDICATORS, start=1):
        Indicator.objects.create(scheme=scheme, dimension=dims[dim], code=icode, name=name, source=source, unit=unit,
                                 direction=direction, rule=rule, full_at=full_at, zero_at=zero_at, scale=scale,
                                 weight=weight, sort_order=order)
    for grade, min_score, quota in BANDS:
        apps.get_model("service", "GradeBand").objects.create(scheme=scheme, grade=grade, min_score=min_score,
                                                              quota=quota)
    for vcode, name, source, at_least, grade in VETOES:
        apps.get_model("service", "VetoRule").objects.create(scheme=scheme, code=vcode, name=name, source=source,
                                                             at_least=at_least, grade=grade)
