"""Table schemas of investment promotion, for the core import/export engine (``core/tables``).

- ``invest-firms`` — the enterprise library. A row is the firm its 统一社会信用代码 names, else the firm
  of the same normalised name (``services.name_key``: full-width folded, brackets and the company-form
  suffix dropped) — the duplicate rule of a single create. Known firms get the sheet's particulars,
  tiers and contact added (empty cells change nothing); new ones go through ``firm_create_many``.
- ``invest-projects`` — the pipeline ledger, by project name; stages move only on the project page.
- ``invest-parcels`` / ``invest-buildings`` — a street's or department's own monthly carrier sheet:
  rows create or correct its carriers, then the sheet is filed as that month's carrier report
  (``services.carrier_report_feed``), whose diff against last month the report page shows.
- ``invest-activities`` — visits, receptions, brochures, invitations and follow-ups, by firm, kind, date.
- ``invest-appeals`` — appeals received on paper, by firm, subject and date (new ones only).

Every export starts from the list page's own scoped query with the page's filters.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from govdesk.core import personal
from govdesk.core.reach import VIEW
from govdesk.core.tables.schema import Column, ExportColumn, TableSchema, UnitRef, register

from . import queries, services
from .models import Activity, Appeal, Parcel, Project, Region

WRITERS = services.WRITERS
CARRIER_WRITERS = services.CARRIER_WRITERS

USES = {
    "工业": "industrial", "工业用地": "industrial", "商业": "commercial", "商业用地": "commercial",
    "商服用地": "commercial", "商务办公": "office", "办公": "office", "商办": "office", "商务": "office",
    "综合": "mixed", "综合用地": "mixed", "商住": "mixed", "其他": "other",
}
REGIONS = {**{label: value for value, label in Region.choices},
           "长江三角洲": "yrd", "珠江三角洲": "prd", "京津冀": "bohai", "环渤海地区": "bohai", "其他": "other"}
PARCEL_STATUS = {**{label: value for value, label in Parcel.Status.choices},
                 "闲置": "idle", "可供": "idle", "已预留": "reserved", "意向预留": "reserved", "已出让": "supplied"}
ACTIVITY_KINDS = {**{label: value for value, label in Activity.Kind.choices},
                  "拜访": "visit", "走访": "visit", "外出招商": "visit", "接待": "reception", "来访": "reception",
                  "寄送资料": "brochure", "招商资料": "brochure", "宣传册": "brochure", "邀请函": "invitation",
                  "邀请": "invitation", "企业回访": "follow_up"}


def _bad(message: str):
    raise ValidationError(message)


# --- firms ------------------------------------------------------------------------------------------------

def _tiers_text(firm) -> str:
    return "、".join(f"{t.tier.name.replace(' ', '')}({t.year})" for t in firm.tiers.all())


def _first_contact(firm):
    contacts = list(firm.contacts.all())
    return contacts[0] if contacts else None


def _contact_phone(firm) -> str:
    contact = _first_contact(firm)
    return personal.decrypt(contact.phone_enc) if contact and contact.phone_enc else ""


FIRM_FILTERS = ("search", "industry", "tier", "region", "squad", "conclusion", "system")


def firms_export(actor, filters: dict):
    picked = {k: filters[k] for k in FIRM_FILTERS if filters.get(k)}
    return (queries.firms_visible(actor, **picked).distinct().order_by("name", "id")
            .select_related("org_unit", "referred_by").prefetch_related("tiers__tier", "contacts"))


FIRMS = register(TableSchema(
    kind="invest-firms",
    title="招商企业库",
    columns=(
        Column("企业名称", "name", aliases=("企业", "公司名称", "单位名称", "名称"), required=True, max_length=120),
        Column("统一社会信用代码", "credit_code", aliases=("信用代码", "社会信用代码", "统一代码"), type="credit_code",
               help="有则填写；按信用代码（没有时按企业名称）识别企业库中已有的企业"),
        Column("产业", "industry", aliases=("行业", "所属行业", "所属产业", "产业类别"), max_length=50,
               help="“4+1”产业或战略性新兴产业，如 总部经济、研发设计、新一代信息技术"),
        Column("总部所在区域", "region", aliases=("来源地区", "来源地", "区域", "所在区域"), type=REGIONS),
        Column("所在城市", "city", aliases=("城市", "总部城市"), max_length=30),
        Column("榜单", "tiers", aliases=("梯队", "企业梯队", "上榜情况", "企业层级", "榜单/梯队"), max_length=300,
               help="可填多个，注明年份，如 世界500强(2024)、中国民营500强(2023)"),
        Column("榜单年份", "tier_year", aliases=("上榜年份", "年份"), type=int,
               validators=(lambda y: None if 1990 <= y <= 2100 else _bad("榜单年份不正确"),)),
        Column("推荐企业", "referred_by", aliases=("以商引商推荐企业", "推荐单位", "引荐企业"), max_length=120,
               help="企业库中已有企业的名称或信用代码"),
        Column("责任小分队", "squad", aliases=("小分队", "招商小分队"), max_length=50),
        Column("联系人", "contact_name", aliases=("联系人姓名",), max_length=30),
        Column("职务", "contact_title", aliases=("联系人职务",), max_length=50),
        Column("联系电话", "phone", aliases=("电话", "手机", "手机号", "联系方式"), type="phone"),
        Column("备注", "note", max_length=2000),
        Column("所属单位", "unit", aliases=("登记单位",), type=UnitRef(kinds=("department",), roles=WRITERS),
               help="不填则登记在招商牵头单位"),
    ),
    natural_key=("name",),
    apply_batch=services.firm_import_batch,
    help="按统一社会信用代码、再按规范化的企业名称查重：已有企业更新所填内容（空白单元格不修改），新企业入库。",
    export_query=firms_export,
    export_columns=(
        ExportColumn("企业名称", "name", width=30),
        ExportColumn("统一社会信用代码", "credit_code", width=22),
        ExportColumn("产业", lambda f: str(f.industry)),
        ExportColumn("总部所在区域", "get_region_display"),
        ExportColumn("所在城市", "city"),
        ExportColumn("榜单", _tiers_text, width=30),
        ExportColumn("推荐企业", "referred_by.name", width=24),
        ExportColumn("责任小分队", "squad.name"),
        ExportColumn("联系人", lambda f: getattr(_first_contact(f), "name", "")),
        ExportColumn("职务", lambda f: getattr(_first_contact(f), "title", "")),
        ExportColumn("联系电话", _contact_phone, personal="phone"),
        ExportColumn("研判结论", "get_conclusion_display"),
        ExportColumn("优先级", "priority"),
        ExportColumn("研判日期", "assessed_on"),
        ExportColumn("所属单位", "org_unit.name"),
        ExportColumn("备注", "note", width=30),
    ),
))


# --- projects ------------------------------------------------------------------------------------------------

PROJECT_FILTERS = ("search", "stage", "industry", "hq_group", "stall")


def projects_export(actor, filters: dict):
    picked = {k: filters[k] for k in PROJECT_FILTERS if filters.get(k)}
    return (queries.projects_visible(actor, **picked).order_by("moved_at", "id")
            .select_related("org_unit").prefetch_related("firms"))


PROJECTS = register(TableSchema(
    kind="invest-projects",
    title="招商项目台账",
    columns=(
        Column("项目名称", "name", aliases=("项目",), required=True, max_length=120),
        Column("投资企业", "firms", aliases=("企业名称", "投资方", "签约企业"), max_length=500,
               help="企业库中企业的名称或信用代码，多家用顿号分隔"),
        Column("产业", "industry", aliases=("行业", "所属产业", "产业类别"), max_length=50),
        Column("阶段", "stage", aliases=("项目阶段", "进展阶段"), type=Project.Stage,
               help="只作核对：阶段在项目页面推进"),
        Column("计划投资（万元）", "planned_investment", aliases=("计划投资", "总投资（万元）", "总投资", "投资额（万元）"),
               type=Decimal),
        Column("实际到位（万元）", "paid_in", aliases=("实际到位", "到位资金（万元）", "到位资金"), type=Decimal),
        Column("载体需求", "need", aliases=("需求载体",), type=Project.Need),
        Column("需求面积（亩 / ㎡）", "need_area", aliases=("需求面积", "用地需求（亩）", "面积需求"), type=Decimal),
        Column("需求用途", "need_use", aliases=("用途",), type=USES),
        Column("责任工作组", "hq_group", aliases=("工作组", "牵头工作组", "责任组"), max_length=50),
        Column("责任领导", "leader", aliases=("分包领导", "联系领导"), max_length=30),
        Column("所属单位", "unit", aliases=("登记单位",), type=UnitRef(kinds=("department",), roles=WRITERS),
               help="不填则登记在招商牵头单位"),
    ),
    natural_key=("name",),
    apply_batch=services.project_import_batch,
    batch_size=500,
    help="按项目名称识别：新项目以“线索”阶段立项；已有项目更新所填内容。阶段只能在项目页面推进。",
    export_query=projects_export,
    export_columns=(
        ExportColumn("项目名称", "name", width=30),
        ExportColumn("投资企业", lambda p: "、".join(f.name for f in p.firms.all()), width=30),
        ExportColumn("产业", lambda p: str(p.industry)),
        ExportColumn("阶段", "get_stage_display"),
        ExportColumn("计划投资（万元）", "planned_investment"),
        ExportColumn("实际到位（万元）", "paid_in"),
        ExportColumn("载体需求", "get_need_display"),
        ExportColumn("需求面积（亩 / ㎡）", "need_area"),
        ExportColumn("需求用途", "get_need_use_display"),
        ExportColumn("责任工作组", "hq_group.name"),
        ExportColumn("责任领导", "leader"),
        ExportColumn("最近推进", lambda p: timezone.localdate(p.moved_at)),
        ExportColumn("流失原因", "lost_reason"),
        ExportColumn("所属单位", "org_unit.name"),
    ),
))


# --- carriers ------------------------------------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})")


def _carrier_row(values: dict) -> None:
    """The month a row reports (报送月份: 2026年5月, 2026-05, 2026.5; the current month when empty)."""
    text = values.get("month")
    today = timezone.localdate()
    if not text:
        values["month"] = today.replace(day=1)
        return
    match = _MONTH.match(personal.fold(text))
    try:
        month = date(int(match[1]), int(match[2]), 1) if match else None
    except ValueError:
        month = None
    if month is None:
        raise ValidationError({"month": [f"月份格式无法识别：{text}（如 2026年5月）"]})
    if month > today:
        raise ValidationError({"month": ["不能报送未来月份"]})
    values["month"] = month


UNIT = Column("报送单位", "unit", aliases=("街道", "所属街道", "填报单位", "单位", "街道/部门"),
              type=UnitRef(kinds=("street", "department"), roles=CARRIER_WRITERS),
              help="不填则为您所在的街道或部门")
MONTH = Column("报送月份", "month", aliases=("月份", "填报月份", "统计月份"), max_length=20,
               help="如 2026年5月；不填为本月。导入后即作为本单位该月的载体月报")


def parcels_export(actor, filters: dict):
    return queries.parcels_visible(actor, unit=filters.get("unit", ""), status=filters.get("status", ""),
                                   use=filters.get("use", "")).order_by("org_unit__path", "name", "id")


PARCELS = register(TableSchema(
    kind="invest-parcels",
    title="闲置地块",
    columns=(
        UNIT,
        Column("地块名称", "name", aliases=("地块", "地块编号", "宗地名称"), required=True, max_length=100),
        Column("位置（四至）", "location", aliases=("位置", "四至", "地块位置", "坐落"), max_length=200),
        Column("面积（亩）", "area_mu", aliases=("面积", "占地面积（亩）", "用地面积（亩）", "亩数"), type=Decimal),
        Column("规划用途", "planned_use", aliases=("用途", "土地用途", "用地性质"), type=USES),
        Column("控规指标", "zoning", aliases=("规划指标", "控规", "容积率"), max_length=100),
        Column("状态", "status", aliases=("地块状态", "供地状态"), type=PARCEL_STATUS, help="不填为闲置可供"),
        Column("招商方向", "direction", aliases=("意向方向", "拟招商方向"), max_length=200),
        MONTH,
    ),
    natural_key=("unit", "name"),
    apply_batch=services.parcel_import_batch,
    check_row=_carrier_row,
    help="街道、部门上传本单位的地块表：按地块名称新增或更新，并作为该月载体月报报送。",
    export_query=parcels_export,
    export_columns=(
        ExportColumn("报送单位", "org_unit.name"),
        ExportColumn("地块名称", "name", width=24),
        ExportColumn("位置（四至）", "location", width=30),
        ExportColumn("面积（亩）", "area_mu"),
        ExportColumn("规划用途", "get_planned_use_display"),
        ExportColumn("控规指标", "zoning"),
        ExportColumn("状态", "get_status_display"),
        ExportColumn("招商方向", "direction", width=24),
        ExportColumn("更新时间", "updated_at"),
    ),
))


def buildings_export(actor, filters: dict):
    return queries.buildings_visible(actor, unit=filters.get("unit", ""), vacant=filters.get("vacant") == "1"
                                     ).order_by("org_unit__path", "name", "id")


BUILDINGS = register(TableSchema(
    kind="invest-buildings",
    title="商务楼宇",
    columns=(
        UNIT,
        Column("楼宇名称", "name", aliases=("楼宇", "楼宇名", "项目名称"), required=True, max_length=100),
        Column("地址", "address", aliases=("楼宇地址", "坐落", "位置"), max_length=200),
        Column("总面积（㎡）", "total_area", aliases=("总面积", "总建筑面积", "建筑面积", "总面积（平方米）"),
               type=Decimal),
        Column("空置面积（㎡）", "vacant_area", aliases=("空置面积", "闲置面积", "可招商面积", "空置面积（平方米）"),
               type=Decimal),
        Column("租金（元/㎡·月）", "rent", aliases=("租金", "平均租金", "租金（元/平方米/月）", "租金标准"), type=Decimal),
        Column("产权单位", "owner", aliases=("产权方", "业主", "业主单位", "产权人"), max_length=100),
        Column("主要入驻企业", "main_tenants", aliases=("入驻企业", "主要企业", "主要租户"), max_length=300),
        Column("招商方向", "direction", aliases=("意向方向", "拟招商方向"), max_length=200),
        MONTH,
    ),
    natural_key=("unit", "name"),
    apply_batch=services.building_import_batch,
    check_row=_carrier_row,
    help="街道、部门上传本单位的楼宇表：按楼宇名称新增或更新，并作为该月载体月报报送。",
    export_query=buildings_export,
    export_columns=(
        ExportColumn("报送单位", "org_unit.name"),
        ExportColumn("楼宇名称", "name", width=24),
        ExportColumn("地址", "address", width=30),
        ExportColumn("总面积（㎡）", "total_area"),
        ExportColumn("空置面积（㎡）", "vacant_area"),
        ExportColumn("租金（元/㎡·月）", "rent"),
        ExportColumn("产权单位", "owner"),
        ExportColumn("主要入驻企业", "main_tenants", width=30),
        ExportColumn("招商方向", "direction", width=24),
        ExportColumn("更新时间", "updated_at"),
    ),
))


# --- activities and appeals ------------------------------------------------------------------------------------

def activities_export(actor, filters: dict):
    qs = Activity.objects.restrict(actor, VIEW).select_related("firm", "squad")
    if str(filters.get("squad", "")).isdigit():
        qs = qs.filter(squad_id=filters["squad"])
    if str(filters.get("firm", "")).isdigit():
        qs = qs.filter(firm_id=filters["firm"])
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    return qs.order_by("-happened_on", "-id")


ACTIVITIES = register(TableSchema(
    kind="invest-activities",
    title="招商活动台账",
    columns=(
        Column("企业名称", "firm", aliases=("企业", "对接企业", "统一社会信用代码"), required=True, max_length=120),
        Column("类型", "kind", aliases=("活动类型", "方式"), type=ACTIVITY_KINDS, required=True),
        Column("日期", "happened_on", aliases=("活动日期", "时间", "拜访日期"), type=date, required=True),
        Column("参加人员", "participants", aliases=("参与人员", "人员"), required=True, max_length=200),
        Column("地点", "place", max_length=100),
        Column("情况摘要", "summary", aliases=("主要内容", "洽谈内容", "情况"), required=True, max_length=4000),
        Column("小分队", "squad", aliases=("招商小分队", "责任小分队"), max_length=50),
    ),
    natural_key=("firm", "kind", "happened_on"),
    apply_batch=services.activity_import_batch,
    help="同一企业、同一类型、同一日期的活动视为同一条：已有的更新参加人员、地点和摘要。",
    export_query=activities_export,
    export_columns=(
        ExportColumn("企业名称", "firm.name", width=30),
        ExportColumn("类型", "get_kind_display"),
        ExportColumn("日期", "happened_on"),
        ExportColumn("参加人员", "participants", width=24),
        ExportColumn("地点", "place"),
        ExportColumn("情况摘要", "summary", width=40),
        ExportColumn("小分队", "squad.name"),
    ),
))


APPEAL_FILTERS = ("status", "category", "overdue", "search")


def appeals_export(actor, filters: dict):
    status = filters.get("status", "open")  # the list page shows open appeals unless told otherwise
    return (queries.appeals_visible(actor, status="" if status == "all" else status,
                                    category=filters.get("category", ""), overdue=filters.get("overdue") == "1",
                                    search=filters.get("search", ""))
            .select_related("project").order_by("due_on", "id"))


APPEALS = register(TableSchema(
    kind="invest-appeals",
    title="企业诉求",
    columns=(
        Column("企业名称", "firm", aliases=("企业", "诉求企业"), required=True, max_length=120),
        Column("诉求类别", "category", aliases=("类别", "诉求类型"), type=Appeal.Category, required=True),
        Column("诉求事项", "title", aliases=("事项", "诉求标题"), required=True, max_length=120),
        Column("具体内容", "detail", aliases=("诉求内容", "内容", "详细情况"), required=True, max_length=4000),
        Column("紧急程度", "urgency", aliases=("紧急", "缓急"), type=Appeal.Urgency, help="不填为一般"),
        Column("责任工作组", "owner_group", aliases=("工作组", "责任组"), max_length=50),
        Column("承办人", "handler", aliases=("承办人员",), max_length=150, help="用户名或姓名；不填为导入人"),
        Column("受理日期", "received_on", aliases=("日期", "收到日期"), type=date, required=True),
        Column("关联项目", "project", aliases=("项目", "项目名称"), max_length=120),
    ),
    natural_key=("firm", "title", "received_on"),
    apply_batch=services.appeal_import_batch,
    help="只登记新诉求；已登记的诉求在诉求页面答复、办结和评价。",
    export_query=appeals_export,
    export_columns=(
        ExportColumn("企业名称", "firm.name", width=30),
        ExportColumn("诉求类别", "get_category_display"),
        ExportColumn("诉求事项", "title", width=30),
        ExportColumn("具体内容", "detail", width=40),
        ExportColumn("紧急程度", "get_urgency_display"),
        ExportColumn("责任工作组", "owner_group.name"),
        ExportColumn("承办人", lambda a: a.handler.label),
        ExportColumn("受理日期", "received_on"),
        ExportColumn("办结时限", "due_on"),
        ExportColumn("状态", "get_status_display"),
        ExportColumn("办理结果", "resolution", width=30),
        ExportColumn("办结日期", "resolved_on"),
        ExportColumn("企业评价", "rating"),
        ExportColumn("关联项目", "project.name"),
    ),
))
