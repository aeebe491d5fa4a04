from datetime import timedelta

import pytest
from django.utils import timezone

from govdesk.core import demo as core_demo
from govdesk.core.audit import verify
from govdesk.core.testing import assert_visible_set
from govdesk.veterans import demo
from govdesk.veterans.models import Appointment, CollectionPoint, ExpectedBase, Record

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_people_points_and_appointments_in_every_state():
    context = core_demo.seed_core()
    demo.seed(context)
    records = Record.objects.all()
    assert 1500 <= records.count() <= 2800
    assert set(records.values_list("status", flat=True)) == {"draft", "collected", "returned", "reviewed", "archived"}
    assert records.values("street").distinct().count() == 14
    assert CollectionPoint.objects.count() == 40 and ExpectedBase.objects.count() == 14
    today = timezone.localdate()
    upcoming = Appointment.objects.filter(slot__day__gte=today, slot__day__lt=today + timedelta(days=7))
    assert upcoming.count() == 150 and upcoming.filter(status="checked_in").exists()
    users = context["users"]
    # the street officer of 林山寨 sees exactly that street's records; the veterans department all of them
    assert_visible_set(Record, users["linshanzhai"], records.filter(street=context["streets"][0]))
    assert_visible_set(Record, users["tuiyi"], records)
    assert_visible_set(Record, users["shangwu"], [])
    assert verify()[1] is None
    # the campaign's organisation and the progress rollups (kept by the same services)
    from govdesk.veterans import organisation, progress
    from govdesk.veterans.models import Office, Question, Team
    assert Team.objects.count() == 4 and Office.objects.count() == 2
    assert organisation.trained_people(users["tuiyi"]) == 198
    assert organisation.faq(users["caiji"]).count() == Question.objects.filter(published=True).count() >= 10
    assert progress.rollup_drift() == []
    assert progress.dashboard(users["tuiyi"])["total"]["collected"] == records.exclude(status="draft").count()
