"""Coal fixtures on top of the shared ``world``: the district's coal office (散煤办) with
its officer, a place in each street, and helpers for dates and findings."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from govdesk.coal import services
from govdesk.core import services as core_services
from govdesk.core.reach import Role

COAL = {"coal_present": True, "coal_kind": "raw", "quantity_kg": "50", "source": "流动商贩", "storage": "院内",
        "used_by": "王某", "educated": True}
CLEAN = {"coal_present": False, "educated": True}


def ago(days: int = 0, hours: int = 1):
    return timezone.now() - timedelta(days=days, hours=hours)


def on(day, hour: int = 10):
    """An aware time on a local date."""
    return timezone.make_aware(datetime.combine(day, time(hour)))


def rectify(days_from_now: int = 10) -> dict:
    return {**COAL, "rectification_ordered": True,
            "rectification_deadline": timezone.localdate() + timedelta(days=days_from_now)}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def office(world):
    department = core_services.orgunit_create(actor=world.root, parent=world.district, kind="department",
                                              code="T100-SMB", name="散煤办")
    services.office_designate(actor=world.admin, department=department)
    officer = world.person("sanmei", Role.DEPARTMENT_OFFICER, department)
    return SimpleNamespace(department=department, officer=officer)


@pytest.fixture
def coal(world, office):
    """A place in each street, created by that street's officer."""
    place_a = services.place_create(actor=world.officer_a, community=world.community_a, name="王记烧饼店",
                                    kind="restaurant", address="甲一社区 3 号楼", contact_name="王先生",
                                    contact_phone="13812345678")
    place_b = services.place_create(actor=world.officer_b, community=world.community_b, name="李某某家",
                                    kind="household", address="乙一社区 5 号楼")
    return SimpleNamespace(office=office, place_a=place_a, place_b=place_b)
