import json
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from govdesk.conftest import skip_or_fail
from govdesk.core import services as core_services
from govdesk.core.models import AuditEvent, Todo
from govdesk.invest import services, sheets
from govdesk.invest.models import Appeal, Firm, HqGroup, Project, Squad, SquadMeeting, SquadMember, Task

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


# --- writes through a token: meetings and tasks, squads, carriers and their monthly report -----------------

def token_client(user):
    """A script's client: no session, ``Authorization: Bearer gdk_...``."""
    _token, key = core_services.token_create(actor=user, owner=user, name="脚本")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def call(method, path, body=None):
        url = f"/api/v1/invest{path}"
        if method == "get":
            return client.get(url, body or {})
        return getattr(client, method)(url, data=json.dumps(body or {}, default=str), content_type="application/json")

    return call


def test_a_meeting_assigns_a_task_from_its_agenda_and_a_later_meeting_ticks_it_off(desk):
    w = desk.world
    call = token_client(w.dept_officer)
    firm = desk.firm("某制造有限公司")
    appeal = desk.appeal(firm, received_on=date(2026, 11, 2))
    first = call("post", "/meetings", {"unit_id": w.department.pk, "held_on": "2026-11-16", "chair": "王区长"})
    assert first.status_code == 201 and first.json()["title"] == "2026年11月16日重点项目周例会"
    meeting_id = first.json()["id"]
    agenda = call("get", f"/meetings/{meeting_id}/agenda").json()
    assert [a["id"] for a in agenda["appeals"]] == [appeal.pk]
    assigned = call("post", f"/meetings/{meeting_id}/tasks", {"text": "协调用地指标", "owner_id": w.officer_a.pk,
                                                              "due_on": "2026-11-20", "appeal_id": appeal.pk})
    assert assigned.status_code == 201
    task_id = assigned.json()["id"]
    assert Todo.objects.get(kind=services.TODO_TASK).user == w.officer_a
    assert [t["id"] for t in call("get", "/tasks", {"open": "true", "owner_id": w.officer_a.pk}).json()] == [task_id]
    assert call("put", f"/meetings/{meeting_id}/minutes", {"minutes": "议定三件事"}).json()["minutes"] == "议定三件事"
    # not at the same meeting; at the next one
    same = call("post", f"/tasks/{task_id}/close", {"meeting_id": meeting_id})
    assert same.status_code == 400 and same.json()["fields"] == {"meeting": "请选择之后的例会"}
    second = call("post", "/meetings", {"unit_id": w.department.pk, "held_on": "2026-11-23"}).json()["id"]
    assert [t["id"] for t in call("get", f"/meetings/{second}/agenda").json()["tasks"]] == [task_id]
    closed = call("post", f"/tasks/{task_id}/close", {"meeting_id": second, "note": "已供地"})
    assert closed.status_code == 200 and closed.json()["closed_in_id"] == second
    assert Task.objects.get().close_note == "已供地" and Todo.objects.get(kind=services.TODO_TASK).done_at
    assert call("get", f"/meetings/{second}/agenda").json()["tasks"] == []


def test_bad_task_input_is_a_structured_error_and_writes_nothing(desk):
    w = desk.world
    call = token_client(w.dept_officer)
    meeting = services.meeting_create(actor=w.dept_officer, unit=w.department, held_on=date(2026, 11, 16))
    before = AuditEvent.objects.count()
    early = call("post", f"/meetings/{meeting.pk}/tasks", {"text": "x", "owner_id": w.officer_a.pk,
                                                           "due_on": "2026-11-10"})
    assert early.status_code == 400 and early.json()["fields"] == {"due_on": "不能早于会议日期"}
    outsider = call("post", f"/meetings/{meeting.pk}/tasks", {"text": "x", "owner_id": w.outsider.pk,
                                                              "due_on": "2026-11-20"})
    assert outsider.status_code == 400 and "owner" in outsider.json()["fields"]
    assert call("post", f"/meetings/{meeting.pk}/tasks", {"text": "x"}).status_code == 422
    assert Task.objects.count() == 0 and AuditEvent.objects.count() == before


def test_meetings_and_tasks_answer_404_outside_reach_and_403_to_the_supervisor(desk):
    w = desk.world
    meeting = services.meeting_create(actor=w.dept_officer, unit=w.department, held_on=date(2026, 11, 16))
    later = services.meeting_create(actor=w.dept_officer, unit=w.department, held_on=date(2026, 11, 23))
    task = services.task_assign(actor=w.dept_officer, meeting=meeting, text="协调", owner=w.officer_a,
                                due_on_date=date(2026, 11, 20))
    street = token_client(w.officer_a)
    assert street("get", f"/meetings/{meeting.pk}").status_code == 404
    assert street("get", "/meetings").json() == [] and street("get", "/tasks").json() == []
    assert street("post", f"/tasks/{task.pk}/close", {"meeting_id": later.pk}).status_code == 404
    assert street("post", "/meetings", {"unit_id": w.department.pk, "held_on": "2026-11-30"}).status_code == 404
    supervisor = token_client(w.supervisor)
    assert supervisor("get", f"/meetings/{meeting.pk}").status_code == 200
    assert supervisor("post", f"/tasks/{task.pk}/close", {"meeting_id": later.pk}).status_code == 403
    assert supervisor("post", f"/meetings/{meeting.pk}/tasks", {
        "text": "x", "owner_id": w.officer_a.pk, "due_on": "2026-11-20"}).status_code == 403
    assert Task.objects.get().closed_at is None and Task.objects.count() == 1
    assert Client().get("/api/v1/invest/meetings").status_code == 401


def test_squad_members_are_added_and_removed_by_the_bureau_only(desk):
    w = desk.world
    call = token_client(w.dept_officer)
    added = call("post", f"/squads/{desk.prd.pk}/members", {"user_id": w.dept_officer.pk, "is_leader": True})
    assert added.status_code == 200
    assert added.json()["members"] == [{"user_id": w.dept_officer.pk, "username": "dept", "is_leader": True}]
    street = call("post", f"/squads/{desk.prd.pk}/members", {"user_id": w.officer_a.pk})
    assert street.status_code == 400 and "不是部门工作人员" in street.json()["message"]
    assert call("post", f"/squads/{desk.prd.pk}/members", {"user_id": w.outsider.pk}).status_code == 400
    # a member reads the squad but cannot change it; a street does not see it
    member = token_client(desk.member)
    assert [s["name"] for s in member("get", "/squads").json()] == ["长三角小分队"]
    assert member("delete", f"/squads/{desk.yrd.pk}/members/{desk.member.pk}").status_code == 403
    assert token_client(w.officer_a)("get", f"/squads/{desk.yrd.pk}").status_code == 404
    assert call("delete", f"/squads/{desk.prd.pk}/members/{w.dept_officer.pk}").status_code == 204
    assert not SquadMember.objects.filter(squad=desk.prd).exists()
    assert call("delete", f"/squads/{desk.prd.pk}/members/{w.dept_officer.pk}").status_code == 400
    assert AuditEvent.objects.filter(object_type="invest.squad", verb="member_remove").count() == 1


def test_a_street_reports_its_carriers_and_the_bureau_sees_the_change_and_who_is_missing(desk):
    w = desk.world
    street = token_client(w.officer_a)
    body = {"unit_id": w.street_a.pk, "name": "西区 A-3 地块", "location": "建设路以南", "area_mu": "42.5",
            "planned_use": "industrial"}
    created = street("post", "/parcels", body)
    assert created.status_code == 201 and created.json()["area_mu"] == "42.50"
    parcel_id = created.json()["id"]
    assert street("post", "/carrier-reports", {"unit_id": w.street_a.pk, "month": "2026-10-15"}).status_code == 201
    assert street("put", f"/parcels/{parcel_id}", {**body, "area_mu": "40", "status": "reserved"}).status_code == 200
    tower = street("post", "/buildings", {"unit_id": w.street_a.pk, "name": "中原大厦", "address": "中原路 1 号",
                                          "total_area": "30000", "vacant_area": "4500", "rent": "45",
                                          "owner": "中原投资"})
    assert tower.status_code == 201
    bad = street("post", "/buildings", {"unit_id": w.street_a.pk, "name": "坏楼", "address": "x",
                                        "total_area": "100", "vacant_area": "200", "rent": "1", "owner": "y"})
    assert bad.status_code == 400 and bad.json()["fields"] == {"vacant_area": "不能大于总面积"}
    report = street("post", "/carrier-reports", {"unit_id": w.street_a.pk, "month": "2026-11-10"})
    assert report.status_code == 201 and report.json()["period_start"] == "2026-11-01"
    # another street can neither report for street A nor touch its parcel
    other = token_client(w.officer_b)
    assert other("post", "/carrier-reports", {"unit_id": w.street_a.pk, "month": "2026-11-10"}).status_code == 404
    assert other("put", f"/parcels/{parcel_id}", body).status_code == 404
    assert other("get", f"/carrier-reports/{w.street_a.pk}", {"month": "2026-11-01"}).status_code == 404
    # the bureau (lead unit) reads the whole district's reports
    bureau = token_client(w.dept_officer)
    diff = bureau("get", f"/carrier-reports/{w.street_a.pk}", {"month": "2026-11-01"}).json()
    assert diff["previous_month"] == "2026-10-01"
    assert diff["parcels"]["changed"][0]["changes"] == {"area_mu": ["42.50", "40.00"], "status": ["idle", "reserved"]}
    assert [b["name"] for b in diff["buildings"]["added"]] == ["中原大厦"]
    status = {row["unit"]: row["reported"] for row in bureau("get", "/carrier-reports", {"month": "2026-11-01"}).json()}
    assert status == {"商务局": False, "甲街道": True, "乙街道": False, "财政局": False}
    assert bureau("get", f"/carrier-reports/{w.street_b.pk}", {"month": "2026-11-01"}).json()["code"] == "not_reported"
    assert token_client(w.supervisor)("post", "/parcels", {**body, "name": "督查地块"}).status_code == 403


def test_a_project_is_corrected_and_an_appeal_reassigned_through_the_api(desk):
    w = desk.world
    call = token_client(w.dept_officer)
    firm, partner = desk.firm("某某有限公司"), desk.firm("合作方有限公司")
    project = desk.project("API 项目", [firm])
    body = {"name": "API 项目（一期）", "firm_ids": [firm.pk, partner.pk], "industry": "em-ict",
            "planned_investment": "15000", "paid_in": "300", "hq_group_id": HqGroup.objects.get(name="产业发展组").pk,
            "leader": "李副区长", "need": "building", "need_area": "2000", "need_use": "office"}
    updated = call("put", f"/projects/{project.pk}", body)
    assert updated.status_code == 200, updated.json()
    assert (updated.json()["name"], updated.json()["paid_in"], updated.json()["firm_ids"]) == (
        "API 项目（一期）", "300.00", sorted([firm.pk, partner.pk]))
    assert call("put", f"/projects/{project.pk}", {**body, "firm_ids": []}).status_code == 400
    assert token_client(w.officer_a)("put", f"/projects/{project.pk}", body).status_code == 404
    appeal = desk.appeal(firm)
    finance = HqGroup.objects.get(name="财税组")
    moved = call("post", f"/appeals/{appeal.pk}/reassign", {"owner_group_id": finance.pk, "reason": "属融资问题"})
    assert moved.status_code == 200 and moved.json()["owner_group_id"] == finance.pk
    assert call("post", f"/appeals/{appeal.pk}/reassign", {"owner_group_id": finance.pk, "reason": "x"}).json()[
        "fields"] == {"owner_group": "与原责任工作组相同"}
    assert call("post", f"/appeals/{appeal.pk}/reassign", {"owner_group_id": 1, "reason": "x",
                                                            "handler_id": w.outsider.pk}).status_code == 400


def test_an_appeal_is_answered_resolved_and_rated_through_the_api(desk):
    w = desk.world
    call = token_client(w.dept_officer)
    appeal = desk.appeal(desk.firm("某制造有限公司"), received_on=date(2026, 11, 2))
    assert call("post", f"/appeals/{appeal.pk}/rating", {"rating": 5}).json()["fields"] == {"rating": "诉求尚未办结"}
    assert call("post", f"/appeals/{appeal.pk}/replies", {"text": "已对接自然资源局"}).json()["status"] == "in_progress"
    early = call("post", f"/appeals/{appeal.pk}/resolve", {"resolution": "已供地", "resolved_on": "2026-11-01"})
    assert early.status_code == 400 and early.json()["fields"] == {"resolved_on": "不能早于受理日期"}
    done = call("post", f"/appeals/{appeal.pk}/resolve", {"resolution": "已供地", "resolved_on": "2026-11-10"})
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert call("post", f"/appeals/{appeal.pk}/rating", {"rating": 6}).status_code == 400
    assert call("post", f"/appeals/{appeal.pk}/rating", {"rating": 4}).json()["rating"] == 4
    assert token_client(w.officer_b)("post", f"/appeals/{appeal.pk}/replies", {"text": "x"}).status_code == 404
    assert token_client(w.supervisor)("post", f"/appeals/{appeal.pk}/rating", {"rating": 1}).status_code == 403
    assert Appeal.objects.get(pk=appeal.pk).rating == 4


# --- squads and their monthly meetings; the pitch sheet as a PDF download --------------------------------------

def test_the_bureau_creates_a_squad_and_refuses_a_duplicate_name(desk):
    w = desk.world
    call = token_client(w.dept_officer)
    created = call("post", "/squads", {"unit_id": w.department.pk, "name": "中西部小分队", "region": "other"})
    assert created.status_code == 201
    assert (created.json()["name"], created.json()["region"], created.json()["members"]) == ("中西部小分队", "other", [])
    street, supervisor = token_client(w.officer_a), token_client(w.supervisor)  # (making a token is audited)
    before = (Squad.objects.count(), AuditEvent.objects.count())
    again = call("post", "/squads", {"unit_id": w.department.pk, "name": "中西部小分队", "region": "other"})
    assert again.status_code == 400 and again.json()["fields"] == {"name": "名称已被使用"}
    bad_region = call("post", "/squads", {"unit_id": w.department.pk, "name": "海外小分队", "region": "mars"})
    assert bad_region.status_code == 400 and bad_region.json()["fields"] == {"region": "请选择主攻区域"}
    assert call("post", "/squads", {"unit_id": w.department.pk, "name": "x"}).status_code == 422
    assert street("post", "/squads", {"unit_id": w.department.pk, "name": "街道小分队",
                                      "region": "yrd"}).status_code == 404
    assert supervisor("post", "/squads", {"unit_id": w.department.pk, "name": "督查小分队",
                                          "region": "yrd"}).status_code == 403
    assert (Squad.objects.count(), AuditEvent.objects.count()) == before
    assert [s["name"] for s in call("get", "/squads").json()][-1] == "中西部小分队"


def test_a_squads_monthly_meeting_is_recorded_by_its_member_and_listed(desk):
    w = desk.world
    member = token_client(desk.member)
    url = f"/squads/{desk.yrd.pk}/meetings"
    held_on = timezone.localdate() - timedelta(days=3)
    recorded = member("post", url, {"held_on": held_on, "minutes": "梳理 11 月拜访计划", "decisions": "走访 3 家企业"})
    assert recorded.status_code == 201
    body = recorded.json()
    assert (body["squad_id"], body["held_on"], body["decisions"], body["created_by_id"]) == (
        desk.yrd.pk, str(held_on), "走访 3 家企业", desk.member.pk)
    assert AuditEvent.objects.filter(object_type="invest.squadmeeting", object_id=str(body["id"])).count() == 1
    for reader in (desk.member, w.dept_officer, w.supervisor):
        assert [m["minutes"] for m in token_client(reader)("get", url).json()] == ["梳理 11 月拜访计划"], reader


def test_bad_squad_meeting_input_is_a_structured_error_and_writes_nothing(desk):
    call = token_client(desk.world.dept_officer)
    url = f"/squads/{desk.yrd.pk}/meetings"
    before = (SquadMeeting.objects.count(), AuditEvent.objects.count())
    future = call("post", url, {"held_on": timezone.localdate() + timedelta(days=1), "minutes": "x"})
    assert future.status_code == 400
    assert future.json() == {"code": "invalid", "message": "会议日期不能晚于今天", "fields": {"held_on": "不能晚于今天"}}
    empty = call("post", url, {"held_on": timezone.localdate(), "minutes": "  "})
    assert empty.status_code == 400 and empty.json()["fields"] == {"minutes": "请填写会议内容"}
    assert call("post", url, {"minutes": "缺日期"}).status_code == 422
    assert (SquadMeeting.objects.count(), AuditEvent.objects.count()) == before


def test_squad_meetings_answer_404_outside_reach_and_403_to_the_supervisor(desk):
    w = desk.world
    services.squad_meeting_record(actor=w.dept_officer, squad=desk.prd, held_on=date(2026, 11, 2), minutes="例会")
    body = {"held_on": "2026-11-03", "minutes": "越权记录"}
    street = token_client(w.officer_a)
    assert street("get", f"/squads/{desk.yrd.pk}/meetings").status_code == 404
    assert street("post", f"/squads/{desk.yrd.pk}/meetings", body).status_code == 404
    # a member of the YRD squad does not reach the PRD squad
    member = token_client(desk.member)
    assert member("get", f"/squads/{desk.prd.pk}/meetings").status_code == 404
    assert member("post", f"/squads/{desk.prd.pk}/meetings", body).status_code == 404
    refused = token_client(w.supervisor)("post", f"/squads/{desk.prd.pk}/meetings", body)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert list(SquadMeeting.objects.values_list("minutes", flat=True)) == ["例会"]
    assert Client().get(f"/api/v1/invest/squads/{desk.prd.pk}/meetings").status_code == 401


def test_the_pitch_sheet_downloads_as_a_pdf_within_reach(desk, settings, tmp_path):
    from .test_services import parcel

    w = desk.world
    if sheets.font() is None:
        skip_or_fail("no CJK font installed (apt-get install fonts-noto-cjk)")
    a3 = parcel(w.officer_a, w.street_a)
    project = desk.project("远景研发中心", [desk.firm("郑州远景科技有限公司")])
    for user, kind, pk in ((w.officer_a, "parcel", a3.pk), (w.dept_officer, "parcel", a3.pk),
                           (w.supervisor, "project", project.pk)):
        response = token_client(user)("get", f"/pitch/{kind}/{pk}/pdf")
        assert response.status_code == 200, (user, kind)
        assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF-")
        assert response["Content-Disposition"].startswith("attachment")
    inline = token_client(w.officer_a)("get", f"/pitch/parcel/{a3.pk}/pdf", {"download": "false"})
    assert inline["Content-Disposition"].startswith("inline")
    street_b = token_client(w.officer_b)
    assert street_b("get", f"/pitch/parcel/{a3.pk}/pdf").status_code == 404
    assert street_b("get", f"/pitch/project/{project.pk}/pdf").status_code == 404
    assert token_client(w.dept_officer)("get", f"/pitch/firm/{project.pk}/pdf").status_code == 404
    assert Client().get(f"/api/v1/invest/pitch/parcel/{a3.pk}/pdf").status_code == 401
    # without a Chinese font: a structured 503, not a broken file
    settings.INVEST_PDF_FONTS = [str(tmp_path / "missing.ttc")]
    no_font = token_client(w.officer_a)("get", f"/pitch/parcel/{a3.pk}/pdf")
    assert no_font.status_code == 503 and no_font.json()["code"] == "no_font"
    assert "服务器未安装中文字体" in no_font.json()["message"]


def test_the_project_list_costs_the_same_queries_for_one_project_or_many(desk, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(desk.world.dept_officer)
    group = HqGroup.objects.get(name="招商组").pk

    def add(n):
        firm = desk.firm(f"列表公司{n}")
        assert post(client, "/api/v1/invest/projects", {
            "unit_id": desk.world.department.pk, "name": f"列表项目{n}", "firm_ids": [firm.pk], "industry": "hq",
            "planned_investment": "100", "hq_group_id": group, "leader": "李副区长"}).status_code == 201

    def listed():
        with CaptureQueriesContext(connection) as ctx:
            body = client.get("/api/v1/invest/projects").json()
        return len(ctx.captured_queries), body["items"]

    add(0)
    one, items = listed()
    assert items[0]["stall"] == "green" and len(items[0]["firm_ids"]) == 1
    for n in range(1, 6):
        add(n)
    many, items = listed()
    assert len(items) == 6 and all(len(i["firm_ids"]) == 1 for i in items)
    assert many == one  # no query per project (firms and the stall thresholds are read once)
