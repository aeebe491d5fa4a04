import pytest

from govdesk.core import queries
from govdesk.core.models import AuditEvent, OrgUnit, User
from govdesk.core.testing import assert_visible_set

pytestmark = pytest.mark.django_db


def everything(world):
    return [world.district, world.department, world.street_a, world.street_b, world.community_a, world.community_b,
            world.courtyard_a, world.courtyard_b]


def test_org_units_visible_to_each_person(world):
    assert_visible_set(OrgUnit, world.admin, everything(world))
    assert_visible_set(OrgUnit, world.supervisor, everything(world))
    assert_visible_set(OrgUnit, world.officer_a, [world.street_a, world.community_a, world.courtyard_a])
    assert_visible_set(OrgUnit, world.officer_b, [world.street_b, world.community_b, world.courtyard_b])
    assert_visible_set(OrgUnit, world.dept_officer, [world.department])
    assert_visible_set(OrgUnit, world.outsider, [])


def test_only_the_district_admin_may_change_units(world):
    assert_visible_set(OrgUnit, world.admin, everything(world), action="change")
    for person in (world.supervisor, world.officer_a, world.dept_officer, world.outsider):
        assert_visible_set(OrgUnit, person, [], action="change")


def test_users_visible_through_memberships(world):
    ids = set(queries.users_visible(world.admin).values_list("username", flat=True))
    assert ids == {"admin", "supervisor", "officer_a", "officer_b", "dept"}
    assert not queries.users_visible(world.officer_a).exists()


def test_audit_events_are_for_admins_and_supervisors_only(world):
    all_events = AuditEvent.objects.all()
    assert_visible_set(AuditEvent, world.supervisor, all_events)
    assert_visible_set(AuditEvent, world.officer_a, [])
    assert_visible_set(AuditEvent, world.outsider, [])


def test_search_by_pinyin_initials_and_full_width_input(world):
    assert list(queries.units_visible(world.admin, search="jjd")) == [world.street_a]
    assert list(queries.units_visible(world.admin, search="ＪＪＤ")) == [world.street_a]
    assert list(queries.units_visible(world.officer_a, search="yjd")) == []


def test_inactive_users_reach_nothing(world):
    User.objects.filter(pk=world.admin.pk).update(is_active=False)
    assert_visible_set(OrgUnit, User.objects.get(pk=world.admin.pk), [])
