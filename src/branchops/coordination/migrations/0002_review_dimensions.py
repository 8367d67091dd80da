from django.db import migrations

# The review dimensions of the seed (合规管理、品宣管理、消费者权益保护、流程或制度指引、业务培训、
# 渠道配合、应急处理); which department covers which is configured per branch (ReviewRemit).
DIMENSIONS = [
    ("compliance", "合规管理"), ("brand", "品宣管理"), ("consumer_rights", "消费者权益保护"),
    ("process", "流程或制度指引"), ("training", "业务培训"), ("channel", "渠道配合"), ("emergency", "应急处理"),
]


def load(apps, schema_editor):
    ReviewDimension = apps.get_model("coordination", "ReviewDimension")
    for order, (code, name) in enumerate(DIMENSIONS):
        ReviewDimension.objects.get_or_create(code=code, defaults={"name": name, "sort_order": order})


class Migration(migrations.Migration):
    dependencies = [("coordination", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
