"""The mall's tables on the core tables engine (``govdesk/core/tables/``).

Imports (each writes through the batch services at the end of ``services.py``):

- ``mall-categories`` 品目: by 品目编码 in the importing administrator's district.
- ``mall-products`` 商品及报价: one row per offer (供应商 × 商品); the product is found by
  品目编码 + 品牌 + 型号 (or + 名称 when it has no model) and created when new (district
  administrators only); the listing rule judges every price as on the offer page.
- ``mall-reference-prices`` 市场参考价: by product, 日期 and 来源; the newest becomes the reference.
- ``mall-orders-history`` 商城历史订单: orders placed in other malls, by 来源商城 + 原订单号,
  supervised like the mall's own orders as soon as they are imported.

Exports: ``mall-orders`` (the order list with its filters) and ``mall-flags`` (the supervision
queue, supervisors only) — both export only.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from govdesk.core.reach import Role
from govdesk.core.tables import Column, ExportColumn, TableSchema, UnitRef, register

from . import queries, services
from .models import Flag

MONEY_FORMAT = "#,##0.00"
PURCHASING_KINDS = ("department", "street", "community", "courtyard", "institution")


def _positive(label: str):
    def check(value: Decimal) -> None:
        if value <= 0:
            raise ValidationError(f"{label}必须大于 0")
        if value >= Decimal("1000000000000"):
            raise ValidationError(f"{label}过大")
    return check


def _not_future(value: date) -> None:
    if value > timezone.localdate():
        raise ValidationError("日期不能晚于今天")


def _not_negative(value: int) -> None:
    if value < 0:
        raise ValidationError("库存不能为负数")


def _blank_to_empty(values: dict, *keys: str) -> None:
    # Optional parts of a natural key: "" rather than None, so the engine's duplicate check sees them.
    for key in keys:
        if values[key] is None:
            values[key] = ""


# --- categories ------------------------------------------------------------------------------------

def _check_category(values: dict) -> None:
    single = values["single_limit"] or services.DEFAULT_SINGLE_LIMIT
    if values["annual_limit"] is not None and values["annual_limit"] < single:
        raise ValidationError({"annual_limit": "年度累计限额不能小于单次限额"})


CATEGORIES = register(TableSchema(
    kind="mall-categories",
    title="商城品目",
    columns=(
        Column("品目编码", "code", aliases=("品目代码", "编码", "代码"), required=True, max_length=32),
        Column("品目名称", "name", aliases=("名称", "品目"), required=True, max_length=100),
        Column("是否商城品目", "is_mall", aliases=("商城品目",), type=bool, help="不填为“是”"),
        Column("是否鼓励品目", "is_encouraged", aliases=("鼓励品目", "是否鼓励类品目", "鼓励类品目"), type=bool,
               help="不填为“否”"),
        Column("单次限额", "single_limit", aliases=("单次采购限额", "单次限额（元）", "单笔限额", "单次采购限额（元）"),
               type=Decimal, validators=(_positive("单次限额"),), help="单位：元；不填为 500000"),
        Column("年度累计限额", "annual_limit", aliases=("年度限额", "年度累计限额（元）", "年累计限额"), type=Decimal,
               validators=(_positive("年度累计限额"),), help="每个单位在该品目一年内的累计上限，单位：元；不填为不限"),
    ),
    natural_key=("code",),
    apply_batch=services.categories_import_batch,
    check_row=_check_category,
    help="按品目编码识别：已有的品目会更新名称、标志和限额。只有区级管理员可以导入。",
))


# --- products and offers ------------------------------------------------------------------------------

def _check_product(values: dict) -> None:
    _blank_to_empty(values, "brand", "model")


PRODUCTS = register(TableSchema(
    kind="mall-products",
    title="商城商品及报价",
    columns=(
        Column("供应商", "supplier", aliases=("供应商名称", "供应商编码", "电商", "电商名称"), required=True,
               type=UnitRef(by="either", kinds=("enterprise",), roles=frozenset({Role.SUPPLIER, Role.DISTRICT_ADMIN})),
               help="企业的单位编码或名称"),
        Column("品目编码", "category", aliases=("品目代码",), required=True, max_length=32),
        Column("品牌", "brand", max_length=100),
        Column("型号", "model", aliases=("规格型号", "产品型号"), max_length=100),
        Column("名称", "name", aliases=("商品名称", "产品名称", "品名"), required=True, max_length=200),
        Column("单位", "unit", aliases=("计量单位",), max_length=16, help="不填为“件”"),
        Column("规格", "specs", aliases=("规格参数", "技术参数", "配置"), max_length=2000),
        Column("挂牌价", "list_price", aliases=("单价", "挂牌单价", "挂牌价（元）", "价格", "销售价"), type=Decimal,
               required=True, validators=(_positive("挂牌价"),)),
        Column("库存", "stock", aliases=("库存数量", "数量"), type=int, validators=(_not_negative,), help="不填为 0"),
    ),
    natural_key=("supplier", "category", "brand", "model", "name"),
    apply_batch=services.products_import_batch,
    check_row=_check_product,
    help="每行是一个供应商对一个商品的报价。商品按品目编码 + 品牌 + 型号（无型号时按名称）识别，新商品只能由区级管理员导入；"
         "挂牌价高于市场参考价超过规定比例的行不予上架，并给出原因。",
))


# --- reference prices -------------------------------------------------------------------------------

def _check_reference(values: dict) -> None:
    if not values["model"] and not values["name"]:
        raise ValidationError({"model": "请填写型号或商品名称"})
    _blank_to_empty(values, "brand", "model", "name")


REFERENCE_PRICES = register(TableSchema(
    kind="mall-reference-prices",
    title="市场参考价",
    columns=(
        Column("品目编码", "category", aliases=("品目代码",), required=True, max_length=32),
        Column("品牌", "brand", max_length=100),
        Column("型号", "model", aliases=("规格型号", "产品型号"), max_length=100),
        Column("名称", "name", aliases=("商品名称", "产品名称", "品名"), max_length=200, help="商品没有型号时必填"),
        Column("参考价", "price", aliases=("市场参考价", "参考价（元）", "市场价", "市场价格"), type=Decimal, required=True,
               validators=(_positive("参考价"),)),
        Column("日期", "observed_on", aliases=("询价日期", "采集日期", "参考价日期"), type=date, required=True,
               validators=(_not_future,)),
        Column("来源", "source", aliases=("参考价来源", "价格来源", "询价来源"), required=True, max_length=100),
    ),
    natural_key=("category", "brand", "model", "name", "observed_on", "source"),
    apply_batch=services.reference_prices_import_batch,
    check_row=_check_reference,
    help="按商品、日期和来源识别；每个商品最新的一条成为其市场参考价，已在售报价超出规定比例的随即下架。只有区级管理员可以导入。",
))


# --- orders from other malls -----------------------------------------------------------------------------

def _check_history(values: dict) -> None:
    errors = {}
    if not values["category_code"] and not values["category_name"]:
        errors["category_code"] = "请填写品目编码或品目名称"
    if values["list_total"] is not None and values["list_total"] < values["total"]:
        errors["list_total"] = "挂牌金额不能小于成交金额"
    if errors:
        raise ValidationError(errors)


HISTORY_ORDERS = register(TableSchema(
    kind="mall-orders-history",
    title="商城历史订单",
    columns=(
        Column("来源商城", "source", aliases=("来源", "商城", "来源平台", "采购平台"), required=True, max_length=50),
        Column("原订单号", "external_no", aliases=("订单号", "订单编号", "原订单编号"), required=True, max_length=64),
        Column("下单单位", "org_unit", aliases=("采购单位", "采购人单位", "下单单位名称", "采购单位名称"), required=True,
               type=UnitRef(by="either", kinds=PURCHASING_KINDS, roles=services.HISTORY_ROLES),
               help="单位编码或名称，须在您的管辖范围内"),
        Column("品目编码", "category_code", aliases=("品目代码",), max_length=32),
        Column("品目", "category_name", aliases=("品目名称",), max_length=100, help="填写品目编码或品目名称之一"),
        Column("供应商", "supplier", aliases=("供应商名称", "电商", "电商名称"), required=True, max_length=100,
               help="本区企业名录中的企业名称或编码"),
        Column("金额", "total", aliases=("成交金额", "订单金额", "金额（元）", "成交金额（元）", "订单金额（元）"), type=Decimal,
               required=True, validators=(_positive("金额"),)),
        Column("挂牌金额", "list_total", aliases=("挂牌总价", "原价", "挂牌金额（元）"), type=Decimal,
               validators=(_positive("挂牌金额"),), help="不填同成交金额"),
        Column("下单日期", "placed_on", aliases=("下单时间", "订单日期", "日期", "采购日期"), type=date, required=True,
               validators=(_not_future,)),
        Column("状态", "status", aliases=("订单状态",),
               type=[(s.value, s.label) for s in services.HISTORY_STATUSES], help="不填为“已结算”"),
    ),
    natural_key=("source", "external_no"),
    apply_batch=services.history_orders_import_batch,
    check_row=_check_history,
    batch_size=400,
    help="其他商城的历史订单，按来源商城 + 原订单号识别；导入后与本商城订单一样纳入统计和在线监管（拆单、集中度等规则立即检查）。",
))


# --- exports -----------------------------------------------------------------------------------------------

def orders_export(actor, filters: dict):
    filters = filters or {}
    return queries.orders_filtered(actor, filters).order_by("-placed_at", "-id")


ORDER_COLUMNS = (
    ExportColumn("订单号", "number", width=20),
    ExportColumn("下单日期", "placed_on"),
    ExportColumn("采购单位", "org_unit.name", width=24),
    ExportColumn("采购单位编码", "org_unit.code"),
    ExportColumn("供应商", "supplier.name", width=24),
    ExportColumn("品目编码", "category.code"),
    ExportColumn("品目", "category.name", width=20),
    ExportColumn("挂牌金额", "list_total", number_format=MONEY_FORMAT),
    ExportColumn("成交金额", "total", number_format=MONEY_FORMAT),
    ExportColumn("节约金额", "savings", number_format=MONEY_FORMAT),
    ExportColumn("状态", "get_status_display"),
    ExportColumn("来源商城", lambda o: o.source or "本商城"),
    ExportColumn("原订单号", "external_no", width=20),
)

ORDERS = register(TableSchema(
    kind="mall-orders",
    title="商城订单",
    columns=tuple(Column(c.header, f"c{i}") for i, c in enumerate(ORDER_COLUMNS)),
    natural_key=(),
    import_hint="其他商城的历史订单请用「商城历史订单」表导入",
    help="只能导出（在订单列表页按筛选条件导出）；其他商城的历史订单请用「商城历史订单」表导入。",
    export_query=orders_export,
    export_columns=ORDER_COLUMNS,
))


def flags_export(actor, filters: dict):
    if not queries.is_supervising(actor):
        return Flag.objects.none()
    filters = filters or {}
    status = filters.get("status") or "active"
    return (queries.flags_filtered(actor, filters, status="" if status == "all" else status)
            .order_by("-raised_at", "-id"))


FLAG_COLUMNS = (
    ExportColumn("发现时间", "raised_at"),
    ExportColumn("规则", "get_rule_display"),
    ExportColumn("采购单位", "org_unit.name", width=24),
    ExportColumn("供应商", "supplier.name", width=24),
    ExportColumn("品目", "category.name"),
    ExportColumn("订单号", lambda f: f.order.number if f.order_id else "", width=20),
    ExportColumn("金额", "amount", number_format=MONEY_FORMAT),
    ExportColumn("说明", "message", width=60),
    ExportColumn("状态", "get_status_display"),
    ExportColumn("核查意见", "note", width=40),
    ExportColumn("办结时间", "closed_at"),
)

FLAGS = register(TableSchema(
    kind="mall-flags",
    title="商城监管预警",
    columns=tuple(Column(c.header, f"c{i}") for i, c in enumerate(FLAG_COLUMNS)),
    natural_key=(),
    import_hint="预警由监管规则生成",
    help="只能导出（监管人员在预警队列页按筛选条件导出）。",
    export_query=flags_export,
    export_columns=FLAG_COLUMNS,
))

__all__ = ["CATEGORIES", "FLAGS", "HISTORY_ORDERS", "ORDERS", "PRODUCTS", "REFERENCE_PRICES"]
