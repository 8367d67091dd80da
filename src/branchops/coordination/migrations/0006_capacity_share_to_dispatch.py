"""Every branch gets its coordination settings row (reads no longer create it); the capacity share
has moved to dispatch's workload settings."""

from django.db import migrations

BRANCH_LEVELS = ("tier1_branch", "tier2_branch")


def settings_rows(apps, schema_editor):
    Institution = apps.get_model("org", "Institution")
    Settings = apps.get_model("coordination", "Settings")
    for branch_id in Institution.objects.filter(level__in=BRANCH_LEVELS).values_list("pk", flat=True):
        Settings.objects.get_or_create(branch_id=branch_id)


class Migration(migrations.Migration):

    dependencies = [
        ("coordination", "0005_clock_stamps"),
        ("dispatch", "0005_workload_settings_rows"),
    ]

    operations = [
        migrations.RunPython(settings_rows, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="settings",
            name="capacity_share",
        ),
    ]
