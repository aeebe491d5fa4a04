"""The streets' weekly summary: filled in from the ledger, confirmed by the street, reported
through the core periodic reports; the office sees who has not reported."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from govdesk.coal import queries, services
from govdesk.core.errors import Forbidden, NotInReach, ServiceError
from govdesk.core.models import AuditEvent, PeriodicReport
from govdesk.core.periods import period_start_of
from govdesk.core.testing import assert_write_refused

from .conftest import CLEAN, COAL, on

pytestmark = pytest.mark.django_db


def last_week():
    return period_start_of("week", timezone.localdate() - timedelta(days=7))


@pytest.fixture
def week(world, coal):
    start = last_week()
    d = lambda n: start + timedelta(days=n)  # noqa: E731
    services.ledger_import(actor=world.admin, rows=[
        {"place": coal.place_a, "inspected_at": on(d(-3)), **COAL, "rectification_ordered": True,
         "rectification_deadline": d(2)},                          # opened before the week, overdue in it
        {"place": coal.place_a, "inspected_at": on(d(1)), **COAL, "seized": True, "seized_kg": "20"},
        {"place": coal.place_b, "inspected_at": on(d(2)), **CLEAN},
        {"place": coal.place_a, "inspected_at": on(d(7)), **CLEAN},  # next week: confirms the rectification
    ])
    return start


def test_the_summary_comes_from_the_streets_ledger_for_that_week(world, coal, week):
    summary = queries.weekly_summary(world.officer_a, world.street_a, week)
    assert summary == {"inspections": 1, "problems": 1, "seized_kg": "20.0", "rectification_orders": 0,
                       "referred": 0, "confirmed": 0, "open_at_end": 1, "overdue_at_end": 1}
    following = queries.weekly_summary(world.officer_a, world.street_a, week + timedelta(days=7))
    assert (following["inspections"], following["confirmed"], following["open_at_end"]) == (1, 1, 0)


def test_a_street_reports_its_week_once_audited_and_the_office_sees_who_has_not(world, coal, week):
    before = AuditEvent.objects.count()
    report = services.weekly_report_submit(actor=world.officer_a, street=world.street_a, week_start=week)
    assert report.data["inspections"] == 1 and report.submitted_by == world.officer_a
    assert AuditEvent.objects.count() == before + 1
    services.weekly_report_submit(actor=world.officer_a, street=world.street_a, week_start=week)
    assert PeriodicReport.objects.count() == 1
    status = {s.name: r is not None for s, r in queries.weekly_completeness(coal.office.officer, week)}
    assert status == {"甲街道": True, "乙街道": False}
    assert [s.name for s, _r in queries.weekly_completeness(world.officer_b, week)] == ["乙街道"]


def test_reports_are_refused_outside_the_street_and_for_odd_weeks(world, coal, week):
    assert_write_refused(lambda: services.weekly_report_submit(actor=world.officer_a, street=world.street_b,
                                                               week_start=week),
                         models=[PeriodicReport], expect=NotInReach)
    for person in (world.supervisor, coal.office.officer):
        assert_write_refused(lambda p=person: services.weekly_report_submit(actor=p, street=world.street_a,
                                                                            week_start=week),
                             models=[PeriodicReport], expect=Forbidden)
    for start in (week + timedelta(days=1), period_start_of("week", timezone.localdate()) + timedelta(days=7)):
        with pytest.raises(ServiceError):
            services.weekly_report_submit(actor=world.officer_a, street=world.street_a, week_start=start)


def test_the_reports_page_previews_confirms_and_lists(world, coal, week, client_for):
    client = client_for(world.officer_a)
    body = client.get(reverse("coal:reports"), {"week": week.isoformat()}).content.decode()
    assert "甲街道本周台账汇总" in body and "未报送 1 个街道" in body
    response = client.post(reverse("coal:report_submit"), {"street": world.street_a.pk, "week": week.isoformat()})
    assert response.status_code == 302 and PeriodicReport.objects.count() == 1
    body = client_for(coal.office.officer).get(reverse("coal:reports"), {"week": week.isoformat()}).content.decode()
    assert "未报送 1 个街道" in body and "本周台账汇总" not in body
    assert client_for(world.officer_b).post(reverse("coal:report_submit"), {
        "street": world.street_a.pk, "week": week.isoformat()}).status_code == 404
