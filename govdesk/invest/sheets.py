"""The pitch sheet (项目包装) as a PDF, drawn with fpdf2 (pure Python, no system libraries).

Chinese needs a CJK font embedded in the file. None is shipped with the code: the sheet uses
the first one installed on the machine from ``FONT_CANDIDATES`` (Debian's fonts-noto-cjk
first), or from the setting ``INVEST_PDF_FONTS`` when it names any (environment
``GOVDESK_INVEST_PDF_FONTS``: comma-separated font files, tried instead of the built-in list).
A font found is remembered for the process; a failed lookup is not, so a font installed while
the server runs is found on the next request. Without one, ``render`` raises ``NoCjkFont`` and
the page falls back to the printable HTML sheet with a message.
Planning drawings that are images are printed on the sheet; PDF drawings are listed by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian/Ubuntu fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch, Alpine
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
NO_FONT_MESSAGE = "服务器未安装中文字体（如 fonts-noto-cjk），暂不能生成 PDF；请在本页用浏览器“打印”另存为 PDF"

PAGE_WIDTH = 180  # mm between the margins of an A4 page
LABEL_WIDTH = 32
IMAGE_MAX_HEIGHT = 150
NUMERALS = "一二三四五六七八九十"


class NoCjkFont(Exception):
    """No font that can write Chinese is installed."""


@dataclass
class Sheet:
    """What a pitch sheet says, gathered by the view from scoped queries."""

    kind: str  # parcel, building or project
    title: str
    subtitle: str
    advantages: str
    facts: list[tuple[str, str]]
    drawings: list = field(default_factory=list)  # Drawing rows (of the parcel)
    carriers: list[tuple[str, list]] = field(default_factory=list)  # (line, its drawings) for a project


def sheet_for(context: dict) -> Sheet:
    """The sheet of a ``queries.pitch_context``."""
    from .models import Project

    kind, obj, office = context["kind"], context["obj"], context["office"]
    label = {"parcel": "招商地块", "building": "招商楼宇", "project": "招商项目"}[kind]
    sheet = Sheet(kind=kind, title=obj.name, subtitle=f"{label}推介", advantages=office.advantages, facts=[])
    if kind == "parcel":
        sheet.facts = [("位置", f"{obj.location}（{obj.org_unit.name}）"), ("面积", f"{obj.area_mu} 亩"),
                       ("规划用途", obj.get_planned_use_display()), ("控规指标", obj.zoning),
                       ("状态", obj.get_status_display()), ("招商方向", obj.direction)]
        sheet.drawings = context["drawings"]
    elif kind == "building":
        sheet.facts = [("地址", f"{obj.address}（{obj.org_unit.name}）"), ("产权单位", obj.owner),
                       ("总面积", f"{obj.total_area} ㎡"), ("可租面积", f"{obj.vacant_area} ㎡"),
                       ("租金", f"{obj.rent} 元/㎡·月"), ("招商方向", obj.direction),
                       ("主要入驻企业", obj.main_tenants)]
    else:
        need = obj.get_need_display()
        if obj.need_area:
            need += f" {obj.need_area} {'亩' if obj.need == Project.Need.PARCEL else '㎡'}"
        if obj.need_use:
            need += f"（{obj.get_need_use_display()}）"
        sheet.facts = [("投资企业", "、".join(f.name for f in context["firms"])), ("产业方向", str(obj.industry)),
                       ("计划投资", f"{obj.planned_investment} 万元"), ("载体需求", need),
                       ("推进阶段", obj.get_stage_display())]
        matches = context["matches"]
        sheet.carriers = [
            *[(f"{c.name}：{c.area_mu} 亩，{c.get_planned_use_display()}，{c.org_unit.name}", c.drawing_list)
              for c in matches["parcels"]],
            *[(f"{c.name}：可租 {c.vacant_area} ㎡，{c.rent} 元/㎡·月，{c.org_unit.name}", [])
              for c in matches["buildings"]]]
    return sheet


def _candidates() -> tuple[str, ...]:
    configured = getattr(settings, "INVEST_PDF_FONTS", None)
    return tuple(configured) if configured else FONT_CANDIDATES


# candidates -> (path, face number). Only successes are kept: a miss is looked up again next time
# (a few stat calls), so installing fonts-noto-cjk needs no restart.
_found: dict[tuple[str, ...], tuple[str, int]] = {}


def _font_in(candidates: tuple[str, ...]) -> tuple[str, int] | None:
    """(path, face number) of the first installed CJK font; in a collection the Simplified Chinese face."""
    from fontTools.ttLib import TTCollection, TTLibError

    for candidate in candidates:
        path = Path(candidate)
        if not path.is_file():
            continue
        if path.suffix.lower() != ".ttc":
            return str(path), 0
        try:
            faces = TTCollection(str(path), lazy=True).fonts
        except (TTLibError, OSError):
            continue
        names = [str(face["name"].getDebugName(4) or "") for face in faces]
        simplified = [i for i, name in enumerate(names) if name.endswith(" SC") or "GB" in name]
        return str(path), simplified[0] if simplified else 0
    return None


def font() -> tuple[str, int] | None:
    candidates = _candidates()
    found = _found.get(candidates)
    if found is not None and Path(found[0]).is_file():
        return found
    found = _font_in(candidates)
    if found is None:
        _found.pop(candidates, None)
    else:
        _found[candidates] = found
    return found


def _pdf(font_file: tuple[str, int]):
    from fpdf import FPDF

    class PitchPDF(FPDF):
        footer_text = ""

        def footer(self):
            self.set_y(-12)
            self.set_font("cjk", size=8)
            self.set_text_color(120)
            self.cell(0, 6, f"{self.footer_text}　第 {self.page_no()} 页", align="C")

    pdf = PitchPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    path, number = font_file
    pdf.add_font("cjk", fname=path, collection_font_number=number)
    return pdf


def render(sheet: Sheet, *, upload_root: Path, issuer: str = "", today: date | None = None) -> bytes:
    """The sheet as PDF bytes. Raises ``NoCjkFont`` when no Chinese font is installed."""
    from fpdf.enums import WrapMode

    font_file = font()
    if font_file is None:
        raise NoCjkFont(NO_FONT_MESSAGE)
    pdf = _pdf(font_file)
    pdf.footer_text = "　".join(p for p in (issuer, f"{today or date.today():%Y-%m-%d} 生成") if p)
    pdf.set_title(sheet.title)
    pdf.set_creator("GovDesk 区政通")
    pdf.add_page()
    pdf.set_font("cjk", size=20)
    pdf.multi_cell(0, 11, sheet.title, align="C", wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=11)
    pdf.set_text_color(100)
    pdf.cell(0, 8, sheet.subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(4)

    sections = iter(NUMERALS)

    def heading(text):
        pdf.ln(2)
        pdf.set_font("cjk", size=14)
        pdf.cell(0, 9, f"{next(sections)}、{text}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=11)

    def paragraph(text):
        pdf.multi_cell(0, 6.5, text, wrapmode=WrapMode.CHAR, align="L", new_x="LMARGIN", new_y="NEXT")

    if sheet.advantages:
        heading("区位优势")
        paragraph(sheet.advantages)
    heading({"parcel": "地块概况", "building": "楼宇概况"}.get(sheet.kind, "项目概况"))
    with pdf.table(col_widths=(LABEL_WIDTH, PAGE_WIDTH - LABEL_WIDTH), first_row_as_headings=False,
                   text_align="LEFT", wrapmode=WrapMode.CHAR, line_height=7, padding=1.5) as table:
        for label, value in sheet.facts:
            row = table.row()
            row.cell(label)
            row.cell(value or "—")
    if sheet.drawings:
        heading("规划图纸")
        _drawings(pdf, sheet.drawings, upload_root, paragraph)
    if sheet.carriers:
        heading("可供载体")
        for line, drawings in sheet.carriers:
            paragraph(f"· {line}")
            _drawings(pdf, drawings, upload_root, paragraph)
    return bytes(pdf.output())


def _drawings(pdf, drawings, upload_root: Path, paragraph) -> None:
    """Images on the page, scaled to the width (and a page's height); PDFs and unreadable files by name."""
    from PIL import Image

    listed = []
    for drawing in drawings:
        if not drawing.is_image:
            listed.append(f"规划图纸（PDF，另附）：{drawing.original_name}")
            continue
        path = upload_root / drawing.stored_name
        try:
            with Image.open(path) as image:
                image.load()
                width_px, height_px = image.size
        except Exception:  # a broken or hostile image is named, never fatal to the sheet
            listed.append(f"规划图纸（无法显示，请在系统中查看）：{drawing.original_name}")
            continue
        width = PAGE_WIDTH
        height = width * height_px / width_px
        if height > IMAGE_MAX_HEIGHT:
            width, height = IMAGE_MAX_HEIGHT * width_px / height_px, IMAGE_MAX_HEIGHT
        if pdf.get_y() + height + 8 > pdf.page_break_trigger:
            pdf.add_page()
        pdf.image(str(path), x=pdf.l_margin + (PAGE_WIDTH - width) / 2, y=pdf.get_y(), w=width, h=height,
                  alt_text=drawing.original_name)
        pdf.set_y(pdf.get_y() + height + 1)
        pdf.set_font("cjk", size=9)
        pdf.cell(0, 5, drawing.original_name, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=11)
        pdf.ln(2)
    for line in listed:
        paragraph(line)
