import sys

from django.core.management import BaseCommand

from govdesk.core.backup import BackupError, restore


class Command(BaseCommand):
    help = "Replace the database and the uploaded files with a backup archive, then verify it."

    def add_arguments(self, parser):
        parser.add_argument("archive")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, archive, yes=False, **options):
        if not yes:
            answer = input("恢复会覆盖当前全部数据和附件，确定继续？输入 yes 确认：")
            if answer.strip().lower() != "yes":
                self.stdout.write("已取消。")
                return
        try:
            manifest = restore(archive)
        except BackupError as e:
            self.stderr.write(str(e))
            sys.exit(2)
        rows = sum(manifest["counts"].values())
        self.stdout.write(self.style.SUCCESS(
            f"已从 {archive} 恢复（备份时间 {manifest['created_at']}）：{rows} 行数据，审计链校验通过。"))
