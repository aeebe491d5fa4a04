"""Contest API: competitions, an event's results with the working, and the judge's
sheets — a tablet can list its sheets and submit one through the same services."""

from datetime import date, datetime
from decimal import Decimal

from ninja import Router, Schema

from govdesk.core.reach import VIEW, get_in_reach

from . import queries, services
from .models import Event, Sheet

router = Router(tags=["contest"])


class CompetitionOut(Schema):
    id: int
    name: str
    organiser: str
    starts_on: date
    ends_on: date
    venue: str

    @staticmethod
    def resolve_organiser(obj):
        return obj.org_unit.name


class SheetOut(Schema):
    id: int
    event: str
    contestant_code: str
    draw_order: int | None
    status: str
    seconds_used: int | None
    total: Decimal | None
    submitted_at: datetime | None

    @staticmethod
    def resolve_event(obj):
        return obj.event.name

    @staticmethod
    def resolve_contestant_code(obj):
        return obj.entry.contestant.code

    @staticmethod
    def resolve_draw_order(obj):
        return obj.entry.draw_order


class SheetIn(Schema):
    points: dict[int, Decimal]
    failed: list[int] = []
    seconds_used: int


class ResultOut(Schema):
    code: str
    rank: int | None
    winner: bool
    written: Decimal
    practical: Decimal | None
    final: Decimal | None
    seconds_used: int | None
    sheets: list[Decimal]
    dropped: list[Decimal]


class ResultsOut(Schema):
    event: str
    status: str
    method: str
    complete: bool
    missing_sheets: int
    rows: list[ResultOut]


@router.get("/competitions", response=list[CompetitionOut])
def competitions(request):
    return list(queries.competitions_visible(request.user).order_by("-starts_on", "-id")[:200])


@router.get("/sheets", response=list[SheetOut])
def my_sheets(request):
    return list(queries.sheets_of_judge(request.user))


@router.post("/sheets/{sheet_id}/submit", response=SheetOut)
def sheet_submit(request, sheet_id: int, payload: SheetIn):
    sheet = get_in_reach(Sheet, request.user, VIEW, pk=sheet_id)
    return services.sheet_submit(actor=request.user, sheet=sheet, points=payload.points, failed=payload.failed,
                                 seconds_used=payload.seconds_used)


@router.get("/events/{event_id}/results", response=ResultsOut)
def event_results(request, event_id: int):
    event = get_in_reach(Event.objects.select_related("competition"), request.user, VIEW, pk=event_id)
    results = queries.event_results(event)
    rows = []
    for r in results["rows"] + results["incomplete"]:
        working = r["practical_working"]
        rows.append({"code": r["contestant"].code, "rank": r.get("rank"), "winner": r.get("winner", False),
                     "written": r["written"], "practical": r["practical"], "final": r["final"],
                     "seconds_used": r["seconds_used"], "sheets": working.sheets, "dropped": working.dropped})
    return {"event": event.name, "status": event.status, "method": event.method, "complete": results["complete"],
            "missing_sheets": len(results["missing"]), "rows": rows}
