import io
from datetime import date

import pytest
from django.urls import reverse

from govdesk.core.testing import assert_status_matrix
from govdesk.invest import services
from govdesk.invest.models import Appeal, Document, Firm, Meeting, Project, Task

from .conftest import credit_code
from .test_services import parcel

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(desk, upload):
    w = desk.world
    firm = desk.firm("郑州远景科技有限公司", squad=desk.yrd, code=credit_code(3),
                     contacts=[("李经理", "总监", "13812345678")])
    other = desk.firm("广州南方贸易有限公司", squad=desk.prd, region="prd")
    project = desk.project("远景研发中心", [firm], need="parcel", need_area="20", need_use="industrial")
    doc = services.document_upload(actor=w.dept_officer, project=project, kind="agreement", upload=upload())
    appeal = desk.appeal(firm)
    meeting = services.meeting_create(actor=w.dept_officer, unit=w.department, held_on=date(2026, 11, 16))
    parcel_a = parcel(w.officer_a, w.street_a)
    parcel_b = parcel(w.officer_b, w.street_b, name="乙地块")
    return {"firm": firm, "other": other, "project": project, "doc": doc, "appeal": appeal, "meeting": meeting,
            "parcel_a": parcel_a, "parcel_b": parcel_b}


PAGES = ["invest:dashboard", "invest:firms", "invest:assessments", "invest:squads", "invest:projects",
         "invest:appeals", "invest:meetings", "invest:carriers", "invest:carrier_reports"]


def test_every_list_page_renders_for_each_role(desk, records, client_for):
    w = desk.world
    for user in (w.admin, w.supervisor, w.dept_officer, w.officer_a, desk.member):
        client = client_for(user)
        for name in PAGES:
            response = client.get(reverse(name))
            assert response.status_code == 200, (user, name)
        assert client.get(reverse("invest:projects") + "?view=kanban&stall=stalled").status_code == 200


def test_detail_pages_answer_404_outside_reach(desk, records, client_for):
    w, r = desk.world, records
    firm_url = reverse("invest:firm", args=[r["firm"].pk])
    other_url = reverse("invest:firm", args=[r["other"].pk])
    project_url = reverse("invest:project", args=[r["project"].pk])
    doc_url = reverse("invest:document", args=[r["doc"].pk])
    appeal_url = reverse("invest:appeal", args=[r["appeal"].pk])
    meeting_url = reverse("invest:meeting", args=[r["meeting"].pk])
    parcel_a_url = reverse("invest:parcel_edit", args=[r["parcel_a"].pk])
    parcel_b_url = reverse("invest:parcel_edit", args=[r["parcel_b"].pk])
    assert_status_matrix(client_for, [
        (w.dept_officer, firm_url, 200), (w.supervisor, firm_url, 200), (w.officer_a, firm_url, 404),
        (w.dept_officer, firm_url + "edit/", 200), (w.officer_a, firm_url + "edit/", 404),
        (w.outsider, firm_url, 404),
        (desk.member, firm_url, 200), (desk.member, other_url, 404), (desk.member, project_url, 404),
        (w.dept_officer, project_url, 200), (w.officer_a, project_url, 404),
        (w.dept_officer, doc_url, 200), (w.supervisor, doc_url, 200), (w.officer_a, doc_url, 404),
        (w.dept_officer, appeal_url, 200), (w.officer_b, appeal_url, 404),
        (w.dept_officer, meeting_url, 200), (w.officer_a, meeting_url, 404),
        (w.dept_officer, reverse("invest:meeting_print", args=[r["meeting"].pk]), 200),
        (w.officer_a, parcel_a_url, 200), (w.officer_a, parcel_b_url, 404), (w.dept_officer, parcel_b_url, 200),
        (w.officer_a, reverse("invest:carrier_report", args=[w.street_b.pk]), 404),
        (w.officer_a, reverse("invest:carrier_report", args=[w.street_a.pk]), 200),
        (w.dept_officer, reverse("invest:carrier_report", args=[w.street_b.pk]), 200),
    ])


def test_a_document_is_served_only_through_the_reach_checking_view(desk, records, client_for):
    response = client_for(desk.world.dept_officer).get(reverse("invest:document", args=[records["doc"].pk]))
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_the_firm_page_shows_the_whole_history_and_masks_the_phone(desk, records, client_for):
    w = desk.world
    services.activity_record(actor=w.dept_officer, firm=records["firm"], kind="follow_up",
                             happened_on=date(2026, 11, 12), participants="王科长", summary="回访落地情况")
    page = client_for(w.dept_officer).get(reverse("invest:firm", args=[records["firm"].pk])).content.decode()
    for text in ("回访落地情况", "远景研发中心", "用地指标", "138****5678"):
        assert text in page
    assert "13812345678" not in page


def test_creating_a_duplicate_through_the_page_points_at_the_existing_firm(desk, records, client_for):
    response = client_for(desk.world.dept_officer).post(reverse("invest:firm_create"), {
        "name": "郑州远景科技股份有限公司", "industry": desk.industry().pk, "region": "yrd",
        "unit": desk.world.department.pk})
    assert response.status_code == 200
    body = response.content.decode()
    assert "企业名称与企业库中的「郑州远景科技有限公司」" in body
    assert reverse("invest:firm", args=[records["firm"].pk]) in body
    assert Firm.objects.count() == 2


def test_the_supervisor_is_refused_a_stage_move_and_nothing_changes(desk, records, client_for):
    project = records["project"]
    response = client_for(desk.world.supervisor).post(reverse("invest:project_move", args=[project.pk]),
                                                       {"to_stage": "negotiating"}, follow=True)
    assert "您的角色无权进行此操作" in response.content.decode()
    assert Project.objects.get(pk=project.pk).stage == "lead"


def test_an_upload_through_the_page_unlocks_signing(desk, records, client_for, upload):
    client = client_for(desk.world.dept_officer)
    project = desk.project("新签项目", [records["other"]])
    url = reverse("invest:project_move", args=[project.pk])
    client.post(url, {"to_stage": "negotiating"})
    response = client.post(url, {"to_stage": "signed"}, follow=True)
    assert "请先上传投资协议" in response.content.decode()
    client.post(reverse("invest:document_upload", args=[project.pk]), {"kind": "agreement", "file": upload()})
    client.post(url, {"to_stage": "signed"})
    assert Project.objects.get(pk=project.pk).stage == "signed"
    assert Document.objects.filter(project=project).count() == 1


def test_reading_the_appeals_list_writes_nothing_and_the_periodic_command_escalates(desk, records, client_for):
    from django.core.management import call_command

    from govdesk.core.models import AuditEvent

    Appeal.objects.filter(pk=records["appeal"].pk).update(due_on=date(2020, 1, 1))
    events = AuditEvent.objects.count()
    for user in (desk.world.dept_officer, desk.world.supervisor):
        assert client_for(user).get(reverse("invest:appeals")).status_code == 200
        assert client_for(user).get("/api/v1/invest/appeals").status_code == 200
    assert Appeal.objects.get(pk=records["appeal"].pk).escalated_at is None
    assert AuditEvent.objects.count() == events
    call_command("invest_escalate", stdout=io.StringIO())
    assert Appeal.objects.get(pk=records["appeal"].pk).escalated_at is not None
    assert AuditEvent.objects.filter(verb="escalate", object_id=str(records["appeal"].pk)).count() == 1


def test_a_task_is_assigned_from_the_agenda(desk, records, client_for):
    w, meeting = desk.world, records["meeting"]
    client = client_for(w.dept_officer)
    page = client.get(reverse("invest:meeting", args=[meeting.pk]) + f"?appeal={records['appeal'].pk}")
    assert "交办：诉求「用地指标」" in page.content.decode()
    client.post(reverse("invest:task_assign", args=[meeting.pk]), {
        "text": "协调用地", "owner": w.officer_a.pk, "due_on": "2026-11-30", "appeal": records["appeal"].pk})
    task = Task.objects.get()
    assert (task.owner, task.appeal) == (w.officer_a, records["appeal"])
    assert Meeting.objects.count() == 1


def test_a_tier_and_a_contact_are_added_on_the_firm_page(desk, records, client_for):
    from govdesk.invest.models import Tier
    client = client_for(desk.world.dept_officer)
    firm = records["firm"]
    client.post(reverse("invest:firm_tier_add", args=[firm.pk]),
                {"tier": Tier.objects.get(code="china-500").pk, "year": 2025})
    response = client.post(reverse("invest:contact_add", args=[firm.pk]), {"name": "周总", "phone": "13911112222"},
                           follow=True)
    body = response.content.decode()
    assert "中国 500 强 2025" in body and "139****2222" in body
    refused = client_for(desk.world.supervisor).post(reverse("invest:contact_add", args=[firm.pk]),
                                                     {"name": "督查", "phone": ""}, follow=True)
    assert "您的角色无权进行此操作" in refused.content.decode()
    assert firm.contacts.count() == 2


def test_drilling_down_from_the_stage_totals_keeps_the_filters(desk, records, client_for):
    desk.project("另一个总部项目", [records["other"]])
    client = client_for(desk.world.dept_officer)
    page = client.get(reverse("invest:projects") + "?q=远景&industry=hq&stage=lead").content.decode()
    assert 'href="?q=%E8%BF%9C%E6%99%AF&amp;industry=hq&stage=negotiating"' in page
    assert "远景研发中心" in page and "另一个总部项目" not in page


def test_the_district_overview_shows_the_invest_card_only_to_those_who_reach_it(desk, records):
    from govdesk.invest.charts import overview_card
    card = overview_card(desk.world.dept_officer)
    figures = dict(card["figures"])
    assert (card["title"], figures["企业库"], figures["未办结诉求"]) == ("招商引资", 2, 1)
    assert overview_card(desk.world.outsider) is None
    # a street sees its carriers, so it gets the card, with no firms in it
    assert dict(overview_card(desk.world.officer_a)["figures"])["企业库"] == 0


@pytest.mark.parametrize("name", ["invest:firms", "invest:projects", "invest:appeals", "invest:carriers"])
def test_list_pages_cost_the_same_for_5_or_50_rows(desk, client_for, django_assert_max_num_queries, name):
    client = client_for(desk.world.dept_officer)
    for i in range(45):
        firm = desk.firm(f"批量企业{i:02d}有限公司", squad=desk.yrd)
        desk.project(f"批量项目{i:02d}", [firm])
        desk.appeal(firm, received_on=date(2026, 11, 20), title=f"诉求{i:02d}")
    with django_assert_max_num_queries(25):
        assert client.get(reverse(name)).status_code == 200


def test_the_pitch_sheets_print_for_those_who_reach_the_record(desk, records, client_for):
    from govdesk.invest import services as svc
    w = desk.world
    svc.office_configure(actor=w.admin, lead_unit=w.department, advantages="交通便利，人才集聚")
    parcel_url = reverse("invest:pitch", args=["parcel", records["parcel_b"].pk])
    project_url = reverse("invest:pitch", args=["project", records["project"].pk])
    assert_status_matrix(client_for, [
        (w.dept_officer, parcel_url, 200), (w.officer_b, parcel_url, 200), (w.officer_a, parcel_url, 404),
        (w.dept_officer, project_url, 200), (w.officer_a, project_url, 404),
        (w.dept_officer, reverse("invest:pitch", args=["firm", records["firm"].pk]), 404),
    ])
    page = client_for(w.dept_officer).get(project_url).content.decode()
    # the project needs 20 mu of industrial land: both street parcels (42.5 mu) fit
    assert "交通便利，人才集聚" in page and "西区 A-3 地块：42.50 亩" in page and "乙地块：42.50 亩" in page


def test_a_squad_member_keeps_the_squads_monthly_meeting_on_its_page(desk, records, client_for):
    client = client_for(desk.member)
    url = reverse("invest:squad", args=[desk.yrd.pk])
    client.post(reverse("invest:squad_meeting_create", args=[desk.yrd.pk]),
                {"held_on": "2026-11-02", "minutes": "复盘 10 月拜访", "decisions": "赴苏州拜访"})
    page = client.get(url).content.decode()
    assert "复盘 10 月拜访" in page and "郑州远景科技有限公司" in page
    assert "广州南方贸易有限公司" not in page
    assert client.get(reverse("invest:squad", args=[desk.prd.pk])).status_code == 404


def test_the_administrator_names_the_lead_unit_on_the_settings_page(world, client_for):
    from govdesk.invest.models import Office
    assert "尚未设置招商牵头单位" in client_for(world.admin).get(reverse("invest:dashboard")).content.decode()
    assert_status_matrix(client_for, [(world.dept_officer, reverse("invest:office"), 404),
                                      (world.supervisor, reverse("invest:office"), 404)])
    response = client_for(world.admin).post(reverse("invest:office"), {
        "lead_unit": world.department.pk, "stall_amber_days": 20, "stall_red_days": 10, "advantages": ""})
    assert "红色告警天数应大于黄色预警天数" in response.content.decode()
    client_for(world.admin).post(reverse("invest:office"), {
        "lead_unit": world.department.pk, "stall_amber_days": 20, "stall_red_days": 45, "advantages": "交通便利"})
    office = Office.current()
    assert (office.lead_unit, office.stall_amber_days, office.stall_red_days, office.advantages) == (
        world.department, 20, 45, "交通便利")


def test_a_project_is_corrected_on_its_edit_page_and_bad_input_stays_on_the_form(desk, records, client_for):
    w, project = desk.world, records["project"]
    url = reverse("invest:project_edit", args=[project.pk])
    assert_status_matrix(client_for, [(w.dept_officer, url, 200), (w.supervisor, url, 403), (w.officer_a, url, 404),
                                      (desk.member, url, 404)])
    client = client_for(w.dept_officer)
    assert "修改项目信息" in client.get(reverse("invest:project", args=[project.pk])).content.decode()
    form = {"name": "远景研发中心（二期）", "firms": [records["firm"].pk, records["other"].pk],
            "industry": desk.industry("em-ict").pk, "planned_investment": "-5", "paid_in": "800", "need": "parcel",
            "need_area": "20", "need_use": "industrial", "hq_group": desk.group("产业发展组").pk, "leader": "李副区长"}
    refused = client.post(url, form)
    assert refused.status_code == 200 and Project.objects.get(pk=project.pk).name == "远景研发中心"
    response = client.post(url, {**form, "planned_investment": "60000"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, str(project.paid_in), project.hq_group.name, project.firms.count()) == (
        "远景研发中心（二期）", "800.00", "产业发展组", 2)
    supervisor = client_for(w.supervisor).post(url, {**form, "planned_investment": "1"})
    assert "您的角色无权进行此操作" in supervisor.content.decode()
    assert "修改项目信息" not in client_for(w.supervisor).get(reverse("invest:project", args=[project.pk])).content.decode()


def test_an_appeal_is_reassigned_on_its_page_and_the_move_shows_in_its_history(desk, records, client_for):
    w, appeal = desk.world, records["appeal"]
    client = client_for(w.dept_officer)
    url = reverse("invest:appeal_action", args=[appeal.pk, "reassign"])
    missing = client.post(url, {"owner_group": desk.group("财税组").pk}, follow=True).content.decode()
    assert "转办原因：这个字段是必填项。" in missing
    page = client.post(url, {"owner_group": desk.group("财税组").pk, "reason": "实为融资问题"}, follow=True)
    body = page.content.decode()
    assert "诉求已转办" in body and "土地规划组 → 财税组" in body and "原因：实为融资问题" in body
    assert Appeal.objects.get(pk=appeal.pk).owner_group.name == "财税组"
    assert client_for(w.officer_b).post(url, {"owner_group": desk.group("招商组").pk, "reason": "x"}).status_code == 404
    refused = client_for(w.supervisor).post(url, {"owner_group": desk.group("招商组").pk, "reason": "x"}, follow=True)
    assert "您的角色无权进行此操作" in refused.content.decode()
    assert Appeal.objects.get(pk=appeal.pk).reassignments.count() == 1
