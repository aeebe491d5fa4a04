"""The coal app's tables for the core tables engine (``govdesk/core/tables/``).

- ``coal-places`` (散煤点位): import and export. 街道, 社区, 类型, 名称, 地址, 联系人, 联系电话, 状态;
  a place is known by (社区, 名称, 地址) — the model's unique constraint. Rows go through
  ``services.place_import_rows``.
- ``coal-ledger`` (散煤检查台账): the past inspections streets keep in Excel, import and export.
  检查日期, 街道, 社区, 场所, 地址, 检查人, 是否发现散煤, 煤种, 数量（公斤）, 来源, 存放地点, 使用人,
  处置措施, 收缴数量（公斤）, 整改期限, 备注; idempotent on (place, day). Rows go through
  ``services.ledger_import_rows`` and so ``services.ledger_import`` (closed, marked imported,
  rectifications and place status in date order).
- ``coal-rectifications`` (散煤整改台账) and ``coal-campaign-tasks`` (回头看复查明细): export only;
  rectifications come from the ledger and tasks from a launched look-back.

Courtyards (楼院) are core org units: they are imported with the core's ``orgunits`` table
(类型 = 楼院, 上级 = the community); the coal app keeps nothing of its own about them.

A look-back's per-street report in the city's fixed layout is not a flat table: see
``exports.campaign_report_workbook``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone

from govdesk.core import personal
from govdesk.core.tables import Column, ExportColumn, RowError, TableSchema, UnitRef, register

from . import queries, services
from .models import STREET_ROLES, CampaignTask, Inspection, Place, Rectification

STREET = Column("街道", "street", aliases=("所属街道", "街道办事处", "乡镇街道", "街道（乡镇）"),
                type=UnitRef(kinds=("street",), roles=STREET_ROLES), help="可不填；社区重名时用来区分")
COMMUNITY = Column("社区", "community", aliases=("所属社区", "社区（村）", "村（社区）", "社区名称"),
                   type=UnitRef(kinds=("community",), roles=STREET_ROLES, within="street"), required=True)

# What people write in the 类型 column, besides the app's own labels.
PLACE_KINDS = {label: value for value, label in Place.Kind.choices} | {
    "散煤销售点": "sales_point", "销售点": "sales_point", "售煤户": "sales_point",
    "餐饮": "restaurant", "饭店": "restaurant", "餐馆": "restaurant",
    "商户": "shop", "超市": "shop",
    "摊位": "stall", "流动摊点": "stall",
    "居民": "household", "居民户": "household", "散户": "household",
}
COAL_KINDS = {label: value for value, label in Inspection.CoalKind.choices} | {
    "散煤": "raw", "块煤": "raw", "煤球": "briquette", "洁净型煤": "shaped", "兰炭": "other", "焦炭": "other",
}


def _refusals(outcomes: list) -> list:
    """The services' ``RowRefused`` as the engine's ``RowError``."""
    return [RowError(o.message, o.column) if isinstance(o, services.RowRefused) else o for o in outcomes]


def _phone(place: Place) -> str:
    return personal.decrypt(place.contact_phone_enc) if place.contact_phone_enc else ""


# --- places --------------------------------------------------------------------------------------

def places_apply(actor, rows, dry_run):
    return _refusals(services.place_import_rows(actor=actor, rows=[row.values for row in rows]))


PLACES = register(TableSchema(
    kind="coal-places",
    title="散煤点位",
    columns=(
        STREET,
        COMMUNITY,
        Column("类型", "kind", aliases=("场所类型", "点位类型", "类别"), type=PLACE_KINDS, required=True),
        Column("名称", "name", aliases=("场所名称", "点位名称", "场所", "商户名称", "户主姓名"), required=True,
               max_length=100),
        Column("地址", "address", aliases=("详细地址", "场所地址", "住址"), required=True, max_length=200),
        Column("联系人", "contact_name", aliases=("负责人", "户主", "经营者"), max_length=50),
        Column("联系电话", "contact_phone", aliases=("电话", "手机", "手机号", "联系方式"), max_length=20,
               help="手机号或座机号；不填则保留已登记的号码"),
        Column("状态", "status", aliases=("当前状态",), type=Place.Status,
               help="只用于新点位，不填为“未发现问题”；已有点位的状态由检查记录决定"),
    ),
    natural_key=("community", "name", "address"),
    apply_batch=places_apply,
    batch_size=500,
    help="按“社区 + 名称 + 地址”识别点位：已有的点位会更新类型和联系人（留空的不改），没有的会新增。",
    export_query=queries.places_export,
    export_columns=(
        ExportColumn("街道", "street.name"),
        ExportColumn("社区", "community.name"),
        ExportColumn("类型", "get_kind_display"),
        ExportColumn("名称", "name", width=24),
        ExportColumn("地址", "address", width=30),
        ExportColumn("联系人", "contact_name"),
        ExportColumn("联系电话", _phone, personal="phone", width=16),
        ExportColumn("状态", "get_status_display"),
    ),
))


# --- the inspection ledger ------------------------------------------------------------------------

def _valid_actions(text: str) -> None:
    services.parse_actions(text)


def ledger_apply(actor, rows, dry_run):
    return _refusals(services.ledger_import_rows(actor=actor, rows=[row.values for row in rows]))


def _ledger_actions(inspection: Inspection) -> str:
    words = [word for flag, word in (("educated", "宣传教育"), ("seized", "收缴"),
                                     ("rectification_ordered", "限期整改"), ("referred", "移交执法"))
             if getattr(inspection, flag)]
    return "、".join(words) or "无"


def _positive(value: Decimal | None) -> Decimal | None:
    return value if value else None


LEDGER = register(TableSchema(
    kind="coal-ledger",
    title="散煤检查台账",
    columns=(
        Column("检查日期", "inspected_on", aliases=("检查时间", "日期", "排查日期", "巡查日期"), type=date,
               required=True),
        STREET,
        COMMUNITY,
        Column("场所", "name", aliases=("场所名称", "点位", "点位名称", "名称", "检查对象"), required=True,
               max_length=100, help="已登记的点位名称（先导入散煤点位）"),
        Column("地址", "address", aliases=("详细地址", "场所地址"), max_length=200,
               help="同一社区有同名点位时必填"),
        Column("检查人", "inspector_name", aliases=("检查人员", "排查人"), max_length=50),
        Column("是否发现散煤", "coal_present", aliases=("发现散煤", "是否存在散煤", "有无散煤"), type=bool,
               required=True),
        Column("煤种", "coal_kind", aliases=("煤炭种类", "煤炭类型", "煤种类"), type=COAL_KINDS),
        Column("数量（公斤）", "quantity_kg", aliases=("数量", "散煤数量", "数量（kg）", "重量（公斤）"),
               type=Decimal, places=1),
        Column("来源", "source", aliases=("煤炭来源", "购买渠道"), max_length=100),
        Column("存放地点", "storage", aliases=("存放位置",), max_length=100),
        Column("使用人", "used_by", aliases=("使用者",), max_length=100),
        Column("处置措施", "actions", aliases=("处置情况", "处理措施", "处理情况"), max_length=200,
               validators=(_valid_actions,), help="宣传教育、收缴、限期整改、移交执法，可填多项；没有填“无”"),
        Column("收缴数量（公斤）", "seized_kg", aliases=("收缴数量", "收缴（公斤）"), type=Decimal, places=1,
               help="不填则按发现的数量全部收缴"),
        Column("整改期限", "rectification_deadline", aliases=("整改时限", "限期"), type=date),
        Column("备注", "note", max_length=1000),
    ),
    natural_key=("community", "name", "address", "inspected_on"),
    apply_batch=ledger_apply,
    batch_size=500,
    help="历史检查记录按“点位 + 检查日期”识别：同一天已有相同内容的记录不会重复导入；"
         "导入的记录直接办结，并按日期先后建立整改、更新点位状态。",
    export_query=queries.inspections_export,
    export_columns=(
        ExportColumn("检查时间", "inspected_at"),
        ExportColumn("街道", "street.name"),
        ExportColumn("社区", "community.name"),
        ExportColumn("场所", "place.name", width=24),
        ExportColumn("地址", "place.address", width=30),
        ExportColumn("检查人", "inspector_label"),
        ExportColumn("是否发现散煤", "coal_present"),
        ExportColumn("煤种", "get_coal_kind_display"),
        ExportColumn("数量（公斤）", lambda i: _positive(i.quantity_kg), number_format="0.0"),
        ExportColumn("来源", "source"),
        ExportColumn("存放地点", "storage"),
        ExportColumn("使用人", "used_by"),
        ExportColumn("处置措施", _ledger_actions, width=24),
        ExportColumn("收缴数量（公斤）", lambda i: _positive(i.seized_kg), number_format="0.0"),
        ExportColumn("整改期限", "rectification_deadline"),
        ExportColumn("备注", "note", width=30),
        ExportColumn("办结状态", "get_state_display"),
        ExportColumn("记录来源", lambda i: "导入台账" if i.imported else "系统录入"),
    ),
))


# --- export-only tables ------------------------------------------------------------------------------

def _rectification_state(rect: Rectification) -> str:
    if rect.status == Rectification.Status.OPEN and rect.deadline < timezone.localdate():
        return "逾期"
    return rect.get_status_display()


RECTIFICATIONS = register(TableSchema(
    kind="coal-rectifications",
    title="散煤整改台账",
    columns=(Column("场所", "name", required=True),),
    natural_key=(),
    import_hint="整改由检查台账生成，请导入散煤检查台账",
    help="仅供导出：整改由检查记录生成（导入检查台账时含整改期限的记录会建立整改）。",
    export_query=queries.rectifications_export,
    export_columns=(
        ExportColumn("街道", "street.name"),
        ExportColumn("社区", "community.name"),
        ExportColumn("场所", "place.name", width=24),
        ExportColumn("地址", "place.address", width=30),
        ExportColumn("下达日期", "opened_on"),
        ExportColumn("原定期限", "original_deadline"),
        ExportColumn("整改期限", "deadline"),
        ExportColumn("延期次数", "extensions_count"),
        ExportColumn("状态", _rectification_state),
        ExportColumn("销号时间", "closed_at"),
    ),
))


def _result(task: CampaignTask, name: str):
    return getattr(task.result, name) if task.result_id else None


CAMPAIGN_TASKS = register(TableSchema(
    kind="coal-campaign-tasks",
    title="回头看复查明细",
    columns=(Column("场所", "name", required=True),),
    natural_key=(),
    import_hint="复查任务由回头看生成",
    help="仅供导出：回头看发起时按台账生成复查任务。",
    export_query=queries.campaign_tasks_export,
    export_columns=(
        ExportColumn("回头看", "campaign.title", width=20),
        ExportColumn("街道", "street.name"),
        ExportColumn("社区", "community.name"),
        ExportColumn("场所", "place.name", width=24),
        ExportColumn("类型", "place.get_kind_display"),
        ExportColumn("地址", "place.address", width=30),
        ExportColumn("原发现", "earlier_summary", width=40),
        ExportColumn("分派给", lambda t: t.assignee.label if t.assignee_id else None),
        ExportColumn("状态", "get_status_display"),
        ExportColumn("复查时间", lambda t: _result(t, "inspected_at")),
        ExportColumn("复查是否发现散煤", lambda t: _result(t, "coal_present")),
        ExportColumn("煤种", lambda t: t.result.get_coal_kind_display() if t.result_id else None),
        ExportColumn("数量（公斤）", lambda t: _positive(_result(t, "quantity_kg")), number_format="0.0"),
        ExportColumn("处置措施", lambda t: _ledger_actions(t.result) if t.result_id else None, width=24),
        ExportColumn("对比结果", "get_outcome_display"),
    ),
))
