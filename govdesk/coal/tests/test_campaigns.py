"""Look-back campaigns (回头看): generation picks exactly the places whose ledger shows a
problem since the cut-off, results are compared with the earlier findings, progress is live."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from govdesk.coal import queries, services
from govdesk.coal.models import Campaign, CampaignTask, Inspection
from govdesk.core.errors import ServiceError
from govdesk.core.models import AuditEvent, Todo
from govdesk.core.services import orgunit_create

from .conftest import CLEAN, COAL, ago, on, rectify

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
CUTOFF_DAYS = 30


def cutoff():
    return TODAY() - timedelta(days=CUTOFF_DAYS)


def make_place(world, officer, community, name, kind="household"):
    return services.place_create(actor=officer, community=community, name=name, kind=kind, address=f"{name}地址")


@pytest.fixture
def ledger(world, office):
    """Places of street A (and one of street B) with every kind of history around the cut-off."""
    c = cutoff()
    a = lambda name, kind="household": make_place(world, world.officer_a, world.community_a, name, kind)  # noqa: E731
    p = SimpleNamespace(
        found_after=a("截止日后发现"), found_on_cutoff=a("截止日当天发现"), fixed_before=a("截止日前已整改"),
        open_at_cutoff=a("截止日时仍未整改"), fixed_after=a("截止日后才整改"), clean_only=a("一直清零"),
        never=a("从未检查"), fixed_same_day=a("截止日前一天当日整改"), open_record=a("未办结的记录"),
        found_then_clean=a("截止日后发现又清零"), shop_clean=a("清零商店", "shop"),
        street_b=make_place(world, world.officer_b, world.community_b, "乙街道截止日后发现"))
    d = lambda n: c + timedelta(days=n)  # noqa: E731
    rect = lambda n: {**COAL, "rectification_ordered": True, "rectification_deadline": d(n + 10)}  # noqa: E731
    rows = [
        (p.found_after, on(d(5)), COAL),
        (p.found_on_cutoff, on(c, 0), COAL),
        (p.fixed_before, on(d(-20)), rect(-20)), (p.fixed_before, on(d(-5)), CLEAN),
        (p.open_at_cutoff, on(d(-20)), rect(-20)),
        (p.fixed_after, on(d(-20)), rect(-20)), (p.fixed_after, on(d(3)), CLEAN),
        (p.clean_only, on(d(-10)), CLEAN), (p.clean_only, on(d(5)), CLEAN),
        (p.fixed_same_day, on(d(-1), 9), COAL), (p.fixed_same_day, on(d(-1), 15), CLEAN),
        (p.found_then_clean, on(d(2)), COAL), (p.found_then_clean, on(d(10)), CLEAN),
        (p.shop_clean, on(d(-3)), CLEAN),
        (p.street_b, on(d(1)), COAL),
    ]
    services.ledger_import(actor=world.admin, rows=[{"place": place, "inspected_at": at, "inspector_name": "张某",
                                                     **f} for place, at, f in rows])
    # found coal just now but the record is still open: not in the ledger yet
    services.inspection_record(actor=world.officer_a, place=p.open_record, inspected_at=ago(), findings=COAL,
                               close=False)
    return p


def launch(world, office, **kwargs):
    params = dict(actor=office.officer, district=world.district, title="2026 回头看", period_start=TODAY(),
                  period_end=TODAY() + timedelta(days=14), mode="problems", cutoff=cutoff())
    params.update(kwargs)
    return services.campaign_launch(**params)


def places_of(campaign):
    return {t.place.name for t in campaign.tasks.select_related("place")}


def test_generation_picks_exactly_the_places_with_a_problem_since_the_cut_off(world, office, ledger):
    campaign = launch(world, office)
    assert places_of(campaign) == {"截止日后发现", "截止日当天发现", "截止日时仍未整改", "截止日后才整改",
                                   "截止日后发现又清零", "乙街道截止日后发现"}
    assert set(campaign.streets.all()) == {world.street_a, world.street_b}


def test_places_fixed_before_the_cut_off_are_not_picked(world, office, ledger):
    names = places_of(launch(world, office))
    for fixed in ("截止日前已整改", "截止日前一天当日整改", "一直清零", "从未检查", "未办结的记录", "清零商店"):
        assert fixed not in names


def test_a_later_cut_off_drops_what_was_fixed_before_it(world, office, ledger):
    # a cut-off after "截止日后才整改" was fixed (day 3) and after "截止日后发现又清零" (day 10);
    # the places never fixed are still picked
    campaign = launch(world, office, cutoff=cutoff() + timedelta(days=11))
    assert places_of(campaign) == {"截止日后发现", "截止日当天发现", "截止日时仍未整改", "乙街道截止日后发现"}


def test_generation_is_limited_to_the_chosen_streets(world, office, ledger):
    campaign = launch(world, office, streets=[world.street_b])
    assert places_of(campaign) == {"乙街道截止日后发现"}
    assert list(campaign.streets.all()) == [world.street_b]


def test_generation_by_kind_takes_every_place_of_those_kinds(world, office, ledger):
    campaign = launch(world, office, mode="kinds", kinds=["shop"], cutoff=None)
    assert places_of(campaign) == {"清零商店"}
    campaign = launch(world, office, mode="kinds", kinds=["household", "shop"], streets=[world.street_b],
                      title="乙")
    assert places_of(campaign) == {"乙街道截止日后发现"}


def test_each_task_carries_the_earlier_finding(world, office, ledger):
    campaign = launch(world, office)
    task = campaign.tasks.get(place=ledger.fixed_after)
    assert task.earlier_problem and task.earlier.inspected_at == on(cutoff() - timedelta(days=20))
    assert "发现原煤 50.0 公斤" in task.earlier_summary and "限期整改" in task.earlier_summary
    assert all(t.earlier_problem for t in campaign.tasks.all())
    assert task.status == "pending" and task.street == world.street_a


def test_launch_is_audited_once_per_record_and_opens_the_streets_todos(world, office, ledger):
    before = AuditEvent.objects.count()
    campaign = launch(world, office)
    assert AuditEvent.objects.count() == before + 1 + 6
    todos = Todo.objects.filter(kind=services.TODO_CAMPAIGN, done_at=None)
    assert {t.user for t in todos} == {world.officer_a, world.officer_b}
    assert todos.get(user=world.officer_a).title == f"回头看「{campaign.title}」：5 个点位待复查"


def test_nothing_to_re_inspect_is_refused_and_writes_nothing(world, office):
    make_place(world, world.officer_a, world.community_a, "清零户")
    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError) as e:
        launch(world, office)
    assert "没有需要复查的点位" in e.value.message
    assert Campaign.objects.count() == 0 and AuditEvent.objects.count() == before


@pytest.mark.parametrize("kwargs, field", [
    ({"cutoff": None}, "cutoff"),
    ({"cutoff": TODAY() + timedelta(days=1)}, "cutoff"),
    ({"period_end": TODAY() - timedelta(days=1)}, "period_end"),
    ({"mode": "kinds", "kinds": []}, "kinds"),
    ({"mode": "kinds", "kinds": ["mine"]}, "kinds"),
    ({"title": " "}, "title"),
])
def test_bad_launch_parameters_are_refused(world, office, ledger, kwargs, field):
    with pytest.raises(ServiceError) as e:
        launch(world, office, **kwargs)
    assert field in e.value.fields
    assert Campaign.objects.count() == 0


def test_a_street_of_another_district_is_refused(world, office, ledger):
    other = orgunit_create(actor=world.root, parent=None, kind="district", code="T200", name="外区")
    other_street = orgunit_create(actor=world.root, parent=other, kind="street", code="T200-A", name="外街道")
    with pytest.raises(ServiceError) as e:
        launch(world, office, streets=[world.street_a, other_street])
    assert "streets" in e.value.fields


# --- results -------------------------------------------------------------------------------------

def test_results_compare_with_the_earlier_finding(world, office, ledger):
    outcome = services.outcome_of
    assert outcome(earlier_problem=True, now_problem=True) == "still_problem"
    assert outcome(earlier_problem=True, now_problem=False) == "clean_now"
    assert outcome(earlier_problem=False, now_problem=True) == "new_problem"
    assert outcome(earlier_problem=False, now_problem=False) == "still_clean"
    campaign = launch(world, office)
    clean = campaign.tasks.get(place=ledger.found_after)
    still = campaign.tasks.get(place=ledger.open_at_cutoff)
    services.task_record(actor=world.officer_a, task=clean, inspected_at=ago(), findings=CLEAN)
    services.task_record(actor=world.officer_a, task=still, inspected_at=ago(), findings=rectify(7))
    clean.refresh_from_db()
    still.refresh_from_db()
    assert (clean.status, clean.outcome) == ("done", "clean_now")
    assert (still.status, still.outcome) == ("done", "still_problem")
    assert clean.result.coal_present is False and clean.result.state == "closed"
    # the re-inspection is an inspection of the ledger with all its consequences
    assert still.place.rectifications.get(status="open").deadline == TODAY() + timedelta(days=7)


def test_kind_campaigns_compare_places_that_were_clean(world, office, ledger):
    campaign = launch(world, office, mode="kinds", kinds=["shop"], cutoff=None)
    task = campaign.tasks.get()
    assert not task.earlier_problem and task.earlier_summary.endswith("检查未发现散煤")
    services.task_record(actor=world.officer_a, task=task, inspected_at=ago(), findings=COAL)
    task.refresh_from_db()
    assert task.outcome == "new_problem"


def test_progress_per_street_is_live(world, office, ledger):
    campaign = launch(world, office)
    rows = {r["street__name"]: r for r in queries.campaign_progress(office.officer, campaign)}
    assert (rows["甲街道"]["total"], rows["甲街道"]["done"]) == (5, 0)
    assert (rows["乙街道"]["total"], rows["乙街道"]["done"]) == (1, 0)
    for place in (ledger.found_after, ledger.fixed_after):
        services.task_record(actor=world.officer_a, task=campaign.tasks.get(place=place), inspected_at=ago(),
                             findings=CLEAN)
    services.task_record(actor=world.officer_a, task=campaign.tasks.get(place=ledger.open_at_cutoff),
                         inspected_at=ago(), findings=COAL)
    rows = {r["street__name"]: r for r in queries.campaign_progress(office.officer, campaign)}
    a = rows["甲街道"]
    assert (a["total"], a["done"], a["clean_now"], a["still_problem"], a["percent"]) == (5, 3, 2, 1, 60)
    assert queries.progress_totals(list(rows.values()))["done"] == 3
    # a street sees only its own row
    assert [r["street__name"] for r in queries.campaign_progress(world.officer_b, campaign)] == ["乙街道"]


def test_a_street_finishing_its_tasks_closes_its_todo(world, office, ledger):
    campaign = launch(world, office)
    task_b = campaign.tasks.get(street=world.street_b)
    services.task_record(actor=world.officer_b, task=task_b, inspected_at=ago(), findings=CLEAN)
    assert not Todo.objects.filter(user=world.officer_b, kind=services.TODO_CAMPAIGN, done_at=None).exists()
    assert Todo.objects.filter(user=world.officer_a, kind=services.TODO_CAMPAIGN, done_at=None).exists()


def test_a_task_is_recorded_once_and_not_after_the_campaign_closed(world, office, ledger):
    campaign = launch(world, office)
    task = campaign.tasks.get(place=ledger.found_after)
    services.task_record(actor=world.officer_a, task=task, inspected_at=ago(), findings=CLEAN)
    with pytest.raises(ServiceError) as e:
        services.task_record(actor=world.officer_a, task=task, inspected_at=ago(), findings=CLEAN)
    assert "已复查" in e.value.message
    services.campaign_close(actor=office.officer, campaign=campaign)
    other = campaign.tasks.get(place=ledger.fixed_after)
    count = Inspection.objects.count()
    with pytest.raises(ServiceError) as e:
        services.task_record(actor=world.officer_a, task=other, inspected_at=ago(), findings=CLEAN)
    assert "已结束" in e.value.message and Inspection.objects.count() == count
    assert not Todo.objects.filter(kind=services.TODO_CAMPAIGN, done_at=None).exists()


def test_tasks_are_assigned_within_the_street_only(world, office, ledger):
    campaign = launch(world, office)
    task = campaign.tasks.get(place=ledger.found_after)
    from govdesk.core.reach import Role
    colleague = world.person("officer_a2", Role.STREET_OFFICER, world.street_a)
    services.task_assign(actor=world.officer_a, task=task, assignee=colleague)
    assert CampaignTask.objects.get(pk=task.pk).assignee == colleague
    with pytest.raises(ServiceError):
        services.task_assign(actor=world.officer_a, task=task, assignee=world.officer_b)
    # today's work: one's own tasks and the street's unassigned ones
    mine = [t.pk for t in queries.todays_work(colleague)["tasks"]]
    theirs = [t.pk for t in queries.todays_work(world.officer_a)["tasks"]]
    assert task.pk in mine and len(mine) == 5
    assert task.pk not in theirs and len(theirs) == 4
