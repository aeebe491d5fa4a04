import pytest
from django.core.management import call_command
from django.db import connection, transaction

from govdesk.core import services
from govdesk.core.audit import audit, verify
from govdesk.core.models import AuditChain, AuditEvent

pytestmark = pytest.mark.django_db


def test_each_branch_writes_to_its_own_chain(world):
    services.orgunit_rename(actor=world.admin, unit=world.community_a, name="甲二社区")
    services.orgunit_rename(actor=world.admin, unit=world.community_b, name="乙二社区")
    a = AuditEvent.objects.filter(object_id=str(world.community_a.pk), action="update").get()
    b = AuditEvent.objects.filter(object_id=str(world.community_b.pk), action="update").get()
    assert a.chain == world.street_a.chain_key and b.chain == world.street_b.chain_key
    assert a.chain != b.chain


def test_the_chain_links_every_event_to_the_previous_one(world):
    chain = world.street_a.chain_key
    events = list(AuditEvent.objects.filter(chain=chain).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    for prev, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == prev.hash
    assert AuditChain.objects.get(key=chain).last_hash == events[-1].hash


def test_verify_passes_on_an_untouched_trail(world):
    checked, broken = verify()
    assert broken is None and checked == AuditEvent.objects.count()


def test_a_tampered_event_is_named_by_verify(world, capsys):
    victim = AuditEvent.objects.filter(chain=world.street_b.chain_key).order_by("seq")[1]
    with connection.cursor() as cursor:  # behind the platform's back
        cursor.execute("UPDATE core_auditevent SET actor_name = 'mallory' WHERE id = %s", [victim.pk])
    checked, broken = verify()
    assert broken is not None and broken.event_id == victim.pk and broken.chain == victim.chain
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify")
    assert exit_info.value.code == 1
    assert f"事件 id {victim.pk}" in capsys.readouterr().err


def test_a_deleted_event_breaks_the_chain(world):
    victim = AuditEvent.objects.filter(chain=world.street_a.chain_key).order_by("seq")[0]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [victim.pk])
    _checked, broken = verify()
    assert broken is not None and broken.chain == victim.chain


def test_events_cannot_be_changed_or_deleted_through_the_orm(world):
    event = AuditEvent.objects.first()
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_a_rolled_back_change_leaves_no_event(world):
    count = AuditEvent.objects.count()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit(actor=world.admin, action="update", unit=world.street_a, obj=world.street_a)
        raise ZeroDivisionError
    assert AuditEvent.objects.count() == count
    assert verify()[1] is None
