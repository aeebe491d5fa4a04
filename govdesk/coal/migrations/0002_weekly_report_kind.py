"""The streets' weekly loose-coal summary, a core periodic report kind (data only)."""

from django.db import migrations

CODE = "coal_weekly"


def add_kind(apps, schema_editor):
    ReportKind = apps.get_model("core", "ReportKind")
    ReportKind.objects.get_or_create(code=CODE, defaults={"name": "散煤治理周报", "period": "week",
                                                          "unit_kinds": ["street"], "due_days": 2})


def remove_kind(apps, schema_editor):
    apps.get_model("core", "ReportKind").objects.filter(code=CODE, reports__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("coal", "0001_coal_places_inspections_campaigns_notices"), ("core", "0001_initial")]

    operations = [migrations.RunPython(add_kind, remove_kind)]
