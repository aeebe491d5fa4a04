"""Resumable uploads for collection terminals (mounted on the veterans router).

1. ``POST /records/{record_uuid}/uploads`` declares a file: ``upload_id`` (the device's UUID),
   ``kind``, ``size``, ``sha256``, ``content_type``, ``filename``. 201 when new, 200 when it
   was declared before (the answer's ``received`` says where to go on).
2. ``PUT /uploads/{upload_id}`` sends a piece: the raw bytes as the body, the place either as
   ``Content-Range: bytes START-END/TOTAL`` or as ``?offset=START``. A piece the server already
   has is harmless; a gap is 409 ``offset_mismatch``. The piece that completes the file makes
   the attachment; a file whose SHA-256 or type does not match is 400 ``corrupt``/``bad_type``
   and must be sent again from offset 0.
3. ``GET /uploads/{upload_id}`` says how much has arrived (also in the ``Upload-Offset`` header).

The record's ``complete`` flag (``GET /records/{uuid}``) turns true only when every declared
attachment has arrived whole.
"""

from uuid import UUID

from django.http import HttpResponse
from ninja import Router, Schema, Status

from govdesk.core.errors import ServiceError
from govdesk.core.reach import VIEW, get_in_reach

from . import services, uploads
from .models import Record, Upload

router = Router(tags=["veterans"])


class UploadIn(Schema):
    upload_id: UUID
    kind: str
    size: int
    sha256: str
    content_type: str
    filename: str = ""


class UploadOut(Schema):
    upload_id: UUID
    record_uuid: UUID
    kind: str
    size: int
    received: int
    complete: bool
    attachment_id: int | None
    record_complete: bool
    missing_attachments: list[str]

    @staticmethod
    def resolve_upload_id(obj):
        return obj.uuid

    @staticmethod
    def resolve_record_uuid(obj):
        return obj.record.uuid

    @staticmethod
    def resolve_complete(obj):
        return obj.status == Upload.Status.DONE

    @staticmethod
    def resolve_missing_attachments(obj):
        return services._attachments_missing(obj.record)

    @staticmethod
    def resolve_record_complete(obj):
        return not services._attachments_missing(obj.record)


def _fetch(request, upload_id: UUID, action=VIEW) -> Upload:
    return get_in_reach(Upload.objects.select_related("record"), request.user, action, uuid=upload_id)


@router.post("/records/{record_uuid}/uploads", response={200: UploadOut, 201: UploadOut})
def upload_start(request, record_uuid: UUID, payload: UploadIn):
    record = get_in_reach(Record, request.user, VIEW, uuid=record_uuid)
    upload, created = uploads.upload_start(actor=request.user, record=record, upload_uuid=payload.upload_id,
                                           kind=payload.kind, size=payload.size, sha256=payload.sha256,
                                           content_type=payload.content_type, filename=payload.filename)
    return Status(201 if created else 200, _fetch(request, upload.uuid))


@router.get("/uploads/{upload_id}", response=UploadOut)
def upload_status(request, upload_id: UUID, response: HttpResponse):
    upload = _fetch(request, upload_id)
    response["Upload-Offset"] = str(upload.received)
    return upload


@router.put("/uploads/{upload_id}", response=UploadOut)
def upload_chunk(request, upload_id: UUID, response: HttpResponse, offset: int | None = None):
    upload = _fetch(request, upload_id, VIEW)
    data = request.body
    total = None
    if request.headers.get("Content-Range"):
        offset, total = uploads.parse_content_range(request.headers["Content-Range"], len(data))
    elif offset is None:
        raise ServiceError("请用 Content-Range 头或 offset 参数说明分片的位置", code="bad_range",
                           fields={"offset": "缺少偏移量"})
    upload = uploads.upload_chunk(actor=request.user, upload=upload, offset=offset, data=data, total=total)
    response["Upload-Offset"] = str(upload.received)
    return _fetch(request, upload.uuid)
