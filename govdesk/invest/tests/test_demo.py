import time

import pytest

from govdesk.core.demo import seed_core
from govdesk.invest import demo, queries
from govdesk.invest.models import Appeal, Drawing, Firm, Meeting, Parcel, Project, SquadMeeting, Task

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_a_realistic_desk(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    context = seed_core()
    started = time.monotonic()
    demo.seed(context)
    elapsed = time.monotonic() - started
    assert Firm.objects.count() == 300
    assert Firm.objects.exclude(conclusion="").count() == 26
    assert Project.objects.count() == 40
    assert {p.stage for p in Project.objects.all()} == set(Project.Stage.values)
    assert Appeal.objects.filter(status__in=Appeal.OPEN_STATUSES).exists()
    assert Meeting.objects.count() == 1 and Task.objects.count() == 4
    assert SquadMeeting.objects.count() == 9
    assert Parcel.objects.values("org_unit").distinct().count() == 14
    assert Drawing.objects.count() == 4 and all(d.is_image for d in Drawing.objects.all())
    shangwu = context["users"]["shangwu"]
    rows = queries.report_completeness(shangwu, Meeting.objects.get().held_on.replace(day=1))
    assert len(rows) == 14 + 6
    figures = queries.dashboard(shangwu)
    assert figures["firms"] == 300 and figures["assessed"] == 26
    assert elapsed < 20, f"the invest demo took {elapsed:.1f}s"
