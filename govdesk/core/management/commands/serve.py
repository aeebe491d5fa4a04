from django.core.management import BaseCommand, call_command


class Command(BaseCommand):
    help = "Serve GovDesk on 127.0.0.1:8000 (development server; production: gunicorn, see docs/OPERATIONS.md)."

    def add_arguments(self, parser):
        parser.add_argument("addr", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addr="127.0.0.1:8000", **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("runserver", addr, use_reloader=False)
