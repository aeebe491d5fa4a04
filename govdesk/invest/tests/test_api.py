import json
from datetime import date

import pytest

from govdesk.invest.models import Firm, HqGroup, Project

from .conftest import credit_code

pytestmark = pytest.mark.django_db


def post(client, url, payload):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


def test_a_firm_is_created_and_a_duplicate_is_a_409_naming_it(desk, client_for):
    client = client_for(desk.world.dept_officer)
    payload = {"unit_id": desk.world.department.pk, "name": "华中数据有限公司", "credit_code": credit_code(9),
               "industry": "em-ict", "region": "other", "tiers": [{"tier": "industry-leader", "year": 2025}],
               "contacts": [{"name": "刘总", "phone": "13700001111"}]}
    created = post(client, "/api/v1/invest/firms", payload)
    assert created.status_code == 201
    firm_id = created.json()["id"]
    again = post(client, "/api/v1/invest/firms", {**payload, "name": "另一家", "credit_code": credit_code(9)})
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate"
    assert again.json()["fields"]["duplicate_id"] == str(firm_id)
    assert Firm.objects.count() == 1


def test_the_firm_list_is_scoped_and_paged(desk, client_for):
    for i in range(3):
        desk.firm(f"长三角{i}号企业有限公司", squad=desk.yrd)
    desk.firm("珠三角企业有限公司", squad=desk.prd)
    bureau = client_for(desk.world.dept_officer).get("/api/v1/invest/firms?sort=name").json()
    assert len(bureau["items"]) == 4 and bureau["next"] is None
    member = client_for(desk.member).get("/api/v1/invest/firms").json()
    assert sorted(f["name"] for f in member["items"]) == ["长三角0号企业有限公司", "长三角1号企业有限公司",
                                                            "长三角2号企业有限公司"]
    assert client_for(desk.world.officer_a).get("/api/v1/invest/firms").json()["items"] == []


def test_a_project_moves_through_the_api_with_the_evidence_gate(desk, client_for):
    client = client_for(desk.world.dept_officer)
    firm = desk.firm("某某有限公司")
    created = post(client, "/api/v1/invest/projects", {
        "unit_id": desk.world.department.pk, "name": "API 项目", "firm_ids": [firm.pk], "industry": "hq",
        "planned_investment": "12000.50", "hq_group_id": HqGroup.objects.get(name="招商组").pk, "leader": "李副区长"})
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json()["planned_investment"] == "12000.50"
    assert post(client, f"/api/v1/invest/projects/{pk}/move", {"to_stage": "negotiating"}).status_code == 200
    refused = post(client, f"/api/v1/invest/projects/{pk}/move", {"to_stage": "signed"})
    assert refused.status_code == 400
    assert refused.json()["fields"] == {"document": "请先上传投资协议"}
    assert Project.objects.get().stage == "negotiating"
    # out of reach is a 404, for the supervisor a write is a 403
    assert client_for(desk.world.officer_a).get(f"/api/v1/invest/projects/{pk}").status_code == 404
    assert post(client_for(desk.world.supervisor), f"/api/v1/invest/projects/{pk}/move",
                {"to_stage": "lost", "lost_reason": "x"}).status_code == 403


def test_an_assessment_through_the_api_needs_evidence(desk, client_for):
    client = client_for(desk.world.dept_officer)
    firm = desk.firm("某某有限公司")
    url = f"/api/v1/invest/firms/{firm.pk}/assessments"
    body = {"met_on": "2026-11-20", "conclusion": "pursue", "priority": 1, "squad_id": desk.yrd.pk,
            "scores": [{"dimension": "fit", "score": 80, "evidence": ""}]}
    assert post(client, url, body).status_code == 400
    body["scores"][0]["evidence"] = "属于总部经济"
    response = post(client, url, body)
    assert response.status_code == 201
    assert response.json()["total"] == "20.00"


def test_an_appeal_is_recorded_and_listed(desk, client_for):
    client = client_for(desk.world.dept_officer)
    firm = desk.firm("某某有限公司")
    response = post(client, "/api/v1/invest/appeals", {
        "firm_id": firm.pk, "category": "financing", "title": "贷款贴息", "detail": "申请贴息",
        "urgency": "urgent", "owner_group_id": HqGroup.objects.get(name="财税组").pk,
        "handler_id": desk.world.dept_officer.pk, "received_on": "2026-11-20"})
    assert response.status_code == 201
    assert response.json()["due_on"] == str(date(2026, 11, 27))
    assert [a["title"] for a in client.get("/api/v1/invest/appeals").json()] == ["贷款贴息"]
    outsider_handler = post(client, "/api/v1/invest/appeals", {
        "firm_id": firm.pk, "category": "financing", "title": "x", "detail": "y", "owner_group_id": 1,
        "handler_id": desk.world.outsider.pk, "received_on": "2026-11-20"})
    assert outsider_handler.status_code == 400
    assert "handler" in outsider_handler.json()["fields"]
