"""Uploaded files: one check and one store for every module.

A file is accepted by its magic bytes (PDF, JPEG, PNG — never by the name the browser sent),
within ``UPLOAD_MAX_BYTES``, with an extension that matches its content, and kept under
``MEDIA_ROOT/<area>/`` by its SHA-256 (the same file uploaded twice is stored once). Files
are served only through a view that fetches their record with ``get_in_reach``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.db import models

from .errors import ServiceError

# Accepted uploads: the magic bytes decide, never the name the browser sent.
FILE_TYPES = {
    "application/pdf": (b"%PDF-", {".pdf"}),
    "image/jpeg": (b"\xff\xd8\xff", {".jpg", ".jpeg"}),
    "image/png": (b"\x89PNG\r\n\x1a\n", {".png"}),
}


def upload_root(area: str) -> Path:
    return Path(settings.MEDIA_ROOT) / area


def sniff_type(head: bytes) -> str | None:
    """The accepted type (``FILE_TYPES``) whose magic bytes ``head`` starts with, or None."""
    for content_type, (magic, _exts) in FILE_TYPES.items():
        if head.startswith(magic):
            return content_type
    return None


def store_upload(upload, *, area: str) -> dict:
    """Check an uploaded file (PDF, JPEG or PNG by its magic bytes, within the size limit,
    the name's extension matching the content) and store it under MEDIA_ROOT/<area> by its
    SHA-256. Returns the ``StoredFile`` fields (without who and when)."""
    if upload is None:
        raise ServiceError("请选择要上传的文件", fields={"file": "请选择文件"})
    limit = settings.UPLOAD_MAX_BYTES
    if upload.size == 0:
        raise ServiceError("文件是空的", fields={"file": "文件是空的"})
    if upload.size > limit:
        raise ServiceError(f"文件不能超过 {limit // (1024 * 1024)} MB", fields={"file": "文件过大"})
    digest = hashlib.sha256()
    head = b""
    for chunk in upload.chunks():
        if len(head) < 16:
            head += chunk[:16]
        digest.update(chunk)
    content_type = sniff_type(head)
    suffix = Path(upload.name or "").suffix.lower()
    if content_type is None:
        raise ServiceError("只能上传 PDF、JPG 或 PNG 文件", fields={"file": "文件类型不支持"})
    if suffix not in FILE_TYPES[content_type][1]:
        raise ServiceError("文件扩展名与文件内容不符", fields={"file": "扩展名与内容不符"})
    sha = digest.hexdigest()
    stored = f"{sha[:2]}/{sha}{suffix}"
    target = upload_root(area) / stored
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        with open(tmp, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        tmp.replace(target)
    return {"original_name": Path(upload.name).name[:200], "stored_name": stored, "content_type": content_type,
            "size": upload.size, "sha256": sha}


class StoredFile(models.Model):
    """The fields of an uploaded file's record (``store_upload`` fills the first five)."""

    original_name = models.CharField(max_length=200)
    stored_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        abstract = True

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
