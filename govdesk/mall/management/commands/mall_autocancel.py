from django.core.management import BaseCommand

from govdesk.mall import services


class Command(BaseCommand):
    help = "Expire negotiations past their deadline and cancel orders not confirmed in time."

    def handle(self, *args, **options):
        expired = services.expire_negotiations()
        cancelled = services.orders_autocancel()
        self.stdout.write(self.style.SUCCESS(f"已关闭过期议价 {expired} 个，自动取消订单 {cancelled} 笔。"))
