"""Reach: a street sees only its own records, the office sees all and changes only its own
work, a supervisor reads all and changes nothing, other departments see nothing."""

import pytest

from govdesk.coal import services
from govdesk.coal.models import (
    Campaign,
    CampaignTask,
    Inspection,
    NoticeAllocation,
    NoticeBatch,
    NoticePosting,
    Photo,
    Place,
    Rectification,
)
from govdesk.core.errors import Forbidden, NotInReach
from govdesk.core.testing import CHANGE, assert_visible_set, assert_write_refused

from .conftest import ago, rectify

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(world, coal):
    insp_a, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(1),
                                           findings=rectify())
    insp_b, _ = services.inspection_record(actor=world.officer_b, place=coal.place_b, inspected_at=ago(1),
                                           findings=rectify())
    campaign = services.campaign_launch(actor=coal.office.officer, district=world.district, title="回头看",
                                        period_start=ago(0).date(), period_end=ago(-10).date(), mode="kinds",
                                        kinds=["restaurant", "household"])
    batch = services.batch_receive(actor=coal.office.officer, district=world.district, title="通告", count=100,
                                   source="市散煤办", received_on=ago(2).date())
    alloc_a = services.allocation_set(actor=coal.office.officer, batch=batch, street=world.street_a, count=40)
    alloc_b = services.allocation_set(actor=coal.office.officer, batch=batch, street=world.street_b, count=40)
    post_a = services.posting_record(actor=world.officer_a, allocation=alloc_a, unit=world.courtyard_a, count=5,
                                     location="院门口", posted_on=ago(1).date())
    post_b = services.posting_record(actor=world.officer_b, allocation=alloc_b, unit=world.courtyard_b, count=5,
                                     location="院门口", posted_on=ago(1).date())
    tasks = {t.street_id: t for t in campaign.tasks.all()}
    return dict(insp_a=insp_a, insp_b=insp_b, rect_a=Rectification.objects.get(place=coal.place_a),
                rect_b=Rectification.objects.get(place=coal.place_b), campaign=campaign,
                task_a=tasks[world.street_a.pk], task_b=tasks[world.street_b.pk], batch=batch, alloc_a=alloc_a,
                alloc_b=alloc_b, post_a=post_a, post_b=post_b)


def test_each_street_sees_exactly_its_own_records(world, coal, records):
    r = records
    for officer, place, insp, rect, task, alloc, post in [
        (world.officer_a, coal.place_a, r["insp_a"], r["rect_a"], r["task_a"], r["alloc_a"], r["post_a"]),
        (world.officer_b, coal.place_b, r["insp_b"], r["rect_b"], r["task_b"], r["alloc_b"], r["post_b"]),
    ]:
        assert_visible_set(Place, officer, [place])
        assert_visible_set(Inspection, officer, [insp])
        assert_visible_set(Rectification, officer, [rect])
        assert_visible_set(CampaignTask, officer, [task])
        assert_visible_set(NoticeAllocation, officer, [alloc])
        assert_visible_set(NoticePosting, officer, [post])
        # the campaign and the batch reach into both streets, so both see them
        assert_visible_set(Campaign, officer, [r["campaign"]])
        assert_visible_set(NoticeBatch, officer, [r["batch"]])
        assert_visible_set(Place, officer, [place], action=CHANGE)
        assert_visible_set(Campaign, officer, [], action=CHANGE)
        assert_visible_set(NoticeBatch, officer, [], action=CHANGE)


def test_the_office_sees_everything_and_changes_only_its_own_work(world, coal, records):
    r, officer = records, coal.office.officer
    assert_visible_set(Place, officer, [coal.place_a, coal.place_b])
    assert_visible_set(Inspection, officer, [r["insp_a"], r["insp_b"]])
    assert_visible_set(Rectification, officer, [r["rect_a"], r["rect_b"]])
    assert_visible_set(CampaignTask, officer, [r["task_a"], r["task_b"]])
    assert_visible_set(NoticePosting, officer, [r["post_a"], r["post_b"]])
    assert_visible_set(Place, officer, [], action=CHANGE)
    assert_visible_set(Inspection, officer, [], action=CHANGE)
    assert_visible_set(CampaignTask, officer, [], action=CHANGE)
    assert_visible_set(Campaign, officer, [r["campaign"]], action=CHANGE)
    assert_visible_set(NoticeBatch, officer, [r["batch"]], action=CHANGE)
    assert_visible_set(NoticeAllocation, officer, [r["alloc_a"], r["alloc_b"]], action=CHANGE)


def test_the_supervisor_reads_everything_and_changes_nothing(world, coal, records):
    r, supervisor = records, world.supervisor
    assert_visible_set(Place, supervisor, [coal.place_a, coal.place_b])
    assert_visible_set(Inspection, supervisor, [r["insp_a"], r["insp_b"]])
    assert_visible_set(Campaign, supervisor, [r["campaign"]])
    assert_visible_set(NoticeBatch, supervisor, [r["batch"]])
    for model in (Place, Inspection, Rectification, Campaign, CampaignTask, NoticeBatch, NoticeAllocation,
                  NoticePosting, Photo):
        assert_visible_set(model, supervisor, [], action=CHANGE)


def test_other_departments_and_outsiders_see_nothing(world, coal, records):
    for person in (world.dept_officer, world.outsider):
        for model in (Place, Inspection, Rectification, Campaign, CampaignTask, NoticeBatch, NoticeAllocation,
                      NoticePosting):
            assert_visible_set(model, person, [])


def test_a_street_cannot_write_into_another_street(world, coal, records):
    assert_write_refused(lambda: services.inspection_record(actor=world.officer_a, place=coal.place_b,
                                                            inspected_at=ago(), findings={}),
                         models=[Inspection], expect=NotInReach)
    assert_write_refused(lambda: services.place_create(actor=world.officer_a, community=world.community_b,
                                                       name="越界", kind="shop", address="乙"),
                         models=[Place], expect=NotInReach)
    assert_write_refused(lambda: services.task_record(actor=world.officer_a, task=records["task_b"],
                                                      inspected_at=ago(), findings={}),
                         models=[Inspection, CampaignTask], expect=NotInReach)
    assert_write_refused(lambda: services.posting_record(actor=world.officer_a, allocation=records["alloc_b"],
                                                         unit=world.courtyard_b, count=1, location="x",
                                                         posted_on=ago().date()),
                         models=[NoticePosting], expect=NotInReach)


def test_the_supervisor_and_the_office_are_refused_street_writes_with_403(world, coal, records):
    for person in (world.supervisor, coal.office.officer):
        assert_write_refused(lambda p=person: services.inspection_record(actor=p, place=coal.place_a,
                                                                         inspected_at=ago(), findings={}),
                             models=[Inspection], expect=Forbidden)
        assert_write_refused(lambda p=person: services.place_create(actor=p, community=world.community_a,
                                                                    name="新点位", kind="shop", address="甲"),
                             models=[Place], expect=Forbidden)
        assert_write_refused(lambda p=person: services.rectification_extend(
            actor=p, rectification=records["rect_a"], new_deadline=ago(-30).date(), reason="x"),
            models=[Rectification], expect=Forbidden)


def test_streets_and_supervisors_cannot_do_the_office_work(world, coal, records):
    for person in (world.officer_a, world.supervisor):
        assert_write_refused(lambda p=person: services.campaign_launch(
            actor=p, district=world.district, title="x", period_start=ago().date(), period_end=ago(-5).date(),
            mode="kinds", kinds=["shop"]), models=[Campaign, CampaignTask], expect=Forbidden)
        assert_write_refused(lambda p=person: services.allocation_set(
            actor=p, batch=records["batch"], street=world.street_a, count=50),
            models=[NoticeAllocation], expect=Forbidden)
    assert_write_refused(lambda: services.batch_receive(actor=world.dept_officer, district=world.district,
                                                        title="x", count=1, source="x", received_on=ago().date()),
                         models=[NoticeBatch], expect=NotInReach)
