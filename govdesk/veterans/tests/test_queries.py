from datetime import date

import pytest
from django.utils import timezone

from govdesk.core.reach import CHANGE, Role
from govdesk.core.testing import assert_visible_set
from govdesk.veterans import queries, services
from govdesk.veterans.models import (
    Appointment,
    Attachment,
    ChangeRequest,
    CollectionPoint,
    ExpectedBase,
    Record,
    Slot,
)

from .conftest import JPEG, id_number, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_streets(vets):
    w = vets.world
    a = vets.record(actor=vets.collector_a, community=w.community_a, seq=1)
    b = vets.record(actor=vets.collector_b, community=w.community_b, seq=2)
    return a, b


def test_each_person_sees_exactly_their_reach_of_records(vets, two_streets):
    a, b = two_streets
    w = vets.world
    assert_visible_set(Record, vets.collector_a, [a])
    assert_visible_set(Record, vets.collector_b, [b])
    assert_visible_set(Record, w.officer_a, [a])
    assert_visible_set(Record, w.officer_b, [b])
    assert_visible_set(Record, vets.officer, [a, b])  # 退役军人事务局 covers the district
    assert_visible_set(Record, w.admin, [a, b])
    assert_visible_set(Record, w.supervisor, [a, b])
    assert_visible_set(Record, w.dept_officer, [])  # 商务局 does not
    assert_visible_set(Record, w.outsider, [])


def test_the_supervisor_reads_all_and_may_change_nothing(vets, two_streets):
    assert_visible_set(Record, vets.world.supervisor, [], action=CHANGE)
    assert_visible_set(Record, vets.officer, two_streets, action=CHANGE)
    assert_visible_set(Record, vets.collector_a, [two_streets[0]], action=CHANGE)


def test_a_collector_of_a_community_sees_only_that_community(vets, two_streets):
    from govdesk.core import services as core_services
    w = vets.world
    other = core_services.orgunit_create(actor=w.root, parent=w.street_a, kind="community", code="T100-A2",
                                         name="甲二社区")
    c = vets.record(actor=vets.collector_a, community=other, seq=3)
    narrow = w.person("collector_a1", Role.COLLECTOR, w.community_a)
    assert_visible_set(Record, narrow, [two_streets[0]])
    assert_visible_set(Record, vets.collector_a, [two_streets[0], c])


def test_attachments_change_requests_points_slots_and_appointments_follow_the_same_reach(vets, two_streets):
    a, b = two_streets
    w = vets.world
    att_a, _ = services.attachment_add(actor=vets.collector_a, record=a, kind="id_card", filename="a", content=JPEG)
    att_b, _ = services.attachment_add(actor=vets.collector_b, record=b, kind="id_card", filename="b", content=JPEG)
    point_a = vets.point(unit=w.community_a, actor=w.officer_a)
    point_b = vets.point(unit=w.community_b, actor=w.officer_b)
    slot_a = point_a.slots.filter(day=timezone.localdate()).first()
    slot_b = point_b.slots.filter(day=timezone.localdate()).first()
    ap_a = services.appointment_book(actor=vets.collector_a, slot=slot_a, name="甲", id_number=id_number(seq=11))
    ap_b = services.appointment_book(actor=vets.collector_b, slot=slot_b, name="乙", id_number=id_number(seq=12))
    services.expected_set(actor=vets.officer, street=w.street_a, expected=10)
    services.expected_set(actor=vets.officer, street=w.street_b, expected=20)
    for user, atts, points, appointments in [
        (vets.collector_a, [att_a], [point_a], [ap_a]),
        (w.officer_b, [att_b], [point_b], [ap_b]),
        (vets.officer, [att_a, att_b], [point_a, point_b], [ap_a, ap_b]),
        (w.supervisor, [att_a, att_b], [point_a, point_b], [ap_a, ap_b]),
        (w.dept_officer, [], [], []),
        (w.outsider, [], [], []),
    ]:
        assert_visible_set(Attachment, user, atts)
        assert_visible_set(CollectionPoint, user, points)
        assert_visible_set(Appointment, user, appointments)
        assert set(Slot.objects.restrict(user).values_list("point", flat=True)) == {p.pk for p in points}
    assert_visible_set(ExpectedBase, vets.collector_a, ExpectedBase.objects.filter(org_unit=w.street_a))
    assert_visible_set(ChangeRequest, w.supervisor, [])


def test_search_by_full_id_number_or_phone_goes_through_the_blind_index(vets, two_streets):
    a, _b = two_streets
    assert list(queries.records_visible(vets.officer, q=id_number(seq=1))) == [a]
    assert list(queries.records_visible(vets.collector_b, q=id_number(seq=1))) == []
    assert queries.records_visible(vets.officer, q="13812345678").count() == 2
    assert list(queries.records_visible(vets.officer, q="张")) == list(Record.objects.filter(name="张建国"))


def test_progress_counts_per_street_point_collector_and_day_within_reach(vets):
    w = vets.world
    services.expected_set(actor=vets.officer, street=w.street_a, expected=10)
    services.expected_set(actor=vets.officer, street=w.street_b, expected=4)
    made = [vets.record(seq=i) for i in range(1, 5)]
    for record in made[:3]:
        services.record_submit(actor=vets.collector_a, record=record)
    services.record_review(actor=w.officer_a, record=made[0])
    services.record_archive(actor=w.officer_a, record=made[0])
    services.record_review(actor=w.officer_a, record=made[1])
    b = vets.record(actor=vets.collector_b, community=w.community_b, seq=9)
    services.record_submit(actor=vets.collector_b, record=b)
    data = queries.progress(vets.officer)
    rows = {r["unit"].name: (r["expected"], r["collected"], r["reviewed"], r["archived"], r["percent"], r["behind"])
            for r in data["streets"]}
    assert rows == {"甲街道": (10, 3, 2, 1, 30.0, False), "乙街道": (4, 1, 0, 0, 25.0, False)}
    assert data["total"] == {"collected": 4, "reviewed": 2, "archived": 1} and data["overall"] == 28.6
    assert [(r["user"].username, r["collected"]) for r in data["collectors"]] == [("collector_a", 3),
                                                                                  ("collector_b", 1)]
    assert data["days"][-1]["collected"] == 4 and sum(d["collected"] for d in data["days"]) == 4
    mine = queries.progress(vets.collector_b)
    assert [r["unit"].name for r in mine["streets"]] == ["乙街道"] and mine["total"]["collected"] == 1


def test_a_street_far_below_the_district_pace_is_behind(vets):
    w = vets.world
    services.expected_set(actor=vets.officer, street=w.street_a, expected=2)
    services.expected_set(actor=vets.officer, street=w.street_b, expected=10)
    for seq in (1, 2):
        services.record_submit(actor=vets.collector_a, record=vets.record(seq=seq))
    data = queries.progress(w.admin)
    assert [r["unit"].name for r in data["behind"]] == ["乙街道"]


def test_the_load_board_counts_todays_places_per_point(vets):
    w = vets.world
    point = vets.point(capacity=4, slot_minutes=60)
    slots = list(point.slots.filter(day=timezone.localdate()).order_by("starts_at"))
    first = services.appointment_book(actor=vets.collector_a, slot=slots[0], name="张建国", id_number=id_number())
    services.appointment_book(actor=vets.collector_a, slot=slots[1], name="乙", id_number=id_number(seq=2))
    services.appointment_check_in(actor=vets.collector_a, appointment=first)
    services.record_create(actor=vets.collector_a, data=person(w.community_a), appointment=first)
    row = queries.load_board(vets.collector_a, timezone.localdate())[0]
    assert (row["capacity"], row["booked"], row["waiting"], row["checked_in"], row["collected"], row["percent"]) == (
        4, 2, 1, 0, 1, 50)
    assert queries.load_board(vets.collector_b, timezone.localdate()) == []
    assert queries.load_board(vets.collector_a, date(2000, 1, 1))[0]["capacity"] == 0
