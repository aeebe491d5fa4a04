"""Tables of the veterans campaign on the core tables engine.

- ``veterans-records``: existing registers (花名册) of veterans and preferential-care recipients,
  with the headers people write (姓名, 性别, 公民身份号码/身份证号, 联系电话/手机号, 人员类别, 民族,
  出生日期, 入伍时间, 退役时间, 所属街道, 社区, 家庭住址 …). Every row goes through
  ``services.clean_record`` (gender and birth date agree with the ID number, dates in order,
  the category's required fields) and ``services.record_import_rows`` (reach, duplicates in the
  whole district with the entry form's message, bulk insert, one audit event per row).
  Natural key: the ID number (its blind index in the database). A person already registered
  with the same content is ``unchanged`` (a second run of the same file changes nothing);
  with other content the row is refused as a duplicate — an import never overwrites a record
  that has its own review workflow.
- ``veterans-bases``: 街道, 应采集人数 → ``services.expected_set``.
- ``veterans-points``: 采集点名称, 所属街道/社区, 地址, 开始时间, 结束时间, 每日接待量, 时段长度 →
  ``services.point_create`` (an existing point of the same name in the same unit is left alone).
- exports: the registry (the list page's filters; ID and phone masked unless the export may
  unmask) and ``veterans-progress`` (collected/reviewed/archived against the base per street).

Street and community columns are resolved here rather than with the engine's ``UnitRef``:
this app's reach differs from the core rule (an officer of 退役军人事务局 reaches the whole
district, see ``models.reach_paths``), and ``UnitRef`` only knows the core rule.
"""

from __future__ import annotations

import re
from datetime import date, time

from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from govdesk.core import personal
from govdesk.core.models import OrgUnit
from govdesk.core.reach import OFFICERS, READ_ONLY_ROLES, VIEW
from govdesk.core.tables.schema import Column, ExportColumn, RowError, TableSchema, ValidRow, register

from . import queries, services
from .models import (
    BRANCHES,
    DISCHARGE_TYPES,
    EDUCATIONS,
    ETHNICITIES,
    PLACEMENTS,
    POLITICAL_STATUSES,
    WORKERS,
    Category,
    CollectionPoint,
    ExpectedBase,
    Record,
    reach_paths,
)

CHUNK = 400  # SQLite's limit on query parameters
STREET, COMMUNITY = OrgUnit.Kind.STREET, OrgUnit.Kind.COMMUNITY


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


# --- units named in a file, with this app's reach ---------------------------------------------

class Units:
    """The streets and communities a batch names (by code or name), looked up in two queries."""

    def __init__(self, actor, roles, texts: set[str], kinds=(STREET, COMMUNITY)):
        self.roots = reach_paths(actor, frozenset(roles) - READ_ONLY_ROLES)
        self.by_text: dict[str, list[OrgUnit]] = {}
        values = sorted(t for t in texts if t)
        for start in range(0, len(values), CHUNK):
            chunk = values[start:start + CHUNK]
            for unit in OrgUnit.objects.filter(Q(code__in=chunk) | Q(name__in=chunk), kind__in=kinds):
                for text in {unit.code, unit.name} & texts:
                    self.by_text.setdefault(text, []).append(unit)

    def reachable(self, unit: OrgUnit) -> bool:
        return any(unit.path.startswith(root) for root in self.roots)

    def find(self, text: str, kind: str, within: OrgUnit | None = None) -> OrgUnit | str:
        """The one unit of ``kind`` named ``text`` (inside ``within``), or the Chinese problem."""
        found = [u for u in self.by_text.get(text, []) if u.kind == kind]
        if within is not None:
            found = [u for u in found if u.path.startswith(within.path)]
        found = [u for u in found if self.reachable(u)]
        label = OrgUnit.Kind(kind).label
        if not found:
            where = f"「{within.name}」下" if within is not None else ""
            return f"{where}没有名为「{text}」的{label}，或不在您的权限范围内"
        if len(found) > 1:
            return f"有 {len(found)} 个名为「{text}」的{label}，请同时填写所属街道或改填编码"
        if found[0].is_retired:
            return f"「{found[0].name}」已撤销"
        return found[0]


# --- the registry -----------------------------------------------------------------------------

def _categories() -> dict[str, Category]:
    out: dict[str, Category] = {}
    for category in Category.objects.filter(active=True):
        out[personal.fold(category.code)] = category
        out[personal.fold(category.name)] = category
    return out


def _category_names() -> str:
    return "、".join(Category.objects.filter(active=True).values_list("name", flat=True))


def records_apply(actor, rows: list[ValidRow], dry_run: bool) -> list:
    """Clean every row with the record rules and hand the batch to ``services.record_import_rows``."""
    units = Units(actor, services.WORKERS, {r.values[k] for r in rows for k in ("street", "community")
                                            if r.values[k]})
    categories = _categories()
    outcomes: list = [None] * len(rows)
    items: list[dict] = []
    positions: list[int] = []
    for i, row in enumerate(rows):
        v = row.values
        street = None
        if v["street"]:
            street = units.find(v["street"], STREET)
            if isinstance(street, str):
                outcomes[i] = RowError(street, "street")
                continue
        community = units.find(v["community"], COMMUNITY, street)
        if isinstance(community, str):
            outcomes[i] = RowError(community, "community")
            continue
        category = categories.get(personal.fold(v["category"]))
        if category is None:
            outcomes[i] = RowError(f"人员类别「{v['category']}」不在可选范围内（可选：{_category_names()}）", "category")
            continue
        data = {key: value for key, value in v.items() if key in services.PLAIN_FIELDS}
        data.update(id_number=v["id_number"], phone=v["phone"] or "", category=category, community=community,
                    gender=v["gender"] or personal.id_gender(v["id_number"]),
                    residential_address=v["residential_address"],
                    household_address=v["household_address"] or v["residential_address"])
        items.append(data)
        positions.append(i)
    for i, outcome in zip(positions, services.record_import_rows(actor=actor, items=items), strict=True):
        if isinstance(outcome, services.ServiceError):
            column = next(iter(outcome.fields), "") if outcome.fields else ""
            outcomes[i] = RowError(outcome.fields.get(column, outcome.message) if column else outcome.message, column)
        else:
            outcomes[i] = outcome
    return outcomes


def records_export(actor, filters: dict):
    """The registry list page's rows, with its filters (status, street, q)."""
    filters = filters or {}
    street = str(filters.get("street") or "")
    return (queries.records_visible(actor, status=filters.get("status") or "",
                                    street=int(street) if street.isdigit() else None, q=filters.get("q") or "")
            .select_related("org_unit", "street", "category", "collector", "point").order_by("id"))


def records_may_unmask(actor) -> bool:
    """The registry exports in full for whom every row it holds is unmaskable in this app
    (``models.UNMASKERS`` with its reach: the veterans bureau its district, a street officer or
    collector their street or community); a reader whose view is wider gets the masked export."""
    from govdesk.core.reach import VIEW

    from .models import UNMASKERS, reach_paths
    views = reach_paths(actor, Record.reach.roles_for(VIEW))
    unmaskable = reach_paths(actor, UNMASKERS)
    return bool(views) and all(any(v.startswith(root) for root in unmaskable) for v in views)


def _decrypt(token: str) -> str:
    return personal.decrypt(token) if token else ""


RECORDS = register(TableSchema(
    kind="veterans-records",
    title="退役军人和其他优抚对象信息",
    columns=(
        Column("姓名", "name", aliases=("名字",), required=True, max_length=50),
        Column("性别", "gender", type=Record.Gender, help="不填时按身份证号；填写的须与身份证号一致"),
        Column("公民身份号码", "id_number", aliases=("身份证号", "身份证号码", "身份证", "证件号码"),
               type="id_number", required=True),
        Column("联系电话", "phone", aliases=("手机号", "手机号码", "手机", "电话", "联系方式"), type="phone"),
        Column("人员类别", "category", aliases=("类别", "优抚对象类别", "人员类型"), required=True, max_length=50,
               help="如 退役士兵、复员军人、残疾军人、烈士遗属"),
        Column("民族", "ethnicity", type=_pairs(ETHNICITIES), required=True),
        Column("出生日期", "birth_date", aliases=("出生年月日", "出生年月"), type=date,
               help="不填时按身份证号；填写的须与身份证号一致"),
        Column("入伍时间", "enlisted_on", aliases=("入伍日期", "入伍年月"), type=date),
        Column("退役时间", "discharged_on", aliases=("退役日期", "退伍时间", "退伍日期"), type=date),
        Column("所属街道", "street", aliases=("街道", "街道（乡镇）", "乡镇（街道）", "街道办事处"), max_length=100,
               help="街道名称或编码；社区名称在各街道间重复时必须填写"),
        Column("社区", "community", aliases=("所属社区", "社区（村）", "村（社区）", "社区名称"), required=True,
               max_length=100),
        Column("家庭住址", "residential_address", aliases=("居住地址", "现住址", "现居住地址", "住址"), required=True,
               max_length=200),
        Column("户籍地址", "household_address", aliases=("户籍所在地", "户口所在地"), max_length=200,
               help="不填时与家庭住址相同"),
        Column("政治面貌", "political_status", type=_pairs(POLITICAL_STATUSES)),
        Column("文化程度", "education", aliases=("学历",), type=_pairs(EDUCATIONS)),
        Column("服役部队", "service_unit", aliases=("原部队", "服役单位"), max_length=100),
        Column("军种", "branch", type=_pairs(BRANCHES)),
        Column("军衔", "rank", aliases=("军衔/职级", "职级"), max_length=32),
        Column("退役方式", "discharge_type", type=_pairs(DISCHARGE_TYPES)),
        Column("安置方式", "placement", type=_pairs(PLACEMENTS)),
        Column("伤残等级", "disability_grade", type=int, help="1–10 级"),
        Column("伤残性质", "disability_nature", type=Record.Nature),
        Column("残疾军人证号", "disability_certificate", aliases=("伤残证号",), max_length=40),
    ),
    natural_key=("id_number",),
    apply_batch=records_apply,
    help="按公民身份号码识别：已登记且内容相同的记录不变；全区已登记的同一人不能再次导入（如需修改请在台账中操作）。"
         "导入的记录为“已采集待审核”，采集员为导入人。",
    export_query=records_export,
    may_unmask=records_may_unmask,
    export_columns=(
        ExportColumn("编号", "pk"),
        ExportColumn("姓名", "name"),
        ExportColumn("性别", "gender"),
        ExportColumn("公民身份号码", lambda r: _decrypt(r.id_number_enc), personal="id_number", width=22),
        ExportColumn("联系电话", lambda r: _decrypt(r.phone_enc), personal="phone", width=16),
        ExportColumn("人员类别", "category.name"),
        ExportColumn("民族", "ethnicity"),
        ExportColumn("出生日期", "birth_date"),
        ExportColumn("入伍时间", "enlisted_on"),
        ExportColumn("退役时间", "discharged_on"),
        ExportColumn("所属街道", "street.name"),
        ExportColumn("社区", "org_unit.name"),
        ExportColumn("家庭住址", "residential_address", width=30),
        ExportColumn("户籍地址", "household_address", width=30),
        ExportColumn("政治面貌", "political_status"),
        ExportColumn("文化程度", "education"),
        ExportColumn("服役部队", "service_unit"),
        ExportColumn("军种", "branch"),
        ExportColumn("退役方式", "discharge_type"),
        ExportColumn("安置方式", "placement"),
        ExportColumn("伤残等级", "disability_grade"),
        ExportColumn("伤残性质", "disability_nature"),
        ExportColumn("状态", "get_status_display"),
        ExportColumn("采集员", "collector.label"),
        ExportColumn("采集点", "point.name"),
        ExportColumn("采集日期", "collected_on"),
    ),
))


# --- expected base numbers --------------------------------------------------------------------

def bases_apply(actor, rows: list[ValidRow], dry_run: bool) -> list:
    units = Units(actor, ExpectedBase.reach.change, {r.values["street"] for r in rows}, kinds=(STREET,))
    before = dict(ExpectedBase.objects.filter(org_unit__in=[u for us in units.by_text.values() for u in us])
                  .values_list("org_unit_id", "expected"))
    outcomes: list = []
    for row in rows:
        street = units.find(row.values["street"], STREET)
        if isinstance(street, str):
            outcomes.append(RowError(street, "street"))
            continue
        expected = row.values["expected"]
        if before.get(street.pk) == expected:
            outcomes.append("unchanged")
            continue
        try:
            services.expected_set(actor=actor, street=street, expected=expected)
        except services.ServiceError as e:
            outcomes.append(RowError(e.message, "expected"))
            continue
        except (services.Forbidden, services.NotInReach):
            outcomes.append(RowError(f"您无权填写「{street.name}」的应采集基数", "street"))
            continue
        outcomes.append("updated" if street.pk in before else "created")
        before[street.pk] = expected
    return outcomes


def progress_export(actor, filters: dict):
    """Streets in the user's reach with collected/reviewed/archived counts (from the progress
    rollup, as the dashboard shows them) and the base."""
    from .models import ALL_DAYS, Progress

    rollup = Progress.objects.restrict(actor, VIEW).filter(grain=Progress.Grain.TOTAL, day=ALL_DAYS,
                                                          street=OuterRef("pk")).order_by()

    def total(*columns):
        expression = sum((F(c) for c in columns[1:]), F(columns[0]))
        return Coalesce(Subquery(rollup.values("street").annotate(n=Sum(expression)).values("n")[:1],
                                 output_field=IntegerField()), Value(0))

    return (queries.streets_in_reach(actor)
            .annotate(base=Coalesce("veterans_expected__expected", Value(0)),
                      collected=total("collected", "returned", "reviewed", "archived"),
                      reviewed=total("reviewed", "archived"), archived=total("archived")))


def _percent(street) -> str:
    return f"{street.collected * 100 / street.base:.1f}%" if street.base else ""


BASES = register(TableSchema(
    kind="veterans-bases",
    title="应采集基数与采集进度",
    columns=(
        Column("街道", "street", aliases=("所属街道", "街道名称", "街道编码", "街道（乡镇）"), required=True,
               max_length=100),
        Column("应采集人数", "expected", aliases=("基数", "应采集基数", "摸底人数", "应采人数"), type=int, required=True,
               help="0–1000000"),
    ),
    natural_key=("street",),
    apply_batch=bases_apply,
    help="每个街道一行；已有基数的街道会被更新。",
    export_query=progress_export,
    export_columns=(
        ExportColumn("街道", "name"),
        ExportColumn("应采集人数", "base"),
        ExportColumn("已采集", "collected"),
        ExportColumn("已审核", "reviewed"),
        ExportColumn("已归档", "archived"),
        ExportColumn("采集进度", _percent),
    ),
))


# --- collection points --------------------------------------------------------------------------

_TIME = re.compile(r"^(\d{1,2})[:：点时](\d{2})?(?::\d{2})?分?$")


def parse_time(text: str) -> time:
    match = _TIME.match(personal.fold(text))
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ValueError(text)


def _valid_time(text: str) -> None:
    from django.core.exceptions import ValidationError

    try:
        parse_time(text)
    except ValueError:
        raise ValidationError(f"时间「{text}」格式不正确，应如 08:30") from None


def points_apply(actor, rows: list[ValidRow], dry_run: bool) -> list:
    units = Units(actor, OFFICERS, {r.values[k] for r in rows for k in ("street", "unit") if r.values[k]})
    existing = {(p.org_unit_id, p.name): p for p in CollectionPoint.objects.filter(
        org_unit__in=[u for us in units.by_text.values() for u in us],
        name__in=[r.values["name"] for r in rows])}
    outcomes: list = []
    for row in rows:
        v = row.values
        street = None
        if v["street"]:
            street = units.find(v["street"], STREET)
            if isinstance(street, str):
                outcomes.append(RowError(street, "street"))
                continue
        unit = units.find(v["unit"], COMMUNITY, street)
        if isinstance(unit, str):  # a point may stand in a street itself
            as_street = units.find(v["unit"], STREET)
            if isinstance(as_street, OrgUnit) and (street is None or as_street.pk == street.pk):
                unit = as_street
        if isinstance(unit, str):
            outcomes.append(RowError(unit, "unit"))
            continue
        opens_at, closes_at = parse_time(v["opens_at"]), parse_time(v["closes_at"])
        fields = {"address": v["address"], "opens_at": opens_at, "closes_at": closes_at,
                  "daily_capacity": v["daily_capacity"], "slot_minutes": v["slot_minutes"]}
        point = existing.get((unit.pk, v["name"]))
        if point is not None:
            if all(getattr(point, k) == value for k, value in fields.items()):
                outcomes.append("unchanged")
            else:
                outcomes.append(RowError(f"「{unit.name}」已有名为「{v['name']}」的采集点，导入不修改已有采集点；"
                                         "请在采集点页面修改", "name"))
            continue
        try:
            point = services.point_create(actor=actor, unit=unit, name=v["name"], **fields)
        except services.ServiceError as e:
            column = next(iter(e.fields), "") if e.fields else ""
            outcomes.append(RowError(e.message, column if column in POINT_KEYS else ""))
            continue
        except (services.Forbidden, services.NotInReach):
            outcomes.append(RowError(f"您无权在「{unit.name}」设立采集点", "unit"))
            continue
        existing[(unit.pk, point.name)] = point
        outcomes.append("created")
    return outcomes


def points_export(actor, filters: dict):
    return queries.points_visible(actor).select_related("org_unit").order_by("org_unit__path", "name", "id")


POINTS = register(TableSchema(
    kind="veterans-points",
    title="采集点",
    columns=(
        Column("采集点名称", "name", aliases=("名称", "采集点"), required=True, max_length=100),
        Column("所属街道", "street", aliases=("街道",), max_length=100),
        Column("所属社区", "unit", aliases=("社区", "所属街道/社区", "所在社区"), required=True, max_length=100,
               help="设在街道的采集点填街道名称"),
        Column("地址", "address", aliases=("详细地址", "采集点地址"), required=True, max_length=200),
        Column("开始时间", "opens_at", aliases=("开放时间", "上班时间"), required=True, validators=(_valid_time,),
               help="如 08:30"),
        Column("结束时间", "closes_at", aliases=("关闭时间", "下班时间"), required=True, validators=(_valid_time,),
               help="如 17:00"),
        Column("每日接待量", "daily_capacity", aliases=("日接待量", "每日接待人数"), type=int, required=True),
        Column("时段长度（分钟）", "slot_minutes", aliases=("时段长度", "时段（分钟）", "每个时段分钟数"), type=int,
               required=True),
    ),
    natural_key=("unit", "name"),
    apply_batch=points_apply,
    batch_size=200,
    help="按所属单位和采集点名称识别；已有的采集点不会被修改。新采集点开放今天起 14 天的预约时段。",
    export_query=points_export,
    export_columns=(
        ExportColumn("采集点名称", "name", width=24),
        ExportColumn("所属社区", "org_unit.name"),
        ExportColumn("地址", "address", width=30),
        ExportColumn("开始时间", lambda p: f"{p.opens_at:%H:%M}"),
        ExportColumn("结束时间", lambda p: f"{p.closes_at:%H:%M}"),
        ExportColumn("每日接待量", "daily_capacity"),
        ExportColumn("时段长度（分钟）", "slot_minutes"),
        ExportColumn("启用", "active"),
    ),
))
POINT_KEYS = {c.key for c in POINTS.columns}

__all__ = ["BASES", "POINTS", "RECORDS", "WORKERS", "Units", "parse_time"]
