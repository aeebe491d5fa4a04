"""Large xlsx files are read streaming (openpyxl read-only) and imported part by part: the
answers are the same as for a file read at once. The threshold is lowered to 1 byte here so
that small files take the streamed path."""

from __future__ import annotations

import io

import openpyxl
import pytest

from govdesk.core.models import AuditEvent, OrgUnit
from govdesk.core.tables import run
from govdesk.core.tables.read import count_rows, read_table
from govdesk.core.tables.run import errors_workbook, import_table
from govdesk.core.tables.schema import get
from govdesk.core.tables.testing import xlsx_bytes

pytestmark = pytest.mark.django_db
HEADER = ["上级编码", "上级单位", "类型", "编码", "名称"]


def units_file(*rows) -> bytes:
    return xlsx_bytes([["组织单位导入"], HEADER, *rows], merges=["A1:E1"])


GOOD = units_file(
    ["T100-A", None, "社区", "S-1", "流一社区"],
    ["T100-A", None, "社区", "S-2", "流二社区"],
    [None, "乙街道", "社区", "S-3", "流三社区"],
)
WITH_ERRORS = units_file(
    ["T100-A", None, "社区", "S-1", "流一社区"],
    ["T100-A", None, "社区", "S-2", "流二社区"],
    ["T100-A", None, "外星", "S-3", "流三社区"],  # no such kind
    [None, None, None, None, None],  # blank: not a row
    ["T100-A", None, "社区", "s-1", "重复社区"],  # the first row's code again (case folded)
    ["T100-B", None, "社区", "S-5", "流五社区"],
)


@pytest.fixture
def streamed(settings):
    settings.TABLE_STREAM_SHEET_BYTES = 1


def answers(result) -> dict:
    data = result.to_dict()
    data["errors"] = sorted((e["row"], e["column"]) for e in data["errors"])
    return data


def test_a_large_sheet_is_streamed_and_a_small_one_is_not(world, settings):
    schema = get("orgunits")
    assert isinstance(read_table(schema, GOOD).rows, list)
    settings.TABLE_STREAM_SHEET_BYTES = 1
    table = read_table(schema, GOOD)
    assert table.streamed
    assert table.header_row == 2
    assert [number for number, _cells in table.rows] == [3, 4, 5]
    assert [number for number, _cells in table.rows] == [3, 4, 5], "the rows can be read again"
    assert count_rows(GOOD) == 5


def test_a_streamed_dry_run_answers_what_a_whole_read_answers(world, settings):
    whole = import_table(actor=world.admin, kind="orgunits", file=WITH_ERRORS, dry_run=True, mode="valid")
    settings.TABLE_STREAM_SHEET_BYTES = 1
    parts = import_table(actor=world.admin, kind="orgunits", file=WITH_ERRORS, dry_run=True, mode="valid")
    assert answers(parts) == answers(whole)
    assert answers(parts)["errors"] == [(3, "编码"), (5, "类型"), (7, "编码")]
    assert parts.rows == 5 and parts.invalid == 3 and parts.created == 2


def test_all_or_nothing_writes_nothing_when_a_row_is_refused(world, streamed, monkeypatch):
    monkeypatch.setattr(run, "STREAM_PART", 2)  # the refusals come after a part was written
    before = (OrgUnit.objects.count(), AuditEvent.objects.count())
    result = import_table(actor=world.admin, kind="orgunits", file=WITH_ERRORS)
    assert not result.written and result.created == 0
    assert {e["row"] for e in result.errors} == {3, 5, 7}
    assert (OrgUnit.objects.count(), AuditEvent.objects.count()) == before


def test_valid_only_writes_exactly_the_valid_rows(world, streamed, monkeypatch):
    monkeypatch.setattr(run, "STREAM_PART", 2)
    result = import_table(actor=world.admin, kind="orgunits", file=WITH_ERRORS, mode="valid")
    assert result.created == 2 and result.written
    # The row whose code is repeated further down is refused with its repeat, as in a whole read.
    assert not OrgUnit.objects.filter(code__iexact="S-1").exists()
    assert OrgUnit.objects.get(code="S-2").parent == world.community_a.parent
    assert OrgUnit.objects.get(code="S-5").name == "流五社区"
    messages = {e["row"]: e["message"] for e in result.errors}
    assert "第 7 行" in messages[3] and "第 3 行" in messages[7]


def test_a_clean_streamed_file_is_written_with_an_event_per_row(world, streamed):
    result = import_table(actor=world.admin, kind="orgunits", file=GOOD)
    assert result.errors == [] and result.created == 3 and result.rows == 3
    created = OrgUnit.objects.filter(code__in=["S-1", "S-2", "S-3"])
    assert created.count() == 3
    assert AuditEvent.objects.filter(action="create", object_type="core.orgunit",
                                     object_id__in=[str(u.pk) for u in created]).count() == 3


def test_the_errors_workbook_of_a_streamed_file_holds_the_refused_rows(world, streamed):
    result = import_table(actor=world.admin, kind="orgunits", file=WITH_ERRORS, mode="valid", dry_run=True)
    sheet = openpyxl.load_workbook(io.BytesIO(errors_workbook(result))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == tuple(HEADER)
    assert sorted(row[5] for row in rows[1:]) == [3, 5, 7]
