from django.conf import settings
from django.core.management import BaseCommand, call_command
from django.db import DatabaseError

from govdesk.core.tables.jobs import table_jobs_recover, worker_id


class Command(BaseCommand):
    help = "Run the background task worker (imports, exports, notifications)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="run what is queued, then stop")

    def handle(self, *args, batch=False, **options):
        # Table jobs whose process died on this host (a worker killed mid-task, the server killed
        # during a job it ran inline) would show "running" for ever: queue them again.
        try:
            requeued = table_jobs_recover()
        except DatabaseError as e:  # the worker still runs what needs no tables (webhook deliveries)
            self.stderr.write(f"未能检查中断的表格任务（数据库尚未迁移？）：{e}")
            requeued = 0
        if requeued:
            self.stdout.write(f"已重新排队 {requeued} 个因进程中断而未完成的表格任务")
        if settings.TASK_BACKEND == "rq":
            # RQ must run our tasks with the backend's Job class, which knows django-tasks' Task objects.
            call_command("rqworker", "default", "--job-class", "django_tasks_rq.backend.Job",
                         *(["--burst"] if batch else []))
        else:
            call_command("db_worker", *(["--batch"] if batch else []), "--interval", "0.5",
                         "--worker-id", worker_id())
