"""Reference data of investment promotion: the "4+1" industry system and the strategic
emerging industries, the tiers of firms, the assessment scorecard, the command HQ's
groups, the module's configuration row and the monthly carrier report kind.
These are the district's default configuration; all are editable data."""

from decimal import Decimal

from django.db import migrations

INDUSTRIES = [
    # (code, name, system, group)
    ("urban-furnishing", "家居", "4+1", "都市型工业"),
    ("urban-textile", "纺织", "4+1", "都市型工业"),
    ("urban-garment", "服装", "4+1", "都市型工业"),
    ("tech-green", "节能环保", "4+1", "科技服务业"),
    ("tech-rnd", "研发设计", "4+1", "科技服务业"),
    ("culture-tourism", "文化创意旅游", "4+1", "文化创意旅游"),
    ("commerce", "商贸流通", "4+1", "商贸流通"),
    ("hq", "总部经济", "4+1", "总部经济"),
    ("em-ict", "新一代信息技术", "emerging", "战略性新兴产业"),
    ("em-bio", "生物医药", "emerging", "战略性新兴产业"),
    ("em-materials", "新材料", "emerging", "战略性新兴产业"),
    ("em-energy", "新能源", "emerging", "战略性新兴产业"),
    ("em-equipment", "高端装备", "emerging", "战略性新兴产业"),
    ("em-new-forms", "新业态", "emerging", "新业态"),
]

TIERS = [
    ("fortune-global-500", "世界 500 强"),
    ("china-500", "中国 500 强"),
    ("china-private-500", "中国民营企业 500 强"),
    ("industry-top-20", "行业 20 强"),
    ("industry-leader", "行业龙头"),
    ("sme", "中小企业"),
]

DIMENSIONS = [
    ("strength", "企业实力", Decimal("25"), "营收、纳税、榜单地位"),
    ("fit", "产业契合度", Decimal("25"), "是否属于“4+1”或战略性新兴产业"),
    ("intent", "投资意向", Decimal("20"), "高层接触、考察、意向书"),
    ("carrier", "载体匹配", Decimal("15"), "现有地块、楼宇能否满足需求"),
    ("contribution", "预期贡献", Decimal("15"), "投资额、税收、就业"),
]

HQ_GROUPS = ["建设环境协调组", "土地规划组", "产业发展组", "招商组", "基础设施建设组", "财税组", "考核督察组"]


def seed(apps, schema_editor):
    Industry = apps.get_model("invest", "Industry")
    Tier = apps.get_model("invest", "Tier")
    Dimension = apps.get_model("invest", "Dimension")
    HqGroup = apps.get_model("invest", "HqGroup")
    Office = apps.get_model("invest", "Office")
    ReportKind = apps.get_model("core", "ReportKind")
    for order, (code, name, system, group) in enumerate(INDUSTRIES, start=1):
        Industry.objects.update_or_create(code=code, defaults={"name": name, "system": system, "group": group,
                                                               "order": order})
    for order, (code, name) in enumerate(TIERS, start=1):
        Tier.objects.update_or_create(code=code, defaults={"name": name, "order": order})
    for order, (code, name, weight, guidance) in enumerate(DIMENSIONS, start=1):
        Dimension.objects.update_or_create(code=code, defaults={"name": name, "weight": weight,
                                                                "guidance": guidance, "order": order})
    for order, name in enumerate(HQ_GROUPS, start=1):
        HqGroup.objects.update_or_create(code=f"hq-{order}", defaults={"name": name, "order": order,
                                                                       "supervises": name == "考核督察组"})
    Office.objects.get_or_create(pk=1)
    ReportKind.objects.update_or_create(code="invest-carriers", defaults={
        "name": "招商载体月报", "period": "month", "unit_kinds": ["street", "department"], "due_days": 5})


def unseed(apps, schema_editor):
    apps.get_model("core", "ReportKind").objects.filter(code="invest-carriers").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("invest", "0001_enterprise_library_pipeline_carriers"),
        ("core", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
