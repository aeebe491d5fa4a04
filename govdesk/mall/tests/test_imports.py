"""The mall's tables: categories, products with offers, reference prices and orders from other
malls in; orders and supervision flags out — real xlsx files in the headers people write."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from govdesk.core.models import AuditEvent
from govdesk.core.tables.jobs import job_path, table_job_start
from govdesk.core.tables.run import import_table
from govdesk.core.tables.testing import sheet_rows, xlsx_bytes
from govdesk.mall import services
from govdesk.mall.imports import FLAG_COLUMNS
from govdesk.mall.models import Category, Flag, Offer, Order, Product, ReferencePrice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def counts(result) -> dict:
    data = result.to_dict()
    return {k: data[k] for k in ("rows", "valid", "invalid", "created", "updated", "unchanged")}


def events_of(obj) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("id"))


def import_events(obj) -> list[str]:
    return [e.action for e in events_of(obj) if e.verb == "import"]


def run(actor, kind, data, **kw):
    return import_table(actor=actor, kind=kind, file=data, filename="upload.xlsx", **kw)


def days_ago(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)


# --- categories ------------------------------------------------------------------------------------------

CATEGORY_HEADER = ["品目编码", "品目名称", "商城品目", "鼓励品目", "单次采购限额（元）", "年度累计限额"]


def categories_file(*rows) -> bytes:
    return xlsx_bytes([["2025年度商城品目表"], CATEGORY_HEADER, *rows], merges=["A1:F1"])


CATEGORIES = categories_file(
    ["A0501", "办公家具", "是", "否", "200,000", None],
    ["A0901", "复印纸", "是", "是", 10000, None],  # as it is
    ["Ａ0201", "台式计算机", "是", "否", "500000.00", "800000"],  # full-width code; gets an annual limit
    ["B0101", "物业管理服务", "否", None, None, None],
)


def test_categories_are_created_and_updated_by_code_with_one_audit_event_each(mall):
    result = run(mall.world.admin, "mall-categories", CATEGORIES)
    assert result.errors == []
    assert counts(result) == {"rows": 4, "valid": 4, "invalid": 0, "created": 2, "updated": 1, "unchanged": 1}
    furniture = Category.objects.get(code="A0501")
    assert (furniture.name, furniture.is_mall, furniture.is_encouraged, furniture.single_limit,
            furniture.annual_limit, furniture.org_unit) == ("办公家具", True, False, Decimal("200000.00"), None,
                                                           mall.world.district)
    assert furniture.initials == "bgjj"
    service = Category.objects.get(code="B0101")
    assert (service.is_mall, service.is_encouraged, service.single_limit) == (False, False, Decimal("500000.00"))
    mall.pcs.refresh_from_db()
    assert mall.pcs.annual_limit == Decimal("800000.00")
    for category in (furniture, service, mall.pcs):
        assert len(import_events(category)) == 1
    assert import_events(mall.paper) == []
    again = run(mall.world.admin, "mall-categories", CATEGORIES)
    assert counts(again) == {"rows": 4, "valid": 4, "invalid": 0, "created": 0, "updated": 0, "unchanged": 4}


def test_one_bad_category_row_leaves_the_catalogue_untouched(mall):
    data = categories_file(
        ["A0501", "办公家具", "是", "否", "200000", None],
        ["A0502", "办公椅", "是", "否", "50000", "20000"],
        ["A0503", None, "是", "maybe", "-5", None],
    )
    before = (Category.objects.count(), AuditEvent.objects.count())
    result = run(mall.world.admin, "mall-categories", data)
    assert result.errors == [
        {"row": 4, "column": "年度累计限额", "message": "年度累计限额不能小于单次限额"},
        {"row": 5, "column": "品目名称", "message": "请填写品目名称"},
        {"row": 5, "column": "是否鼓励品目", "message": "请填写“是”或“否”，而不是：maybe"},
        {"row": 5, "column": "单次限额", "message": "单次限额必须大于 0"},
    ]
    assert (result.created, result.written) == (0, False)
    assert (Category.objects.count(), AuditEvent.objects.count()) == before


def test_only_a_district_administrator_imports_categories(mall):
    result = run(mall.world.officer_a, "mall-categories", CATEGORIES)
    assert result.invalid == 4
    assert {e["message"] for e in result.errors} == {"只有区级管理员可以导入品目"}
    assert not Category.objects.filter(code="A0501").exists()


# --- products and offers --------------------------------------------------------------------------------------

PRODUCT_HEADER = ["供应商名称", "品目编码", "品牌", "型号", "商品名称", "计量单位", "规格参数", "挂牌价", "库存"]


def products_file(*rows) -> bytes:
    return xlsx_bytes([PRODUCT_HEADER, *rows], text_columns=[2])


def test_offers_are_written_per_row_and_the_listing_rule_refuses_overpriced_ones(mall):
    reference_day = timezone.localdate()
    data = products_file(
        ["甲办公用品公司", "A0901", "得力", "7391", "A4复印纸", "箱", None, 108, 500],  # price and stock change
        ["T100-SY", "A0901", "得力", "7391", "A4复印纸", "箱", None, 130, 10],  # 30% over the reference
        ["乙电商公司", "A0201", "惠普", "HP-400 G9", "台式电脑", "台", "i5/8G/512G", "4,999.00", 20],  # all new
        ["甲办公用品公司", "A0201", "联想", "m720", "台式电脑", None, None, 5000, 50],  # as it is
        ["甲办公用品公司", "A9999", "联想", "X1", "笔记本电脑", "台", None, 9000, 5],
    )
    result = run(mall.world.admin, "mall-products", data, mode="valid")
    assert result.errors == [
        {"row": 3, "column": "挂牌价",
         "message": f"挂牌价 130.00 元高于市场参考价 100.00 元（京东，{reference_day}）30.0%，超过允许的 20%，不予上架"},
        {"row": 6, "column": "品目编码", "message": "品目编码「A9999」不存在"},
    ]
    assert counts(result) == {"rows": 5, "valid": 3, "invalid": 2, "created": 1, "updated": 1, "unchanged": 1}
    mall.paper_x.refresh_from_db()
    mall.paper_y.refresh_from_db()
    assert (mall.paper_x.list_price, mall.paper_x.stock, mall.paper_x.status) == (Decimal("108.00"), 500, "listed")
    assert (mall.paper_y.list_price, mall.paper_y.stock) == (Decimal("105.00"), 1000)  # the refused row wrote nothing
    hp = Product.objects.get(brand="惠普")
    # the model is folded as product_create folds it (full-width forms and spaces)
    assert (hp.category, hp.name, hp.model, hp.unit, hp.specs, hp.org_unit) == (
        mall.pcs, "台式电脑", "HP-400G9", "台", "i5/8G/512G", mall.world.district)
    offer = Offer.objects.get(product=hp)
    assert (offer.supplier, offer.list_price, offer.stock, offer.status) == (
        mall.supplier_y, Decimal("4999.00"), 20, "listed")
    assert import_events(hp) == ["create"]
    assert import_events(offer) == ["create"]
    assert import_events(mall.paper_x) == ["update"]
    assert import_events(mall.laptop_x) == [] and import_events(mall.laptop) == []
    assert not Product.objects.filter(name="笔记本电脑").exists()
    again = run(mall.world.admin, "mall-products", data, mode="valid")
    assert (again.created, again.updated, again.unchanged, again.invalid) == (0, 0, 3, 2)


def test_a_supplier_imports_only_its_own_offers_of_existing_products(mall):
    furniture = services.category_create(actor=mall.world.admin, district=mall.world.district, code="A0501",
                                         name="办公家具")
    data = products_file(
        ["甲办公用品公司", "A0901", "得力", "7391", "A4复印纸", "箱", None, 99.5, 800],
        ["乙电商公司", "A0901", "得力", "7391", "A4复印纸", "箱", None, 99, 800],
        ["甲办公用品公司", "A0201", "戴尔", "OptiPlex 7010", "台式电脑", "台", None, 4500, 5],
        ["甲办公用品公司", "A0501", "震旦", "AD-01", "办公桌", "张", None, 800, 5],
    )
    before = AuditEvent.objects.count()
    result = run(mall.seller_x, "mall-products", data, mode="valid")
    assert result.errors == [
        {"row": 3, "column": "供应商", "message": "单位「乙电商公司」不存在或不在您的权限范围内"},
        {"row": 4, "column": "名称", "message": "商品「戴尔 OptiPlex7010」尚未建档，只有区级管理员可以新增商品"},
        {"row": 5, "column": "供应商", "message": f"「甲办公用品公司」尚未获准在品目「{furniture.name}」供货，请先申请准入"},
    ]
    assert (result.updated, result.created) == (1, 0)
    mall.paper_x.refresh_from_db()
    assert (mall.paper_x.list_price, mall.paper_x.stock) == (Decimal("99.50"), 800)
    assert AuditEvent.objects.count() == before + 2  # the offer's update and the import itself


def test_one_overpriced_offer_stops_an_all_or_nothing_import(mall):
    data = products_file(
        ["甲办公用品公司", "A0201", "惠普", "HP-400 G9", "台式电脑", "台", None, 4999, 20],
        ["乙电商公司", "A0901", "得力", "7391", "A4复印纸", "箱", None, 121, 10],
    )
    before = (Product.objects.count(), Offer.objects.count(), AuditEvent.objects.count())
    result = run(mall.world.admin, "mall-products", data)
    assert [(e["row"], e["column"]) for e in result.errors] == [(3, "挂牌价")]
    assert (result.created, result.written) == (0, False)
    assert (Product.objects.count(), Offer.objects.count(), AuditEvent.objects.count()) == before


# --- reference prices ---------------------------------------------------------------------------------------

REFERENCE_HEADER = ["品目编码", "品牌", "规格型号", "商品名称", "市场参考价", "询价日期", "价格来源"]


def test_reference_prices_become_the_products_reference_and_block_offers_now_too_dear(mall):
    today = timezone.localdate()
    tomorrow = today + timedelta(days=1)
    known = set(ReferencePrice.objects.values_list("pk", flat=True))
    data = xlsx_bytes([REFERENCE_HEADER,
                       ["A0901", "得力", "7391", None, 90, today, "苏宁易购"],
                       ["A0201", "联想", "M720", None, "4,800", "2024年1月5日", "中国政府采购网"],
                       ["A0901", "晨光", None, "复印纸（散装）", 20, "2024/3/1", "京东"],
                       ["A0901", "得力", "9999", None, 20, "2024-03-01", "京东"],
                       ["A0901", "得力", "7391", None, 95, tomorrow, "京东"]])
    result = run(mall.world.admin, "mall-reference-prices", data, mode="valid")
    assert result.errors == [
        {"row": 5, "column": "型号", "message": "品目「复印纸」中没有商品「得力 9999」"},
        {"row": 6, "column": "日期", "message": "日期不能晚于今天"},
    ]
    assert counts(result) == {"rows": 5, "valid": 3, "invalid": 2, "created": 3, "updated": 0, "unchanged": 0}
    mall.printer_paper.refresh_from_db()
    mall.laptop.refresh_from_db()
    assert (mall.printer_paper.reference_price, mall.printer_paper.reference_source) == (Decimal("90.00"), "苏宁易购")
    assert (mall.laptop.reference_price, mall.laptop.reference_date) == (Decimal("4800.00"), date(2024, 1, 5))
    mall.paper_x.refresh_from_db()
    mall.paper_y.refresh_from_db()
    assert mall.paper_x.status == "blocked"  # 110 > 90 × 120%
    assert mall.paper_x.blocked_reason.startswith("挂牌价 110.00 元高于市场参考价 90.00 元（苏宁易购")
    assert mall.paper_y.status == "listed"  # 105 is within
    assert [e.verb for e in events_of(mall.paper_x) if e.action == "state"] == ["block"]
    imported = ReferencePrice.objects.exclude(pk__in=known)
    assert sorted(r.source for r in imported) == ["中国政府采购网", "京东", "苏宁易购"]
    for record in imported:
        assert import_events(record) == ["create"]
    again = run(mall.world.admin, "mall-reference-prices", data, mode="valid")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    corrected = run(mall.world.admin, "mall-reference-prices", xlsx_bytes([
        REFERENCE_HEADER, ["A0201", "联想", "M720", None, 4700, "2024-01-05", "中国政府采购网"]]))
    assert (corrected.updated, corrected.created) == (1, 0)
    mall.laptop.refresh_from_db()
    assert mall.laptop.reference_price == Decimal("4700.00")


# --- orders from other malls --------------------------------------------------------------------------------

HISTORY_HEADER = ["来源商城", "订单编号", "采购单位", "品目编码", "品目名称", "供应商名称", "成交金额（元）", "下单时间", "订单状态"]


def history_file(*rows) -> bytes:
    return xlsx_bytes([["其他商城订单导出"], HISTORY_HEADER, *rows], merges=["A1:I1"], text_columns=[2])


def test_an_imported_split_purchase_is_flagged_at_once_and_by_the_sweep(mall):
    data = history_file(
        ["政采云", "ZCY-0001", "甲街道", "A0901", "复印纸", "甲办公用品公司", "6,000.00", days_ago(20), "已结算"],
        ["政采云", "ZCY-0002", "T100-A", None, "复印纸", "T100-SX", 6000, days_ago(10), None],
    )
    result = run(mall.world.admin, "mall-orders-history", data)
    assert result.errors == []
    assert counts(result) == {"rows": 2, "valid": 2, "invalid": 0, "created": 2, "updated": 0, "unchanged": 0}
    first, second = Order.objects.filter(source="政采云").order_by("placed_on")
    assert (first.external_no, first.org_unit, first.supplier, first.category, first.total, first.status,
            first.placed_on) == ("ZCY-0001", mall.world.street_a, mall.supplier_x, mall.paper, Decimal("6000.00"),
                                 "settled", days_ago(20))
    assert import_events(first) == ["create"] and import_events(second) == ["create"]
    flag = Flag.objects.get()
    assert (flag.rule, flag.order, flag.org_unit) == ("split", second, mall.world.street_a)
    assert flag.params["sum"] == "12000.00" and flag.params["orders"] == 2 and flag.params["limit"] == "10000.00"
    assert "疑似拆分采购以规避限额" in flag.message
    Flag.objects.all().delete()
    assert services.sweep() == 1
    assert Flag.objects.get().order == second
    again = run(mall.world.admin, "mall-orders-history", data)
    assert counts(again)["unchanged"] == 2


def test_imported_orders_summing_exactly_to_the_limit_are_not_flagged(mall):
    result = run(mall.world.admin, "mall-orders-history", history_file(
        ["政采云", "ZCY-0001", "甲街道", "A0901", None, "甲办公用品公司", 6000, days_ago(20), None],
        ["政采云", "ZCY-0002", "甲街道", "A0901", None, "甲办公用品公司", 4000, days_ago(10), None],
    ))
    assert result.created == 2
    assert not Flag.objects.exists()


def test_a_street_officer_cannot_import_another_streets_orders_and_nothing_is_written(mall):
    own_row = ["政采云", "ZCY-0001", "甲街道", "A0901", None, "甲办公用品公司", 500, days_ago(5), None]
    data = history_file(own_row, ["政采云", "ZCY-0002", "乙街道", "A0901", None, "甲办公用品公司", 500, days_ago(5), None])
    before = (Order.objects.count(), AuditEvent.objects.count())
    result = run(mall.world.officer_a, "mall-orders-history", data)
    assert result.errors == [{"row": 4, "column": "下单单位", "message": "单位「乙街道」不存在或不在您的权限范围内"}]
    assert (result.created, result.written) == (0, False)
    assert (Order.objects.count(), AuditEvent.objects.count()) == before
    own = run(mall.world.officer_a, "mall-orders-history", history_file(own_row))
    assert own.created == 1
    assert import_events(Order.objects.get(external_no="ZCY-0001")) == ["create"]


def test_history_rows_naming_unknown_suppliers_categories_or_statuses_are_refused(mall):
    result = run(mall.world.admin, "mall-orders-history", history_file(
        ["政采云", "ZCY-0003", "甲街道", "A0901", None, "京东自营", 500, days_ago(5), None],
        ["政采云", "ZCY-0004", "甲街道", None, "签字笔", "甲办公用品公司", 500, days_ago(5), None],
        ["政采云", "ZCY-0005", "甲街道", "A0901", None, "甲办公用品公司", 500, days_ago(5), "议价中"],
        ["政采云", "ZCY-0006", "甲街道", "A0901", None, "甲办公用品公司", 500, days_ago(5), "已取消"],
    ), mode="valid")
    assert result.errors == [
        {"row": 3, "column": "供应商", "message": "供应商「京东自营」不在本区的企业名录中，请先在组织机构中登记该企业"},
        {"row": 4, "column": "品目", "message": "品目「签字笔」不存在"},
        {"row": 5, "column": "状态",
         "message": "只能填写：已结算、已验收、已发货、供应商已确认、已取消（填写的是：议价中）"},
    ]
    assert result.created == 1
    assert Order.objects.get(external_no="ZCY-0006").status == "cancelled"


def test_a_corrected_history_row_updates_the_order_with_one_event(mall):
    row = ["京东慧采", "JD-88", "甲街道", "A0201", None, "乙电商公司", 5000, days_ago(40), "已验收"]
    run(mall.world.admin, "mall-orders-history", history_file(row))
    order = Order.objects.get(external_no="JD-88")
    row[6] = "4800"
    result = run(mall.world.admin, "mall-orders-history", history_file(row))
    assert (result.updated, result.created) == (1, 0)
    order.refresh_from_db()
    assert (order.total, order.list_total, order.status, order.savings) == (
        Decimal("4800.00"), Decimal("4800.00"), "accepted", Decimal("0.00"))
    assert import_events(order) == ["create", "update"]


# --- exports ------------------------------------------------------------------------------------------------

def rows_of(response) -> list[list]:
    return sheet_rows(b"".join(response.streaming_content))


def test_the_order_export_has_the_list_pages_rows_for_the_user(mall, client_for):
    mine = mall.order(total="1200.00", days_ago=2)
    mall.order(total="800.00", days_ago=1, status="cancelled")
    mall.order(unit=mall.world.street_b, total="900.00")
    client = client_for(mall.buyer_a)
    page = client.get("/mall/orders/?status=placed")
    assert 'href="/mall/orders/export/?status=placed"' in page.content.decode()
    response = client.get("/mall/orders/export/?status=placed")
    assert response.status_code == 200
    rows = rows_of(response)
    assert rows[0][:3] == ["订单号", "下单日期", "采购单位"]
    assert [(r[0], r[2], r[8], r[10], r[11]) for r in rows[1:]] == [(mine.number, "甲街道", 1200.0, "已下单", "本商城")]
    event = AuditEvent.objects.filter(action="export").latest("id")
    assert (event.object_id, event.changes["rows"], event.changes["filters"]) == ("mall-orders", 1, {"status": "placed"})
    everything = rows_of(client.get("/mall/orders/export/"))
    assert len(everything) == 3  # the header and street A's two orders, not street B's


def test_flags_are_exported_for_supervisors_only(mall, client_for):
    mall.order(total="6000", days_ago=20)
    split = mall.order(total="4500", days_ago=1)
    services.sweep()
    flag = Flag.objects.get()
    rows = rows_of(client_for(mall.world.supervisor).get("/mall/flags/export/"))
    assert [(r[1], r[2], r[5], r[8]) for r in rows[1:]] == [("疑似拆单", "甲街道", split.number, "待核查")]
    assert rows[1][7] == flag.message
    services.flag_review(actor=mall.world.admin, flag=flag, status="closed", note="已核实，属正常分批采购")
    assert len(rows_of(client_for(mall.world.supervisor).get("/mall/flags/export/"))) == 1  # active only, as the page
    assert len(rows_of(client_for(mall.world.supervisor).get("/mall/flags/export/?status="))) == 2  # 全部
    for user in (mall.buyer_a, mall.seller_x, mall.world.officer_a):
        assert client_for(user).get("/mall/flags/export/").status_code == 404
    job = table_job_start(actor=mall.buyer_a, direction="export", kind="mall-flags")
    assert job.summary["rows"] == 0
    assert sheet_rows(job_path(job.result_file).read_bytes()) == [[c.header for c in FLAG_COLUMNS]]


def test_orders_cannot_be_imported_through_their_export_table(mall):
    from govdesk.core.tables.read import TableFileError
    before = (Order.objects.count(), AuditEvent.objects.count())
    with pytest.raises(TableFileError) as refused:
        run(mall.world.admin, "mall-orders", xlsx_bytes([["订单号", "成交金额"], ["CG1", 1]]))
    assert refused.value.message == "「商城订单」只能导出，不能导入：其他商城的历史订单请用「商城历史订单」表导入"
    assert (Order.objects.count(), AuditEvent.objects.count()) == before
