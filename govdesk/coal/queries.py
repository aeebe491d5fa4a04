"""Scoped reads of the coal app: every query starts from ``restrict`` (or, for org units,
from the user's coal reach), aggregates stay bounded (per street, per week)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from govdesk.core import personal
from govdesk.core.models import OrgUnit
from govdesk.core.periods import day_start
from govdesk.core.reach import CHANGE, VIEW, paths_for, subtree_q

from .models import (
    STREET_ROLES,
    VIEWERS,
    Campaign,
    CampaignTask,
    Inspection,
    InspectionCorrection,
    NoticeAllocation,
    NoticeBatch,
    NoticePosting,
    Photo,
    Place,
    Rectification,
    RectificationExtension,
    office_paths,
)


def coal_roots(user, action: str = VIEW) -> list[str]:
    """The subtree roots the user reaches in the coal app (the office reaches its district)."""
    roles = VIEWERS if action == VIEW else STREET_ROLES
    return sorted(set(paths_for(user, roles)) | (set(office_paths(user)) if action == VIEW else set()))


def units_in_reach(user, kind: str, action: str = VIEW):
    q = subtree_q("path", coal_roots(user, action))
    if q is None:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(q, kind=kind, retired_at__isnull=True).order_by("path")


def streets(user, action: str = VIEW):
    return units_in_reach(user, OrgUnit.Kind.STREET, action)


def communities(user, action: str = VIEW):
    return units_in_reach(user, OrgUnit.Kind.COMMUNITY, action).select_related("parent")


def is_office(user) -> bool:
    return bool(office_paths(user))


def can_change(model, user, obj) -> bool:
    return model.objects.restrict(user, CHANGE).filter(pk=obj.pk).exists()


# --- places ---------------------------------------------------------------------------

def places(user, *, search: str = "", street=None, community=None, kind: str = "", status: str = ""):
    qs = Place.objects.restrict(user, VIEW).select_related("street", "community")
    search = personal.fold(search)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(address__icontains=search) | Q(contact_name__icontains=search))
    if street:
        qs = qs.filter(street_id=street)
    if community:
        qs = qs.filter(community_id=community)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs


def place_history(user, place: Place) -> list[dict]:
    """Everything that happened at a place, newest first."""
    rows = []
    for insp in (Inspection.objects.restrict(user, VIEW).filter(place=place).select_related("inspector")
                 .annotate(n_photos=Count("photos", distinct=True), n_corrections=Count("corrections", distinct=True))):
        rows.append({"at": insp.inspected_at, "kind": "检查", "obj": insp,
                     "text": ("发现" + (insp.get_coal_kind_display() or "散煤") + f" {insp.quantity_kg} 公斤"
                              if insp.coal_present else "未发现散煤"),
                     "detail": insp.actions_label(), "who": insp.inspector_label})
    for rect in Rectification.objects.restrict(user, VIEW).filter(place=place).select_related("opened_by"):
        rows.append({"at": rect.opened_by.inspected_at,
                     "kind": "整改", "obj": rect, "text": f"下达整改，期限 {rect.original_deadline}",
                     "detail": rect.get_status_display(), "who": ""})
        if rect.closed_at:
            rows.append({"at": rect.closed_at, "kind": "销号", "obj": rect, "text": "复查合格，整改销号", "detail": "",
                         "who": ""})
    for ext in RectificationExtension.objects.restrict(user, VIEW).filter(rectification__place=place).select_related(
            "extended_by"):
        rows.append({"at": ext.extended_at, "kind": "延期", "obj": ext,
                     "text": f"整改期限 {ext.old_deadline} → {ext.new_deadline}", "detail": ext.reason,
                     "who": ext.extended_by.label})
    for corr in InspectionCorrection.objects.restrict(user, VIEW).filter(inspection__place=place).select_related(
            "corrected_by"):
        rows.append({"at": corr.corrected_at, "kind": "更正", "obj": corr.inspection,
                     "text": "更正检查记录：" + "、".join(str(Inspection._meta.get_field(n).verbose_name)
                                                    for n in corr.after), "detail": corr.reason,
                     "who": corr.corrected_by.label})
    for task in CampaignTask.objects.restrict(user, VIEW).filter(place=place).select_related("campaign"):
        rows.append({"at": task.done_at or task.campaign.launched_at, "kind": "回头看", "obj": task,
                     "text": f"「{task.campaign.title}」" + (task.get_outcome_display() if task.outcome else "待复查"),
                     "detail": f"原发现：{task.earlier_summary}", "who": ""})
    rows.sort(key=lambda r: r["at"], reverse=True)
    return rows


# --- inspections and rectifications ---------------------------------------------------------

def inspections(user, *, street=None, place=None, coal_present=None):
    qs = Inspection.objects.restrict(user, VIEW).select_related("place", "street", "inspector")
    if street:
        qs = qs.filter(street_id=street)
    if place:
        qs = qs.filter(place=place)
    if coal_present is not None:
        qs = qs.filter(coal_present=coal_present)
    return qs


def photos_of(user, inspection):
    return Photo.objects.restrict(user, VIEW).filter(inspection=inspection).order_by("taken_at", "pk")


def rectifications(user, *, street=None, state: str = ""):
    qs = Rectification.objects.restrict(user, VIEW).select_related("place", "street")
    if street:
        qs = qs.filter(street_id=street)
    today = timezone.localdate()
    if state == "open":
        qs = qs.filter(status=Rectification.Status.OPEN, deadline__gte=today)
    elif state == "overdue":
        qs = qs.filter(status=Rectification.Status.OPEN, deadline__lt=today)
    elif state == "closed":
        qs = qs.filter(status=Rectification.Status.CLOSED)
    return qs


# --- look-back campaigns ---------------------------------------------------------------------

def campaigns(user):
    return Campaign.objects.restrict(user, VIEW).select_related("district", "launched_by")


def campaign_tasks(user, campaign, *, street=None, status: str = "", action: str = VIEW):
    qs = CampaignTask.objects.restrict(user, action).filter(campaign=campaign).select_related(
        "place", "street", "community", "assignee", "result")
    if street:
        qs = qs.filter(street_id=street)
    if status:
        qs = qs.filter(status=status)
    return qs


def campaign_progress(user, campaign) -> list[dict]:
    """Per street: tasks, done, and how the results compare with the earlier findings."""
    outcome = CampaignTask.Outcome
    rows = (CampaignTask.objects.restrict(user, VIEW).filter(campaign=campaign)
            .values("street_id", "street__name", "street__path").order_by("street__path")
            .annotate(total=Count("id"), done=Count("id", filter=Q(status=CampaignTask.Status.DONE)),
                      still_problem=Count("id", filter=Q(outcome=outcome.STILL_PROBLEM)),
                      clean_now=Count("id", filter=Q(outcome=outcome.CLEAN_NOW)),
                      new_problem=Count("id", filter=Q(outcome=outcome.NEW_PROBLEM)),
                      still_clean=Count("id", filter=Q(outcome=outcome.STILL_CLEAN))))
    result = []
    for row in rows:
        row["percent"] = int(row["done"] * 100 / row["total"]) if row["total"] else 0
        result.append(row)
    return result


def progress_totals(rows: list[dict]) -> dict:
    keys = ["total", "done", "still_problem", "clean_now", "new_problem", "still_clean"]
    totals = {k: sum(r[k] for r in rows) for k in keys}
    totals["percent"] = int(totals["done"] * 100 / totals["total"]) if totals["total"] else 0
    return totals


def todays_work(user) -> dict:
    """What an inspector should do today: pending look-back tasks of open campaigns that are
    theirs or unassigned, and open rectifications due within three days."""
    today = timezone.localdate()
    tasks = (CampaignTask.objects.restrict(user, CHANGE)
             .filter(status=CampaignTask.Status.PENDING, campaign__status=Campaign.Status.OPEN,
                     campaign__period_start__lte=today)
             .filter(Q(assignee=user) | Q(assignee__isnull=True))
             .select_related("place", "campaign", "community").order_by("campaign__period_end", "community__path",
                                                                        "pk"))
    rects = (Rectification.objects.restrict(user, CHANGE)
             .filter(status=Rectification.Status.OPEN, deadline__lte=today + timedelta(days=3))
             .select_related("place").order_by("deadline", "pk"))
    return {"tasks": tasks, "rectifications": rects}


# --- notices ------------------------------------------------------------------------------------

def batches(user):
    return NoticeBatch.objects.restrict(user, VIEW).order_by("-received_on", "-pk")


def batch_coverage(user, batch) -> list[dict]:
    """Per street in reach: allocated, posted, remaining, courtyards and how many have a posting."""
    allocations = {a.street_id: a for a in NoticeAllocation.objects.restrict(user, VIEW).filter(batch=batch)}
    posted = dict(NoticePosting.objects.restrict(user, VIEW).filter(batch=batch).values("street_id")
                  .annotate(n=Sum("count")).values_list("street_id", "n"))
    covered = dict(NoticePosting.objects.restrict(user, VIEW).filter(batch=batch, unit__kind=OrgUnit.Kind.COURTYARD)
                   .values("street_id").annotate(n=Count("unit_id", distinct=True)).values_list("street_id", "n"))
    rows = []
    for street in streets(user).filter(parent=batch.district):
        yards = units_in_reach(user, OrgUnit.Kind.COURTYARD).filter(path__startswith=street.path).count()
        allocation = allocations.get(street.pk)
        given = allocation.count if allocation else 0
        rows.append({"street": street, "allocation": allocation, "allocated": given,
                     "posted": posted.get(street.pk, 0), "remaining": given - posted.get(street.pk, 0),
                     "courtyards": yards, "covered": covered.get(street.pk, 0),
                     "uncovered": yards - covered.get(street.pk, 0)})
    return rows


def uncovered_courtyards(user, batch, *, street=None):
    """Courtyards in reach with no posting of the batch yet."""
    done = NoticePosting.objects.restrict(user, VIEW).filter(batch=batch).values("unit_id")
    qs = units_in_reach(user, OrgUnit.Kind.COURTYARD).filter(path__startswith=batch.district.path).exclude(
        pk__in=done).select_related("parent", "parent__parent")
    if street is not None:
        qs = qs.filter(path__startswith=street.path)
    return qs


def postings(user, batch, *, street=None):
    qs = NoticePosting.objects.restrict(user, VIEW).filter(batch=batch).select_related("unit", "street", "posted_by")
    if street is not None:
        qs = qs.filter(street=street)
    return qs.order_by("-posted_on", "-pk")


# --- figures --------------------------------------------------------------------------------------

def weekly_figures(user, *, weeks: int = 12) -> dict:
    """Inspections, problems found and coal seized per week (the user's reach)."""
    since = timezone.now() - timedelta(weeks=weeks)
    rows = (Inspection.objects.restrict(user, VIEW).filter(state=Inspection.State.CLOSED, inspected_at__gte=since)
            .annotate(week=TruncWeek("inspected_at")).values("week").order_by("week")
            .annotate(n=Count("id"), problems=Count("id", filter=Q(coal_present=True)), seized=Sum("seized_kg")))
    return {"weeks": [timezone.localdate(r["week"]).isoformat() if hasattr(r["week"], "tzinfo") else str(r["week"])
                      for r in rows],
            "inspections": [r["n"] for r in rows], "problems": [r["problems"] for r in rows],
            "seized": [float(r["seized"] or 0) for r in rows]}


def street_figures(user, *, weeks: int = 12) -> list[dict]:
    """Per street: inspections, problems, seized (recent weeks) and rectifications by state."""
    since = timezone.now() - timedelta(weeks=weeks)
    today = timezone.localdate()
    insp = {r["street_id"]: r for r in Inspection.objects.restrict(user, VIEW)
            .filter(state=Inspection.State.CLOSED, inspected_at__gte=since).values("street_id").order_by()
            .annotate(n=Count("id"), problems=Count("id", filter=Q(coal_present=True)), seized=Sum("seized_kg"))}
    rect = {r["street_id"]: r for r in Rectification.objects.restrict(user, VIEW).values("street_id").order_by()
            .annotate(open=Count("id", filter=Q(status="open", deadline__gte=today)),
                      overdue=Count("id", filter=Q(status="open", deadline__lt=today)),
                      closed=Count("id", filter=Q(status="closed")))}
    rows = []
    for street in streets(user):
        i, r = insp.get(street.pk, {}), rect.get(street.pk, {})
        rows.append({"street": street, "inspections": i.get("n", 0), "problems": i.get("problems", 0),
                     "seized": i.get("seized") or 0, "open": r.get("open", 0), "overdue": r.get("overdue", 0),
                     "closed": r.get("closed", 0)})
    return rows


def bar_chart(title: str, categories: list, series: list[tuple[str, list]], *, stack: bool = False,
              line: tuple[str, list] | None = None) -> dict:
    """An ECharts bar chart; ``line`` is drawn on a second axis (kilograms beside counts)."""
    option = {
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 40, "right": 40, "bottom": 60, "containLabel": True},
        "xAxis": {"type": "category", "data": categories, "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": [{"type": "value", "name": "数量", "minInterval": 1}],
        "series": [{"type": "bar", "name": name, "data": data, **({"stack": "all"} if stack else {})}
                   for name, data in series],
    }
    if line is not None:
        option["yAxis"].append({"type": "value", "name": "公斤", "splitLine": {"show": False}})
        option["series"].append({"type": "line", "name": line[0], "data": line[1], "yAxisIndex": 1, "smooth": True})
    return option


def overview_card(user) -> dict | None:
    """The district overview's card: this week's inspections, open and overdue rectifications,
    and the latest open look-back's progress."""
    if not coal_roots(user):
        return None
    from django.urls import reverse
    today = timezone.localdate()
    week_start = today - timedelta(days=today.weekday())
    week_inspections = Inspection.objects.restrict(user, VIEW).filter(
        inspected_at__gte=day_start(week_start)).count()
    rects = Rectification.objects.restrict(user, VIEW).filter(status=Rectification.Status.OPEN)
    overdue = rects.filter(deadline__lt=today).count()
    figures = [("本周检查", week_inspections), ("整改中", rects.count() - overdue), ("逾期整改", overdue)]
    chart = None
    campaign = campaigns(user).filter(status=Campaign.Status.OPEN).order_by("-launched_at").first()
    if campaign is not None:
        rows = campaign_progress(user, campaign)
        totals = progress_totals(rows)
        figures.append(("回头看进度", f"{totals['done']}/{totals['total']}"))
        chart = bar_chart(f"回头看「{campaign.title}」各街道进度", [r["street__name"] for r in rows],
                          [("已复查", [r["done"] for r in rows]),
                           ("待复查", [r["total"] - r["done"] for r in rows])], stack=True)
    return {"title": "散煤治理", "url": reverse("coal:dashboard"), "figures": figures, "chart": chart}


def office_districts(user):
    """Districts whose office work (campaigns, notice batches) the user may do."""
    from govdesk.core.reach import Role
    q = Q(path__in=office_paths(user))
    admin_q = subtree_q("path", paths_for(user, {Role.DISTRICT_ADMIN}))
    if admin_q is not None:
        q |= admin_q
    return OrgUnit.objects.filter(q, kind=OrgUnit.Kind.DISTRICT, retired_at__isnull=True).order_by("path")


def corrections_of(user, inspection) -> list:
    """The corrections of an inspection, each with ``rows`` of (field label, before, after)."""
    items = list(InspectionCorrection.objects.restrict(user, VIEW).filter(inspection=inspection)
                 .select_related("corrected_by"))
    for item in items:
        item.rows = [(Inspection._meta.get_field(name).verbose_name, item.before.get(name), value)
                     for name, value in item.after.items()]
    return items


def assignable_people(task):
    """Street officers whose membership covers the task's community."""
    from govdesk.core.models import Membership, User
    from govdesk.core.reach import Role
    ids = [p for p in task.community.path.split("/") if p]
    prefixes = ["/" + "/".join(ids[:i]) + "/" for i in range(1, len(ids) + 1)]
    user_ids = Membership.objects.filter(role=Role.STREET_OFFICER,
                                         org_unit__path__in=prefixes).values("user_id")
    return User.objects.filter(pk__in=user_ids, is_active=True).order_by("username")


# --- weekly periodic report ---------------------------------------------------------------------

WEEKLY_REPORT = "coal_weekly"


def weekly_kind():
    from govdesk.core.models import ReportKind
    return ReportKind.objects.get(code=WEEKLY_REPORT)


def weekly_summary(user, street, week_start) -> dict:
    """A street's week from the ledger: what the street confirms and reports upward."""
    start, end = day_start(week_start), day_start(week_start + timedelta(days=7))
    week_end = week_start + timedelta(days=6)
    inspections = Inspection.objects.restrict(user, VIEW).filter(
        street=street, state=Inspection.State.CLOSED, inspected_at__gte=start, inspected_at__lt=end)
    figures = inspections.aggregate(n=Count("id"), problems=Count("id", filter=Q(coal_present=True)),
                                    seized=Sum("seized_kg"), orders=Count("id", filter=Q(rectification_ordered=True)),
                                    referred=Count("id", filter=Q(referred=True)))
    rects = Rectification.objects.restrict(user, VIEW).filter(street=street)
    return {
        "inspections": figures["n"], "problems": figures["problems"], "seized_kg": str(Decimal(figures["seized"] or 0).quantize(Decimal("0.1"))),
        "rectification_orders": figures["orders"], "referred": figures["referred"],
        "confirmed": rects.filter(closed_at__gte=start, closed_at__lt=end).count(),
        "open_at_end": rects.filter(opened_on__lte=week_end).filter(
            Q(status=Rectification.Status.OPEN) | Q(closed_at__gte=end)).count(),
        "overdue_at_end": rects.filter(opened_on__lte=week_end, deadline__lt=week_end).filter(
            Q(status=Rectification.Status.OPEN) | Q(closed_at__gte=end)).count(),
    }


def weekly_completeness(user, week_start) -> list[tuple]:
    """Streets in the user's coal reach, each with its report for the week or None."""
    from govdesk.core.models import PeriodicReport
    q = subtree_q("org_unit__path", coal_roots(user))
    reports = {} if q is None else {
        r.org_unit_id: r for r in PeriodicReport.objects.filter(q, kind__code=WEEKLY_REPORT, period_start=week_start)
        .select_related("submitted_by")}
    return [(street, reports.get(street.pk)) for street in streets(user)]


# --- exports (the tables engine's export_query of each coal table) -----------------------------

def _id(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def places_export(user, filters: dict):
    """The places list page's rows (its filters: q, street, community, kind, status)."""
    return places(user, search=filters.get("q", ""), street=_id(filters.get("street")),
                  community=_id(filters.get("community")), kind=filters.get("kind", ""),
                  status=filters.get("status", "")).order_by("street__path", "community__path", "name", "pk")


def inspections_export(user, filters: dict):
    """The inspection ledger page's rows (its filters: street, coal = 1/0)."""
    present = {"1": True, "0": False}.get(str(filters.get("coal", "")))
    return (inspections(user, street=_id(filters.get("street")), coal_present=present)
            .select_related("community").order_by("inspected_at", "pk"))


def rectifications_export(user, filters: dict):
    """The rectifications page's rows (its filters: street, state = open/overdue/closed)."""
    return (rectifications(user, street=_id(filters.get("street")), state=filters.get("state", ""))
            .select_related("community", "place").annotate(extensions_count=Count("extensions"))
            .order_by("deadline", "pk"))


def campaign_tasks_export(user, filters: dict):
    """A look-back's tasks as its page lists them (filters: campaign, street, status)."""
    qs = (CampaignTask.objects.restrict(user, VIEW)
          .select_related("campaign", "place", "street", "community", "assignee", "result"))
    campaign = _id(filters.get("campaign"))
    if campaign:
        qs = qs.filter(campaign_id=campaign)
    if _id(filters.get("street")):
        qs = qs.filter(street_id=_id(filters.get("street")))
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs.order_by("campaign_id", "street__path", "community__path", "place__name", "pk")


def campaign_report(user, campaign) -> list[dict]:
    """The look-back report the city asks for, per street in the user's reach: tasks, done,
    how the results compare with the earlier findings, and what the re-inspections did."""
    actions = {r["street_id"]: r for r in CampaignTask.objects.restrict(user, VIEW)
               .filter(campaign=campaign, status=CampaignTask.Status.DONE).values("street_id").order_by()
               .annotate(seized=Sum("result__seized_kg"),
                         orders=Count("id", filter=Q(result__rectification_ordered=True)),
                         referred=Count("id", filter=Q(result__referred=True)))}
    rows = campaign_progress(user, campaign)
    for row in rows:
        extra = actions.get(row["street_id"], {})
        row["seized"] = extra.get("seized") or Decimal("0")
        row["orders"] = extra.get("orders", 0)
        row["referred"] = extra.get("referred", 0)
        row["pending"] = row["total"] - row["done"]
    return rows
