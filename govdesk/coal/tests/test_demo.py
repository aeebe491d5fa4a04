"""The demo seeds a believable district through the services."""

import pytest
from django.db.models import Sum

from govdesk.coal import demo, queries
from govdesk.coal.models import Campaign, Inspection, NoticeAllocation, NoticeBatch, NoticePosting, Place
from govdesk.core.demo import seed_core
from govdesk.core.models import PeriodicReport

pytestmark = pytest.mark.django_db


def test_the_demo_has_places_in_every_street_a_half_done_look_back_and_a_partly_posted_batch():
    context = seed_core()
    demo.seed(context)
    streets = context["streets"]
    assert len(streets) == 14
    assert Place.objects.count() >= 200
    assert set(Place.objects.values_list("street_id", flat=True)) == {s.pk for s in streets}
    assert Inspection.objects.filter(imported=True).count() >= Place.objects.count()
    campaign = Campaign.objects.get(status="open")
    totals = queries.progress_totals(queries.campaign_progress(context["users"]["sanmei"], campaign))
    assert totals["done"] == totals["total"] // 2 and totals["total"] > 20
    batch = NoticeBatch.objects.get()
    allocated = NoticeAllocation.objects.aggregate(n=Sum("count"))["n"]
    posted = NoticePosting.objects.aggregate(n=Sum("count"))["n"]
    assert batch.count == 2500 and 0 < posted < allocated <= 2500
    reported = [s for s, r in queries.weekly_completeness(context["users"]["sanmei"],
                                                          PeriodicReport.objects.get(org_unit=streets[0]).period_start)
                if r is not None]
    assert set(reported) == set(streets[:2])
    # the street officer of the first street sees only that street
    assert set(queries.places(context["users"]["linshanzhai"]).values_list("street_id", flat=True)) == {streets[0].pk}
