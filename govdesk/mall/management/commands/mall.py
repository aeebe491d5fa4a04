"""``govdesk mall sweep [--since DATE]`` · ``govdesk mall autocancel`` · ``govdesk mall rollup --rebuild``."""

from datetime import date

from django.core.management import BaseCommand, CommandError

from govdesk.mall import rollups, services


class Command(BaseCommand):
    help = "The mall's periodic jobs: the supervision sweep, auto-cancel, and the figures' rollup."

    def add_arguments(self, parser):
        jobs = parser.add_subparsers(dest="job", required=True)
        sweep = jobs.add_parser("sweep", help="run every supervision rule over the orders and raise new flags")
        sweep.add_argument("--since", help="only orders placed on or after this date (YYYY-MM-DD)")
        jobs.add_parser("autocancel", help="expire negotiations past their deadline, cancel unconfirmed orders")
        rollup = jobs.add_parser("rollup", help="the figures' rollup (kept by the order services)")
        rollup.add_argument("--rebuild", action="store_true", help="recompute it from the orders")

    def handle(self, *args, job, since=None, rebuild=False, **options):
        if job == "sweep":
            try:
                since_day = date.fromisoformat(since) if since else None
            except ValueError:
                raise CommandError("--since 应为 YYYY-MM-DD 格式的日期") from None
            raised = services.sweep(since=since_day)
            self.stdout.write(self.style.SUCCESS(f"监管巡查完成，新增预警 {raised} 条。"))
        elif job == "autocancel":
            expired = services.expire_negotiations()
            cancelled = services.orders_autocancel()
            self.stdout.write(self.style.SUCCESS(f"已关闭过期议价 {expired} 个，自动取消订单 {cancelled} 笔。"))
        elif not rebuild:
            raise CommandError("订单汇总由下单、取消、议价等操作随时维护；需要重算时请加 --rebuild")
        else:
            rows = rollups.rebuild()
            self.stdout.write(self.style.SUCCESS(f"订单汇总已重算：{rows} 行。"))
