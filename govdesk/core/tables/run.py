"""The import engine: one file in, checked rows out, written in batches through the module.

    result = import_table(actor=request.user, kind="orgunits", file=upload, filename=upload.name,
                          mode="valid", dry_run=True)
    result.to_dict()            # {"kind", "rows", "valid", "invalid", "created", "updated", "unchanged", "errors"}
    errors_workbook(result)     # xlsx bytes: the rejected rows with an 错误信息 column
    template_workbook(schema)   # xlsx bytes: the blank template of a table

Order of work: read the file (``read.py``), clean every cell, resolve the org units
named in unit columns with one query and refuse those outside the user's reach,
check rules across columns, refuse duplicates of the natural key, then hand the
valid rows to the module's ``apply_batch`` in batches.

Modes. ``"all"``: if any row is refused nothing is written; the rows are
written in batches inside one transaction, so a refusal by the module's service
in the last batch still undoes the first. ``"valid"``: the good rows are written,
each batch in its own transaction (other writers get their turn between
batches). A dry run goes through the module's services too — that is how it
finds every refusal — inside a transaction that is always rolled back, and
reports what would be created, updated or left unchanged.
"""

from __future__ import annotations

import gc
import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from ..audit import audit
from ..errors import NotInReach, ServiceError
from ..models import AuditEvent, OrgUnit
from ..reach import READ_ONLY_ROLES, paths_for
from . import schema as registry
from .read import CellError, FileInput, Table, TableFileError, cell_text, cleaner, is_blank, read_table
from .schema import OUTCOMES, Column, RowError, TableSchema, UnitRef, ValidRow

ALL, VALID = "all", "valid"
MODES = (ALL, VALID)
Progress = Callable[[int, int], None]
__all__ = ["ALL", "VALID", "ImportResult", "TableFileError", "errors_workbook", "import_table", "template_workbook"]


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do).

    ``rows`` counts the non-blank data rows; ``valid`` + ``invalid`` = ``rows``.
    ``created``/``updated``/``unchanged`` count rows written (or that would be,
    in a dry run); they are 0 when an all-or-nothing import wrote nothing.
    ``errors`` are ``{"row", "column", "message"}`` with the row number Excel
    shows and the column's header ("" for the row as a whole). ``written`` says
    whether anything was committed. ``table`` keeps the rows read, for
    ``errors_workbook``."""

    kind: str
    mode: str = ALL
    dry_run: bool = False
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)
    written: bool = False
    table: Table | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """Every row was accepted."""
        return not self.errors

    def to_dict(self) -> dict:
        return {"kind": self.kind, "rows": self.rows, "valid": self.valid, "invalid": self.invalid,
                "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "errors": list(self.errors)}

    def summary(self, max_errors: int = 500) -> dict:
        """A JSON-able summary for ``TableJob.summary`` (the full error list is in the error workbook)."""
        data = self.to_dict()
        data["errors"] = self.errors[:max_errors]
        data.update(mode=self.mode, dry_run=self.dry_run, written=self.written,
                    errors_total=len(self.errors), filename=self.table.filename if self.table else "",
                    sheet=self.table.sheet if self.table else "",
                    header_row=self.table.header_row if self.table else 0,
                    ignored_columns=self.table.ignored if self.table else [])
        return data


# --- checking rows --------------------------------------------------------------------

class _Errors:
    """Row errors in the order found; ``rows`` is the set of refused row numbers."""

    def __init__(self):
        self.items: list[dict] = []
        self.rows: set[int] = set()

    def add(self, row: int, column: str, message: str) -> None:
        self.items.append({"row": row, "column": column, "message": message})
        self.rows.add(row)

    def sort(self, schema: TableSchema) -> None:
        """By row, and within a row in the order of the columns (the row as a whole last)."""
        order = {c.header: i for i, c in enumerate(schema.columns)}
        self.items.sort(key=lambda e: (e["row"], order.get(e["column"], len(order))))


def _messages(error: ValidationError) -> str:
    return "；".join(error.messages)


def _clean_rows(schema: TableSchema, table: Table, rows: Iterable[tuple[int, list]],
                errors: _Errors) -> list[tuple[int, dict]]:
    present = [c for c in schema.columns if c.key in table.columns]
    plan = [(c.key, c.header, table.columns[c.key], cleaner(c), c.required, c.validators) for c in present]
    absent = {c.key: None for c in schema.columns if c.key not in table.columns}
    cleaned = []
    for number, cells in rows:
        values = dict(absent)
        width = len(cells)
        for key, header, index, clean, required, validators in plan:
            raw = cells[index] if index < width else None
            value = None
            if not is_blank(raw):
                try:
                    value = clean(raw)
                except CellError as e:
                    errors.add(number, header, e.message)
                    values[key] = None
                    continue
            if value is None:
                if required:
                    errors.add(number, header, f"请填写{header}")
            else:
                for validate in validators:
                    try:
                        validate(value)
                    except ValidationError as e:
                        errors.add(number, header, _messages(e))
                        value = None
                        break
            values[key] = value
        cleaned.append((number, values))
    return cleaned


def _unit_order(columns: list[Column]) -> list[Column]:
    """Unit columns with each column after the one it lies ``within``."""
    ordered: list[Column] = []
    pending = list(columns)
    while pending:
        ready = [c for c in pending if not c.type.within or any(o.key == c.type.within for o in ordered)
                 or all(p.key != c.type.within for p in pending)]
        if not ready:
            raise ValueError("unit columns lie within each other in a circle")
        ordered.extend(ready)
        pending = [c for c in pending if c not in ready]
    return ordered


def _fetch_units(texts: set[str]) -> tuple[dict[str, OrgUnit], dict[str, list[OrgUnit]]]:
    by_code: dict[str, OrgUnit] = {}
    by_name: dict[str, list[OrgUnit]] = {}
    values = sorted(texts)
    for start in range(0, len(values), 400):  # SQLite's limit on query parameters
        chunk = values[start:start + 400]
        for unit in OrgUnit.objects.filter(Q(code__in=chunk) | Q(name__in=chunk)):
            if unit.code in texts:
                by_code[unit.code] = unit
            if unit.name in texts:
                by_name.setdefault(unit.name, []).append(unit)
    return by_code, by_name


def _resolve_units(schema: TableSchema, actor, cleaned: list[tuple[int, dict]], errors: _Errors) -> None:
    """Replace the text of every unit column by its OrgUnit, refusing what the actor may not reach."""
    columns = _unit_order([c for c in schema.columns if c.is_unit])
    if not columns:
        return
    texts = {values[c.key] for _n, values in cleaned for c in columns if values[c.key]}
    by_code, by_name = _fetch_units(texts)
    roots_cache: dict[frozenset, list[str]] = {}
    for column in columns:
        ref: UnitRef = column.type
        roles = frozenset(r for r in ref.roles if r not in READ_ONLY_ROLES)
        roots = roots_cache.setdefault(roles, paths_for(actor, roles))
        for number, values in cleaned:
            text = values[column.key]
            if not text:
                continue
            values[column.key] = None
            candidates: list[OrgUnit] = []
            if ref.by in ("code", "either") and text in by_code:
                candidates = [by_code[text]]
            if not candidates and ref.by in ("name", "either"):
                candidates = by_name.get(text, [])
            outer = values.get(ref.within) if ref.within else None
            if isinstance(outer, OrgUnit):
                candidates = [u for u in candidates if u.path.startswith(outer.path) and u.pk != outer.pk]
            candidates = [u for u in candidates if any(u.path.startswith(root) for root in roots)]
            if not candidates:
                errors.add(number, column.header, f"单位「{text}」不存在或不在您的权限范围内")
                continue
            if ref.kinds:
                fitting = [u for u in candidates if u.kind in ref.kinds]
                if not fitting:
                    wanted = "、".join(OrgUnit.Kind(k).label for k in ref.kinds)
                    errors.add(number, column.header,
                               f"「{text}」是{candidates[0].get_kind_display()}，此列应填写{wanted}")
                    continue
                candidates = fitting
            if len(candidates) > 1:
                errors.add(number, column.header, f"有 {len(candidates)} 个名为「{text}」的单位，请改填单位编码")
                continue
            unit = candidates[0]
            if unit.is_retired:
                errors.add(number, column.header, f"「{unit.name}」已撤销")
                continue
            values[column.key] = unit


def _key_of(values: dict, natural_key: tuple[str, ...]):
    parts = []
    for key in natural_key:
        value = values[key]
        if value is None:
            return None
        parts.append(value.casefold() if isinstance(value, str) else getattr(value, "pk", value))
    return tuple(parts)


def _refuse_duplicates(schema: TableSchema, cleaned: list[tuple[int, dict]], errors: _Errors) -> None:
    if not schema.natural_key:
        return
    seen: dict[tuple, list[int]] = {}
    for number, values in cleaned:
        key = _key_of(values, schema.natural_key)
        if key is not None:
            seen.setdefault(key, []).append(number)
    label = "、".join(schema.column(k).header for k in schema.natural_key)
    header = schema.column(schema.natural_key[0]).header
    for numbers in seen.values():
        if len(numbers) > 1:
            for number in numbers:
                others = "、".join(str(n) for n in numbers if n != number)
                errors.add(number, header, f"{label}与第 {others} 行重复，同一文件中每条记录只能出现一次")


class _SeenKeys:
    """Natural-key duplicates across the parts of a streamed file. Each key is remembered as its
    hash with its first row (a million keys in about 100 MB); the first row of a repeated key
    is refused too, as in a file checked at once."""

    def __init__(self, schema: TableSchema):
        self.schema = schema
        self.first: dict[int, int] = {}
        self.flagged: set[int] = set()

    def check(self, cleaned: list[tuple[int, dict]], errors: _Errors) -> None:
        schema = self.schema
        if not schema.natural_key:
            return
        label = "、".join(schema.column(k).header for k in schema.natural_key)
        header = schema.column(schema.natural_key[0]).header
        for number, values in cleaned:
            key = _key_of(values, schema.natural_key)
            if key is None:
                continue
            first = self.first.setdefault(hash(key), number)
            if first == number:
                continue
            errors.add(number, header, f"{label}与第 {first} 行重复，同一文件中每条记录只能出现一次")
            if first not in self.flagged:
                self.flagged.add(first)
                errors.add(first, header, f"{label}与第 {number} 行重复，同一文件中每条记录只能出现一次")


def check_rows(schema: TableSchema, actor, table: Table, rows: Iterable[tuple[int, list]] | None = None,
               errors: _Errors | None = None, seen: _SeenKeys | None = None) -> tuple[list[ValidRow], _Errors]:
    """Every check that needs no write: cells, unit reach, rules across columns, duplicates.

    By default the whole ``table`` at once; a streamed file is checked part by part (``rows``),
    with one ``errors`` and one ``seen`` for all its parts."""
    errors = errors if errors is not None else _Errors()
    cleaned = _clean_rows(schema, table, table.rows if rows is None else rows, errors)
    _resolve_units(schema, actor, cleaned, errors)
    if schema.check_row is not None:
        for number, values in cleaned:
            if number in errors.rows:
                continue
            try:
                schema.check_row(values)
            except ValidationError as e:
                if hasattr(e, "error_dict"):
                    for key, items in e.error_dict.items():
                        header = schema.column(key).header if key in schema._by_key else ""
                        errors.add(number, header, "；".join(m for item in items for m in item.messages))
                else:
                    errors.add(number, "", _messages(e))
    if seen is None:
        _refuse_duplicates(schema, cleaned, errors)
        errors.sort(schema)
    else:
        seen.check(cleaned, errors)
    valid = [ValidRow(row=number, values=values) for number, values in cleaned if number not in errors.rows]
    return valid, errors


STREAM_PART = 5000  # rows of a streamed file checked (and then written) at a time


def _checked_parts(schema: TableSchema, actor, table: Table, errors: _Errors, counted: list[int]):
    """The valid rows of ``table`` part by part (all at once when it is a list); a streamed
    file's rows are counted into ``counted[0]`` as they go by."""
    if not table.streamed:
        counted[0] = len(table.rows)
        yield check_rows(schema, actor, table, errors=errors)[0]
        return
    seen = _SeenKeys(schema)
    part: list[tuple[int, list]] = []
    for item in table.rows:
        part.append(item)
        if len(part) == STREAM_PART:
            counted[0] += len(part)
            yield check_rows(schema, actor, table, part, errors, seen)[0]
            part = []
    counted[0] += len(part)
    yield check_rows(schema, actor, table, part, errors, seen)[0]


# --- writing ------------------------------------------------------------------------------

def _apply(schema: TableSchema, actor, batch: list[ValidRow], dry_run: bool) -> list:
    """The module's outcomes for one batch; a refusal of the whole batch becomes one error per row."""
    try:
        with transaction.atomic():
            if not dry_run:
                _lock_table(schema.kind)
            outcomes = list(schema.apply_batch(actor, batch, dry_run))
    except ServiceError as e:
        return [RowError(e.message)] * len(batch)
    except NotInReach as e:
        return [RowError(e.message)] * len(batch)
    except ValidationError as e:
        return [RowError(_messages(e))] * len(batch)
    if len(outcomes) != len(batch):
        raise RuntimeError(f"{schema.kind}.apply_batch answered {len(outcomes)} outcomes for {len(batch)} rows")
    return outcomes


def _lock_table(kind: str) -> None:
    """Two imports into the same table take turns, from reading the existing keys to commit (the
    end of the outer transaction in ``all`` mode, of the batch in ``valid`` mode): the second then
    finds the first one's rows "unchanged" instead of creating them again (where no unique
    constraint stops it) or failing on the constraint. SQLite serialises writers anyway."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"govdesk-import:{kind}".encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def actor_unit(actor) -> OrgUnit | None:
    """The unit an import or export is filed under: the actor's home unit, else the root."""
    from ..services import home_unit

    return home_unit(actor) if actor is not None else OrgUnit.objects.filter(parent=None).first()


def import_table(*, actor, kind: str, file: FileInput, filename: str = "", mode: str = ALL,
                 dry_run: bool = False, progress: Progress | None = None) -> ImportResult:
    """Import ``file`` (a path, bytes or a file object such as an upload) as table ``kind``.

    Raises ``TableFileError`` (with a Chinese ``message``) when the file as a whole
    cannot be used and ``UnknownTable`` for an unknown kind; every row-level
    problem is in ``result.errors``. ``progress(done, total)`` is called as rows
    are checked and written. See the module docstring for modes and dry runs.

    The rows read and checked live until the import ends; each part is frozen out of the
    cyclic garbage collector's sight (``gc.freeze``) before it is written, so its full passes
    do not walk them again and again (about a sixth of the CPU of a 100,000-row import)."""
    try:
        return _import_table(actor=actor, kind=kind, file=file, filename=filename, mode=mode, dry_run=dry_run,
                             progress=progress)
    finally:
        gc.unfreeze()


def _import_table(*, actor, kind: str, file: FileInput, filename: str, mode: str, dry_run: bool,
                  progress: Progress | None) -> ImportResult:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    schema = registry.get(kind)
    if not schema.importable:
        raise TableFileError(schema.not_importable_message)
    table = read_table(schema, file, filename)
    result = ImportResult(kind=kind, mode=mode, dry_run=dry_run, rows=table.size_hint(), table=table)
    total = result.rows
    if progress:
        progress(0, total)
    errors = _Errors()
    counted = [0]
    counts = dict.fromkeys(OUTCOMES, 0)
    headers = {c.key: c.header for c in schema.columns}
    refused_in_write = False
    done = 0

    def write(valid: list[ValidRow]) -> None:
        nonlocal done, refused_in_write
        gc.freeze()
        for start in range(0, len(valid), schema.batch_size):
            batch = valid[start:start + schema.batch_size]
            for row, outcome in zip(batch, _apply(schema, actor, batch, dry_run), strict=True):
                if isinstance(outcome, RowError):
                    errors.add(row.row, headers.get(outcome.column, outcome.column), outcome.message)
                    refused_in_write = True
                elif outcome in counts:
                    counts[outcome] += 1
                else:
                    raise RuntimeError(f"{schema.kind}.apply_batch answered {outcome!r}")
            done += len(batch)
            if progress:
                progress(min(done + len(errors.rows), total), total)

    if dry_run or mode == ALL:
        # One transaction. A file read at once is checked whole first, so nothing reaches the
        # module when a row is refused; a streamed file is written part by part while no row has
        # been refused yet, and rolled back at the end if one was (in a dry run, the first row of
        # a key repeated further down the file is counted among what would be written).
        with transaction.atomic():
            for valid in _checked_parts(schema, actor, table, errors, counted):
                if dry_run or not errors.rows:
                    write(valid)
                elif progress:
                    progress(min(counted[0], total), total)
            if dry_run or refused_in_write or errors.rows:
                transaction.set_rollback(True)
                if not dry_run:
                    counts = dict.fromkeys(OUTCOMES, 0)
            elif counts["created"] or counts["updated"]:
                _audit_import(actor, schema, table, counts)
    else:
        parts = _checked_parts(schema, actor, table, errors, counted)
        if table.streamed:  # every row checked first, so a key repeated further down refuses its first row too
            for _valid in parts:
                pass
            refused = set(errors.rows)
            parts = ([row for row in valid if row.row not in refused]
                     for valid in _checked_parts(schema, actor, table, _Errors(), [0]))
        for valid in parts:
            write(valid)
        if counts["created"] or counts["updated"]:
            with transaction.atomic():
                _audit_import(actor, schema, table, counts)
    result.rows = total = counted[0]
    if progress:
        progress(total, total)
    errors.sort(schema)
    result.errors = errors.items
    result.invalid = len(errors.rows)
    result.valid = result.rows - result.invalid
    result.created, result.updated, result.unchanged = counts["created"], counts["updated"], counts["unchanged"]
    result.written = not dry_run and bool(counts["created"] or counts["updated"])
    return result


def _audit_import(actor, schema: TableSchema, table: Table, counts: dict) -> None:
    """One event for the import as a whole, beside the one event per row the module writes."""
    audit(actor=actor, action=AuditEvent.Action.IMPORT, unit=actor_unit(actor), object_type="table",
          object_id=schema.kind, object_repr=f"{schema.title}：{table.filename}"[:200],
          changes={"kind": schema.kind, "filename": table.filename, **counts})


# --- workbooks ---------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT_COLUMN_TYPES = (str, "id_number", "phone", "credit_code")


def new_workbook(target, *, streaming: bool = False, tmpdir=None) -> xlsxwriter.Workbook:
    """Every workbook the platform writes. Text stays text: xlsxwriter never turns a string into a
    formula, a number or a link (a name such as ``=cmd|' /C calc'!A0`` is written as it is).
    ``streaming`` writes rows out in constant memory through temporary files in ``tmpdir`` (the
    system's by default), for exports of any size; otherwise the workbook is built in memory."""
    options: dict = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    if streaming:
        options.update(constant_memory=True, tmpdir=os.fspath(tmpdir or tempfile.gettempdir()))
    else:
        options["in_memory"] = True
    return xlsxwriter.Workbook(target, options)


def safe_text(value: str) -> tuple[str, bool]:
    """(text, needs the quote prefix): a leading = + - @ tab or CR would make Excel read a formula
    when someone edits the cell; the ``quoted`` format keeps it text."""
    return value, value[:1] in ("=", "+", "-", "@", "\t", "\r")


def write_cell(sheet, row: int, col: int, value: Any, formats: dict) -> None:
    """Write one value by its type; text is always written as text (never a formula)."""
    if value is None or value == "":
        return
    if isinstance(value, str):
        text, dangerous = safe_text(value)
        sheet.write_string(row, col, text, formats["quoted"] if dangerous else None)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, (int, float, Decimal)):
        sheet.write_number(row, col, float(value) if isinstance(value, Decimal) else value,
                           formats.get("decimal") if isinstance(value, Decimal) else None)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value.replace(tzinfo=None), formats["datetime"])
    elif isinstance(value, date):
        sheet.write_datetime(row, col, value, formats["date"])
    else:
        text, dangerous = safe_text(cell_text(value))
        sheet.write_string(row, col, text, formats["quoted"] if dangerous else None)


def base_formats(book) -> dict:
    return {
        "quoted": book.add_format({"quote_prefix": True}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "decimal": book.add_format({"num_format": "0.00"}),
        "text": book.add_format({"num_format": "@"}),
        "header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                   "valign": "vcenter"}),
    }


def errors_workbook(result: ImportResult, table: Table | None = None) -> bytes:
    """The refused rows as they were uploaded, each with 原行号 and an 错误信息 column;
    the cells in error are shaded so people find them. Fix and upload it again."""
    table = table or result.table
    if table is None:
        raise ValueError("errors_workbook needs the table that was read")
    schema = registry.get(result.kind)
    index_of_header = {c.header: table.columns[c.key] for c in schema.columns if c.key in table.columns}
    by_row: dict[int, list[dict]] = {}
    for error in result.errors:
        by_row.setdefault(error["row"], []).append(error)
    buffer = io.BytesIO()
    book = new_workbook(buffer)
    formats = base_formats(book)
    shaded = book.add_format({"bg_color": "#FFC7CE"})
    message_format = book.add_format({"font_color": "#9C0006", "text_wrap": True})
    sheet = book.add_worksheet("错误行")
    headers = list(table.headers)
    width = max([len(headers)] + [len(cells) for _n, cells in table.rows if _n in by_row])
    headers += [""] * (width - len(headers))
    for col, header in enumerate([*headers, "原行号", "错误信息"]):
        sheet.write_string(0, col, header, formats["header"])
    text_columns = {table.columns[c.key] for c in schema.columns
                    if c.key in table.columns and (c.is_unit or any(c.type is t for t in TEXT_COLUMN_TYPES))}
    for col in text_columns:
        sheet.set_column(col, col, 20, formats["text"])
    sheet.set_column(width + 1, width + 1, 60)
    secret = {table.columns[c.key] for c in schema.columns if c.secret and c.key in table.columns}
    out = 1
    for number, cells in table.rows:
        row_errors = by_row.get(number)
        if not row_errors:
            continue
        bad = {index_of_header[e["column"]] for e in row_errors if e["column"] in index_of_header}
        for col, value in enumerate(cells):
            if col in secret:
                continue
            if col in bad:
                if is_blank(value):
                    sheet.write_blank(out, col, None, shaded)
                else:
                    sheet.write_string(out, col, cell_text(value), shaded)
            else:
                write_cell(sheet, out, col, value, formats)
        for col in bad - set(range(len(cells))):
            sheet.write_blank(out, col, None, shaded)
        sheet.write_number(out, width, number)
        text = "；".join(f"{e['column']}：{e['message']}" if e["column"] else e["message"] for e in row_errors)
        sheet.write_string(out, width + 1, text, message_format)
        out += 1
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def _describe(column: Column) -> str:
    kind = column.type
    if isinstance(kind, UnitRef):
        how = {"code": "单位编码", "name": "单位名称", "either": "单位编码或名称"}[kind.by]
        what = "、".join(OrgUnit.Kind(k).label for k in kind.kinds) if kind.kinds else "单位"
        return f"{what}的{how}，须在您的管辖范围内"
    described = {
        str: "文字" + (f"，不超过 {column.max_length} 个字" if column.max_length else ""),
        int: "整数",
        Decimal: f"数字，保留 {column.places} 位小数",
        date: "日期，如 2018-11-05、2018/11/5、2018年11月5日",
        bool: "填写“是”或“否”",
        "id_number": "18 位居民身份证号（单元格为文本格式，末位 X 大小写均可）",
        "phone": "手机号（11 位）或座机号（如 0371-67891234）",
        "credit_code": "18 位统一社会信用代码",
    }
    if isinstance(kind, (type, str)) and kind in described:
        return described[kind]
    return "可选值：" + "、".join(column.choice_labels())


def _number_format(column: Column) -> str:
    if column.is_unit or any(column.type is t for t in TEXT_COLUMN_TYPES):
        return "@"
    if column.type is date:
        return "yyyy-mm-dd"
    if column.type is Decimal:
        return "0." + "0" * column.places if column.places else "0"
    if column.type is int:
        return "0"
    return "@"


TEMPLATE_ROWS = 5000


def template_workbook(schema: TableSchema | str) -> bytes:
    """A blank template (of a schema or a kind): title row, header row (required columns
    in red, a note on each header), text-formatted ID and phone columns,
    drop-down lists for closed lists, and a 填写说明 sheet."""
    if isinstance(schema, str):
        schema = registry.get(schema)
    buffer = io.BytesIO()
    book = new_workbook(buffer)
    formats = base_formats(book)
    required_header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "font_color": "#C00000",
                                       "text_wrap": True, "valign": "vcenter"})
    title_format = book.add_format({"bold": True, "font_size": 14})
    sheet = book.add_worksheet("导入数据")
    notes = book.add_worksheet("填写说明")
    lists = None
    columns = schema.columns
    title = f"{schema.title}导入模板（第 2 行为列名，请勿修改；从第 3 行起填写；红色列名的列必须填写）"
    if len(columns) > 1:
        sheet.merge_range(0, 0, 0, len(columns) - 1, title, title_format)
    else:
        sheet.write_string(0, 0, title, title_format)
    sheet.set_row(0, 24)
    for col, column in enumerate(columns):
        sheet.write_string(1, col, column.header, required_header if column.required else formats["header"])
        fmt = book.add_format({"num_format": _number_format(column)})
        sheet.set_column(col, col, column.width or max(12, len(column.header) * 2 + 4), fmt)
        note = ("必填。" if column.required else "") + _describe(column) + (f"。{column.help}" if column.help else "")
        sheet.write_comment(1, col, note, {"x_scale": 2, "y_scale": 1.2})
        labels = ["是", "否"] if column.type is bool else column.choice_labels() if column.choice_map() else []
        if labels:
            if len(",".join(labels)) <= 250:
                source: Any = labels
            else:  # Excel caps an inline list at 255 characters: put long lists on a hidden sheet
                if lists is None:
                    lists = book.add_worksheet("选项")
                    lists.hide()
                for r, label in enumerate(labels):
                    lists.write_string(r, col, label)
                letter = xlsxwriter.utility.xl_col_to_name(col)
                source = f"=选项!${letter}$1:${letter}${len(labels)}"
            sheet.data_validation(2, col, TEMPLATE_ROWS + 1, col, {
                "validate": "list", "source": source, "error_title": column.header,
                "error_message": f"请从下拉列表中选择{column.header}"})
    sheet.freeze_panes(2, 0)
    notes.set_column(0, 0, 18)
    notes.set_column(1, 1, 10)
    notes.set_column(2, 2, 70)
    notes.write_string(0, 0, f"{schema.title}：填写说明", title_format)
    row = 1
    if schema.help:
        notes.write_string(row, 0, schema.help)
        row += 1
    row += 1
    for col, text in enumerate(["列名", "是否必填", "填写要求"]):
        notes.write_string(row, col, text, formats["header"])
    for column in columns:
        row += 1
        notes.write_string(row, 0, column.header)
        notes.write_string(row, 1, "必填" if column.required else "选填")
        notes.write_string(row, 2, _describe(column) + (f"。{column.help}" if column.help else ""))
    if schema.natural_key:
        row += 2
        keys = "、".join(schema.column(k).header for k in schema.natural_key)
        notes.write_string(row, 0, f"按「{keys}」识别记录：已有的记录会被更新，没有的会新增；同一文件中不能重复。")
    book.close()
    return buffer.getvalue()
