from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from govdesk.core import personal
from govdesk.core.errors import Conflict, Forbidden, NotInReach, ServiceError
from govdesk.core.models import AuditEvent, Todo
from govdesk.core.testing import assert_write_refused
from govdesk.veterans import services
from govdesk.veterans.models import Appointment, Attachment, ChangeRequest, Record

from .conftest import JPEG, PDF, PNG, id_number, person

pytestmark = pytest.mark.django_db


def refused_fields(call) -> dict:
    with pytest.raises(ServiceError) as info:
        call()
    return info.value.fields


# --- the record ----------------------------------------------------------------------------

def test_a_collector_collects_a_record_in_their_community_and_it_is_audited_once(vets):
    record = vets.record()
    assert record.status == Record.Status.DRAFT and record.version == 1
    assert record.street == vets.world.street_a and record.collector == vets.collector_a
    events = AuditEvent.objects.filter(object_type="veterans.record", object_id=str(record.pk))
    assert [e.action for e in events] == ["create"]
    assert events[0].changes["id_number"] == record.id_number_masked and events[0].changes["name"] == "张建国"


def test_the_database_row_holds_no_id_or_phone_number_in_clear(vets):
    record = vets.record()
    number = id_number()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM veterans_record WHERE id = %s", [record.pk])
        row = " ".join(str(v) for v in cursor.fetchone())
        cursor.execute("SELECT changes FROM core_auditevent WHERE object_type = 'veterans.record'")
        audit_text = " ".join(str(v[0]) for v in cursor.fetchall())
    for secret in (number, "13812345678", number[6:14] + number[14:]):
        assert secret not in row and secret not in audit_text
    assert personal.decrypt(record.id_number_enc) == number
    assert record.id_number_bidx == personal.blind_index("id_number", number)
    assert record.id_number_masked == number[:6] + "********" + number[-4:]
    assert record.phone_masked == "138****5678"


def test_gender_must_agree_with_the_id_number(vets):
    fields = refused_fields(lambda: vets.record(male=True, gender="女"))
    assert fields == {"gender": "性别与身份证号不符：身份证号显示为男性"}


def test_birth_date_must_agree_with_the_id_number_and_is_taken_from_it_when_missing(vets):
    fields = refused_fields(lambda: vets.record(birth_date=date(1975, 3, 2)))
    assert fields == {"birth_date": "出生日期与身份证号不符：身份证号显示为 1975-03-01"}
    record = vets.record(birth_date=None)
    assert record.birth_date == date(1975, 3, 1)


def test_dates_must_be_in_order_born_enlisted_discharged(vets):
    assert refused_fields(lambda: vets.record(enlisted_on=date(1975, 3, 1)))["enlisted_on"] == "入伍时间应晚于出生日期"
    assert refused_fields(lambda: vets.record(discharged_on=date(1993, 3, 1)))["discharged_on"] == "退役时间应晚于入伍时间"
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert refused_fields(lambda: vets.record(discharged_on=tomorrow))["discharged_on"] == "退役时间不能晚于今天"
    assert Record.objects.count() == 0


def test_bad_id_numbers_are_refused_with_clear_messages(vets):
    bad_check = id_number()[:-1] + ("0" if id_number()[-1] != "0" else "1")
    assert refused_fields(lambda: vets.record(id_number=bad_check))["id_number"] == "身份证号校验位不正确，请核对"
    assert refused_fields(lambda: vets.record(id_number="41010219750301"))["id_number"] == "身份证号应为 18 位，实际为 14 位"


def test_full_width_id_numbers_are_folded(vets):
    wide = "".join(chr(ord(c) + 0xFEE0) for c in id_number())
    record = vets.record(id_number=wide)
    assert personal.decrypt(record.id_number_enc) == id_number()


def test_categories_are_data_and_drive_what_is_required(vets, categories):
    assert [c.name for c in list(categories.values())[:9]] == [
        "退役士兵", "军队转业干部", "军队离退休干部和退休士官", "复员军人", "残疾军人", "烈士遗属",
        "因公牺牲军人遗属", "病故军人遗属", "现役军人家属"]
    fields = refused_fields(lambda: vets.record(category="canji"))
    assert set(fields) == {"disability_grade", "disability_nature", "disability_certificate"}
    record = vets.record(category="canji", disability_grade=6, disability_nature="因战", disability_certificate="豫123")
    assert record.disability_grade == 6
    fields = refused_fields(lambda: vets.record(seq=2, category="canji", disability_grade=11, disability_nature="因战",
                                                disability_certificate="豫1"))
    assert fields == {"disability_grade": "伤残等级应为 1–10 级"}
    # a martyr's family member has no service history of their own
    widow = vets.record(seq=3, male=False, category="lieshiyishu", enlisted_on=None, discharged_on=None,
                        family_link="烈士王某之妻")
    assert widow.enlisted_on is None
    assert refused_fields(lambda: vets.record(seq=4, enlisted_on=None, discharged_on=None)) == {
        "enlisted_on": "「退役士兵」须填写入伍时间"}


def test_a_record_belongs_to_a_community(vets):
    fields = refused_fields(lambda: vets.record(community=vets.world.street_a))
    assert fields == {"community": "记录应归属到社区"}


def test_a_collector_cannot_collect_in_another_street(vets):
    assert_write_refused(lambda: vets.record(actor=vets.collector_a, community=vets.world.community_b),
                         models=[Record])


def test_the_supervisor_changes_nothing(vets):
    record = vets.record()
    assert_write_refused(lambda: vets.record(actor=vets.world.supervisor, seq=9), models=[Record])
    assert_write_refused(lambda: services.record_submit(actor=vets.world.supervisor, record=record), models=[Record])
    assert Record.objects.get(pk=record.pk).status == Record.Status.DRAFT


# --- duplicates -----------------------------------------------------------------------------

def test_a_second_collection_points_to_the_existing_record_and_its_collector(vets):
    first = vets.record()
    with pytest.raises(Conflict) as info:
        vets.record(actor=vets.world.officer_a)
    assert info.value.message == (f"该身份证号已登记：张建国（甲一社区，记录编号 {first.pk}），"
                                  "采集员 collector_a，请勿重复采集")
    assert Record.objects.count() == 1


def test_a_duplicate_in_another_street_says_only_which_street_holds_it(vets):
    vets.record(actor=vets.collector_b, community=vets.world.community_b)
    with pytest.raises(Conflict) as info:
        vets.record(actor=vets.collector_a, community=vets.world.community_a)
    assert info.value.message == "该身份证号已在「乙街道」登记，请勿重复采集；如有疑问请联系该街道核实"
    assert "张建国" not in info.value.message and "collector_b" not in info.value.message


def test_the_database_refuses_a_duplicate_that_slips_past_the_check(vets):
    from django.db import IntegrityError, transaction
    first = vets.record()
    clone = Record.objects.get(pk=first.pk)
    clone.pk, clone.uuid = None, __import__("uuid").uuid4()
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()


def test_an_update_to_another_persons_id_number_is_a_duplicate(vets):
    vets.record(seq=1)
    second = vets.record(seq=2)
    with pytest.raises(Conflict):
        services.record_update(actor=vets.collector_a, record=second, data=person(vets.world.community_a, seq=1),
                               base_version=1)


# --- review workflow --------------------------------------------------------------------------

def test_collected_reviewed_archived_by_the_street_officer(vets):
    record = vets.record()
    services.record_submit(actor=vets.collector_a, record=record)
    with pytest.raises(Forbidden):
        services.record_review(actor=vets.collector_a, record=record)
    services.record_review(actor=vets.world.officer_a, record=record)
    services.record_archive(actor=vets.world.officer_a, record=record)
    record.refresh_from_db()
    assert record.status == "archived" and record.reviewed_by == vets.world.officer_a
    verbs = list(AuditEvent.objects.filter(object_type="veterans.record", object_id=str(record.pk))
                 .order_by("id").values_list("verb", flat=True))
    assert verbs == ["collect", "submit", "review", "archive"]


def test_a_returned_record_is_in_the_collectors_todos_until_resubmitted(vets):
    record = vets.record()
    services.record_submit(actor=vets.collector_a, record=record)
    fields = refused_fields(lambda: services.record_return(actor=vets.world.officer_a, record=record, reason=" "))
    assert fields == {"reason": "请填写退回原因"}
    services.record_return(actor=vets.world.officer_a, record=record, reason="身份证扫描件不清晰")
    todo = Todo.objects.get(user=vets.collector_a, done_at=None)
    assert todo.title == "退回待修改：张建国（身份证扫描件不清晰）" and todo.url == f"/veterans/records/{record.pk}/"
    services.record_update(actor=vets.collector_a, record=record, base_version=1,
                           data=person(vets.world.community_a, awards="三等功一次"))
    services.record_submit(actor=vets.collector_a, record=record)
    assert not Todo.objects.filter(user=vets.collector_a, done_at=None).exists()
    record.refresh_from_db()
    assert record.status == "collected" and record.return_reason == "" and record.version == 2


def test_the_veterans_department_reviews_in_every_street_but_another_department_does_not(vets):
    record = vets.record(actor=vets.collector_b, community=vets.world.community_b)
    services.record_submit(actor=vets.collector_b, record=record)
    assert_write_refused(lambda: services.record_review(actor=vets.world.dept_officer, record=record))
    assert_write_refused(lambda: services.record_review(actor=vets.world.officer_a, record=record))
    services.record_review(actor=vets.officer, record=record)
    assert Record.objects.get(pk=record.pk).status == "reviewed"


def test_reviewed_and_archived_records_are_not_edited_directly(vets):
    record = vets.record()
    services.record_submit(actor=vets.collector_a, record=record)
    services.record_review(actor=vets.world.officer_a, record=record)
    with pytest.raises(ServiceError, match="需由审核人退回后才能修改"):
        services.record_update(actor=vets.collector_a, record=record, data=person(vets.world.community_a),
                               base_version=1)
    services.record_archive(actor=vets.world.officer_a, record=record)
    with pytest.raises(ServiceError, match="变更申请"):
        services.record_update(actor=vets.collector_a, record=record, data=person(vets.world.community_a),
                               base_version=1)


def _archived(vets):
    record = vets.record()
    services.record_submit(actor=vets.collector_a, record=record)
    services.record_review(actor=vets.world.officer_a, record=record)
    return services.record_archive(actor=vets.world.officer_a, record=record)


def test_a_change_after_archiving_is_approved_by_the_reviewer_with_before_and_after(vets):
    record = _archived(vets)
    change = services.change_request_create(
        actor=vets.collector_a, record=record, reason="搬家", base_version=record.version,
        data=person(vets.world.community_a, residential_address="郑州市中原区桐柏路 8 号", phone="13900001111"))
    assert change.changes == {"residential_address": ["郑州市中原区建设路 1 号", "郑州市中原区桐柏路 8 号"],
                              "phone": ["138****5678", "139****1111"]}
    assert "13900001111" not in str(change.changes) + str(change.payload)
    assert Todo.objects.filter(user=vets.world.officer_a, kind="veterans.change_request", done_at=None).count() == 1
    assert_write_refused(lambda: services.change_request_decide(actor=vets.collector_a, change=change, approve=True),
                         models=[ChangeRequest])
    services.change_request_decide(actor=vets.world.officer_a, change=change, approve=True)
    record.refresh_from_db()
    assert record.residential_address == "郑州市中原区桐柏路 8 号" and record.version == 2
    assert personal.decrypt(record.phone_enc) == "13900001111" and record.status == "archived"
    assert not Todo.objects.filter(kind="veterans.change_request", done_at=None).exists()


def test_a_change_request_cannot_change_the_id_number_or_be_empty(vets):
    record = _archived(vets)
    with pytest.raises(ServiceError, match="身份证号不能通过变更申请修改"):
        services.change_request_create(actor=vets.collector_a, record=record, reason="录错", base_version=1,
                                       data=person(vets.world.community_a, seq=7))
    with pytest.raises(ServiceError, match="没有修改任何内容"):
        services.change_request_create(actor=vets.collector_a, record=record, reason="无", base_version=1,
                                       data=person(vets.world.community_a))


def test_a_rejected_change_leaves_the_record_as_it_was(vets):
    record = _archived(vets)
    change = services.change_request_create(actor=vets.collector_a, record=record, reason="x", base_version=1,
                                            data=person(vets.world.community_a, awards="二等功"))
    services.change_request_decide(actor=vets.world.officer_a, change=change, approve=False, note="无证明")
    record.refresh_from_db()
    assert record.awards == "" and record.version == 1
    assert ChangeRequest.objects.get(pk=change.pk).status == "rejected"


# --- attachments -------------------------------------------------------------------------------

def test_an_attachment_is_checked_hashed_and_stored_under_media_root(vets, settings):
    import hashlib
    record = vets.record()
    attachment, created = services.attachment_add(actor=vets.collector_a, record=record, kind="id_card",
                                                  filename="身份证.jpg", content=JPEG)
    assert created and attachment.sha256 == hashlib.sha256(JPEG).hexdigest() and attachment.size == len(JPEG)
    assert attachment.content_type == "image/jpeg" and attachment.file.startswith("veterans/")
    assert (settings.MEDIA_ROOT / attachment.file).read_bytes() == JPEG
    again, created = services.attachment_add(actor=vets.collector_a, record=record, kind="id_card",
                                             filename="x.jpg", content=JPEG)
    assert again.pk == attachment.pk and not created and Attachment.objects.count() == 1


def test_only_real_jpeg_png_and_pdf_files_within_the_limit_are_accepted(vets, monkeypatch):
    record = vets.record()
    for content in (PNG, PDF):
        services.attachment_add(actor=vets.collector_a, record=record, kind="other", filename="a", content=content)
    fields = refused_fields(lambda: services.attachment_add(
        actor=vets.collector_a, record=record, kind="id_card", filename="fake.jpg", content=b"MZ\x90\x00 not a jpeg"))
    assert fields == {"file": "只接受 JPEG、PNG 或 PDF"}
    monkeypatch.setattr(services, "ATTACHMENT_MAX_BYTES", 100)
    fields = refused_fields(lambda: services.attachment_add(
        actor=vets.collector_a, record=record, kind="id_card", filename="big.jpg", content=JPEG))
    assert fields == {"file": "文件不能超过 0 MB"}
    assert Attachment.objects.count() == 2


def test_a_record_with_declared_attachments_cannot_be_submitted_until_they_arrive(vets):
    record = services.record_create(actor=vets.collector_a, data=person(vets.world.community_a),
                                    declared_attachments=["id_card", "discharge_certificate"])
    with pytest.raises(ServiceError, match="还缺少附件：身份证扫描件、退伍/转业证件"):
        services.record_submit(actor=vets.collector_a, record=record)
    services.attachment_add(actor=vets.collector_a, record=record, kind="id_card", filename="a", content=JPEG)
    services.attachment_add(actor=vets.collector_a, record=record, kind="discharge_certificate", filename="b",
                            content=PDF)
    assert services.record_submit(actor=vets.collector_a, record=record).status == "collected"


def test_a_collector_of_another_street_cannot_attach_files(vets):
    record = vets.record()
    assert_write_refused(lambda: services.attachment_add(actor=vets.collector_b, record=record, kind="id_card",
                                                         filename="a", content=JPEG), models=[Attachment])


# --- points, slots, appointments -------------------------------------------------------------

def test_a_point_spreads_its_daily_capacity_over_its_slots(vets):
    point = vets.point(capacity=5, slot_minutes=30)
    slots = list(point.slots.filter(day=timezone.localdate()))
    assert [(f"{s.starts_at:%H:%M}", s.capacity) for s in slots] == [("09:00", 2), ("09:30", 1), ("10:00", 1),
                                                                     ("10:30", 1)]
    assert point.slots.count() == 12  # three days opened


def test_a_street_officer_cannot_set_up_a_point_in_another_street(vets):
    from govdesk.veterans.models import CollectionPoint
    assert_write_refused(lambda: vets.point(unit=vets.world.community_b), models=[CollectionPoint])
    assert_write_refused(lambda: vets.point(actor=vets.collector_a), models=[CollectionPoint])


def _slot(vets, capacity=2):
    point = vets.point(capacity=capacity * 2, slot_minutes=60)
    return point.slots.filter(day=timezone.localdate()).order_by("starts_at").first()


def test_a_slot_never_takes_more_than_its_capacity(vets):
    slot = _slot(vets, capacity=2)
    for seq in (1, 2):
        services.appointment_book(actor=vets.collector_a, slot=slot, name="甲", id_number=id_number(seq=seq))
    with pytest.raises(Conflict, match="该时段名额已满"):
        services.appointment_book(actor=vets.collector_a, slot=slot, name="丙", id_number=id_number(seq=3))
    assert Appointment.objects.filter(slot=slot).count() == 2


def test_cancel_frees_the_place_and_rebook_moves_the_appointment(vets):
    slot = _slot(vets, capacity=1)
    later = slot.point.slots.filter(day=slot.day).exclude(pk=slot.pk).first()
    first = services.appointment_book(actor=vets.collector_a, slot=slot, name="甲", id_number=id_number(seq=1))
    services.appointment_cancel(actor=vets.collector_a, appointment=first)
    second = services.appointment_book(actor=vets.collector_a, slot=slot, name="乙", id_number=id_number(seq=2))
    services.appointment_rebook(actor=vets.collector_a, appointment=second, slot=later)
    second.refresh_from_db()
    assert second.slot == later
    again = services.appointment_book(actor=vets.collector_a, slot=slot, name="甲", id_number=id_number(seq=1))
    assert again.status == "booked"
    with pytest.raises(Conflict, match="该时段名额已满"):
        services.appointment_rebook(actor=vets.collector_a, appointment=again, slot=later)


def test_one_person_holds_one_active_appointment_and_a_collected_person_needs_none(vets):
    slot = _slot(vets)
    services.appointment_book(actor=vets.collector_a, slot=slot, name="甲", id_number=id_number(seq=1))
    with pytest.raises(Conflict, match="此人已有预约"):
        services.appointment_book(actor=vets.collector_a, slot=slot, name="甲", id_number=id_number(seq=1))
    vets.record(seq=5)
    with pytest.raises(Conflict, match="该身份证号已登记"):
        services.appointment_book(actor=vets.collector_a, slot=slot, name="张", id_number=id_number(seq=5))


def test_check_in_starts_a_collection_that_completes_the_appointment(vets):
    slot = _slot(vets)
    appointment = services.appointment_book(actor=vets.collector_a, slot=slot, name="张建国", id_number=id_number())
    with pytest.raises(ServiceError, match="签到后才能开始采集"):
        services.record_create(actor=vets.collector_a, data=person(vets.world.community_a), appointment=appointment)
    services.appointment_check_in(actor=vets.collector_a, appointment=appointment)
    with pytest.raises(ServiceError, match="身份证号与预约人不一致"):
        services.record_create(actor=vets.collector_a, data=person(vets.world.community_a, seq=8),
                               appointment=appointment)
    record = services.record_create(actor=vets.collector_a, data=person(vets.world.community_a),
                                    appointment=appointment)
    appointment.refresh_from_db()
    assert appointment.status == "collected" and appointment.record == record and record.point == slot.point


def test_check_in_is_only_on_the_day_of_the_appointment(vets):
    point = vets.point()
    tomorrow = point.slots.filter(day=timezone.localdate() + timedelta(days=1)).first()
    appointment = services.appointment_book(actor=vets.collector_a, slot=tomorrow, name="甲", id_number=id_number())
    with pytest.raises(ServiceError, match="不是今天"):
        services.appointment_check_in(actor=vets.collector_a, appointment=appointment)


def test_a_collector_of_another_street_cannot_book_at_this_point(vets):
    slot = _slot(vets)
    assert_write_refused(lambda: services.appointment_book(actor=vets.collector_b, slot=slot, name="甲",
                                                           id_number=id_number()), models=[Appointment])


def test_expected_base_numbers_are_set_by_the_district_side(vets):
    from govdesk.veterans.models import ExpectedBase
    services.expected_set(actor=vets.officer, street=vets.world.street_a, expected=120)
    services.expected_set(actor=vets.officer, street=vets.world.street_a, expected=130)
    assert ExpectedBase.objects.get(org_unit=vets.world.street_a).expected == 130
    assert_write_refused(lambda: services.expected_set(actor=vets.world.officer_a, street=vets.world.street_a,
                                                       expected=1), models=[ExpectedBase])
    assert AuditEvent.objects.filter(object_type="veterans.expectedbase").count() == 2


# --- bulk --------------------------------------------------------------------------------------

def test_a_bulk_collection_writes_all_rows_or_none_and_names_the_bad_rows(vets):
    good = [person(vets.world.community_a, seq=i) for i in range(1, 4)]
    bad = good + [person(vets.world.community_a, seq=1), person(vets.world.community_a, seq=9, gender="女")]
    with pytest.raises(ServiceError) as info:
        services.record_bulk_create(actor=vets.collector_a, items=bad)
    assert info.value.fields == {"第 4 行": "与第 1 行身份证号重复", "第 5 行": "性别与身份证号不符：身份证号显示为男性"}
    assert Record.objects.count() == 0
    created = services.record_bulk_create(actor=vets.collector_a, items=good)
    assert len(created) == 3 and {r.status for r in Record.objects.all()} == {"collected"}
    assert AuditEvent.objects.filter(object_type="veterans.record", action="import").count() == 3
    assert services.record_bulk_review(actor=vets.world.officer_a, records=created) == 3
    with pytest.raises(ServiceError, match="不在您的审核范围内"):
        services.record_bulk_archive(actor=vets.world.officer_b, records=created)
    assert_write_refused(lambda: services.record_bulk_archive(actor=vets.collector_a, records=created),
                         models=[Record])


def test_not_in_reach_is_a_404_for_services(vets):
    record = vets.record()
    with pytest.raises(NotInReach):
        services.record_submit(actor=vets.collector_b, record=record)


def test_an_appointment_row_holds_no_id_or_phone_number_in_clear(vets):
    slot = _slot(vets)
    appointment = services.appointment_book(actor=vets.collector_a, slot=slot, name="甲", id_number=id_number(),
                                            phone="13812345678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM veterans_appointment WHERE id = %s", [appointment.pk])
        row = " ".join(str(v) for v in cursor.fetchone())
    assert id_number() not in row and "13812345678" not in row
    assert appointment.id_number_masked == id_number()[:6] + "********" + id_number()[-4:]


def test_a_home_visit_is_booked_like_a_point_visit_but_needs_an_address(vets):
    slot = _slot(vets)
    fields = refused_fields(lambda: services.appointment_book(actor=vets.collector_a, slot=slot, name="甲",
                                                              id_number=id_number(), kind="home"))
    assert fields == {"home_address": "上门采集请填写上门地址"}
    visit = services.appointment_book(actor=vets.collector_a, slot=slot, name="甲", id_number=id_number(),
                                      kind="home", home_address="建设路 3 号院 2 单元")
    assert visit.kind == "home" and visit.home_address == "建设路 3 号院 2 单元"


def test_a_point_with_impossible_hours_or_capacity_is_refused(vets):
    from datetime import time

    from govdesk.veterans.models import CollectionPoint
    fields = refused_fields(lambda: services.point_create(
        actor=vets.world.officer_a, unit=vets.world.community_a, name="", address="x", opens_at=time(12, 0),
        closes_at=time(9, 0), daily_capacity=0, slot_minutes=5))
    assert fields == {"name": "请填写采集点名称", "closes_at": "结束时间应晚于开始时间",
                      "slot_minutes": "时段长度应为 10–240 分钟", "daily_capacity": "每日接待量应为 1–2000 人"}
    assert CollectionPoint.objects.count() == 0


def test_a_change_approved_after_the_record_moved_on_is_refused(vets):
    record = _archived(vets)
    change = services.change_request_create(actor=vets.collector_a, record=record, reason="x", base_version=1,
                                            data=person(vets.world.community_a, awards="二等功"))
    Record.objects.filter(pk=record.pk).update(version=2)  # another change landed meanwhile
    with pytest.raises(Conflict, match="记录在申请后已被修改"):
        services.change_request_decide(actor=vets.world.officer_a, change=change, approve=True)
    assert ChangeRequest.objects.get(pk=change.pk).status == "pending"
