import pytest
from django.db import connection

from govdesk.core import services
from govdesk.core.errors import Forbidden, NotInReach, ServiceError
from govdesk.core.models import AuditEvent, Membership, OrgUnit, User
from govdesk.core.reach import Role
from govdesk.core.testing import assert_write_refused

pytestmark = pytest.mark.django_db


def events_for(obj):
    return AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))


def test_it_creates_a_unit_under_a_parent_with_one_audit_event(world):
    before = AuditEvent.objects.count()
    unit = services.orgunit_create(actor=world.admin, parent=world.street_a, kind="community", code="A-NEW",
                                   name="新建社区")
    assert unit.path == f"{world.street_a.path}{unit.pk}/"
    assert unit.depth == 2
    assert unit.initials == "xjsq"
    assert AuditEvent.objects.count() == before + 1
    event = events_for(unit).get()
    assert event.action == "create" and event.actor_name == "admin" and event.changes["name"] == "新建社区"


def test_it_refuses_a_kind_that_cannot_sit_under_the_parent(world):
    with pytest.raises(ServiceError, match="街道下不能设立楼院"):
        services.orgunit_create(actor=world.admin, parent=world.street_a, kind="courtyard", code="X1", name="某院")


def test_it_refuses_a_duplicate_code_and_writes_nothing(world):
    count = OrgUnit.objects.count()
    with pytest.raises(ServiceError, match="已被使用"):
        services.orgunit_create(actor=world.admin, parent=world.street_a, kind="community", code="T100-A1",
                                name="重复")
    assert OrgUnit.objects.count() == count


def test_it_refuses_blank_and_overlong_names(world):
    with pytest.raises(ServiceError, match="请填写名称"):
        services.orgunit_create(actor=world.admin, parent=world.street_a, kind="community", code="Z1", name="  ")
    with pytest.raises(ServiceError, match="100"):
        services.orgunit_create(actor=world.admin, parent=world.street_a, kind="community", code="Z2", name="名" * 101)


def test_a_street_officer_cannot_create_units(world):
    assert_write_refused(lambda: services.orgunit_create(actor=world.officer_a, parent=world.street_a,
                                                         kind="community", code="Z3", name="越权社区"),
                         models=[OrgUnit])


def test_an_officer_of_another_street_gets_not_found(world):
    with pytest.raises(NotInReach):
        services.orgunit_rename(actor=world.officer_a, unit=world.street_b, name="改名")


def test_the_supervisor_reads_but_cannot_rename(world):
    assert_write_refused(lambda: services.orgunit_rename(actor=world.supervisor, unit=world.street_a, name="x"),
                         models=[OrgUnit], expect=Forbidden)
    assert OrgUnit.objects.get(pk=world.street_a.pk).name == "甲街道"


def test_rename_updates_pinyin_and_audits_old_and_new(world):
    services.orgunit_rename(actor=world.admin, unit=world.community_a, name="幸福社区")
    unit = OrgUnit.objects.get(pk=world.community_a.pk)
    assert unit.initials == "xfsq" and unit.pinyin == "xingfushequ"
    assert events_for(unit).filter(action="update").get().changes == {"name": ["甲一社区", "幸福社区"]}


def test_move_rewrites_the_whole_subtree(world):
    services.orgunit_move(actor=world.admin, unit=world.community_a, new_parent=world.street_b)
    community = OrgUnit.objects.get(pk=world.community_a.pk)
    courtyard = OrgUnit.objects.get(pk=world.courtyard_a.pk)
    assert community.parent_id == world.street_b.pk
    assert community.path == f"{world.street_b.path}{community.pk}/"
    assert courtyard.path == f"{community.path}{courtyard.pk}/"
    assert courtyard.depth == 3
    # after the move, street B's officer reaches the courtyard and street A's does not
    assert OrgUnit.objects.restrict(User.objects.get(pk=world.officer_b.pk)).filter(pk=courtyard.pk).exists()
    assert not OrgUnit.objects.restrict(User.objects.get(pk=world.officer_a.pk)).filter(pk=courtyard.pk).exists()


def test_move_under_its_own_descendant_is_refused(world):
    with pytest.raises(ServiceError, match="下级"):
        services.orgunit_move(actor=world.admin, unit=world.community_a, new_parent=world.community_a)


def test_retire_refuses_a_unit_with_live_children_and_retires_a_leaf(world):
    with pytest.raises(ServiceError, match="下级单位"):
        services.orgunit_retire(actor=world.admin, unit=world.community_a)
    services.orgunit_retire(actor=world.admin, unit=world.courtyard_a)
    assert OrgUnit.objects.get(pk=world.courtyard_a.pk).is_retired
    with pytest.raises(ServiceError, match="已撤销"):
        services.orgunit_create(actor=world.admin, parent=OrgUnit.objects.get(pk=world.courtyard_a.pk),
                                kind="courtyard", code="Q1", name="x")


def test_user_create_validates_and_writes_nothing_on_bad_input(world):
    users, members = User.objects.count(), Membership.objects.count()
    with pytest.raises(ServiceError) as err:
        services.user_create(actor=world.admin, username="a b", display_name="x", password="123",
                             role=Role.COLLECTOR, unit=world.street_a, phone="12345")
    assert set(err.value.fields) == {"username", "password", "phone"}
    assert (User.objects.count(), Membership.objects.count()) == (users, members)


def test_user_create_stores_the_phone_encrypted(world):
    user = services.user_create(actor=world.admin, username="c1", display_name="采集员一", password="Good#pass-91",
                                role=Role.COLLECTOR, unit=world.street_a, phone="138 0000 1234")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone_enc FROM core_user WHERE id = %s", [user.pk])
        raw = cursor.fetchone()[0]
    assert "13800001234" not in raw and raw


def test_a_street_officer_cannot_create_users(world):
    assert_write_refused(lambda: services.user_create(actor=world.officer_a, username="c2", display_name="x",
                                                      password="Good#pass-91", role=Role.COLLECTOR,
                                                      unit=world.street_a), models=[User, Membership])


def test_membership_add_and_remove_are_audited(world):
    m = services.membership_add(actor=world.admin, user=world.officer_a, role=Role.COLLECTOR, unit=world.street_a)
    assert events_for(m).filter(action="create").count() == 1
    pk = m.pk
    services.membership_remove(actor=world.admin, membership=m)
    assert not Membership.objects.filter(pk=pk).exists()
    assert AuditEvent.objects.filter(object_type="core.membership", object_id=str(pk), action="delete").count() == 1


def test_password_change_checks_the_old_password(world):
    with pytest.raises(ServiceError, match="原密码不正确"):
        services.password_change(actor=world.officer_a, old_password="wrong", new_password="Another#pass-2027")
    services.password_change(actor=world.officer_a, old_password="Test@pass-2026", new_password="Another#pass-2027")
    assert User.objects.get(pk=world.officer_a.pk).check_password("Another#pass-2027")


def test_tokens_are_stored_hashed_and_revocable(world):
    token, key = services.token_create(actor=world.officer_a, owner=world.officer_a, name="终端一")
    assert key.startswith("gdk_") and key not in token.key_hash
    assert services.token_authenticate(key) == world.officer_a
    services.token_revoke(actor=world.officer_a, token=token)
    assert services.token_authenticate(key) is None
    with pytest.raises(Forbidden):
        services.token_create(actor=world.officer_b, owner=world.officer_a, name="别人的")


def test_todos_open_once_per_source_and_close_when_the_work_is_done(world):
    t1 = services.todo_open(user=world.officer_a, kind="review", title="审核", source=world.community_a)
    t2 = services.todo_open(user=world.officer_a, kind="review", title="审核", source=world.community_a)
    assert t1.pk == t2.pk
    assert services.todo_count(world.officer_a) == 1
    assert services.todo_close(source=world.community_a) == 1
    assert services.todo_count(world.officer_a) == 0
