"""Every write of the competition: validate, change, audit — one transaction each.

Roles: the organiser's officers set up and run the competition (CHANGE on the
competition); a judge scores only their own sheets; the chief judge of an event and
a supervisor above the organiser approve corrections and sign the results off —
those two acts are theirs by position, not by CHANGE reach, so a supervisor still
never edits a record.
"""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from govdesk.core.audit import Entry as AuditEntry
from govdesk.core.audit import audit, audit_many, diff
from govdesk.core.errors import Conflict, Forbidden, ServiceError
from govdesk.core.models import AuditEvent, OrgUnit
from govdesk.core.reach import CHANGE, OFFICERS, VIEW, Role, paths_for, require, require_unit, roles_of
from govdesk.core.services import todo_close, todo_open

from . import scoring
from .models import (
    Appeal,
    Competition,
    Contestant,
    Correction,
    Entry,
    Event,
    Judge,
    Panel,
    ResultRow,
    RubricItem,
    Sheet,
    SheetLine,
)

A = AuditEvent.Action
TODO_SCORE = "contest.sheet"
TODO_CORRECTION = "contest.correction"
S = Event.Status


def _text(value, label, field, limit):
    value = (value or "").strip()
    if not value:
        raise ServiceError(f"请填写{label}", fields={field: f"请填写{label}"})
    if len(value) > limit:
        raise ServiceError(f"{label}不能超过 {limit} 个字", fields={field: f"不能超过 {limit} 个字"})
    return value


def _decimal(value, label, field, *, low=None, high=None) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ServiceError(f"{label}应为数字", fields={field: "应为数字"}) from None
    if not number.is_finite() or (low is not None and number < low) or (high is not None and number > high):
        raise ServiceError(f"{label}应在 {low} 到 {high} 之间", fields={field: f"应在 {low} 到 {high} 之间"})
    return number


def _check_institution(competition: Competition, institution: OrgUnit | None, field: str) -> None:
    """An institution of the organiser's district, in service."""
    if institution is None:
        return
    district = "/" + competition.org_unit.path.strip("/").split("/")[0] + "/"
    if (institution.kind != OrgUnit.Kind.INSTITUTION or institution.is_retired
            or not institution.path.startswith(district)):
        raise ServiceError("所在机构须为本区在册的医疗卫生机构", fields={field: "请选择机构"})


def supervises(user, competition: Competition) -> bool:
    return any(competition.org_unit.path.startswith(p) for p in paths_for(user, {Role.SUPERVISOR}))


def is_chief(user, event: Event) -> bool:
    return event.chief_judge_id is not None and event.chief_judge.user_id == user.pk


def _event_for_change(actor, event: Event, *, allowed: set[str], what: str) -> Event:
    require(actor, event.competition, CHANGE)
    event = Event.objects.select_for_update(of=("self",)).select_related("competition__org_unit").get(pk=event.pk)
    if event.status not in allowed:
        raise Conflict(f"「{event.name}」当前为「{event.get_status_display()}」，不能{what}")
    return event


# --- set-up ----------------------------------------------------------------------------------

ORGANISER_KINDS = (OrgUnit.Kind.DISTRICT, OrgUnit.Kind.DEPARTMENT, OrgUnit.Kind.STREET)
COMPETITION_FIELDS = ("name", "starts_on", "ends_on", "venue", "co_organisers", "show_codes", "board_mode",
                      "appeal_hours")


def _competition_clean(data: dict) -> dict:
    data["name"] = _text(data.get("name"), "竞赛名称", "name", 120)
    data["venue"] = _text(data.get("venue"), "地点", "venue", 120)
    data["co_organisers"] = (data.get("co_organisers") or "").strip()[:200]
    if not data.get("starts_on") or not data.get("ends_on"):
        raise ServiceError("请填写竞赛日期", fields={"starts_on": "请填写日期"})
    if data["ends_on"] < data["starts_on"]:
        raise ServiceError("结束日期不能早于开始日期", fields={"ends_on": "不能早于开始日期"})
    data["appeal_hours"] = int(_decimal(data.get("appeal_hours", 24), "复核时限", "appeal_hours", low=0, high=720))
    if data.get("board_mode", Competition.Board.PROGRESS) not in Competition.Board.values:
        raise ServiceError("大屏显示方式不正确", fields={"board_mode": "不正确"})
    return data


@transaction.atomic
def competition_create(*, actor, unit: OrgUnit, name: str, starts_on, ends_on, venue: str, co_organisers: str = "",
                       show_codes: bool = True, board_mode: str = Competition.Board.PROGRESS,
                       appeal_hours: int = 24) -> Competition:
    require_unit(actor, unit, Competition.reach.change, action_label="主办竞赛")
    if unit.kind not in ORGANISER_KINDS:
        raise ServiceError("主办单位应为区、部门或街道", fields={"unit": "主办单位类型不正确"})
    data = _competition_clean({"name": name, "starts_on": starts_on, "ends_on": ends_on, "venue": venue,
                               "co_organisers": co_organisers, "show_codes": show_codes, "board_mode": board_mode,
                               "appeal_hours": appeal_hours})
    competition = Competition.objects.create(org_unit=unit, **data)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=competition, changes={k: data[k] for k in COMPETITION_FIELDS})
    return competition


@transaction.atomic
def competition_update(*, actor, competition: Competition, **changes) -> Competition:
    require(actor, competition, CHANGE)
    stored = Competition.objects.select_for_update().get(pk=competition.pk)  # a double submit finds it done
    before = {k: getattr(stored, k) for k in COMPETITION_FIELDS}
    data = _competition_clean({**before, **{k: v for k, v in changes.items() if k in COMPETITION_FIELDS}})
    changed = diff(before, data)
    if changed:
        Competition.objects.filter(pk=competition.pk).update(**data)
        for k, v in data.items():
            setattr(competition, k, v)
        audit(actor=actor, action=A.UPDATE, unit=competition.org_unit, obj=competition, changes=changed)
    return competition


EVENT_FIELDS = ("name", "order", "time_limit_seconds", "overtime_per_minute", "method", "written_weight",
                "advance_count", "tie_rule")


def _event_clean(data: dict) -> dict:
    data["name"] = _text(data.get("name"), "项目名称", "name", 120)
    data["time_limit_seconds"] = int(_decimal(data.get("time_limit_seconds"), "操作限时", "time_limit_seconds",
                                              low=30, high=7200))
    data["overtime_per_minute"] = _decimal(data.get("overtime_per_minute"), "超时扣分", "overtime_per_minute",
                                           low=0, high=100)
    data["written_weight"] = _decimal(data.get("written_weight"), "笔试权重", "written_weight", low=0, high=1)
    data["advance_count"] = int(_decimal(data.get("advance_count"), "晋级人数", "advance_count", low=1, high=100))
    data["order"] = int(_decimal(data.get("order") or 1, "序号", "order", low=1, high=99))
    if data.get("method") not in Event.Method.values:
        raise ServiceError("实操计分方法不正确", fields={"method": "不正确"})
    if data.get("tie_rule") not in Event.TieRule.values:
        raise ServiceError("并列规则不正确", fields={"tie_rule": "不正确"})
    return data


@transaction.atomic
def event_create(*, actor, competition: Competition, name: str, order: int = 1, time_limit_seconds: int = 600,
                 overtime_per_minute=Decimal("1"), method: str = Event.Method.MEAN,
                 written_weight=Decimal("0.50"), advance_count: int = 3,
                 tie_rule: str = Event.TieRule.ALL) -> Event:
    require(actor, competition, CHANGE)
    data = _event_clean({"name": name, "order": order, "time_limit_seconds": time_limit_seconds,
                         "overtime_per_minute": overtime_per_minute, "method": method,
                         "written_weight": written_weight, "advance_count": advance_count, "tie_rule": tie_rule})
    # the competition's row lock orders two submits: the second sees the first's event (not a 500)
    Competition.objects.select_for_update().filter(pk=competition.pk).exists()
    if Event.objects.filter(competition=competition, name=data["name"]).exists():
        raise ServiceError(f"已有项目「{data['name']}」", fields={"name": "项目名称重复"})
    event = Event.objects.create(competition=competition, **data)
    audit(actor=actor, action=A.CREATE, unit=competition.org_unit, obj=event, changes=data)
    return event


@transaction.atomic
def event_update(*, actor, event: Event, **changes) -> Event:
    event = _event_for_change(actor, event, allowed={S.SETUP, S.ADVANCED}, what="修改项目规则")
    before = {k: getattr(event, k) for k in EVENT_FIELDS}
    data = _event_clean({**before, **{k: v for k, v in changes.items() if k in EVENT_FIELDS}})
    if event.status != S.SETUP and data["advance_count"] != before["advance_count"]:
        raise Conflict("晋级已确认，不能再改晋级人数")
    if Event.objects.filter(competition=event.competition, name=data["name"]).exclude(pk=event.pk).exists():
        raise ServiceError(f"已有项目「{data['name']}」", fields={"name": "项目名称重复"})
    changed = diff(before, data)
    if changed:
        Event.objects.filter(pk=event.pk).update(**data)
        for k, v in data.items():
            setattr(event, k, v)
        audit(actor=actor, action=A.UPDATE, unit=event.competition.org_unit, obj=event, changes=changed)
    return event


@transaction.atomic
def item_add(*, actor, event: Event, title: str, max_points, step=Decimal("0.5"), part: str = "operation",
             critical: bool = False, effect: str = "", cap_points=None, order: int | None = None) -> RubricItem:
    event = _event_for_change(actor, event, allowed={S.SETUP, S.ADVANCED}, what="修改评分标准")
    title = _text(title, "评分项目", "title", 200)
    max_points = _decimal(max_points, "满分", "max_points", low=Decimal("0.5"), high=100)
    step = _decimal(step, "步长", "step", low=Decimal("0.1"), high=max_points)
    if (max_points / step) != (max_points / step).to_integral_value():
        raise ServiceError("满分应是步长的整数倍", fields={"step": "满分应是步长的整数倍"})
    if part not in RubricItem.Part.values:
        raise ServiceError("部分不正确", fields={"part": "不正确"})
    effect = effect or ""
    if not critical:
        effect, cap_points = "", None
    elif effect not in ("cap", "zero"):
        raise ServiceError("一票否决项须声明否决效果（封顶或记零）", fields={"effect": "请选择否决效果"})
    if effect == "cap":
        if cap_points in (None, ""):
            raise ServiceError("封顶的否决项须填写封顶分", fields={"cap_points": "请填写封顶分"})
        cap_points = _decimal(cap_points, "封顶分", "cap_points", low=0, high=1000)
    else:
        cap_points = None
    if order is None:
        order = event.items.count() + 1
    item = RubricItem.objects.create(event=event, title=title, max_points=max_points, step=step, part=part,
                                     critical=critical, effect=effect, cap_points=cap_points, order=order)
    audit(actor=actor, action=A.CREATE, unit=event.competition.org_unit, obj=item,
          changes={"event": event.pk, "title": title, "max_points": max_points, "step": step, "part": part,
                   "critical": critical, "effect": effect, "cap_points": cap_points})
    return item


@transaction.atomic
def item_remove(*, actor, item: RubricItem) -> None:
    _event_for_change(actor, item.event, allowed={S.SETUP, S.ADVANCED}, what="修改评分标准")
    audit(actor=actor, action=A.DELETE, unit=item.event.competition.org_unit, obj=item,
          changes={"event": item.event_id, "title": item.title, "max_points": item.max_points})
    item.delete()


@transaction.atomic
def contestant_add(*, actor, competition: Competition, name: str, institution: OrgUnit,
                   events: list[Event]) -> Contestant:
    require(actor, competition, CHANGE)
    name = _text(name, "选手姓名", "name", 50)
    _check_institution(competition, institution, "institution")
    if not events:
        raise ServiceError("请至少选择一个参赛项目", fields={"events": "请选择参赛项目"})
    if any(e.competition_id != competition.pk for e in events):
        raise ServiceError("参赛项目不属于本竞赛", fields={"events": "参赛项目不正确"})
    if any(e.status != S.SETUP for e in events):
        raise Conflict("所选项目已确认晋级，不能再报名", fields={"events": "项目已确认晋级"})
    codes = [int(c) for c in Contestant.objects.filter(competition=competition).values_list("code", flat=True)
             if c.isdigit()]
    code = f"{(max(codes) + 1) if codes else 1:03d}"
    try:
        with transaction.atomic():
            contestant = Contestant.objects.create(competition=competition, code=code, name=name,
                                                   institution=institution)
    except IntegrityError:
        raise Conflict("选手编号冲突，请重试") from None
    Entry.objects.bulk_create([Entry(event=e, contestant=contestant) for e in events])
    audit(actor=actor, action=A.CREATE, unit=competition.org_unit, obj=contestant,
          changes={"code": code, "name": name, "institution": institution.pk, "events": [e.pk for e in events]})
    return contestant


@transaction.atomic
def contestant_enter(*, actor, contestant: Contestant, event: Event) -> Entry:
    """Enter a registered contestant in another event of the competition (before its advancement)."""
    require(actor, contestant.competition, CHANGE)
    if event.competition_id != contestant.competition_id:
        raise ServiceError("参赛项目不属于本竞赛", fields={"event": "参赛项目不正确"})
    if event.status != S.SETUP:
        raise Conflict("该项目已确认晋级，不能再报名", fields={"event": "项目已确认晋级"})
    if Entry.objects.filter(event=event, contestant=contestant).exists():
        raise ServiceError(f"{contestant.name} 已报名「{event.name}」", fields={"event": "已报名"})
    entry = Entry.objects.create(event=event, contestant=contestant)
    audit(actor=actor, action=A.CREATE, unit=contestant.competition.org_unit, obj=entry,
          changes={"contestant": contestant.pk, "event": event.pk})
    return entry


def judge_candidates(competition: Competition):
    """People holding the judge role inside the organiser's subtree."""
    from govdesk.core.models import User
    return User.objects.filter(
        memberships__role=Role.JUDGE, memberships__org_unit__path__startswith=competition.org_unit.path,
        is_active=True).distinct().order_by("username")


@transaction.atomic
def judge_add(*, actor, competition: Competition, user, institution: OrgUnit | None = None) -> Judge:
    require(actor, competition, CHANGE)
    if not judge_candidates(competition).filter(pk=user.pk).exists():
        raise ServiceError(f"{user.label} 不是本单位登记的评委", fields={"user": "须为评委角色"})
    _check_institution(competition, institution, "institution")
    if Judge.objects.filter(competition=competition, user=user).exists():
        raise ServiceError(f"{user.label} 已是本竞赛评委", fields={"user": "已是评委"})
    judge = Judge.objects.create(competition=competition, user=user, institution=institution)
    audit(actor=actor, action=A.CREATE, unit=competition.org_unit, obj=judge,
          changes={"user": user.pk, "institution": institution.pk if institution else None})
    return judge


@transaction.atomic
def panel_set(*, actor, event: Event, judges: list[Judge], chief: Judge | None) -> Event:
    """Seat the event's judges and name its chief judge (before judging opens)."""
    event = _event_for_change(actor, event, allowed={S.SETUP, S.ADVANCED}, what="调整评委")
    if any(j.competition_id != event.competition_id for j in judges):
        raise ServiceError("评委不属于本竞赛", fields={"judges": "评委不正确"})
    if chief is not None and chief.pk not in {j.pk for j in judges}:
        raise ServiceError("评委组长须是本项目的评委", fields={"chief": "须是本项目评委"})
    before = sorted(event.panel.values_list("judge_id", flat=True))
    after = sorted(j.pk for j in judges)
    event.panel.exclude(judge_id__in=after).delete()
    Panel.objects.bulk_create([Panel(event=event, judge_id=j) for j in after if j not in before])
    old_chief = event.chief_judge_id
    event.chief_judge = chief
    event.save(update_fields=["chief_judge"])
    changes = diff({"judges": before, "chief": old_chief}, {"judges": after, "chief": chief.pk if chief else None})
    if changes:
        audit(actor=actor, action=A.UPDATE, unit=event.competition.org_unit, obj=event, verb="panel",
              changes=changes)
    return event


# --- written round ---------------------------------------------------------------------------

@transaction.atomic
def written_scores_record(*, actor, event: Event, scores: dict) -> int:
    """scores: {entry_id: (score, part, minutes)} with "" or None for blank. Returns the count changed."""
    event = _event_for_change(actor, event, allowed={S.SETUP}, what="录入笔试成绩")
    entries = {e.pk: e for e in Entry.objects.filter(event=event, pk__in=list(scores))}
    if len(entries) != len(scores):
        raise ServiceError("有选手不属于本项目")
    errors = {}
    updates = []
    entries_audit = []
    for entry_id, (score, part, minutes) in scores.items():
        entry = entries[entry_id]
        try:
            values = {
                "written_score": None if score in (None, "") else
                _decimal(score, "笔试成绩", "score", low=0, high=100),
                "written_part": None if part in (None, "") else
                _decimal(part, "专业题得分", "part", low=0, high=100),
                "written_minutes": None if minutes in (None, "") else
                int(_decimal(minutes, "答题用时", "minutes", low=0, high=600)),
            }
        except ServiceError as e:
            errors[f"score_{entry_id}"] = f"{entry.contestant.code}：{e.message}"
            continue
        before = {k: getattr(entry, k) for k in values}
        changed = diff(before, values)
        if changed:
            for k, v in values.items():
                setattr(entry, k, v)
            updates.append(entry)
            entries_audit.append(AuditEntry(action=A.UPDATE, unit=event.competition.org_unit, obj=entry,
                                            verb="written_score", changes=changed))
    if errors:
        raise ServiceError("；".join(errors.values()), fields=errors)
    Entry.objects.bulk_update(updates, ["written_score", "written_part", "written_minutes"])
    audit_many(actor=actor, entries=entries_audit)
    return len(updates)


def advancement_rows(event: Event) -> list[dict]:
    return [{"id": e.pk, "score": e.written_score, "part": e.written_part, "minutes": e.written_minutes}
            for e in Entry.objects.filter(event=event).order_by("pk")]


@transaction.atomic
def advancement_confirm(*, actor, event: Event, expected: list[int]) -> list[int]:
    """Confirm the previewed advancement; refuses if the scores changed since the preview."""
    event = _event_for_change(actor, event, allowed={S.SETUP}, what="确认晋级")
    result = scoring.advancement(advancement_rows(event), event.advance_count, event.tie_rule)
    if sorted(result.advancing) != sorted(expected):
        raise Conflict("成绩在预览后发生了变化，请重新预览后再确认")
    if not result.advancing:
        raise ServiceError("还没有可晋级的选手（请先录入笔试成绩）")
    Entry.objects.filter(event=event, pk__in=result.advancing).update(advanced=True)
    event.status = S.ADVANCED
    event.save(update_fields=["status"])
    audit(actor=actor, action=A.STATE, unit=event.competition.org_unit, obj=event, verb="advance",
          changes={"advancing": result.advancing, "tied": result.tied, "note": result.note,
                   "rule": event.tie_rule, "count": event.advance_count})
    return result.advancing


# --- draw and judging ----------------------------------------------------------------------------

@transaction.atomic
def draw_run(*, actor, event: Event, seed: int | None = None) -> list[int]:
    """Draw the practical order from a seed (random when not given) and record the seed,
    so re-running ``scoring.draw_order`` with it gives the same order."""
    event = _event_for_change(actor, event, allowed={S.ADVANCED}, what="抽签")
    if seed is None:
        seed = secrets.randbelow(10**9)
    seed = int(seed)
    if not 0 <= seed < 10**12:
        raise ServiceError("种子应为 0 到 10^12 之间的整数", fields={"seed": "种子不正确"})
    ids = list(Entry.objects.filter(event=event, advanced=True).values_list("pk", flat=True))
    order = scoring.draw_order(ids, seed)
    Entry.objects.filter(event=event).update(draw_order=None)
    for position, entry_id in enumerate(order, start=1):
        Entry.objects.filter(pk=entry_id).update(draw_order=position)
    old = event.draw_seed
    event.draw_seed, event.drawn_at = seed, timezone.now()
    event.save(update_fields=["draw_seed", "drawn_at"])
    audit(actor=actor, action=A.STATE, unit=event.competition.org_unit, obj=event, verb="draw",
          changes={"seed": seed, "previous_seed": old, "order": order})
    return order


def recused(judge: Judge, entry: Entry) -> bool:
    return judge.institution_id is not None and judge.institution_id == entry.contestant.institution_id


@transaction.atomic
def judging_open(*, actor, event: Event) -> int:
    """Create a sheet for every seated judge and drawn contestant, leaving out the judges
    recused from their own institution's contestants, and put each in its judge's inbox."""
    event = _event_for_change(actor, event, allowed={S.ADVANCED}, what="开始实操评分")
    if event.drawn_at is None:
        raise ServiceError("请先抽签确定出场顺序")
    if not event.items.exists():
        raise ServiceError("请先制定评分标准")
    if event.chief_judge_id is None:
        raise ServiceError("请先指定评委组长")
    judges = [p.judge for p in event.panel.select_related("judge__user")]
    entries = list(Entry.objects.filter(event=event, advanced=True).select_related("contestant"))
    sheets = []
    for entry in entries:
        seated = [j for j in judges if not recused(j, entry)]
        if not seated:
            raise ServiceError(f"选手 {entry.contestant.code} 回避后没有可评分的评委，请增加评委")
        sheets += [Sheet(event=event, entry=entry, judge=j) for j in seated]
    Sheet.objects.bulk_create(sheets)
    event.status = S.JUDGING
    event.save(update_fields=["status"])
    competition = event.competition
    for sheet in Sheet.objects.filter(event=event).select_related("entry__contestant", "judge__user"):
        todo_open(user=sheet.judge.user, kind=TODO_SCORE, source=sheet, unit=competition.org_unit,
                  title=f"{event.name} · 选手 {sheet.entry.contestant.code} 实操评分",
                  url=reverse("contest:sheet", args=[sheet.pk]))
    audit(actor=actor, action=A.STATE, unit=competition.org_unit, obj=event, verb="judging_open",
          changes={"sheets": len(sheets),
                   "recusals": [[j.pk, e.pk] for e in entries for j in judges if recused(j, e)]})
    return len(sheets)


def _parse_points(event: Event, points: dict, failed) -> tuple[list, dict, set]:
    items = list(event.items.all())
    errors = {}
    clean = {}
    for item in items:
        raw = points.get(item.pk, points.get(str(item.pk)))
        try:
            value = None if raw in (None, "") else Decimal(str(raw))
        except InvalidOperation:
            value = None
        message = scoring.check_points(item, value)
        if message:
            errors[f"item_{item.pk}"] = f"{item.title}：{message}"
        else:
            clean[item.pk] = value
    if errors:
        raise ServiceError("每一项都须在满分以内按步长评分后才能提交：" + "；".join(errors.values()), fields=errors)
    critical = {i.pk for i in items if i.critical}
    failed = {int(f) for f in (failed or [])}
    if not failed <= critical:
        raise ServiceError("只有一票否决项可以标记为未通过")
    return items, clean, failed


def _seconds(value) -> int:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise ServiceError("请用计时器记录操作用时", fields={"seconds_used": "请记录用时"}) from None
    if not 0 < seconds <= 6 * 3600:
        raise ServiceError("操作用时不正确", fields={"seconds_used": "用时不正确"})
    return seconds


def _apply_scores(sheet: Sheet, event: Event, items, points: dict, failed: set, seconds: int) -> scoring.SheetScore:
    result = scoring.score_sheet(items=items, points=points, failed=failed, seconds_used=seconds,
                                 limit_seconds=event.time_limit_seconds, per_minute=event.overtime_per_minute)
    SheetLine.objects.filter(sheet=sheet).delete()
    SheetLine.objects.bulk_create([SheetLine(sheet=sheet, item_id=pk, points=v, failed=pk in failed)
                                   for pk, v in points.items()])
    sheet.seconds_used = seconds
    sheet.raw_total = result.raw
    sheet.overtime_deduction = result.overtime_deduction
    sheet.critical_failed = bool(result.critical_failed)
    sheet.total = result.total
    return result


def sheet_snapshot(sheet: Sheet) -> dict:
    return {"lines": {str(line.item_id): {"points": str(line.points), "failed": line.failed}
                      for line in sheet.lines.all()},
            "seconds_used": sheet.seconds_used, "raw_total": str(sheet.raw_total),
            "overtime_deduction": str(sheet.overtime_deduction), "critical_failed": sheet.critical_failed,
            "total": str(sheet.total)}


@transaction.atomic
def sheet_submit(*, actor, sheet: Sheet, points: dict, failed=(), seconds_used) -> Sheet:
    """Score every item and submit: the sheet locks."""
    require(actor, sheet, CHANGE)
    sheet = Sheet.objects.select_for_update(of=("self",)).select_related("event__competition__org_unit").get(pk=sheet.pk)
    event = sheet.event
    if sheet.status != Sheet.Status.OPEN:
        raise Conflict("评分表已提交锁定，如需修改请申请更正")
    if event.status != S.JUDGING:
        raise Conflict("本项目当前不在评分阶段")
    items, clean, failed = _parse_points(event, points, failed)
    seconds = _seconds(seconds_used)
    result = _apply_scores(sheet, event, items, clean, failed, seconds)
    sheet.status, sheet.submitted_at = Sheet.Status.SUBMITTED, timezone.now()
    sheet.save()
    todo_close(source=sheet, kind=TODO_SCORE)
    audit(actor=actor, action=A.STATE, unit=event.competition.org_unit, obj=sheet, verb="submit",
          changes={**sheet_snapshot(sheet), "overtime_minutes": result.overtime_minutes,
                   "critical_failed_items": result.critical_failed})
    return sheet


# --- corrections -------------------------------------------------------------------------------

@transaction.atomic
def correction_request(*, actor, sheet: Sheet, points: dict, failed=(), seconds_used, reason: str) -> Correction:
    require(actor, sheet, CHANGE)
    sheet = Sheet.objects.select_for_update(of=("self",)).select_related("event__competition__org_unit",
                                                             "event__chief_judge__user").get(pk=sheet.pk)
    event = sheet.event
    if sheet.status != Sheet.Status.SUBMITTED:
        raise Conflict("评分表尚未提交，可直接修改后提交")
    if event.status == S.PUBLISHED:
        raise Conflict("成绩已公布，评分表不能再更正")
    if sheet.corrections.filter(status=Correction.Status.PENDING).exists():
        raise Conflict("该评分表已有待审批的更正")
    reason = _text(reason, "更正理由", "reason", 300)
    items, clean, failed = _parse_points(event, points, failed)
    seconds = _seconds(seconds_used)
    proposed = {"lines": {str(pk): {"points": str(v), "failed": pk in failed} for pk, v in clean.items()},
                "seconds_used": seconds}
    correction = Correction.objects.create(sheet=sheet, requested_by=actor, requested_at=timezone.now(),
                                           reason=reason, original=sheet_snapshot(sheet), proposed=proposed)
    audit(actor=actor, action=A.CREATE, unit=event.competition.org_unit, obj=correction, verb="correction_request",
          changes={"sheet": sheet.pk, "reason": reason, "original": correction.original, "proposed": proposed})
    url = reverse("contest:correction", args=[correction.pk])
    title = f"{event.name} · 评分更正待审批（选手 {sheet.entry.contestant.code}）"
    if event.chief_judge_id:
        todo_open(user=event.chief_judge.user, kind=TODO_CORRECTION, title=title, source=correction, url=url,
                  unit=event.competition.org_unit)
    return correction


@transaction.atomic
def correction_approve(*, actor, correction: Correction) -> Correction:
    """The chief judge and a supervisor each approve; the second approval applies the change."""
    correction = Correction.objects.select_for_update(of=("self",)).select_related(
        "sheet__event__competition__org_unit", "sheet__event__chief_judge").get(pk=correction.pk)
    sheet = correction.sheet
    event = sheet.event
    require(actor, correction, VIEW)
    if correction.status != Correction.Status.PENDING:
        raise Conflict("该更正已处理")
    if event.status == S.PUBLISHED:
        raise Conflict("成绩已公布，不能再更正")
    now = timezone.now()
    as_chief, as_supervisor = is_chief(actor, event), supervises(actor, event.competition)
    if as_chief and correction.chief_approved_at is None:
        correction.chief_approved_by, correction.chief_approved_at, role = actor, now, "chief"
    elif as_supervisor and correction.supervisor_approved_at is None:
        correction.supervisor_approved_by, correction.supervisor_approved_at, role = actor, now, "supervisor"
    elif as_chief or as_supervisor:
        raise Conflict("您已审批过该更正")
    else:
        raise Forbidden("只有评委组长和纪检督查人员可以审批更正")
    unit = event.competition.org_unit
    audit(actor=actor, action=A.STATE, unit=unit, obj=correction, verb=f"approve_{role}",
          changes={"sheet": sheet.pk})
    if correction.chief_approved_at and correction.supervisor_approved_at:
        sheet = Sheet.objects.select_for_update(of=("self",)).get(pk=sheet.pk)
        proposed = correction.proposed
        points = {int(k): Decimal(v["points"]) for k, v in proposed["lines"].items()}
        failed = {int(k) for k, v in proposed["lines"].items() if v["failed"]}
        items, clean, failed = _parse_points(event, points, failed)
        _apply_scores(sheet, event, items, clean, failed, proposed["seconds_used"])
        sheet.corrected = True
        sheet.save()
        correction.status, correction.decided_at = Correction.Status.APPLIED, now
        signed = bool(event.chief_signed_at or event.supervisor_signed_at)
        Event.objects.filter(pk=event.pk).update(chief_signed_by=None, chief_signed_at=None,
                                                 supervisor_signed_by=None, supervisor_signed_at=None)
        todo_close(source=correction, kind=TODO_CORRECTION)
        audit(actor=actor, action=A.UPDATE, unit=unit, obj=sheet, verb="correction_apply",
              changes={"correction": correction.pk, "original": correction.original,
                       "corrected": sheet_snapshot(sheet), "signoffs_cleared": signed})
    correction.save()
    return correction


@transaction.atomic
def correction_reject(*, actor, correction: Correction, note: str) -> Correction:
    correction = Correction.objects.select_for_update(of=("self",)).select_related(
        "sheet__event__competition__org_unit", "sheet__event__chief_judge").get(pk=correction.pk)
    require(actor, correction, VIEW)
    event = correction.sheet.event
    if not (is_chief(actor, event) or supervises(actor, event.competition)):
        raise Forbidden("只有评委组长和纪检督查人员可以驳回更正")
    if correction.status != Correction.Status.PENDING:
        raise Conflict("该更正已处理")
    note = _text(note, "驳回理由", "note", 300)
    correction.status, correction.decided_at = Correction.Status.REJECTED, timezone.now()
    correction.save(update_fields=["status", "decided_at"])
    todo_close(source=correction, kind=TODO_CORRECTION)
    audit(actor=actor, action=A.STATE, unit=event.competition.org_unit, obj=correction, verb="reject",
          changes={"note": note})
    return correction


# --- closing, sign-off, publication ---------------------------------------------------------------

@transaction.atomic
def round_close(*, actor, event: Event) -> Event:
    event = _event_for_change(actor, event, allowed={S.JUDGING}, what="结束评分")
    missing = Sheet.objects.filter(event=event, status=Sheet.Status.OPEN).count()
    if missing:
        raise ServiceError(f"还有 {missing} 份评分表未提交，请查看缺表报告")
    event.status = S.CLOSED
    event.save(update_fields=["status"])
    audit(actor=actor, action=A.STATE, unit=event.competition.org_unit, obj=event, verb="round_close")
    return event


@transaction.atomic
def results_sign(*, actor, event: Event) -> Event:
    """The chief judge or a supervisor signs the results off (each once)."""
    event = Event.objects.select_for_update(of=("self",)).select_related("competition__org_unit", "chief_judge").get(pk=event.pk)
    require(actor, event, VIEW)
    if event.status != S.CLOSED:
        raise Conflict("评分结束后才能签字确认成绩")
    if Correction.objects.filter(sheet__event=event, status=Correction.Status.PENDING).exists():
        raise Conflict("还有待审批的评分更正")
    now = timezone.now()
    if is_chief(actor, event) and event.chief_signed_at is None:
        event.chief_signed_by, event.chief_signed_at, role = actor, now, "chief"
    elif supervises(actor, event.competition) and event.supervisor_signed_at is None:
        event.supervisor_signed_by, event.supervisor_signed_at, role = actor, now, "supervisor"
    elif is_chief(actor, event) or supervises(actor, event.competition):
        raise Conflict("您已签字确认")
    else:
        raise Forbidden("只有评委组长和纪检督查人员可以签字确认成绩")
    event.save(update_fields=["chief_signed_by", "chief_signed_at", "supervisor_signed_by", "supervisor_signed_at"])
    audit(actor=actor, action=A.STATE, unit=event.competition.org_unit, obj=event, verb=f"sign_{role}")
    return event


@transaction.atomic
def results_publish(*, actor, event: Event) -> list[ResultRow]:
    from .queries import event_results

    event = _event_for_change(actor, event, allowed={S.CLOSED}, what="公布成绩")
    if not (event.chief_signed_at and event.supervisor_signed_at):
        raise Conflict("须评委组长和纪检督查人员都签字确认后才能公布成绩")
    results = event_results(event)
    if results["missing"]:
        raise ServiceError("还有未提交的评分表，不能公布")
    rows = [ResultRow(event=event, entry_id=r["entry"].pk, written=r["written"], practical=r["practical"],
                      final=r["final"], seconds_used=r["seconds_used"], rank=r["rank"], winner=r["winner"],
                      working=r["working"]) for r in results["rows"]]
    ResultRow.objects.bulk_create(rows)
    event.status, event.published_at = S.PUBLISHED, timezone.now()
    event.save(update_fields=["status", "published_at"])
    audit(actor=actor, action=A.STATE, unit=event.competition.org_unit, obj=event, verb="publish",
          changes={"results": [{"entry": r.entry_id, "final": r.final, "rank": r.rank, "winner": r.winner}
                               for r in rows]})
    return rows


# --- appeals (复核) ---------------------------------------------------------------------------------

def appeal_deadline(event: Event):
    from datetime import timedelta
    if event.published_at is None:
        return None
    return event.published_at + timedelta(hours=event.competition.appeal_hours)


def may_appeal(user, result: ResultRow) -> bool:
    """An officer of the contestant's institution, or the organiser recording a paper appeal."""
    institution = result.entry.contestant.institution
    return (any(institution.path.startswith(p) for p in paths_for(user, OFFICERS - {Role.SUPERVISOR}))
            or can_organise(user, result.event.competition))


@transaction.atomic
def appeal_file(*, actor, result: ResultRow, reason: str) -> Appeal:
    require(actor, result, VIEW)
    result = ResultRow.objects.select_related("event__competition__org_unit", "entry__contestant__institution").get(
        pk=result.pk)
    if not may_appeal(actor, result):
        raise Forbidden("只有选手所在机构或主办单位可以申请复核")
    deadline = appeal_deadline(result.event)
    if deadline is None or timezone.now() > deadline:
        raise Conflict("已超过复核申请时限")
    if result.appeals.filter(status=Appeal.Status.PENDING).exists():
        raise Conflict("该成绩已有待处理的复核申请")
    reason = _text(reason, "复核理由", "reason", 500)
    appeal = Appeal.objects.create(result=result, filed_by=actor, filed_at=timezone.now(), reason=reason)
    audit(actor=actor, action=A.CREATE, unit=result.event.competition.org_unit, obj=appeal, verb="appeal_file",
          changes={"result": result.pk, "entry": result.entry_id, "reason": reason})
    return appeal


@transaction.atomic
def appeal_decide(*, actor, appeal: Appeal, upheld: bool, outcome: str) -> Appeal:
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related(
        "result__event__competition__org_unit").get(pk=appeal.pk)
    competition = appeal.result.event.competition
    require(actor, competition, CHANGE)
    if appeal.status != Appeal.Status.PENDING:
        raise Conflict("该复核申请已处理")
    outcome = _text(outcome, "处理结果", "outcome", 500)
    appeal.status = Appeal.Status.UPHELD if upheld else Appeal.Status.DISMISSED
    appeal.handled_by, appeal.handled_at, appeal.outcome = actor, timezone.now(), outcome
    appeal.save(update_fields=["status", "handled_by", "handled_at", "outcome"])
    audit(actor=actor, action=A.STATE, unit=competition.org_unit, obj=appeal, verb="appeal_decide",
          changes={"status": appeal.status, "outcome": outcome})
    return appeal


def can_organise(user, competition: Competition) -> bool:
    return Competition.objects.restrict(user, CHANGE).filter(pk=competition.pk).exists()


def is_judge_user(user) -> bool:
    return Role.JUDGE in roles_of(user)


# --- imports (the tables engine's ``apply_batch`` writes through these) ---------------------------
# Each takes a batch of rows already resolved to objects and answers, per row, "created",
# "updated", "unchanged" or a ``ServiceError`` (nothing written for that row). Writes are bulk,
# with one audit event per created or changed row.

def _next_codes(taken: set[str]):
    """Contestant codes 001, 002, … after the highest numeric code, skipping ``taken``."""
    number = max((int(c) for c in taken if c.isdigit()), default=0)
    while True:
        number += 1
        code = f"{number:03d}"
        if code not in taken:
            yield code


@transaction.atomic
def contestants_import(*, actor, competition: Competition, rows: list[dict]) -> list:
    """Register contestants and enter them in events. A row: ``code`` (or None: found by
    name and institution, else given the next free code), ``name``, ``institution``,
    ``events``. A contestant already registered gets the events they have not entered yet;
    entering an event is refused once its advancement is confirmed."""
    require(actor, competition, CHANGE)
    existing = list(Contestant.objects.filter(competition=competition).select_related("institution"))
    by_code = {c.code: c for c in existing}
    by_person: dict[tuple, list[Contestant]] = {}
    for c in existing:
        by_person.setdefault((c.name, c.institution_id), []).append(c)
    entered = set(Entry.objects.filter(contestant__competition=competition).values_list("contestant_id", "event_id"))
    entered_new: set[tuple[int, int]] = set()  # (id(contestant), event id) entered earlier in this batch
    codes = _next_codes(set(by_code) | {r["code"] for r in rows if r["code"]})
    outcomes: list = []
    created: list[Contestant] = []
    entries: list[Entry] = []
    audits: list[tuple[str, Contestant, dict]] = []
    for row in rows:
        name, institution, code = row["name"], row["institution"], row["code"]
        try:
            _check_institution(competition, institution, "institution")
            if any(e.competition_id != competition.pk for e in row["events"]):
                raise ServiceError("参赛项目不属于本竞赛")
            contestant = by_code.get(code) if code else None
            if contestant is not None and (contestant.name, contestant.institution_id) != (name, institution.pk):
                raise ServiceError(f"编号 {code} 已登记为 {contestant.name}（{contestant.institution.name}）")
            if contestant is None:
                same = by_person.get((name, institution.pk), [])
                if code and same:
                    raise ServiceError(f"{name}（{institution.name}）已登记，编号为 {same[0].code}")
                if len(same) > 1:
                    raise ServiceError(f"{institution.name}有 {len(same)} 名选手叫{name}，请填写编号")
                contestant = same[0] if same else None
            new_events = [e for e in row["events"] if contestant is None
                          or ((contestant.pk, e.pk) if contestant.pk else (id(contestant), e.pk))
                          not in (entered if contestant.pk else entered_new)]
            closed = [e.name for e in new_events if e.status != S.SETUP]
            if closed:
                raise Conflict(f"「{'、'.join(closed)}」已确认晋级，不能再报名")
        except ServiceError as e:
            outcomes.append(e)
            continue
        if contestant is None:
            contestant = Contestant(competition=competition, code=code or next(codes), name=name,
                                    institution=institution)
            created.append(contestant)
            by_code[contestant.code] = contestant
            by_person[(name, institution.pk)] = [contestant]
            audits.append((A.CREATE, contestant, {"code": contestant.code, "name": name,
                                                  "institution": institution.pk,
                                                  "events": [e.pk for e in new_events]}))
            outcomes.append("created")
        elif new_events:
            audits.append((A.UPDATE, contestant, {"events": [[], [e.pk for e in new_events]]}))
            outcomes.append("updated")
        else:
            outcomes.append("unchanged")
        for event in new_events:
            entries.append(Entry(event=event, contestant=contestant))
            if contestant.pk:
                entered.add((contestant.pk, event.pk))
            else:
                entered_new.add((id(contestant), event.pk))
    try:
        with transaction.atomic():
            Contestant.objects.bulk_create(created)
    except IntegrityError:
        raise Conflict("选手编号冲突，请重试") from None
    for entry in entries:
        entry.contestant_id = entry.contestant.pk
    Entry.objects.bulk_create(entries)
    audit_many(actor=actor, entries=[AuditEntry(action=action, unit=competition.org_unit, obj=obj, verb="import",
                                                changes=changes) for action, obj, changes in audits])
    return outcomes


@transaction.atomic
def written_scores_import(*, actor, event: Event, rows: list[dict]) -> list:
    """The exam sheet of one event: a row is ``entry`` with ``score`` and, when given,
    ``part`` and ``minutes`` (None keeps what is recorded). Written through
    ``written_scores_record``; refused as a whole once the advancement is confirmed."""
    require(actor, event.competition, CHANGE)
    if event.status != S.SETUP:
        return [Conflict(f"「{event.name}」已确认晋级，笔试成绩不能再导入或修改") for _row in rows]
    scores: dict[int, tuple] = {}
    outcomes: list = []
    for row in rows:
        entry: Entry = row["entry"]
        wanted = (row["score"],
                  row["part"] if row["part"] is not None else entry.written_part,
                  row["minutes"] if row["minutes"] is not None else entry.written_minutes)
        if entry.written_score is None:
            outcomes.append("created")
        elif (entry.written_score, entry.written_part, entry.written_minutes) != wanted:
            outcomes.append("updated")
        else:
            outcomes.append("unchanged")
            continue
        scores[entry.pk] = tuple("" if v is None else v for v in wanted)
    if scores:
        written_scores_record(actor=actor, event=event, scores=scores)
    return outcomes


@transaction.atomic
def judges_import(*, actor, competition: Competition, rows: list[dict]) -> list:
    """Engage judges (a row: ``user``, ``institution`` or None to keep the recorded one).
    A judge's institution decides recusal when judging opens, so it cannot change once
    the judge has sheets."""
    require(actor, competition, CHANGE)
    candidates = set(judge_candidates(competition).values_list("pk", flat=True))
    judges = {j.user_id: j for j in Judge.objects.filter(competition=competition)}
    scoring_judges = set(Sheet.objects.filter(judge__competition=competition).values_list("judge_id", flat=True))
    outcomes: list = []
    created: list[Judge] = []
    updated: list[Judge] = []
    audits: list[tuple[str, Judge, dict]] = []
    for row in rows:
        user, institution = row["user"], row["institution"]
        try:
            if user.pk not in candidates:
                raise ServiceError(f"{user.label} 不是本单位登记的评委")
            _check_institution(competition, institution, "institution")
        except ServiceError as e:
            outcomes.append(e)
            continue
        judge = judges.get(user.pk)
        if judge is None:
            judge = Judge(competition=competition, user=user, institution=institution)
            judges[user.pk] = judge
            created.append(judge)
            audits.append((A.CREATE, judge, {"user": user.pk, "institution": institution.pk if institution else None}))
            outcomes.append("created")
            continue
        if judge.pk is None:
            outcomes.append(ServiceError(f"{user.label} 在本文件中出现了不止一次"))
            continue
        if institution is None or institution.pk == judge.institution_id:
            outcomes.append("unchanged")
            continue
        if judge.pk in scoring_judges:
            outcomes.append(Conflict(f"{user.label} 已开始评分，不能再修改所在机构（回避依据）"))
            continue
        audits.append((A.UPDATE, judge, {"institution": [judge.institution_id, institution.pk]}))
        judge.institution = institution
        updated.append(judge)
        outcomes.append("updated")
    Judge.objects.bulk_create(created)
    Judge.objects.bulk_update(updated, ["institution"])
    audit_many(actor=actor, entries=[AuditEntry(action=action, unit=competition.org_unit, obj=obj, verb="import",
                                                changes=changes) for action, obj, changes in audits])
    return outcomes
