from django.conf import settings
from django.core.management import BaseCommand, call_command


class Command(BaseCommand):
    help = "Run the background task worker (imports, exports, notifications)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="run what is queued, then stop")

    def handle(self, *args, batch=False, **options):
        if settings.TASK_BACKEND == "rq":
            # RQ must run our tasks with the backend's Job class, which knows django-tasks' Task objects.
            call_command("rqworker", "default", "--job-class", "django_tasks_rq.backend.Job",
                         *(["--burst"] if batch else []))
        else:
            call_command("db_worker", *(["--batch"] if batch else []), "--interval", "0.5")
