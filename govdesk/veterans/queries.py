"""Scoped reads of the veterans campaign: every query starts from ``restrict``."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count, Q

from govdesk.core import personal
from govdesk.core.models import OrgUnit, User
from govdesk.core.reach import CHANGE, VIEW

from .models import (
    ACTIVE_APPOINTMENT,
    Appointment,
    ChangeRequest,
    CollectionPoint,
    ExpectedBase,
    Record,
    Slot,
    reach_paths,
)

S = Record.Status
COLLECTED = (S.COLLECTED, S.RETURNED, S.REVIEWED, S.ARCHIVED)
REVIEWED = (S.REVIEWED, S.ARCHIVED)


def records_visible(user, *, status: str = "", street: int | None = None, category: int | None = None,
                    q: str = "", collector: int | None = None, point: int | None = None):
    qs = Record.objects.restrict(user, VIEW)
    if status:
        qs = qs.filter(status=status)
    if street:
        qs = qs.filter(street_id=street)
    if category:
        qs = qs.filter(category_id=category)
    if collector:
        qs = qs.filter(collector_id=collector)
    if point:
        qs = qs.filter(point_id=point)
    q = (q or "").strip()
    if q:
        folded = personal.fold(q).upper()
        if len(folded) == 18:
            qs = qs.filter(id_number_bidx=personal.blind_index("id_number", folded))
        elif len(folded) == 11 and folded.isdigit():
            qs = qs.filter(phone_bidx=personal.blind_index("phone", folded))
        else:
            qs = qs.filter(name__startswith=q)
    return qs


def my_returned(user):
    return Record.objects.restrict(user, CHANGE).filter(collector=user, status=S.RETURNED)


def pending_changes(user):
    return ChangeRequest.objects.restrict(user, VIEW).filter(status=ChangeRequest.Status.PENDING)


def units_for_records(user):
    """Communities a user may collect in (for the record form)."""
    paths = reach_paths(user, Record.reach.roles_for(CHANGE))
    q = Q()
    for path in paths:
        q |= Q(path__startswith=path)
    if not paths:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(q, kind=OrgUnit.Kind.COMMUNITY, retired_at__isnull=True).select_related(
        "parent").order_by("path")


def streets_in_reach(user, roles=None):
    paths = reach_paths(user, roles or Record.reach.roles_for(VIEW))
    if not paths:
        return OrgUnit.objects.none()
    q = Q()
    for path in paths:
        # the streets inside the reach, or the street above a community-level membership
        ids = path.strip("/").split("/")
        q |= Q(path__startswith=path) | Q(path__in=["/" + "/".join(ids[:n]) + "/" for n in range(1, len(ids))])
    return OrgUnit.objects.filter(q, kind=OrgUnit.Kind.STREET).order_by("path")


def units_for_points(user):
    """Streets and communities where a user may set up a collection point."""
    paths = reach_paths(user, CollectionPoint.reach.roles_for(CHANGE))
    if not paths:
        return OrgUnit.objects.none()
    q = Q()
    for path in paths:
        q |= Q(path__startswith=path)
    return OrgUnit.objects.filter(q, kind__in=[OrgUnit.Kind.STREET, OrgUnit.Kind.COMMUNITY],
                                  retired_at__isnull=True).order_by("path")


def points_visible(user, action=VIEW):
    return CollectionPoint.objects.restrict(user, action).select_related("org_unit")


def slots_of(user, point: CollectionPoint, first: date, days: int = 7):
    slots = list(Slot.objects.restrict(user, VIEW).filter(point=point, day__gte=first,
                                                         day__lt=first + timedelta(days=days)))
    booked = dict(Appointment.objects.filter(slot__in=slots, status__in=ACTIVE_APPOINTMENT)
                  .values_list("slot").annotate(n=Count("id")).values_list("slot", "n"))
    for slot in slots:
        slot.booked = booked.get(slot.pk, 0)
        slot.left = max(0, slot.capacity - slot.booked)
    return slots


def appointments_visible(user, *, point=None, day=None, status: str = "", q: str = ""):
    qs = Appointment.objects.restrict(user, VIEW).select_related("slot", "point")
    if point is not None:
        qs = qs.filter(point=point)
    if day is not None:
        qs = qs.filter(slot__day=day)
    if status:
        qs = qs.filter(status=status)
    q = (q or "").strip()
    if q:
        folded = personal.fold(q).upper()
        if len(folded) == 18:
            qs = qs.filter(id_number_bidx=personal.blind_index("id_number", folded))
        elif len(folded) == 8:
            qs = qs.filter(code=folded)
        else:
            qs = qs.filter(name__startswith=q)
    return qs


def load_board(user, day: date) -> list[dict]:
    """Today's load per point: capacity, booked, checked in, collected."""
    points = list(points_visible(user).filter(active=True))
    capacity = {}
    for point_id, cap in Slot.objects.filter(point__in=points, day=day).values_list("point", "capacity"):
        capacity[point_id] = capacity.get(point_id, 0) + cap
    counts: dict[int, dict] = {}
    rows = (Appointment.objects.filter(point__in=points, slot__day=day).values("point", "status")
            .annotate(n=Count("id")))
    for row in rows:
        counts.setdefault(row["point"], {})[row["status"]] = row["n"]
    board = []
    for point in points:
        c = counts.get(point.pk, {})
        booked = c.get("booked", 0) + c.get("checked_in", 0) + c.get("collected", 0)
        cap = capacity.get(point.pk, 0)
        board.append({"point": point, "capacity": cap, "booked": booked, "waiting": c.get("booked", 0),
                      "checked_in": c.get("checked_in", 0), "collected": c.get("collected", 0),
                      "percent": round(booked * 100 / cap) if cap else 0})
    return board


def _counts(qs, key: str) -> dict:
    out: dict = {}
    for row in qs.filter(status__in=COLLECTED).values(key, "status").annotate(n=Count("id")):
        item = out.setdefault(row[key], {"collected": 0, "reviewed": 0, "archived": 0})
        item["collected"] += row["n"]
        if row["status"] in REVIEWED:
            item["reviewed"] += row["n"]
        if row["status"] == S.ARCHIVED:
            item["archived"] += row["n"]
    return out


BEHIND_SHARE = 0.8  # a street below 80 % of the overall pace is behind


def street_figures(user, streets, by_street: dict) -> tuple[list[dict], int, dict, float | None]:
    """Each street's counts against its expected base, the totals, the overall percentage, and
    the streets behind it flagged — the same for the rollup dashboard and the live aggregate."""
    zero = {"collected": 0, "reviewed": 0, "archived": 0}
    expected = dict(ExpectedBase.objects.restrict(user, VIEW).values_list("org_unit", "expected"))
    rows = []
    for street in streets:
        c = by_street.get(street.pk, zero)
        exp = expected.get(street.pk, 0)
        rows.append({"unit": street, "expected": exp, **c,
                     "percent": round(c["collected"] * 100 / exp, 1) if exp else None})
    total_expected = sum(r["expected"] for r in rows)
    total = {k: sum(r[k] for r in rows) for k in zero}
    overall = round(total["collected"] * 100 / total_expected, 1) if total_expected else None
    for row in rows:
        row["behind"] = overall is not None and row["percent"] is not None and row["percent"] < overall * BEHIND_SHARE
    return rows, total_expected, total, overall


def progress(user, *, days: int = 14, today: date | None = None) -> dict:
    """Collected / reviewed / archived per street (against the expected base), per point,
    per collector and per day — all from the user's reach."""
    records = Record.objects.restrict(user, VIEW)
    streets = list(streets_in_reach(user))
    street_rows, total_expected, total, overall = street_figures(user, streets, _counts(records, "street"))
    by_point = _counts(records, "point")
    point_rows = [{"point": p, **by_point.get(p.pk, {"collected": 0, "reviewed": 0, "archived": 0})}
                  for p in points_visible(user)]
    by_collector = _counts(records, "collector")
    people = {u.pk: u for u in User.objects.filter(pk__in=list(by_collector))}
    collector_rows = sorted(({"user": people[pk], **c} for pk, c in by_collector.items() if pk in people),
                            key=lambda r: (-r["collected"], r["user"].pk))
    from django.utils import timezone
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    by_day = _counts(records.filter(collected_on__gte=first), "collected_on")
    day_rows = [{"day": first + timedelta(days=i),
                 **by_day.get(first + timedelta(days=i), {"collected": 0, "reviewed": 0, "archived": 0})}
                for i in range(days)]
    return {"streets": street_rows, "points": point_rows, "collectors": collector_rows, "days": day_rows,
            "total": total, "expected": total_expected, "overall": overall,
            "behind": [r for r in street_rows if r["behind"]]}


def progress_charts(data: dict) -> dict:
    names = [r["unit"].name for r in data["streets"]]
    return {
        "streets": {
            "title": {"text": "各街道采集进度", "left": "center", "top": 0, "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"}, "legend": {"top": 30},
            "grid": {"top": 70, "bottom": 80},
            "xAxis": {"type": "category", "data": names, "axisLabel": {"rotate": 40}},
            "yAxis": {"type": "value"},
            "series": [{"name": key, "type": "bar", "data": [r[field] for r in data["streets"]]}
                       for key, field in (("应采集", "expected"), ("已采集", "collected"), ("已审核", "reviewed"),
                                          ("已归档", "archived"))],
        },
        "days": {
            "title": {"text": "每日采集量", "left": "center", "top": 0, "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"}, "legend": {"top": 30}, "grid": {"top": 70},
            "xAxis": {"type": "category", "data": [r["day"].strftime("%m-%d") for r in data["days"]]},
            "yAxis": {"type": "value"},
            "series": [{"name": "采集", "type": "line", "data": [r["collected"] for r in data["days"]]},
                       {"name": "其中已审核", "type": "line", "data": [r["reviewed"] for r in data["days"]]}],
        },
    }
