"""Veterans API, mainly for collection terminals (token auth).

A device submits a record with a client-generated UUID to ``POST /records/sync``:
the same UUID with the same content is a harmless success (200, the same record);
the same UUID with different content is 409 ``uuid_conflict``; an edit names the
version it edits (``base_version``) and a stale version is 409 ``stale_version`` with
both versions in the body. Scanned documents follow one by one to
``POST /records/{uuid}/attachments``, or in resumable pieces (``api_uploads.py``); a record
is complete when every declared attachment has arrived (and is then submitted for review if
the device asked so).
"""

from datetime import date
from uuid import UUID

from ninja import File, Form, Router, Schema, Status, UploadedFile

from govdesk.core.errors import ServiceError
from govdesk.core.reach import VIEW, get_in_reach

from . import queries, services
from .models import Category, Record

router = Router(tags=["veterans"])


class RecordData(Schema):
    name: str
    gender: str
    ethnicity: str
    birth_date: date | None = None
    id_number: str
    phone: str = ""
    category: str
    community_id: int
    household_address: str
    residential_address: str
    political_status: str = ""
    education: str = ""
    enlisted_on: date | None = None
    discharged_on: date | None = None
    service_unit: str = ""
    branch: str = ""
    rank: str = ""
    discharge_type: str = ""
    placement: str = ""
    disability_grade: int | None = None
    disability_nature: str = ""
    disability_certificate: str = ""
    awards: str = ""
    family_link: str = ""
    employment: str = ""
    social_security: str = ""
    medical: str = ""
    housing: str = ""
    assistance: str = ""


class SyncIn(Schema):
    uuid: UUID
    base_version: int | None = None
    data: RecordData
    attachments: list[str] = []
    submit: bool = False


class AttachmentOut(Schema):
    id: int
    kind: str
    size: int
    sha256: str


class RecordOut(Schema):
    id: int
    uuid: UUID
    version: int
    status: str
    name: str
    id_number: str
    phone: str
    category: str
    community_id: int
    street_id: int
    declared_attachments: list[str]
    missing_attachments: list[str]
    complete: bool
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_id_number(obj):
        return obj.id_number_masked

    @staticmethod
    def resolve_phone(obj):
        return obj.phone_masked

    @staticmethod
    def resolve_category(obj):
        return obj.category.code

    @staticmethod
    def resolve_community_id(obj):
        return obj.org_unit_id

    @staticmethod
    def resolve_missing_attachments(obj):
        return services._attachments_missing(obj)

    @staticmethod
    def resolve_complete(obj):
        return not services._attachments_missing(obj)

    @staticmethod
    def resolve_attachments(obj):
        return list(obj.attachments.all())


class ConflictOut(Schema):
    code: str
    message: str
    fields: dict
    current: dict
    yours: dict


class CategoryOut(Schema):
    code: str
    name: str
    requires_service: bool
    requires_disability: bool


class AttachmentResult(Schema):
    attachment: AttachmentOut
    record: RecordOut


def _data(payload: RecordData) -> dict:
    data = payload.dict()
    data["community"] = data.pop("community_id")
    return data


@router.get("/categories", response=list[CategoryOut])
def category_list(request):
    return list(Category.objects.filter(active=True))


@router.get("/records", response=list[RecordOut])
def record_list(request, status: str = "", after_id: int = 0, limit: int = 100):
    qs = queries.records_visible(request.user, status=status).filter(id__gt=after_id).order_by("id")
    return list(qs.select_related("category").prefetch_related("attachments")[: max(1, min(limit, 500))])


# declared before "/records/{record_uuid}", which would otherwise take "sync" as a record id
@router.post("/records/sync", response={200: RecordOut, 201: RecordOut, 409: ConflictOut})
def record_sync(request, payload: SyncIn):
    try:
        record, created = services.record_sync(actor=request.user, client_uuid=payload.uuid, data=_data(payload.data),
                                                base_version=payload.base_version,
                                                declared_attachments=payload.attachments, submit=payload.submit)
    except services.VersionConflict as e:
        return Status(409, {"code": e.code, "message": e.message, "fields": e.fields, "current": e.current,
                            "yours": e.yours})
    return Status(201 if created else 200, record)


@router.get("/records/{record_uuid}", response=RecordOut)
def record_get(request, record_uuid: UUID):
    return get_in_reach(Record.objects.select_related("category").prefetch_related("attachments"), request.user, VIEW,
                        uuid=record_uuid)


@router.post("/records/{record_uuid}/attachments", response={200: AttachmentResult, 201: AttachmentResult})
def attachment_upload(request, record_uuid: UUID, kind: Form[str], file: File[UploadedFile],
                      sha256: Form[str] = ""):
    record = get_in_reach(Record, request.user, VIEW, uuid=record_uuid)
    if file.size > services.ATTACHMENT_MAX_BYTES:
        limit = services.ATTACHMENT_MAX_BYTES // (1024 * 1024)
        raise ServiceError(f"文件不能超过 {limit} MB", fields={"file": f"文件不能超过 {limit} MB"})
    content = file.read()
    if sha256:
        import hashlib
        if hashlib.sha256(content).hexdigest() != sha256.lower():
            raise ServiceError("文件在传输中损坏（SHA-256 不一致），请重新上传", code="corrupt",
                               fields={"file": "SHA-256 不一致"})
    attachment, created = services.attachment_add(actor=request.user, record=record, kind=kind,
                                                  filename=file.name or "", content=content)
    record = get_in_reach(Record.objects.select_related("category"), request.user, VIEW, pk=record.pk)
    return Status(201 if created else 200, {"attachment": attachment, "record": record})


# resumable uploads (api_uploads.py): declared, sent in pieces, checked when whole
def _mount_uploads():
    from .api_uploads import router as uploads_router
    router.add_router("", uploads_router)


_mount_uploads()
