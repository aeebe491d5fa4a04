"""Exports: scoped, masked unless unmasking is allowed, audited, never a formula."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from govdesk.core import services
from govdesk.core.errors import Forbidden
from govdesk.core.imports import ORGUNITS, USERS
from govdesk.core.models import AuditEvent, TableJob
from govdesk.core.reach import Role
from govdesk.core.tables.export import content_disposition, export_response, export_rows
from govdesk.core.tables.jobs import job_path, table_job_start
from govdesk.core.tables.run import import_table
from govdesk.core.tables.testing import sheet_rows

pytestmark = pytest.mark.django_db
PASSWORD = "Test@pass-2026"


@pytest.fixture(autouse=True)
def fast_passwords(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def zhang3(world):
    return services.user_create(actor=world.admin, username="zhang3", display_name="张三", password=PASSWORD,
                                role=Role.COLLECTOR, unit=world.community_a, phone="13812345678")


def export(actor, schema, *, unmask=False, filters=None) -> list[list]:
    buffer = io.BytesIO()
    export_rows(actor=actor, kind=schema.kind, title=schema.title, columns=schema.export_columns,
                queryset=schema.export_query(actor, filters or {}), path_or_stream=buffer, unmask=unmask,
                filters=filters)
    return sheet_rows(buffer.getvalue())


def row_of(rows: list[list], username: str) -> dict:
    header = rows[0]
    [row] = [r for r in rows[1:] if r[0] == username]
    return dict(zip(header, row, strict=True))


def test_it_masks_phone_numbers_and_writes_one_export_event(world, zhang3):
    rows = export(world.admin, USERS, filters={"under": "T100-A"})
    assert rows[0] == ["用户名", "姓名", "手机号", "角色", "所属单位编码", "单位名称", "停用"]
    assert row_of(rows, "zhang3") == {"用户名": "zhang3", "姓名": "张三", "手机号": "138****5678", "角色": "采集员",
                                      "所属单位编码": "T100-A1", "单位名称": "甲一社区", "停用": "否"}
    assert {r[0] for r in rows[1:]} == {"zhang3", "officer_a"}
    [event] = AuditEvent.objects.filter(action="export")
    assert event.changes == {"kind": "users", "rows": 2, "filters": {"under": "T100-A"}, "unmasked": False}
    assert event.actor_id == world.admin.pk
    assert not AuditEvent.objects.filter(action="unmask").exists()


def test_unmasking_shows_the_clear_value_and_is_audited(world, zhang3):
    rows = export(world.admin, USERS, unmask=True)
    assert row_of(rows, "zhang3")["手机号"] == "13812345678"
    [event] = AuditEvent.objects.filter(action="unmask")
    assert event.verb == "export"
    assert event.changes["columns"] == ["手机号"]
    assert AuditEvent.objects.filter(action="export").count() == 1


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(1)", "\t=1+1"])
def test_it_never_writes_a_formula(world, name):
    services.user_create(actor=world.admin, username="evil", display_name=name, password=PASSWORD,
                         role=Role.COLLECTOR, unit=world.community_a)
    buffer = io.BytesIO()
    export_rows(actor=world.admin, kind="users", title="用户", columns=USERS.export_columns,
                queryset=USERS.export_query(world.admin, {}), path_or_stream=buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    [cell] = [row[1] for row in book.active.iter_rows(min_row=2) if row[0].value == "evil"]
    assert cell.data_type == "s"
    assert cell.value == name.strip()  # user_create strips the name


def test_exports_are_narrowed_to_the_users_reach(world, zhang3):
    units = export(world.officer_a, ORGUNITS)
    assert {r[3] for r in units[1:]} == {"T100-A", "T100-A1", "T100-A1-1"}
    assert export(world.officer_a, USERS) == [USERS_HEADER]  # memberships are for administrators
    assert export(world.outsider, ORGUNITS) == [ORGUNITS_HEADER]


USERS_HEADER = ["用户名", "姓名", "手机号", "角色", "所属单位编码", "单位名称", "停用"]
ORGUNITS_HEADER = ["上级编码", "上级单位", "类型", "编码", "名称"]


def test_an_exported_org_tree_imports_back_unchanged(world):
    buffer = io.BytesIO()
    export_rows(actor=world.admin, kind="orgunits", title="组织单位", columns=ORGUNITS.export_columns,
                queryset=ORGUNITS.export_query(world.admin, {}), path_or_stream=buffer)
    result = import_table(actor=world.root, kind="orgunits", file=buffer.getvalue(), filename="units.xlsx")
    assert result.errors == []
    assert (result.rows, result.unchanged) == (8, 8)


def test_the_http_download_carries_the_chinese_file_name(world, zhang3):
    response = export_response(actor=world.admin, kind="users", title="用户", columns=USERS.export_columns,
                               queryset=USERS.export_query(world.admin, {}), filename="用户名单.xlsx")
    assert response["Content-Disposition"] == (
        "attachment; filename=\"export.xlsx\"; filename*=UTF-8''%E7%94%A8%E6%88%B7%E5%90%8D%E5%8D%95.xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = sheet_rows(b"".join(response.streaming_content))
    assert row_of(rows, "zhang3")["手机号"] == "138****5678"


def test_content_disposition_keeps_an_ascii_name_as_is():
    assert content_disposition("units-2024.xlsx") == (
        "attachment; filename=\"units-2024.xlsx\"; filename*=UTF-8''units-2024.xlsx")


def test_an_export_job_writes_the_file_and_refuses_unmasking_to_officers(world, zhang3, settings):
    settings.TABLE_BACKGROUND_ROWS = 100
    job = table_job_start(actor=world.admin, direction="export", kind="users", unmask=True)
    assert job.status == TableJob.Status.DONE
    assert job.summary == {"rows": 6, "unmasked": True}
    rows = sheet_rows(job_path(job.result_file).read_bytes())
    assert row_of(rows, "zhang3")["手机号"] == "13812345678"
    with pytest.raises(Forbidden):
        table_job_start(actor=world.officer_a, direction="export", kind="users", unmask=True)


def test_write_rows_quotes_every_formula_like_start_without_changing_the_text():
    from types import SimpleNamespace

    from govdesk.core.tables.export import write_rows
    from govdesk.core.tables.schema import ExportColumn

    texts = ["=1+1", "+1", "-1", "@A1", "\t=1+1", "\r=1+1", "plain"]
    buffer = io.BytesIO()
    count = write_rows(buffer, title="t", columns=[ExportColumn("文本", "text")],
                       rows=[SimpleNamespace(text=t) for t in texts])
    assert count == len(texts)
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    cells = [row[0] for row in book.active.iter_rows(min_row=2)]
    assert [row[0] for row in sheet_rows(buffer.getvalue())[1:]] == texts  # calamine decodes _x000D_ like Excel
    assert all(c.data_type == "s" for c in cells)
    assert [c.quotePrefix for c in cells] == [True] * 6 + [False]
