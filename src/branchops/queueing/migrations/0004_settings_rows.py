"""Every branch gets its queue settings row: reads no longer create it."""

from django.db import migrations

BRANCH_LEVELS = ("tier1_branch", "tier2_branch")


def settings_rows(apps, schema_editor):
    Institution = apps.get_model("org", "Institution")
    QueueSettings = apps.get_model("queueing", "QueueSettings")
    for branch_id in Institution.objects.filter(level__in=BRANCH_LEVELS).values_list("pk", flat=True):
        QueueSettings.objects.get_or_create(branch_id=branch_id)


class Migration(migrations.Migration):
    dependencies = [("queueing", "0003_clock_stamps")]

    operations = [migrations.RunPython(settings_rows, migrations.RunPython.noop)]
