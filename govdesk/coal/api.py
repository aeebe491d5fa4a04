"""API for inspectors on phones: today's work, places, and recording inspections
(idempotent on a client-generated id) with photos."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from govdesk.core.errors import ServiceError
from govdesk.core.reach import VIEW, get_in_reach

from . import queries, services
from .models import CampaignTask, Inspection, Place

router = Router(tags=["coal"])


class PlaceOut(Schema):
    id: int
    name: str
    kind: str
    street: str
    community: str
    address: str
    status: str

    @staticmethod
    def resolve_street(obj):
        return obj.street.name

    @staticmethod
    def resolve_community(obj):
        return obj.community.name


class CampaignTaskOut(Schema):
    id: int
    campaign_id: int
    campaign: str
    place: PlaceOut
    earlier_summary: str
    earlier_problem: bool
    status: str
    outcome: str
    due: date

    @staticmethod
    def resolve_campaign(obj):
        return obj.campaign.title

    @staticmethod
    def resolve_due(obj):
        return obj.campaign.period_end


class RectificationOut(Schema):
    id: int
    place: PlaceOut
    deadline: date
    status: str


class TodayOut(Schema):
    tasks: list[CampaignTaskOut]
    rectifications: list[RectificationOut]


class InspectionIn(Schema):
    client_id: UUID
    place_id: int | None = None
    task_id: int | None = None
    inspected_at: datetime
    coal_present: bool = False
    coal_kind: str = ""
    quantity_kg: Decimal = Decimal("0")
    source: str = ""
    storage: str = ""
    used_by: str = ""
    educated: bool = False
    seized: bool = False
    seized_kg: Decimal = Decimal("0")
    rectification_ordered: bool = False
    rectification_deadline: date | None = None
    referred: bool = False
    note: str = ""


class InspectionOut(Schema):
    id: int
    client_id: UUID | None
    place_id: int
    inspected_at: datetime
    state: str
    coal_present: bool
    coal_kind: str
    quantity_kg: Decimal
    seized_kg: Decimal
    rectification_deadline: date | None
    task_id: int | None = None
    outcome: str = ""

    @staticmethod
    def resolve_task_id(obj):
        task = getattr(obj, "task", None) if hasattr(obj, "task") else None
        return task.pk if task else None

    @staticmethod
    def resolve_outcome(obj):
        task = getattr(obj, "task", None) if hasattr(obj, "task") else None
        return task.outcome if task else ""


class PhotoOut(Schema):
    id: int
    sha256: str
    size: int
    content_type: str
    taken_at: datetime


FINDINGS = ["coal_present", "coal_kind", "quantity_kg", "source", "storage", "used_by", "educated", "seized",
            "seized_kg", "rectification_ordered", "rectification_deadline", "referred", "note"]


@router.get("/today", response=TodayOut)
def today(request):
    work = queries.todays_work(request.user)
    return {"tasks": list(work["tasks"][:200]), "rectifications": list(work["rectifications"][:200])}


@router.get("/places", response=list[PlaceOut])
def places(request, q: str = "", street: int | None = None, status: str = "", limit: int = 50):
    qs = queries.places(request.user, search=q, street=street, status=status).order_by("name", "pk")
    return list(qs[: max(1, min(limit, 200))])


@router.get("/places/{pk}", response=PlaceOut)
def place(request, pk: int):
    return get_in_reach(Place.objects.select_related("street", "community"), request.user, VIEW, pk=pk)


@router.post("/inspections", response={200: InspectionOut, 201: InspectionOut})
def inspection_record(request, payload: InspectionIn):
    """Record a closed inspection (or a look-back task's re-inspection with ``task_id``).
    A retry with the same ``client_id`` and content answers 200 with the first record;
    the same id with different content is a 409."""
    findings = {name: getattr(payload, name) for name in FINDINGS}
    if payload.task_id is not None:
        task = get_in_reach(CampaignTask, request.user, VIEW, pk=payload.task_id)
        existing = Inspection.objects.restrict(request.user, VIEW).filter(client_id=payload.client_id).exists()
        task = services.task_record(actor=request.user, task=task, inspected_at=payload.inspected_at,
                                    findings=findings, client_id=payload.client_id)
        return Status(200 if existing else 201, task.result)
    if payload.place_id is None:
        raise ServiceError("请指定点位或复查任务", fields={"place_id": "请指定点位"})
    place_obj = get_in_reach(Place, request.user, VIEW, pk=payload.place_id)
    inspection, created = services.inspection_record(actor=request.user, place=place_obj,
                                                     inspected_at=payload.inspected_at, findings=findings,
                                                     client_id=payload.client_id)
    return Status(201 if created else 200, inspection)


@router.get("/inspections/{pk}", response=InspectionOut)
def inspection(request, pk: int):
    return get_in_reach(Inspection, request.user, VIEW, pk=pk)


@router.post("/inspections/{pk}/photos", response={201: PhotoOut})
def photo_add(request, pk: int, photo: File[UploadedFile], taken_at: Form[datetime | None] = None):
    """Upload one JPEG/PNG photo (≤ 10 MB); the same picture again answers with the same photo."""
    target = get_in_reach(Inspection, request.user, VIEW, pk=pk)
    return Status(201, services.photo_add(actor=request.user, inspection=target, upload=photo, taken_at=taken_at))
