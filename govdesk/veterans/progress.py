"""Progress of the campaign from the rollup, not live counts.

``models.Progress`` holds, per state, how many collected records there are at four grains:
per day × community × collection point × collector (``day``), the same for all days
(``total``), per community × category (``category``) and per day × community (``daily``). The
dashboard and the upward report read the small grains (a few thousand rows however many records
there are); the ``day`` grain is the detail behind them.

Every service that creates a record or changes its state, community, category, point or
collector calls ``rollup_move(before, after)`` with the records' ``rollup_key`` before and after
the change, in the same transaction: one ``INSERT … ON CONFLICT DO UPDATE`` adds the deltas to
every grain (the same statement on SQLite and PostgreSQL; keys sorted, so two writers lock rows
in the same order). A draft counts nowhere until it is submitted. ``rollup_rebuild`` recomputes
the rollup from the records (``govdesk veterans_rollup``), ``rollup_drift`` compares them.

The dashboard (``dashboard``) and the upward report to the city (``city_report``) read only the
rollup and the expected base numbers, always through ``restrict`` (rollup rows reach their
community like the records do).
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from govdesk.core.audit import audit
from govdesk.core.models import AuditEvent, OrgUnit, User
from govdesk.core.periods import period_start_of
from govdesk.core.reach import VIEW

from .models import ALL_DAYS, Category, CollectionPoint, ExpectedBase, Progress, Record

S = Record.Status
G = Progress.Grain
STATES = ("collected", "returned", "reviewed", "archived")  # the count columns, one per state
COUNTED = frozenset(STATES)
KEY = ("grain", "day", "street_id", "org_unit_id", "point_key", "collector_key", "category_key")


# --- keeping the rollup --------------------------------------------------------------------------

def rollup_key(record: Record) -> tuple | None:
    """Where a record counts, or None when it does not count (a draft)."""
    if record.status not in COUNTED or record.collected_on is None:
        return None
    return (record.collected_on, record.street_id, record.org_unit_id, record.point_id or 0, record.collector_id,
            record.category_id, str(record.status))


def _grains(day, street, unit, point, collector, category) -> list[tuple]:
    return [(G.DAY.value, day, street, unit, point, collector, 0),
            (G.TOTAL.value, ALL_DAYS, street, unit, point, collector, 0),
            (G.CATEGORY.value, ALL_DAYS, street, unit, 0, 0, category),
            (G.DAILY.value, day, street, unit, 0, 0, 0)]


def rollup_move(before: Iterable[tuple | None] = (), after: Iterable[tuple | None] = ()) -> None:
    """Take the ``before`` keys out of the rollup and put the ``after`` keys in, inside the
    caller's transaction (a service's)."""
    delta: Counter = Counter()
    for key in before:
        if key is not None:
            delta[key] -= 1
    for key in after:
        if key is not None:
            delta[key] += 1
    rows: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (*dims, status), n in delta.items():
        if n:
            i = STATES.index(status)
            for grain_key in _grains(*dims):
                rows[grain_key][i] += n
    _add(rows)


def _add(rows: dict[tuple, list[int]]) -> None:
    rows = {k: v for k, v in rows.items() if any(v)}
    if not rows:
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("the rollup changes inside the record's transaction")
    quote = connection.ops.quote_name
    table = quote(Progress._meta.db_table)
    conflict = [c for c in KEY if c != "street_id"]  # the street follows from the community
    columns = [*KEY, *STATES]
    one = f"({', '.join(['%s'] * len(columns))})"
    update = (f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET "
              + ", ".join(f"{quote(s)} = {table}.{quote(s)} + excluded.{quote(s)}" for s in STATES))
    adapt = connection.ops.adapt_datefield_value
    params = [[adapt(v) if isinstance(v, date) else v for v in key] + counts
              for key, counts in sorted(rows.items(), key=lambda kv: tuple(str(x) for x in kv[0]))]
    # many rows per statement (an import batch touches hundreds of keys); within SQLite's 999 parameters
    per = max(1, 990 // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(params), per):
            chunk = params[start:start + per]
            cursor.execute(f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) VALUES "
                           + ", ".join([one] * len(chunk)) + update, [v for row in chunk for v in row])


def _live_selects() -> dict[str, str]:
    """Per grain, a SELECT grouping the records as the rollup does (for rebuild and drift),
    giving the columns of ``KEY`` and ``STATES``."""
    quote = connection.ops.quote_name
    all_days = connection.ops.adapt_datefield_value(ALL_DAYS)
    counts = ", ".join(f"SUM(CASE WHEN {quote('status')} = '{s}' THEN 1 ELSE 0 END)" for s in STATES)
    where = (f"FROM {quote(Record._meta.db_table)} WHERE {quote('status')} IN ({', '.join(repr(s) for s in STATES)}) "
             f"AND collected_on IS NOT NULL")
    point = "COALESCE(point_id, 0)"
    day = f"CAST('{all_days}' AS DATE)" if connection.vendor == "postgresql" else f"'{all_days}'"
    grains = {
        G.DAY: ("collected_on", point, "collector_id", "0", ["collected_on", point, "collector_id"]),
        G.TOTAL: (day, point, "collector_id", "0", [point, "collector_id"]),
        G.CATEGORY: (day, "0", "0", "category_id", ["category_id"]),
        G.DAILY: ("collected_on", "0", "0", "0", ["collected_on"]),
    }
    out = {}
    for grain, (day_expr, point_expr, collector_expr, category_expr, group) in grains.items():
        group_by = ", ".join(["street_id", "org_unit_id", *group])
        out[grain.value] = (f"SELECT '{grain.value}', {day_expr}, street_id, org_unit_id, {point_expr}, "
                            f"{collector_expr}, {category_expr}, {counts} {where} GROUP BY {group_by}")
    return out


@transaction.atomic
def rollup_rebuild(*, actor=None) -> dict:
    """Recompute the rollup from the records. Writers wait meanwhile (on PostgreSQL a table lock
    that conflicts with their upserts; SQLite serialises writes anyway), so a change that commits
    during the rebuild is counted exactly once."""
    quote = connection.ops.quote_name
    table = quote(Progress._meta.db_table)
    columns = ", ".join(quote(c) for c in (*KEY, *STATES))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {table}")
        for select in _live_selects().values():
            cursor.execute(f"INSERT INTO {table} ({columns}) {select}")
    out = {grain: n for grain, n in Progress.objects.values_list("grain").annotate(n=Count("id")).order_by()}
    audit(actor=actor, action=AuditEvent.Action.UPDATE, unit=None, verb="rollup_rebuild",
          object_type="veterans.progress", object_id="-", object_repr="采集进度汇总重建", changes=out)
    return out


def rollup_drift() -> list[str]:
    """Where the rollup differs from the records (empty when they agree), in words."""
    problems = []
    width = len(KEY)
    for grain, select in _live_selects().items():
        with connection.cursor() as cursor:
            cursor.execute(select)
            live = {tuple(_plain(v) for v in row[:width]): [int(x) for x in row[width:]] for row in cursor.fetchall()}
        stored = {}
        for row in Progress.objects.filter(grain=grain).values_list(*KEY, *STATES):
            counts = list(row[width:])
            if any(counts):
                stored[tuple(_plain(v) for v in row[:width])] = counts
        for k in sorted(set(live) | set(stored), key=str):
            if live.get(k, [0] * 4) != stored.get(k, [0] * 4):
                problems.append(f"{dict(zip(KEY, k, strict=True))}：汇总 {stored.get(k, [0] * 4)}，"
                                f"实际 {live.get(k, [0] * 4)}")
    return problems


def _plain(value) -> str:
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text[:10] if len(text) >= 10 and text[4:5] == "-" else text


# --- reading them: the dashboard -----------------------------------------------------------------

def _zero() -> dict:
    return {"collected": 0, "reviewed": 0, "archived": 0}


def _figures(collected, returned, reviewed, archived) -> dict:
    """Dashboard figures from state counts: collected is everything collected so far."""
    collected, returned, reviewed, archived = (int(x or 0) for x in (collected, returned, reviewed, archived))
    return {"collected": collected + returned + reviewed + archived, "reviewed": reviewed + archived,
            "archived": archived}


def _sums():
    return {s: Sum(s) for s in STATES}


def streets_of(user):
    from .queries import streets_in_reach
    return list(streets_in_reach(user))


def dashboard(user, *, days: int = 14, today: date | None = None) -> dict:
    """Expected base and collected / reviewed / archived per street, per point, per collector and
    per day, from the rollups within the user's reach; who is behind. The same shape as the live
    ``queries.progress`` it replaces."""
    today = today or timezone.localdate()
    rollup = Progress.objects.restrict(user, VIEW)
    by_street: dict[int, dict] = {}
    by_point: dict[int, dict] = {}
    by_collector: dict[int, dict] = {}
    totals = (rollup.filter(grain=G.TOTAL, day=ALL_DAYS).values("street", "point_key", "collector_key")
              .annotate(**_sums()).order_by())
    for row in totals:
        figures = _figures(*(row[s] for s in STATES))
        if not figures["collected"]:
            continue  # what is left of a record that moved away
        for target, key in ((by_street, row["street"]), (by_point, row["point_key"]),
                            (by_collector, row["collector_key"])):
            item = target.setdefault(key, _zero())
            for k, v in figures.items():
                item[k] += v

    from .queries import street_figures
    street_rows, total_expected, total, overall = street_figures(user, streets_of(user), by_street)

    points = CollectionPoint.objects.restrict(user, VIEW).select_related("org_unit").order_by("org_unit__path", "name")
    point_rows = [{"point": p, **by_point.get(p.pk, _zero())} for p in points]

    first = today - timedelta(days=days - 1)
    day_counts: dict[date, dict] = {}
    daily = (rollup.filter(grain=G.DAILY, day__gte=first, day__lte=today).values("day").annotate(**_sums())
             .order_by())
    for row in daily:
        figures = _figures(*(row[s] for s in STATES))
        item = day_counts.setdefault(row["day"], _zero())
        for k, v in figures.items():
            item[k] += v
    day_rows = [{"day": first + timedelta(days=i), **day_counts.get(first + timedelta(days=i), _zero())}
                for i in range(days)]

    people = {u.pk: u for u in User.objects.filter(pk__in=list(by_collector))}
    collector_rows = sorted(({"user": people[pk], **c} for pk, c in by_collector.items() if pk in people),
                            key=lambda r: (-r["collected"], r["user"].pk))
    counts = sorted(r["collected"] for r in collector_rows)
    median = counts[len(counts) // 2] if counts else 0
    for row in collector_rows:  # fewer than half of what the median collector has collected
        row["behind"] = median > 0 and row["collected"] < median / 2
    return {"streets": street_rows, "points": point_rows, "collectors": collector_rows, "days": day_rows,
            "total": total, "expected": total_expected, "overall": overall,
            "behind": [r for r in street_rows if r["behind"]],
            "collectors_behind": [r for r in collector_rows if r["behind"]]}


def charts(data: dict) -> dict:
    from .queries import progress_charts
    out = progress_charts(data)
    rows = [r for r in data["points"] if r["collected"]][:40]
    out["points"] = {
        "title": {"text": "各采集点采集量", "left": "center", "top": 0, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"}, "legend": {"top": 30}, "grid": {"top": 70, "bottom": 100},
        "xAxis": {"type": "category", "data": [r["point"].name for r in rows], "axisLabel": {"rotate": 50}},
        "yAxis": {"type": "value"},
        "series": [{"name": name, "type": "bar", "data": [r[key] for r in rows]}
                   for name, key in (("已采集", "collected"), ("已审核", "reviewed"), ("已归档", "archived"))],
    }
    return out


# --- the upward report to the city ---------------------------------------------------------------

PERIODS = {"week": "周", "month": "月"}


def report_unit(user, streets: list[OrgUnit]) -> OrgUnit | None:
    """The unit that reports: the district above the streets the user reaches."""
    if not streets:
        return None
    parent_ids = {s.parent_id for s in streets}
    if len(parent_ids) == 1:
        return OrgUnit.objects.filter(pk=parent_ids.pop()).first()
    return None


def city_report_data(user, *, period: str = "week", day: date | None = None) -> dict:
    """The figures of the upward report for the period containing ``day``: one row per street
    in the user's reach (all of them, in code order, zero rows included), per-category columns,
    a totals row."""
    if period not in PERIODS:
        from govdesk.core.errors import ServiceError
        raise ServiceError("报送周期应为每周或每月", fields={"period": "报送周期不正确"})
    day = day or timezone.localdate()
    start = period_start_of(period, day)
    streets = sorted(streets_of(user), key=lambda s: (s.code, s.pk))
    categories = list(Category.objects.filter(active=True).order_by("order", "id"))
    expected = dict(ExpectedBase.objects.restrict(user, VIEW).values_list("org_unit", "expected"))
    figures: dict[int, dict] = {s.pk: _zero() for s in streets}
    per_category: dict[int, Counter] = {s.pk: Counter() for s in streets}
    rollup = Progress.objects.restrict(user, VIEW)
    for row in (rollup.filter(grain=G.CATEGORY, day=ALL_DAYS).values("street", "category_key")
                .annotate(**_sums()).order_by()):
        if row["street"] not in figures:
            continue
        f = _figures(*(row[s] for s in STATES))
        for k, v in f.items():
            figures[row["street"]][k] += v
        per_category[row["street"]][row["category_key"]] += f["collected"]
    new: Counter = Counter()
    for row in (rollup.filter(grain=G.DAILY, day__gte=start, day__lte=day).values("street")
                .annotate(**_sums()).order_by()):
        new[row["street"]] += _figures(*(row[s] for s in STATES))["collected"]
    rows = []
    for street in streets:
        f = figures[street.pk]
        exp = expected.get(street.pk, 0)
        rows.append({"street": street, "expected": exp, "new": new.get(street.pk, 0), **f,
                     "rate": f["collected"] / exp if exp else None,
                     "categories": [per_category[street.pk].get(c.pk, 0) for c in categories]})
    total = {k: sum(r[k] for r in rows) for k in ("expected", "new", "collected", "reviewed", "archived")}
    total["rate"] = total["collected"] / total["expected"] if total["expected"] else None
    total["categories"] = [sum(r["categories"][i] for r in rows) for i in range(len(categories))]
    return {"unit": report_unit(user, streets), "period": period, "start": start, "day": day, "rows": rows,
            "total": total, "categories": categories}


REPORT_HEAD = ["序号", "街道（乡镇）", "应采集人数", "已采集", "本期新增", "已审核", "已归档", "采集完成率"]


def city_report_xlsx(data: dict, *, prepared_by: str) -> bytes:
    """The fixed layout the city asks for: title, reporting unit and dates, a two-row header
    (the categories under 其中：按人员类别), a row per street, the totals row, signatures."""
    from govdesk.core.tables.run import new_workbook

    buffer = io.BytesIO()
    book = new_workbook(buffer)  # a street or a preparer named "=..." stays text
    sheet = book.add_worksheet("进度统计")
    title = book.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    head = book.add_format({"bold": True, "border": 1, "align": "center", "valign": "vcenter", "text_wrap": True,
                            "bg_color": "#D9E1F2"})
    cell = book.add_format({"border": 1, "align": "center"})
    text = book.add_format({"border": 1})
    percent = book.add_format({"border": 1, "align": "center", "num_format": "0.0%"})
    bold = book.add_format({"border": 1, "bold": True, "align": "center"})
    bold_percent = book.add_format({"border": 1, "bold": True, "align": "center", "num_format": "0.0%"})
    categories = data["categories"]
    last_col = len(REPORT_HEAD) + len(categories) - 1
    unit_name = data["unit"].name if data["unit"] else "（多个区县）"
    label = PERIODS[data["period"]]
    sheet.merge_range(0, 0, 0, last_col, f"{unit_name}退役军人和其他优抚对象信息采集工作进度统计表", title)
    sheet.set_row(0, 30)
    sheet.merge_range(1, 0, 1, 4, f"填报单位：{unit_name}退役军人事务局（盖章）")
    sheet.merge_range(1, 5, 1, last_col,
                      f"统计期间：{data['start']:%Y年%m月%d日}至{data['day']:%Y年%m月%d日}（本{label}）"
                      f"    报送日期：{timezone.localdate():%Y年%m月%d日}")
    for col, name in enumerate(REPORT_HEAD):
        sheet.merge_range(2, col, 3, col, name, head)
    if categories:
        first = len(REPORT_HEAD)
        if len(categories) > 1:
            sheet.merge_range(2, first, 2, last_col, "其中：按人员类别（已采集）", head)
        else:
            sheet.write(2, first, "其中：按人员类别（已采集）", head)
        for i, category in enumerate(categories):
            sheet.write(3, first + i, category.name, head)
    sheet.set_row(3, 45)
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 18)
    sheet.set_column(2, last_col, 11)
    r = 4
    for n, row in enumerate(data["rows"], start=1):
        values = [n, row["street"].name, row["expected"], row["collected"], row["new"], row["reviewed"],
                  row["archived"]]
        for col, value in enumerate(values):
            sheet.write(r, col, value, text if col == 1 else cell)
        if row["rate"] is None:
            sheet.write_string(r, 7, "未下达基数", cell)
        else:
            sheet.write_number(r, 7, row["rate"], percent)
        for i, value in enumerate(row["categories"]):
            sheet.write_number(r, len(REPORT_HEAD) + i, value, cell)
        r += 1
    total = data["total"]
    sheet.merge_range(r, 0, r, 1, "合计", bold)
    for col, key in ((2, "expected"), (3, "collected"), (4, "new"), (5, "reviewed"), (6, "archived")):
        sheet.write_number(r, col, total[key], bold)
    if total["rate"] is None:
        sheet.write_string(r, 7, "—", bold)
    else:
        sheet.write_number(r, 7, total["rate"], bold_percent)
    for i, value in enumerate(total["categories"]):
        sheet.write_number(r, len(REPORT_HEAD) + i, value, bold)
    r += 2
    sheet.write(r, 0, f"填表人：{prepared_by}")
    sheet.write(r, 4, "审核人：")
    sheet.write(r, 8 if last_col >= 8 else last_col, "联系电话：")
    sheet.write(r + 1, 0, "说明：已采集含待审核、已退回、已审核、已归档；采集完成率 = 已采集 ÷ 应采集人数；"
                          "本期新增按采集日期统计。")
    sheet.freeze_panes(4, 2)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    book.close()
    return buffer.getvalue()


@transaction.atomic
def city_report(*, actor, period: str = "week", day: date | None = None) -> tuple[str, bytes]:
    """The upward report as an xlsx (filename, content); the export is audited."""
    data = city_report_data(actor, period=period, day=day)
    content = city_report_xlsx(data, prepared_by=actor.label if hasattr(actor, "label") else str(actor))
    unit = data["unit"]
    audit(actor=actor, action=AuditEvent.Action.EXPORT, unit=unit, verb="city_report",
          object_type="veterans.progress", object_id=data["start"].isoformat(),
          object_repr=f"采集进度上报（{data['start']:%Y-%m-%d} 起）",
          changes={"period": period, "start": data["start"].isoformat(), "day": data["day"].isoformat(),
                   "streets": len(data["rows"]), "collected": data["total"]["collected"]})
    name = f"退役军人信息采集进度_{unit.name if unit else ''}_{data['day']:%Y%m%d}.xlsx"
    return name, content


__all__ = ["rollup_key", "rollup_move", "rollup_rebuild", "rollup_drift", "dashboard", "charts",
           "city_report", "city_report_data"]
