"""Invest fixtures on top of the shared ``world``: the commerce bureau (world.department) leads,
three squads, and helpers that make firms, projects and appeals through the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from stdnum.cn import uscc

from govdesk.core.reach import Role
from govdesk.invest import services
from govdesk.invest.models import HqGroup, Industry, Region, Squad


def credit_code(n: int) -> str:
    base = f"91410102{n:09d}"
    return base + uscc.calc_check_digit(base)


@dataclass
class Desk:
    world: object
    yrd: Squad
    prd: Squad
    bohai: Squad
    member: object  # a 财政局 officer who sits in the YRD squad
    finance: object  # the 财政局 unit

    def industry(self, code="hq") -> Industry:
        return Industry.objects.get(code=code)

    def group(self, name="招商组") -> HqGroup:
        return HqGroup.objects.get(name=name)

    def firm(self, name, *, squad=None, code="", region=Region.YRD, industry="hq", actor=None, **kw):
        return services.firm_create(actor=actor or self.world.dept_officer, unit=self.world.department, name=name,
                                    industry=self.industry(industry), region=region, credit_code=code,
                                    squad=squad, **kw)

    def project(self, name, firms, *, planned="1000", actor=None, **kw):
        kw.setdefault("hq_group", self.group())
        return services.project_create(actor=actor or self.world.dept_officer, unit=self.world.department,
                                       firms=firms, name=name, industry=self.industry(), planned_investment=planned,
                                       leader="王副区长", **kw)

    def appeal(self, firm, *, received_on=date(2026, 11, 2), urgency="normal", title="用地指标", handler=None):
        return services.appeal_create(actor=self.world.dept_officer, firm=firm, category="land", title=title,
                                      detail="需要 30 亩工业用地", urgency=urgency, owner_group=self.group("土地规划组"),
                                      handler=handler or self.world.dept_officer, received_on=received_on)


@pytest.fixture
def desk(world) -> Desk:
    services.office_configure(actor=world.admin, lead_unit=world.department, stall_amber_days=30, stall_red_days=60)
    make = services.squad_create
    yrd = make(actor=world.dept_officer, unit=world.department, name="长三角小分队", region=Region.YRD)
    prd = make(actor=world.dept_officer, unit=world.department, name="珠三角小分队", region=Region.PRD)
    bohai = make(actor=world.dept_officer, unit=world.department, name="环渤海小分队", region=Region.BOHAI)
    from govdesk.core import services as core_services
    finance = core_services.orgunit_create(actor=world.root, parent=world.district, kind="department",
                                           code="T100-D2", name="财政局")
    member = world.person("member", Role.DEPARTMENT_OFFICER, finance)
    services.squad_member_add(actor=world.dept_officer, squad=yrd, user=member)
    return Desk(world=world, yrd=yrd, prd=prd, bohai=bohai, member=member, finance=finance)


@pytest.fixture
def upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    def make(name="协议.pdf", content=b"%PDF-1.4\n% signed agreement\n", content_type="application/pdf"):
        return SimpleUploadedFile(name, content, content_type=content_type)

    return make


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT


__all__ = ["Decimal", "credit_code"]
