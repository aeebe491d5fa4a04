"""Investment promotion API: firms, assessments, activities, projects (and their corrections),
appeals (replies, reassignment, resolution, the firm's rating), the weekly meeting's tasks (交办,
销号), squads (creation, members, monthly meetings), carriers and the monthly carrier report, and
the pitch sheet (项目包装) as a PDF download. Handlers call the same
services and scoped queries as the pages; records out of reach answer 404, a role that may read
but not change answers 403."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from govdesk.core.errors import ServiceError
from govdesk.core.listing import keyset_page
from govdesk.core.models import OrgUnit
from govdesk.core.reach import VIEW, get_in_reach

from . import queries, services, sheets
from .models import (
    Appeal,
    Building,
    Firm,
    HqGroup,
    Industry,
    Meeting,
    Office,
    Parcel,
    Project,
    Squad,
    SquadMeeting,
    SquadMember,
    Task,
    Tier,
)

router = Router(tags=["invest"])


def _industry(code: str) -> Industry:
    obj = Industry.objects.filter(code=code).first()
    if obj is None:
        raise HttpError(400, f"产业代码「{code}」不存在")
    return obj


class TierIn(Schema):
    tier: str
    year: int


class ContactIn(Schema):
    name: str
    title: str = ""
    phone: str = ""


class FirmIn(Schema):
    unit_id: int
    name: str
    credit_code: str = ""
    industry: str
    region: str
    city: str = ""
    squad_id: int | None = None
    referred_by_id: int | None = None
    note: str = ""
    tiers: list[TierIn] = []
    contacts: list[ContactIn] = []


class TierOut(Schema):
    tier: str
    year: int

    @staticmethod
    def resolve_tier(obj):
        return obj.tier.code


class FirmOut(Schema):
    id: int
    name: str
    credit_code: str
    industry: str
    region: str
    city: str
    squad_id: int | None
    referred_by_id: int | None
    conclusion: str
    priority: int | None
    assessed_on: date | None
    created_at: datetime

    @staticmethod
    def resolve_industry(obj):
        return obj.industry.code


class FirmPage(Schema):
    items: list[FirmOut]
    next: str | None


class MergeIn(Schema):
    duplicate_id: int


class ScoreIn(Schema):
    dimension: str
    score: int | None = None
    evidence: str = ""


class AssessmentIn(Schema):
    met_on: date
    conclusion: str
    priority: int
    squad_id: int
    scores: list[ScoreIn]
    note: str = ""


class AssessmentOut(Schema):
    id: int
    firm_id: int
    met_on: date
    conclusion: str
    priority: int
    squad_id: int
    total: Decimal


class ActivityIn(Schema):
    kind: str
    happened_on: date
    participants: str
    summary: str
    place: str = ""
    squad_id: int | None = None


class ActivityOut(Schema):
    id: int
    firm_id: int
    squad_id: int | None
    kind: str
    happened_on: date
    participants: str
    place: str
    summary: str


class ProjectIn(Schema):
    unit_id: int
    name: str
    firm_ids: list[int]
    industry: str
    planned_investment: Decimal
    hq_group_id: int
    leader: str
    need: str = "none"
    need_area: Decimal | None = None
    need_use: str = ""


class ProjectOut(Schema):
    id: int
    name: str
    stage: str
    industry: str
    planned_investment: Decimal
    paid_in: Decimal
    hq_group: str
    leader: str
    moved_at: datetime
    stall: str
    firm_ids: list[int]

    @staticmethod
    def resolve_industry(obj):
        return obj.industry.code

    @staticmethod
    def resolve_hq_group(obj):
        return obj.hq_group.name

    @staticmethod
    def resolve_stall(obj):
        if hasattr(obj, "stall"):  # a list works it out once for all its rows (project_list)
            return obj.stall
        from django.utils import timezone
        return queries.stall_level(obj, timezone.localdate())

    @staticmethod
    def resolve_firm_ids(obj):
        return sorted(firm.pk for firm in obj.firms.all())


class ProjectPage(Schema):
    items: list[ProjectOut]
    next: str | None


class MoveIn(Schema):
    to_stage: str
    note: str = ""
    lost_reason: str = ""


class AppealIn(Schema):
    firm_id: int
    project_id: int | None = None
    category: str
    title: str
    detail: str
    urgency: str = "normal"
    owner_group_id: int
    handler_id: int
    received_on: date


class AppealOut(Schema):
    id: int
    firm_id: int
    project_id: int | None
    category: str
    title: str
    urgency: str
    owner_group_id: int
    handler_id: int
    received_on: date
    due_on: date
    status: str
    rating: int | None
    escalated_at: datetime | None


class ParcelOut(Schema):
    id: int
    org_unit_id: int
    name: str
    location: str
    area_mu: Decimal
    planned_use: str
    zoning: str
    status: str


class BuildingOut(Schema):
    id: int
    org_unit_id: int
    name: str
    address: str
    total_area: Decimal
    vacant_area: Decimal
    rent: Decimal
    owner: str
    main_tenants: str


def _next(page) -> str | None:
    return page.next_url or None


# --- firms -----------------------------------------------------------------------------------------

@router.get("/firms", response=FirmPage)
def firm_list(request, q: str = "", industry: str = "", tier: str = "", region: str = "", squad: str = "",
              conclusion: str = ""):
    qs = queries.firms_visible(request.user, search=q, industry=industry, tier=tier, region=region, squad=squad,
                               conclusion=conclusion).distinct()
    page = keyset_page(qs, request.GET, sorts={"name": "name", "created": "created_at"}, default="name")
    return {"items": page.rows, "next": _next(page)}


@router.post("/firms", response={201: FirmOut})
def firm_create(request, payload: FirmIn):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=payload.unit_id)
    tiers = []
    for item in payload.tiers:
        tier = Tier.objects.filter(code=item.tier).first()
        if tier is None:
            raise HttpError(400, f"榜单「{item.tier}」不存在")
        tiers.append((tier, item.year))
    firm = services.firm_create(
        actor=request.user, unit=unit, name=payload.name, credit_code=payload.credit_code,
        industry=_industry(payload.industry), region=payload.region, city=payload.city, note=payload.note,
        squad=get_in_reach(Squad, request.user, VIEW, pk=payload.squad_id) if payload.squad_id else None,
        referred_by=get_in_reach(Firm, request.user, VIEW, pk=payload.referred_by_id) if payload.referred_by_id
        else None, tiers=tiers, contacts=[(c.name, c.title, c.phone) for c in payload.contacts])
    return Status(201, firm)


@router.get("/firms/{firm_id}", response=FirmOut)
def firm_detail(request, firm_id: int):
    return get_in_reach(Firm.objects.select_related("industry"), request.user, VIEW, pk=firm_id)


@router.post("/firms/{firm_id}/merge", response=FirmOut)
def firm_merge(request, firm_id: int, payload: MergeIn):
    survivor = get_in_reach(Firm, request.user, VIEW, pk=firm_id)
    duplicate = get_in_reach(Firm, request.user, VIEW, pk=payload.duplicate_id)
    return services.firm_merge(actor=request.user, survivor=survivor, duplicate=duplicate)


@router.post("/firms/{firm_id}/assessments", response={201: AssessmentOut})
def assessment_create(request, firm_id: int, payload: AssessmentIn):
    from .models import Dimension
    firm = get_in_reach(Firm, request.user, VIEW, pk=firm_id)
    dims = {d.code: d.pk for d in Dimension.objects.filter(active=True)}
    unknown = [s.dimension for s in payload.scores if s.dimension not in dims]
    if unknown:
        raise HttpError(400, f"研判维度「{unknown[0]}」不存在")
    assessment = services.assessment_record(
        actor=request.user, firm=firm, met_on=payload.met_on, conclusion=payload.conclusion,
        priority=payload.priority, squad=get_in_reach(Squad, request.user, VIEW, pk=payload.squad_id),
        scores={dims[s.dimension]: (s.score, s.evidence) for s in payload.scores}, note=payload.note)
    return Status(201, assessment)


@router.get("/firms/{firm_id}/activities", response=list[ActivityOut])
def activity_list(request, firm_id: int):
    from .models import Activity
    firm = get_in_reach(Firm, request.user, VIEW, pk=firm_id)
    return list(Activity.objects.restrict(request.user, VIEW).filter(firm=firm)[:500])


@router.post("/firms/{firm_id}/activities", response={201: ActivityOut})
def activity_create(request, firm_id: int, payload: ActivityIn):
    firm = get_in_reach(Firm, request.user, VIEW, pk=firm_id)
    squad = get_in_reach(Squad, request.user, VIEW, pk=payload.squad_id) if payload.squad_id else None
    activity = services.activity_record(actor=request.user, firm=firm, kind=payload.kind,
                                        happened_on=payload.happened_on, participants=payload.participants,
                                        summary=payload.summary, place=payload.place, squad=squad)
    return Status(201, activity)


# --- projects ------------------------------------------------------------------------------------------

@router.get("/projects", response=ProjectPage)
def project_list(request, q: str = "", stage: str = "", industry: str = "", hq_group: str = "", stall: str = ""):
    qs = queries.projects_visible(request.user, search=q, stage=stage, industry=industry, hq_group=hq_group,
                                  stall=stall)
    page = keyset_page(qs.prefetch_related("firms"), request.GET, sorts={"moved": "moved_at", "name": "name"},
                       default="moved")
    from django.utils import timezone
    today, office = timezone.localdate(), Office.current()
    for project in page.rows:
        project.stall = queries.stall_level(project, today, office)
    return {"items": page.rows, "next": _next(page)}


@router.post("/projects", response={201: ProjectOut})
def project_create(request, payload: ProjectIn):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=payload.unit_id)
    firms = [get_in_reach(Firm, request.user, VIEW, pk=pk) for pk in payload.firm_ids]
    group = HqGroup.objects.filter(pk=payload.hq_group_id).first()
    if group is None:
        raise HttpError(400, "责任工作组不存在")
    project = services.project_create(
        actor=request.user, unit=unit, firms=firms, name=payload.name, industry=_industry(payload.industry),
        planned_investment=payload.planned_investment, hq_group=group, leader=payload.leader, need=payload.need,
        need_area=payload.need_area, need_use=payload.need_use)
    return Status(201, project)


@router.get("/projects/{project_id}", response=ProjectOut)
def project_detail(request, project_id: int):
    return get_in_reach(Project.objects.select_related("industry", "hq_group"), request.user, VIEW, pk=project_id)


@router.post("/projects/{project_id}/move", response=ProjectOut)
def project_move(request, project_id: int, payload: MoveIn):
    project = get_in_reach(Project, request.user, VIEW, pk=project_id)
    return services.project_move(actor=request.user, project=project, to_stage=payload.to_stage, note=payload.note,
                                 lost_reason=payload.lost_reason)


# --- appeals ---------------------------------------------------------------------------------------------

@router.get("/appeals", response=list[AppealOut])
def appeal_list(request, status: str = "open", category: str = "", overdue: bool = False):
    from django.utils import timezone
    today = timezone.localdate()
    qs = queries.appeals_visible(request.user, status=status, category=category, overdue=overdue, today=today)
    return list(qs.order_by("due_on", "id")[:500])


@router.post("/appeals", response={201: AppealOut})
def appeal_create(request, payload: AppealIn):
    firm = get_in_reach(Firm, request.user, VIEW, pk=payload.firm_id)
    project = get_in_reach(Project, request.user, VIEW, pk=payload.project_id) if payload.project_id else None
    group = HqGroup.objects.filter(pk=payload.owner_group_id).first()
    handler = services.assignable_users(firm.org_unit).filter(pk=payload.handler_id).first()
    if group is None:
        raise HttpError(400, "责任工作组不存在")
    # an unknown or out-of-district handler reaches the service as None and is refused there
    appeal = services.appeal_create(
        actor=request.user, firm=firm, project=project, category=payload.category, title=payload.title,
        detail=payload.detail, urgency=payload.urgency, owner_group=group, handler=handler,
        received_on=payload.received_on)
    return Status(201, appeal)


# --- carriers ----------------------------------------------------------------------------------------------

@router.get("/parcels", response=list[ParcelOut])
def parcel_list(request, unit: str = "", status: str = "", use: str = ""):
    return list(queries.parcels_visible(request.user, unit=unit, status=status, use=use).order_by("id")[:1000])


@router.get("/buildings", response=list[BuildingOut])
def building_list(request, unit: str = "", vacant: bool = False):
    return list(queries.buildings_visible(request.user, unit=unit, vacant=vacant).order_by("id")[:1000])


# --- writes beside the pages: project corrections, appeal reassignment ---------------------------------------

class ProjectUpdateIn(Schema):
    name: str
    firm_ids: list[int]
    industry: str
    planned_investment: Decimal
    paid_in: Decimal | None = None
    hq_group_id: int
    leader: str
    need: str = "none"
    need_area: Decimal | None = None
    need_use: str = ""


def _group(pk: int) -> HqGroup:
    group = HqGroup.objects.filter(pk=pk).first()
    if group is None:
        raise HttpError(400, "责任工作组不存在")
    return group


@router.put("/projects/{project_id}", response=ProjectOut)
def project_update(request, project_id: int, payload: ProjectUpdateIn):
    project = get_in_reach(Project, request.user, VIEW, pk=project_id)
    firms = [get_in_reach(Firm, request.user, VIEW, pk=pk) for pk in payload.firm_ids]
    return services.project_update(
        actor=request.user, project=project, firms=firms, name=payload.name, industry=_industry(payload.industry),
        planned_investment=payload.planned_investment, paid_in=payload.paid_in, hq_group=_group(payload.hq_group_id),
        leader=payload.leader, need=payload.need, need_area=payload.need_area, need_use=payload.need_use)


class ReassignIn(Schema):
    owner_group_id: int
    reason: str
    handler_id: int | None = None


@router.post("/appeals/{appeal_id}/reassign", response=AppealOut)
def appeal_reassign(request, appeal_id: int, payload: ReassignIn):
    appeal = get_in_reach(Appeal, request.user, VIEW, pk=appeal_id)
    handler = None
    if payload.handler_id is not None:
        handler = services.assignable_users(appeal.org_unit).filter(pk=payload.handler_id).first()
        if handler is None:
            raise ServiceError("请选择本区的承办人", fields={"handler": "请选择本区的承办人"})
    return services.appeal_reassign(actor=request.user, appeal=appeal, owner_group=_group(payload.owner_group_id),
                                    reason=payload.reason, handler=handler)


class ReplyIn(Schema):
    text: str


class ResolveIn(Schema):
    resolution: str
    resolved_on: date | None = None


class RateIn(Schema):
    rating: int


@router.post("/appeals/{appeal_id}/replies", response=AppealOut)
def appeal_reply(request, appeal_id: int, payload: ReplyIn):
    appeal = get_in_reach(Appeal, request.user, VIEW, pk=appeal_id)
    services.appeal_reply(actor=request.user, appeal=appeal, text=payload.text)
    return get_in_reach(Appeal, request.user, VIEW, pk=appeal_id)


@router.post("/appeals/{appeal_id}/resolve", response=AppealOut)
def appeal_resolve(request, appeal_id: int, payload: ResolveIn):
    appeal = get_in_reach(Appeal, request.user, VIEW, pk=appeal_id)
    return services.appeal_resolve(actor=request.user, appeal=appeal, resolution=payload.resolution,
                                   resolved_on=payload.resolved_on)


@router.post("/appeals/{appeal_id}/rating", response=AppealOut)
def appeal_rate(request, appeal_id: int, payload: RateIn):
    appeal = get_in_reach(Appeal, request.user, VIEW, pk=appeal_id)
    return services.appeal_rate(actor=request.user, appeal=appeal, rating=payload.rating)


# --- the weekly meeting: meetings, assigned tasks (交办) and their close-out (销号) ---------------------------

class MeetingIn(Schema):
    unit_id: int
    held_on: date
    title: str = ""
    chair: str = ""


class MeetingOut(Schema):
    id: int
    org_unit_id: int
    held_on: date
    title: str
    chair: str
    minutes: str


class MinutesIn(Schema):
    minutes: str


class TaskIn(Schema):
    text: str
    owner_id: int
    due_on: date
    project_id: int | None = None
    appeal_id: int | None = None


class TaskOut(Schema):
    id: int
    meeting_id: int
    text: str
    owner_id: int
    due_on: date
    project_id: int | None
    appeal_id: int | None
    closed_in_id: int | None
    closed_at: datetime | None
    close_note: str


class TaskCloseIn(Schema):
    meeting_id: int
    note: str = ""


class AgendaOut(Schema):
    projects: list[ProjectOut]
    appeals: list[AppealOut]
    tasks: list[TaskOut]


@router.get("/meetings", response=list[MeetingOut])
def meeting_list(request):
    return list(Meeting.objects.restrict(request.user, VIEW).order_by("-held_on", "-id")[:100])


@router.post("/meetings", response={201: MeetingOut})
def meeting_create(request, payload: MeetingIn):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=payload.unit_id)
    meeting = services.meeting_create(actor=request.user, unit=unit, held_on=payload.held_on, title=payload.title,
                                      chair=payload.chair)
    return Status(201, meeting)


@router.get("/meetings/{meeting_id}", response=MeetingOut)
def meeting_detail(request, meeting_id: int):
    return get_in_reach(Meeting, request.user, VIEW, pk=meeting_id)


@router.get("/meetings/{meeting_id}/agenda", response=AgendaOut)
def meeting_agenda(request, meeting_id: int):
    """Stalled projects, open appeals (overdue first) and the tasks of earlier meetings still open."""
    meeting = get_in_reach(Meeting, request.user, VIEW, pk=meeting_id)
    return queries.agenda(request.user, meeting)


@router.put("/meetings/{meeting_id}/minutes", response=MeetingOut)
def meeting_minutes(request, meeting_id: int, payload: MinutesIn):
    meeting = get_in_reach(Meeting, request.user, VIEW, pk=meeting_id)
    return services.meeting_minutes(actor=request.user, meeting=meeting, minutes=payload.minutes)


@router.get("/tasks", response=list[TaskOut])
def task_list(request, meeting_id: int | None = None, owner_id: int | None = None, open: bool = False):
    qs = Task.objects.restrict(request.user, VIEW)
    if meeting_id is not None:
        qs = qs.filter(meeting_id=meeting_id)
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    if open:
        qs = qs.filter(closed_at=None)
    return list(qs.order_by("due_on", "id")[:500])


@router.post("/meetings/{meeting_id}/tasks", response={201: TaskOut})
def task_assign(request, meeting_id: int, payload: TaskIn):
    meeting = get_in_reach(Meeting, request.user, VIEW, pk=meeting_id)
    project = get_in_reach(Project, request.user, VIEW, pk=payload.project_id) if payload.project_id else None
    appeal = get_in_reach(Appeal, request.user, VIEW, pk=payload.appeal_id) if payload.appeal_id else None
    # an owner outside the district reaches the service as None and is refused there
    owner = services.assignable_users(meeting.org_unit).filter(pk=payload.owner_id).first()
    task = services.task_assign(actor=request.user, meeting=meeting, text=payload.text, owner=owner,
                                due_on_date=payload.due_on, project=project, appeal=appeal)
    return Status(201, task)


@router.post("/tasks/{task_id}/close", response=TaskOut)
def task_close(request, task_id: int, payload: TaskCloseIn):
    task = get_in_reach(Task.objects.select_related("meeting"), request.user, VIEW, pk=task_id)
    meeting = get_in_reach(Meeting, request.user, VIEW, pk=payload.meeting_id)
    return services.task_close(actor=request.user, task=task, meeting=meeting, note=payload.note)


# --- squads and their members ---------------------------------------------------------------------------------

class MemberOut(Schema):
    user_id: int
    username: str
    is_leader: bool

    @staticmethod
    def resolve_username(obj):
        return obj.user.username


class SquadOut(Schema):
    id: int
    name: str
    region: str
    members: list[MemberOut]

    @staticmethod
    def resolve_members(obj):
        return list(obj.members.select_related("user").order_by("-is_leader", "id"))


class MemberIn(Schema):
    user_id: int
    is_leader: bool = False


@router.get("/squads", response=list[SquadOut])
def squad_list(request):
    return list(queries.squads_visible(request.user).order_by("id"))


class SquadIn(Schema):
    unit_id: int
    name: str
    region: str


@router.post("/squads", response={201: SquadOut})
def squad_create(request, payload: SquadIn):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=payload.unit_id)
    squad = services.squad_create(actor=request.user, unit=unit, name=payload.name, region=payload.region)
    return Status(201, squad)


@router.get("/squads/{squad_id}", response=SquadOut)
def squad_detail(request, squad_id: int):
    return get_in_reach(Squad, request.user, VIEW, pk=squad_id)


@router.post("/squads/{squad_id}/members", response=SquadOut)
def squad_member_add(request, squad_id: int, payload: MemberIn):
    squad = get_in_reach(Squad, request.user, VIEW, pk=squad_id)
    user = services.assignable_users(squad.org_unit).filter(pk=payload.user_id).first()
    if user is None:
        raise ServiceError("请选择本区的工作人员", fields={"user_id": "没有这个人或不在本区"})
    services.squad_member_add(actor=request.user, squad=squad, user=user, is_leader=payload.is_leader)
    return squad


@router.delete("/squads/{squad_id}/members/{user_id}", response={204: None})
def squad_member_remove(request, squad_id: int, user_id: int):
    squad = get_in_reach(Squad, request.user, VIEW, pk=squad_id)
    member = SquadMember.objects.filter(squad=squad, user_id=user_id).select_related("user", "squad").first()
    if member is None:
        raise ServiceError("该人员不在这支小分队中", code="not_member")
    services.squad_member_remove(actor=request.user, member=member)
    return Status(204, None)


class SquadMeetingIn(Schema):
    held_on: date
    minutes: str
    decisions: str = ""


class SquadMeetingOut(Schema):
    id: int
    squad_id: int
    held_on: date
    minutes: str
    decisions: str
    created_by_id: int
    created_at: datetime


@router.get("/squads/{squad_id}/meetings", response=list[SquadMeetingOut])
def squad_meeting_list(request, squad_id: int):
    """The squad's monthly meetings, newest first."""
    squad = get_in_reach(Squad, request.user, VIEW, pk=squad_id)
    return list(SquadMeeting.objects.restrict(request.user, VIEW).filter(squad=squad)[:200])


@router.post("/squads/{squad_id}/meetings", response={201: SquadMeetingOut})
def squad_meeting_record(request, squad_id: int, payload: SquadMeetingIn):
    """Minutes and decisions of a squad's monthly meeting (the bureau or the squad's own members)."""
    squad = get_in_reach(Squad, request.user, VIEW, pk=squad_id)
    meeting = services.squad_meeting_record(actor=request.user, squad=squad, held_on=payload.held_on,
                                            minutes=payload.minutes, decisions=payload.decisions)
    return Status(201, meeting)


# --- carriers and the monthly carrier report ----------------------------------------------------------------------

class ParcelIn(Schema):
    unit_id: int | None = None  # a new parcel's reporting unit; a change keeps the unit
    name: str
    location: str
    area_mu: Decimal
    planned_use: str
    zoning: str = ""
    status: str = "idle"
    direction: str = ""


class BuildingIn(Schema):
    unit_id: int | None = None
    name: str
    address: str
    total_area: Decimal
    vacant_area: Decimal
    rent: Decimal
    owner: str
    main_tenants: str = ""
    direction: str = ""


def _reporting_unit(request, unit_id: int | None) -> OrgUnit:
    if unit_id is None:
        raise ServiceError("请填写报送单位", fields={"unit_id": "请填写报送单位"})
    return get_in_reach(OrgUnit, request.user, VIEW, pk=unit_id)


@router.post("/parcels", response={201: ParcelOut})
def parcel_create(request, payload: ParcelIn):
    data = payload.dict(exclude={"unit_id"})
    parcel = services.parcel_save(actor=request.user, unit=_reporting_unit(request, payload.unit_id), **data)
    return Status(201, parcel)


@router.put("/parcels/{parcel_id}", response=ParcelOut)
def parcel_update(request, parcel_id: int, payload: ParcelIn):
    parcel = get_in_reach(Parcel, request.user, VIEW, pk=parcel_id)
    return services.parcel_save(actor=request.user, parcel=parcel, **payload.dict(exclude={"unit_id"}))


@router.post("/buildings", response={201: BuildingOut})
def building_create(request, payload: BuildingIn):
    data = payload.dict(exclude={"unit_id"})
    building = services.building_save(actor=request.user, unit=_reporting_unit(request, payload.unit_id), **data)
    return Status(201, building)


@router.put("/buildings/{building_id}", response=BuildingOut)
def building_update(request, building_id: int, payload: BuildingIn):
    building = get_in_reach(Building, request.user, VIEW, pk=building_id)
    return services.building_save(actor=request.user, building=building, **payload.dict(exclude={"unit_id"}))


class ReportIn(Schema):
    unit_id: int
    month: date


class ReportOut(Schema):
    id: int
    org_unit_id: int
    period_start: date
    submitted_by_id: int
    submitted_at: datetime
    data: dict


class ReportStatusOut(Schema):
    unit_id: int
    unit: str
    reported: bool
    submitted_at: datetime | None


@router.post("/carrier-reports", response={201: ReportOut})
def carrier_report_submit(request, payload: ReportIn):
    """File the unit's parcels and buildings as they now stand as its report for the month."""
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=payload.unit_id)
    return Status(201, services.carrier_report_submit(actor=request.user, unit=unit, month=payload.month))


@router.get("/carrier-reports", response=list[ReportStatusOut])
def carrier_report_status(request, month: date | None = None):
    """Who has (not) reported for the month (default: this month) — the lead unit sees the whole district."""
    from django.utils import timezone
    month = (month or timezone.localdate()).replace(day=1)
    return [{"unit_id": unit.pk, "unit": unit.name, "reported": report is not None,
             "submitted_at": report.submitted_at if report else None}
            for unit, report in queries.report_completeness(request.user, month)]


@router.get("/carrier-reports/{unit_id}", response=dict)
def carrier_report_diff(request, unit_id: int, month: date | None = None):
    """A unit's report for the month and what changed since the month before."""
    from django.utils import timezone
    unit = queries.carrier_unit(request.user, unit_id)
    month = (month or timezone.localdate()).replace(day=1)
    diff = queries.report_diff(request.user, unit, month)
    if diff is None:
        raise ServiceError(f"{unit.name}尚未上报 {month:%Y年%m月} 的载体情况", code="not_reported")
    previous = diff.pop("previous")
    return {"unit_id": unit.pk, "month": month, "previous_month": previous.period_start if previous else None,
            "parcels": diff["parcels"], "buildings": diff["buildings"]}


# --- the pitch sheet (项目包装) as a PDF --------------------------------------------------------------------

class NoFont(ServiceError):
    """The server has no Chinese font: the PDF cannot be drawn until one is installed."""

    status = 503
    code = "no_font"


PDF_RESPONSE = {200: {"description": "项目包装 PDF", "content": {"application/pdf": {
    "schema": {"type": "string", "format": "binary"}}}}}


@router.get("/pitch/{kind}/{pk}/pdf", openapi_extra={"responses": PDF_RESPONSE})
def pitch_pdf(request, kind: str, pk: int, download: bool = True):
    """The pitch sheet of a parcel, a building or a project (``kind``) as a PDF; 404 outside reach,
    503 ``no_font`` when the server has no Chinese font."""
    from django.utils import timezone
    context = queries.pitch_context(request.user, kind, pk)
    office = context["office"]
    try:
        data = sheets.render(sheets.sheet_for(context), upload_root=services.upload_root(),
                             issuer=office.lead_unit.name if office.lead_unit_id else "", today=timezone.localdate())
    except sheets.NoCjkFont as e:
        raise NoFont(str(e)) from None
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(download, f"项目包装-{context['obj'].name}.pdf")
    return response
