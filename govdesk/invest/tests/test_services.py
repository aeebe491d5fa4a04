from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from govdesk.core.errors import Conflict, ServiceError
from govdesk.core.models import AuditEvent, Todo
from govdesk.invest import queries, services
from govdesk.invest.models import (
    Activity,
    Appeal,
    Assessment,
    Contact,
    Dimension,
    Document,
    Firm,
    FirmTier,
    Project,
    Tier,
)

from .conftest import credit_code

pytestmark = pytest.mark.django_db


def events(obj, verb=None):
    qs = AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return qs.filter(verb=verb) if verb is not None else qs


# --- enterprise library ---------------------------------------------------------------------------

def test_the_name_key_folds_width_spaces_brackets_and_company_suffixes():
    assert services.name_key("河南　中原科技（集团）股份有限公司") == services.name_key("河南中原科技(集团)有限公司")
    assert services.name_key("ＡＢＣ 物流 有限责任公司") == "abc物流"
    assert services.name_key("郑州公司") == "郑州"
    assert services.name_key("有限公司") == "有限公司"


def test_a_firm_is_created_with_tiers_and_a_protected_contact(desk):
    tiers = [(Tier.objects.get(code="fortune-global-500"), 2025), (Tier.objects.get(code="china-500"), 2024)]
    firm = desk.firm("华信国际控股有限公司", code=credit_code(1), tiers=tiers,
                     contacts=[("李经理", "投资总监", "13812345678")])
    assert firm.credit_code == credit_code(1)
    assert [(t.tier.code, t.year) for t in firm.tiers.all()] == [("fortune-global-500", 2025), ("china-500", 2024)]
    contact = Contact.objects.get(firm=firm)
    assert contact.phone_masked == "138****5678"
    assert "13812345678" not in contact.phone_enc
    assert events(firm).get().action == AuditEvent.Action.CREATE


def test_a_duplicate_credit_code_is_refused_even_in_full_width(desk):
    first = desk.firm("华信国际控股有限公司", code=credit_code(1))
    folded = credit_code(1).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"})
    with pytest.raises(Conflict, match="统一社会信用代码与企业库中的「华信国际控股有限公司」") as e:
        desk.firm("另一个名字", code=folded)
    assert e.value.fields["duplicate_id"] == str(first.pk)
    assert Firm.objects.count() == 1


def test_a_duplicate_name_is_caught_through_suffix_and_bracket_variants(desk):
    desk.firm("郑州中原（国际）物流有限公司")
    with pytest.raises(Conflict, match="企业名称与企业库中的「郑州中原（国际）物流有限公司」"):
        desk.firm("郑州 中原(国际)物流股份有限公司")
    assert Firm.objects.count() == 1


def test_a_bad_credit_code_is_refused_with_a_clear_message(desk):
    with pytest.raises(ServiceError, match="校验位不正确"):
        desk.firm("错码公司", code=credit_code(1)[:-1] + ("0" if credit_code(1)[-1] != "0" else "1"))


def test_a_merge_moves_every_record_to_the_survivor_and_is_audited_once(desk):
    survivor = desk.firm("中原数字科技有限公司", squad=desk.yrd)
    duplicate = desk.firm("中原数科有限公司", code=credit_code(7), contacts=[("张总", "", "13900001111")],
                          tiers=[(Tier.objects.get(code="sme"), 2025)])
    referred = desk.firm("下游配套有限公司", referred_by=duplicate)
    services.activity_record(actor=desk.world.dept_officer, firm=duplicate, kind="visit",
                             happened_on=date(2026, 11, 1), participants="甲、乙", summary="初次拜访")
    services.activity_record(actor=desk.world.dept_officer, firm=duplicate, kind="follow_up",
                             happened_on=date(2026, 11, 10), participants="甲", summary="回访")
    shared = desk.project("数字园区", [survivor, duplicate])
    own = desk.project("算力中心", [duplicate])
    appeal = desk.appeal(duplicate)
    before = AuditEvent.objects.count()

    services.firm_merge(actor=desk.world.dept_officer, survivor=survivor, duplicate=duplicate)

    assert not Firm.objects.filter(pk=duplicate.pk).exists()
    survivor.refresh_from_db()
    assert survivor.credit_code == credit_code(7)
    assert Activity.objects.filter(firm=survivor).count() == 2
    assert list(shared.firms.all()) == [survivor] and list(own.firms.all()) == [survivor]
    assert Appeal.objects.get(pk=appeal.pk).firm == survivor
    assert Contact.objects.get().firm == survivor
    assert FirmTier.objects.get().firm == survivor
    assert Firm.objects.get(pk=referred.pk).referred_by == survivor
    assert AuditEvent.objects.count() == before + 1
    event = events(survivor, "merge").get()
    assert event.changes["merged"]["name"] == "中原数科有限公司"
    assert event.changes["moved"] == {"activities": 2, "assessments": 0, "appeals": 1, "contacts": 1,
                                      "referrals": 1, "tiers": 1, "projects": 2}


# --- assessment ---------------------------------------------------------------------------------------

def test_a_dimension_is_scored_only_with_its_evidence(desk):
    firm = desk.firm("远景能源有限公司")
    fit = Dimension.objects.get(code="fit")
    with pytest.raises(ServiceError, match="「产业契合度」要先写明依据才能打分") as e:
        services.assessment_record(actor=desk.world.dept_officer, firm=firm, met_on=date(2026, 11, 20),
                                   conclusion="pursue", priority=1, squad=desk.yrd, scores={fit.pk: (90, "  ")})
    assert f"evidence_{fit.pk}" in e.value.fields
    assert not Assessment.objects.exists()


def test_an_assessment_weighs_the_scores_and_sets_the_firms_outcome(desk):
    firm = desk.firm("远景能源有限公司")
    dims = {d.code: d for d in Dimension.objects.all()}
    assessment = services.assessment_record(
        actor=desk.world.dept_officer, firm=firm, met_on=date(2026, 11, 20), conclusion="pursue", priority=1,
        squad=desk.prd, scores={dims["strength"].pk: (80, "世界 500 强"), dims["fit"].pk: (90, "节能环保"),
                                dims["intent"].pk: (None, "尚未接触")})
    # (80 × 25 + 90 × 25) / 100, the unscored dimensions count nothing
    assert assessment.total == Decimal("42.50")
    firm.refresh_from_db()
    assert (firm.conclusion, firm.priority, firm.squad, firm.assessed_on) == ("pursue", 1, desk.prd, date(2026, 11, 20))
    assert assessment.scores.count() == 2


# --- projects ------------------------------------------------------------------------------------------

def test_signing_needs_the_agreement_and_registering_the_licence(desk, upload):
    project = desk.project("智能家居产业园", [desk.firm("欧派家居有限公司")])
    officer = desk.world.dept_officer
    services.project_move(actor=officer, project=project, to_stage="negotiating")
    with pytest.raises(ServiceError, match="请先上传投资协议"):
        services.project_move(actor=officer, project=project, to_stage="signed")
    services.document_upload(actor=officer, project=project, kind="agreement", upload=upload())
    services.project_move(actor=officer, project=project, to_stage="signed")
    with pytest.raises(ServiceError, match="请先上传营业执照"):
        services.project_move(actor=officer, project=project, to_stage="registered")
    services.document_upload(actor=officer, project=project, kind="licence",
                             upload=upload("执照.png", b"\x89PNG\r\n\x1a\n0000", "image/png"))
    services.project_move(actor=officer, project=project, to_stage="registered")
    assert Project.objects.get().stage == "registered"
    assert list(project.events.values_list("to_stage", flat=True)) == ["registered", "signed", "negotiating", "lead"]


def test_a_project_moves_one_step_at_a_time_and_is_lost_only_with_a_reason(desk):
    project = desk.project("总部基地", [desk.firm("某总部有限公司")])
    with pytest.raises(ServiceError, match="只能从「线索」推进到下一阶段"):
        services.project_move(actor=desk.world.dept_officer, project=project, to_stage="signed")
    with pytest.raises(ServiceError, match="请填写流失原因"):
        services.project_move(actor=desk.world.dept_officer, project=project, to_stage="lost")
    services.project_move(actor=desk.world.dept_officer, project=project, to_stage="lost", lost_reason="落户外省")
    with pytest.raises(ServiceError, match="不能再变更阶段"):
        services.project_move(actor=desk.world.dept_officer, project=project, to_stage="negotiating")


def test_uploads_are_checked_by_content_and_stored_by_hash(desk, upload, media_root):
    project = desk.project("研发中心", [desk.firm("研发设计有限公司")])
    officer = desk.world.dept_officer
    with pytest.raises(ServiceError, match="只能上传 PDF、JPG 或 PNG"):
        services.document_upload(actor=officer, project=project, kind="agreement",
                                 upload=upload("协议.pdf", b"MZ\x90\x00 not a pdf"))
    with pytest.raises(ServiceError, match="扩展名与文件内容不符"):
        services.document_upload(actor=officer, project=project, kind="agreement", upload=upload("协议.png"))
    with pytest.raises(ServiceError, match="文件是空的"):
        services.document_upload(actor=officer, project=project, kind="agreement", upload=upload(content=b""))
    doc = services.document_upload(actor=officer, project=project, kind="agreement", upload=upload())
    import hashlib
    sha = hashlib.sha256(b"%PDF-1.4\n% signed agreement\n").hexdigest()
    assert (doc.sha256, doc.size, doc.content_type) == (sha, 28, "application/pdf")
    assert (media_root / "invest" / sha[:2] / f"{sha}.pdf").read_bytes().startswith(b"%PDF-")
    assert Document.objects.count() == 1


def _moved_days_ago(project, days, today):
    moved = timezone.make_aware(timezone.datetime.combine(today - timedelta(days=days), timezone.datetime.min.time()))
    Project.objects.filter(pk=project.pk).update(moved_at=moved + timedelta(hours=23, minutes=59))
    project.refresh_from_db()
    return project


@pytest.mark.parametrize(("days", "level"), [(29, "green"), (30, "amber"), (59, "amber"), (60, "red")])
def test_a_stalled_project_turns_amber_then_red_at_the_exact_thresholds(desk, days, level):
    today = date(2026, 11, 25)
    project = _moved_days_ago(desk.project("纺织城改造", [desk.firm("纺织集团有限公司")]), days, today)
    assert queries.stall_level(project, today) == level
    user = desk.world.dept_officer
    in_amber = queries.projects_visible(user, stall="amber", today=today).filter(pk=project.pk).exists()
    in_red = queries.projects_visible(user, stall="red", today=today).filter(pk=project.pk).exists()
    assert (in_amber, in_red) == (level == "amber", level == "red")


def test_a_progress_note_restarts_the_clock(desk):
    today = timezone.localdate()
    project = _moved_days_ago(desk.project("商贸城", [desk.firm("商贸流通有限公司")]), 45, today)
    assert queries.stall_level(project, today) == "amber"
    services.project_progress(actor=desk.world.dept_officer, project=project, note="完成方案评审", paid_in="350.5")
    project.refresh_from_db()
    assert queries.stall_level(project, today) == "green"
    assert project.paid_in == Decimal("350.50")


# --- appeals --------------------------------------------------------------------------------------------

def test_an_appeal_is_due_by_its_urgency_and_lands_in_the_handlers_todos(desk):
    firm = desk.firm("某制造有限公司")
    normal = desk.appeal(firm, received_on=date(2026, 11, 2))
    critical = desk.appeal(firm, received_on=date(2026, 11, 2), urgency="critical", title="断电")
    assert (normal.due_on, critical.due_on) == (date(2026, 11, 17), date(2026, 11, 5))
    todo = Todo.objects.get(source_id=str(normal.pk), kind=services.TODO_APPEAL)
    assert (todo.user, todo.due_date, todo.done_at) == (desk.world.dept_officer, date(2026, 11, 17), None)
    services.appeal_reply(actor=desk.world.dept_officer, appeal=normal, text="已对接自然资源局")
    services.appeal_resolve(actor=desk.world.dept_officer, appeal=normal, resolution="已协调供地",
                            resolved_on=date(2026, 11, 16))
    todo.refresh_from_db()
    assert todo.done_at is not None
    with pytest.raises(ServiceError, match="评价为 1–5 分"):
        services.appeal_rate(actor=desk.world.dept_officer, appeal=normal, rating=6)
    services.appeal_rate(actor=desk.world.dept_officer, appeal=normal, rating=5)
    assert Appeal.objects.get(pk=normal.pk).rating == 5


def test_an_appeal_escalates_the_day_after_its_due_date_and_only_once(desk):
    desk.group("考核督察组").__class__.objects.filter(name="考核督察组").update(leader=desk.world.admin)
    appeal = desk.appeal(desk.firm("某制造有限公司"), received_on=date(2026, 11, 2))  # due 11-17
    assert services.appeals_escalate(today=date(2026, 11, 17)) == 0
    assert services.appeals_escalate(today=date(2026, 11, 18)) == 1
    assert services.appeals_escalate(today=date(2026, 11, 19)) == 0
    appeal.refresh_from_db()
    assert appeal.escalated_at is not None
    todo = Todo.objects.get(kind=services.TODO_ESCALATED)
    assert todo.user == desk.world.admin
    event = events(appeal, "escalate").get()
    assert (event.actor_id, event.changes["days_overdue"], event.changes["to"]) == (None, 1, "考核督察组")


def test_a_resolved_appeal_never_escalates(desk):
    appeal = desk.appeal(desk.firm("某制造有限公司"), received_on=date(2026, 11, 2))
    services.appeal_resolve(actor=desk.world.dept_officer, appeal=appeal, resolution="办结",
                            resolved_on=date(2026, 11, 3))
    assert services.appeals_escalate(today=date(2026, 12, 30)) == 0


# --- the weekly meeting -------------------------------------------------------------------------------

def test_the_agenda_lists_stalled_projects_open_appeals_and_open_tasks(desk):
    today = date(2026, 11, 23)
    officer = desk.world.dept_officer
    firm = desk.firm("某制造有限公司")
    stalled = _moved_days_ago(desk.project("停滞项目", [firm]), 61, today)
    _moved_days_ago(desk.project("正常项目", [firm]), 3, today)
    overdue = desk.appeal(firm, received_on=date(2026, 11, 2))
    fresh = desk.appeal(firm, received_on=date(2026, 11, 20), title="融资")
    last = services.meeting_create(actor=officer, unit=desk.world.department, held_on=date(2026, 11, 16))
    task = services.task_assign(actor=officer, meeting=last, text="协调用地", owner=desk.world.officer_a,
                                due_on_date=date(2026, 11, 20), project=stalled)
    this = services.meeting_create(actor=officer, unit=desk.world.department, held_on=today)
    agenda = queries.agenda(officer, this)
    assert [(p.name, p.stall) for p in agenda["projects"]] == [("停滞项目", "red")]
    assert [(a.pk, a.overdue) for a in agenda["appeals"]] == [(overdue.pk, True), (fresh.pk, False)]
    assert agenda["tasks"] == [task]
    # the owner has it in their to-dos until it is ticked off at the next meeting
    todo = Todo.objects.get(kind=services.TODO_TASK)
    assert (todo.user, todo.done_at) == (desk.world.officer_a, None)
    with pytest.raises(ServiceError, match="之后的例会上销号"):
        services.task_close(actor=officer, task=task, meeting=last)
    services.task_close(actor=officer, task=task, meeting=this, note="已供地")
    todo.refresh_from_db()
    assert todo.done_at is not None
    assert queries.agenda(officer, this)["tasks"] == []


# --- carriers -------------------------------------------------------------------------------------------

def parcel(actor, unit, name="西区 A-3 地块", area="42.5", status="idle", use="industrial"):
    return services.parcel_save(actor=actor, unit=unit, name=name, location="建设路以南", area_mu=area,
                                planned_use=use, zoning="容积率 2.0", status=status)


def test_the_monthly_report_shows_what_changed_since_last_month(desk):
    w = desk.world
    a3 = parcel(w.officer_a, w.street_a)
    b1 = parcel(w.officer_a, w.street_a, name="B-1 地块", area="10")
    services.carrier_report_submit(actor=w.officer_a, unit=w.street_a, month=date(2026, 10, 1))
    services.parcel_save(actor=w.officer_a, parcel=a3, name="西区 A-3 地块", location="建设路以南", area_mu="40",
                         planned_use="industrial", zoning="容积率 2.0", status="reserved")
    b1.delete()
    tower = services.building_save(actor=w.officer_a, unit=w.street_a, name="中原大厦", address="中原路 1 号",
                                   total_area="30000", vacant_area="4500", rent="45", owner="中原投资")
    services.carrier_report_submit(actor=w.officer_a, unit=w.street_a, month=date(2026, 11, 10))
    diff = queries.report_diff(w.officer_a, w.street_a, date(2026, 11, 1))
    assert diff["parcels"]["changed"] == [{"id": a3.pk, "name": "西区 A-3 地块",
                                           "changes": {"area_mu": ["42.50", "40.00"], "status": ["idle", "reserved"]},
                                           "described": [("面积（亩）", "42.50", "40.00"), ("状态", "idle", "reserved")]}]
    assert [p["name"] for p in diff["parcels"]["removed"]] == ["B-1 地块"]
    assert [b["id"] for b in diff["buildings"]["added"]] == [tower.pk]
    assert queries.report_diff(w.officer_a, w.street_a, date(2026, 12, 1)) is None


def test_the_bureau_sees_who_has_not_reported_across_the_district(desk):
    w = desk.world
    services.carrier_report_submit(actor=w.officer_a, unit=w.street_a, month=date(2026, 11, 1))
    rows = queries.report_completeness(w.dept_officer, date(2026, 11, 1))
    assert [(u.name, r is not None) for u, r in rows] == [("商务局", False), ("甲街道", True), ("乙街道", False),
                                                          ("财政局", False)]
    # a street sees only its own line
    assert [u.name for u, _r in queries.report_completeness(w.officer_b, date(2026, 11, 1))] == ["乙街道"]


def test_a_projects_need_is_matched_to_fitting_carriers(desk):
    w = desk.world
    small = parcel(w.officer_a, w.street_a, name="小地块", area="10")
    big = parcel(w.officer_b, w.street_b, name="大地块", area="50")
    parcel(w.officer_b, w.street_b, name="商业地块", area="80", use="commercial")
    parcel(w.officer_b, w.street_b, name="已供地块", area="90", status="supplied")
    mixed = parcel(w.officer_a, w.street_a, name="综合地块", area="60", use="mixed")
    project = desk.project("装备制造基地", [desk.firm("装备有限公司")], need="parcel", need_area="30",
                           need_use="industrial")
    matches = queries.carrier_matches(w.dept_officer, project)
    assert matches["parcels"] == [big, mixed]
    assert small not in matches["parcels"]
    # a street officer is offered only what it can see
    assert queries.carrier_matches(w.officer_a, project)["parcels"] == [mixed]


def test_a_batch_is_refused_whole_when_two_rows_are_the_same_firm(desk):
    rows = [{"name": "甲乙科技有限公司", "industry": desk.industry(), "region": "yrd"},
            {"name": "丙丁物流有限公司", "industry": desk.industry(), "region": "yrd"},
            {"name": "甲乙科技股份有限公司", "industry": desk.industry(), "region": "prd"}]
    with pytest.raises(Conflict, match="第 3 行与第 1 行是同一家企业"):
        services.firm_create_many(actor=desk.world.dept_officer, unit=desk.world.department, rows=rows)
    assert not Firm.objects.exists()
    firms = services.firm_create_many(actor=desk.world.dept_officer, unit=desk.world.department, rows=rows[:2])
    assert [f.name for f in firms] == ["甲乙科技有限公司", "丙丁物流有限公司"]
    assert AuditEvent.objects.filter(object_type="invest.firm").count() == 2


def test_the_escalate_command_escalates_overdue_appeals(desk):
    from io import StringIO

    from django.core.management import call_command
    appeal = desk.appeal(desk.firm("某制造有限公司"), received_on=date(2026, 11, 2))
    out = StringIO()
    call_command("invest_escalate", "--date", "2026-11-17", stdout=out)
    assert out.getvalue().strip() == "escalated 0 overdue appeal(s)"
    call_command("invest_escalate", "--date", "2026-11-18", stdout=out)
    assert "escalated 1 overdue appeal(s)" in out.getvalue()
    assert Appeal.objects.get(pk=appeal.pk).escalated_at is not None


def test_unmasking_a_contacts_phone_is_audited_and_refused_to_streets(desk):
    from govdesk.core.errors import NotInReach
    firm = desk.firm("某制造有限公司", contacts=[("李经理", "总监", "0371-67891234")])
    contact = Contact.objects.get(firm=firm)
    assert contact.phone_masked == "0371****1234"
    assert services.contact_phone(actor=desk.world.dept_officer, contact=contact) == "0371-67891234"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UNMASK, object_id=str(contact.pk)).count() == 1
    with pytest.raises(NotInReach):
        services.contact_phone(actor=desk.world.officer_a, contact=contact)


def test_a_tier_and_a_contact_are_added_to_a_firm(desk):
    firm = desk.firm("某制造有限公司")
    services.firm_tier_add(actor=desk.world.dept_officer, firm=firm, tier=Tier.objects.get(code="industry-leader"),
                           year=2025)
    services.contact_add(actor=desk.world.dept_officer, firm=firm, name="赵总", phone="13600001111")
    assert [(t.tier.code, t.year) for t in firm.tiers.all()] == [("industry-leader", 2025)]
    assert firm.contacts.get().phone_bidx != ""
    with pytest.raises(ServiceError, match="榜单年份不正确"):
        services.firm_tier_add(actor=desk.world.dept_officer, firm=firm, tier=Tier.objects.get(code="sme"), year=1800)


def test_renaming_a_firm_onto_another_is_refused_and_a_real_change_is_audited(desk):
    first = desk.firm("郑州甲科技有限公司")
    second = desk.firm("郑州乙科技有限公司", code=credit_code(5))
    officer = desk.world.dept_officer
    with pytest.raises(Conflict, match="企业名称与企业库中的「郑州甲科技有限公司」"):
        services.firm_update(actor=officer, firm=second, name="郑州甲科技股份有限公司", industry=second.industry,
                             region="yrd", credit_code=credit_code(5))
    with pytest.raises(Conflict, match="统一社会信用代码"):
        services.firm_update(actor=officer, firm=first, name=first.name, industry=first.industry, region="yrd",
                             credit_code=credit_code(5))
    services.firm_update(actor=officer, firm=second, name="郑州乙科技有限公司", industry=desk.industry("em-ict"),
                         region="prd", credit_code=credit_code(5), referred_by=first)
    second.refresh_from_db()
    assert (second.industry.code, second.region, second.referred_by) == ("em-ict", "prd", first)
    changes = events(second).filter(action=AuditEvent.Action.UPDATE).get().changes
    assert set(changes) == {"industry", "region", "referred_by"}


# --- corrections: a project's particulars, an appeal's owner group ---------------------------------------

def _edit(desk, project, **overrides):
    values = {"firms": list(project.firms.all()), "name": project.name, "industry": project.industry,
              "planned_investment": project.planned_investment, "paid_in": project.paid_in,
              "hq_group": project.hq_group, "leader": project.leader, "need": project.need,
              "need_area": project.need_area, "need_use": project.need_use, **overrides}
    return services.project_update(actor=desk.world.dept_officer, project=project, **values)


def test_a_projects_particulars_are_corrected_and_audited_without_restarting_its_clock(desk):
    firm, partner = desk.firm("纺织集团有限公司"), desk.firm("服装配套有限公司")
    today = date(2026, 11, 25)
    project = _moved_days_ago(desk.project("纺织城改造", [firm]), 45, today)
    moved_at = project.moved_at
    _edit(desk, project, firms=[firm, partner], industry=desk.industry("em-ict"), planned_investment="8000.5",
          paid_in="1200", hq_group=desk.group("产业发展组"), leader="李副区长", need="parcel", need_area="30",
          need_use="industrial")
    project.refresh_from_db()
    assert (project.industry.code, project.planned_investment, project.paid_in, project.hq_group.name,
            project.leader, project.need, project.need_area, project.need_use) == (
        "em-ict", Decimal("8000.50"), Decimal("1200.00"), "产业发展组", "李副区长", "parcel", Decimal("30.00"),
        "industrial")
    assert sorted(project.firms.values_list("name", flat=True)) == ["服装配套有限公司", "纺织集团有限公司"]
    assert project.moved_at == moved_at and queries.stall_level(project, today) == "amber"
    changes = events(project, "edit").get().changes
    assert set(changes) == {"industry", "planned_investment", "paid_in", "hq_group", "leader", "need", "need_area",
                            "need_use", "firms"}
    # the same values again change nothing and write no event
    _edit(desk, project)
    assert events(project, "edit").count() == 1


def test_a_bad_correction_changes_nothing(desk):
    project = desk.project("总部基地", [desk.firm("某总部有限公司")])
    before = AuditEvent.objects.count()
    for overrides, message in (({"firms": []}, "请选择投资企业"), ({"planned_investment": "-1"}, "计划投资不能为负数"),
                               ({"paid_in": "十万"}, "实际到位资金应为数字"), ({"leader": " "}, "请填写责任领导"),
                               ({"need": "parcel", "need_area": None}, "有载体需求时请填写需求面积")):
        with pytest.raises(ServiceError, match=message):
            _edit(desk, project, **overrides)
    project.refresh_from_db()
    assert (project.planned_investment, project.leader, project.need) == (Decimal("1000.00"), "王副区长", "none")
    assert AuditEvent.objects.count() == before


def test_a_correction_is_refused_outside_reach_and_to_the_supervisor(desk):
    from govdesk.core.errors import Forbidden, NotInReach
    from govdesk.core.testing import assert_write_refused
    firm = desk.firm("某总部有限公司")
    project = desk.project("总部基地", [firm])
    for actor, expect in ((desk.world.officer_a, NotInReach), (desk.member, NotInReach),
                          (desk.world.supervisor, Forbidden)):
        assert_write_refused(lambda actor=actor: services.project_update(
            actor=actor, project=project, firms=[firm], name="改名", industry=project.industry,
            planned_investment="1", paid_in="0", hq_group=project.hq_group, leader="某"), models=[Project],
            expect=expect)
    assert Project.objects.get().name == "总部基地"


def test_an_appeal_is_reassigned_with_a_reason_kept_in_its_history_and_the_todo_follows(desk):
    w = desk.world
    from govdesk.core.reach import Role
    finance_officer = w.person("finance_officer", Role.DEPARTMENT_OFFICER, desk.finance)
    appeal = desk.appeal(desk.firm("某制造有限公司"))
    with pytest.raises(ServiceError, match="请填写转办原因"):
        services.appeal_reassign(actor=w.dept_officer, appeal=appeal, owner_group=desk.group("财税组"), reason=" ")
    with pytest.raises(ServiceError, match="诉求已由「土地规划组」办理"):
        services.appeal_reassign(actor=w.dept_officer, appeal=appeal, owner_group=desk.group("土地规划组"),
                                 reason="重复")
    assert not appeal.reassignments.exists()
    services.appeal_reassign(actor=w.dept_officer, appeal=appeal, owner_group=desk.group("财税组"),
                             reason="实为融资问题", handler=finance_officer)
    appeal.refresh_from_db()
    assert (appeal.owner_group.name, appeal.handler, appeal.due_on) == ("财税组", finance_officer, date(2026, 11, 17))
    step = appeal.reassignments.get()
    assert (step.from_group.name, step.to_group.name, step.from_handler, step.to_handler, step.reason) == (
        "土地规划组", "财税组", w.dept_officer, finance_officer, "实为融资问题")
    todos = Todo.objects.filter(kind=services.TODO_APPEAL, source_id=str(appeal.pk))
    assert {(t.user.username, t.done_at is None) for t in todos} == {("dept", False), ("finance_officer", True)}
    event = events(appeal, "reassign").get()
    assert event.changes == {"reason": "实为融资问题", "owner_group": ["土地规划组", "财税组"],
                             "handler": ["dept", "finance_officer"]}


def test_a_resolved_appeal_is_not_reassigned_and_outsiders_cannot(desk):
    from govdesk.core.errors import Forbidden, NotInReach
    from govdesk.core.testing import assert_write_refused
    from govdesk.invest.models import Reassignment
    w = desk.world
    appeal = desk.appeal(desk.firm("某制造有限公司"))
    for actor, expect in ((w.officer_a, NotInReach), (w.supervisor, Forbidden)):
        assert_write_refused(lambda actor=actor: services.appeal_reassign(
            actor=actor, appeal=appeal, owner_group=desk.group("财税组"), reason="x"), models=[Reassignment],
            expect=expect)
    with pytest.raises(ServiceError, match="请选择本区的承办人"):
        services.appeal_reassign(actor=w.dept_officer, appeal=appeal, owner_group=desk.group("财税组"), reason="x",
                                 handler=w.outsider)
    services.appeal_resolve(actor=w.dept_officer, appeal=appeal, resolution="办结", resolved_on=date(2026, 11, 3))
    with pytest.raises(ServiceError, match="诉求已办结，不能转办"):
        services.appeal_reassign(actor=w.dept_officer, appeal=appeal, owner_group=desk.group("财税组"), reason="x")
    assert not Reassignment.objects.exists()


def test_the_dashboard_counts_firms_assessed_per_squad_and_month(desk):
    from govdesk.invest import charts
    today = date(2026, 11, 25)
    fit = Dimension.objects.get(code="fit")
    firms = [desk.firm(f"研判企业{i}有限公司") for i in range(3)]
    for firm, squad, met_on in ((firms[0], desk.yrd, date(2026, 10, 8)), (firms[1], desk.yrd, date(2026, 11, 3)),
                                (firms[2], desk.prd, date(2026, 11, 20)), (firms[2], desk.prd, date(2026, 11, 21))):
        services.assessment_record(actor=desk.world.dept_officer, firm=firm, met_on=met_on, conclusion="watch",
                                   priority=2, squad=squad, scores={fit.pk: (60, "依据")})
    figures = queries.dashboard(desk.world.dept_officer, today)
    counted = {(row["month"].strftime("%Y-%m"), row["squad__name"]): row["n"] for row in figures["assessed_by_squad"]}
    # a firm assessed twice in one month counts once
    assert counted == {("2026-10", "长三角小分队"): 1, ("2026-11", "长三角小分队"): 1, ("2026-11", "珠三角小分队"): 1}
    chart = charts.dashboard(figures)["assessed"]
    assert chart["xAxis"]["data"] == ["2026-10", "2026-11"]
    assert {s["name"]: s["data"] for s in chart["series"]} == {"长三角小分队": [1, 1], "珠三角小分队": [0, 1]}
    assert queries.dashboard(desk.world.officer_a, today)["assessed_by_squad"] == []


@pytest.mark.parametrize(("area", "message"), [("NaN", "面积应为数字"), ("Infinity", "面积应为数字"),
                                                ("1e9", "面积数值过大"), ("-3", "面积不能为负数")])
def test_an_area_that_is_no_number_or_does_not_fit_its_column_is_refused(desk, area, message):
    from govdesk.invest.models import Parcel
    with pytest.raises(ServiceError, match=message):
        parcel(desk.world.officer_a, desk.world.street_a, area=area)
    assert not Parcel.objects.exists()
