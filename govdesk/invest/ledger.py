"""The categorized ledgers (分类台账) of carriers and projects: one workbook, a sheet per category.

    parcels by status and by planned use (面积 亩), buildings by vacancy band (总面积 / 空置面积 ㎡),
    projects by stage and by "4+1" industry group (计划投资 / 实际到位 万元)

Each sheet has a title row, a line naming the unit and the month it covers, a header row, the
records of each category followed by its subtotal, and a totals row. Every record comes from the
same scoped queries as the pages (a street officer gets only its own carriers; the lead unit the
whole district). The workbook is written like the core exports: xlsxwriter in constant-memory mode
(rows go out in order, so each category is its own query read with ``iterator``), text always as
text with the quote prefix where it would start a formula, and one ``export`` audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from govdesk.core.models import OrgUnit
from govdesk.core.reach import OFFICERS, READ_ONLY_ROLES, VIEW, memberships_of
from govdesk.core.tables.export import CHUNK, audit_export
from govdesk.core.tables.run import base_formats, new_workbook, safe_text

from . import queries
from .models import Industry, Office, Parcel, Project, Use

KIND = "invest-ledger"
TITLE = "载体与项目分类台账"


@dataclass
class Column:
    header: str
    value: Callable[[Any], Any]
    width: int = 14
    summed: bool = False  # added up in the subtotals and the totals row
    number_format: str = ""


@dataclass
class Ledger:
    """One sheet: its records in categories, each category a scoped queryset."""

    sheet: str
    title: str
    measure: str  # the unit of a count: 宗, 栋, 个
    columns: list[Column]
    groups: list[tuple[str, QuerySet]]
    # (header of the ratio column, numerator header, denominator header): a subtotal's ratio is
    # the ratio of its sums, not the sum of the ratios
    ratio: tuple[str, str, str] | None = None
    note: str = ""


def _today() -> date:
    return timezone.localdate()


def scope_label(user) -> str:
    """The unit(s) the viewer's ledger covers: the district for the lead unit, else the viewer's own units."""
    if queries.is_lead_officer(user):
        lead = Office.current().lead_unit
        return f"{lead.parent.name}（全区）" if lead.parent_id else lead.name
    paths = [path for role, path in memberships_of(user) if role in OFFICERS | READ_ONLY_ROLES]
    names = OrgUnit.objects.restrict(user, VIEW).filter(path__in=paths).order_by("path").values_list("name", flat=True)
    return "、".join(dict.fromkeys(names)) or ("全区" if user.is_superuser else "—")


def _firms(project) -> str:
    return "、".join(f.name for f in project.firms.all())


def _vacancy(building) -> Decimal | None:
    return building.vacant_area / building.total_area if building.total_area else None


PARCEL_COLUMNS = [
    Column("报送单位", lambda p: p.org_unit.name, 12),
    Column("地块名称", lambda p: p.name, 24),
    Column("位置（四至）", lambda p: p.location, 30),
    Column("面积（亩）", lambda p: p.area_mu, 12, summed=True),
    Column("规划用途", lambda p: p.get_planned_use_display(), 10),
    Column("控规指标", lambda p: p.zoning, 18),
    Column("状态", lambda p: p.get_status_display(), 10),
    Column("招商方向", lambda p: p.direction, 24),
]
BUILDING_COLUMNS = [
    Column("报送单位", lambda b: b.org_unit.name, 12),
    Column("楼宇名称", lambda b: b.name, 24),
    Column("地址", lambda b: b.address, 28),
    Column("总面积（㎡）", lambda b: b.total_area, 14, summed=True),
    Column("空置面积（㎡）", lambda b: b.vacant_area, 14, summed=True),
    Column("空置率", _vacancy, 10, number_format="0.0%"),
    Column("租金（元/㎡·月）", lambda b: b.rent, 14),
    Column("产权单位", lambda b: b.owner, 20),
    Column("主要入驻企业", lambda b: b.main_tenants, 30),
]
PROJECT_COLUMNS = [
    Column("项目名称", lambda p: p.name, 28),
    Column("投资企业", _firms, 28),
    Column("产业", lambda p: str(p.industry), 18),
    Column("阶段", lambda p: p.get_stage_display(), 10),
    Column("计划投资（万元）", lambda p: p.planned_investment, 16, summed=True),
    Column("实际到位（万元）", lambda p: p.paid_in, 16, summed=True),
    Column("载体需求", lambda p: p.get_need_display(), 10),
    Column("责任工作组", lambda p: p.hq_group.name, 14),
    Column("责任领导", lambda p: p.leader, 12),
    Column("最近推进", lambda p: timezone.localdate(p.moved_at), 12),
]

# Vacancy bands on the vacant share of the floor area; integer multiples keep the boundaries exact.
VACANCY_BANDS = [
    ("满租（无空置）", Q(vacant_area=0)),
    ("空置率 10% 及以下", Q(vacant_area__gt=0, v10__lte=F("total_area"))),
    ("空置率 10%–30%", Q(v10__gt=F("total_area"), v10__lte=F("total_area") * 3)),
    ("空置率 30% 以上", Q(v10__gt=F("total_area") * 3)),
]


def ledgers(user, *, month: date, reported: tuple[int, int]) -> list[Ledger]:
    parcels = queries.parcels_visible(user).order_by("org_unit__path", "name", "id")
    buildings = (queries.buildings_visible(user).annotate(v10=F("vacant_area") * 10)
                 .order_by("org_unit__path", "name", "id"))
    projects = (queries.projects_visible(user).select_related("org_unit").prefetch_related("firms")
                .order_by("moved_at", "id"))
    done, expected = reported
    note = f"本月载体报送：已报 {done} / 应报 {expected} 个单位" if expected else ""
    groups_4p1 = list(dict.fromkeys(Industry.objects.order_by("order").values_list("group", flat=True)))
    return [
        Ledger("地块-按状态", "闲置地块台账（按状态）", "宗", PARCEL_COLUMNS,
               [(label, parcels.filter(status=value)) for value, label in Parcel.Status.choices], note=note),
        Ledger("地块-按规划用途", "闲置地块台账（按规划用途）", "宗", PARCEL_COLUMNS,
               [(label, parcels.filter(planned_use=value)) for value, label in Use.choices], note=note),
        Ledger("楼宇-按空置率", "商务楼宇台账（按空置率）", "栋", BUILDING_COLUMNS,
               [(label, buildings.filter(q)) for label, q in VACANCY_BANDS],
               ratio=("空置率", "空置面积（㎡）", "总面积（㎡）"), note=note),
        Ledger("项目-按阶段", "招商项目台账（按推进阶段）", "个", PROJECT_COLUMNS,
               [(Project.Stage(s).label, projects.filter(stage=s)) for s in [*Project.PIPELINE, Project.Stage.LOST]]),
        Ledger("项目-按4+1产业", "招商项目台账（按“4+1”产业体系）", "个", PROJECT_COLUMNS,
               [(g, projects.filter(industry__group=g)) for g in groups_4p1]),
    ]


class _Writer:
    """Writes one sheet row by row (constant-memory mode allows no going back)."""

    def __init__(self, book, formats):
        self.book, self.f = book, formats

    def cell(self, sheet, row, col, value, number_format=None, style=None):
        if value is None or value == "":
            if style is not None:
                sheet.write_blank(row, col, None, style)
            return
        if isinstance(value, str):
            text, dangerous = safe_text(value)
            sheet.write_string(row, col, text, self.f["quoted"] if dangerous else style)
        elif isinstance(value, bool):
            sheet.write_string(row, col, "是" if value else "否", style)
        elif isinstance(value, (int, float, Decimal)):
            sheet.write_number(row, col, float(value), number_format or style or self.f["decimal"])
        elif isinstance(value, datetime):
            local = timezone.localtime(value) if timezone.is_aware(value) else value
            sheet.write_datetime(row, col, local.replace(tzinfo=None), self.f["datetime"])
        elif isinstance(value, date):
            sheet.write_datetime(row, col, value, self.f["date"])
        else:
            text, dangerous = safe_text(str(value))
            sheet.write_string(row, col, text, self.f["quoted"] if dangerous else style)

    def ledger(self, ledger: Ledger, *, scope: str, month: date, today: date) -> int:
        f = self.f
        sheet = self.book.add_worksheet(ledger.sheet)
        headers = ["类别", "序号", *(c.header for c in ledger.columns)]
        widths = [16, 6, *(c.width for c in ledger.columns)]
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width)
        number_formats = [self.book.add_format({"num_format": c.number_format}) if c.number_format else None
                          for c in ledger.columns]
        sheet.write_string(0, 0, ledger.title, f["title"])
        scope_line = f"范围：{scope}　　月份：{month:%Y年%m月}　　数据截至：{today:%Y-%m-%d}"
        sheet.write_string(1, 0, scope_line + (f"　　{ledger.note}" if ledger.note else ""), f["note"])
        for col, header in enumerate(headers):
            sheet.write_string(2, col, header, f["header"])
        sheet.freeze_panes(3, 2)
        row, number = 3, 0
        grand = {c.header: Decimal("0") for c in ledger.columns if c.summed}
        grand_count = 0
        for label, qs in ledger.groups:
            sums = {key: Decimal("0") for key in grand}
            count = 0
            for obj in qs.iterator(chunk_size=CHUNK):
                count += 1
                number += 1
                self.cell(sheet, row, 0, label)
                sheet.write_number(row, 1, number)
                for col, (column, fmt) in enumerate(zip(ledger.columns, number_formats, strict=True), start=2):
                    value = column.value(obj)
                    if column.summed and value is not None:
                        sums[column.header] += Decimal(value)
                    self.cell(sheet, row, col, value, fmt)
                row += 1
            self._sum_row(sheet, row, ledger, f"{label} 小计", f"{count} {ledger.measure}", sums, f["subtotal"],
                          f["subtotal_number"], f["subtotal_percent"])
            row += 1
            grand_count += count
            for key, value in sums.items():
                grand[key] += value
        self._sum_row(sheet, row, ledger, "合计", f"{grand_count} {ledger.measure}", grand, f["total"],
                      f["total_number"], f["total_percent"])
        return grand_count

    def _sum_row(self, sheet, row, ledger, label, count, sums, style, number_style, percent_style):
        sheet.write_string(row, 0, label, style)
        sheet.write_string(row, 1, count, style)
        for col, column in enumerate(ledger.columns, start=2):
            if column.header in sums:
                sheet.write_number(row, col, float(sums[column.header]), number_style)
            elif ledger.ratio and column.header == ledger.ratio[0] and sums.get(ledger.ratio[2]):
                sheet.write_number(row, col, float(sums[ledger.ratio[1]] / sums[ledger.ratio[2]]), percent_style)
            else:
                sheet.write_blank(row, col, None, style)


def write_ledger(user, target: str | IO[bytes], *, today: date | None = None) -> list[Ledger]:
    """Write the viewer's ledger workbook into ``target`` (a path or a binary file) and audit the export."""
    today = today or _today()
    month = today.replace(day=1)
    completeness = queries.report_completeness(user, month)
    reported = (sum(1 for _unit, report in completeness if report), len(completeness))
    scope = scope_label(user)
    book = new_workbook(target, streaming=True)
    formats = base_formats(book)
    shade, total_shade = {"bold": True, "bg_color": "#F2F2F2"}, {"bold": True, "bg_color": "#DDEBF7", "top": 1}
    formats.update({
        "title": book.add_format({"bold": True, "font_size": 14}),
        "note": book.add_format({"font_color": "#595959"}),
        "subtotal": book.add_format(shade),
        "subtotal_number": book.add_format({**shade, "num_format": "0.00"}),
        "subtotal_percent": book.add_format({**shade, "num_format": "0.0%"}),
        "total": book.add_format(total_shade),
        "total_number": book.add_format({**total_shade, "num_format": "0.00"}),
        "total_percent": book.add_format({**total_shade, "num_format": "0.0%"}),
    })
    writer = _Writer(book, formats)
    sheets = ledgers(user, month=month, reported=reported)
    rows = sum(writer.ledger(ledger, scope=scope, month=month, today=today) for ledger in sheets)
    book.close()
    audit_export(actor=user, kind=KIND, title=f"{TITLE}（{scope}）", rows=rows, unmask=False, personal_columns=[],
                 filters={"month": f"{month:%Y-%m}", "sheets": [s.sheet for s in sheets]})
    return sheets


def filename(user, today: date | None = None) -> str:
    today = today or _today()
    return f"{TITLE}-{scope_label(user)}-{today:%Y%m}.xlsx"
