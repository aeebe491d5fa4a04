"""The competition's tables on the core engine (``govdesk/core/tables/``).

Imports (each row names its competition in a 竞赛 column — the engine hands
``apply_batch`` only the rows, with no parameters from the upload, so the
competition travels in the file; a name matching several competitions the importer
manages is refused with a message):

- ``contest-contestants`` 参赛选手: 竞赛, 编号 (optional: new contestants get the next
  free code), 姓名, 所在机构 (an institution of the district, by name or code),
  参赛项目 (one or several events, 、 or , between them; one row per event works too).
  Written by ``services.contestants_import``.
- ``contest-written-scores`` 笔试成绩: 竞赛, 项目, 编号 or 姓名 (+ 所在机构 when the
  name is not unique in the event), 笔试成绩, 专业题得分, 答题用时（分钟）. Written by
  ``services.written_scores_import`` (through ``written_scores_record``); refused once
  the event's advancement is confirmed.
- ``contest-judges`` 评委: 竞赛, 姓名, 用户名 (the judge's account, when the name is not
  unique), 所在机构 (decides recusal). Written by ``services.judges_import``.

Exports:

- ``contest-results`` 竞赛成绩: the results of an event (``filters={"event": id}``) or a
  competition (``{"competition": id}``), ``{"published": "1"}`` for published events only.
  Published results come from the frozen ``ResultRow``; the organiser and the
  supervisors (who see the entries) also get the live, unpublished ranking; everybody
  else gets published results only.
- ``contest-audit`` 竞赛审计记录: every audit event about a competition's objects
  (``{"competition": id}``), within the audit trail's own reach (supervisors and
  district administrators).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import CharField, Q
from django.db.models.functions import Cast

from govdesk.core.errors import NotInReach, ServiceError
from govdesk.core.models import AuditEvent, OrgUnit, User
from govdesk.core.reach import CHANGE, VIEW
from govdesk.core.tables.schema import Column, ExportColumn, RowError, TableSchema, ValidRow, register

from . import queries, services
from .models import (
    Appeal,
    Competition,
    Contestant,
    Correction,
    Entry,
    Event,
    Judge,
    ResultRow,
    RubricItem,
    Sheet,
)

COMPETITION = Column("竞赛", "competition", aliases=("竞赛名称", "比赛", "比赛名称", "赛事"), required=True,
                     max_length=120, help="竞赛的完整名称，与竞赛页面上的名称一致")
SEPARATORS = re.compile(r"[、,，;；/\n]+")


def _code(text: str) -> str:
    """Contestant codes are 001, 002…: a number typed as 7 means 007."""
    text = text.strip().upper()
    return text.zfill(3) if text.isdigit() and len(text) < 3 else text


def _valid_code(text: str) -> None:
    if len(text) > 8 or not text.replace("-", "").isalnum():
        raise ValidationError("编号应为不超过 8 位的字母或数字")


def _score(low: int, high: int, label: str):
    def check(value) -> None:
        if not low <= value <= high:
            raise ValidationError(f"{label}应在 {low} 到 {high} 之间")
    return check


def _by_competition(actor, rows: list[ValidRow]) -> tuple[dict[int, list[int]], dict[int, Competition], dict]:
    """Group row indexes by the competition they name, among those the actor manages.
    Returns (indexes by competition id, competitions by id, {row index: RowError})."""
    names = sorted({r.values["competition"] for r in rows})
    found: dict[str, list[Competition]] = defaultdict(list)
    for competition in Competition.objects.restrict(actor, CHANGE).filter(name__in=names).select_related("org_unit"):
        found[competition.name].append(competition)
    groups: dict[int, list[int]] = defaultdict(list)
    competitions: dict[int, Competition] = {}
    refused: dict[int, RowError] = {}
    for i, row in enumerate(rows):
        name = row.values["competition"]
        matches = found.get(name, [])
        if not matches:
            refused[i] = RowError(f"竞赛「{name}」不存在或不在您的管理范围内", "competition")
        elif len(matches) > 1:
            refused[i] = RowError(f"有 {len(matches)} 个名为「{name}」的竞赛，请先在竞赛页面修改名称加以区分",
                                  "competition")
        else:
            groups[matches[0].pk].append(i)
            competitions[matches[0].pk] = matches[0]
    return groups, competitions, refused


def _outcome(value):
    if isinstance(value, ServiceError):
        return RowError(value.message)
    return value


def _run(actor, rows: list[ValidRow], resolve, write) -> list:
    """The shared shape of the imports: find each row's competition, let ``resolve(competition,
    rows)`` turn cells into objects (a ``RowError`` for a row it cannot), then write each
    competition's rows with ``write(competition, resolved)``."""
    groups, competitions, outcomes = _by_competition(actor, rows)
    for competition_id, indexes in groups.items():
        competition = competitions[competition_id]
        resolved = resolve(competition, [rows[i] for i in indexes])
        ready = [(i, item) for i, item in zip(indexes, resolved, strict=True) if not isinstance(item, RowError)]
        for i, item in zip(indexes, resolved, strict=True):
            if isinstance(item, RowError):
                outcomes[i] = item
        if not ready:
            continue
        try:
            written = write(competition, [item for _i, item in ready])
        except NotInReach:
            written = [RowError(f"竞赛「{competition.name}」不在您的管理范围内", "competition")] * len(ready)
        for (i, _item), outcome in zip(ready, written, strict=True):
            outcomes[i] = _outcome(outcome)
    return [outcomes[i] for i in range(len(rows))]


def _institutions(competition: Competition, texts: set[str]) -> dict[str, list[OrgUnit]]:
    """The district's institutions named (by code or name) in ``texts``."""
    units: dict[str, list[OrgUnit]] = defaultdict(list)
    for unit in queries.institutions_for(competition).filter(Q(code__in=texts) | Q(name__in=texts)):
        if unit.code in texts:
            units[unit.code] = [unit]
        elif unit.name in texts:
            units[unit.name].append(unit)
    return units


def _institution(units: dict, text: str | None) -> OrgUnit | RowError | None:
    if not text:
        return None
    found = units.get(text, [])
    if not found:
        return RowError(f"机构「{text}」不是本区在册的医疗卫生机构", "institution")
    if len(found) > 1:
        return RowError(f"有 {len(found)} 个名为「{text}」的机构，请改填机构编码", "institution")
    return found[0]


def _event_names(text: str, known: set[str]) -> list[str]:
    text = text.strip()
    if text in known:
        return [text]
    return [part.strip() for part in SEPARATORS.split(text) if part.strip()]


# --- contestants ----------------------------------------------------------------------------

def _contestants_resolve(competition: Competition, rows: list[ValidRow]) -> list:
    events = {e.name: e for e in Event.objects.filter(competition=competition)}
    units = _institutions(competition, {r.values["institution"] for r in rows})
    resolved: list = []
    for row in rows:
        institution = _institution(units, row.values["institution"])
        if isinstance(institution, RowError):
            resolved.append(institution)
            continue
        names = _event_names(row.values["events"], set(events))
        unknown = [n for n in names if n not in events]
        if unknown or not names:
            resolved.append(RowError(f"本竞赛没有项目「{'、'.join(unknown) or row.values['events']}」", "events"))
            continue
        code = _code(row.values["code"]) if row.values["code"] else None
        resolved.append({"code": code, "name": row.values["name"], "institution": institution,
                         "events": list({events[n].pk: events[n] for n in names}.values())})
    return resolved


def contestants_apply(actor, rows: list[ValidRow], dry_run: bool) -> list:
    return _run(actor, rows, _contestants_resolve,
                lambda competition, items: services.contestants_import(actor=actor, competition=competition,
                                                                       rows=items))


def contestants_export(actor, filters: dict):
    contestants = (Contestant.objects.restrict(actor, VIEW).select_related("competition", "institution")
                   .prefetch_related("entries__event").order_by("competition_id", "code"))
    if (filters or {}).get("competition"):
        contestants = contestants.filter(competition_id=_int(filters["competition"]))
    return contestants


CONTESTANTS = register(TableSchema(
    kind="contest-contestants",
    title="竞赛选手",
    columns=(
        COMPETITION,
        Column("编号", "code", aliases=("选手编号", "参赛编号", "参赛号"), max_length=8, validators=(_valid_code,),
               help="选填；新选手不填则自动编号（001、002……）"),
        Column("姓名", "name", aliases=("选手姓名", "参赛选手", "选手"), required=True, max_length=50),
        Column("所在机构", "institution", aliases=("单位/机构", "单位", "机构", "所在单位", "工作单位", "单位名称",
                                                "机构名称", "推荐单位", "医疗机构"),
               required=True, max_length=100, help="本区在册的医院、妇幼保健院或社区卫生服务中心的名称或编码"),
        Column("参赛项目", "events", aliases=("项目", "参赛科目", "竞赛项目", "比赛项目"), required=True,
               max_length=500, help="本竞赛的项目名称；报名多个项目用“、”隔开，或每个项目一行"),
    ),
    natural_key=("competition", "name", "institution", "events"),
    apply_batch=contestants_apply,
    help="每行一名选手（或一名选手的一个项目）。按编号识别选手，没有编号时按姓名和所在机构识别；"
         "已登记的选手只会增加尚未报名的项目，已确认晋级的项目不能再报名。",
    export_query=contestants_export,
    export_columns=(
        ExportColumn("竞赛", "competition.name", width=30),
        ExportColumn("编号", "code"),
        ExportColumn("姓名", "name"),
        ExportColumn("所在机构", "institution.name", width=30),
        ExportColumn("参赛项目", lambda c: "、".join(e.event.name for e in c.entries.all()), width=50),
    ),
))


# --- written scores ---------------------------------------------------------------------------

def _check_written_row(values: dict) -> None:
    if not values["code"] and not values["name"]:
        raise ValidationError({"code": "请填写编号，或填写姓名和所在机构"})


def _unit_matches(unit: OrgUnit, text: str | None) -> bool:
    return not text or text in (unit.name, unit.code)


def _written_resolve(competition: Competition, rows: list[ValidRow]) -> list:
    events = {e.name: e for e in Event.objects.filter(competition=competition).select_related("competition")}
    entries: dict[int, list[Entry]] = defaultdict(list)
    wanted = [events[r.values["event"]].pk for r in rows if r.values["event"] in events]
    for entry in Entry.objects.filter(event_id__in=wanted).select_related("contestant__institution"):
        entries[entry.event_id].append(entry)
    resolved: list = []
    seen: dict[int, int] = {}
    for row in rows:
        values = row.values
        event = events.get(values["event"])
        if event is None:
            resolved.append(RowError(f"本竞赛没有项目「{values['event']}」", "event"))
            continue
        candidates = entries[event.pk]
        if values["code"]:
            code = _code(values["code"])
            found = [e for e in candidates if e.contestant.code == code]
            if not found:
                resolved.append(RowError(f"编号 {code} 的选手没有报名「{event.name}」", "code"))
                continue
            if values["name"] and found[0].contestant.name != values["name"]:
                resolved.append(RowError(f"编号 {code} 是 {found[0].contestant.name}，与姓名「{values['name']}」不符",
                                         "name"))
                continue
        else:
            found = [e for e in candidates if e.contestant.name == values["name"]
                     and _unit_matches(e.contestant.institution, values["institution"])]
            if not found:
                resolved.append(RowError(f"「{event.name}」没有{values['institution'] or ''}的选手{values['name']}",
                                         "name"))
                continue
            if len(found) > 1:
                resolved.append(RowError(f"「{event.name}」有 {len(found)} 名选手叫{values['name']}，请填写编号或所在机构",
                                         "name"))
                continue
        entry = found[0]
        if entry.pk in seen:
            resolved.append(RowError(f"与第 {seen[entry.pk]} 行是同一选手的成绩", "code"))
            continue
        seen[entry.pk] = row.row
        resolved.append({"event": event, "entry": entry, "score": values["score"], "part": values["part"],
                         "minutes": values["minutes"]})
    return resolved


def _written_write(actor, competition: Competition, items: list[dict]) -> list:
    by_event: dict[int, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_event[item["event"].pk].append(i)
    outcomes: list = [None] * len(items)
    for indexes in by_event.values():
        event = items[indexes[0]]["event"]
        done = services.written_scores_import(actor=actor, event=event, rows=[items[i] for i in indexes])
        for i, outcome in zip(indexes, done, strict=True):
            outcomes[i] = outcome
    return outcomes


def written_apply(actor, rows: list[ValidRow], dry_run: bool) -> list:
    return _run(actor, rows, _written_resolve, lambda competition, items: _written_write(actor, competition, items))


def written_export(actor, filters: dict):
    entries = (Entry.objects.restrict(actor, VIEW).select_related("event__competition", "contestant__institution")
               .order_by("event__competition_id", "event__order", "event_id", "contestant__code"))
    filters = filters or {}
    if filters.get("event"):
        entries = entries.filter(event_id=_int(filters["event"]))
    if filters.get("competition"):
        entries = entries.filter(event__competition_id=_int(filters["competition"]))
    return entries


WRITTEN = register(TableSchema(
    kind="contest-written-scores",
    title="竞赛笔试成绩",
    columns=(
        COMPETITION,
        Column("项目", "event", aliases=("参赛项目", "竞赛项目", "比赛项目", "科目"), required=True, max_length=120),
        Column("编号", "code", aliases=("选手编号", "参赛编号", "准考证号", "考号"), max_length=8,
               validators=(_valid_code,), help="填写编号，或填写姓名（同名时再填所在机构）"),
        Column("姓名", "name", aliases=("选手姓名", "考生姓名"), max_length=50),
        Column("所在机构", "institution", aliases=("单位/机构", "单位", "机构", "所在单位", "工作单位"), max_length=100),
        Column("笔试成绩", "score", aliases=("笔试", "笔试得分", "成绩", "理论成绩", "总分"), type=Decimal,
               required=True, validators=(_score(0, 100, "笔试成绩"),)),
        Column("专业题得分", "part", aliases=("专业部分", "专业部分得分", "专业题", "专业知识"), type=Decimal,
               validators=(_score(0, 100, "专业题得分"),), help="晋级线并列时依次比较专业题得分、答题用时"),
        Column("答题用时（分钟）", "minutes", aliases=("用时", "用时（分钟）", "答题用时", "用时(分钟)", "答题时间"),
               type=int, validators=(_score(0, 600, "答题用时"),)),
    ),
    natural_key=("competition", "event", "code"),
    apply_batch=written_apply,
    check_row=_check_written_row,
    help="按项目和编号（或姓名、所在机构）找到报名的选手并记录笔试成绩；专业题得分、答题用时留空则保留原值。"
         "项目确认晋级后不能再导入。",
    export_query=written_export,
    export_columns=(
        ExportColumn("竞赛", "event.competition.name", width=30),
        ExportColumn("项目", "event.name", width=30),
        ExportColumn("编号", "contestant.code"),
        ExportColumn("姓名", "contestant.name"),
        ExportColumn("所在机构", "contestant.institution.name", width=30),
        ExportColumn("笔试成绩", "written_score"),
        ExportColumn("专业题得分", "written_part"),
        ExportColumn("答题用时（分钟）", "written_minutes"),
        ExportColumn("晋级实操", "advanced"),
    ),
))


# --- judges ------------------------------------------------------------------------------------

def _judges_resolve(competition: Competition, rows: list[ValidRow]) -> list:
    candidates = list(services.judge_candidates(competition))
    by_username = {u.username.lower(): u for u in candidates}
    by_name: dict[str, list[User]] = defaultdict(list)
    for user in candidates:
        by_name[user.label].append(user)
    units = _institutions(competition, {r.values["institution"] for r in rows if r.values["institution"]})
    resolved: list = []
    for row in rows:
        values = row.values
        if values["username"]:
            user = by_username.get(values["username"].lower())
            if user is None:
                resolved.append(RowError(f"用户名 {values['username']} 不是本单位登记的评委账号", "username"))
                continue
            if user.label != values["name"]:
                resolved.append(RowError(f"用户名 {values['username']} 的姓名是{user.label}，与「{values['name']}」不符",
                                         "name"))
                continue
        else:
            found = by_name.get(values["name"], [])
            if not found:
                resolved.append(RowError(f"{values['name']} 没有本单位的评委账号，请先在用户管理中建立", "name"))
                continue
            if len(found) > 1:
                resolved.append(RowError(f"有 {len(found)} 个名为{values['name']}的评委账号，请填写用户名", "username"))
                continue
            user = found[0]
        institution = _institution(units, values["institution"])
        if isinstance(institution, RowError):
            resolved.append(institution)
            continue
        resolved.append({"user": user, "institution": institution})
    return resolved


def judges_apply(actor, rows: list[ValidRow], dry_run: bool) -> list:
    return _run(actor, rows, _judges_resolve,
                lambda competition, items: services.judges_import(actor=actor, competition=competition, rows=items))


def judges_export(actor, filters: dict):
    judges = (Judge.objects.restrict(actor, VIEW).select_related("competition", "user", "institution")
              .order_by("competition_id", "id"))
    if (filters or {}).get("competition"):
        judges = judges.filter(competition_id=_int(filters["competition"]))
    return judges


JUDGES = register(TableSchema(
    kind="contest-judges",
    title="竞赛评委",
    columns=(
        COMPETITION,
        Column("姓名", "name", aliases=("评委姓名", "评委", "专家姓名"), required=True, max_length=150),
        Column("用户名", "username", aliases=("账号", "登录名", "评委账号"), max_length=150,
               help="评委的登录账号；姓名不重名时可不填"),
        Column("所在机构", "institution", aliases=("单位/机构", "单位", "机构", "所在单位", "工作单位"), max_length=100,
               help="评委本人所在的医疗卫生机构：评委回避本机构的选手；留空则保留原值"),
    ),
    natural_key=("competition", "name"),
    apply_batch=judges_apply,
    help="评委须已有评委角色的账号（在主办单位内）。开始评分后不能再修改评委的所在机构。",
    export_query=judges_export,
    export_columns=(
        ExportColumn("竞赛", "competition.name", width=30),
        ExportColumn("姓名", "user.label"),
        ExportColumn("用户名", "user.username"),
        ExportColumn("所在机构", "institution.name", width=30),
    ),
))


# --- export-only tables -----------------------------------------------------------------------

# --- results (export) ---------------------------------------------------------------------------

def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def results_query(actor, filters: dict):
    """The advanced entries whose results the actor may see: every entry the actor watches
    (the organiser, the supervisors), and the entries with a published result in the
    actor's reach (a contestant's institution)."""
    watched = Entry.objects.restrict(actor, VIEW).filter(advanced=True).values("pk")
    published = ResultRow.objects.restrict(actor, VIEW).filter(event__status=Event.Status.PUBLISHED)
    entries = (Entry.objects.filter(Q(pk__in=watched) | Q(pk__in=published.values("entry_id")))
               .select_related("event__competition", "contestant__institution", "result")
               .order_by("event__competition_id", "event__order", "event_id", "result__rank", "draw_order", "pk"))
    filters = filters or {}
    if filters.get("event"):
        entries = entries.filter(event_id=_int(filters["event"]))
    if filters.get("competition"):
        entries = entries.filter(event__competition_id=_int(filters["competition"]))
    if filters.get("published"):
        entries = entries.filter(event__status=Event.Status.PUBLISHED)
    return entries


def _result(entry: Entry) -> dict:
    """The entry's result: the published row, else the live computation (rank, status)."""
    if hasattr(entry, "_contest_result"):
        return entry._contest_result
    published = getattr(entry, "result", None) if entry.event.status == Event.Status.PUBLISHED else None
    if published is not None:
        working = published.working or {}
        row = {"status": "已公布", "rank": published.rank, "written": published.written,
               "practical": published.practical, "final": published.final, "seconds": published.seconds_used,
               "winner": published.winner, "working": working}
    else:
        live = queries.event_results(entry.event)
        row = {"status": "评分未完成", "rank": None, "written": None, "practical": None, "final": None,
               "seconds": None, "winner": None, "working": {}}
        ranked = {r["entry"].pk: r for r in live["rows"]}
        provisional = {r["entry"].pk: r for r in live["provisional"]}
        incomplete = {r["entry"].pk: r for r in live["incomplete"]}
        found = ranked.get(entry.pk) or provisional.get(entry.pk) or incomplete.get(entry.pk)
        if found is not None:
            row.update(written=found["written"], practical=found["practical"], final=found["final"],
                       seconds=found["seconds_used"], working=found.get("working") or {})
            if entry.pk in ranked:
                row.update(status="暂定（未公布）", rank=found["rank"], winner=found["winner"])
            elif entry.pk in provisional:
                row.update(status="暂定（尚有评分未完成）", rank=found["rank"])
    entry._contest_result = row
    return row


def _working(entry: Entry) -> str:
    working = _result(entry)["working"]
    if not working:
        return ""
    method = dict(Event.Method.choices).get(working.get("method"), working.get("method", ""))
    judges = "，".join(f"{name} {score}" for name, score in (working.get("sheets_by_judge") or {}).items())
    dropped = working.get("dropped") or []
    text = f"{method}：{judges}" + (f"（去掉 {'、'.join(dropped)}）" if dropped else "")
    return text + (f"；{working['note']}" if working.get("note") else "")


RESULTS = register(TableSchema(
    kind="contest-results",
    title="竞赛成绩",
    columns=(Column("姓名", "name", required=True),),
    natural_key=(),
    import_hint="成绩由评委评分表计算得出",
    help="仅供导出：项目或竞赛的成绩表；公布前只有主办单位和纪检督查人员能导出暂定成绩。",
    export_query=results_query,
    export_columns=(
        ExportColumn("竞赛", "event.competition.name", width=30),
        ExportColumn("项目", "event.name", width=30),
        ExportColumn("名次", lambda e: _result(e)["rank"]),
        ExportColumn("编号", "contestant.code"),
        ExportColumn("姓名", "contestant.name"),
        ExportColumn("所在机构", "contestant.institution.name", width=30),
        ExportColumn("笔试成绩", lambda e: _result(e)["written"]),
        ExportColumn("实操成绩", lambda e: _result(e)["practical"]),
        ExportColumn("最终成绩", lambda e: _result(e)["final"]),
        ExportColumn("操作用时（秒）", lambda e: _result(e)["seconds"]),
        ExportColumn("代表本区参加市赛", lambda e: _result(e)["winner"]),
        ExportColumn("状态", lambda e: _result(e)["status"], width=20),
        ExportColumn("实操计算过程", _working, width=60),
    ),
))


# --- audit trail (export) ------------------------------------------------------------------------

def _ids(queryset):
    return queryset.annotate(text_id=Cast("pk", CharField())).values("text_id")


def competition_objects_q(competition: Competition) -> Q:
    """Audit events about the competition and everything in it (rubric items removed since
    included: their creation event names the event they belonged to)."""
    events = Event.objects.filter(competition=competition)
    items = {str(pk) for pk in RubricItem.objects.filter(event__in=events).values_list("pk", flat=True)}
    event_ids = set(events.values_list("pk", flat=True))
    for object_id, changes in AuditEvent.objects.filter(
            object_type="contest.rubricitem", action=AuditEvent.Action.CREATE,
            unit_path__startswith=competition.org_unit.path).values_list("object_id", "changes"):
        if (changes or {}).get("event") in event_ids:
            items.add(object_id)
    return (Q(object_type="contest.competition", object_id=str(competition.pk))
            | Q(object_type="contest.event", object_id__in=_ids(events))
            | Q(object_type="contest.rubricitem", object_id__in=sorted(items))
            | Q(object_type="contest.contestant", object_id__in=_ids(Contestant.objects.filter(competition=competition)))
            | Q(object_type="contest.entry", object_id__in=_ids(Entry.objects.filter(event__competition=competition)))
            | Q(object_type="contest.judge", object_id__in=_ids(Judge.objects.filter(competition=competition)))
            | Q(object_type="contest.sheet", object_id__in=_ids(Sheet.objects.filter(event__competition=competition)))
            | Q(object_type="contest.correction",
                object_id__in=_ids(Correction.objects.filter(sheet__event__competition=competition)))
            | Q(object_type="contest.appeal",
                object_id__in=_ids(Appeal.objects.filter(result__event__competition=competition))))


def audit_query(actor, filters: dict):
    events = AuditEvent.objects.restrict(actor, VIEW).filter(object_type__startswith="contest.").order_by("at", "id")
    competition_id = (filters or {}).get("competition")
    if competition_id:
        competition = (Competition.objects.restrict(actor, VIEW).select_related("org_unit")
                       .filter(pk=_int(competition_id)).first())
        if competition is None:
            return events.none()
        events = events.filter(competition_objects_q(competition),
                               unit_path__startswith=competition.org_unit.path)
    return events


OBJECT_TYPES = {"contest.competition": "竞赛", "contest.event": "项目", "contest.rubricitem": "评分项",
                "contest.contestant": "选手", "contest.entry": "报名/笔试", "contest.judge": "评委",
                "contest.sheet": "评分表", "contest.correction": "评分更正", "contest.appeal": "成绩复核"}


def _changes_text(event: AuditEvent) -> str:
    return json.dumps(event.changes, ensure_ascii=False, default=str) if event.changes else ""


AUDIT = register(TableSchema(
    kind="contest-audit",
    title="竞赛审计记录",
    columns=(Column("时间", "at", required=True),),
    natural_key=(),
    import_hint="审计记录由系统生成",
    help="仅供导出：一项竞赛全部对象（项目、选手、评委、评分表、更正、复核）的操作记录，供纪检督查人员使用。",
    export_query=audit_query,
    export_columns=(
        ExportColumn("时间", "at", width=18),
        ExportColumn("操作人", "actor_name"),
        ExportColumn("动作", "get_action_display"),
        ExportColumn("操作", "verb", width=20),
        ExportColumn("对象类型", lambda e: OBJECT_TYPES.get(e.object_type, e.object_type)),
        ExportColumn("对象编号", "object_id"),
        ExportColumn("对象", "object_repr", width=30),
        ExportColumn("变更内容", _changes_text, width=80),
        ExportColumn("序号", "seq"),
        ExportColumn("校验值", "hash", width=20),
    ),
))
