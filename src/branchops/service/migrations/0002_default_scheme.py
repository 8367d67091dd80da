from django.db import migrations


def install(apps, schema_editor):
    from branchops.service.defaults import install as write

    write(apps)


class Migration(migrations.Migration):
    dependencies = [("service", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
