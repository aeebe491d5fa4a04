"""govdesk export KIND OUT.xlsx: export a table the way the pages do (scoped, masked, audited).

Runs as ``--user USERNAME``, or without it as the first superuser. Personal data
is masked unless ``--unmask`` is given and the user may see it in full (the table's
rule, as on its page); the unmasking is then audited. Exit codes: 0 written; 2 the
kind, the account, the output path or ``--unmask`` could not be used.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management import BaseCommand

from govdesk.core.tables import schema as registry
from govdesk.core.tables.export import export_rows, may_unmask_export

from .import_table import UnusableInput, command_actor


class Command(BaseCommand):
    help = "导出表格：export_table KIND OUT.xlsx [--user USERNAME] [--unmask]"

    def add_arguments(self, parser):
        parser.add_argument("kind", help="表格种类（import_table --list 列出全部）")
        parser.add_argument("out", metavar="OUT.xlsx", help="写入的文件")
        parser.add_argument("--user", metavar="USERNAME", help="以此用户身份导出（默认：第一个系统管理员）")
        parser.add_argument("--unmask", action="store_true",
                            help="导出完整的身份证号、电话等个人信息（须有权限，记入审计）")

    def handle(self, *args, kind: str, out: str, user: str | None = None, unmask: bool = False, **options):
        try:
            schema = registry.get(kind)
            if not schema.exportable:
                raise UnusableInput(f"「{schema.title}」不能导出")
            actor = command_actor(user)
            target = Path(out)
            if not target.parent.is_dir():
                raise UnusableInput(f"目录不存在：{target.parent}")
            if unmask and not may_unmask_export(actor, schema):
                raise UnusableInput("该用户无权导出完整的个人敏感信息（去掉 --unmask 可导出脱敏数据）")
        except (UnusableInput, registry.UnknownTable) as e:
            self.stderr.write(e.message)
            sys.exit(2)
        count = export_rows(actor=actor, kind=kind, title=schema.title, columns=schema.export_columns,
                            queryset=schema.export_query(actor, {}), path_or_stream=target, unmask=unmask)
        self.stdout.write(f"已导出 {count} 行到 {target}")
