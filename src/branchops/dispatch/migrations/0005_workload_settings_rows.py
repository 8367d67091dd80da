"""Every branch gets its workload settings row; the capacity share moves here from coordination."""

from django.db import migrations

BRANCH_LEVELS = ("tier1_branch", "tier2_branch")


def forwards(apps, schema_editor):
    Institution = apps.get_model("org", "Institution")
    WorkloadSettings = apps.get_model("dispatch", "WorkloadSettings")
    CoordinationSettings = apps.get_model("coordination", "Settings")
    shares = dict(CoordinationSettings.objects.values_list("branch_id", "capacity_share"))
    for branch_id in Institution.objects.filter(level__in=BRANCH_LEVELS).values_list("pk", flat=True):
        defaults = {"capacity_share": shares[branch_id]} if branch_id in shares else {}
        WorkloadSettings.objects.get_or_create(branch_id=branch_id, defaults=defaults)


def backwards(apps, schema_editor):
    WorkloadSettings = apps.get_model("dispatch", "WorkloadSettings")
    CoordinationSettings = apps.get_model("coordination", "Settings")
    for row in WorkloadSettings.objects.all():
        CoordinationSettings.objects.filter(branch_id=row.branch_id).update(capacity_share=row.capacity_share)


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0004_workload_settings"),
        ("coordination", "0005_clock_stamps"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
