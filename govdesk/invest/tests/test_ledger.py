"""The categorized ledger workbook (分类台账): real xlsx read back with openpyxl — its sheets,
categories with subtotals and a totals row, the reach of the viewer and formula-safe text."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from govdesk.core.models import AuditEvent
from govdesk.invest import services

from .test_services import parcel

pytestmark = pytest.mark.django_db

SHEETS = ["地块-按状态", "地块-按规划用途", "楼宇-按空置率", "项目-按阶段", "项目-按4+1产业"]


def ledger_of(client_for, user):
    response = client_for(user).get(reverse("invest:ledger"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def rows(sheet) -> list[tuple]:
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


def row_labelled(sheet, label: str) -> tuple:
    [row] = [r for r in rows(sheet) if r[0] == label]
    return row


def texts(book) -> set:
    return {value for sheet in book.worksheets for row in rows(sheet) for value in row if isinstance(value, str)}


def building(actor, unit, name, total, vacant):
    return services.building_save(actor=actor, unit=unit, name=name, address=f"{name}路 1 号", total_area=total,
                                  vacant_area=vacant, rent="40", owner="某置业公司")


def test_a_street_officer_gets_only_its_own_carriers_by_category_with_subtotals(desk, client_for):
    w = desk.world
    parcel(w.officer_a, w.street_a)  # 42.50 亩, idle, industrial
    parcel(w.officer_a, w.street_a, name="东区 C-1 地块", area="10.25", use="commercial")
    parcel(w.officer_a, w.street_a, name="北区 D-2 地块", area="7", status="reserved")
    parcel(w.officer_b, w.street_b, name="乙街道 B-9 地块", area="99")
    book = ledger_of(client_for, w.officer_a)
    assert book.sheetnames == SHEETS
    by_status = book["地块-按状态"]
    assert by_status["A1"].value == "闲置地块台账（按状态）"
    assert "范围：甲街道" in by_status["A2"].value and "月份：" in by_status["A2"].value
    assert [c.value for c in by_status[3]][:6] == ["类别", "序号", "报送单位", "地块名称", "位置（四至）", "面积（亩）"]
    assert row_labelled(by_status, "闲置可供 小计")[1:6] == ("2 宗", None, None, None, 52.75)
    assert row_labelled(by_status, "已意向预留 小计")[5] == 7
    assert row_labelled(by_status, "已供地 小计")[1:6] == ("0 宗", None, None, None, 0)
    assert row_labelled(by_status, "合计")[1:6] == ("3 宗", None, None, None, 59.75)
    assert row_labelled(book["地块-按规划用途"], "工业 小计")[5] == 49.5
    assert row_labelled(book["地块-按规划用途"], "商业 小计")[5] == 10.25
    assert "乙街道 B-9 地块" not in texts(book) and "西区 A-3 地块" in texts(book)
    # projects belong to the commerce bureau: a street's ledger lists none of them
    desk.project("远景研发中心", [desk.firm("郑州远景科技有限公司")])
    book = ledger_of(client_for, w.officer_a)
    assert row_labelled(book["项目-按阶段"], "合计")[1] == "0 个"
    assert "远景研发中心" not in texts(book)


def test_the_lead_unit_gets_the_whole_district_and_investment_subtotals(desk, client_for):
    w = desk.world
    parcel(w.officer_a, w.street_a)
    parcel(w.officer_b, w.street_b, name="乙街道 B-9 地块", area="99")
    firm = desk.firm("郑州远景科技有限公司")
    desk.project("远景研发中心", [firm], planned="1000.50")
    moving = desk.project("远景二期", [firm], planned="2000")
    services.project_move(actor=w.dept_officer, project=moving, to_stage="negotiating")
    services.project_create(actor=w.dept_officer, unit=w.department, firms=[firm], name="电商总部",
                            industry=desk.industry("commerce"), planned_investment="300", hq_group=desk.group(),
                            leader="王副区长")
    book = ledger_of(client_for, w.dept_officer)
    assert "范围：测试区（全区）" in book["地块-按状态"]["A2"].value
    assert row_labelled(book["地块-按状态"], "合计")[5] == 141.5
    assert {"西区 A-3 地块", "乙街道 B-9 地块"} <= texts(book)
    stages = book["项目-按阶段"]
    headers = [c.value for c in stages[3]]
    planned, paid = headers.index("计划投资（万元）"), headers.index("实际到位（万元）")
    assert row_labelled(stages, "线索 小计")[1] == "2 个" and row_labelled(stages, "线索 小计")[planned] == 1300.5
    assert row_labelled(stages, "洽谈 小计")[planned] == 2000
    assert row_labelled(stages, "合计")[planned] == 3300.5 and row_labelled(stages, "合计")[paid] == 0
    industry = book["项目-按4+1产业"]
    assert row_labelled(industry, "总部经济 小计")[planned] == 3000.5
    assert row_labelled(industry, "商贸流通 小计")[planned] == 300
    assert row_labelled(industry, "都市型工业 小计")[1] == "0 个"
    [event] = AuditEvent.objects.filter(action="export", object_id="invest-ledger")
    assert event.changes["rows"] == 2 + 2 + 0 + 3 + 3


def test_buildings_fall_into_vacancy_bands_at_their_boundaries(desk, client_for):
    w = desk.world
    building(w.officer_a, w.street_a, "满租大厦", "1000", "0")
    building(w.officer_a, w.street_a, "十成大厦", "1000", "100")  # exactly 10%
    building(w.officer_a, w.street_a, "三成大厦", "1000", "300")  # exactly 30%
    building(w.officer_a, w.street_a, "空楼大厦", "1000", "300.01")
    sheet = ledger_of(client_for, w.officer_a)["楼宇-按空置率"]
    bands = {r[3]: r[0] for r in rows(sheet)[3:] if r[3]}
    assert bands == {"满租大厦": "满租（无空置）", "十成大厦": "空置率 10% 及以下", "三成大厦": "空置率 10%–30%",
                     "空楼大厦": "空置率 30% 以上"}
    headers = [c.value for c in sheet[3]]
    total = row_labelled(sheet, "合计")
    assert (total[headers.index("总面积（㎡）")], total[headers.index("空置面积（㎡）")]) == (4000, 700.01)
    # a subtotal's vacancy is the share of its sums
    assert total[headers.index("空置率")] == pytest.approx(float(Decimal("700.01") / 4000))


def test_text_that_would_be_a_formula_stays_text(desk, client_for):
    w = desk.world
    services.parcel_save(actor=w.officer_a, unit=w.street_a, name="=HYPERLINK(\"http://x\",\"点\")",
                         location="@SUM(1)", area_mu="5", planned_use="industrial", zoning="", status="idle")
    sheet = ledger_of(client_for, w.officer_a)["地块-按状态"]
    [row] = [r for r in sheet.iter_rows(min_row=4) if r[3].value and r[3].value.startswith("=")]
    assert (row[3].value, row[3].data_type, row[3].quotePrefix) == ("=HYPERLINK(\"http://x\",\"点\")", "s", True)
    assert (row[4].value, row[4].quotePrefix) == ("@SUM(1)", True)


def test_the_ledger_is_linked_from_the_carriers_and_projects_pages_and_needs_a_login(desk, client_for):
    w = desk.world
    url = reverse("invest:ledger")
    for page in ("invest:carriers", "invest:projects"):
        assert f'href="{url}"' in client_for(w.officer_a).get(reverse(page)).content.decode()
    from django.test import Client
    assert Client().get(url).status_code == 302
