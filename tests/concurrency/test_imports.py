"""The same spreadsheet imported twice at the same moment (two officers of a street uploading
the sheet they were both sent, or one impatient double submit): every natural key is in the
table once, the rows the two imports report as created add up to the rows of the file, and the
audit chains verify."""

from __future__ import annotations

import pytest

from govdesk.coal.models import Place
from govdesk.core.audit import verify
from govdesk.core.models import AuditEvent
from govdesk.core.tables.run import import_table
from govdesk.core.tables.testing import xlsx_bytes
from govdesk.invest.models import Parcel
from govdesk.veterans.models import CollectionPoint

from .conftest import at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROWS = 30


def coal_places(tag):
    rows = [["甲街道", "甲一社区", "住户", f"住户{tag}{i:02d}", f"甲一社区 {i} 号楼", "", None, None] for i in range(ROWS)]
    data = xlsx_bytes([["甲街道散煤点位排查表"], ["所属街道", "社区", "场所类型", "场所名称", "详细地址", "负责人",
                                                   "联系电话", "状态"], *rows], merges=["A1:H1"])
    return data, lambda: list(Place.objects.values_list("community_id", "name", "address"))


def invest_parcels(tag):
    rows = [["甲街道", f"地块{tag}{i:02d}", f"甲路 {i} 号", 10 + i, "工业"] for i in range(ROWS)]
    data = xlsx_bytes([["街道", "地块名称", "位置", "面积（亩）", "用途"], *rows])
    return data, lambda: list(Parcel.objects.values_list("org_unit_id", "name"))


def veterans_points(tag):
    rows = [[f"采集点{tag}{i:02d}", "甲一社区", f"建设路 {i} 号", "09:00", "11:00", 40, 60] for i in range(ROWS)]
    data = xlsx_bytes([["采集点名称", "所属社区", "地址", "开始时间", "结束时间", "每日接待量", "时段长度（分钟）"], *rows])
    return data, lambda: list(CollectionPoint.objects.values_list("org_unit_id", "name"))


def model_of(kind: str) -> str:
    return {"coal-places": "coal.place", "invest-parcels": "invest.parcel",
            "veterans-points": "veterans.collectionpoint"}[kind]


FILES = {"coal-places": coal_places, "invest-parcels": invest_parcels, "veterans-points": veterans_points}


def test_the_same_file_imported_twice_at_once_leaves_each_key_once(world):
    for kind, mode in [(kind, mode) for kind in sorted(FILES) for mode in ("all", "valid")]:
        data, keys = FILES[kind](mode)  # one file per mode (its own names), so each starts from none
        where = f"{kind} ({mode})"
        before = len(keys())
        created_before = AuditEvent.objects.filter(action=AuditEvent.Action.CREATE, object_type=model_of(kind)).count()
        results = at_once(*[lambda data=data, kind=kind, mode=mode: import_table(
            actor=world.officer_a, kind=kind, file=data, filename=f"{mode}.xlsx", mode=mode) for _ in range(2)])
        problems = [r for r in results if isinstance(r, Exception)]
        assert not problems, (where, problems)
        for r in results:
            assert r.rows == ROWS and r.updated == 0 and r.invalid == 0, (where, r.to_dict())
        after = keys()
        assert len(after) == len(set(after)), f"{where}: a natural key was written twice"
        assert len(after) - before == ROWS, where
        # each row was created by one of the two imports and found unchanged by the other (in
        # ``valid`` mode their batches may take turns, so either may have created some)
        assert sum(r.created for r in results) == ROWS, (where, [r.to_dict() for r in results])
        assert all(r.created + r.unchanged == ROWS for r in results), (where, [r.to_dict() for r in results])
        imports = AuditEvent.objects.filter(action=AuditEvent.Action.IMPORT, object_id=kind,
                                            changes__filename=f"{mode}.xlsx")
        assert sum(e.changes["created"] for e in imports) == ROWS, where
        assert AuditEvent.objects.filter(action=AuditEvent.Action.CREATE, object_type=model_of(kind)).count() \
            - created_before == ROWS, f"{where}: one create event per row"
    _checked, broken = verify()
    assert broken is None, broken
