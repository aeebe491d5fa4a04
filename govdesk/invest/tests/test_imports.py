"""Investment promotion's tables: real xlsx files in the headers people write, through the core engine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from govdesk.core.models import AuditEvent, PeriodicReport
from govdesk.core.tables.run import import_table
from govdesk.core.tables.testing import sheet_rows, xlsx_bytes
from govdesk.invest import queries, services
from govdesk.invest.models import Activity, Appeal, Building, Contact, Firm, FirmTier, Parcel, Project

from .conftest import credit_code

pytestmark = pytest.mark.django_db
TODAY = date.today()
THIS_MONTH = TODAY.replace(day=1)
LAST_MONTH = queries.previous_month(THIS_MONTH)


def counts(result) -> dict:
    data = result.to_dict()
    return {k: data[k] for k in ("rows", "valid", "invalid", "created", "updated", "unchanged")}


def events_of(obj) -> list[str]:
    return list(AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
                .order_by("id").values_list("action", flat=True))


def snapshot() -> tuple:
    return (Firm.objects.count(), FirmTier.objects.count(), Contact.objects.count(), AuditEvent.objects.count())


# --- firms ---------------------------------------------------------------------------------------------------

FIRM_HEADER = ["序号", "企业名称", "统一社会信用代码", "行业", "来源地区", "所在城市", "梯队", "联系人", "联系电话",
               "推荐企业"]


def firm_sheet(*rows) -> bytes:
    # The bureau's own sheet: a merged title row, a 序号 column nobody imports, codes as text.
    return xlsx_bytes([["2026年重点招商企业名录"], FIRM_HEADER, *rows], merges=["A1:J1"], text_columns=[3, 9])


ROWS = [
    [1, "上海云帆科技股份有限公司", credit_code(1), "研发设计", "长三角", "上海", "世界500强(2024)、中国民营500强：2023",
     "张经理", "13812345678", None],
    [2, "深圳蓝海贸易有限公司", None, "商贸流通", "珠三角", "深圳", None, None, None, "上海云帆科技股份有限公司"],
    [3, "北京北辰总部管理有限公司", credit_code(3), "总部经济", "环渤海", "北京", "行业龙头 2022", None, None, None],
]


def test_firms_import_creates_the_library_with_tiers_contacts_and_referrals(desk):
    world = desk.world
    result = import_table(actor=world.dept_officer, kind="invest-firms", file=firm_sheet(*ROWS), filename="名录.xlsx")
    assert result.errors == []
    assert counts(result) == {"rows": 3, "valid": 3, "invalid": 0, "created": 3, "updated": 0, "unchanged": 0}
    yunfan = Firm.objects.get(credit_code=credit_code(1))
    assert yunfan.org_unit == world.department  # the lead unit, as the sheet names none
    assert sorted(yunfan.tiers.values_list("tier__code", "year")) == [("china-private-500", 2023),
                                                                        ("fortune-global-500", 2024)]
    contact = yunfan.contacts.get()
    assert (contact.name, contact.phone_masked) == ("张经理", "138****5678")
    assert Firm.objects.get(name="深圳蓝海贸易有限公司").referred_by == yunfan
    assert Firm.objects.get(credit_code=credit_code(3)).tiers.get().year == 2022
    for firm in Firm.objects.all():
        assert events_of(firm) == ["create"]


def test_a_second_run_of_the_same_firm_sheet_is_all_unchanged(desk):
    world = desk.world
    import_table(actor=world.dept_officer, kind="invest-firms", file=firm_sheet(*ROWS))
    before = snapshot()
    again = import_table(actor=world.dept_officer, kind="invest-firms", file=firm_sheet(*ROWS))
    assert counts(again) == {"rows": 3, "valid": 3, "invalid": 0, "created": 0, "updated": 0, "unchanged": 3}
    assert snapshot() == before


def test_firms_already_in_the_library_are_found_by_credit_code_then_by_normalised_name(desk):
    world = desk.world
    coded = desk.firm("河南中原实业有限公司", code=credit_code(7))
    named = desk.firm("郑州（中原）智造有限公司")
    other = desk.firm("洛阳洛钼贸易有限公司", code=credit_code(8))
    fibre = desk.firm("新乡化纤有限公司", code=credit_code(11))
    steel = desk.firm("安阳钢铁贸易有限公司")
    data = firm_sheet(
        [1, "河南中原实业集团有限公司", credit_code(7), None, None, None, None, None, None, None],  # renamed, same code
        [2, "郑州中原智造股份有限公司", credit_code(9), None, None, "郑州", None, None, None, None],  # same firm, code added
        [3, "洛阳洛钼贸易公司", credit_code(10), "商贸流通", "其他", None, None, None, None, None],  # name of another code
        [4, "安阳钢铁贸易有限公司", credit_code(11), "商贸流通", "其他", None, None, None, None, None],  # code and name disagree
        [5, "开封新材料有限公司", None, "新材料", "其他", None, None, None, None, None],
        [6, "开封新材料公司", None, "新材料", "其他", None, None, None, None, None],  # the row above again
    )
    before = Firm.objects.count()
    result = import_table(actor=world.dept_officer, kind="invest-firms", file=data, mode="valid")
    assert counts(result) == {"rows": 6, "valid": 3, "invalid": 3, "created": 1, "updated": 2, "unchanged": 0}
    assert result.errors == [
        {"row": 5, "column": "统一社会信用代码",
         "message": f"企业名称与企业库中的「洛阳洛钼贸易有限公司」（编号 {other.pk}）重复，但统一社会信用代码不同"
                    f"（库中为 {credit_code(8)}），请核对"},
        {"row": 6, "column": "统一社会信用代码",
         "message": f"统一社会信用代码是企业库中「新乡化纤有限公司」（编号 {fibre.pk}）的，企业名称却与"
                    f"「安阳钢铁贸易有限公司」（编号 {steel.pk}）重复，请核对"},
        {"row": 8, "column": "企业名称", "message": "与第 7 行是同一家企业（统一社会信用代码或名称相同）"},
    ]
    assert Firm.objects.count() == before + 1
    coded.refresh_from_db()
    named.refresh_from_db()
    assert coded.name == "河南中原实业集团有限公司"
    assert (named.credit_code, named.city) == (credit_code(9), "郑州")
    assert events_of(coded) == ["create", "update"]
    assert events_of(named) == ["create", "update"]


def test_one_bad_firm_row_leaves_the_library_as_it_was(desk):
    world = desk.world
    before = snapshot()
    bad = [4, "武汉光谷芯片有限公司", "91420100MA4K0000X1", "新一代信息技术", "其他", None, "世界500强", None, "1234",
           None]
    result = import_table(actor=world.dept_officer, kind="invest-firms", file=firm_sheet(*ROWS, bad))
    assert counts(result) == {"rows": 4, "valid": 3, "invalid": 1, "created": 0, "updated": 0, "unchanged": 0}
    assert [(e["row"], e["column"]) for e in result.errors] == [(6, "统一社会信用代码"), (6, "联系电话")]
    assert not result.written
    assert snapshot() == before
    tiers_only = [4, "武汉光谷芯片有限公司", None, "新一代信息技术", "其他", None, "世界500强", None, None, None]
    result = import_table(actor=world.dept_officer, kind="invest-firms", file=firm_sheet(*ROWS, tiers_only))
    assert result.errors == [{"row": 6, "column": "榜单",
                              "message": "请写明「世界 500 强」的上榜年份，如 世界500强(2024)"}]
    assert snapshot() == before


def test_a_firm_of_another_unit_is_refused_not_updated(desk):
    world = desk.world
    from govdesk.core.reach import Role

    other_officer = world.person("finance_officer", Role.DEPARTMENT_OFFICER, desk.finance)
    firm = desk.firm("上海云帆科技股份有限公司", code=credit_code(1))
    unit_col = xlsx_bytes([["企业名称", "统一社会信用代码", "所在城市", "所属单位"],
                           ["上海云帆科技股份有限公司", credit_code(1), "上海", "财政局"]], text_columns=[2])
    result = import_table(actor=other_officer, kind="invest-firms", file=unit_col)
    assert result.errors == [{"row": 2, "column": "企业名称",
                              "message": f"企业库中已有该企业「上海云帆科技股份有限公司」（编号 {firm.pk}），"
                                         "但不在您的修改权限内，请联系其所属单位"}]


def test_the_firm_export_masks_phones_and_holds_exactly_the_visible_firms(desk, tmp_path):
    from govdesk.core.tables.export import export_rows
    from govdesk.invest.imports import FIRMS

    world = desk.world
    import_table(actor=world.dept_officer, kind="invest-firms", file=firm_sheet(*ROWS))
    yunfan = Firm.objects.get(credit_code=credit_code(1))
    services.firm_update(actor=world.dept_officer, firm=yunfan, name=yunfan.name, industry=yunfan.industry,
                         region=yunfan.region, credit_code=yunfan.credit_code, city="上海", squad=desk.yrd)
    # A squad member sees only the squad's firms.
    out = tmp_path / "firms.xlsx"
    assert export_rows(actor=desk.member, kind="invest-firms", title=FIRMS.title, columns=FIRMS.export_columns,
                       queryset=FIRMS.export_query(desk.member, {}), path_or_stream=out) == 1
    rows = sheet_rows(out.read_bytes())
    assert rows[0][:3] == ["企业名称", "统一社会信用代码", "产业"]
    assert rows[1][0] == "上海云帆科技股份有限公司"
    assert rows[1][10] == "138****5678"
    assert "13812345678" not in str(rows)
    # The bureau sees all three; the list page's filter narrows the export the same way.
    assert FIRMS.export_query(world.dept_officer, {}).count() == 3
    assert [f.name for f in FIRMS.export_query(world.dept_officer, {"region": "prd"})] == ["深圳蓝海贸易有限公司"]
    assert FIRMS.export_query(world.officer_a, {}).count() == 0


# --- projects ---------------------------------------------------------------------------------------------------

PROJECT_HEADER = ["项目名称", "投资企业", "行业", "项目阶段", "计划投资（万元）", "实际到位", "载体需求", "需求面积",
                  "需求用途", "工作组", "责任领导"]


def test_projects_import_creates_leads_and_refuses_stage_moves(desk):
    world = desk.world
    firm = desk.firm("上海云帆科技股份有限公司", code=credit_code(1))
    data = xlsx_bytes([PROJECT_HEADER,
                       ["云帆研发中心", credit_code(1), "研发设计", "线索", "5000", None, "楼宇", 2000, "商务办公",
                        "招商组", "王副区长"],
                       ["云帆总部", "上海云帆科技有限公司", "总部经济", "签约", 8000, None, None, None, None, "招商组",
                        "李副区长"],
                       ["无名项目", "不存在的公司", "总部经济", None, 100, None, None, None, None, "招商组", "李副区长"]])
    result = import_table(actor=world.dept_officer, kind="invest-projects", file=data, mode="valid")
    assert counts(result) == {"rows": 3, "valid": 1, "invalid": 2, "created": 1, "updated": 0, "unchanged": 0}
    assert result.errors == [
        {"row": 3, "column": "阶段",
         "message": "项目阶段请在项目页面推进（签约须上传投资协议，注册落地须上传营业执照）；导入不改变阶段"},
        {"row": 4, "column": "投资企业", "message": "企业库中没有「不存在的公司」，请先录入或导入该企业"},
    ]
    project = Project.objects.get(name="云帆研发中心")
    assert (project.stage, project.need, project.need_area, project.need_use) == ("lead", "building",
                                                                                 Decimal("2000.00"), "office")
    assert list(project.firms.all()) == [firm]
    assert events_of(project) == ["create"]
    # The same row again is unchanged; a corrected amount is an update, audited once.
    first = xlsx_bytes([PROJECT_HEADER, ["云帆研发中心", credit_code(1), "研发设计", "线索", "5000", None, "楼宇", 2000,
                                         "商务办公", "招商组", "王副区长"]])
    assert counts(import_table(actor=world.dept_officer, kind="invest-projects", file=first))["unchanged"] == 1
    corrected = xlsx_bytes([PROJECT_HEADER, ["云帆研发中心", None, None, None, "6000", "300", None, None, None, None,
                                             None]])
    assert counts(import_table(actor=world.dept_officer, kind="invest-projects", file=corrected))["updated"] == 1
    project.refresh_from_db()
    assert (project.planned_investment, project.paid_in, project.leader) == (Decimal("6000.00"), Decimal("300.00"),
                                                                            "王副区长")
    assert events_of(project) == ["create", "update"]


# --- carriers: the street's own sheet fills in the monthly report -----------------------------------------------

PARCEL_HEADER = ["序号", "地块名称", "位置", "面积（亩）", "土地用途", "控规指标", "供地状态", "拟招商方向", "填报月份"]


def parcel_sheet(*rows, month=THIS_MONTH) -> bytes:
    title = f"甲街道闲置地块统计表（{month:%Y年%m月}）"
    return xlsx_bytes([[title], PARCEL_HEADER, *[[*r, f"{month.year}年{month.month}月"] for r in rows]],
                      merges=["A1:I1"])


def test_a_street_officers_parcel_sheet_files_the_months_report_with_its_diff(desk):
    world = desk.world
    old = services.parcel_save(actor=world.officer_a, unit=world.street_a, name="建设路北地块", location="建设路北侧",
                               area_mu="30", planned_use="industrial", zoning="容积率≤2.0", status="idle")
    services.carrier_report_submit(actor=world.officer_a, unit=world.street_a, month=LAST_MONTH)
    data = parcel_sheet([1, "建设路北地块", "建设路北侧", "28.5", "工业用地", "容积率≤2.0", "闲置", "智能制造"],
                        [2, "桐柏路西地块", "桐柏路与陇海路交叉口西", 12, "商业", None, None, "商贸"])
    result = import_table(actor=world.officer_a, kind="invest-parcels", file=data, filename="甲街道5月地块.xlsx")
    assert result.errors == []
    assert counts(result) == {"rows": 2, "valid": 2, "invalid": 0, "created": 1, "updated": 1, "unchanged": 0}
    old.refresh_from_db()
    assert (old.area_mu, old.direction) == (Decimal("28.50"), "智能制造")
    new = Parcel.objects.get(name="桐柏路西地块")
    assert (new.org_unit, new.planned_use, new.status) == (world.street_a, "commercial", "idle")
    assert events_of(old) == ["create", "update"]
    assert events_of(new) == ["create"]
    report = PeriodicReport.objects.get(org_unit=world.street_a, period_start=THIS_MONTH)
    assert report.submitted_by == world.officer_a
    assert sorted(p["name"] for p in report.data["parcels"]) == ["建设路北地块", "桐柏路西地块"]
    diff = queries.report_diff(world.officer_a, world.street_a, THIS_MONTH)
    assert [p["name"] for p in diff["parcels"]["added"]] == ["桐柏路西地块"]
    assert diff["parcels"]["changed"] == [{
        "id": old.pk, "name": "建设路北地块",
        "changes": {"area_mu": ["30.00", "28.50"], "direction": ["", "智能制造"]},
        "described": [("面积（亩）", "30.00", "28.50"), ("招商方向", "", "智能制造")]}]
    # Uploading the same sheet again changes nothing and files nothing new.
    events = AuditEvent.objects.count()
    again = import_table(actor=world.officer_a, kind="invest-parcels", file=data)
    assert counts(again)["unchanged"] == 2
    assert AuditEvent.objects.count() == events
    # The street has reported this month: the bureau no longer lists it as missing.
    missing = [unit for unit, r in queries.report_completeness(world.dept_officer, THIS_MONTH) if r is None]
    assert world.street_a not in missing and world.street_b in missing


def test_a_row_naming_another_street_is_refused_and_nothing_is_written(desk):
    world = desk.world
    data = xlsx_bytes([["街道", "地块名称", "位置", "面积（亩）", "用途"],
                       ["甲街道", "甲地块", "甲路", 10, "工业"],
                       ["乙街道", "乙地块", "乙路", 20, "工业"]])
    result = import_table(actor=world.officer_a, kind="invest-parcels", file=data)
    assert result.errors == [{"row": 3, "column": "报送单位", "message": "单位「乙街道」不存在或不在您的权限范围内"}]
    assert counts(result)["created"] == 0
    assert Parcel.objects.count() == 0
    assert PeriodicReport.objects.count() == 0


def test_building_rows_are_checked_by_the_building_rules(desk):
    world = desk.world
    data = xlsx_bytes([["楼宇名称", "地址", "总建筑面积", "空置面积", "租金", "业主单位", "入驻企业", "月份"],
                       ["中原万达写字楼", "中原路 1 号", "52000", "8000", "45", "万达集团", "某银行、某律所", "2026.1"],
                       ["建设路大厦", "建设路 9 号", 10000, 12000, 30, "建设集团", None, None],
                       ["未来大厦", "未来路", 100, 0, 30, "未来集团", None, "2999年1月"]])
    result = import_table(actor=world.officer_a, kind="invest-buildings", file=data, mode="valid")
    assert result.errors == [{"row": 3, "column": "空置面积（㎡）", "message": "空置面积不能大于总面积"},
                             {"row": 4, "column": "报送月份", "message": "不能报送未来月份"}]
    assert counts(result)["created"] == 1
    building = Building.objects.get()
    assert (building.org_unit, building.vacant_area, building.rent) == (world.street_a, Decimal("8000.00"),
                                                                       Decimal("45.00"))
    assert PeriodicReport.objects.get().period_start == date(2026, 1, 1)


def test_carrier_exports_follow_the_list_filters_and_the_reporters_reach(desk):
    from govdesk.invest.imports import PARCELS

    world = desk.world
    services.parcel_save(actor=world.officer_a, unit=world.street_a, name="甲地块", location="甲路", area_mu="10",
                         planned_use="industrial", zoning="", status="idle")
    officer_b = world.person("officer_b2", "street_officer", world.street_b)
    services.parcel_save(actor=officer_b, unit=world.street_b, name="乙地块", location="乙路", area_mu="20",
                         planned_use="commercial", zoning="", status="reserved")
    assert [p.name for p in PARCELS.export_query(world.officer_a, {})] == ["甲地块"]
    assert [p.name for p in PARCELS.export_query(world.dept_officer, {})] == ["甲地块", "乙地块"]
    assert [p.name for p in PARCELS.export_query(world.dept_officer, {"status": "reserved"})] == ["乙地块"]


# --- activities and appeals -------------------------------------------------------------------------------------

def test_activities_and_appeals_import_once_and_then_are_unchanged(desk):
    world = desk.world
    firm = desk.firm("上海云帆科技股份有限公司", code=credit_code(1), squad=desk.yrd)
    activities = xlsx_bytes([["企业", "活动类型", "日期", "参与人员", "地点", "主要内容"],
                             ["上海云帆科技股份有限公司", "走访", "2026年3月5日", "王局长、李科长", "上海", "洽谈研发中心落地"],
                             [credit_code(1), "邀请函", "2026.3.9", "李科长", None, "邀请参加投洽会"]])
    result = import_table(actor=world.dept_officer, kind="invest-activities", file=activities)
    assert result.errors == []
    assert counts(result)["created"] == 2
    visit = Activity.objects.get(kind="visit")
    assert (visit.firm, visit.squad, visit.happened_on) == (firm, desk.yrd, date(2026, 3, 5))
    assert events_of(visit) == ["create"]
    assert counts(import_table(actor=world.dept_officer, kind="invest-activities", file=activities))["unchanged"] == 2

    appeals = xlsx_bytes([["企业名称", "类别", "诉求事项", "诉求内容", "紧急程度", "工作组", "受理日期"],
                          ["上海云帆科技股份有限公司", "用地", "研发用地指标", "需要 20 亩研发用地", "紧急", "土地规划组",
                           "2026-03-10"]])
    result = import_table(actor=world.dept_officer, kind="invest-appeals", file=appeals)
    assert result.errors == []
    appeal = Appeal.objects.get()
    assert (appeal.urgency, appeal.handler, appeal.due_on) == ("urgent", world.dept_officer, date(2026, 3, 17))
    assert events_of(appeal) == ["create"]
    assert counts(import_table(actor=world.dept_officer, kind="invest-appeals", file=appeals))["unchanged"] == 1


# --- the list pages' buttons ---------------------------------------------------------------------------------

def test_list_pages_export_their_rows_as_excel(desk, client_for):
    world = desk.world
    desk.firm("上海云帆科技股份有限公司", code=credit_code(1), region="yrd")
    desk.firm("深圳蓝海贸易有限公司", region="prd")
    client = client_for(world.dept_officer)
    page = client.get("/invest/firms/")
    assert "导出 Excel" in page.content.decode()
    response = client.get("/invest/firms/?region=prd&export=xlsx")
    assert response.status_code == 200
    rows = sheet_rows(b"".join(response.streaming_content))
    assert [r[0] for r in rows[1:]] == ["深圳蓝海贸易有限公司"]
    event = AuditEvent.objects.filter(action="export").latest("id")
    assert event.changes["filters"] == {"region": "prd"}
    for url in ("/invest/projects/?export=xlsx", "/invest/appeals/?status=all&export=xlsx",
                "/invest/carriers/?export=xlsx", "/invest/carriers/?kind=buildings&export=xlsx",
                f"/invest/squads/{desk.yrd.pk}/?export=xlsx"):
        assert client.get(url).status_code == 200, url


def test_a_street_officer_finds_the_sheet_upload_on_the_carrier_pages(desk, client_for):
    client = client_for(desk.world.officer_a)
    for url, link in (("/invest/carriers/", "/tables/invest-parcels/import/"),
                      ("/invest/carriers/?kind=buildings", "/tables/invest-buildings/import/"),
                      ("/invest/carriers/reports/", "/tables/invest-buildings/import/")):
        page = client.get(url)
        assert page.status_code == 200
        assert link in page.content.decode(), url
    assert "导出 Excel" in client_for(desk.world.dept_officer).get("/invest/appeals/").content.decode()
