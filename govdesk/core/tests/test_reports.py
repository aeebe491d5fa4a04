from datetime import date

import pytest

from govdesk.core import queries, services
from govdesk.core.errors import NotInReach, ServiceError
from govdesk.core.models import PeriodicReport, ReportKind
from govdesk.core.periods import period_start_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def weekly(db):
    return ReportKind.objects.create(code="coal-week", name="散煤周报", period="week", unit_kinds=["street"])


def test_periods_start_on_monday_and_on_the_first(weekly):
    assert period_start_of("week", date(2026, 11, 25)) == date(2026, 11, 23)
    assert period_start_of("month", date(2026, 11, 25)) == date(2026, 11, 1)


def test_completeness_names_who_has_not_reported(world, weekly):
    monday = date(2026, 11, 23)
    services.report_submit(actor=world.officer_a, kind=weekly, unit=world.street_a, period_start=monday,
                           data={"inspections": 12})
    rows = queries.report_completeness(world.admin, weekly, monday)
    assert [(unit.name, report is not None) for unit, report in rows] == [("甲街道", True), ("乙街道", False)]
    # a street officer sees only their own line
    assert [u.name for u, _r in queries.report_completeness(world.officer_b, weekly, monday)] == ["乙街道"]


def test_resubmitting_replaces_the_report_and_both_are_audited(world, weekly):
    monday = date(2026, 11, 23)
    services.report_submit(actor=world.officer_a, kind=weekly, unit=world.street_a, period_start=monday, data={"n": 1})
    services.report_submit(actor=world.officer_a, kind=weekly, unit=world.street_a, period_start=monday, data={"n": 2})
    assert PeriodicReport.objects.get().data == {"n": 2}


def test_a_street_cannot_report_for_another_or_for_a_kind_it_does_not_owe(world, weekly):
    with pytest.raises(NotInReach):
        services.report_submit(actor=world.officer_a, kind=weekly, unit=world.street_b, period_start=date(2026, 11, 23),
                               data={})
    with pytest.raises(ServiceError, match="不需要报送"):
        services.report_submit(actor=world.officer_a, kind=weekly, unit=world.community_a,
                               period_start=date(2026, 11, 23), data={})
    assert not PeriodicReport.objects.exists()
