import json

import pytest
from django.test import Client

from govdesk.core import services
from govdesk.core.models import OrgUnit

pytestmark = pytest.mark.django_db


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_anonymous_gets_a_structured_401():
    response = Client().get("/api/v1/core/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_token_auth_reaches_the_same_scope_as_the_pages(world):
    _token, key = services.token_create(actor=world.officer_a, owner=world.officer_a, name="脚本")
    client = Client()
    names = {u["name"] for u in client.get("/api/v1/core/units", **bearer(key)).json()}
    assert names == {"甲街道", "甲一社区", "甲一1号院"}
    assert client.get(f"/api/v1/core/units/{world.street_b.pk}", **bearer(key)).status_code == 404


def test_a_revoked_token_is_refused(world):
    token, key = services.token_create(actor=world.officer_a, owner=world.officer_a, name="脚本")
    services.token_revoke(actor=world.officer_a, token=token)
    assert Client().get("/api/v1/core/me", **bearer(key)).status_code == 401


def test_create_unit_errors_are_structured_and_write_nothing(world):
    _token, key = services.token_create(actor=world.admin, owner=world.admin, name="脚本")
    client = Client()
    count = OrgUnit.objects.count()
    response = client.post("/api/v1/core/units", data=json.dumps({"parent_id": world.street_a.pk, "kind": "community",
                                                                  "code": "T100-A1", "name": "重复"}),
                           content_type="application/json", **bearer(key))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "code" in body["fields"] and "已被使用" in body["message"]
    response = client.post("/api/v1/core/units", data="{not json", content_type="application/json", **bearer(key))
    assert response.status_code in (400, 422) and "code" in response.json()
    response = client.post("/api/v1/core/units", data=json.dumps({"parent_id": "x"}),
                           content_type="application/json", **bearer(key))
    assert response.status_code == 422 and response.json()["fields"]
    assert OrgUnit.objects.count() == count


def test_api_writes_outside_reach_are_404(world):
    _token, key = services.token_create(actor=world.officer_a, owner=world.officer_a, name="脚本")
    response = Client().post(f"/api/v1/core/units/{world.street_b.pk}/rename", data=json.dumps({"name": "x"}),
                             content_type="application/json", **bearer(key))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_session_auth_needs_csrf_for_writes(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    response = client.post(f"/api/v1/core/units/{world.street_a.pk}/rename", data=json.dumps({"name": "x"}),
                           content_type="application/json")
    assert response.status_code == 403
    assert OrgUnit.objects.get(pk=world.street_a.pk).name == "甲街道"


def test_tokens_endpoints_create_list_revoke(world):
    client = Client()
    client.force_login(world.officer_a)
    created = client.post("/api/v1/core/tokens", data=json.dumps({"name": "终端"}), content_type="application/json")
    assert created.status_code == 201 and created.json()["key"].startswith("gdk_")
    key = created.json()["key"]
    assert Client().get("/api/v1/core/me", **bearer(key)).json()["username"] == "officer_a"
    listed = client.get("/api/v1/core/tokens").json()
    assert [t["name"] for t in listed] == ["终端"] and "key" not in listed[0]
    client.post(f"/api/v1/core/tokens/{listed[0]['id']}/revoke")
    assert Client().get("/api/v1/core/me", **bearer(key)).status_code == 401


def test_openapi_document_is_served(world):
    client = Client()
    client.force_login(world.admin)
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/core/units" in spec["paths"]
