"""govdesk import KIND FILE: import a spreadsheet through the tables engine.

Exit codes: 0 every row was accepted; 1 some rows were refused (in ``--mode all``
then nothing was written); 2 the file, the table kind or the arguments could not
be used. With ``--json`` stdout is exactly one JSON object:
``{"kind", "rows", "valid", "invalid", "created", "updated", "unchanged", "errors"}``,
or ``{"kind", "error"}`` when the exit code is 2.

Runs as ``--user USERNAME``, or without it as the first superuser (the system
account created at setup, which holds the whole org tree).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management import BaseCommand

from govdesk.core.models import User
from govdesk.core.tables import schema as registry
from govdesk.core.tables.read import TableFileError
from govdesk.core.tables.run import ALL, MODES, errors_workbook, import_table

SHOWN_ERRORS = 50


class UnusableInput(Exception):
    """Exit 2: the arguments, the account or the file cannot be used."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def command_actor(username: str | None) -> User:
    """The account a command acts as: ``--user`` or the first superuser."""
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise UnusableInput(f"没有名为「{username}」的有效用户")
        return user
    user = User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()
    if user is None:
        raise UnusableInput("没有系统管理员账号：请先运行 govdesk createsuperuser，或用 --user 指定用户")
    return user


class Command(BaseCommand):
    help = "导入表格：import_table KIND FILE [--dry-run] [--mode all|valid] [--errors OUT.xlsx] [--json] [--user USERNAME]"

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", help="表格种类（--list 列出全部）")
        parser.add_argument("file", nargs="?", help=".xlsx、.xls 或 .csv 文件")
        parser.add_argument("--dry-run", action="store_true", help="只检查，不写入")
        parser.add_argument("--mode", choices=MODES, default=ALL,
                            help="all：有任何错误行则全部不写入（默认）；valid：只导入无误的行")
        parser.add_argument("--errors", metavar="OUT.xlsx", help="把错误行连同错误信息写入此文件")
        parser.add_argument("--json", action="store_true", help="以一个 JSON 对象输出结果")
        parser.add_argument("--user", metavar="USERNAME", help="以此用户身份导入（默认：第一个系统管理员）")
        parser.add_argument("--list", action="store_true", help="列出可导入的表格种类")

    def handle(self, *args, **options):
        if options["list"]:
            for schema in registry.all_schemas():
                self.stdout.write(f"{schema.kind}\t{schema.title}")
            return
        kind, as_json = options["kind"] or "", options["json"]
        try:
            result = self._run(kind, options)
        except UnusableInput as e:
            self._unusable(kind, e.message, as_json)
        except (TableFileError, registry.UnknownTable) as e:
            self._unusable(kind, e.message, as_json)
        if options["errors"] and result.errors:
            Path(options["errors"]).write_bytes(errors_workbook(result))
        if as_json:
            self.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, default=str))
        else:
            self._report(result, options)
        if result.errors:
            sys.exit(1)

    def _run(self, kind: str, options):
        if not kind or not options["file"]:
            raise UnusableInput("请指定表格种类和文件，例如：import_table orgunits 单位.xlsx（--list 列出表格种类）")
        registry.get(kind)
        path = Path(options["file"])
        if not path.is_file():
            raise UnusableInput(f"找不到文件：{path}")
        actor = command_actor(options["user"])
        return import_table(actor=actor, kind=kind, file=path, filename=path.name, mode=options["mode"],
                            dry_run=options["dry_run"])

    def _unusable(self, kind: str, message: str, as_json: bool):
        if as_json:
            self.stdout.write(json.dumps({"kind": kind, "error": message}, ensure_ascii=False))
        self.stderr.write(message)
        sys.exit(2)

    def _report(self, result, options):
        title = registry.get(result.kind).title
        line = (f"{title}：共 {result.rows} 行，有效 {result.valid} 行，无效 {result.invalid} 行；"
                f"新增 {result.created}，更新 {result.updated}，未变 {result.unchanged}")
        if result.dry_run:
            line += "（试运行，未写入）"
        elif result.errors and result.mode == ALL:
            line += "。有错误行，未写入任何数据（--mode valid 可只导入无误的行）"
        self.stdout.write(line)
        for error in result.errors[:SHOWN_ERRORS]:
            column = f" {error['column']}" if error["column"] else ""
            self.stdout.write(f"  第 {error['row']} 行{column}：{error['message']}")
        if len(result.errors) > SHOWN_ERRORS:
            self.stdout.write(f"  ……另有 {len(result.errors) - SHOWN_ERRORS} 条错误")
        if options["errors"] and result.errors:
            self.stdout.write(f"错误行已写入 {options['errors']}")
