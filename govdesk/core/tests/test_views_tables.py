"""The import pages: upload → dry run → errors workbook → commit; job pages are their owner's."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from govdesk.core.models import AuditEvent, OrgUnit, TableJob
from govdesk.core.tables.testing import xlsx_bytes

pytestmark = pytest.mark.django_db

HEADER = ["上级编码", "类型", "编码", "名称"]


def upload(client, rows, mode="all"):
    data = xlsx_bytes([["2026年社区名册"], HEADER, *rows], merges=["A1:D1"])
    return client.post(reverse("core:table_import", args=["orgunits"]),
                       {"file": SimpleUploadedFile("社区.xlsx", data), "mode": mode})


def test_a_dry_run_writes_nothing_and_shows_what_would_happen(world, client_for):
    client = client_for(world.admin)
    count, events = OrgUnit.objects.count(), AuditEvent.objects.count()
    response = upload(client, [["T100-A", "社区", "A-N1", "新一社区"], ["T100-B", "社区", "B-N1", "新二社区"]])
    job = TableJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("core:table_job", args=[job.pk])
    assert job.dry_run and job.status == "done" and job.summary["created"] == 2
    assert OrgUnit.objects.count() == count
    page = client.get(response["Location"]).content.decode()
    assert "将新增 <strong>2</strong>" in page and "正式导入" in page
    # the upload itself is not an import yet: the audit trail did not move
    assert AuditEvent.objects.count() == events


def test_commit_after_a_dry_run_imports_and_audits_each_row(world, client_for):
    client = client_for(world.admin)
    upload(client, [["T100-A", "社区", "A-N1", "新一社区"], ["T100-B", "社区", "B-N1", "新二社区"]])
    dry = TableJob.objects.get()
    response = client.post(reverse("core:table_job_commit", args=[dry.pk]), {"mode": "all"})
    real = TableJob.objects.exclude(pk=dry.pk).get()
    assert response["Location"] == reverse("core:table_job", args=[real.pk])
    assert real.status == "done" and not real.dry_run and real.summary["created"] == 2
    assert set(OrgUnit.objects.filter(code__in=["A-N1", "B-N1"]).values_list("name", flat=True)) == {"新一社区", "新二社区"}
    assert AuditEvent.objects.filter(object_type="core.orgunit", action="create",
                                     object_repr__in=["新一社区", "新二社区"]).count() == 2


def test_errors_show_with_excel_row_numbers_and_download_as_a_workbook(world, client_for):
    client = client_for(world.admin)
    upload(client, [["T100-A", "社区", "A-N1", "新一社区"], ["T100-A", "小区", "A-N2", "错类型"]])
    job = TableJob.objects.get()
    page = client.get(reverse("core:table_job", args=[job.pk])).content.decode()
    assert "有错误 <strong>1</strong>" in page
    assert "<td>4</td><td>类型</td>" in page  # title row 1, header row 2, data rows 3 and 4
    response = client.get(reverse("core:table_job_download", args=[job.pk]))
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(book.active.values)
    assert "错误信息" in rows[0]
    assert any("A-N2" in [str(v) for v in row] for row in rows[1:])


def test_an_officer_importing_into_another_street_is_refused_row_by_row(world, client_for):
    client = client_for(world.officer_a)
    upload(client, [["T100-B", "社区", "B-N9", "越权社区"]], mode="valid")
    dry = TableJob.objects.get()
    assert dry.summary["invalid"] == 1 and dry.summary["created"] == 0
    client.post(reverse("core:table_job_commit", args=[dry.pk]), {"mode": "valid"})
    assert not OrgUnit.objects.filter(code="B-N9").exists()


def test_someone_elses_job_is_404(world, client_for):
    upload(client_for(world.admin), [["T100-A", "社区", "A-N1", "新一社区"]])
    job = TableJob.objects.get()
    for person in (world.officer_a, world.supervisor):
        assert client_for(person).get(reverse("core:table_job", args=[job.pk])).status_code == 404
        assert client_for(person).get(reverse("core:table_job_download", args=[job.pk])).status_code == 404


def test_a_file_that_is_not_a_spreadsheet_gets_a_clear_message(world, client_for):
    response = client_for(world.admin).post(reverse("core:table_import", args=["orgunits"]), {
        "file": SimpleUploadedFile("名册.xlsx", b"this is not excel at all"), "mode": "all"})
    assert response.status_code == 200
    assert "不是有效的" in response.content.decode()
    assert not TableJob.objects.exists()


def test_the_template_downloads_with_the_declared_headers(world, client_for):
    response = client_for(world.admin).get(reverse("core:table_template", args=["orgunits"]))
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    values = [v for row in book.worksheets[0].iter_rows(values_only=True) for v in row if v]
    assert {"类型", "编码", "名称"} <= set(values)
    assert client_for(world.admin).get(reverse("core:table_template", args=["nonsense"])).status_code == 404


def workbook_rows(response):
    data = b"".join(response.streaming_content)
    return [row for row in openpyxl.load_workbook(io.BytesIO(data)).active.values if any(row)]


def test_the_units_page_exports_exactly_its_rows(world, client_for):
    response = client_for(world.officer_a).get(reverse("core:units"), {"q": "社区", "export": "xlsx"})
    assert response["Content-Disposition"].startswith("attachment")
    names = {row[4] for row in workbook_rows(response)[1:]}
    assert names == {"甲一社区"}
    assert AuditEvent.objects.filter(action="export", actor_name="officer_a").count() == 1


def test_the_users_page_exports_the_people_in_reach(world, client_for):
    response = client_for(world.admin).get(reverse("core:users"), {"role": "street_officer", "export": "xlsx"})
    usernames = {row[0] for row in workbook_rows(response)[1:]}
    assert usernames == {"officer_a", "officer_b"}


def test_the_audit_trail_exports_for_supervisors(world, client_for):
    response = client_for(world.supervisor).get(reverse("core:audit"), {
        "object_type": "core.orgunit", "object_id": world.street_a.pk, "export": "xlsx"})
    rows = workbook_rows(response)
    assert rows[0][:3] == ("时间", "操作人", "动作")
    assert [r[5] for r in rows[1:]] == [str(world.street_a.pk)]


def test_uploaded_files_are_never_served_as_a_folder(world, client_for):
    assert client_for(world.admin).get("/files/jobs/anything.xlsx").status_code == 404


def test_export_only_tables_offer_no_import(world, client_for):
    from govdesk.core.tables import TableSchema, register
    from govdesk.core.tables.schema import _SCHEMAS, Column, ExportColumn
    register(TableSchema(kind="test-ledger", title="测试台账", columns=(Column("名称", "name"),), natural_key=("name",),
                         import_hint="由系统生成", export_query=lambda actor, f: OrgUnit.objects.restrict(actor),
                         export_columns=(ExportColumn("名称", "name"),)))
    try:
        client = client_for(world.admin)
        assert "仅导出" in client.get(reverse("core:tables")).content.decode()
        assert client.get(reverse("core:table_import", args=["test-ledger"])).status_code == 404
        from govdesk.core.tables.read import TableFileError
        from govdesk.core.tables.run import import_table
        with pytest.raises(TableFileError, match="「测试台账」只能导出，不能导入：由系统生成"):
            import_table(actor=world.admin, kind="test-ledger", file=xlsx_bytes([["名称"], ["x"]]), filename="x.xlsx")
    finally:
        _SCHEMAS.pop("test-ledger", None)
