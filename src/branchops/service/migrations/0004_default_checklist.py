from django.db import migrations


def install(apps, schema_editor):
    from branchops.service.checklists import install as write

    write(apps)


class Migration(migrations.Migration):
    dependencies = [("service", "0003_inspections")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
