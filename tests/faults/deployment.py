"""What the fault tests do inside a deployment, each step its own process against the real
database, as an operator's shell would: ``python -m tests.faults.deployment COMMAND ...`` with the
deployment's environment (``GOVDESK_DATA_DIR``, ``DATABASE_URL``, the keys).

    build DIR ROWS DEVICE_ROWS   migrate; seed the district of the sync benchmark (a street, three
                                 communities, a collector and the collector's device token); register
                                 ROWS people through the import engine (the registry the export test
                                 exports); write DIR/import.xlsx (ROWS other people, for the import
                                 tests) and DIR/device.json (DEVICE_ROWS more, for the device);
                                 DIR/world.json says what was made
    start-import FILE MODE       queue a background import job as the system account, the way the
                                 表格导入导出 page does (``table_job_start``); prints the job id
    start-export                 queue a background export of the registry the same way; prints the job id
    check FILE                   JSON: how many of FILE's people the registry holds, and their audit events

The people come from the sync benchmark's generator (``bench.veterans_sync.people``): valid ID
numbers, all distinct, so the registry, the import file and the device never name the same person.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HEADERS = ["姓名", "性别", "公民身份号码", "联系电话", "人员类别", "民族", "入伍时间", "退役时间", "社区", "家庭住址",
           "户籍地址"]


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govdesk.settings")
    import django

    django.setup()


def write_workbook(path: Path, people: list[dict]) -> None:
    """The people as a register (花名册) an office would send: a title row, then the header."""
    from datetime import date

    import openpyxl

    from govdesk.core.models import OrgUnit
    from govdesk.veterans.models import Category

    categories = dict(Category.objects.values_list("code", "name"))
    communities = dict(OrgUnit.objects.values_list("pk", "name"))
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("花名册")
    sheet.append(["中原区退役军人和其他优抚对象信息采集花名册"])
    sheet.append(HEADERS)
    for p in people:
        sheet.append([p["name"], p["gender"], p["id_number"], p["phone"], categories[p["category"]], p["ethnicity"],
                      date.fromisoformat(p["enlisted_on"]) if p.get("enlisted_on") else None,
                      date.fromisoformat(p["discharged_on"]) if p.get("discharged_on") else None,
                      communities[p["community_id"]], p["residential_address"], p["household_address"]])
    book.save(path)


def build(folder: str, rows: str, device_rows: str) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from bench.veterans_sync import people, seed_world
    from govdesk.core.tables.run import import_table

    folder_path = Path(folder)
    rows_n, device_n = int(rows), int(device_rows)
    world = seed_world()
    everyone = people(2 * rows_n + device_n, world["communities"], seed=20261125)
    registry, to_import, device = everyone[:rows_n], everyone[rows_n:2 * rows_n], everyone[2 * rows_n:]
    write_workbook(folder_path / "registry.xlsx", registry)
    result = import_table(actor=_system(), kind="veterans-records",
                          file=folder_path / "registry.xlsx", mode="all")
    if result.errors or result.created != rows_n:
        raise SystemExit(f"registering the people failed: {result.to_dict()['errors'][:3]}")
    write_workbook(folder_path / "import.xlsx", to_import)
    (folder_path / "device.json").write_text(json.dumps(device, ensure_ascii=False))
    (folder_path / "world.json").write_text(json.dumps({
        "token": world["token"], "registry": rows_n, "import": rows_n, "device": device_n,
        "batch_size": _batch_size()}))


def _system():
    from govdesk.core.management.commands.import_table import command_actor

    return command_actor(None)


def _batch_size() -> int:
    from govdesk.core.tables import schema

    return schema.get("veterans-records").batch_size


def start_import(file: str, mode: str) -> None:
    from govdesk.core.tables.jobs import IMPORT, table_job_start

    job = table_job_start(actor=_system(), direction=IMPORT, kind="veterans-records", file=Path(file),
                          filename=Path(file).name, mode=mode, dry_run=False)
    print(job.pk)


def start_export() -> None:
    from govdesk.core.tables.jobs import EXPORT, table_job_start

    job = table_job_start(actor=_system(), direction=EXPORT, kind="veterans-records")
    print(job.pk)


def check(file: str) -> None:
    import openpyxl

    from govdesk.core import personal
    from govdesk.core.models import AuditEvent
    from govdesk.veterans.models import Record

    book = openpyxl.load_workbook(file, read_only=True)
    numbers = [row[2] for row in book.worksheets[0].iter_rows(min_row=3, values_only=True) if row and row[2]]
    book.close()
    indexes = [personal.blind_index("id_number", n) for n in numbers]
    found: dict[str, int] = {}
    ids: list[int] = []
    for start in range(0, len(indexes), 400):
        for pk, bidx in Record.objects.filter(id_number_bidx__in=indexes[start:start + 400]).values_list(
                "pk", "id_number_bidx"):
            found[bidx] = found.get(bidx, 0) + 1
            ids.append(pk)
    events = 0
    for start in range(0, len(ids), 400):
        events += AuditEvent.objects.filter(object_type="veterans.record", verb="import",
                                            object_id__in=[str(pk) for pk in ids[start:start + 400]]).count()
    print(json.dumps({"in_file": len(numbers), "present": len(found), "missing": len(numbers) - len(found),
                      "doubled": sum(1 for n in found.values() if n > 1), "import_events": events,
                      "records": Record.objects.count()}))


COMMANDS = {"build": build, "start-import": start_import, "start-export": start_export, "check": check}

if __name__ == "__main__":
    setup()
    COMMANDS[sys.argv[1]](*sys.argv[2:])
