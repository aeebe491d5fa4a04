"""Coal tables in and out: places and past ledgers imported from the spreadsheets streets
really keep, every ledger exported with its page's filters, and the look-back report."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from govdesk.coal import services
from govdesk.coal.imports import LEDGER, PLACES
from govdesk.coal.models import Inspection, Place, Rectification
from govdesk.core import personal
from govdesk.core.models import AuditEvent
from govdesk.core.tables.export import export_rows
from govdesk.core.tables.run import import_table
from govdesk.core.tables.testing import sheet_rows, xlsx_bytes

from .conftest import CLEAN, COAL, ago

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def events(obj):
    return AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("id")


def errors_of(result) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["message"]) for e in result.errors]


def run(actor, kind, data, mode="all", dry_run=False):
    return import_table(actor=actor, kind=kind, file=data, filename="台账.xlsx", mode=mode, dry_run=dry_run)


def export(actor, schema, filters=None) -> list[list]:
    buffer = io.BytesIO()
    export_rows(actor=actor, kind=schema.kind, title=schema.title, columns=schema.export_columns,
                queryset=schema.export_query(actor, filters or {}), path_or_stream=buffer, filters=filters)
    return sheet_rows(buffer.getvalue())


def download_rows(response) -> list[list]:
    assert response.status_code == 200, response
    assert response["Content-Disposition"].startswith("attachment")
    return sheet_rows(b"".join(response.streaming_content))


# --- places ------------------------------------------------------------------------------------

PLACE_HEADER = ["所属街道", "社区", "场所类型", "场所名称", "详细地址", "负责人", "联系电话", "状态"]


def places_file():
    return xlsx_bytes([
        ["甲街道散煤点位排查表"], PLACE_HEADER,
        ["甲街道", "甲一社区", "散煤销售点", "老张煤店", "甲一社区 8 号", "张三", 13900001111, None],
        ["甲街道", "甲一社区", "餐饮店", "王记烧饼店", "甲一社区 3 号楼", "王五", None, None],
        [None, "甲一社区", "居民", "赵某家", "甲一社区 9 号楼 2 单元", None, "０３７１－６７８９１２３４", "已关停"],
        ["乙街道", "乙一社区", "住户", "钱某家", "乙一社区 1 号", None, None, None],
        ["甲街道", "甲一社区", "煤矿", "孙某煤矿", "甲一社区 10 号", None, None, None],
        ["甲街道", "甲一社区", "商店", "周记小卖部", "甲一社区 11 号", None, None, "整改中"],
    ], merges=["A1:H1"], text_columns=[7])


PLACE_ERRORS = [
    (6, "街道", "单位「乙街道」不存在或不在您的权限范围内"),
    (6, "社区", "单位「乙一社区」不存在或不在您的权限范围内"),
    (7, "类型", "只能填写：售煤点、餐饮店、商店、摊点、住户、散煤销售点、销售点、售煤户、餐饮、饭店、餐馆、商户等（填写的是：煤矿）"),
    (8, "状态", "新点位不能直接设为“整改中”：请导入含整改期限的检查台账，整改会随之建立"),
]


def test_an_all_or_nothing_place_import_with_bad_rows_writes_nothing(world, coal):
    before_events = AuditEvent.objects.count()
    result = run(world.officer_a, "coal-places", places_file())
    # the engine's own checks refuse rows 6 and 7, so the service is not asked about row 8
    assert (result.rows, result.valid, result.invalid) == (6, 4, 2)
    assert (result.created, result.updated, result.unchanged, result.written) == (0, 0, 0, False)
    assert errors_of(result) == PLACE_ERRORS[:3]
    assert Place.objects.count() == 2
    assert Place.objects.get(pk=coal.place_a.pk).contact_name == "王先生"
    assert AuditEvent.objects.count() == before_events


def test_a_place_import_creates_and_updates_by_community_name_and_address_then_changes_nothing(world, coal):
    result = run(world.officer_a, "coal-places", places_file(), mode="valid")
    assert (result.created, result.updated, result.unchanged, result.invalid) == (2, 1, 0, 3)
    assert errors_of(result) == PLACE_ERRORS

    shop = Place.objects.get(name="老张煤店")
    assert (shop.kind, shop.street, shop.community, shop.status) == ("sales_point", world.street_a,
                                                                     world.community_a, "clean")
    assert personal.decrypt(shop.contact_phone_enc) == "13900001111" and shop.contact_phone_masked == "139****1111"
    home = Place.objects.get(name="赵某家")
    assert (home.kind, home.status, personal.decrypt(home.contact_phone_enc)) == ("household", "closed_down",
                                                                                 "0371-67891234")
    updated = Place.objects.get(pk=coal.place_a.pk)
    assert updated.contact_name == "王五"
    assert personal.decrypt(updated.contact_phone_enc) == "13812345678"  # a blank cell keeps the number
    for place in (shop, home):
        assert list(events(place).values_list("action", flat=True)) == ["create"]
    assert list(events(updated).values_list("action", "changes")) == [
        ("create", events(updated).first().changes), ("update", {"contact_name": ["王先生", "王五"]})]

    again = run(world.officer_a, "coal-places", places_file(), mode="valid")
    assert (again.created, again.updated, again.unchanged, again.invalid) == (0, 0, 3, 3)
    assert Place.objects.count() == 4
    assert AuditEvent.objects.filter(object_type="coal.place", action__in=["create", "update"]).count() == 5


def test_the_office_and_another_street_cannot_import_places_into_street_a(world, coal):
    data = xlsx_bytes([["社区", "类型", "名称", "地址"], ["甲一社区", "住户", "吴某家", "甲一社区 12 号"]])
    for actor in (world.officer_b, coal.office.officer, world.supervisor):
        result = run(actor, "coal-places", data, mode="valid")
        assert errors_of(result) == [(2, "社区", "单位「甲一社区」不存在或不在您的权限范围内")]
    assert not Place.objects.filter(name="吴某家").exists()


def test_exported_places_are_masked_and_import_back_unchanged(world, coal):
    services.place_create(actor=world.officer_a, community=world.community_a, name="老李家", kind="household",
                          address="甲一社区 6 号", contact_phone="13700002222")
    rows = export(world.officer_a, PLACES)
    assert rows[0] == ["街道", "社区", "类型", "名称", "地址", "联系人", "联系电话", "状态"]
    assert rows[1:] == [
        ["甲街道", "甲一社区", "餐饮店", "王记烧饼店", "甲一社区 3 号楼", "王先生", "138****5678", "未发现问题"],
        ["甲街道", "甲一社区", "住户", "老李家", "甲一社区 6 号", "", "137****2222", "未发现问题"],
    ]
    result = run(world.officer_a, "coal-places", xlsx_bytes(rows))
    assert (result.unchanged, result.created, result.updated, result.errors) == (2, 0, 0, [])
    masked_elsewhere = xlsx_bytes([rows[0], ["甲街道", "甲一社区", "住户", "新户", "甲一社区 7 号", "", "137****2222",
                                             ""]])
    assert errors_of(run(world.officer_a, "coal-places", masked_elsewhere)) == [
        (2, "联系电话", "联系电话不完整（导出的表格隐去了号码中间四位），请填写完整号码")]


# --- the ledger ----------------------------------------------------------------------------------

LEDGER_HEADER = ["排查日期", "社区", "场所名称", "检查人员", "有无散煤", "煤炭种类", "数量(公斤)", "来源", "存放地点",
                 "处理措施", "整改时限", "备注"]


def days_ago(n):
    return TODAY() - timedelta(days=n)


def ledger_file(quantity=50):
    d1, d2 = days_ago(60), days_ago(30)
    return xlsx_bytes([
        ["甲街道散煤排查台账（2025 年冬季）"], LEDGER_HEADER,
        [d1, "甲一社区", "王记烧饼店", "张某", "是", "原煤", quantity, "流动商贩", "后厨", "宣传教育、收缴", None, None],
        [f"{d2.year}年{d2.month}月{d2.day}日", "甲一社区", "王记烧饼店", "张某", "有", "蜂窝煤", "２０", "流动商贩",
         "院内", "责令限期整改", days_ago(-10), "已告知"],
        [d2, "乙一社区", "李某某家", "张某", "否", None, None, None, None, "无", None, None],
        [d1, "甲一社区", "王记烧饼店 ", "李某", "否", "原煤", None, None, None, "宣传教育", None, None],
        [d2, "甲一社区", "不存在的店", "李某", "否", None, None, None, None, "宣传教育", None, None],
        [days_ago(5), "甲一社区", "王记烧饼店", "李某", "否", None, None, None, None, "批评", None, None],
    ], merges=["A1:L1"])


LEDGER_ERRORS = [
    (5, "社区", "单位「乙一社区」不存在或不在您的权限范围内"),
    (6, "是否发现散煤", "未发现散煤时不能填写煤炭种类、数量、收缴或整改"),
    (7, "场所", "「甲一社区」没有名为「不存在的店」的点位，请先导入点位"),
    (8, "处置措施", "无法识别处置措施「批评」：请填写宣传教育、收缴、限期整改、移交执法（可填多项）或“无”"),
]


def test_an_all_or_nothing_ledger_import_with_bad_rows_writes_nothing(world, coal):
    result = run(world.officer_a, "coal-ledger", ledger_file())
    # the engine's own checks refuse rows 5 and 8; the service is not asked about the others
    assert (result.rows, result.invalid, result.created, result.written) == (6, 2, 0, False)
    assert errors_of(result) == [LEDGER_ERRORS[0], LEDGER_ERRORS[3]]
    assert not Inspection.objects.exists() and not Rectification.objects.exists()
    assert Place.objects.get(pk=coal.place_a.pk).status == "clean"


def test_a_ledger_import_files_closed_past_inspections_with_their_consequences(world, coal):
    result = run(world.officer_a, "coal-ledger", ledger_file(), mode="valid")
    assert (result.created, result.unchanged, result.invalid) == (2, 0, 4)
    assert errors_of(result) == LEDGER_ERRORS

    first, second = Inspection.objects.order_by("inspected_at")
    assert timezone.localdate(first.inspected_at) == days_ago(60)
    assert (first.coal_present, first.coal_kind, first.quantity_kg, first.storage) == (True, "raw", 50, "后厨")
    assert (first.educated, first.seized, first.seized_kg, first.rectification_ordered) == (True, True, 50, False)
    assert (second.coal_kind, second.quantity_kg, second.rectification_deadline, second.note) == (
        "briquette", 20, days_ago(-10), "已告知")
    for inspection in (first, second):
        assert (inspection.state, inspection.imported, inspection.inspector_name) == ("closed", True, "张某")
        assert list(events(inspection).values_list("action", flat=True)) == ["import"]
    [rect] = Rectification.objects.all()
    assert (rect.place, rect.opened_by, rect.deadline, rect.status) == (coal.place_a, second, days_ago(-10), "open")
    assert Place.objects.get(pk=coal.place_a.pk).status == "rectifying"

    again = run(world.officer_a, "coal-ledger", ledger_file(), mode="valid")
    assert (again.created, again.unchanged, again.invalid) == (0, 2, 4)
    assert Inspection.objects.count() == 2 and Rectification.objects.count() == 1


def test_a_ledger_row_that_contradicts_a_closed_inspection_is_refused(world, coal):
    run(world.officer_a, "coal-ledger", ledger_file(), mode="valid")
    result = run(world.officer_a, "coal-ledger", ledger_file(quantity=80), mode="valid")
    assert (result.created, result.unchanged) == (0, 1)
    assert errors_of(result)[0] == (
        3, "检查日期", f"「王记烧饼店」{days_ago(60)} 已有检查记录，内容与本行不同；已办结的检查记录只能在系统中提交更正")
    assert Inspection.objects.get(inspected_at__date__lte=days_ago(59)).quantity_kg == 50


def test_the_exported_ledger_shows_only_the_visible_rows_and_imports_back_unchanged(world, coal):
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(), findings=COAL)
    services.inspection_record(actor=world.officer_b, place=coal.place_b, inspected_at=ago(), findings=CLEAN)
    rows = export(world.officer_a, LEDGER)
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert {k: record[k] for k in ("街道", "场所", "是否发现散煤", "煤种", "数量（公斤）", "处置措施", "记录来源")} == {
        "街道": "甲街道", "场所": "王记烧饼店", "是否发现散煤": "是", "煤种": "原煤", "数量（公斤）": 50.0,
        "处置措施": "宣传教育", "记录来源": "系统录入"}
    assert len(export(coal.office.officer, LEDGER)) == 3
    assert [r[1] for r in export(coal.office.officer, LEDGER, {"street": str(world.street_b.pk)})[1:]] == ["乙街道"]
    result = run(world.officer_a, "coal-ledger", xlsx_bytes(rows))
    assert (result.unchanged, result.created, result.errors) == (1, 0, [])


# --- list pages and the look-back report ------------------------------------------------------------

def test_the_export_buttons_download_each_list_page_with_its_filters(world, coal, client_for):
    services.place_create(actor=world.officer_a, community=world.community_a, name="老张煤店", kind="sales_point",
                          address="甲一社区 8 号")
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(),
                               findings={**COAL, "rectification_ordered": True,
                                         "rectification_deadline": TODAY() + timedelta(days=10)})
    office = client_for(coal.office.officer)
    page = office.get(reverse("coal:places"), {"kind": "sales_point", "cursor": "x"})
    assert 'href="?kind=sales_point&amp;export=xlsx"' in page.content.decode()
    rows = download_rows(office.get(reverse("coal:places"), {"kind": "sales_point", "export": "xlsx"}))
    assert [r[3] for r in rows[1:]] == ["老张煤店"]
    rows = download_rows(office.get(reverse("coal:places"), {"export": "xlsx"}))
    assert sorted(r[3] for r in rows[1:]) == ["李某某家", "王记烧饼店", "老张煤店"]
    assert "导出 Excel" in office.get(reverse("coal:rectifications")).content.decode()
    rows = download_rows(office.get(reverse("coal:rectifications"), {"state": "open", "export": "xlsx"}))
    assert rows[0][:3] == ["街道", "社区", "场所"] and [r[2] for r in rows[1:]] == ["王记烧饼店"]
    assert len(download_rows(office.get(reverse("coal:rectifications"), {"state": "closed", "export": "xlsx"}))) == 1
    rows = download_rows(client_for(world.officer_b).get(reverse("coal:inspections"), {"export": "xlsx"}))
    assert len(rows) == 1  # street B sees none of street A's inspections
    assert AuditEvent.objects.filter(action="export").count() == 5


def test_the_campaign_report_is_the_fixed_sheet_per_street_with_totals(world, coal, client_for):
    for place, officer in ((coal.place_a, world.officer_a), (coal.place_b, world.officer_b)):
        services.inspection_record(actor=officer, place=place, inspected_at=ago(days=2), findings=COAL)
    campaign = services.campaign_launch(actor=coal.office.officer, district=world.district, title="冬季回头看",
                                        period_start=TODAY(), period_end=TODAY() + timedelta(days=14),
                                        mode="problems", cutoff=TODAY() - timedelta(days=30))
    task_a = campaign.tasks.get(place=coal.place_a)
    services.task_record(actor=world.officer_a, task=task_a, inspected_at=ago(),
                         findings={**COAL, "quantity_kg": "30", "seized": True, "seized_kg": "30"})
    office = client_for(coal.office.officer)
    assert "导出 Excel（上报统计表）" in office.get(reverse("coal:campaign", args=[campaign.pk])).content.decode()
    rows = download_rows(office.get(reverse("coal:campaign_report", args=[campaign.pk])))
    assert rows[0][0] == "散煤治理回头看工作情况统计表（冬季回头看）"
    assert rows[1][0] == "填报单位：测试区散煤治理办公室"
    assert rows[3][:6] == ["序号", "街道", "复查点位数", "已复查", "未复查", "完成率"]
    assert rows[3][6] == "复查结果对比" and rows[3][10] == "处置情况" and rows[3][13] == "备注"
    assert rows[4][6:13] == ["仍有散煤", "已清零", "新发现问题", "保持清零", "收缴散煤（公斤）", "下达整改", "移交执法"]
    assert rows[5][:13] == [1, "甲街道", 1, 1, 0, 1.0, 1, 0, 0, 0, 30.0, 0, 0]
    assert rows[6][:13] == [2, "乙街道", 1, 0, 1, 0.0, 0, 0, 0, 0, 0.0, 0, 0]
    assert rows[7][:13] == ["合计", "", 2, 1, 1, 0.5, 1, 0, 0, 0, 30.0, 0, 0]
    street_b = download_rows(client_for(world.officer_b).get(reverse("coal:campaign_report", args=[campaign.pk])))
    assert street_b[5][1] == "乙街道" and street_b[6][0] == "合计"
    [event] = AuditEvent.objects.filter(action="export", actor_id=coal.office.officer.pk)
    assert event.changes["kind"] == "coal-campaign-report" and event.changes["rows"] == 2
    tasks = download_rows(office.get(reverse("coal:campaign", args=[campaign.pk]),
                                     {"status": "done", "export": "xlsx"}))
    assert [(r[3], r[14]) for r in tasks[1:]] == [("王记烧饼店", "仍有散煤")]
    assert client_for(world.dept_officer).get(reverse("coal:campaign_report", args=[campaign.pk])).status_code == 404
