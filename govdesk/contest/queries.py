"""Scoped reads of the competition. Lists start from ``restrict``; the per-event
computations (results, missing sheets, judge consistency, the board) take an event
the caller has already fetched within reach."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q

from govdesk.core.models import OrgUnit
from govdesk.core.reach import CHANGE, VIEW, paths_for

from . import scoring
from .models import Appeal, Competition, Correction, Entry, Event, Judge, Panel, ResultRow, Sheet

# A judge is flagged when, on the contestants they scored, their totals differ from the
# mean of the other judges by more than this share of the event's full marks on average.
DEVIATION_SHARE = Decimal("0.10")


def competitions_visible(user):
    return Competition.objects.restrict(user, VIEW).select_related("org_unit")


def organiser_units(user):
    """Units in which ``user`` may run a competition (their officer memberships' subtrees)."""
    paths = paths_for(user, Competition.reach.roles_for(CHANGE))
    if not paths:
        return OrgUnit.objects.none()
    q = Q()
    for p in paths:
        q |= Q(path__startswith=p)
    from .services import ORGANISER_KINDS
    return OrgUnit.objects.restrict(user, VIEW).filter(q, retired_at__isnull=True,
                                                       kind__in=ORGANISER_KINDS).order_by("path")


def institutions_for(competition: Competition):
    """The institutions of the organiser's district (hospitals and health centres sit under
    the district, its departments or its streets)."""
    root = "/" + competition.org_unit.path.strip("/").split("/")[0] + "/"
    return OrgUnit.objects.filter(kind=OrgUnit.Kind.INSTITUTION, path__startswith=root,
                                  retired_at__isnull=True).order_by("name")


def events_of(user, competition: Competition):
    return Event.objects.restrict(user, VIEW).filter(competition=competition).order_by("order", "id")


def entries_of(user, event: Event):
    return (Entry.objects.restrict(user, VIEW).filter(event=event)
            .select_related("contestant__institution").order_by("draw_order", "contestant__code"))


def judges_of(user, competition: Competition):
    return Judge.objects.restrict(user, VIEW).filter(competition=competition).select_related("user", "institution")


def sheets_of_judge(user):
    """A judge's own sheets, open ones first, in the order contestants come on."""
    return (Sheet.objects.restrict(user, VIEW).filter(judge__user=user)
            .select_related("event__competition", "entry__contestant")
            .order_by("status", "event__order", "entry__draw_order"))


def panel_sheets_after_close(user):
    """The other judges' sheets of the panels this judge sat on, once the round has closed."""
    events = Panel.objects.filter(judge__user=user).values("event_id")
    return (Sheet.objects.restrict(user, VIEW).filter(event_id__in=events)
            .filter(event__status__in=[Event.Status.CLOSED, Event.Status.PUBLISHED]).exclude(judge__user=user)
            .select_related("event", "entry__contestant", "judge__user")
            .order_by("event__order", "entry__draw_order", "judge_id"))


def sheets_visible(user, event: Event):
    return (Sheet.objects.restrict(user, VIEW).filter(event=event)
            .select_related("judge__user", "entry__contestant").order_by("entry__draw_order", "judge_id"))


def corrections_visible(user, *, event: Event | None = None, competition: Competition | None = None):
    qs = Correction.objects.restrict(user, VIEW).select_related(
        "sheet__judge__user", "sheet__entry__contestant", "sheet__event", "requested_by")
    if event is not None:
        qs = qs.filter(sheet__event=event)
    if competition is not None:
        qs = qs.filter(sheet__event__competition=competition)
    return qs


def corrections_awaiting(user):
    """Pending corrections this user may approve: as a chief judge or as a supervisor."""
    from .services import supervises
    mine = []
    for c in Correction.objects.restrict(user, VIEW).filter(status=Correction.Status.PENDING).select_related(
            "sheet__event__competition__org_unit", "sheet__event__chief_judge", "sheet__entry__contestant",
            "sheet__judge__user"):
        event = c.sheet.event
        if (event.chief_judge and event.chief_judge.user_id == user.pk and c.chief_approved_at is None) or (
                supervises(user, event.competition) and c.supervisor_approved_at is None):
            mine.append(c)
    return mine


def published_results(user):
    return (ResultRow.objects.restrict(user, VIEW).filter(event__status=Event.Status.PUBLISHED)
            .select_related("event__competition", "entry__contestant__institution")
            .order_by("event__competition", "event__order", "rank"))


def recent_changes(user, competition: Competition, limit: int = 50):
    """The latest audited changes to the organiser's competition records (supervisors and
    district administrators only: the audit trail's own reach)."""
    from govdesk.core.models import AuditEvent
    return list(AuditEvent.objects.restrict(user, VIEW)
                .filter(unit_path__startswith=competition.org_unit.path, object_type__startswith="contest.")
                .order_by("-at", "-id")[:limit])


def may_read_audit(user, competition: Competition) -> bool:
    """Whether the audit trail's own reach (supervisors, district administrators) covers the organiser."""
    from govdesk.core.models import AuditEvent
    path = competition.org_unit.path
    return any(path.startswith(p) for p in paths_for(user, AuditEvent.reach.roles_for(VIEW)))


def appeals_visible(user, competition: Competition | None = None):
    qs = Appeal.objects.restrict(user, VIEW).select_related(
        "result__event__competition", "result__entry__contestant__institution", "filed_by", "handled_by")
    if competition is not None:
        qs = qs.filter(result__event__competition=competition)
    return qs


def missing_sheets(event: Event):
    return list(Sheet.objects.filter(event=event, status=Sheet.Status.OPEN)
                .select_related("judge__user", "entry__contestant").order_by("entry__draw_order", "judge_id"))


def event_results(event: Event) -> dict:
    """The practical and final score of every advanced entry with the working, ranked
    when every one of them is complete; plus the sheets still missing."""
    entries = list(Entry.objects.filter(event=event, advanced=True).select_related("contestant__institution")
                   .order_by("draw_order", "id"))
    sheets: dict[int, list[Sheet]] = {}
    for sheet in Sheet.objects.filter(event=event).select_related("judge__user"):
        sheets.setdefault(sheet.entry_id, []).append(sheet)
    rows, incomplete = [], []
    for entry in entries:
        mine = sheets.get(entry.pk, [])
        submitted = [s for s in mine if s.status == Sheet.Status.SUBMITTED]
        practical = scoring.practical_score(event.method, [s.total for s in submitted])
        written = entry.written_score if entry.written_score is not None else Decimal("0")
        row = {"entry": entry, "contestant": entry.contestant, "written": scoring.r2(written),
               "sheets": mine, "submitted": len(submitted), "expected": len(mine),
               "seconds_used": scoring.median_seconds([s.seconds_used for s in submitted]),
               "practical": practical.score, "practical_working": practical}
        if practical.score is None or len(submitted) < len(mine):
            row["final"] = (scoring.final_score(written, practical.score, event.written_weight)
                            if practical.score is not None else None)
            incomplete.append(row)
            continue
        row["final"] = scoring.final_score(written, practical.score, event.written_weight)
        row["working"] = {**practical.as_working(), "written": str(row["written"]),
                          "written_weight": str(event.written_weight),
                          "practical_weight": str(event.practical_weight), "final": str(row["final"]),
                          "seconds_used": row["seconds_used"],
                          "sheets_by_judge": {s.judge.user.label: str(s.total) for s in submitted}}
        rows.append(row)
    ranked = scoring.assign_ranks(rows) if not incomplete else []
    provisional = scoring.assign_ranks([dict(r) for r in rows]) if incomplete else []
    return {"rows": ranked, "incomplete": incomplete, "provisional": provisional,
            "missing": missing_sheets(event), "complete": bool(entries) and not incomplete}


def consistency(event: Event) -> list[dict]:
    """Per judge: how far their totals sit from the mean of the other judges on the same
    contestants (only contestants with at least two other sheets count)."""
    by_entry: dict[int, list[Sheet]] = {}
    for sheet in Sheet.objects.filter(event=event, status=Sheet.Status.SUBMITTED).select_related("judge__user"):
        by_entry.setdefault(sheet.entry_id, []).append(sheet)
    stats: dict[int, dict] = {}
    for sheets in by_entry.values():
        if len(sheets) < 3:
            continue
        for sheet in sheets:
            others = [s.total for s in sheets if s.pk != sheet.pk]
            deviation = sheet.total - sum(others, Decimal("0")) / len(others)
            s = stats.setdefault(sheet.judge_id, {"judge": sheet.judge, "n": 0, "sum": Decimal("0"),
                                                  "abs": Decimal("0")})
            s["n"] += 1
            s["sum"] += deviation
            s["abs"] += abs(deviation)
    limit = scoring.r2(event.max_points * DEVIATION_SHARE)
    rows = []
    for s in stats.values():
        mean_abs = scoring.r2(s["abs"] / s["n"])
        rows.append({"judge": s["judge"], "contestants": s["n"], "mean_deviation": scoring.r2(s["sum"] / s["n"]),
                     "mean_abs_deviation": mean_abs, "limit": limit, "flagged": mean_abs > limit})
    return sorted(rows, key=lambda r: -r["mean_abs_deviation"])


def board(event: Event) -> dict:
    """What the hall screen shows for an event: the draw order always; sheet progress and
    live scores only as far as the organiser allows before publication."""
    mode = event.competition.board_mode
    if event.status == Event.Status.PUBLISHED:
        rows = list(ResultRow.objects.filter(event=event).select_related("entry__contestant__institution")
                    .order_by("rank", "id"))
        return {"event": event, "published": True, "results": rows}
    entries = list(Entry.objects.filter(event=event, advanced=True).select_related("contestant__institution")
                   .annotate(done=Count("sheets", filter=Q(sheets__status=Sheet.Status.SUBMITTED)),
                             total=Count("sheets"))
                   .order_by("draw_order", "id"))
    scores = {}
    if mode == Competition.Board.SCORES:
        results = event_results(event)
        for row in results["rows"] + results["incomplete"]:
            scores[row["entry"].pk] = row
    for entry in entries:
        entry.live = scores.get(entry.pk)
    return {"event": event, "published": False, "mode": mode, "entries": entries, "scores": scores}


def overview_card(user) -> dict | None:
    """The district overview's card: the latest competition in reach, its sheets by event."""
    competition = competitions_visible(user).order_by("-starts_on", "-id").first()
    if competition is None:
        return None
    events = list(Event.objects.restrict(user, VIEW).filter(competition=competition).order_by("order", "id")
                  .annotate(done=Count("sheets", filter=Q(sheets__status=Sheet.Status.SUBMITTED), distinct=True),
                            total=Count("sheets", distinct=True)))
    contestants = competition.contestants.restrict(user, VIEW).count()
    published = sum(1 for e in events if e.status == Event.Status.PUBLISHED)
    return {
        "title": f"技能竞赛 · {competition.name}",
        "url": f"/contest/{competition.pk}/",
        "figures": [("项目", len(events)), ("选手", contestants),
                    ("评分表已交", f"{sum(e.done for e in events)}/{sum(e.total for e in events)}"),
                    ("已公布项目", published)],
        "chart": {
            "tooltip": {"trigger": "axis"},
            "legend": {"data": ["已提交", "待提交"]},
            "grid": {"left": 40, "right": 10, "bottom": 60},
            "xAxis": {"type": "category", "data": [e.name[:8] for e in events], "axisLabel": {"rotate": 20}},
            "yAxis": {"type": "value"},
            "series": [{"type": "bar", "stack": "s", "name": "已提交", "data": [e.done for e in events]},
                       {"type": "bar", "stack": "s", "name": "待提交", "data": [e.total - e.done for e in events]}],
        },
    }
