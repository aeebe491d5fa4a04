"""Hostile input: what every form, import and endpoint of the platform is fed.

Strings are grouped by what they attack; files are built on demand (a zip bomb is a few
kilobytes that inflate to ``factor`` times the upload limit).
"""

from __future__ import annotations

import io
import zipfile

XSS = [
    "<script>alert('xss')</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(document.cookie)",
    "</script><script>alert(1)</script>",
    "{{ 7*7 }}{% debug %}",
    "<iframe src=//evil.example></iframe>",
    "' onmouseover='alert(1)",
]
SQL = [
    "'; DROP TABLE core_orgunit; --",
    "1' OR '1'='1",
    "\" OR 1=1 --",
    "%_%\\",
    "1; SELECT pg_sleep(5)",
]
FORMULA = [
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "=HYPERLINK(\"http://evil.example\",\"点击\")",
]
UNICODE = [
    "王\u202e记烧饼店",  # right-to-left override
    "李\u200b\u200c\u200d\ufeff某",  # zero-width characters
    "🔥煤店😀👨‍👩‍👧",  # emoji, including a joined sequence
    "𠮷野家",  # a CJK extension B character (4 bytes in UTF-8)
    "Ｆｕｌｌ－ｗｉｄｔｈ　名称",
    "\u0000null",  # refused at the door (core.middleware.RejectNulMiddleware): PostgreSQL cannot store it
]
LONG = ["长" * 5000, "a" * 100_000]
TRAVERSAL_NAMES = ["../../../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow.xlsx", "照片\u0000.png.exe",
                   "....//....//secret.png"]

TEXT = XSS + SQL + FORMULA + UNICODE + LONG
ALL_STRINGS = TEXT


def hostile_strings():
    return list(TEXT)


def zip_bomb(inflated_bytes: int) -> bytes:
    """A valid .xlsx-looking zip whose sheet inflates to ``inflated_bytes`` of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b"0" * (1 << 20)
            for _ in range(inflated_bytes // len(chunk) + 1):
                sheet.write(chunk)
    return buffer.getvalue()


def malformed_xlsx() -> bytes:
    """Starts like a zip (PK) and is cut short: a truncated download."""
    good = io.BytesIO()
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["名称", "地址"])
    book.save(good)
    return good.getvalue()[: len(good.getvalue()) // 2]


def not_a_spreadsheet() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200  # a Windows executable's first bytes


def html_as_image() -> bytes:
    return b"<html><script>alert(1)</script></html>"


def total_inputs() -> int:
    """How many distinct hostile inputs the corpus holds (strings and files)."""
    return len(TEXT) + len(TRAVERSAL_NAMES) + 4
