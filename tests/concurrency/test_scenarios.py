"""The named races of the hardening list, on PostgreSQL with real parallel connections.

Already covered by the modules' own tests, at the service level (not repeated here):

- concurrent negotiation — ``govdesk/mall/tests/test_negotiation.py``:
  ``test_both_sides_clicking_at_once_never_make_two_agreements_or_lose_an_offer`` (accept and two
  counter-offers at once: one third round, nothing lost or doubled) and
  ``test_two_accepts_at_once_produce_one_agreement``;
- appointment booking — ``govdesk/veterans/tests/test_concurrency.py``
  (ten bookings of the last two places: two booked, eight "slot full");
- score submission — ``govdesk/contest/tests/test_concurrency.py`` (seven judges at once, each
  double-tapping: every sheet once, seven audit events, the chain whole);
- notice allocation — ``govdesk/coal/tests/test_notices.py``
  (``test_two_allocations_at_once_cannot_exceed_the_batch``,
  ``test_two_postings_at_once_cannot_exceed_the_share``);
- a device's upload retried while running — ``govdesk/veterans/tests/test_uploads_concurrency.py``.

This file adds what those do not: the same races through the pages' own forms (two browser
tabs, two connections), where a lost race must come back as a message on the page, not a 500.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from govdesk.coal.models import NoticeAllocation
from govdesk.core.audit import verify
from govdesk.veterans.models import Appointment
from govdesk.veterans.tests.conftest import id_number
from tests.security.factories import Objects

from .conftest import at_once, browser_tabs

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_tabs_booking_the_last_place_of_a_slot_get_one_appointment(world):
    slot = Objects(world).get("veterans.slot")[0]  # two places, one already booked
    assert Appointment.objects.filter(slot=slot, status="booked").count() == slot.capacity - 1
    url = reverse("veterans:book", kwargs={"slot_pk": slot.pk})
    tabs = browser_tabs(world.officer_a)
    answers = at_once(*[lambda tab=tab, seq=seq: tab.post(url, {
        "name": f"预约{seq}", "id_number": id_number(seq=40 + seq), "kind": "point"}) for seq, tab in enumerate(tabs)])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 302], statuses  # one booked (redirect), one told on the form
    refused = next(a for a in answers if a.status_code == 200)
    assert "名额已满" in refused.content.decode()
    assert Appointment.objects.filter(slot=slot, status="booked").count() == slot.capacity
    assert verify()[1] is None


def test_two_tabs_allocating_the_last_notices_cannot_exceed_the_batch(world):
    objects = Objects(world)
    batch = objects.get("coal.batch")[0]  # 100 notices, 40 to street A and 40 to street B
    office = objects._module["coal_office"]
    url = reverse("coal:allocation_set", kwargs={"pk": batch.pk})
    tabs = browser_tabs(office)
    answers = at_once(*[lambda tab=tab, street=street: tab.post(url, {"street": street.pk, "count": 60})
                        for tab, street in zip(tabs, (world.street_a, world.street_b), strict=True)])
    assert [a.status_code for a in answers] == [302, 302]  # both back on the batch page, with a message
    counts = dict(NoticeAllocation.objects.filter(batch=batch).values_list("street_id", "count"))
    assert sum(counts.values()) == 100 and sorted(counts.values()) == [40, 60]
    assert verify()[1] is None
