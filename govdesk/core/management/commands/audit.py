import sys

from django.core.management import BaseCommand

from govdesk.core.audit import verify


class Command(BaseCommand):
    help = "Audit trail tools. `audit verify` recomputes every hash chain and names the first broken link."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])
        parser.add_argument("--chain", action="append", help="only this chain (repeatable)")

    def handle(self, *args, action, chain=None, **options):
        checked, broken = verify(chain)
        if broken is None:
            self.stdout.write(self.style.SUCCESS(f"审计链完好：共校验 {checked} 条事件。"))
            return
        self.stderr.write(
            f"审计链被破坏：链 {broken.chain} 第 {broken.seq} 条（事件 id {broken.event_id}）：{broken.reason}")
        sys.exit(1)
