"""Places, inspections, photos and rectifications through the services."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from govdesk.coal import services
from govdesk.coal.models import Inspection, InspectionCorrection, Photo, Place, Rectification
from govdesk.core import personal
from govdesk.core.errors import Conflict, ServiceError
from govdesk.core.models import AuditEvent, Todo

from .conftest import CLEAN, COAL, ago, rectify

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def events(obj, **filters):
    return AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk), **filters)


# --- places -------------------------------------------------------------------------------

def test_a_place_keeps_the_phone_encrypted_and_shows_it_masked(coal):
    place = coal.place_a
    assert place.street.name == "甲街道" and place.status == Place.Status.CLEAN
    assert "13812345678" not in place.contact_phone_enc
    assert personal.decrypt(place.contact_phone_enc) == "13812345678"
    assert place.contact_phone_masked == "138****5678"
    assert events(place, action="create").count() == 1


def test_a_place_needs_a_community_a_kind_and_no_twin(world, coal):
    with pytest.raises(ServiceError) as e:
        services.place_create(actor=world.officer_a, community=world.street_a, name="x", kind="shop", address="y")
    assert "community" in e.value.fields
    with pytest.raises(ServiceError) as e:
        services.place_create(actor=world.officer_a, community=world.community_a, name="x", kind="mine", address="y")
    assert "kind" in e.value.fields
    with pytest.raises(ServiceError) as e:
        services.place_create(actor=world.officer_a, community=world.community_a, name="王记烧饼店", kind="shop",
                              address="甲一社区 3 号楼")
    assert "已有同名同地址" in e.value.message
    with pytest.raises(ServiceError) as e:
        services.place_create(actor=world.officer_a, community=world.community_a, name="x", kind="shop",
                              address="y", contact_phone="12345")
    assert "contact_phone" in e.value.fields
    assert Place.objects.count() == 2


def test_updating_a_place_audits_old_and_new_and_keeps_the_phone_when_left_blank(world, coal):
    services.place_update(actor=world.officer_a, place=coal.place_a, name="王记烧饼店（新）", kind="restaurant",
                          address="甲一社区 3 号楼", contact_name="王先生", contact_phone=None)
    place = Place.objects.get(pk=coal.place_a.pk)
    assert place.name == "王记烧饼店（新）" and place.contact_phone_masked == "138****5678"
    assert events(place, action="update").get().changes == {"name": ["王记烧饼店", "王记烧饼店（新）"]}


# --- inspections ----------------------------------------------------------------------------

def test_an_inspection_cannot_be_back_dated_beyond_the_window_or_dated_in_the_future(world, coal, settings):
    settings.COAL_BACKDATE_DAYS = 3
    for when, message in [(ago(days=4), "只能补录 3 天以内"), (timezone.now() + timedelta(hours=1), "不能晚于现在")]:
        with pytest.raises(ServiceError) as e:
            services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=when, findings=CLEAN)
        assert message in e.value.message and "inspected_at" in e.value.fields
    inspection, created = services.inspection_record(actor=world.officer_a, place=coal.place_a,
                                                     inspected_at=ago(days=3), findings=CLEAN)
    assert created and Inspection.objects.count() == 1


@pytest.mark.parametrize("findings, field", [
    ({"coal_present": True, "quantity_kg": "10"}, "coal_kind"),
    ({"coal_present": True, "coal_kind": "raw"}, "quantity_kg"),
    ({"coal_present": False, "seized": True, "seized_kg": "5"}, "coal_present"),
    ({**COAL, "seized": True}, "seized_kg"),
    ({**COAL, "seized": True, "seized_kg": "80"}, "seized_kg"),
    ({**COAL, "rectification_ordered": True}, "rectification_deadline"),
    ({**COAL, "quantity_kg": "-3"}, "quantity_kg"),
    ({**COAL, "quantity_kg": "很多"}, "quantity_kg"),
])
def test_findings_that_contradict_themselves_are_refused_and_nothing_is_written(world, coal, findings, field):
    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError) as e:
        services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(), findings=findings)
    assert field in e.value.fields
    assert Inspection.objects.count() == 0 and AuditEvent.objects.count() == before


def test_a_rectification_order_opens_a_rectification_and_a_todo_for_the_street(world, coal):
    inspection, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(),
                                               findings={**rectify(10), "seized": True, "seized_kg": "20"})
    rect = Rectification.objects.get(place=coal.place_a)
    assert rect.status == "open" and rect.deadline == timezone.localdate() + timedelta(days=10)
    assert rect.opened_by == inspection and inspection.state == "closed"
    assert Place.objects.get(pk=coal.place_a.pk).status == Place.Status.RECTIFYING
    todo = Todo.objects.get(kind=services.TODO_RECTIFICATION, done_at=None)
    assert todo.user == world.officer_a and todo.due_date == rect.deadline and "王记烧饼店" in todo.title
    assert events(rect, action="create").count() == 1


def test_a_clean_re_inspection_confirms_the_rectification_and_closes_the_todo(world, coal):
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(hours=5),
                               findings=rectify(10))
    again, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(hours=1),
                                          findings=CLEAN)
    rect = Rectification.objects.get(place=coal.place_a)
    assert rect.status == "closed" and rect.closed_by == again
    assert Place.objects.get(pk=coal.place_a.pk).status == Place.Status.RECTIFIED
    assert not Todo.objects.filter(kind=services.TODO_RECTIFICATION, done_at=None).exists()
    assert events(rect, verb="confirm").count() == 1


def test_coal_found_again_with_a_new_deadline_extends_the_open_rectification(world, coal):
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(hours=5),
                               findings=rectify(5))
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(hours=1),
                               findings=rectify(20))
    rect = Rectification.objects.get()
    assert rect.status == "open" and rect.original_deadline == timezone.localdate() + timedelta(days=5)
    assert rect.deadline == timezone.localdate() + timedelta(days=20)
    assert rect.extensions.get().reason == "复查仍有散煤，重新限期整改"


def test_an_officer_extends_a_rectification_with_a_reason(world, coal):
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(), findings=rectify(5))
    rect = Rectification.objects.get()
    with pytest.raises(ServiceError):
        services.rectification_extend(actor=world.officer_a, rectification=rect, new_deadline=rect.deadline,
                                      reason="来不及")
    with pytest.raises(ServiceError):
        services.rectification_extend(actor=world.officer_a, rectification=rect,
                                      new_deadline=rect.deadline + timedelta(days=3), reason="")
    services.rectification_extend(actor=world.officer_a, rectification=rect,
                                  new_deadline=rect.deadline + timedelta(days=3), reason="商户外出")
    rect.refresh_from_db()
    assert rect.deadline == timezone.localdate() + timedelta(days=8)
    assert events(rect, verb="extend").get().changes["reason"] == "商户外出"


def test_a_back_dated_record_does_not_overturn_a_newer_finding(world, coal):
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(hours=1),
                               findings=rectify(10))
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(days=2), findings=CLEAN)
    assert Rectification.objects.get().status == "open"
    assert Place.objects.get(pk=coal.place_a.pk).status == Place.Status.RECTIFYING


def test_an_open_inspection_can_be_edited_then_closed(world, coal):
    inspection, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(),
                                               findings=CLEAN, close=False)
    services.inspection_update(actor=world.officer_a, inspection=inspection, inspected_at=ago(),
                               findings={**COAL, "quantity_kg": "30"})
    inspection.refresh_from_db()
    assert inspection.state == "open" and inspection.quantity_kg == 30
    assert Place.objects.get(pk=coal.place_a.pk).status == Place.Status.CLEAN  # not closed yet: no consequence
    services.inspection_close(actor=world.officer_a, inspection=inspection)
    assert Place.objects.get(pk=coal.place_a.pk).status == Place.Status.PROBLEM


def test_a_closed_inspection_is_immutable(world, coal):
    inspection, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(),
                                               findings=COAL)
    with pytest.raises(ServiceError) as e:
        services.inspection_update(actor=world.officer_a, inspection=inspection, inspected_at=ago(),
                                   findings={**COAL, "quantity_kg": "5"})
    assert "已办结" in e.value.message
    with pytest.raises(ServiceError):
        services.inspection_close(actor=world.officer_a, inspection=inspection)
    inspection.refresh_from_db()
    assert inspection.quantity_kg == 50


def test_a_correction_keeps_the_original_and_is_audited_once(world, coal):
    inspection, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(),
                                               findings=COAL)
    before = AuditEvent.objects.count()
    correction = services.inspection_correct(actor=world.officer_a, inspection=inspection,
                                             findings={"quantity_kg": "45", "source": "自行购买"},
                                             reason="称重有误")
    inspection.refresh_from_db()
    assert inspection.quantity_kg == 45 and inspection.source == "自行购买"
    assert correction.before == {"quantity_kg": "50.0", "source": "流动商贩"}
    assert correction.after == {"quantity_kg": "45.0", "source": "自行购买"}
    assert AuditEvent.objects.count() == before + 1
    event = events(inspection, verb="correct").get()
    assert event.changes["reason"] == "称重有误" and event.changes["quantity_kg"] == ["50.0", "45.0"]
    services.inspection_correct(actor=world.officer_a, inspection=inspection, findings={"quantity_kg": "40"},
                                reason="再次核对")
    first = InspectionCorrection.objects.order_by("pk").first()
    assert first.before["quantity_kg"] == "50.0"  # the original value stays on record


def test_a_correction_needs_a_reason_a_change_and_may_not_flip_the_workflow(world, coal):
    inspection, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(),
                                               findings=COAL)
    for findings, reason, text in [({"quantity_kg": "45"}, "", "更正原因"), ({"quantity_kg": "50"}, "x", "没有需要更正"),
                                   ({"coal_present": False, "coal_kind": "", "quantity_kg": "0"}, "x", "不能更正")]:
        with pytest.raises(ServiceError) as e:
            services.inspection_correct(actor=world.officer_a, inspection=inspection, findings=findings,
                                        reason=reason)
        assert text in e.value.message
    assert InspectionCorrection.objects.count() == 0


# --- idempotency -----------------------------------------------------------------------------

def test_the_same_client_id_and_content_gives_the_same_inspection_and_different_content_a_409(world, coal):
    at = ago()
    first, created = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=at,
                                                findings=COAL, client_id="0b7d3f1e-4d1c-4c53-9a53-8f8f0b4f1d11")
    again, created_again = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=at,
                                                      findings=dict(COAL),
                                                      client_id="0B7D3F1E-4D1C-4C53-9A53-8F8F0B4F1D11")
    assert created and not created_again and again.pk == first.pk
    with pytest.raises(Conflict):
        services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=at,
                                   findings={**COAL, "quantity_kg": "51"},
                                   client_id="0b7d3f1e-4d1c-4c53-9a53-8f8f0b4f1d11")
    assert Inspection.objects.count() == 1 and Rectification.objects.count() == 0


# --- photos -----------------------------------------------------------------------------------

def upload(data: bytes, name="p.jpg"):
    return SimpleUploadedFile(name, data)


def test_a_photo_is_stored_under_media_coal_with_its_checksum(world, coal, media):
    inspection, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(),
                                               findings=COAL, photos=[upload(JPEG)])
    photo = Photo.objects.get()
    assert photo.sha256 == hashlib.sha256(JPEG).hexdigest() and photo.size == len(JPEG)
    assert photo.content_type == "image/jpeg" and photo.taken_at == inspection.inspected_at
    path = media / photo.file.name
    assert path.read_bytes() == JPEG and path.is_relative_to(media / "coal")
    # the same picture again is the same photo; a PNG is a second one
    assert services.photo_add(actor=world.officer_a, inspection=inspection, upload=upload(JPEG)).pk == photo.pk
    png = services.photo_add(actor=world.officer_a, inspection=inspection, upload=upload(PNG, "p.png"),
                             taken_at=ago(hours=2))
    assert png.content_type == "image/png" and Photo.objects.count() == 2


def test_a_photo_must_really_be_a_jpeg_or_png_and_not_too_big(world, coal, settings):
    settings.COAL_PHOTO_MAX_BYTES = 1000
    inspection, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(),
                                               findings=COAL)
    for data, message in [(b"GIF89a" + b"\x00" * 50, "JPEG 或 PNG"), (b"%PDF-1.4 fake.jpg", "JPEG 或 PNG"),
                          (JPEG + b"\x00" * 1000, "不能超过")]:
        with pytest.raises(ServiceError) as e:
            services.photo_add(actor=world.officer_a, inspection=inspection, upload=io.BytesIO(data))
        assert message in e.value.message
    assert Photo.objects.count() == 0


def test_no_photos_on_a_closed_inspection_past_the_window(world, coal, settings):
    inspection, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(days=2),
                                               findings=COAL)
    settings.COAL_BACKDATE_DAYS = 1
    with pytest.raises(ServiceError):
        services.photo_add(actor=world.officer_a, inspection=inspection, upload=upload(JPEG))


# --- ledger import (history) --------------------------------------------------------------------

def test_an_imported_ledger_applies_in_date_order_and_is_all_or_nothing(world, coal):
    day = timezone.localdate() - timedelta(days=90)
    from .conftest import on
    rows = [
        {"place": coal.place_a, "inspected_at": on(day + timedelta(days=20)), "inspector_name": "张某", **CLEAN},
        {"place": coal.place_a, "inspected_at": on(day), "inspector_name": "张某", **COAL,
         "rectification_ordered": True, "rectification_deadline": day + timedelta(days=10)},
    ]
    bad = rows + [{"place": coal.place_b, "inspected_at": on(day), **COAL, "seized": True}]
    with pytest.raises(ServiceError) as e:
        services.ledger_import(actor=world.admin, rows=bad)
    assert e.value.message.startswith("第 3 行") and Inspection.objects.count() == 0
    services.ledger_import(actor=world.admin, rows=rows)
    rect = Rectification.objects.get()
    assert rect.status == "closed" and Place.objects.get(pk=coal.place_a.pk).status == Place.Status.RECTIFIED
    assert AuditEvent.objects.filter(action="import").count() == 2


def test_a_second_import_extends_and_confirms_what_the_first_opened(world, coal):
    from .conftest import on
    day = timezone.localdate() - timedelta(days=60)
    rect_row = lambda d, n: {"place": coal.place_a, "inspected_at": on(d), **COAL,  # noqa: E731
                             "rectification_ordered": True, "rectification_deadline": d + timedelta(days=n)}
    services.ledger_import(actor=world.admin, rows=[rect_row(day, 10)])
    assert Todo.objects.filter(kind=services.TODO_RECTIFICATION, done_at=None).count() == 1
    services.ledger_import(actor=world.admin, rows=[rect_row(day + timedelta(days=5), 30)])
    rect = Rectification.objects.get()
    assert rect.deadline == day + timedelta(days=35) and rect.original_deadline == day + timedelta(days=10)
    assert rect.extensions.get().new_deadline == rect.deadline
    services.ledger_import(actor=world.admin, rows=[
        {"place": coal.place_a, "inspected_at": on(day + timedelta(days=20)), **CLEAN}])
    rect.refresh_from_db()
    assert rect.status == "closed" and Place.objects.get(pk=coal.place_a.pk).status == Place.Status.RECTIFIED
    assert not Todo.objects.filter(kind=services.TODO_RECTIFICATION, done_at=None).exists()
    assert [e.verb for e in AuditEvent.objects.filter(object_type="coal.rectification").order_by("id")] == \
        ["", "extend", "confirm"]


def test_imported_history_does_not_overturn_a_newer_recorded_finding(world, coal):
    from .conftest import on
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(), findings=rectify(10))
    services.ledger_import(actor=world.admin, rows=[
        {"place": coal.place_a, "inspected_at": on(timezone.localdate() - timedelta(days=30)), **CLEAN}])
    assert Rectification.objects.get().status == "open"
    assert Place.objects.get(pk=coal.place_a.pk).status == Place.Status.RECTIFYING


def test_places_import_in_bulk_all_or_nothing(world, coal):
    rows = [{"community": world.community_a, "name": f"摊点{i}", "kind": "stall", "address": f"{i} 号"}
            for i in range(3)]
    with pytest.raises(ServiceError) as e:
        services.place_import(actor=world.officer_a, rows=rows + [dict(rows[0])])
    assert e.value.message.startswith("第 4 行")
    with pytest.raises(ServiceError) as e:
        services.place_import(actor=world.officer_a, rows=rows + [
            {"community": world.community_a, "name": "王记烧饼店", "kind": "restaurant", "address": "甲一社区 3 号楼"}])
    assert "已存在" in e.value.message
    assert Place.objects.count() == 2
    from govdesk.core.errors import NotInReach
    with pytest.raises(NotInReach):
        services.place_import(actor=world.officer_b, rows=rows)
    places = services.place_import(actor=world.officer_a, rows=rows)
    assert [p.street for p in places] == [world.street_a] * 3
    assert AuditEvent.objects.filter(object_type="coal.place", action="create").count() == 5


def test_a_retry_after_the_window_still_answers_with_the_first_record(world, coal, settings):
    at = ago(days=2)
    first, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=at, findings=COAL,
                                          client_id="6f1c1f0e-8a53-4b1e-9d3c-2b8e8d1f0a01")
    settings.COAL_BACKDATE_DAYS = 1
    again, created = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=at,
                                                findings=COAL, client_id="6f1c1f0e-8a53-4b1e-9d3c-2b8e8d1f0a01")
    assert again.pk == first.pk and not created
