from datetime import timedelta

from django.core.management import BaseCommand, CommandError

from govdesk.veterans import uploads


class Command(BaseCommand):
    help = ("Forget resumable uploads that stopped arriving (govdesk veterans prune-uploads): receiving and "
            "untouched for --days (default VETERANS_UPLOAD_ABANDONED_DAYS, 7); partial files deleted, audited. "
            "Run it daily from cron.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=uploads.ABANDONED_AFTER.total_seconds() / 86400,
                            help="untouched for this many days (default %(default)s)")

    def handle(self, *args, days: float, **options):
        if days <= 0:
            raise CommandError("--days 应大于 0")
        count = uploads.uploads_prune(older_than=timedelta(days=days))
        self.stdout.write(self.style.SUCCESS(f"已清理 {count} 个中断超过 {days:g} 天的分片上传。"))
