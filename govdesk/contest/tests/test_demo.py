import pytest

from govdesk.contest.models import Competition, Entry, Event, Sheet
from govdesk.core.demo import seed_core

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_the_reference_competition():
    from govdesk.contest.demo import seed
    context = seed_core()
    seed(context)
    competition = Competition.objects.get()
    events = list(competition.events.order_by("order"))
    assert [e.name for e in events] == ["围产保健及产科急症处理", "新生儿呼吸机应用技术操作及脐静脉置管术", "儿童保健",
                                        "计划生育技术服务"]
    assert competition.contestants.values("institution").distinct().count() == 12
    assert all(Entry.objects.filter(event=e, advanced=True).count() >= 3 for e in events)
    assert events[0].status == Event.Status.CLOSED and events[0].chief_signed_at is not None
    submitted = Sheet.objects.filter(status="submitted").count()
    assert 0 < submitted < Sheet.objects.count()
    assert Sheet.objects.filter(judge__user__username="pingwei", status="open").exists()
