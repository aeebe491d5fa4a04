import json
from decimal import Decimal as D

import pytest
from django.test import Client

from govdesk.contest.models import Sheet
from govdesk.core import services as core

pytestmark = pytest.mark.django_db


def bearer(user):
    _token, key = core.token_create(actor=user, owner=user, name="平板")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_a_tablet_lists_and_submits_its_judges_sheets(contest):
    contest.advance_and_open()
    auth = bearer(contest.users[0])
    client = Client()
    sheets = client.get("/api/v1/contest/sheets", **auth).json()
    assert {s["contestant_code"] for s in sheets} == {"002", "003"} and {s["status"] for s in sheets} == {"open"}
    sheet = contest.sheet(0, 2)
    body = {"points": {str(i.pk): str(i.max_points) for i in contest.items}, "failed": [], "seconds_used": 540}
    response = client.post(f"/api/v1/contest/sheets/{sheet.pk}/submit", data=json.dumps(body),
                           content_type="application/json", **auth)
    assert response.status_code == 200 and response.json()["total"] == "100.00"
    again = client.post(f"/api/v1/contest/sheets/{sheet.pk}/submit", data=json.dumps(body),
                        content_type="application/json", **auth)
    assert again.status_code == 409 and again.json()["code"] == "conflict"


def test_an_incomplete_sheet_gets_a_structured_error_and_writes_nothing(contest):
    contest.advance_and_open()
    sheet = contest.sheet(0, 2)
    body = {"points": {str(contest.items[0].pk): "10"}, "seconds_used": 540}
    response = Client().post(f"/api/v1/contest/sheets/{sheet.pk}/submit", data=json.dumps(body),
                             content_type="application/json", **bearer(contest.users[0]))
    assert response.status_code == 400
    assert f"item_{contest.items[1].pk}" in response.json()["fields"]
    assert Sheet.objects.get(pk=sheet.pk).status == "open"


def test_another_judges_sheet_is_404_and_results_follow_reach(contest):
    contest.advance_and_open()
    sheet = contest.sheet(0, 2)
    body = {"points": {str(i.pk): "1" for i in contest.items}, "seconds_used": 540}
    response = Client().post(f"/api/v1/contest/sheets/{sheet.pk}/submit", data=json.dumps(body),
                             content_type="application/json", **bearer(contest.users[1]))
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    url = f"/api/v1/contest/events/{contest.event.pk}/results"
    assert Client().get(url, **bearer(contest.world.officer_a)).status_code == 404
    results = Client().get(url, **bearer(contest.world.supervisor)).json()
    assert results["missing_sheets"] == 7 and results["complete"] is False
    assert [c["name"] for c in Client().get("/api/v1/contest/competitions",
                                             **bearer(contest.organiser)).json()] == ["妇幼健康技能竞赛"]
    assert D(results["rows"][0]["written"]) in {D("90"), D("85"), D("80")}
