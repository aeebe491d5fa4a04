"""Making the ugly files people really upload, for tests of any module's tables.

    data = xlsx_bytes([["2024年花名册"], [], ["编码", "名称"], ["A01", "甲"]], merges=["A1:B1"])
    data = csv_bytes([["编码", "名称"], ["A01", "甲"]], encoding="gbk")
    sheet_rows(workbook_bytes)   # the first sheet's rows, as calamine reads them
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import openpyxl
import python_calamine


def xlsx_bytes(rows: Iterable[Sequence[Any]], *, merges: Iterable[str] = (), text_columns: Iterable[int] = (),
               sheet: str = "Sheet1", extra_sheets: dict[str, list] | None = None) -> bytes:
    """An xlsx written by openpyxl: ``None`` leaves a cell empty, ``merges`` are ranges
    like ``"A1:D1"``, ``text_columns`` (1-based) get Excel's text format ``@``."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    text_columns = set(text_columns)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=c, value=value)
            if c in text_columns:
                cell.number_format = "@"
    for cell_range in merges:
        ws.merge_cells(cell_range)
    for name, extra in (extra_sheets or {}).items():
        other = book.create_sheet(name)
        for row in extra:
            other.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: Iterable[Sequence[Any]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    """A CSV as Excel saves it: ``utf-8-sig`` (with BOM), ``utf-8``, ``gbk``..."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode(encoding)


def xls_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """A legacy .xls (BIFF8) via xlwt, which tests import only when installed."""
    import xlwt  # an optional test dependency, imported only here

    book = xlwt.Workbook()
    ws = book.add_sheet("Sheet1")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if hasattr(value, "year"):
                ws.write(r, c, value, date_style)
            else:
                ws.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sheet_rows(data: bytes, sheet: int | str = 0) -> list[list]:
    """The rows of a workbook's sheet as python-calamine reads them."""
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    ws = book.get_sheet_by_index(sheet) if isinstance(sheet, int) else book.get_sheet_by_name(sheet)
    return ws.to_python(skip_empty_area=False)
