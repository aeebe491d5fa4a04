import getpass

from django.core.management import BaseCommand, CommandError

from govdesk.core import services
from govdesk.core.errors import ServiceError
from govdesk.core.models import OrgUnit, User
from govdesk.core.reach import Role


class Command(BaseCommand):
    help = "Create a district administrator for the root unit (and a superuser to create it with, if none)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="")
        parser.add_argument("--password", help="read from the terminal when omitted")

    def handle(self, *args, username, name="", password=None, **options):
        root_unit = OrgUnit.objects.filter(parent=None).order_by("id").first()
        if root_unit is None:
            raise CommandError("还没有组织机构：先运行 govdesk demo --no-serve 或导入组织机构")
        password = password or getpass.getpass("密码：")
        system = User.objects.filter(is_superuser=True).first()
        if system is None:
            raise CommandError("没有系统管理员账号：先运行 govdesk createsuperuser")
        try:
            user = services.user_create(actor=system, username=username, display_name=name, password=password,
                                        role=Role.DISTRICT_ADMIN, unit=root_unit)
        except ServiceError as e:
            raise CommandError(e.message) from None
        self.stdout.write(self.style.SUCCESS(f"已创建区级管理员 {user.username}（{root_unit.name}）"))
