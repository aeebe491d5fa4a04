"""Veterans fixtures on top of the core ``world``: the veterans department and its officer,
a collector in each street, and synthetic people with valid ID numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

import pytest
from stdnum.cn import ric

from govdesk.core import services as core_services
from govdesk.core.models import OrgUnit, User
from govdesk.core.reach import Role
from govdesk.veterans import services
from govdesk.veterans.models import Category

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.4\n% scanned discharge certificate\n"


def id_number(born=date(1975, 3, 1), male=True, seq=1, region="410100") -> str:
    # stdnum checks the county code against the birth year: 410102 (中原区, since 1983) only
    # passes for people born from 1983; 410100 (郑州市) has no date range.
    body = f"{region}{born:%Y%m%d}{seq * 2 + (1 if male else 0):03d}"
    return body + ric.calc_check_digit(body + "0")


def person(community: OrgUnit, *, seq=1, male=True, born=date(1975, 3, 1), category="tuiyishibing", **extra) -> dict:
    data = {
        "name": "张建国" if male else "李秀英", "gender": "男" if male else "女", "ethnicity": "汉族",
        "birth_date": born, "id_number": id_number(born, male, seq), "phone": "13812345678",
        "category": category, "community": community, "household_address": "郑州市中原区建设路 1 号",
        "residential_address": "郑州市中原区建设路 1 号", "political_status": "中共党员", "education": "大学专科",
        "enlisted_on": date(born.year + 18, 3, 1), "discharged_on": date(born.year + 22, 12, 1),
        "service_unit": "31001部队", "branch": "陆军", "rank": "中士", "discharge_type": "退伍",
        "placement": "自主就业",
    }
    data.update(extra)
    return data


@dataclass
class Vets:
    world: object
    department: OrgUnit
    officer: User  # 退役军人事务局
    collector_a: User
    collector_b: User

    def record(self, actor=None, community=None, **kwargs):
        actor = actor or self.collector_a
        community = community or self.world.community_a
        return services.record_create(actor=actor, data=person(community, **kwargs))

    def point(self, unit=None, capacity=4, slot_minutes=60, actor=None):
        return services.point_create(actor=actor or self.world.officer_a, unit=unit or self.world.community_a,
                                     name="甲一社区采集点", address="建设路 1 号", opens_at=time(9, 0),
                                     closes_at=time(11, 0), daily_capacity=capacity, slot_minutes=slot_minutes,
                                     open_days=3)


@pytest.fixture
def vets(world, settings, tmp_path) -> Vets:
    settings.MEDIA_ROOT = tmp_path / "media"
    department = core_services.orgunit_create(actor=world.root, parent=world.district, kind="department",
                                              code="T100-D9", name="退役军人事务局")
    return Vets(
        world=world, department=department,
        officer=world.person("tuiyi", Role.DEPARTMENT_OFFICER, department),
        collector_a=world.person("collector_a", Role.COLLECTOR, world.street_a),
        collector_b=world.person("collector_b", Role.COLLECTOR, world.street_b),
    )


@pytest.fixture
def categories(db):
    return {c.code: c for c in Category.objects.all()}
