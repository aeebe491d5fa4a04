"""Notices: allocations never exceed the batch, postings never exceed the street's share,
coverage counts the courtyards still without a posting."""

import threading

import pytest
from django.db import connection

from govdesk.coal import queries, services
from govdesk.coal.models import NoticeAllocation, NoticeBatch, NoticePosting
from govdesk.core.errors import ServiceError
from govdesk.core.services import orgunit_create

from .conftest import ago

pytestmark = pytest.mark.django_db

DAY = ago(2).date()


@pytest.fixture
def batch(world, office):
    return services.batch_receive(actor=office.officer, district=world.district, title="禁煤通告", count=100,
                                  source="市散煤办", received_on=DAY)


def test_a_batch_records_count_title_and_source(world, office, batch):
    assert (batch.count, batch.title, batch.source) == (100, "禁煤通告", "市散煤办")
    for kwargs, field in [({"count": 0}, "count"), ({"count": "两千"}, "count"), ({"title": ""}, "title"),
                          ({"source": ""}, "source"), ({"received_on": ago(-2).date()}, "received_on")]:
        params = dict(actor=office.officer, district=world.district, title="x", count=5, source="y",
                      received_on=DAY) | kwargs
        with pytest.raises(ServiceError) as e:
            services.batch_receive(**params)
        assert field in e.value.fields
    assert NoticeBatch.objects.count() == 1


def test_allocations_never_exceed_the_batch(world, office, batch):
    services.allocation_set(actor=office.officer, batch=batch, street=world.street_a, count=60)
    with pytest.raises(ServiceError) as e:
        services.allocation_set(actor=office.officer, batch=batch, street=world.street_b, count=41)
    assert "最多还能分给该街道 40 份" in e.value.message
    services.allocation_set(actor=office.officer, batch=batch, street=world.street_b, count=40)
    # changing a street's share counts the others, not its own old share
    services.allocation_set(actor=office.officer, batch=batch, street=world.street_a, count=55)
    with pytest.raises(ServiceError):
        services.allocation_set(actor=office.officer, batch=batch, street=world.street_a, count=61)
    assert dict(NoticeAllocation.objects.values_list("street__name", "count")) == {"甲街道": 55, "乙街道": 40}


def test_only_the_districts_streets_get_an_allocation(world, office, batch):
    with pytest.raises(ServiceError):
        services.allocation_set(actor=office.officer, batch=batch, street=world.community_a, count=1)
    assert NoticeAllocation.objects.count() == 0


def test_postings_never_exceed_the_streets_share_and_must_be_in_the_street(world, office, batch):
    allocation = services.allocation_set(actor=office.officer, batch=batch, street=world.street_a, count=10)
    services.posting_record(actor=world.officer_a, allocation=allocation, unit=world.courtyard_a, count=6,
                            location="院门口", posted_on=DAY)
    with pytest.raises(ServiceError) as e:
        services.posting_record(actor=world.officer_a, allocation=allocation, unit=world.community_a, count=5,
                                location="社区公告栏", posted_on=DAY)
    assert "还剩 4 份" in e.value.message
    services.posting_record(actor=world.officer_a, allocation=allocation, unit=world.community_a, count=4,
                            location="社区公告栏", posted_on=DAY)
    with pytest.raises(ServiceError) as e:
        services.allocation_set(actor=office.officer, batch=batch, street=world.street_a, count=9)
    assert "不能少于已张贴数" in e.value.message
    with pytest.raises(ServiceError):
        services.posting_record(actor=world.admin, allocation=allocation, unit=world.courtyard_b, count=1,
                                location="x", posted_on=DAY)
    with pytest.raises(ServiceError):
        services.posting_record(actor=world.officer_a, allocation=allocation, unit=world.street_a, count=1,
                                location="x", posted_on=DAY)
    assert NoticePosting.objects.count() == 2


def test_coverage_counts_courtyards_without_a_posting(world, office, batch):
    extra = [orgunit_create(actor=world.root, parent=world.community_a, kind="courtyard", code=f"T100-A1-{i}",
                            name=f"甲一{i}号院") for i in (2, 3)]
    alloc_a = services.allocation_set(actor=office.officer, batch=batch, street=world.street_a, count=30)
    services.allocation_set(actor=office.officer, batch=batch, street=world.street_b, count=20)
    services.posting_record(actor=world.officer_a, allocation=alloc_a, unit=world.courtyard_a, count=5,
                            location="院门口", posted_on=DAY)
    services.posting_record(actor=world.officer_a, allocation=alloc_a, unit=world.courtyard_a, count=2,
                            location="单元门", posted_on=DAY)
    # a posting at the community does not cover its courtyards
    services.posting_record(actor=world.officer_a, allocation=alloc_a, unit=world.community_a, count=3,
                            location="社区公告栏", posted_on=DAY)
    rows = {r["street"].name: r for r in queries.batch_coverage(office.officer, batch)}
    a, b = rows["甲街道"], rows["乙街道"]
    assert (a["allocated"], a["posted"], a["remaining"], a["courtyards"], a["covered"], a["uncovered"]) == \
        (30, 10, 20, 3, 1, 2)
    assert (b["allocated"], b["posted"], b["remaining"], b["courtyards"], b["covered"], b["uncovered"]) == \
        (20, 0, 20, 1, 0, 1)
    assert set(queries.uncovered_courtyards(office.officer, batch)) == {*extra, world.courtyard_b}
    assert set(queries.uncovered_courtyards(world.officer_a, batch)) == set(extra)
    assert [r["street"].name for r in queries.batch_coverage(world.officer_a, batch)] == ["甲街道"]


# --- concurrency (PostgreSQL: real row locks) --------------------------------------------------

def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/govdesk_dev")


def run_together(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes = []

    def run(call):
        from django.db import connections
        try:
            barrier.wait()
            call()
            outcomes.append("ok")
        except ServiceError as e:
            outcomes.append(e.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_allocations_at_once_cannot_exceed_the_batch(world, office, batch):
    needs_postgres()
    outcomes = run_together(
        lambda: services.allocation_set(actor=office.officer, batch=batch, street=world.street_a, count=70),
        lambda: services.allocation_set(actor=office.officer, batch=batch, street=world.street_b, count=70))
    assert outcomes.count("ok") == 1
    assert sum(NoticeAllocation.objects.values_list("count", flat=True)) == 70


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_postings_at_once_cannot_exceed_the_share(world, office, batch):
    needs_postgres()
    allocation = services.allocation_set(actor=office.officer, batch=batch, street=world.street_a, count=10)
    outcomes = run_together(*[
        (lambda unit=unit: services.posting_record(actor=world.officer_a, allocation=allocation, unit=unit,
                                                   count=6, location="x", posted_on=DAY))
        for unit in (world.courtyard_a, world.community_a)])
    assert outcomes.count("ok") == 1
    assert sum(NoticePosting.objects.values_list("count", flat=True)) == 6
