import sys

from django.core.management import BaseCommand

from govdesk.core.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database and the uploaded files into one archive (keys are not included)."

    def add_arguments(self, parser):
        parser.add_argument("out", help="the archive to write, e.g. govdesk-2026-11-25.tar.gz")

    def handle(self, *args, out, **options):
        try:
            manifest = backup(out)
        except BackupError as e:
            self.stderr.write(str(e))
            sys.exit(2)
        rows = sum(manifest["counts"].values())
        self.stdout.write(self.style.SUCCESS(f"已备份到 {out}：{rows} 行数据，{len(manifest['chains'])} 条审计链。"))
