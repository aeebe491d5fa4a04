"""Resumable uploads of scanned documents from collection terminals (services).

A device declares a file first (its own upload UUID, kind, size, SHA-256, type), then sends
the bytes in pieces at offsets, in any number of requests and connections. The server keeps
what has arrived in a partial file and the count in ``Upload.received``; a device that lost
its connection asks how much arrived and goes on from there. A piece that repeats bytes the
server already has is harmless (they must be the same bytes); a piece that would leave a gap
is refused with the offset to continue from. When the last byte arrives the whole file is
checked — size, magic bytes against the declared type, SHA-256 — and becomes an
``Attachment`` through ``services.attachment_add`` (which also submits the record for review
when the device asked so and the record's declared attachments are now all there). A file
that fails the check is discarded and must be sent again from the start.

The partial file lives beside the attachments (``MEDIA_ROOT/veterans/uploads/``). Bytes are
written before the row is updated; a write whose transaction did not commit leaves bytes past
``received``, which the next piece overwrites (the file is truncated to what the row says).
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from govdesk.core.audit import Entry, audit, audit_many
from govdesk.core.errors import Conflict, ServiceError
from govdesk.core.models import AuditEvent
from govdesk.core.reach import CHANGE, require

from . import services
from .models import Attachment, Record, Upload

A = AuditEvent.Action
CHUNK_MAX_BYTES = getattr(settings, "VETERANS_UPLOAD_CHUNK_MAX_BYTES", 4 * 1024 * 1024)
CONTENT_TYPES = set(services.EXTENSIONS)
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
CONTENT_RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


def part_path(upload: Upload) -> Path:
    return services.storage_root() / "uploads" / f"{upload.uuid.hex}.part"


def parse_content_range(header: str, length: int) -> tuple[int, int | None]:
    """``bytes START-END/TOTAL`` → (offset, total). END is inclusive, as in HTTP."""
    match = CONTENT_RANGE_RE.match((header or "").strip())
    if not match:
        raise ServiceError("Content-Range 格式不正确，应如「bytes 0-65535/200000」",
                           code="bad_range", fields={"content_range": "格式不正确"})
    start, end = int(match[1]), int(match[2])
    if end < start or end - start + 1 != length:
        raise ServiceError(f"Content-Range 声明 {end - start + 1} 字节，实际收到 {length} 字节",
                           code="bad_range", fields={"content_range": "长度与内容不一致"})
    return start, None if match[3] == "*" else int(match[3])


def _declared(kind, filename, size, sha256, content_type) -> dict:
    errors = {}
    if kind not in Attachment.Kind.values:
        errors["kind"] = "附件类型不正确"
    sha256 = (sha256 or "").strip().lower()
    if not SHA256_RE.match(sha256):
        errors["sha256"] = "SHA-256 应为 64 位十六进制数"
    limit = services.ATTACHMENT_MAX_BYTES
    if not isinstance(size, int) or not 1 <= size <= limit:
        errors["size"] = f"文件大小应为 1 字节到 {limit // (1024 * 1024)} MB"
    content_type = (content_type or "").strip().lower()
    if content_type not in CONTENT_TYPES:
        errors["content_type"] = "只接受 JPEG、PNG 图片或 PDF 文件"
    if errors:
        raise ServiceError(next(iter(errors.values())), fields=errors)
    name = Path((filename or "").replace("\\", "/")).name[:200]
    return {"kind": kind, "filename": name, "size": size, "sha256": sha256, "content_type": content_type}


@transaction.atomic
def upload_start(*, actor, record: Record, upload_uuid, kind: str, size: int, sha256: str, content_type: str,
                 filename: str = "") -> tuple[Upload, bool]:
    """Declare a file: (upload, created). Declaring the same upload again is a harmless success
    (the answer says how much has arrived); the same UUID with another declaration is a 409. A
    file the record already holds (same SHA-256) is done at once, without sending any bytes."""
    declared = _declared(kind, filename, size, sha256, content_type)
    record = Record.objects.select_for_update().get(pk=record.pk)
    require(actor, record, CHANGE)
    existing = Upload.objects.filter(uuid=upload_uuid).first()
    if existing is not None:
        return _replayed(actor, existing, record, declared), False
    attachment = Attachment.objects.filter(record=record, sha256=declared["sha256"]).first()
    if attachment is None and record.status in (Record.Status.REVIEWED, Record.Status.ARCHIVED):
        raise ServiceError(f"记录已{record.get_status_display()[1:]}，不能再上传附件")
    upload = Upload(uuid=upload_uuid, record=record, created_by=actor, **declared)
    if attachment is not None:
        upload.received, upload.status, upload.attachment = upload.size, Upload.Status.DONE, attachment
    try:
        with transaction.atomic():
            upload.save()
    except IntegrityError:
        # the same declaration arrived twice at once and the other request won
        existing = Upload.objects.filter(uuid=upload_uuid).first()
        if existing is None:
            raise
        return _replayed(actor, existing, record, declared), False
    audit(actor=actor, action=A.CREATE, unit=record.org_unit, obj=upload, verb="upload_start",
          changes={"record": record.pk, "kind": upload.kind, "size": upload.size, "sha256": upload.sha256,
                   "status": upload.status})
    return upload, True


def _replayed(actor, upload: Upload, record: Record, declared: dict) -> Upload:
    require(actor, upload, CHANGE)
    same = upload.record_id == record.pk and all(getattr(upload, k) == v for k, v in declared.items()
                                                 if k != "filename")
    if not same:
        raise Conflict("同一上传标识已声明了不同的文件；上传另一个文件请使用新的上传标识", code="uuid_conflict")
    return upload


def upload_chunk(*, actor, upload: Upload, offset: int, data: bytes, total: int | None = None) -> Upload:
    """Store one piece at ``offset``; when the file is whole, check it and make the attachment.
    A failed check discards what arrived (committed) and then refuses with ``corrupt``."""
    upload, failure = _chunk(actor, upload, offset, data, total)
    if failure is not None:
        raise failure
    return upload


@transaction.atomic
def _chunk(actor, upload: Upload, offset: int, data: bytes, total: int | None):
    upload = Upload.objects.select_for_update().select_related("record", "record__org_unit").get(pk=upload.pk)
    require(actor, upload, CHANGE)
    if total is not None and total != upload.size:
        raise ServiceError(f"总长度 {total} 与声明的文件大小 {upload.size} 不一致", code="bad_range",
                           fields={"size": "与声明的大小不一致"})
    if upload.status == Upload.Status.DONE:
        return upload, None  # a piece sent again after the file was complete: harmless
    if len(data) > CHUNK_MAX_BYTES:
        limit = CHUNK_MAX_BYTES // 1024
        raise ServiceError(f"每个分片不能超过 {limit} KB", code="chunk_too_large", fields={"data": "分片过大"})
    if not data:
        raise ServiceError("分片是空的", fields={"data": "分片是空的"})
    if offset < 0 or offset > upload.received:
        raise Conflict(f"偏移量不连续：已收到 {upload.received} 字节，请从第 {upload.received} 字节继续上传",
                       code="offset_mismatch", fields={"offset": str(upload.received)})
    end = offset + len(data)
    if end > upload.size:
        raise ServiceError(f"超出声明的文件大小 {upload.size} 字节", code="bad_range",
                           fields={"data": "超出声明的大小"})
    path = part_path(upload)
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+b") as f:
        f.seek(offset)
        overlap = min(end, upload.received) - offset
        if overlap > 0 and f.read(overlap) != data[:overlap]:
            raise Conflict("该分片与已收到的内容不一致，请查询进度后重新上传", code="chunk_mismatch",
                           fields={"offset": str(upload.received)})
        if end > upload.received:
            f.truncate(upload.received)  # drop bytes of a write whose transaction did not commit
            f.seek(upload.received)
            f.write(data[overlap if overlap > 0 else 0:])
    if end <= upload.received:
        return upload, None  # a repeated piece: nothing new
    upload.received = end
    if upload.received < upload.size:
        upload.save(update_fields=["received", "updated_at"])
        return upload, None
    return _finish(actor, upload, path)


def _finish(actor, upload: Upload, path: Path):
    content = path.read_bytes()[:upload.size]
    problem = None
    if hashlib.sha256(content).hexdigest() != upload.sha256:
        problem = ServiceError("文件在传输中损坏（SHA-256 与声明不一致），已丢弃收到的数据，请从头重新上传",
                               code="corrupt", fields={"sha256": "SHA-256 不一致"})
    else:
        sniffed = services.sniff(content)
        if sniffed is None or sniffed[0] != upload.content_type:
            problem = ServiceError("文件内容与声明的类型不符（只接受 JPEG、PNG 图片或 PDF 文件），已丢弃收到的数据",
                                   code="bad_type", fields={"content_type": "文件类型与声明不符"})
    if problem is not None:
        upload.received = 0
        upload.save(update_fields=["received", "updated_at"])
        path.unlink(missing_ok=True)
        audit(actor=actor, action=A.UPDATE, unit=upload.record.org_unit, obj=upload, verb="upload_discarded",
              changes={"reason": problem.code})
        return upload, problem
    attachment, _created = services.attachment_add(actor=actor, record=upload.record, kind=upload.kind,
                                                   filename=upload.filename, content=content)
    upload.status, upload.attachment = Upload.Status.DONE, attachment
    upload.save(update_fields=["received", "status", "attachment", "updated_at"])
    transaction.on_commit(lambda: path.unlink(missing_ok=True))
    return upload, None


ABANDONED_AFTER = timedelta(days=getattr(settings, "VETERANS_UPLOAD_ABANDONED_DAYS", 7))


@transaction.atomic
def uploads_prune(*, actor=None, older_than: timedelta = ABANDONED_AFTER, now=None) -> int:
    """Forget uploads that stopped arriving (``receiving`` and untouched for ``older_than``):
    their partial files are deleted once the transaction commits and their rows go, each
    audited. A device that comes back later declares the file again (a new or the same UUID)
    and sends it from the start. Returns how many were pruned."""
    cutoff = (now or timezone.now()) - older_than
    stale = list(Upload.objects.select_for_update(skip_locked=True)
                 .filter(status=Upload.Status.RECEIVING, updated_at__lt=cutoff)
                 .select_related("record__org_unit"))
    if not stale:
        return 0
    paths = [part_path(u) for u in stale]
    audit_many(actor=actor, entries=[Entry(action=A.DELETE, unit=u.record.org_unit, obj=u, verb="upload_abandoned",
                                           changes={"record": u.record_id, "kind": u.kind, "size": u.size,
                                                    "received": u.received,
                                                    "last_piece": u.updated_at.isoformat()})
                                     for u in stale])
    Upload.objects.filter(pk__in=[u.pk for u in stale]).delete()
    transaction.on_commit(lambda: [p.unlink(missing_ok=True) for p in paths])
    return len(stale)
