"""The import engine end to end: modes, dry runs, idempotence, reach, audit, jobs."""

from __future__ import annotations

import dataclasses
import io

import pytest
from django.contrib.auth.hashers import check_password

from govdesk.core import personal, services
from govdesk.core.imports import ORGUNITS
from govdesk.core.models import AuditEvent, Membership, OrgUnit, TableJob, User, Webhook
from govdesk.core.reach import Role
from govdesk.core.tables.bulk import upsert
from govdesk.core.tables.jobs import job_download, job_path, run_job, table_job_start
from govdesk.core.tables.read import TableFileError, read_table
from govdesk.core.tables.run import check_rows, errors_workbook, import_table
from govdesk.core.tables.schema import Column, TableSchema, UnitRef, register
from govdesk.core.tables.testing import csv_bytes, sheet_rows, xlsx_bytes

pytestmark = pytest.mark.django_db
UNIT_HEADER = ["上级编码", "上级单位", "类型", "编码", "名称"]
USER_HEADER = ["用户名", "姓名", "手机号", "角色", "所属单位编码", "初始密码"]


@pytest.fixture(autouse=True)
def fast_passwords(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


def units_file(*rows) -> bytes:
    return xlsx_bytes([["组织单位导入"], UNIT_HEADER, *rows], merges=["A1:E1"])


def users_file(*rows) -> bytes:
    return xlsx_bytes([USER_HEADER, *rows])


def counts(result) -> dict:
    data = result.to_dict()
    data.pop("errors")
    data.pop("kind")
    return data


def snapshot() -> tuple:
    return (OrgUnit.objects.count(), User.objects.count(), Membership.objects.count(), AuditEvent.objects.count())


def events_of(obj) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)))


NEW_UNITS = units_file(
    ["T100-A2", None, "楼院", "T100-A2-1", "甲二1号院"],  # its parent comes in the next row
    ["T100-A", None, "社区", "T100-A2", "甲二社区"],
    [None, "乙街道", "社区", "T100-B2", "乙二社区"],  # the parent by its name
    ["T100", None, "街道", "T100-C", "丙街道 "],
)


# --- org units -------------------------------------------------------------------------

def test_it_creates_units_with_one_audit_event_each(world):
    events_before = AuditEvent.objects.count()
    result = import_table(actor=world.admin, kind="orgunits", file=NEW_UNITS, filename="units.xlsx")
    assert result.errors == []
    assert counts(result) == {"rows": 4, "valid": 4, "invalid": 0, "created": 4, "updated": 0, "unchanged": 0}
    assert result.written
    courtyard = OrgUnit.objects.get(code="T100-A2-1")
    assert courtyard.parent.code == "T100-A2"
    assert courtyard.parent.parent == world.street_a
    assert OrgUnit.objects.get(code="T100-B2").parent == world.street_b
    assert OrgUnit.objects.get(code="T100-C").name == "丙街道"
    for code in ["T100-A2-1", "T100-A2", "T100-B2", "T100-C"]:
        events = events_of(OrgUnit.objects.get(code=code))
        assert [e.action for e in events] == ["create"]
    summary = AuditEvent.objects.get(action="import")
    assert summary.changes == {"kind": "orgunits", "filename": "units.xlsx", "created": 4, "updated": 0,
                               "unchanged": 0}
    assert AuditEvent.objects.count() == events_before + 5


def test_it_creates_nothing_new_when_the_same_file_comes_again(world):
    import_table(actor=world.admin, kind="orgunits", file=NEW_UNITS)
    before = snapshot()
    again = import_table(actor=world.admin, kind="orgunits", file=NEW_UNITS)
    assert counts(again) == {"rows": 4, "valid": 4, "invalid": 0, "created": 0, "updated": 0, "unchanged": 4}
    assert not again.written
    assert snapshot() == before


def test_it_renames_an_existing_unit_by_its_code(world):
    result = import_table(actor=world.admin, kind="orgunits",
                          file=units_file(["T100", None, "街道", "T100-A", "甲街道（新）"]))
    assert counts(result)["updated"] == 1
    world.street_a.refresh_from_db()
    assert world.street_a.name == "甲街道(新)"
    assert [e.changes for e in events_of(world.street_a) if e.action == "update"] == [
        {"name": ["甲街道", "甲街道(新)"]}]


def test_it_refuses_to_move_or_retype_a_unit(world):
    result = import_table(actor=world.admin, kind="orgunits", mode="valid", file=units_file(
        ["T100-B", None, "社区", "T100-A1", "甲一社区"],
        ["T100", None, "部门", "T100-A", "甲街道"],
    ))
    assert result.errors == [
        {"row": 3, "column": "上级编码",
         "message": "单位「甲一社区」已存在于其他上级单位下；导入不能移动单位，请在组织机构页面操作"},
        {"row": 4, "column": "类型", "message": "单位「甲街道」已存在，类型是街道；导入不能修改单位类型"},
    ]


BAD_KIND = units_file(
    ["T100-A", None, "社区", "T100-A3", "甲三社区"],
    ["T100-A", None, "村", "T100-A4", "甲四村"],
    ["T100-A", None, "社区", "T100-A5", "甲五社区"],
)


def test_all_or_nothing_writes_nothing_when_one_row_is_bad(world):
    before = snapshot()
    result = import_table(actor=world.admin, kind="orgunits", file=BAD_KIND)
    assert result.errors == [{"row": 4, "column": "类型",
                              "message": "只能填写：区、部门、街道、社区、楼院、机构、企业（填写的是：村）"}]
    assert counts(result) == {"rows": 3, "valid": 2, "invalid": 1, "created": 0, "updated": 0, "unchanged": 0}
    assert not result.written
    assert snapshot() == before


def test_all_or_nothing_undoes_earlier_rows_when_a_service_refuses_a_later_one(world):
    small = register(dataclasses.replace(ORGUNITS, kind="test_orgunits_batch_of_one", batch_size=1))
    before = snapshot()
    rows = (["T100-A", None, "社区", "T100-A3", "甲三社区"], ["T100-A", None, "社区", "T100-A4", "甲四社区"],
            ["T100-D1", None, "社区", "T100-D1-1", "部门下的社区"])
    result = import_table(actor=world.admin, kind=small.kind, file=units_file(*rows))
    assert result.errors == [{"row": 5, "column": "", "message": "部门下不能设立社区"}]
    assert counts(result) == {"rows": 3, "valid": 2, "invalid": 1, "created": 0, "updated": 0, "unchanged": 0}
    assert snapshot() == before


def test_valid_only_writes_exactly_the_good_rows(world):
    result = import_table(actor=world.admin, kind="orgunits", file=BAD_KIND, mode="valid")
    assert counts(result) == {"rows": 3, "valid": 2, "invalid": 1, "created": 2, "updated": 0, "unchanged": 0}
    assert set(OrgUnit.objects.filter(code__startswith="T100-A").exclude(
        code__in=["T100-A", "T100-A1", "T100-A1-1"]).values_list("code", flat=True)) == {"T100-A3", "T100-A5"}


def test_a_dry_run_writes_nothing_and_says_what_would_happen(world):
    before = snapshot()
    result = import_table(actor=world.admin, kind="orgunits", file=NEW_UNITS, dry_run=True)
    assert counts(result) == {"rows": 4, "valid": 4, "invalid": 0, "created": 4, "updated": 0, "unchanged": 0}
    assert not result.written
    assert snapshot() == before


def test_a_dry_run_finds_the_refusals_of_the_service_too(world):
    before = snapshot()
    result = import_table(actor=world.admin, kind="orgunits", dry_run=True, file=units_file(
        ["T100-A", None, "社区", "T100-A3", "甲三社区"], ["T100-D1", None, "社区", "T100-D1-1", "部门下的社区"]))
    assert counts(result) == {"rows": 2, "valid": 1, "invalid": 1, "created": 1, "updated": 0, "unchanged": 0}
    assert result.errors == [{"row": 4, "column": "", "message": "部门下不能设立社区"}]
    assert snapshot() == before


def test_duplicate_codes_in_one_file_are_refused(world):
    result = import_table(actor=world.admin, kind="orgunits", mode="valid", file=units_file(
        ["T100-A", None, "社区", "T100-A3", "甲三社区"], ["T100-A", None, "社区", "t100-a3", "又一个"],
        ["T100-A", None, "社区", "T100-A4", "甲四社区"]))
    assert [(e["row"], e["message"]) for e in result.errors] == [
        (3, "编码与第 4 行重复，同一文件中每条记录只能出现一次"), (4, "编码与第 3 行重复，同一文件中每条记录只能出现一次")]
    assert counts(result)["created"] == 1


@pytest.fixture
def street_a_admin(world):
    return world.person("admin_a", Role.DISTRICT_ADMIN, world.street_a)


def test_units_outside_the_importers_reach_are_refused_row_by_row(world, street_a_admin):
    rows = (["T100-A", None, "社区", "T100-A3", "甲三社区"], ["T100-B", None, "社区", "T100-B3", "乙三社区"],
            [None, "乙一社区", "楼院", "T100-B1-2", "乙一2号院"], ["T100", None, "街道", "T100-B1", "改名"])
    before = snapshot()
    result = import_table(actor=street_a_admin, kind="orgunits", file=units_file(*rows))
    assert result.errors == [
        {"row": 4, "column": "上级编码", "message": "上级单位「T100-B」不存在或不在您的权限范围内"},
        {"row": 5, "column": "上级编码", "message": "上级单位「乙一社区」不存在或不在您的权限范围内"},
        {"row": 6, "column": "编码", "message": "编码 T100-B1 已被使用"},
    ]
    assert snapshot() == before
    result = import_table(actor=street_a_admin, kind="orgunits", file=units_file(*rows), mode="valid")
    assert counts(result)["created"] == 1
    assert OrgUnit.objects.filter(code__in=["T100-A3", "T100-B3", "T100-B1-2"]).count() == 1
    assert OrgUnit.objects.get(code="T100-B1").name == "乙一社区"


def test_progress_is_reported_up_to_the_total(world):
    calls = []
    import_table(actor=world.admin, kind="orgunits", file=NEW_UNITS, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 4)
    assert calls[-1] == (4, 4)
    assert [d for d, _t in calls] == sorted(d for d, _t in calls)


# --- people ----------------------------------------------------------------------------

PEOPLE = users_file(
    ["zhang3", "张三", 13812345678.0, "街道工作人员", "T100-A", None],
    ["li4", "李四 ", None, "collector", "甲一社区", "Str0ng-pass-2026"],
    ["wang5", "王五", None, "区级管理员", "T100-B", "123"],
)


def test_it_creates_people_with_their_role_and_one_audit_event_each(world):
    result = import_table(actor=world.admin, kind="users", file=PEOPLE, mode="valid")
    assert counts(result) == {"rows": 3, "valid": 2, "invalid": 1, "created": 2, "updated": 0, "unchanged": 0}
    assert [(e["row"], e["column"]) for e in result.errors] == [(4, "初始密码")]
    zhang3 = User.objects.get(username="zhang3")
    assert not zhang3.has_usable_password()
    assert personal.decrypt(zhang3.phone_enc) == "13812345678"
    assert list(zhang3.memberships.values_list("role", "org_unit__code")) == [("street_officer", "T100-A")]
    li4 = User.objects.get(username="li4")
    assert li4.display_name == "李四"
    assert check_password("Str0ng-pass-2026", li4.password)
    assert list(li4.memberships.values_list("role", "org_unit__code")) == [("collector", "T100-A1")]
    for user in (zhang3, li4):
        [event] = events_of(user)
        assert event.action == "create" and event.verb == "import"
    assert events_of(zhang3)[0].changes["phone"] == "138****5678"
    assert not User.objects.filter(username="wang5").exists()


def test_a_second_run_of_the_people_file_changes_nothing(world):
    import_table(actor=world.admin, kind="users", file=PEOPLE, mode="valid")
    before = snapshot()
    again = import_table(actor=world.admin, kind="users", file=PEOPLE, mode="valid")
    assert counts(again) == {"rows": 3, "valid": 2, "invalid": 1, "created": 0, "updated": 0, "unchanged": 2}
    assert snapshot() == before


def test_an_existing_person_gains_the_rows_role_and_new_phone(world):
    import_table(actor=world.admin, kind="users", file=PEOPLE, mode="valid")
    zhang3 = User.objects.get(username="zhang3")
    result = import_table(actor=world.admin, kind="users", file=users_file(
        ["ZHANG3", "张三", "13900001111", "采集员", "T100-A1", "ignored-Pass-2026"]))
    assert counts(result)["updated"] == 1
    zhang3.refresh_from_db()
    assert personal.decrypt(zhang3.phone_enc) == "13900001111"
    assert not zhang3.has_usable_password()
    assert set(zhang3.memberships.values_list("role", "org_unit__code")) == {
        ("street_officer", "T100-A"), ("collector", "T100-A1")}
    updates = [e for e in events_of(zhang3) if e.action == "update"]
    assert [e.changes for e in updates] == [{"phone": ["138****5678", "139****1111"],
                                             "membership": {"role": "collector", "unit": "T100-A1"}}]


def test_people_outside_the_importers_reach_are_refused_row_by_row(world, street_a_admin):
    file = users_file(
        ["a_ok", "甲", None, "采集员", "T100-A1", None],
        ["b_no", "乙", None, "采集员", "T100-B1", None],
        ["officer_b", "乙官", None, "采集员", "T100-A1", None],
    )
    before = snapshot()
    result = import_table(actor=street_a_admin, kind="users", file=file)
    # all-or-nothing stops before writing: the service's own refusals show up in a dry run or in "valid"
    assert result.errors == [
        {"row": 3, "column": "所属单位编码", "message": "单位「T100-B1」不存在或不在您的权限范围内"}]
    assert snapshot() == before
    result = import_table(actor=street_a_admin, kind="users", file=file, mode="valid")
    assert result.errors == [
        {"row": 3, "column": "所属单位编码", "message": "单位「T100-B1」不存在或不在您的权限范围内"},
        {"row": 4, "column": "用户名", "message": "用户名 officer_b 已被使用"},
    ]
    assert counts(result)["created"] == 1
    assert set(User.objects.filter(username__in=["a_ok", "b_no"]).values_list("username", flat=True)) == {"a_ok"}
    assert User.objects.get(username="officer_b").display_name == "officer_b"


def test_the_error_workbook_holds_the_refused_rows_without_passwords(world):
    result = import_table(actor=world.admin, kind="users", file=PEOPLE, mode="valid")
    rows = sheet_rows(errors_workbook(result))
    assert rows[0] == [*USER_HEADER, "原行号", "错误信息"]
    assert len(rows) == 2
    assert rows[1][:5] == ["wang5", "王五", "", "区级管理员", "T100-B"]
    assert rows[1][5] == ""  # the initial password is not written back
    assert rows[1][6] == 4
    assert rows[1][7].startswith("初始密码：")


# --- jobs --------------------------------------------------------------------------------

def test_a_small_import_job_runs_inline_and_keeps_the_error_workbook(world, settings):
    settings.TABLE_BACKGROUND_ROWS = 100
    job = table_job_start(actor=world.admin, direction="import", kind="orgunits", file=io.BytesIO(BAD_KIND),
                          filename="单位.xlsx", mode="valid")
    assert job.status == TableJob.Status.DONE
    assert (job.total, job.done, job.percent) == (3, 3, 100)
    assert job.summary["created"] == 2 and job.summary["errors_total"] == 1
    assert job.org_unit == world.district
    assert not job_path(job.source_file).exists()  # the upload is not kept once done
    response = job_download(job)
    assert "filename*=UTF-8''%E5%8D%95%E4%BD%8D-%E9%94%99%E8%AF%AF%E8%A1%8C.xlsx" in response["Content-Disposition"]
    rows = sheet_rows(b"".join(response.streaming_content))
    assert rows[1][3] == "T100-A4"


def test_a_big_import_job_is_queued_and_reports_progress(world, settings, django_capture_on_commit_callbacks):
    settings.TABLE_BACKGROUND_ROWS = 2
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = table_job_start(actor=world.admin, direction="import", kind="orgunits", file=NEW_UNITS,
                              filename="units.xlsx")
    assert job.status == TableJob.Status.QUEUED
    assert job_path(job.source_file).exists()
    assert len(callbacks) == 1
    callbacks[0]()
    job.refresh_from_db()
    assert job.status == TableJob.Status.DONE
    assert (job.total, job.done) == (4, 4)
    assert job.summary["created"] == 4
    assert run_job(job.pk) == job.summary  # a rerun of a finished job does nothing
    assert OrgUnit.objects.filter(code="T100-C").count() == 1


def test_a_job_whose_file_has_no_header_fails_with_the_reason(world):
    job = table_job_start(actor=world.admin, direction="import", kind="orgunits",
                          file=xlsx_bytes([["甲", "乙"], [1, 2]]), filename="x.xlsx")
    assert job.status == TableJob.Status.FAILED
    assert job.error.startswith("没有找到表头")


def test_a_job_refuses_a_file_that_is_not_a_table_before_creating_anything(world):
    with pytest.raises(TableFileError):
        table_job_start(actor=world.admin, direction="import", kind="orgunits", file=b"\x00\x01garbage",
                        filename="x.xlsx")
    assert not TableJob.objects.exists()


# --- the bulk upsert a module's service uses ------------------------------------------------

def _webhooks_apply(actor, rows, dry_run):
    return upsert(actor=actor, model=Webhook, rows=rows, key=("org_unit", "name"),
                  build=lambda row: {"org_unit": row.values["unit"], "name": row.values["name"],
                                     "url": row.values["url"], "active": row.values["active"] is not False},
                  compare=("url", "active"), changeable=Webhook.objects.restrict(actor, "change"),
                  unit_of=lambda hook: hook.org_unit)


def _webhooks_schema():
    return register(TableSchema(
        kind="test_webhooks", title="测试通知", natural_key=("unit", "name"), apply_batch=_webhooks_apply,
        columns=(Column("单位", "unit", type=UnitRef(roles=Webhook.reach.change), required=True),
                 Column("名称", "name", required=True, max_length=100),
                 Column("地址", "url", required=True, max_length=500),
                 Column("启用", "active", type=bool)),
    ))


def test_bulk_upsert_creates_updates_and_leaves_unchanged_with_one_event_per_changed_row(world):
    schema = _webhooks_schema()
    first = xlsx_bytes([["单位", "名称", "地址", "启用"],
                        ["T100-A", "群一", "https://example.org/1", "是"],
                        ["T100-A1", "群二", "https://example.org/2", None],
                        ["乙街道", "群三", "https://example.org/3", "否"]])
    result = import_table(actor=world.admin, kind=schema.kind, file=first)
    assert counts(result) == {"rows": 3, "valid": 3, "invalid": 0, "created": 3, "updated": 0, "unchanged": 0}
    hooks = {h.name: h for h in Webhook.objects.all()}
    assert (hooks["群三"].org_unit, hooks["群三"].active) == (world.street_b, False)
    assert all(len(events_of(h)) == 1 for h in hooks.values())

    second = xlsx_bytes([["单位", "名称", "地址", "启用"],
                         ["T100-A", "群一", "https://example.org/1", "是"],
                         ["T100-A1", "群二", "https://example.org/2-new", None],
                         ["乙街道", "群三", "https://example.org/3", "否"],
                         ["T100-A", "群四", "https://example.org/4", None]])
    result = import_table(actor=world.admin, kind=schema.kind, file=second)
    assert counts(result) == {"rows": 4, "valid": 4, "invalid": 0, "created": 1, "updated": 1, "unchanged": 2}
    hook = Webhook.objects.get(name="群二")
    assert hook.url == "https://example.org/2-new"
    assert [e.changes for e in events_of(hook) if e.action == "update"] == [
        {"url": ["https://example.org/2", "https://example.org/2-new"]}]
    assert len(events_of(Webhook.objects.get(name="群一"))) == 1


def test_bulk_upsert_refuses_a_record_the_actor_may_not_change(world):
    schema = _webhooks_schema()
    import_table(actor=world.admin, kind=schema.kind, file=xlsx_bytes(
        [["单位", "名称", "地址"], ["T100-B", "群", "https://example.org/b"]]))
    result = import_table(actor=world.officer_a, kind=schema.kind, mode="valid", file=xlsx_bytes(
        [["单位", "名称", "地址"], ["T100-A", "群", "https://example.org/a"], ["T100-B", "群", "https://x.org"]]))
    assert result.errors == [{"row": 3, "column": "单位", "message": "单位「T100-B」不存在或不在您的权限范围内"}]
    assert counts(result)["created"] == 1
    assert Webhook.objects.get(org_unit=world.street_b).url == "https://example.org/b"


# --- unit columns: streets and communities by name ----------------------------------------

def test_a_community_named_in_two_streets_is_found_within_the_rows_street(world):
    happy_a = services.orgunit_create(actor=world.root, parent=world.street_a, kind="community", code="T100-A9",
                                      name="幸福社区")
    services.orgunit_create(actor=world.root, parent=world.street_b, kind="community", code="T100-B9",
                            name="幸福社区")
    schema = register(TableSchema(
        kind="test_places", title="测试地点", natural_key=("name",), apply_batch=lambda actor, rows, dry: [],
        columns=(Column("名称", "name", required=True),
                 Column("所属街道", "street", type=UnitRef(kinds=("street",)), required=True),
                 Column("社区", "community", type=UnitRef(kinds=("community",), within="street")),
                 Column("所属单位", "other", type=UnitRef(by="code")))))
    table = read_table(schema, xlsx_bytes([
        ["名称", "所属街道", "社区", "所属单位"],
        ["一", "甲街道", "幸福社区", None],
        ["二", "T100-A", "乙一社区", None],
        ["三", "乙街道", "幸福社区", "甲街道"],
        ["四", "甲一社区", None, None],
    ]))
    valid, errors = check_rows(schema, world.officer_a, table)
    assert [(r.row, r.values["street"], r.values["community"]) for r in valid] == [
        (2, world.street_a, happy_a)]
    assert errors.items == [
        {"row": 3, "column": "社区", "message": "单位「乙一社区」不存在或不在您的权限范围内"},
        {"row": 4, "column": "所属街道", "message": "单位「乙街道」不存在或不在您的权限范围内"},
        {"row": 4, "column": "所属单位", "message": "单位「甲街道」不存在或不在您的权限范围内"},
        {"row": 5, "column": "所属街道", "message": "「甲一社区」是社区，此列应填写街道"},
    ]
    bare = register(dataclasses.replace(schema, kind="test_places_bare", columns=(
        schema.columns[0], dataclasses.replace(schema.columns[2], type=UnitRef(kinds=("community",))))))
    _valid, errors = check_rows(bare, world.admin, read_table(bare, csv_rows([["名称", "社区"], ["一", "幸福社区"]])))
    assert errors.items == [{"row": 2, "column": "社区", "message": "有 2 个名为「幸福社区」的单位，请改填单位编码"}]


def csv_rows(rows) -> bytes:
    return csv_bytes(rows, encoding="utf-8-sig")
