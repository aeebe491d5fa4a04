"""Scoped reads of investment promotion: every query starts from ``restrict``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from govdesk.core import personal
from govdesk.core import queries as core_queries
from govdesk.core.errors import NotInReach
from govdesk.core.models import OrgUnit, PeriodicReport
from govdesk.core.periods import day_start
from govdesk.core.reach import OFFICERS, READ_ONLY_ROLES, VIEW, get_in_reach, memberships_of, paths_for

from .models import (
    Activity,
    Appeal,
    Assessment,
    Building,
    Drawing,
    Firm,
    Meeting,
    Office,
    Parcel,
    Project,
    Squad,
    Task,
    Use,
    parent_path,
)
from .services import BUILDING_FIELDS, PARCEL_FIELDS, carrier_report_kind, name_key, overdue_q

# --- firms ------------------------------------------------------------------------------------------

def firms_visible(user, *, search: str = "", industry: str = "", tier: str = "", region: str = "",
                  squad: str = "", conclusion: str = "", system: str = ""):
    qs = Firm.objects.restrict(user, VIEW)
    search = (search or "").strip()
    if search:
        folded = personal.fold(search).upper()
        qs = qs.filter(Q(name__icontains=search) | Q(name_key__contains=name_key(search)) | Q(credit_code=folded))
    if industry:
        qs = qs.filter(industry__code=industry)
    if system:
        qs = qs.filter(industry__system=system)
    if tier:
        qs = qs.filter(tiers__tier__code=tier)
    if region:
        qs = qs.filter(region=region)
    if squad:
        qs = qs.filter(squad_id=squad) if str(squad).isdigit() else qs.none()
    if conclusion == "assessed":
        qs = qs.exclude(conclusion="")
    elif conclusion:
        qs = qs.filter(conclusion=conclusion)
    return qs.select_related("industry", "squad")


@dataclass
class HistoryItem:
    on: date
    kind: str
    title: str
    detail: str
    url: str = ""


def firm_history(user, firm: Firm) -> list[HistoryItem]:
    """Everything that happened with a firm, newest first: activities, assessments, projects, appeals."""
    items = []
    for a in Activity.objects.restrict(user, VIEW).filter(firm=firm).select_related("squad"):
        items.append(HistoryItem(a.happened_on, a.get_kind_display(), f"{a.participants}"
                                 + (f"（{a.squad.name}）" if a.squad else ""), a.summary))
    for s in Assessment.objects.restrict(user, VIEW).filter(firm=firm).select_related("squad"):
        items.append(HistoryItem(s.met_on, "研判", f"{s.get_conclusion_display()} · 优先级 {s.priority} · "
                                 f"{s.squad.name} · 得分 {s.total}", s.note, f"/invest/assessments/{s.pk}/"))
    for p in Project.objects.restrict(user, VIEW).filter(firms=firm):
        items.append(HistoryItem(timezone.localdate(p.created_at), "项目", f"{p.name}（{p.get_stage_display()}）",
                                 f"计划投资 {p.planned_investment} 万元", f"/invest/projects/{p.pk}/"))
    for ap in Appeal.objects.restrict(user, VIEW).filter(firm=firm):
        items.append(HistoryItem(ap.received_on, "诉求", f"{ap.get_category_display()}：{ap.title}",
                                 ap.get_status_display(), f"/invest/appeals/{ap.pk}/"))
    items.sort(key=lambda i: i.on, reverse=True)
    return items


def squads_visible(user):
    return Squad.objects.restrict(user, VIEW)


# --- projects ------------------------------------------------------------------------------------------

GREEN, AMBER, RED = "green", "amber", "red"


def idle_days(project: Project, today: date) -> int:
    return (today - timezone.localdate(project.moved_at)).days


def stall_level(project: Project, today: date, office: Office | None = None) -> str:
    """green, amber or red by the days since the project last moved ('' for finished projects)."""
    if project.stage in Project.CLOCKLESS:
        return ""
    office = office or Office.current()
    days = idle_days(project, today)
    if days >= office.stall_red_days:
        return RED
    if days >= office.stall_amber_days:
        return AMBER
    return GREEN


def stalled_q(today: date, days: int) -> Q:
    """Active projects idle for at least ``days`` whole local days."""
    return Q(moved_at__lt=day_start(today - timedelta(days=days - 1))) & ~Q(stage__in=Project.CLOCKLESS)


def projects_visible(user, *, search: str = "", stage: str = "", industry: str = "", hq_group: str = "",
                     stall: str = "", today: date | None = None):
    qs = Project.objects.restrict(user, VIEW)
    if search:
        qs = qs.filter(Q(name__icontains=search.strip()) | Q(firms__name__icontains=search.strip())).distinct()
    if stage:
        qs = qs.filter(stage=stage)
    if industry:
        qs = qs.filter(industry__code=industry)
    if hq_group:
        qs = qs.filter(hq_group_id=hq_group) if str(hq_group).isdigit() else qs.none()
    if stall:
        today = today or timezone.localdate()
        office = Office.current()
        if stall == AMBER:
            qs = qs.filter(stalled_q(today, office.stall_amber_days)).exclude(stalled_q(today, office.stall_red_days))
        elif stall == RED:
            qs = qs.filter(stalled_q(today, office.stall_red_days))
        elif stall == "stalled":
            qs = qs.filter(stalled_q(today, office.stall_amber_days))
    return qs.select_related("industry", "hq_group")


def stage_totals(qs) -> list[dict]:
    """Count, planned and paid-in investment per stage, in pipeline order (lost last)."""
    rows = {r["stage"]: r for r in qs.order_by().values("stage").annotate(
        n=Count("id", distinct=True), planned=Sum("planned_investment"), paid=Sum("paid_in"))}
    out = []
    for stage in [*Project.PIPELINE, Project.Stage.LOST]:
        r = rows.get(stage, {})
        out.append({"stage": stage, "label": Project.Stage(stage).label, "n": r.get("n", 0),
                    "planned": r.get("planned") or Decimal("0"), "paid": r.get("paid") or Decimal("0")})
    return out


def kanban(qs, today: date, per_stage: int = 30) -> list[dict]:
    office = Office.current()
    columns = []
    for total in stage_totals(qs):
        cards = list(qs.filter(stage=total["stage"]).order_by("moved_at", "id")[:per_stage])
        for card in cards:
            card.stall = stall_level(card, today, office)
            card.idle = idle_days(card, today)
        columns.append({**total, "cards": cards})
    return columns


# --- carriers ---------------------------------------------------------------------------------------------

def is_lead_officer(user) -> bool:
    lead = Office.objects.filter(pk=1).values_list("lead_unit__path", flat=True).first()
    return bool(lead) and any(role in (OFFICERS | READ_ONLY_ROLES) and lead.startswith(path)
                              for role, path in memberships_of(user))


def parcels_visible(user, *, unit: str = "", status: str = "", use: str = ""):
    qs = Parcel.objects.restrict(user, VIEW).select_related("org_unit")
    if unit:
        qs = qs.filter(org_unit_id=unit) if str(unit).isdigit() else qs.none()
    if status:
        qs = qs.filter(status=status)
    if use:
        qs = qs.filter(planned_use=use)
    return qs


def buildings_visible(user, *, unit: str = "", vacant: bool = False):
    qs = Building.objects.restrict(user, VIEW).select_related("org_unit")
    if unit:
        qs = qs.filter(org_unit_id=unit) if str(unit).isdigit() else qs.none()
    if vacant:
        qs = qs.filter(vacant_area__gt=0)
    return qs


def carrier_matches(user, project: Project) -> dict:
    """Carriers that fit a project's need: idle parcels of at least the area with a fitting use,
    or buildings with at least that much vacant floor area, smallest (cheapest) first."""
    result = {"parcels": [], "buildings": []}
    if project.need == Project.Need.PARCEL and project.need_area:
        qs = Parcel.objects.restrict(user, VIEW).filter(status=Parcel.Status.IDLE, area_mu__gte=project.need_area)
        if project.need_use:
            qs = qs.filter(planned_use__in=[project.need_use, Use.MIXED])
        result["parcels"] = list(qs.select_related("org_unit").order_by("area_mu", "id")[:20])
    elif project.need == Project.Need.BUILDING and project.need_area:
        qs = Building.objects.restrict(user, VIEW).filter(vacant_area__gte=project.need_area)
        result["buildings"] = list(qs.select_related("org_unit").order_by("rent", "id")[:20])
    return result


def pitch_context(user, kind: str, pk) -> dict:
    """What the pitch sheet (项目包装) of a parcel, a building or a project shows, read within reach
    (the printable page, its PDF and the API's PDF): 404 for an unknown kind or a record out of reach."""
    models_by_kind = {"parcel": Parcel, "building": Building, "project": Project}
    if kind not in models_by_kind:
        raise NotInReach()
    obj = get_in_reach(models_by_kind[kind].objects.select_related("org_unit"), user, VIEW, pk=pk)
    context = {"kind": kind, "obj": obj, "office": Office.current()}
    drawings = Drawing.objects.restrict(user, VIEW)
    if kind == "parcel":
        context["drawings"] = list(drawings.filter(parcel=obj))
    elif kind == "project":
        context["matches"] = carrier_matches(user, obj)
        context["firms"] = Firm.objects.restrict(user, VIEW).filter(projects=obj)
        # the parcels the project needs carry their drawings onto its sheet
        by_parcel: dict[int, list] = {}
        for d in drawings.filter(parcel__in=[p.pk for p in context["matches"]["parcels"]]):
            by_parcel.setdefault(d.parcel_id, []).append(d)
        for p in context["matches"]["parcels"]:
            p.drawing_list = by_parcel.get(p.pk, [])
    return context


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def _diff_rows(before: list[dict], after: list[dict], fields, labels: dict) -> dict:
    old = {row["id"]: row for row in before}
    new = {row["id"]: row for row in after}
    changed = []
    for pk in sorted(set(old) & set(new)):
        delta = {f: [old[pk].get(f), new[pk].get(f)] for f in fields if old[pk].get(f) != new[pk].get(f)}
        if delta:
            changed.append({"id": pk, "name": new[pk]["name"], "changes": delta})
    for row in changed:  # for people: the field's Chinese name (the data keeps the codes)
        row["described"] = [(labels.get(f, f), a, b) for f, (a, b) in row["changes"].items()]
    return {
        "added": [new[pk] for pk in sorted(set(new) - set(old))],
        "removed": [old[pk] for pk in sorted(set(old) - set(new))],
        "changed": changed,
    }


def _labels(model) -> dict:
    return {f.name: str(f.verbose_name) for f in model._meta.fields}


def report_of(user, unit: OrgUnit, month: date) -> PeriodicReport | None:
    return PeriodicReport.objects.restrict(user, VIEW).filter(
        kind=carrier_report_kind(), org_unit=unit, period_start=month.replace(day=1)).first() or (
        _lead_reports(user).filter(org_unit=unit, period_start=month.replace(day=1)).first())


def _lead_reports(user):
    """The carrier reports the lead unit's officers read across the district (the carrier reach rule;
    core's report scoping knows only the subtree rule)."""
    if not is_lead_officer(user):
        return PeriodicReport.objects.none()
    lead = Office.current().lead_unit
    district = parent_path(lead.path)
    return PeriodicReport.objects.filter(kind=carrier_report_kind(), org_unit__path__startswith=district)


def carrier_unit(user, pk) -> OrgUnit:
    """A reporting unit whose carrier reports the user may read (404 otherwise)."""
    if is_lead_officer(user):
        lead = Office.current().lead_unit
        district = parent_path(lead.path)
        unit = OrgUnit.objects.filter(pk=pk, path__startswith=district).first() if str(pk).isdigit() else None
        if unit is None:
            raise NotInReach()
        return unit
    unit = get_in_reach(OrgUnit, user, VIEW, pk=pk)
    if not any(unit.path.startswith(p) for p in paths_for(user, OFFICERS | READ_ONLY_ROLES)):
        raise NotInReach()
    return unit


def report_diff(user, unit: OrgUnit, month: date) -> dict | None:
    """What changed in a unit's carriers between last month's report and this month's (None when
    this month has not been reported)."""
    current = report_of(user, unit, month)
    if current is None:
        return None
    previous = report_of(user, unit, previous_month(month))
    before = previous.data if previous else {"parcels": [], "buildings": []}
    return {
        "previous": previous,
        "parcels": _diff_rows(before.get("parcels", []), current.data.get("parcels", []), PARCEL_FIELDS,
                              _labels(Parcel)),
        "buildings": _diff_rows(before.get("buildings", []), current.data.get("buildings", []), BUILDING_FIELDS,
                                _labels(Building)),
    }


def report_completeness(user, month: date) -> list[tuple[OrgUnit, PeriodicReport | None]]:
    """Who has (not) reported carriers for the month. The lead unit's officers see the whole district."""
    kind = carrier_report_kind()
    month = month.replace(day=1)
    if not is_lead_officer(user):
        return core_queries.report_completeness(user, kind, month)
    lead = Office.current().lead_unit
    district = parent_path(lead.path)
    units = OrgUnit.objects.filter(path__startswith=district, kind__in=kind.unit_kinds, retired_at__isnull=True)
    reports = {r.org_unit_id: r for r in _lead_reports(user).filter(period_start=month).select_related("submitted_by")}
    return [(unit, reports.get(unit.pk)) for unit in units.order_by("path")]


def writable_units(user, roles, kinds) -> list[OrgUnit]:
    """Units of ``kinds`` where the user holds one of ``roles`` (to report for, to create records in)."""
    roots = paths_for(user, roles)
    units = core_queries.units_for_choice(user, VIEW, kinds=kinds)
    return [u for u in units if any(u.path.startswith(r) for r in roots)]


def reporting_units(user) -> list[OrgUnit]:
    from .services import CARRIER_WRITERS
    return writable_units(user, CARRIER_WRITERS, carrier_report_kind().unit_kinds)


# --- appeals -----------------------------------------------------------------------------------------------

def appeals_visible(user, *, status: str = "", category: str = "", overdue: bool = False, search: str = "",
                    today: date | None = None):
    qs = Appeal.objects.restrict(user, VIEW)
    if status == "open":
        qs = qs.filter(status__in=Appeal.OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    if overdue:
        qs = qs.filter(overdue_q(today or timezone.localdate()))
    if search:
        qs = qs.filter(Q(title__icontains=search.strip()) | Q(firm__name__icontains=search.strip()))
    return qs.select_related("firm", "owner_group", "handler")


# --- the weekly meeting ------------------------------------------------------------------------------------

def agenda(user, meeting: Meeting, today: date | None = None) -> dict:
    """The weekly meeting's agenda: stalled projects (red first), open appeals (overdue first) and the
    tasks assigned at earlier meetings that are still open."""
    today = today or meeting.held_on
    office = Office.current()
    projects = list(projects_visible(user, stall="stalled", today=today).order_by("moved_at", "id")[:100])
    for p in projects:
        p.stall, p.idle = stall_level(p, today, office), idle_days(p, today)
    appeals = list(appeals_visible(user, status="open").filter(received_on__lte=meeting.held_on)
                   .order_by("due_on", "id")[:100])
    for a in appeals:
        a.overdue = a.due_on < today
    tasks = list(Task.objects.restrict(user, VIEW).filter(closed_at=None, meeting__held_on__lt=meeting.held_on)
                 .select_related("owner", "meeting", "project", "appeal").order_by("due_on", "id"))
    return {"projects": projects, "appeals": appeals, "tasks": tasks}


# --- figures --------------------------------------------------------------------------------------------------

def dashboard(user, today: date | None = None) -> dict:
    today = today or timezone.localdate()
    firms = Firm.objects.restrict(user, VIEW)
    projects = Project.objects.restrict(user, VIEW)
    appeals = Appeal.objects.restrict(user, VIEW)
    since = (today.replace(day=1) - timedelta(days=150)).replace(day=1)
    activity_rows = list(Activity.objects.restrict(user, VIEW).filter(
        happened_on__gte=since, kind__in=[Activity.Kind.VISIT, Activity.Kind.RECEPTION])
        .annotate(month=TruncMonth("happened_on")).order_by().values("month", "squad__name", "kind")
        .annotate(n=Count("id")))
    assessed_rows = list(Assessment.objects.restrict(user, VIEW).filter(met_on__gte=since)
                         .annotate(month=TruncMonth("met_on")).order_by().values("month", "squad__name")
                         .annotate(n=Count("firm", distinct=True)))
    landed = list(projects.filter(stage__in=[Project.Stage.REGISTERED, Project.Stage.CONSTRUCTION,
                                             Project.Stage.PRODUCTION]).order_by().values("industry__group")
                  .annotate(planned=Sum("planned_investment"), paid=Sum("paid_in")).order_by("-planned"))
    by_group = list(firms.order_by().values("industry__system", "industry__group").annotate(n=Count("id"))
                    .order_by("industry__system", "-n"))
    conclusions = dict(firms.exclude(conclusion="").order_by().values_list("conclusion").annotate(n=Count("id")))
    open_appeals = appeals.filter(status__in=Appeal.OPEN_STATUSES)
    office = Office.current()
    return {
        "firms": firms.count(),
        "assessed": sum(conclusions.values()),
        "conclusions": conclusions,
        "activities": activity_rows,
        "assessed_by_squad": assessed_rows,
        "stages": stage_totals(projects),
        "landed": landed,
        "by_group": by_group,
        "appeals_open": open_appeals.count(),
        "appeals_overdue": open_appeals.filter(due_on__lt=today).count(),
        "stalled": projects.filter(stalled_q(today, office.stall_amber_days)).count(),
    }
