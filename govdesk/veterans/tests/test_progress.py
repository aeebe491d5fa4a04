"""Progress rollups: kept by every service that moves a record, equal to the live counts,
rebuildable; the dashboard reads them; the upward report to the city in its fixed layout."""

from __future__ import annotations

import io
from datetime import date, timedelta

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from govdesk.core.models import AuditEvent
from govdesk.veterans import progress, queries, services
from govdesk.veterans.models import Progress, Record

from .conftest import JPEG, person

pytestmark = pytest.mark.django_db


def live_equals_rollups(user):
    """The dashboard from the rollups shows exactly what the live aggregate counts."""
    live = queries.progress(user)
    rolled = progress.dashboard(user)
    for key in ("streets", "points", "collectors", "days"):
        strip = ("percent", "behind")
        assert [{k: v for k, v in r.items() if k not in strip} for r in rolled[key]] == \
               [{k: v for k, v in r.items() if k not in strip} for r in live[key]], key
    assert rolled["total"] == live["total"] and rolled["expected"] == live["expected"]
    assert progress.rollup_drift() == []
    return rolled


def test_the_rollups_equal_the_live_counts_after_creates_imports_reviews_returns_and_archives(vets, categories):
    w = vets.world
    point = vets.point(unit=w.community_a, actor=w.officer_a)
    services.expected_set(actor=vets.officer, street=w.street_a, expected=10)
    # created and submitted, created as a draft (does not count), then submitted with its attachment
    a = services.record_create(actor=vets.collector_a, data=person(w.community_a, seq=1), submit=True)
    draft = services.record_create(actor=vets.collector_a, data=person(w.community_a, seq=2),
                                   declared_attachments=["id_card"], submit=True)
    assert draft.status == Record.Status.DRAFT and Progress.objects.filter(
        grain="total", collector_key=vets.collector_a.pk).values_list("collected", flat=True).get() == 1
    services.attachment_add(actor=vets.collector_a, record=draft, kind="id_card", filename="id.jpg", content=JPEG)
    b = services.record_create(actor=vets.collector_b, data=person(w.community_b, seq=3), submit=True)
    # an import batch and a bulk collection with a point and an earlier day
    outcomes = services.record_import_rows(actor=vets.officer, items=[
        {**person(w.community_a, seq=n), "category": categories["tuiyishibing"]} for n in (4, 5, 6)])
    assert outcomes == ["created"] * 3
    earlier = timezone.now() - timedelta(days=3)
    bulk = services.record_bulk_create(actor=w.officer_a, items=[
        {**person(w.community_a, seq=n), "point": point, "collected_at": earlier} for n in (7, 8)])
    live_equals_rollups(w.admin)

    # reviews, returns (from collected and from reviewed), resubmission, archives, batch review
    services.record_review(actor=w.officer_a, record=a)
    services.record_return(actor=w.officer_a, record=a, reason="扫描件不清晰")
    services.record_return(actor=w.officer_b, record=b, reason="缺少户口簿")
    services.record_submit(actor=vets.collector_b, record=b)
    services.record_bulk_review(actor=vets.officer, records=bulk)
    services.record_bulk_archive(actor=vets.officer, records=bulk[:1])
    services.record_review(actor=w.officer_b, record=b)
    services.record_archive(actor=w.officer_b, record=b)
    # an edit that moves a returned record to another category
    a.refresh_from_db()
    services.record_update(actor=vets.collector_a, record=a, base_version=a.version,
                           data=person(w.community_a, seq=1, category="canzhan"))
    # a change request after archiving that moves the record to another community of the district
    services.change_request_decide(actor=vets.officer, approve=True, change=services.change_request_create(
        actor=vets.officer, record=b, data=person(w.community_a, seq=3, awards="三等功"), reason="搬家",
        base_version=b.version))
    data = live_equals_rollups(w.admin)
    assert data["total"] == {"collected": 8, "reviewed": 3, "archived": 2}
    street_a = next(r for r in data["streets"] if r["unit"] == w.street_a)
    assert (street_a["expected"], street_a["collected"], street_a["percent"]) == (10, 8, 80.0)
    assert next(r for r in data["points"] if r["point"] == point)["collected"] == 2
    for user in (w.officer_a, w.officer_b, vets.collector_a, w.supervisor):
        live_equals_rollups(user)


def test_a_rebuild_recomputes_the_rollups_from_the_records_and_is_audited(vets):
    services.record_create(actor=vets.collector_a, data=person(vets.world.community_a, seq=1), submit=True)
    services.record_create(actor=vets.collector_b, data=person(vets.world.community_b, seq=2), submit=True)
    Progress.objects.filter(grain="total").update(collected=7)
    Progress.objects.filter(grain="day").delete()
    assert len(progress.rollup_drift()) == 4
    with pytest.raises(Exception, match="不一致"):
        call_command("veterans_rollup", "--check")
    call_command("veterans_rollup")
    assert progress.rollup_drift() == []
    assert Progress.objects.filter(grain="total").count() == 2 and Progress.objects.count() == 8
    assert AuditEvent.objects.filter(verb="rollup_rebuild").count() == 1


def test_the_dashboard_reads_rollups_only_and_marks_who_is_behind(vets, client_for, django_assert_max_num_queries):
    w = vets.world
    services.expected_set(actor=vets.officer, street=w.street_a, expected=2)
    services.expected_set(actor=vets.officer, street=w.street_b, expected=100)
    for n in (1, 2):
        services.record_create(actor=vets.collector_a, data=person(w.community_a, seq=n), submit=True)
    services.record_create(actor=vets.collector_b, data=person(w.community_b, seq=3), submit=True)
    Record.objects.all().delete()  # the page must not count records: only the rollups remain
    client = client_for(vets.officer)
    with django_assert_max_num_queries(20):
        body = client.get(reverse("veterans:dashboard")).content.decode()
    assert 'id="fig-collected">3<' in body and 'id="fig-expected">102<' in body
    data = progress.dashboard(vets.officer)
    assert [r["unit"] for r in data["behind"]] == [w.street_b]
    assert 'chart-points' in body and "落后" in body


def test_the_rollups_follow_the_reach(vets):
    w = vets.world
    services.record_create(actor=vets.collector_a, data=person(w.community_a, seq=1), submit=True)
    services.record_create(actor=vets.collector_b, data=person(w.community_b, seq=2), submit=True)
    assert progress.dashboard(w.officer_a)["total"]["collected"] == 1
    assert progress.dashboard(w.supervisor)["total"]["collected"] == 2
    assert progress.dashboard(w.dept_officer)["total"]["collected"] == 0  # 商务局
    assert progress.dashboard(w.outsider)["total"]["collected"] == 0


# --- the upward report --------------------------------------------------------------------------

def test_the_city_report_has_the_fixed_layout_and_the_figures_a_user_checks(vets, categories, client_for):
    w = vets.world
    services.expected_set(actor=vets.officer, street=w.street_a, expected=4)
    a1 = services.record_create(actor=vets.collector_a, data=person(w.community_a, seq=1), submit=True)
    services.record_create(actor=vets.collector_a, data=person(w.community_a, seq=2, category="canzhan"),
                           submit=True)
    services.record_review(actor=w.officer_a, record=a1)
    services.record_archive(actor=w.officer_a, record=a1)
    services.record_create(actor=vets.collector_b, data=person(w.community_b, seq=3), submit=True)

    response = client_for(vets.officer).get(reverse("veterans:progress_report"), {"period": "month"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == "测试区退役军人和其他优抚对象信息采集工作进度统计表"
    assert "填报单位：测试区退役军人事务局" in sheet["A2"].value
    today = timezone.localdate()
    assert f"{today.replace(day=1):%Y年%m月%d日}至{today:%Y年%m月%d日}" in sheet["F2"].value
    header = [sheet.cell(3, c).value for c in range(1, 9)]
    assert header == ["序号", "街道（乡镇）", "应采集人数", "已采集", "本期新增", "已审核", "已归档", "采集完成率"]
    assert sheet["I3"].value == "其中：按人员类别（已采集）"
    names = [sheet.cell(4, c).value for c in range(9, 9 + len(categories))]
    assert names[0] == "退役士兵" and "参战参试退役军人" in names
    # a fixed row per street, in code order: 甲街道 (T100-A), 乙街道 (T100-B)
    row_a = [sheet.cell(5, c).value for c in range(1, 9)]
    row_b = [sheet.cell(6, c).value for c in range(1, 9)]
    assert row_a == [1, "甲街道", 4, 2, 2, 1, 1, 0.5]
    assert row_b == [2, "乙街道", 0, 1, 1, 0, 0, "未下达基数"]
    assert sheet["H5"].number_format == "0.0%"
    col = 9 + names.index("参战参试退役军人")
    assert sheet.cell(5, 9).value == 1 and sheet.cell(5, col).value == 1
    totals = [sheet.cell(7, c).value for c in range(1, 9)]
    assert totals == ["合计", None, 4, 3, 3, 1, 1, 0.75]
    assert sheet.cell(7, 9).value == 2
    assert AuditEvent.objects.filter(action="export", verb="city_report", actor_name="tuiyi").count() == 1


def test_a_street_officer_reports_only_their_street_and_outsiders_get_nothing(vets, client_for):
    w = vets.world
    services.record_create(actor=vets.collector_b, data=person(w.community_b, seq=3), submit=True)
    data = progress.city_report_data(w.officer_a, period="week")
    assert [r["street"] for r in data["rows"]] == [w.street_a] and data["total"]["collected"] == 0
    assert progress.city_report_data(w.outsider)["rows"] == []
    assert client_for(w.outsider).get(reverse("veterans:progress_report")).status_code == 404


def test_the_report_period_counts_new_collections_of_the_week_only(vets):
    w = vets.world
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    services.record_bulk_create(actor=vets.collector_a, items=[
        {**person(w.community_a, seq=1), "collected_at": timezone.now() - timedelta(days=today.weekday() + 1)},
        {**person(w.community_a, seq=2)}])
    data = progress.city_report_data(w.officer_a, period="week", day=today)
    assert data["start"] == monday and data["rows"][0]["new"] == 1 and data["rows"][0]["collected"] == 2
    with pytest.raises(services.ServiceError):
        progress.city_report_data(w.officer_a, period="year", day=date(2026, 1, 1))


def test_a_preparer_or_street_named_like_a_formula_stays_text_in_the_city_report(vets):
    w = vets.world
    payload = "=cmd|' /C calc'!A0"
    type(w.street_a).objects.filter(pk=w.street_a.pk).update(name="=SUM(1,1)")
    vets.officer.display_name = payload
    vets.officer.save(update_fields=["display_name"])
    _name, content = progress.city_report(actor=vets.officer, period="month")
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    cells = [c for row in workbook.active.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(c.value == f"填表人：{payload}" for c in cells)
    street = next(c for c in cells if c.value == "=SUM(1,1)")
    assert street.data_type == "s"  # a string cell, not a formula Excel would run
    assert not any(c.data_type == "f" for c in cells)
