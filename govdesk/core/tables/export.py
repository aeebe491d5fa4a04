"""Exports: stream a scoped queryset into an xlsx, masked, audited, formula-safe.

    count = export_rows(actor=user, kind="orgunits", title="组织单位", columns=schema.export_columns,
                        queryset=OrgUnit.objects.restrict(user), path_or_stream="/tmp/units.xlsx",
                        filters={"kind": "street"})
    return export_response(actor=user, kind=..., title=..., columns=..., queryset=..., filename="组织单位.xlsx")

The workbook is written with xlsxwriter's constant-memory mode while the
queryset is read with ``.iterator(chunk_size=2000)``, so a million rows never
sit in memory. Text is always written as text: a cell that starts with
``= + - @`` (or a tab or carriage return) cannot become a formula. ID numbers and
phone numbers are masked unless the caller has established that the user may
see them in full (``unmask=True``), which is then audited as an unmasking.
The queryset must come from ``Model.objects.restrict(actor, ...)``.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from urllib.parse import quote

from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils import timezone

from .. import personal
from ..audit import audit
from ..models import AuditEvent
from .run import XLSX, actor_unit, base_formats, new_workbook, safe_text
from .schema import ExportColumn

A = AuditEvent.Action
CHUNK = 2000
ExportProgress = Callable[[int], None]


def _getter(value: str | Callable[[Any], Any]) -> Callable[[Any], Any]:
    if callable(value):
        return value
    parts = value.split(".")

    def get(obj):
        for part in parts:
            if obj is None:
                return None
            obj = getattr(obj, part)
        return obj() if callable(obj) else obj

    return get


def _personal_value(column: ExportColumn, value: Any, unmask: bool) -> str:
    """A personal column's getter returns the clear value (decrypting ``*_enc``); mask it unless unmasking."""
    text = str(value)
    return text if unmask else personal.MASKERS[column.personal](text)


def write_rows(path_or_stream: str | os.PathLike | IO[bytes], *, title: str, columns: Iterable[ExportColumn],
               rows: Iterable[Any], unmask: bool = False, progress: ExportProgress | None = None,
               tmpdir: str | os.PathLike | None = None) -> int:
    """Write ``rows`` (objects) into a new xlsx; return how many were written. No audit: see ``export_rows``.
    The rows wait in temporary files in ``tmpdir`` (default: the system's) until the workbook is closed."""
    columns = list(columns)
    getters = [_getter(c.value) for c in columns]
    target = os.fspath(path_or_stream) if isinstance(path_or_stream, (str, os.PathLike)) else path_or_stream
    book = new_workbook(target, streaming=True, tmpdir=tmpdir)
    formats = base_formats(book)
    column_formats = [book.add_format({"num_format": c.number_format}) if c.number_format else None for c in columns]
    sheet = book.add_worksheet((title or "导出")[:31].replace("/", "／"))
    for col, column in enumerate(columns):
        sheet.set_column(col, col, column.width or max(12, len(column.header) * 2 + 4),
                         formats["text"] if column.personal else None)
        sheet.write_string(0, col, column.header, formats["header"])
    sheet.freeze_panes(1, 0)
    count = 0
    write_string, write_number = sheet.write_string, sheet.write_number
    quoted = formats["quoted"]
    for obj in rows:
        count += 1
        for col, (column, get) in enumerate(zip(columns, getters, strict=True)):
            value = get(obj)
            if value is None or value == "":
                continue
            if column.personal:
                value = _personal_value(column, value, unmask)
            if isinstance(value, str):
                text, dangerous = safe_text(value)
                write_string(count, col, text, quoted if dangerous else None)
            elif isinstance(value, bool):
                write_string(count, col, "是" if value else "否")
            elif isinstance(value, (int, float)):
                write_number(count, col, value, column_formats[col])
            elif isinstance(value, Decimal):
                write_number(count, col, float(value), column_formats[col] or formats["decimal"])
            elif isinstance(value, datetime):
                local = timezone.localtime(value) if timezone.is_aware(value) else value
                sheet.write_datetime(count, col, local.replace(tzinfo=None), formats["datetime"])
            elif isinstance(value, date):
                sheet.write_datetime(count, col, value, formats["date"])
            else:
                text, dangerous = safe_text(str(value))
                write_string(count, col, text, quoted if dangerous else None)
        if progress and count % CHUNK == 0:
            progress(count)
    if count:
        sheet.autofilter(0, 0, count, len(columns) - 1)
    book.close()
    if progress:
        progress(count)
    return count


def export_rows(*, actor, kind: str, title: str, columns: Iterable[ExportColumn], queryset: QuerySet,
                path_or_stream: str | os.PathLike | IO[bytes], unmask: bool = False, filters: dict | None = None,
                progress: ExportProgress | None = None, tmpdir: str | os.PathLike | None = None) -> int:
    """Export ``queryset`` (already narrowed with ``restrict``) and write one audit event.

    ``unmask=True`` only when the caller checked that ``actor`` may see personal data
    in full (``services.may_unmask``); the export is then also audited as an unmasking.
    Returns the number of rows written."""
    columns = list(columns)
    count = write_rows(path_or_stream, title=title, columns=columns, rows=queryset.iterator(chunk_size=CHUNK),
                       unmask=unmask, progress=progress, tmpdir=tmpdir)
    audit_export(actor=actor, kind=kind, title=title, rows=count, filters=filters, unmask=unmask,
                 personal_columns=[c.header for c in columns if c.personal])
    return count


def may_unmask_export(actor, schema) -> bool:
    """Whether ``actor`` may export table ``schema``'s personal columns in full: the table's own
    rule (``TableSchema.may_unmask``) or else the core rule over the actor's home unit."""
    if actor is None:
        return False
    if schema.may_unmask is not None:
        return bool(schema.may_unmask(actor))
    from ..services import home_unit, may_unmask

    unit = home_unit(actor)
    return unit is not None and may_unmask(actor, unit)


@transaction.atomic
def audit_export(*, actor, kind: str, title: str, rows: int, filters: dict | None, unmask: bool,
                 personal_columns: list[str]) -> None:
    unit = actor_unit(actor)
    changes = {"kind": kind, "rows": rows, "filters": filters or {}, "unmasked": bool(unmask and personal_columns)}
    audit(actor=actor, action=A.EXPORT, unit=unit, object_type="table", object_id=kind, object_repr=title[:200],
          changes=changes)
    if unmask and personal_columns:
        audit(actor=actor, action=A.UNMASK, unit=unit, object_type="table", object_id=kind, verb="export",
              object_repr=title[:200], changes={"kind": kind, "rows": rows, "columns": personal_columns,
                                                 "filters": filters or {}})


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the real (Chinese) name per RFC 5987."""
    stem, dot, ext = filename.rpartition(".")
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in (stem or ext))
    fallback = (fallback.strip("_") or "export") + (f".{ext}" if dot else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def download_response(file: str | os.PathLike | IO[bytes] | bytes, filename: str,
                      content_type: str = XLSX) -> FileResponse:
    """A download of a file, an open binary file or bytes under a (Chinese) file name."""
    if isinstance(file, bytes):
        stream: IO[bytes] = io.BytesIO(file)
    elif isinstance(file, (str, os.PathLike)):
        stream = open(file, "rb")  # noqa: SIM115 — FileResponse closes it
    else:
        stream = file
    response = FileResponse(stream, content_type=content_type)
    response["Content-Disposition"] = content_disposition(filename)
    return response


def export_response(*, actor, kind: str, title: str, columns: Iterable[ExportColumn], queryset: QuerySet,
                    filename: str = "", unmask: bool = False, filters: dict | None = None) -> FileResponse:
    """Export in the request and answer the file (for tables below ``TABLE_BACKGROUND_ROWS``;
    bigger ones go through ``jobs.table_job_start``). The temporary file vanishes when closed."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 — handed to the response, which closes it
    export_rows(actor=actor, kind=kind, title=title, columns=columns, queryset=queryset, path_or_stream=spool,
                unmask=unmask, filters=filters)
    spool.seek(0)
    return download_response(spool, filename or export_filename(title))


def export_filename(title: str) -> str:
    return f"{title}-{timezone.localdate():%Y%m%d}.xlsx"
