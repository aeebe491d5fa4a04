from datetime import date

from django.core.management import BaseCommand, CommandError

from govdesk.mall import services


class Command(BaseCommand):
    help = "Run the mall's supervision rules over the orders (set-based) and raise new flags."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="only orders placed on or after this date (YYYY-MM-DD)")

    def handle(self, *args, since=None, **options):
        try:
            since_day = date.fromisoformat(since) if since else None
        except ValueError:
            raise CommandError("--since 应为 YYYY-MM-DD 格式的日期") from None
        raised = services.sweep(since=since_day)
        self.stdout.write(self.style.SUCCESS(f"监管巡查完成，新增预警 {raised} 条。"))
