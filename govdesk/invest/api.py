"""Investment promotion API: firms, assessments, activities, projects, appeals, carriers.
Handlers call the same services and scoped queries as the pages."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ninja import Router, Schema, Status
from ninja.errors import HttpError

from govdesk.core.listing import keyset_page
from govdesk.core.models import OrgUnit
from govdesk.core.reach import VIEW, get_in_reach

from . import queries, services
from .models import Appeal, Firm, HqGroup, Industry, Project, Squad, Tier

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
        from django.utils import timezone
        return queries.stall_level(obj, timezone.localdate())

    @staticmethod
    def resolve_firm_ids(obj):
        return sorted(obj.firms.values_list("id", flat=True))


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
    page = keyset_page(qs, request.GET, sorts={"moved": "moved_at", "name": "name"}, default="moved")
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
    services.appeals_escalate(today=today, appeals=Appeal.objects.restrict(request.user, VIEW))
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
