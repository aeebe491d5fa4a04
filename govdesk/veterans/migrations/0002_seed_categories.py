"""The campaign's classes of preferential-care recipients (data, kept apart from the schema)."""

from django.db import migrations

# (code, name, requires service history, requires disability details)
CATEGORIES = [
    ("tuiyishibing", "退役士兵", True, False),
    ("zhuanyeganbu", "军队转业干部", True, False),
    ("lituixiu", "军队离退休干部和退休士官", True, False),
    ("fuyuan", "复员军人", True, False),
    ("canji", "残疾军人", True, True),
    ("lieshiyishu", "烈士遗属", False, False),
    ("yingongxisheng", "因公牺牲军人遗属", False, False),
    ("binggu", "病故军人遗属", False, False),
    ("xianyijiashu", "现役军人家属", False, False),
    ("daiyu", "带病回乡退伍军人", True, False),
    ("canzhan", "参战参试退役军人", True, False),
    ("qita", "其他优抚对象", False, False),
]


def seed(apps, schema_editor):
    Category = apps.get_model("veterans", "Category")
    for order, (code, name, service, disability) in enumerate(CATEGORIES, start=1):
        Category.objects.update_or_create(code=code, defaults={
            "name": name, "order": order, "requires_service": service, "requires_disability": disability})


def unseed(apps, schema_editor):
    apps.get_model("veterans", "Category").objects.filter(code__in=[c[0] for c in CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("veterans", "0001_records_points_appointments")]
    operations = [migrations.RunPython(seed, unseed)]
