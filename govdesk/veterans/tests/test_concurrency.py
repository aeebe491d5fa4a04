"""The last places of a slot booked at once by real threads on PostgreSQL: the slot row is
locked and the places counted inside the transaction, so nobody gets a place that is not there."""

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from govdesk.core.errors import Conflict
from govdesk.veterans import services
from govdesk.veterans.models import Appointment

from .conftest import id_number

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_bookings_never_exceed_a_slots_capacity(vets):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/govdesk_dev")
    point = vets.point(capacity=6, slot_minutes=60)  # two slots of 3 places
    slot = point.slots.filter(day=timezone.localdate()).order_by("starts_at").first()
    services.appointment_book(actor=vets.collector_a, slot=slot, name="先约", id_number=id_number(seq=99))
    people = 10
    barrier = threading.Barrier(people)
    outcomes = []

    def book(seq):
        try:
            barrier.wait()
            services.appointment_book(actor=vets.collector_a, slot=slot, name=f"人{seq}", id_number=id_number(seq=seq))
            outcomes.append("booked")
        except Conflict as e:
            outcomes.append(e.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=book, args=(seq,)) for seq in range(1, people + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["booked"] * 2 + ["slot_full"] * 8
    assert Appointment.objects.filter(slot=slot, status="booked").count() == 3
