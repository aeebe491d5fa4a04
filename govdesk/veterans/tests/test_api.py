import hashlib
import json
import uuid

import pytest
from django.test import Client

from govdesk.core import services as core_services
from govdesk.core.models import AuditEvent
from govdesk.veterans.models import Attachment, Record

from .conftest import JPEG, PDF, id_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def device(vets):
    _token, key = core_services.token_create(actor=vets.collector_a, owner=vets.collector_a, name="采集终端 01")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def post(url, body):
        return client.post(f"/api/v1/veterans{url}", data=json.dumps(body), content_type="application/json")

    client.post_json = post
    return client


def payload(vets, **extra):
    data = {
        "name": "张建国", "gender": "男", "ethnicity": "汉族", "id_number": id_number(), "phone": "13812345678",
        "category": "tuiyishibing", "community_id": vets.world.community_a.pk, "household_address": "建设路 1 号",
        "residential_address": "建设路 1 号", "enlisted_on": "1993-03-01", "discharged_on": "1997-12-01",
    }
    data.update(extra)
    return data


def test_a_replayed_submission_is_a_harmless_success_returning_the_same_record(vets, device):
    body = {"uuid": str(uuid.uuid4()), "data": payload(vets), "submit": True}
    first = device.post_json("/records/sync", body)
    assert first.status_code == 201
    again = device.post_json("/records/sync", body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Record.objects.count() == 1 and first.json()["status"] == "collected"
    assert first.json()["id_number"] == id_number()[:6] + "********" + id_number()[-4:]
    assert AuditEvent.objects.filter(object_type="veterans.record").count() == 1


def test_the_same_uuid_with_different_content_is_a_409(vets, device):
    record_uuid = str(uuid.uuid4())
    device.post_json("/records/sync", {"uuid": record_uuid, "data": payload(vets)})
    response = device.post_json("/records/sync", {"uuid": record_uuid, "data": payload(vets, name="张建军")})
    assert response.status_code == 409 and response.json()["code"] == "uuid_conflict"
    assert Record.objects.get().name == "张建国"


def test_an_edit_names_its_version_and_a_stale_version_is_a_409_with_both_versions(vets, device):
    record_uuid = str(uuid.uuid4())
    device.post_json("/records/sync", {"uuid": record_uuid, "data": payload(vets)})
    edit = device.post_json("/records/sync", {"uuid": record_uuid, "base_version": 1,
                                              "data": payload(vets, awards="三等功")})
    assert edit.status_code == 200 and edit.json()["version"] == 2
    replay = device.post_json("/records/sync", {"uuid": record_uuid, "base_version": 1,
                                                "data": payload(vets, awards="三等功")})
    assert replay.status_code == 200 and replay.json()["version"] == 2
    stale = device.post_json("/records/sync", {"uuid": record_uuid, "base_version": 1,
                                               "data": payload(vets, awards="优秀士兵")})
    body = stale.json()
    assert stale.status_code == 409 and body["code"] == "stale_version"
    assert body["current"]["version"] == 2 and body["current"]["awards"] == "三等功"
    assert body["yours"]["version"] == 1 and body["yours"]["awards"] == "优秀士兵"
    assert id_number() not in json.dumps(body, ensure_ascii=False)
    assert Record.objects.get().awards == "三等功"


def test_a_record_is_complete_only_when_its_declared_attachments_have_arrived(vets, device):
    record_uuid = str(uuid.uuid4())
    created = device.post_json("/records/sync", {"uuid": record_uuid, "data": payload(vets), "submit": True,
                                                 "attachments": ["id_card", "discharge_certificate"]}).json()
    assert created["status"] == "draft" and not created["complete"]
    assert created["missing_attachments"] == ["id_card", "discharge_certificate"]
    url = f"/api/v1/veterans/records/{record_uuid}/attachments"
    first = device.post(url, {"kind": "id_card", "file": _file("id.jpg", JPEG),
                              "sha256": hashlib.sha256(JPEG).hexdigest()})
    assert first.status_code == 201 and first.json()["record"]["missing_attachments"] == ["discharge_certificate"]
    resumed = device.post(url, {"kind": "id_card", "file": _file("id.jpg", JPEG)})
    assert resumed.status_code == 200 and Attachment.objects.count() == 1
    corrupt = device.post(url, {"kind": "discharge_certificate", "file": _file("d.pdf", PDF), "sha256": "0" * 64})
    assert corrupt.status_code == 400 and corrupt.json()["code"] == "corrupt"
    last = device.post(url, {"kind": "discharge_certificate", "file": _file("d.pdf", PDF)})
    record = last.json()["record"]
    assert last.status_code == 201 and record["complete"] and record["status"] == "collected"


def _file(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile
    return SimpleUploadedFile(name, content)


def test_a_duplicate_person_from_another_device_is_a_409_pointing_to_the_street(vets, device):
    vets.record(actor=vets.collector_b, community=vets.world.community_b)
    response = device.post_json("/records/sync", {"uuid": str(uuid.uuid4()), "data": payload(vets)})
    assert response.status_code == 409
    assert response.json() == {"code": "duplicate",
                               "message": "该身份证号已在「乙街道」登记，请勿重复采集；如有疑问请联系该街道核实",
                               "fields": {"id_number": "该身份证号已在「乙街道」登记，请勿重复采集；如有疑问请联系该街道核实"}}


def test_bad_content_from_a_device_is_a_structured_400(vets, device):
    response = device.post_json("/records/sync", {"uuid": str(uuid.uuid4()),
                                                  "data": payload(vets, gender="女", discharged_on="1990-01-01")})
    assert response.status_code == 400
    assert response.json()["fields"] == {"gender": "性别与身份证号不符：身份证号显示为男性",
                                         "discharged_on": "退役时间应晚于入伍时间"}
    assert Record.objects.count() == 0


def test_another_streets_record_is_404_for_a_device(vets, device):
    other = vets.record(actor=vets.collector_b, community=vets.world.community_b)
    assert device.get(f"/api/v1/veterans/records/{other.uuid}").status_code == 404
    response = device.post_json("/records/sync", {"uuid": str(other.uuid), "base_version": 1,
                                                  "data": payload(vets, community_id=vets.world.community_b.pk)})
    assert response.status_code == 404
    upload = device.post(f"/api/v1/veterans/records/{other.uuid}/attachments",
                         {"kind": "id_card", "file": _file("a.jpg", JPEG)})
    assert upload.status_code == 404 and Attachment.objects.count() == 0
    assert [r["id"] for r in device.get("/api/v1/veterans/records").json()] == []


def test_categories_are_listed_for_devices(vets, device):
    names = [c["name"] for c in device.get("/api/v1/veterans/categories").json()]
    assert names[:3] == ["退役士兵", "军队转业干部", "军队离退休干部和退休士官"] and len(names) == 12


def test_the_record_list_costs_the_same_queries_for_one_record_or_many(vets, device):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def send(seq, attachments=()):
        body = {"uuid": str(uuid.uuid4()), "data": payload(vets, id_number=id_number(seq=seq)),
                "attachments": list(attachments)}
        assert device.post_json("/records/sync", body).status_code == 201

    def listed():
        with CaptureQueriesContext(connection) as ctx:
            body = device.get("/api/v1/veterans/records").json()
        return len(ctx.captured_queries), body

    send(1, ["id_card"])
    one, body = listed()
    assert body[0]["missing_attachments"] == ["id_card"] and not body[0]["complete"]
    for seq in range(2, 7):
        send(seq)
    many, body = listed()
    assert len(body) == 6 and many == one  # no query per record (attachments prefetched)
