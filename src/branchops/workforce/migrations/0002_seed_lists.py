"""The seed's lists (002): the 持证上岗 certificate, the five cross-post skills (three core), and the
post models 7 → 5 → 4. Data, edited afterwards on the lists page and in the admin."""

from django.db import migrations

CERTIFICATES = [
    # code, name, validity in months, required for customer service managers
    ("csm_licence", "客服经理上岗资格证书", 36, True),
    ("smart_review", "智能审核授权资格", 24, False),
    ("forex", "外汇业务资格证书", 36, False),
]
SKILLS = [
    # code, name, core, certificate it needs
    ("acceptance", "业务受理", True, None),
    ("smart_review", "智能审核", True, "smart_review"),
    ("maintenance", "客户维护", True, None),
    ("forex", "外汇", False, "forex"),
    ("cash", "现金", False, None),
]
POST_MODELS = [
    ("seven", "七岗模式", ["网点负责人", "大堂值班经理", "客户经理", "大堂经理", "客服经理", "柜员", "服务支持岗"], False),
    ("five", "五岗模式", ["网点负责人", "运营主管", "客户经理", "客服经理", "柜员"], False),
    ("four", "四岗模式", ["网点负责人", "运营主管", "客户经理", "客服经理"], True),
]


def seed(apps, schema_editor):
    CertificateType = apps.get_model("workforce", "CertificateType")
    Skill = apps.get_model("workforce", "Skill")
    PostModel = apps.get_model("workforce", "PostModel")
    types = {}
    for i, (code, name, months, required) in enumerate(CERTIFICATES):
        types[code], _ = CertificateType.objects.get_or_create(
            code=code, defaults={"name": name, "validity_months": months, "required_for_csm": required,
                                 "sort_order": i + 1})
    for i, (code, name, core, cert) in enumerate(SKILLS):
        Skill.objects.get_or_create(code=code, defaults={"name": name, "is_core": core, "sort_order": i + 1,
                                                         "certificate_type": types.get(cert)})
    for i, (code, name, posts, current) in enumerate(POST_MODELS):
        PostModel.objects.get_or_create(code=code, defaults={"name": name, "posts": "\n".join(posts),
                                                             "is_current": current, "sort_order": i + 1})


class Migration(migrations.Migration):
    dependencies = [("workforce", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
