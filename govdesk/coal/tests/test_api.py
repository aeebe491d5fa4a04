"""The inspectors' API: today's work, idempotent recording on a client id, photos, reach."""

import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from govdesk.coal import services
from govdesk.coal.models import CampaignTask, Inspection, Photo
from govdesk.core.services import token_create

from .conftest import ago, rectify
from .test_inspections import JPEG

pytestmark = pytest.mark.django_db


def api(user):
    _token, key = token_create(actor=user, owner=user, name="手机")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def call(method, path, body=None, **extra):
        if body is not None and method == "post" and "files" not in extra:
            return client.post(f"/api/v1/coal{path}", data=json.dumps(body, default=str),
                               content_type="application/json")
        if method == "post":
            return client.post(f"/api/v1/coal{path}", data=extra["files"])
        return client.get(f"/api/v1/coal{path}", body or {})
    return call


def payload(place, **extra):
    return {"client_id": str(uuid.uuid4()), "place_id": place.pk, "inspected_at": ago().isoformat(),
            "coal_present": True, "coal_kind": "raw", "quantity_kg": "25", "educated": True, **extra}


def test_recording_is_idempotent_on_the_client_id(world, coal):
    call = api(world.officer_a)
    body = payload(coal.place_a)
    first = call("post", "/inspections", body)
    assert first.status_code == 201 and first.json()["state"] == "closed"
    again = call("post", "/inspections", body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    changed = call("post", "/inspections", {**body, "quantity_kg": "26"})
    assert changed.status_code == 409 and changed.json()["code"] == "duplicate_client_id"
    assert Inspection.objects.count() == 1


def test_invalid_findings_are_structured_errors_and_write_nothing(world, coal):
    call = api(world.officer_a)
    response = call("post", "/inspections", payload(coal.place_a, rectification_ordered=True))
    assert response.status_code == 400 and "rectification_deadline" in response.json()["fields"]
    response = call("post", "/inspections", payload(coal.place_a, client_id="not-a-uuid"))
    assert response.status_code == 422 and "client_id" in response.json()["fields"]
    assert Inspection.objects.count() == 0


def test_another_streets_place_is_404_and_the_supervisor_gets_403(world, coal):
    response = api(world.officer_a)("post", "/inspections", payload(coal.place_b))
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert api(world.officer_a)("get", f"/places/{coal.place_b.pk}").status_code == 404
    assert api(world.supervisor)("get", f"/places/{coal.place_b.pk}").status_code == 200
    response = api(world.supervisor)("post", "/inspections", payload(coal.place_a))
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert Inspection.objects.count() == 0


def test_today_lists_the_streets_pending_tasks_and_due_rectifications(world, coal):
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(), findings=rectify(2))
    services.inspection_record(actor=world.officer_b, place=coal.place_b, inspected_at=ago(), findings=rectify(2))
    services.campaign_launch(actor=coal.office.officer, district=world.district, title="回头看",
                             period_start=ago(0).date(), period_end=ago(-5).date(), mode="problems",
                             cutoff=ago(2).date())
    today = api(world.officer_a)("get", "/today").json()
    assert [t["place"]["name"] for t in today["tasks"]] == ["王记烧饼店"]
    assert [r["place"]["name"] for r in today["rectifications"]] == ["王记烧饼店"]
    assert today["tasks"][0]["earlier_problem"] is True
    assert api(coal.office.officer)("get", "/today").json() == {"tasks": [], "rectifications": []}


def test_a_task_is_recorded_once_on_a_client_id(world, coal):
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(), findings=rectify(2))
    campaign = services.campaign_launch(actor=coal.office.officer, district=world.district, title="回头看",
                                        period_start=ago(0).date(), period_end=ago(-5).date(), mode="problems",
                                        cutoff=ago(2).date(), streets=[world.street_a])
    task = campaign.tasks.get()
    call = api(world.officer_a)
    body = {"client_id": str(uuid.uuid4()), "task_id": task.pk, "inspected_at": ago().isoformat(),
            "coal_present": False, "educated": True}
    first = call("post", "/inspections", body)
    assert first.status_code == 201 and first.json()["outcome"] == "clean_now"
    again = call("post", "/inspections", body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    changed = call("post", "/inspections", {**body, "coal_present": True, "coal_kind": "raw", "quantity_kg": "5"})
    assert changed.status_code == 409
    other = call("post", "/inspections", {**body, "client_id": str(uuid.uuid4())})
    assert other.status_code == 400 and "已复查" in other.json()["message"]
    assert CampaignTask.objects.get().status == "done" and Inspection.objects.count() == 2


def test_photos_upload_with_checksum_and_are_checked(world, coal):
    call = api(world.officer_a)
    inspection_id = call("post", "/inspections", payload(coal.place_a)).json()["id"]
    response = call("post", f"/inspections/{inspection_id}/photos",
                    files={"photo": SimpleUploadedFile("a.jpg", JPEG), "taken_at": ago(hours=2).isoformat()})
    assert response.status_code == 201 and len(response.json()["sha256"]) == 64
    again = call("post", f"/inspections/{inspection_id}/photos", files={"photo": SimpleUploadedFile("a.jpg", JPEG)})
    assert again.json()["id"] == response.json()["id"]
    bad = call("post", f"/inspections/{inspection_id}/photos",
               files={"photo": SimpleUploadedFile("a.jpg", b"<html>not a photo</html>")})
    assert bad.status_code == 400 and bad.json()["fields"] == {"photo": "只能上传 JPEG 或 PNG 照片"}
    assert Photo.objects.count() == 1
    other = api(world.officer_b)("post", f"/inspections/{inspection_id}/photos",
                                 files={"photo": SimpleUploadedFile("b.jpg", JPEG + b"x")})
    assert other.status_code == 404
