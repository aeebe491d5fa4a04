"""The veterans tables: registry, base numbers and collection points in; registry and progress out."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from django.urls import reverse

from govdesk.core.models import AuditEvent
from govdesk.core.tables import get
from govdesk.core.tables.export import write_rows
from govdesk.core.tables.run import import_table
from govdesk.core.tables.testing import xlsx_bytes
from govdesk.veterans.models import CollectionPoint, ExpectedBase, Record

from .conftest import id_number

pytestmark = pytest.mark.django_db
HEADERS = ["姓名", "性别", "身份证号", "手机号", "人员类别", "民族", "入伍时间", "退役时间", "所属街道", "社区", "家庭住址"]
ID1, ID2, ID3 = id_number(seq=1), id_number(seq=2), id_number(seq=3, male=False)


def row(idn, *, name="张建国", gender="男", street="甲街道", community="甲一社区", category="退役士兵"):
    return [name, gender, idn, "138 1234 5678", category, "汉族", "1993-03-01", "1997年12月1日", street, community,
            "郑州市中原区建设路 1 号"]


def workbook(*rows):
    return xlsx_bytes([["中原区优抚对象花名册"], HEADERS, *rows], merges=["A1:K1"], text_columns=[3])


def run(actor, data, **kwargs):
    return import_table(actor=actor, kind="veterans-records", file=data, filename="花名册.xlsx", **kwargs)


def audits(record):
    return AuditEvent.objects.filter(object_type="veterans.record", object_id=str(record.pk)).count()


def test_the_department_imports_the_district_registry_once_and_a_second_run_changes_nothing(vets):
    data = workbook(row(ID1), row(ID2, street="乙街道", community="乙一社区"), row(ID3.lower(), name="李秀英", gender=""))
    dry = run(vets.officer, data, dry_run=True)
    assert (dry.created, dry.invalid, Record.objects.count()) == (3, 0, 0)
    result = run(vets.officer, data)
    assert (result.rows, result.created, result.updated, result.unchanged, result.invalid) == (3, 3, 0, 0, 0)
    records = {r.name: r for r in Record.objects.select_related("street", "org_unit")}
    assert records["李秀英"].gender == "女" and records["李秀英"].birth_date == date(1975, 3, 1)
    assert [(r.street.name, r.org_unit.name, r.status) for r in Record.objects.order_by("id")] == [
        ("甲街道", "甲一社区", "collected"), ("乙街道", "乙一社区", "collected"), ("甲街道", "甲一社区", "collected")]
    assert all(audits(r) == 1 for r in records.values())
    stored = " ".join(str(v) for v in Record.objects.values_list("id_number_enc", "id_number_bidx", "phone_enc"))
    assert ID1 not in stored and "13812345678" not in stored
    again = run(vets.officer, data)
    assert (again.created, again.updated, again.unchanged, again.invalid) == (0, 0, 3, 0)
    assert Record.objects.count() == 3 and all(audits(r) == 1 for r in Record.objects.all())


def test_bad_rows_are_named_by_excel_row_and_all_or_nothing_writes_nothing(vets):
    existing = vets.record(seq=9, name="王五")
    data = workbook(row(ID1), row(ID2, gender="女"), row(id_number(seq=9)), row("4.10100197503E+17"),
                    row(ID3, gender="女", community="不存在社区"))
    result = run(vets.collector_a, data, dry_run=True)  # the dry run goes through the service: every refusal
    assert (result.created, result.invalid) == (1, 4)
    assert [(e["row"], e["column"]) for e in result.errors] == [(4, "性别"), (5, "公民身份号码"), (6, "公民身份号码"),
                                                                (7, "社区")]
    messages = [e["message"] for e in result.errors]
    assert messages[0] == "性别与身份证号不符：身份证号显示为男性"
    assert messages[1] == (f"该身份证号已登记：王五（甲一社区，记录编号 {existing.pk}），"
                           f"采集员 {vets.collector_a.label}，请勿重复采集")
    assert messages[2].startswith("身份证号被 Excel 转成了科学计数法")
    assert messages[3] == "「甲街道」下没有名为「不存在社区」的社区，或不在您的权限范围内"
    assert Record.objects.count() == 1
    committed = run(vets.collector_a, data)
    assert (committed.created, committed.written, Record.objects.count()) == (0, False, 1)
    valid = run(vets.collector_a, data, mode="valid")
    assert (valid.created, valid.invalid) == (1, 4)
    assert Record.objects.count() == 2


def test_a_row_in_another_street_is_refused_for_a_street_collector(vets):
    result = run(vets.collector_a, workbook(row(ID1), row(ID2, street="乙街道", community="乙一社区")))
    assert result.errors == [{"row": 4, "column": "所属街道",
                              "message": "没有名为「乙街道」的街道，或不在您的权限范围内"}]
    assert Record.objects.count() == 0


def test_a_person_registered_in_another_street_is_refused_without_showing_the_record(vets):
    vets.record(actor=vets.collector_b, community=vets.world.community_b, seq=1)
    result = run(vets.collector_a, workbook(row(ID1)))
    assert result.errors == [{"row": 3, "column": "公民身份号码",
                              "message": "该身份证号已在「乙街道」登记，请勿重复采集；如有疑问请联系该街道核实"}]


def test_the_registry_export_masks_and_holds_exactly_the_visible_rows(vets):
    run(vets.officer, workbook(row(ID1), row(ID2, street="乙街道", community="乙一社区")))
    schema = get("veterans-records")
    buffer = io.BytesIO()
    write_rows(buffer, title=schema.title, columns=schema.export_columns,
               rows=schema.export_query(vets.collector_a, {}))
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 2 and values[0][3] == "公民身份号码"
    assert values[1][3] == ID1[:6] + "********" + ID1[-4:] and values[1][4] == "138****5678"
    assert values[1][10:12] == ("甲街道", "甲一社区")


def test_the_export_button_exports_the_filtered_list(vets, client_for):
    run(vets.officer, workbook(row(ID1), row(ID2, street="乙街道", community="乙一社区")))
    response = client_for(vets.officer).post(reverse("veterans:records_export"),
                                             {"street": str(vets.world.street_b.pk)})
    assert response.status_code == 302
    from govdesk.core.models import TableJob

    job = TableJob.objects.get()
    assert response.url == reverse("core:table_job", args=[job.pk])
    assert (job.direction, job.kind, job.params["filters"], job.params["unmask"]) == (
        "export", "veterans-records", {"street": str(vets.world.street_b.pk)}, False)
    assert job.total == 1


def test_base_numbers_and_progress(vets):
    data = xlsx_bytes([["街道", "应采集人数"], ["甲街道", 120], ["乙街道", "80"]])
    result = import_table(actor=vets.officer, kind="veterans-bases", file=data, filename="基数.xlsx")
    assert (result.created, result.invalid) == (2, 0)
    assert dict(ExpectedBase.objects.values_list("org_unit__name", "expected")) == {"甲街道": 120, "乙街道": 80}
    again = import_table(actor=vets.officer, kind="veterans-bases", file=data, filename="基数.xlsx")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    refused = import_table(actor=vets.world.officer_a, kind="veterans-bases", file=data, filename="基数.xlsx")
    assert refused.invalid == 2 and refused.errors[0]["column"] == "街道"
    vets.record(seq=2)  # a draft: not collected yet
    run(vets.officer, workbook(row(ID1)))
    progress = list(get("veterans-bases").export_query(vets.officer, {}))
    assert [(s.name, s.base, s.collected) for s in progress] == [("甲街道", 120, 1), ("乙街道", 80, 0)]


def test_collection_points_are_imported_once(vets):
    data = xlsx_bytes([["采集点名称", "所属社区", "地址", "开始时间", "结束时间", "每日接待量", "时段长度（分钟）"],
                       ["甲一社区采集点", "甲一社区", "建设路 1 号", "09:00", "11:00", 40, 60],
                       ["乙一社区采集点", "乙一社区", "伏牛路 2 号", "9:00", "8:00", 40, 60]])
    result = import_table(actor=vets.world.officer_a, kind="veterans-points", file=data, filename="采集点.xlsx",
                          mode="valid")
    assert (result.created, result.invalid) == (1, 1)
    assert result.errors[0]["row"] == 3 and "乙一社区" in result.errors[0]["message"]
    point = CollectionPoint.objects.get()
    assert (point.name, point.daily_capacity, point.slots.count() > 0) == ("甲一社区采集点", 40, True)
    again = import_table(actor=vets.world.officer_a, kind="veterans-points", file=data, filename="采集点.xlsx",
                         mode="valid")
    assert (again.created, again.unchanged) == (0, 1)
