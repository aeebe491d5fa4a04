"""Scoped reads of the core: every query starts from ``restrict``."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from . import personal
from .models import AuditEvent, Membership, OrgUnit, PeriodicReport, ReportKind, Todo, User, users_in_reach
from .periods import day_start
from .reach import VIEW


def units_visible(user, *, search: str = "", kind: str = "", parent: OrgUnit | None = None,
                  include_retired: bool = False):
    qs = OrgUnit.objects.restrict(user, VIEW)
    if parent is not None:
        qs = qs.filter(parent=parent)
    if kind:
        qs = qs.filter(kind=kind)
    if not include_retired:
        qs = qs.filter(retired_at__isnull=True)
    search = personal.fold(search).lower()
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(initials__startswith=search) | Q(pinyin__startswith=search)
                       | Q(code__iexact=search))
    return qs


def top_units(user):
    """The roots of a user's reach (their membership units), for the tree page."""
    qs = OrgUnit.objects.restrict(user, VIEW).filter(retired_at__isnull=True)
    roots = []
    for unit in qs.order_by("depth", "path").only("id", "path", "name", "kind", "depth")[:200]:
        if not any(unit.path.startswith(r.path) for r in roots):
            roots.append(unit)
    return roots


def units_for_choice(user, action, kinds=None):
    qs = OrgUnit.objects.restrict(user, action).filter(retired_at__isnull=True)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("path")


def users_visible(user, *, search: str = "", role: str = "", unit: OrgUnit | None = None):
    qs = users_in_reach(user, VIEW)
    if search:
        qs = qs.filter(Q(username__icontains=search) | Q(display_name__icontains=search))
    if role:
        qs = qs.filter(memberships__role=role)
    if unit is not None:
        qs = qs.filter(memberships__org_unit__path__startswith=unit.path)
    return qs.distinct()


def memberships_visible(user, of_user: User):
    return Membership.objects.restrict(user, VIEW).filter(user=of_user).select_related("org_unit")


def audit_events(user, *, actor: str = "", unit: OrgUnit | None = None, object_type: str = "",
                 object_id: str = "", action: str = "", since=None, until=None):
    qs = AuditEvent.objects.restrict(user, VIEW)
    if actor:
        qs = qs.filter(actor_name=actor)
    if unit is not None:
        qs = qs.filter(unit_path__startswith=unit.path)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if action:
        qs = qs.filter(action=action)
    if since:
        qs = qs.filter(at__gte=day_start(since))
    if until:
        qs = qs.filter(at__lt=day_start(until + timedelta(days=1)))
    return qs


def todos_of(user, *, open_only=True):
    qs = Todo.objects.filter(user=user)
    return qs.filter(done_at=None) if open_only else qs


def overview_core(user) -> dict:
    """The core's own figures for the home page."""
    units = OrgUnit.objects.restrict(user, VIEW).filter(retired_at__isnull=True)
    by_kind = dict(units.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in range(13, -1, -1)]
    events = AuditEvent.objects.restrict(user, VIEW).filter(at__gte=day_start(days[0]))
    per_day = {row["day"]: row["n"] for row in
               events.annotate(day=TruncDate("at")).values("day").annotate(n=Count("id")).order_by()}
    return {
        "units_by_kind": [(OrgUnit.Kind(k).label, by_kind.get(k, 0)) for k in
                          ("street", "department", "community", "courtyard") if k in by_kind],
        "activity": [(day.strftime("%m-%d"), per_day.get(day, 0)) for day in days],
    }


def report_completeness(user, kind: ReportKind, period_start):
    """Units owing ``kind`` for the period, each with its report or None (who has not reported yet)."""
    units = OrgUnit.objects.restrict(user, VIEW).filter(kind__in=kind.unit_kinds, retired_at__isnull=True)
    reports = {r.org_unit_id: r for r in PeriodicReport.objects.restrict(user, VIEW)
               .filter(kind=kind, period_start=period_start).select_related("submitted_by")}
    return [(unit, reports.get(unit.pk)) for unit in units.order_by("path")]
