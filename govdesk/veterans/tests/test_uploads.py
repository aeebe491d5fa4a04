"""Resumable uploads through the device API: declare, send pieces, resume, check when whole."""

import hashlib
import io
import json
import uuid

import pytest
from django.test import Client

from govdesk.core import services as core_services
from govdesk.core.models import AuditEvent
from govdesk.veterans import uploads
from govdesk.veterans.models import Attachment, Record, Upload

from .conftest import JPEG, PDF, id_number

pytestmark = pytest.mark.django_db

SCAN = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40  # a 10 KB "JPEG"


@pytest.fixture
def device(vets):
    _token, key = core_services.token_create(actor=vets.collector_a, owner=vets.collector_a, name="采集终端 01")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def post_json(client, url, body):
    return client.post(f"/api/v1/veterans{url}", data=json.dumps(body), content_type="application/json")


def put(client, upload_id, data, *, start=None, total=None, offset=None):
    url = f"/api/v1/veterans/uploads/{upload_id}"
    headers = {}
    if offset is not None:
        url += f"?offset={offset}"
    else:
        headers["HTTP_CONTENT_RANGE"] = f"bytes {start}-{start + len(data) - 1}/{total}"
    return client.put(url, data=data, content_type="application/octet-stream", **headers)


@pytest.fixture
def record(vets, device):
    body = {"uuid": str(uuid.uuid4()), "submit": True, "attachments": ["id_card", "discharge_certificate"],
            "data": {"name": "张建国", "gender": "男", "ethnicity": "汉族", "id_number": id_number(),
                     "category": "tuiyishibing", "community_id": vets.world.community_a.pk,
                     "household_address": "建设路 1 号", "residential_address": "建设路 1 号",
                     "enlisted_on": "1993-03-01", "discharged_on": "1997-12-01"}}
    response = post_json(device, "/records/sync", body)
    assert response.status_code == 201
    return Record.objects.get(uuid=body["uuid"])


def declare(device, record, content, kind="id_card", content_type="image/jpeg", upload_id=None, sha=None):
    upload_id = upload_id or str(uuid.uuid4())
    return upload_id, post_json(device, f"/records/{record.uuid}/uploads", {
        "upload_id": upload_id, "kind": kind, "size": len(content), "content_type": content_type,
        "sha256": sha or hashlib.sha256(content).hexdigest(), "filename": "身份证.jpg"})


def test_a_partial_upload_resumes_where_it_stopped_and_completes_the_record(vets, device, record, client_for,
                                                                            django_capture_on_commit_callbacks):
    upload_id, started = declare(device, record, SCAN)
    assert started.status_code == 201
    assert started.json()["received"] == 0 and not started.json()["complete"]

    first = put(device, upload_id, SCAN[:4000], start=0, total=len(SCAN))
    assert first.status_code == 200 and first.json()["received"] == 4000 and first["Upload-Offset"] == "4000"
    assert not Attachment.objects.exists()
    # the connection dropped: the device asks how much arrived (or declares again) and goes on
    status = device.get(f"/api/v1/veterans/uploads/{upload_id}")
    assert status.json()["received"] == 4000 and status["Upload-Offset"] == "4000"
    again = declare(device, record, SCAN, upload_id=upload_id)[1]
    assert again.status_code == 200 and again.json()["received"] == 4000
    record_state = device.get(f"/api/v1/veterans/records/{record.uuid}").json()
    assert not record_state["complete"] and record_state["status"] == "draft"
    page = client_for(vets.collector_a).get(f"/veterans/records/{record.pk}/").content.decode().replace("\xa0", " ")
    assert "终端上传中：身份证扫描件 已收到 3.9 KB / 10.0 KB" in page and "还缺：身份证扫描件、退伍/转业证件" in page

    with django_capture_on_commit_callbacks(execute=True):
        rest = put(device, upload_id, SCAN[4000:], offset=4000)
    body = rest.json()
    assert rest.status_code == 200 and body["complete"] and body["received"] == len(SCAN)
    attachment = Attachment.objects.get()
    assert attachment.sha256 == hashlib.sha256(SCAN).hexdigest() and attachment.size == len(SCAN)
    assert attachment.content_type == "image/jpeg" and attachment.kind == "id_card"
    assert body["missing_attachments"] == ["discharge_certificate"] and not body["record_complete"]
    assert not uploads.part_path(Upload.objects.get()).exists()

    pdf_id, _ = declare(device, record, PDF, kind="discharge_certificate", content_type="application/pdf")
    last = put(device, pdf_id, PDF, start=0, total=len(PDF)).json()
    assert last["record_complete"] and last["missing_attachments"] == []
    record_state = device.get(f"/api/v1/veterans/records/{record.uuid}").json()
    assert record_state["complete"] and record_state["status"] == "collected"  # the device asked to submit


def test_a_repeated_piece_is_harmless_and_a_gap_is_refused_with_the_offset(vets, device, record):
    upload_id, _ = declare(device, record, SCAN)
    put(device, upload_id, SCAN[:3000], start=0, total=len(SCAN))
    repeated = put(device, upload_id, SCAN[:3000], start=0, total=len(SCAN))
    assert repeated.status_code == 200 and repeated.json()["received"] == 3000
    overlapping = put(device, upload_id, SCAN[2000:5000], start=2000, total=len(SCAN))
    assert overlapping.status_code == 200 and overlapping.json()["received"] == 5000
    gap = put(device, upload_id, SCAN[6000:7000], start=6000, total=len(SCAN))
    assert gap.status_code == 409 and gap.json()["code"] == "offset_mismatch"
    assert gap.json()["fields"] == {"offset": "5000"} and "从第 5000 字节继续" in gap.json()["message"]
    different = put(device, upload_id, b"\x00" * 1000, start=1000, total=len(SCAN))
    assert different.status_code == 409 and different.json()["code"] == "chunk_mismatch"
    put(device, upload_id, SCAN[5000:], start=5000, total=len(SCAN))
    after = put(device, upload_id, SCAN[5000:], start=5000, total=len(SCAN))  # the last piece again
    assert after.status_code == 200 and after.json()["complete"]
    assert Attachment.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="veterans.attachment").count() == 1


def test_a_wrong_hash_is_refused_and_the_bytes_are_discarded(vets, device, record):
    upload_id, _ = declare(device, record, SCAN, sha=hashlib.sha256(b"another file").hexdigest())
    put(device, upload_id, SCAN[:5000], start=0, total=len(SCAN))
    refused = put(device, upload_id, SCAN[5000:], start=5000, total=len(SCAN))
    assert refused.status_code == 400 and refused.json()["code"] == "corrupt"
    assert "SHA-256" in refused.json()["message"]
    assert not Attachment.objects.exists()
    state = device.get(f"/api/v1/veterans/uploads/{upload_id}").json()
    assert state["received"] == 0 and not state["complete"]
    assert not device.get(f"/api/v1/veterans/records/{record.uuid}").json()["complete"]


def test_content_that_is_not_the_declared_type_is_refused(vets, device, record):
    fake = b"MZ\x90\x00" + b"\x00" * 100  # an executable declared as a JPEG
    upload_id, _ = declare(device, record, fake)
    refused = put(device, upload_id, fake, offset=0)
    assert refused.status_code == 400 and refused.json()["code"] == "bad_type"
    assert not Attachment.objects.exists()


def test_declarations_are_checked_and_a_reused_upload_id_with_another_file_is_a_409(vets, device, record):
    _, bad = declare(device, record, SCAN, content_type="application/x-msdownload", sha="xyz")
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"sha256", "content_type"}
    too_big = post_json(device, f"/records/{record.uuid}/uploads", {
        "upload_id": str(uuid.uuid4()), "kind": "id_card", "size": 50 * 1024 * 1024,
        "content_type": "image/jpeg", "sha256": "0" * 64})
    assert too_big.status_code == 400 and "size" in too_big.json()["fields"]
    upload_id, _ = declare(device, record, SCAN)
    clash = declare(device, record, JPEG, upload_id=upload_id)[1]
    assert clash.status_code == 409 and clash.json()["code"] == "uuid_conflict"
    assert Upload.objects.count() == 1
    too_long = put(device, upload_id, SCAN + b"\x00", start=0, total=len(SCAN) + 1)
    assert too_long.status_code == 400 and too_long.json()["code"] == "bad_range"
    no_place = device.put(f"/api/v1/veterans/uploads/{upload_id}", data=SCAN[:10],
                          content_type="application/octet-stream")
    assert no_place.status_code == 400 and no_place.json()["code"] == "bad_range"


def test_a_file_the_record_already_holds_is_done_at_once(vets, device, record):
    first, _ = declare(device, record, JPEG)
    put(device, first, JPEG, offset=0)
    _, second = declare(device, record, JPEG)
    assert second.status_code == 201 and second.json()["complete"] and second.json()["received"] == len(JPEG)
    assert Attachment.objects.count() == 1


def test_uploads_of_another_streets_record_are_404(vets, device):
    other = vets.record(actor=vets.collector_b, community=vets.world.community_b)
    _, response = declare(device, other, JPEG)
    assert response.status_code == 404
    _token, key = core_services.token_create(actor=vets.collector_b, owner=vets.collector_b, name="乙终端")
    device_b = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    upload_id, ok = declare(device_b, other, JPEG)
    assert ok.status_code == 201
    assert device.get(f"/api/v1/veterans/uploads/{upload_id}").status_code == 404
    assert put(device, upload_id, JPEG, offset=0).status_code == 404
    assert Upload.objects.get().received == 0


def test_uploads_are_scoped_like_their_records_and_supervisors_cannot_send(vets, record):
    from govdesk.core.testing import CHANGE, assert_visible_set, assert_write_refused

    w = vets.world
    other = vets.record(actor=vets.collector_b, community=w.community_b, seq=2)
    mine, _ = uploads.upload_start(actor=vets.collector_a, record=record, upload_uuid=uuid.uuid4(), kind="id_card",
                                   size=len(JPEG), sha256=hashlib.sha256(JPEG).hexdigest(), content_type="image/jpeg")
    theirs, _ = uploads.upload_start(actor=vets.collector_b, record=other, upload_uuid=uuid.uuid4(), kind="id_card",
                                     size=len(JPEG), sha256=hashlib.sha256(JPEG).hexdigest(),
                                     content_type="image/jpeg")
    assert_visible_set(Upload, vets.collector_a, [mine])
    assert_visible_set(Upload, w.officer_b, [theirs])
    assert_visible_set(Upload, vets.officer, [mine, theirs])  # the veterans department: the whole district
    assert_visible_set(Upload, w.supervisor, [mine, theirs])
    assert_visible_set(Upload, w.supervisor, [], action=CHANGE)
    assert_write_refused(lambda: uploads.upload_chunk(actor=vets.collector_a, upload=theirs, offset=0, data=JPEG),
                         models=[Upload, Attachment])
    assert_write_refused(lambda: uploads.upload_chunk(actor=w.supervisor, upload=mine, offset=0, data=JPEG),
                         models=[Upload, Attachment])
    assert_write_refused(lambda: uploads.upload_start(
        actor=vets.collector_a, record=other, upload_uuid=uuid.uuid4(), kind="id_card", size=len(JPEG),
        sha256=hashlib.sha256(JPEG).hexdigest(), content_type="image/jpeg"), models=[Upload])
    assert Upload.objects.get(pk=theirs.pk).received == 0 and Upload.objects.get(pk=mine.pk).received == 0


def test_uploads_that_stopped_arriving_are_pruned_with_their_partial_files_and_audited(
        vets, device, record, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    stalled_id, _ = declare(device, record, SCAN)
    put(device, stalled_id, SCAN[:4000], start=0, total=len(SCAN))
    fresh_id, _ = declare(device, record, PDF, kind="discharge_certificate", content_type="application/pdf")
    put(device, fresh_id, PDF[:10], start=0, total=len(PDF))
    stalled = Upload.objects.get(uuid=stalled_id)
    Upload.objects.filter(pk=stalled.pk).update(updated_at=timezone.now() - timedelta(days=8))
    assert uploads.part_path(stalled).exists()

    with django_capture_on_commit_callbacks(execute=True):
        out = io.StringIO()
        call_command("veterans_prune_uploads", stdout=out)
    assert "已清理 1 个" in out.getvalue()
    assert list(Upload.objects.values_list("uuid", flat=True)) == [uuid.UUID(fresh_id)]  # the live one stays
    assert not uploads.part_path(stalled).exists()
    event = AuditEvent.objects.get(verb="upload_abandoned")
    assert (event.object_id, event.changes["received"], event.actor_name) == (str(stalled.pk), 4000, "system")
    # the device comes back later: its upload is unknown, it declares the file again and sends it whole
    assert device.get(f"/api/v1/veterans/uploads/{stalled_id}").status_code == 404
    again, started = declare(device, record, SCAN, upload_id=stalled_id)
    assert started.status_code == 201 and started.json()["received"] == 0
    assert put(device, again, SCAN, start=0, total=len(SCAN)).json()["complete"]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("veterans_prune_uploads", "--days", "1", stdout=io.StringIO())
    assert Upload.objects.count() == 2  # nothing else was abandoned
