import subprocess
import sys

from django.conf import settings
from django.core.management import BaseCommand, call_command

from govdesk.core import demo


class Command(BaseCommand):
    help = "Migrate, load the Zhongyuan District demo (once), start a worker and serve on 127.0.0.1:8000."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="prepare the database and stop")
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, no_serve=False, addr="127.0.0.1:8000", **options):
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        if demo.seeded():
            self.stdout.write("演示数据已存在，跳过导入。")
        else:
            self.stdout.write("正在导入中原区演示数据……")
            demo.seed_all()
            self.stdout.write(self.style.SUCCESS("演示数据已导入。"))
        self.stdout.write(demo.logins_text())
        if no_serve:
            return
        worker = subprocess.Popen([sys.executable, "-m", "govdesk.cli", "worker"])
        self.stdout.write(f"后台任务进程已启动（pid {worker.pid}）。打开 http://{addr}/ 登录。")
        try:
            call_command("runserver", addr, use_reloader=False)
        finally:
            worker.terminate()
