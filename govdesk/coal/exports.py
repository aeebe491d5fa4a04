"""The look-back report the city asks for: one fixed-layout sheet per campaign.

Not a flat table, so not a table of the engine: a title, the campaign's particulars, a
two-row header, one row per street (in the user's reach), a 合计 row and the signature
line. It is small (one row per street), written in the request with the engine's formats
and audited as an export like every table (``tables.export.audit_export``).
"""

from __future__ import annotations

import io

from django.utils import timezone

from govdesk.core.tables.export import audit_export
from govdesk.core.tables.run import new_workbook

from . import queries

KIND = "coal-campaign-report"
# (header, key) under 复查结果对比 and 处置情况; the first block stands alone.
HEAD = [("复查点位数", "total"), ("已复查", "done"), ("未复查", "pending"), ("完成率", "rate")]
COMPARED = [("仍有散煤", "still_problem"), ("已清零", "clean_now"), ("新发现问题", "new_problem"),
            ("保持清零", "still_clean")]
HANDLED = [("收缴散煤（公斤）", "seized"), ("下达整改", "orders"), ("移交执法", "referred")]
TOTALLED = ["total", "done", "pending", "still_problem", "clean_now", "new_problem", "still_clean", "seized",
            "orders", "referred"]


def report_title(campaign) -> str:
    return f"散煤治理回头看工作情况统计表（{campaign.title}）"


def report_filename(campaign) -> str:
    return f"回头看统计表-{campaign.title}-{timezone.localdate():%Y%m%d}.xlsx"


def campaign_report_workbook(user, campaign) -> bytes:
    """The report as xlsx bytes, with one audit event for the export."""
    rows = queries.campaign_report(user, campaign)
    totals = {key: sum(r[key] for r in rows) for key in TOTALLED}
    buffer = io.BytesIO()
    book = new_workbook(buffer)
    border = {"border": 1, "valign": "vcenter", "align": "center"}
    title = book.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    plain = book.add_format({"valign": "vcenter"})
    head = book.add_format({**border, "bold": True, "bg_color": "#DDEBF7", "text_wrap": True})
    cell = book.add_format(border)
    kg = book.add_format({**border, "num_format": "0.0"})
    rate = book.add_format({**border, "num_format": "0.0%"})
    total_text = book.add_format({**border, "bold": True})
    total_cell = book.add_format({**border, "bold": True})
    total_kg = book.add_format({**border, "bold": True, "num_format": "0.0"})
    total_rate = book.add_format({**border, "bold": True, "num_format": "0.0%"})

    sheet = book.add_worksheet("回头看统计表")
    last = 1 + len(HEAD) + len(COMPARED) + len(HANDLED) + 1  # 序号, 街道, ..., 备注 (0-based last column)
    sheet.merge_range(0, 0, 0, last, report_title(campaign), title)
    sheet.set_row(0, 30)
    scope = "截止日以来台账有问题的点位" if campaign.mode == campaign.Mode.PROBLEMS else "指定类型的全部点位"
    cutoff = f"（{campaign.cutoff:%Y-%m-%d} 起）" if campaign.cutoff else ""
    sheet.merge_range(1, 0, 1, last // 2, f"填报单位：{campaign.district.name}散煤治理办公室", plain)
    sheet.merge_range(1, last // 2 + 1, 1, last,
                      f"统计截至：{timezone.localtime():%Y年%m月%d日 %H:%M}", plain)
    sheet.merge_range(2, 0, 2, last, f"复查期间：{campaign.period_start:%Y年%m月%d日} 至 "
                      f"{campaign.period_end:%Y年%m月%d日}　复查范围：{scope}{cutoff}　"
                      f"状态：{campaign.get_status_display()}", plain)
    top, sub = 3, 4
    sheet.merge_range(top, 0, sub, 0, "序号", head)
    sheet.merge_range(top, 1, sub, 1, "街道", head)
    col = 2
    for header, _key in HEAD:
        sheet.merge_range(top, col, sub, col, header, head)
        col += 1
    for group, items in (("复查结果对比", COMPARED), ("处置情况", HANDLED)):
        sheet.merge_range(top, col, top, col + len(items) - 1, group, head)
        for offset, (header, _key) in enumerate(items):
            sheet.write_string(sub, col + offset, header, head)
        col += len(items)
    sheet.merge_range(top, last, sub, last, "备注", head)
    sheet.set_row(sub, 30)
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 16)
    sheet.set_column(2, last - 1, 11)
    sheet.set_column(last, last, 18)

    def write(r: int, values: dict, text_format, number, kg_format, rate_format) -> None:
        c = 2
        for _header, key in HEAD:
            if key == "rate":
                sheet.write_number(r, c, values["done"] / values["total"] if values["total"] else 0, rate_format)
            else:
                sheet.write_number(r, c, values[key], number)
            c += 1
        for _header, key in COMPARED + HANDLED:
            sheet.write_number(r, c, float(values[key]), kg_format if key == "seized" else number)
            c += 1
        sheet.write_blank(r, last, None, text_format)

    r = sub + 1
    for number, row in enumerate(rows, start=1):
        sheet.write_number(r, 0, number, cell)
        sheet.write_string(r, 1, row["street__name"], cell)
        write(r, row, cell, cell, kg, rate)
        r += 1
    sheet.merge_range(r, 0, r, 1, "合计", total_text)
    write(r, totals, total_text, total_cell, total_kg, total_rate)
    r += 2
    sheet.write_string(r, 0, "填表人：", plain)
    sheet.write_string(r, 4, "审核人：", plain)
    sheet.write_string(r, 8, "联系电话：", plain)
    sheet.write_string(r + 1, 0, "说明：“仍有散煤”“已清零”为原台账有问题的点位复查结果；“新发现问题”“保持清零”为原台账无问题的点位。",
                       plain)
    sheet.fit_to_pages(1, 0)
    sheet.set_landscape()
    sheet.repeat_rows(top, sub)
    book.close()
    audit_export(actor=user, kind=KIND, title=report_title(campaign)[:200], rows=len(rows),
                 filters={"campaign": campaign.pk}, unmask=False, personal_columns=[])
    return buffer.getvalue()
