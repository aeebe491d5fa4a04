"""Reading what people really upload: xlsx/xls (python-calamine), csv in UTF-8 or GBK.

``read_table(schema, file, filename)`` returns a ``Table``: the real header row
found below title rows and merged group headers, the file's columns mapped to
the schema's, and the non-blank data rows with the row numbers Excel shows.
``cleaner(column)`` turns one raw cell into a clean value or raises
``CellError`` with a Chinese message. Files that cannot be used raise
``TableFileError`` (too large, a zip bomb, not a spreadsheet, no header...).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import python_calamine
from django.conf import settings
from django.core.exceptions import ValidationError

from .. import personal
from .schema import Column, TableSchema, UnitRef, choice_labels, choice_map

HEADER_SCAN_ROWS = 15
# An xlsx is a zip of XML; a real one inflates about 5–15×. Refuse archives whose
# members claim more than this many times the upload limit before calamine opens them.
UNCOMPRESSED_FACTOR = 10
MAX_ZIP_MEMBERS = 5000

NOT_A_TABLE = "文件不是有效的 Excel 或 CSV 文件"
FileInput = str | os.PathLike | bytes | IO[bytes]


class TableFileError(Exception):
    """The file as a whole cannot be used; ``message`` says why, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CellError(ValueError):
    """One cell's value cannot be used."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Table:
    """A file's table after the header row was found.

    ``headers`` are the file's header texts (the error workbook repeats them);
    ``columns`` maps a schema column key to its index in each row's cells;
    ``rows`` are ``(Excel row number, cells)`` of the non-blank data rows: a list, or for a
    large xlsx a ``StreamedRows`` that reads them again each time it is iterated."""

    filename: str
    sheet: str
    header_row: int
    headers: list[str]
    columns: dict[str, int]
    ignored: list[str] = field(default_factory=list)
    rows: list[tuple[int, list]] | StreamedRows = field(default_factory=list)

    @property
    def streamed(self) -> bool:
        return not isinstance(self.rows, list)

    def size_hint(self) -> int:
        """The number of data rows (an upper bound, from the sheet's dimension, when streamed)."""
        return self.rows.estimate if self.streamed else len(self.rows)


# --- normalising text ---------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_REQUIRED_MARKS = re.compile(r"[*]|\((必填|选填|可选|非必填|必须)\)")


def norm_text(value: str) -> str:
    """Full-width digits, letters and spaces to half-width (NFKC), no zero-width
    characters, no leading or trailing spaces."""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value).translate(_INVISIBLE)
    return value.strip()


def fold_key(text: str) -> str:
    """The form headers and list values are compared in: NFKC, no spaces at all,
    case-folded, without the required-column marks templates add (``*``, ``（必填）``)."""
    return _REQUIRED_MARKS.sub("", personal.fold(text).casefold())


def _number_text(value: float | int) -> str:
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value)


def cell_text(value: Any) -> str:
    """Any cell as the text a person sees: 13812345678.0 → "13812345678"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return norm_text(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return norm_text(str(value))


def is_blank(value: Any) -> bool:
    return value is None or (value.__class__ is str and not value.strip())


# --- cell cleaners --------------------------------------------------------------------

def _clean_text(column: Column):
    limit = column.max_length

    def clean(raw):
        value = raw.strip() if raw.__class__ is str and raw.isascii() else cell_text(raw)
        if limit is not None and len(value) > limit:
            raise CellError(f"不能超过 {limit} 个字（现有 {len(value)} 个字）")
        return value or None

    return clean


_INT = re.compile(r"^[+-]?\d+(\.0*)?$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _clean_int(raw):
    if isinstance(raw, bool):
        raise CellError(f"应为整数：{cell_text(raw)}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise CellError(f"应为整数：{_number_text(raw)}")
    text = personal.fold(cell_text(raw)).replace(",", "")
    if not _INT.match(text):
        raise CellError(f"应为整数：{cell_text(raw)}")
    return int(text.split(".")[0])


def _clean_decimal(places: int):
    quantum = Decimal(1).scaleb(-places)

    def clean(raw):
        if isinstance(raw, bool):
            raise CellError(f"数字格式无法识别：{cell_text(raw)}")
        if isinstance(raw, float):
            # repr is the shortest text that reads back as the same float: 0.1 stays 0.1
            value = Decimal(repr(raw))
        elif isinstance(raw, int):
            value = Decimal(raw)
        else:
            text = personal.fold(cell_text(raw)).replace(",", "").lstrip("¥")
            if not _DECIMAL.match(text):
                raise CellError(f"数字格式无法识别：{cell_text(raw)}")
            value = Decimal(text)
        try:
            return value.quantize(quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise CellError(f"数字太大：{cell_text(raw)}") from None

    return clean


_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^\d{1,6}(\.\d+)?$")
EXCEL_EPOCH = date(1899, 12, 30)


def _from_number(number: float) -> date:
    if number.is_integer() and 19000101 <= number <= 29991231:
        text = str(int(number))
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if 1 <= number < 2958466:  # Excel's serial day numbers (1900 date system)
        return EXCEL_EPOCH + timedelta(days=int(number))
    raise ValueError(number)


def clean_date(raw) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    shown = cell_text(raw)
    try:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return _from_number(float(raw))
        text = re.sub(r"\s+", " ", shown)
        match = _DATE.match(text) or _COMPACT_DATE.match(text)
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
        if _SERIAL.match(text):
            return _from_number(float(text))
    except (ValueError, OverflowError):
        pass
    raise CellError(f"日期格式无法识别：{shown}")


_TRUE = {"是", "有", "y", "yes", "true", "1", "√", "✓", "✔", "对"}
_FALSE = {"否", "无", "n", "no", "false", "0", "×", "✗", "✘", "错"}


def clean_bool(raw) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    text = fold_key(cell_text(raw))
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(f"请填写“是”或“否”，而不是：{cell_text(raw)}")


def _personal(check: Callable[[Any], str], lossy_message: str = ""):
    def clean(raw):
        if isinstance(raw, float) and lossy_message:
            raise CellError(lossy_message)
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        try:
            return check(raw)
        except ValidationError as e:
            raise CellError("；".join(e.messages)) from None

    return clean


def _clean_choice(column: Column):
    mapping = choice_map(column.type) or {}
    labels = choice_labels(column.type)
    allowed = "、".join(labels[:12]) + ("等" if len(labels) > 12 else "")

    def clean(raw):
        value = mapping.get(fold_key(cell_text(raw)))
        if value is None:
            raise CellError(f"只能填写：{allowed}（填写的是：{cell_text(raw)}）")
        return value

    return clean


def _clean_unit_name(raw) -> str:
    # Resolved to an OrgUnit by the engine, one query for the whole file.
    return personal.fold(cell_text(raw))


def cleaner(column: Column) -> Callable[[Any], Any]:
    """The function that turns one non-blank raw cell of ``column`` into its clean value."""
    kind = column.type
    if isinstance(kind, UnitRef):
        return _clean_unit_name
    if kind is str:
        return _clean_text(column)
    if kind is bool:
        return clean_bool
    if kind is int:
        return _clean_int
    if kind is Decimal:
        return _clean_decimal(column.places)
    if kind is date:
        return clean_date
    if kind == "id_number":
        return _personal(personal.clean_id_number)  # it explains the float itself
    if kind == "phone":
        return _personal(personal.clean_phone)
    if kind == "credit_code":
        return _personal(lambda raw: personal.clean_credit_code(str(raw)),
                         "统一社会信用代码被 Excel 转成了数字，末几位可能已丢失；请将该列设为文本格式后重新填写")
    if choice_map(kind) is not None:
        return _clean_choice(column)
    raise TypeError(f"column {column.key}: unknown type {kind!r}")


# --- files ------------------------------------------------------------------------------

def upload_limit() -> int:
    return settings.UPLOAD_MAX_BYTES


def _too_large() -> TableFileError:
    return TableFileError(f"文件超过 {upload_limit() // (1024 * 1024)} MB，请拆分后分批导入")


def load_bytes(file: FileInput) -> bytes:
    """The file's bytes, refusing anything over ``settings.UPLOAD_MAX_BYTES``."""
    limit = upload_limit()
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = bytes(file)
    elif isinstance(file, (str, os.PathLike)):
        path = Path(file)
        try:
            if path.stat().st_size > limit:
                raise _too_large()
            data = path.read_bytes()
        except FileNotFoundError:
            raise TableFileError(f"找不到文件：{path}") from None
    else:
        if hasattr(file, "seek"):
            file.seek(0)
        data = file.read(limit + 1)
    if len(data) > limit:
        raise _too_large()
    if not data:
        raise TableFileError("文件是空的")
    return data


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise TableFileError(NOT_A_TABLE) from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise TableFileError("文件内部结构异常（条目过多），已拒绝")
    inflated = sum(member.file_size for member in members)
    if inflated > UNCOMPRESSED_FACTOR * upload_limit():
        raise TableFileError("文件解压后体积异常（疑似压缩炸弹），已拒绝；请另存为普通的 .xlsx 后再导入")


@dataclass
class Grid:
    """One sheet as lists of cells; ``merges`` are ((row, col), (row, col)) 0-based.
    A streamed sheet's grid holds only its first rows (to find the header) and ``data``."""

    name: str
    rows: list[list]
    merges: list = field(default_factory=list)
    data: bytes | None = None
    max_row: int = 0


class StreamedRows:
    """The non-blank data rows of a large sheet, from ``start`` (0-based) on, read with openpyxl's
    read-only mode each time they are iterated: constant memory whatever the file's length."""

    def __init__(self, data: bytes, sheet: str, start: int, wanted: list[int], estimate: int):
        self.data, self.sheet, self.start, self.wanted, self.estimate = data, sheet, start, wanted, estimate

    def __iter__(self):
        book = _open_streaming(self.data)
        try:
            rows = book[self.sheet].iter_rows(min_row=self.start + 1, values_only=True)
            for number, row in enumerate(rows, start=self.start + 1):
                width = len(row)
                if any(i < width and not is_blank(row[i]) for i in self.wanted):
                    yield number, ["" if v is None else v for v in row]
        finally:
            book.close()


def _largest_sheet(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return max((m.file_size for m in archive.infolist() if m.filename.startswith("xl/worksheets/")), default=0)


def _open_streaming(data: bytes):
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises several error types for a broken file
        raise TableFileError(NOT_A_TABLE) from None


def _streamed_sheet(data: bytes, schema: TableSchema | None) -> Grid:
    """The best-matching sheet's first rows, read streaming. calamine holds a whole sheet in
    memory (about 1 GB for a million rows of ten columns), so an xlsx whose largest sheet
    inflates beyond ``settings.TABLE_STREAM_SHEET_BYTES`` (a sheet of 100,000 such rows is
    about 60 MB) is read with openpyxl's read-only mode: constant memory, about half as fast."""
    book = _open_streaming(data)
    lookup = header_lookup(schema) if schema else {}
    best_score, best = -1, None
    try:
        for sheet in book.worksheets:
            if sheet.sheet_state != "visible":
                continue
            head = [["" if v is None else v for v in row]
                    for row in sheet.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True)]
            score = max((len(_match_row(row, lookup)) for row in head), default=0)
            if score > best_score:
                best_score, best = score, Grid(name=sheet.title, rows=head, data=data, max_row=sheet.max_row or 0)
    except TableFileError:
        raise
    except Exception:
        raise TableFileError(NOT_A_TABLE) from None
    finally:
        book.close()
    if best is None:
        raise TableFileError("文件中没有工作表")
    return best


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif b"\x00" in data[:4096]:
        raise TableFileError(NOT_A_TABLE)  # binary, not text
    else:
        candidates = ["utf-8", "gb18030"]  # GB18030 is a superset of GBK and GB2312
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise TableFileError(NOT_A_TABLE)
        return text
    raise TableFileError("无法识别 CSV 文件的编码，请在 Excel 中另存为“CSV UTF-8”或 .xlsx 后再导入")


def _csv_grid(data: bytes) -> Grid:
    text = _decode(data)
    first_line = text[:4096].split("\n", 1)[0]
    delimiter = max([",", "\t", ";"], key=first_line.count)
    if not first_line.count(delimiter):
        delimiter = ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        raise TableFileError(NOT_A_TABLE) from None
    return Grid(name="CSV", rows=rows)


def _workbook(data: bytes) -> python_calamine.CalamineWorkbook:
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise TableFileError("文件设有打开密码，请去掉密码后再导入") from None
    except Exception:  # calamine raises several error types for a broken file
        raise TableFileError(NOT_A_TABLE) from None


def _best_sheet(data: bytes, schema: TableSchema | None) -> Grid:
    workbook = _workbook(data)
    lookup = header_lookup(schema) if schema else {}
    best_score, best = -1, None
    for index, meta in enumerate(workbook.sheets_metadata):
        if meta.visible != python_calamine.SheetVisibleEnum.Visible or meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
            continue
        try:
            sheet = workbook.get_sheet_by_index(index)
            head = sheet.to_python(skip_empty_area=False, nrows=HEADER_SCAN_ROWS)
        except Exception:
            raise TableFileError(NOT_A_TABLE) from None
        score = max((len(_match_row(row, lookup)) for row in head), default=0)
        if score > best_score:
            best_score, best = score, sheet
    if best is None:
        raise TableFileError("文件中没有工作表")
    try:
        rows = best.to_python(skip_empty_area=False)
        merges = list(best.merged_cell_ranges or [])
    except Exception:
        raise TableFileError(NOT_A_TABLE) from None
    return Grid(name=best.name, rows=rows, merges=merges)


def load_grid(data: bytes, filename: str = "", schema: TableSchema | None = None) -> Grid:
    """The sheet to import: the sheet whose first rows best match ``schema``'s headers
    (a template's notes sheet is passed over), or the CSV's rows."""
    if data.startswith(b"PK\x03\x04"):
        _check_zip(data)
        if _largest_sheet(data) > settings.TABLE_STREAM_SHEET_BYTES:
            return _streamed_sheet(data, schema)
        return _best_sheet(data, schema)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: .xls (or an encrypted .xlsx)
        return _best_sheet(data, schema)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")):
        raise TableFileError("该文件实际是网页（HTML/XML）格式而不是真正的 Excel 文件；请用 Excel 打开后另存为 .xlsx 再导入")
    if Path(filename).suffix.lower() in {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}:
        raise TableFileError(NOT_A_TABLE)
    return _csv_grid(data)


# --- the header row ---------------------------------------------------------------------

def header_lookup(schema: TableSchema) -> dict[str, str]:
    """{folded header or alias: column key}."""
    lookup: dict[str, str] = {}
    for column in schema.columns:
        for name in (*column.aliases, column.header):
            lookup[fold_key(name)] = column.key
    return lookup


def _match_row(cells: list, lookup: dict[str, str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if is_blank(cell):
            continue
        key = lookup.get(fold_key(cell_text(cell)))
        if key is not None and key not in found:
            found[key] = index
    return found


def _header_cells(grid: Grid, index: int) -> list:
    """Row ``index`` with the cells of vertically merged headers above it filled in."""
    cells = list(grid.rows[index])
    for (top, left), (bottom, right) in grid.merges:
        if top < index <= bottom and top < len(grid.rows):
            for col in range(left, min(right, len(cells) - 1) + 1):
                if is_blank(cells[col]) and left < len(grid.rows[top]):
                    cells[col] = grid.rows[top][left]
    return cells


def find_header(grid: Grid, schema: TableSchema) -> tuple[int, list, dict[str, int]]:
    """(row index, header cells, {key: column index}) of the best-matching row among the first rows."""
    lookup = header_lookup(schema)
    best = (-1, [], {})
    for index in range(min(HEADER_SCAN_ROWS, len(grid.rows))):
        cells = _header_cells(grid, index)
        found = _match_row(cells, lookup)
        if len(found) > len(best[2]):
            best = (index, cells, found)
    if not best[2]:
        wanted = "」「".join(c.header for c in schema.columns[:4])
        raise TableFileError(f"没有找到表头：前 {HEADER_SCAN_ROWS} 行中没有「{wanted}」等列名，请使用下载的模板")
    return best


def read_table(schema: TableSchema, file: FileInput, filename: str = "") -> Table:
    """Read ``file`` for ``schema``: find the header row, map columns, keep non-blank rows."""
    data = load_bytes(file)
    if not filename and isinstance(file, (str, os.PathLike)):
        filename = os.fspath(file)
    grid = load_grid(data, filename, schema)
    index, cells, columns = find_header(grid, schema)
    missing = [c.header for c in schema.columns if c.required and c.key not in columns]
    if missing:
        raise TableFileError(f"缺少必填列：{'、'.join(missing)}")
    headers = [cell_text(cell) for cell in cells]
    by_index = {i: key for key, i in columns.items()}
    lookup = header_lookup(schema)
    duplicated = [h for i, h in enumerate(headers) if h and i not in by_index and lookup.get(fold_key(h))]
    if duplicated:
        raise TableFileError(f"列「{duplicated[0]}」出现了不止一次，请删除多余的一列")
    ignored = [h for i, h in enumerate(headers) if h and i not in by_index]
    # Data starts below the header and below any header cell merged downwards from it.
    start = index + 1
    for (top, _left), (bottom, _right) in grid.merges:
        if top <= index <= bottom:
            start = max(start, bottom + 1)
    wanted = sorted(columns.values())
    if grid.data is not None:
        rows = StreamedRows(grid.data, grid.name, start, wanted, max(grid.max_row - start, 0))
        return Table(filename=os.path.basename(filename), sheet=grid.name, header_row=index + 1, headers=headers,
                     columns=columns, ignored=ignored, rows=rows)
    rows = []
    for number, row in enumerate(grid.rows[start:], start=start + 1):
        width = len(row)
        # Pre-numbered template rows (a 序号 and nothing else) are blank too.
        if any(i < width and not is_blank(row[i]) for i in wanted):
            rows.append((number, row))
    return Table(filename=os.path.basename(filename), sheet=grid.name, header_row=index + 1, headers=headers,
                 columns=columns, ignored=ignored, rows=rows)


def count_rows(file: FileInput, filename: str = "") -> int:
    """A quick upper bound of a file's data rows, to choose between inline and background.
    Raises ``TableFileError`` for what is plainly not a spreadsheet."""
    data = load_bytes(file)
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        if data.startswith(b"PK"):
            _check_zip(data)
            if _largest_sheet(data) > settings.TABLE_STREAM_SHEET_BYTES:
                book = _open_streaming(data)
                try:
                    return max((sheet.max_row or 0 for sheet in book.worksheets), default=0)
                finally:
                    book.close()
        workbook = _workbook(data)
        try:
            return max((workbook.get_sheet_by_index(i).height for i in range(len(workbook.sheet_names))), default=0)
        except Exception:
            raise TableFileError(NOT_A_TABLE) from None
    return len(load_grid(data, filename).rows)
