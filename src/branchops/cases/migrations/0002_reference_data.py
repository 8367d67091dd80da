from django.db import migrations


def load(apps, schema_editor):
    from branchops.cases.defaults import load_complaint_codes, load_reference_data

    load_reference_data(apps.get_model("cases", "Category"), apps.get_model("cases", "SlaPolicy"))
    load_complaint_codes(apps.get_model("cases", "ComplaintCode"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
