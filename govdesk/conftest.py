"""Shared fixtures: the people every module's tests use.

``world`` builds a district with two streets (A and B), each with a community and a
courtyard, a department, and the people: a district administrator, a supervisor,
an officer of street A, an officer of street B, a department officer and an outsider
(a user with no membership). Module tests build their records on top of it.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import pytest

from govdesk.core import services
from govdesk.core.models import OrgUnit, User
from govdesk.core.reach import Role

PASSWORD = "Test@pass-2026"


def pytest_configure(config):
    from django.conf import settings

    # Hashing with the production hasher costs ~0.3 s a user; the tests make hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def services_required() -> bool:
    """In CI (.ci/run sets GOVDESK_REQUIRE_SERVICES=1) a missing service is a failure, not a skip."""
    return os.environ.get("GOVDESK_REQUIRE_SERVICES") == "1"


def skip_or_fail(message: str):
    if services_required():
        pytest.fail(f"{message} (GOVDESK_REQUIRE_SERVICES=1: CI needs it)")
    pytest.skip(message)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class World:
    root: User
    district: OrgUnit
    department: OrgUnit
    street_a: OrgUnit
    street_b: OrgUnit
    community_a: OrgUnit
    community_b: OrgUnit
    courtyard_a: OrgUnit
    courtyard_b: OrgUnit
    admin: User
    supervisor: User
    officer_a: User
    officer_b: User
    dept_officer: User
    outsider: User

    def person(self, username: str, role: str, unit: OrgUnit, name: str = "") -> User:
        """Another person with one membership (a collector of street A, a judge...)."""
        return services.user_create(actor=self.root, username=username, display_name=name or username,
                                    password=PASSWORD, role=role, unit=unit)


def build_world() -> World:
    root = User.objects.create_superuser("root", "", PASSWORD)
    make = services.orgunit_create
    district = make(actor=root, parent=None, kind="district", code="T100", name="测试区")
    department = make(actor=root, parent=district, kind="department", code="T100-D1", name="商务局")
    street_a = make(actor=root, parent=district, kind="street", code="T100-A", name="甲街道")
    street_b = make(actor=root, parent=district, kind="street", code="T100-B", name="乙街道")
    community_a = make(actor=root, parent=street_a, kind="community", code="T100-A1", name="甲一社区")
    community_b = make(actor=root, parent=street_b, kind="community", code="T100-B1", name="乙一社区")
    courtyard_a = make(actor=root, parent=community_a, kind="courtyard", code="T100-A1-1", name="甲一1号院")
    courtyard_b = make(actor=root, parent=community_b, kind="courtyard", code="T100-B1-1", name="乙一1号院")

    def person(username, role, unit):
        return services.user_create(actor=root, username=username, display_name=username, password=PASSWORD,
                                    role=role, unit=unit)

    outsider = User.objects.create_user("outsider", password=PASSWORD)
    return World(
        root=root, district=district, department=department, street_a=street_a, street_b=street_b,
        community_a=community_a, community_b=community_b, courtyard_a=courtyard_a, courtyard_b=courtyard_b,
        admin=person("admin", Role.DISTRICT_ADMIN, district),
        supervisor=person("supervisor", Role.SUPERVISOR, district),
        officer_a=person("officer_a", Role.STREET_OFFICER, street_a),
        officer_b=person("officer_b", Role.STREET_OFFICER, street_b),
        dept_officer=person("dept", Role.DEPARTMENT_OFFICER, department),
        outsider=outsider,
    )


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def client_for(client):
    """client_for(user) -> a Django test client logged in as ``user``."""
    from django.test import Client

    def make(user):
        c = Client()
        c.force_login(user)
        return c

    return make
