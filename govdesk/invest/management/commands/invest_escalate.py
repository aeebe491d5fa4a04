"""`govdesk invest escalate [--date YYYY-MM-DD]` (also `govdesk invest_escalate`): escalate every overdue
appeal to the assessment and supervision group. Run it from cron, shortly after midnight and then hourly;
reading the appeals list or the API never escalates (a read writes nothing)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from govdesk.invest import services


class Command(BaseCommand):
    help = "Escalate overdue investment appeals to the assessment and supervision group"

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day to check as (default: today, Asia/Shanghai)")

    def handle(self, *args, **options):
        today = None
        if options.get("date"):
            try:
                today = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError("--date must be YYYY-MM-DD") from None
        count = services.appeals_escalate(today=today)
        self.stdout.write(f"escalated {count} overdue appeal(s)")
