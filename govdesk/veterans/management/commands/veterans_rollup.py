from django.core.management import BaseCommand, CommandError

from govdesk.veterans import progress


class Command(BaseCommand):
    help = ("Rebuild the veterans progress rollups from the records (govdesk veterans_rollup), "
            "or with --check only compare them and exit 1 on any difference.")

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="compare only; exit 1 when they differ")

    def handle(self, *args, check=False, **options):
        if check:
            problems = progress.rollup_drift()
            for line in problems[:50]:
                self.stdout.write(line)
            if problems:
                raise CommandError(f"采集进度汇总与记录不一致：{len(problems)} 处；请运行 govdesk veterans_rollup 重建")
            self.stdout.write(self.style.SUCCESS("采集进度汇总与记录一致。"))
            return
        out = progress.rollup_rebuild(actor=None)
        rows = "，".join(f"{grain} {n} 行" for grain, n in sorted(out.items()))
        self.stdout.write(self.style.SUCCESS(f"已重建采集进度汇总：{rows or '无记录'}。"))
