"""govdesk import / export on the command line: exit codes and the one JSON object."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from govdesk.core.models import AuditEvent, OrgUnit, User
from govdesk.core.tables.testing import sheet_rows, xlsx_bytes

pytestmark = pytest.mark.django_db
HEADER = ["上级编码", "类型", "编码", "名称"]
KEYS = ["kind", "rows", "valid", "invalid", "created", "updated", "unchanged", "errors"]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "单位.xlsx"
    path.write_bytes(xlsx_bytes([HEADER, ["T100-A", "社区", "T100-A3", "甲三社区"],
                                 ["T100-B", "社区", "T100-B3", "乙三社区"]]))
    return path


@pytest.fixture
def bad_file(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsx_bytes([HEADER, ["T100-A", "社区", "T100-A3", "甲三社区"],
                                 ["T100-A", "村", "T100-A4", "甲四村"]]))
    return path


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as e:
        code = e.code
    return code, out.getvalue(), err.getvalue()


def test_it_exits_0_with_one_json_object_when_every_row_is_accepted(world, good_file):
    code, out, _err = run("import_table", "orgunits", str(good_file), "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == KEYS
    assert data == {"kind": "orgunits", "rows": 2, "valid": 2, "invalid": 0, "created": 2, "updated": 0,
                    "unchanged": 0, "errors": []}
    assert OrgUnit.objects.filter(code__in=["T100-A3", "T100-B3"]).count() == 2
    assert AuditEvent.objects.get(action="import").actor_id == world.root.pk  # the first superuser


def test_it_exits_1_and_writes_nothing_when_a_row_is_refused(world, bad_file, tmp_path):
    errors = tmp_path / "errors.xlsx"
    code, out, _err = run("import_table", "orgunits", str(bad_file), "--json", "--errors", str(errors))
    assert code == 1
    data = json.loads(out)
    assert (data["created"], data["invalid"]) == (0, 1)
    assert data["errors"] == [{"row": 3, "column": "类型",
                               "message": "只能填写：区、部门、街道、社区、楼院、机构、企业（填写的是：村）"}]
    assert not OrgUnit.objects.filter(code="T100-A3").exists()
    rows = sheet_rows(errors.read_bytes())
    assert rows[0] == [*HEADER, "原行号", "错误信息"]
    assert rows[1][:3] == ["T100-A", "村", "T100-A4"]


def test_valid_mode_imports_the_good_rows_and_still_exits_1(world, bad_file):
    code, out, _err = run("import_table", "orgunits", str(bad_file), "--mode", "valid")
    assert code == 1
    assert "新增 1" in out and "第 3 行 类型：只能填写" in out
    assert OrgUnit.objects.filter(code="T100-A3").exists()


def test_a_dry_run_writes_nothing(world, good_file):
    code, out, _err = run("import_table", "orgunits", str(good_file), "--dry-run", "--json")
    assert code == 0
    assert json.loads(out)["created"] == 2
    assert not OrgUnit.objects.filter(code="T100-A3").exists()


def test_it_imports_as_the_named_user_and_refuses_what_is_out_of_reach(world, good_file):
    code, out, _err = run("import_table", "orgunits", str(good_file), "--json", "--user", "officer_a")
    assert code == 1
    assert {e["row"] for e in json.loads(out)["errors"]} == {2, 3}


@pytest.mark.parametrize(("args", "message"), [
    (["nosuchkind", "x.xlsx"], "没有名为「nosuchkind」的导入导出表格"),
    (["orgunits", "/nonexistent/x.xlsx"], "找不到文件：/nonexistent/x.xlsx"),
    (["orgunits"], "请指定表格种类和文件"),
])
def test_it_exits_2_when_the_arguments_cannot_be_used(world, args, message):
    code, out, err = run("import_table", *args, "--json")
    assert code == 2
    assert message in err
    assert json.loads(out)["error"].startswith(message)


def test_it_exits_2_for_a_file_that_is_not_a_table(world, tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"\x00\x01garbage")
    code, out, err = run("import_table", "orgunits", str(path), "--json")
    assert code == 2
    assert json.loads(out) == {"kind": "orgunits", "error": "文件不是有效的 Excel 或 CSV 文件"}


def test_it_exits_2_for_an_unknown_user_or_without_any_superuser(db, good_file):
    code, _out, err = run("import_table", "orgunits", str(good_file), "--user", "nobody")
    assert (code, err.strip()) == (2, "没有名为「nobody」的有效用户")
    code, _out, err = run("import_table", "orgunits", str(good_file))
    assert code == 2 and "没有系统管理员账号" in err
    assert not User.objects.exists()


def test_list_names_the_kinds(db):
    code, out, _err = run("import_table", "--list")
    assert code == 0
    lines = out.splitlines()
    assert "orgunits\t组织单位" in lines and "users\t用户" in lines


def test_export_writes_the_file(world, tmp_path):
    out_path = tmp_path / "units.xlsx"
    code, out, _err = run("export_table", "orgunits", str(out_path), "--user", "admin")
    assert code == 0
    assert out.strip() == f"已导出 8 行到 {out_path}"
    rows = sheet_rows(out_path.read_bytes())
    assert rows[0] == ["上级编码", "上级单位", "类型", "编码", "名称"]
    assert len(rows) == 9
    assert AuditEvent.objects.get(action="export").changes["rows"] == 8


def test_export_exits_2_for_an_unknown_kind(world, tmp_path):
    code, _out, err = run("export_table", "nosuchkind", str(tmp_path / "x.xlsx"))
    assert code == 2 and "nosuchkind" in err
