"""Every write of investment promotion: validate, change, audit — one transaction each."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from govdesk.core import files, personal
from govdesk.core import services as core_services
from govdesk.core.audit import Entry, audit, audit_many
from govdesk.core.errors import Conflict, Forbidden, NotInReach, ServiceError
from govdesk.core.models import AuditEvent, OrgUnit, ReportKind, User
from govdesk.core.reach import CHANGE, VIEW, Role, require, require_unit, roles_of
from govdesk.core.tables.bulk import upsert
from govdesk.core.tables.schema import RowError

from .models import (
    Activity,
    Appeal,
    Assessment,
    Building,
    Contact,
    Dimension,
    Document,
    Drawing,
    Firm,
    FirmTier,
    HqGroup,
    Industry,
    Meeting,
    Office,
    Parcel,
    Project,
    ProjectEvent,
    Reassignment,
    Region,
    Reply,
    Score,
    Squad,
    SquadMeeting,
    SquadMember,
    Task,
    Tier,
    Use,
    parent_path,
)

A = AuditEvent.Action
WRITERS = frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER})
CARRIER_WRITERS = frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER})
CARRIER_REPORT = "invest-carriers"
TODO_APPEAL = "invest_appeal"
TODO_ESCALATED = "invest_appeal_escalated"
TODO_TASK = "invest_task"


def _text(value, label: str, field: str, *, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ServiceError(f"请填写{label}", fields={field: f"请填写{label}"})
    if len(value) > max_length:
        raise ServiceError(f"{label}不能超过 {max_length} 个字", fields={field: f"不能超过 {max_length} 个字"})
    return value


def _amount(value, label: str, field: str, *, required: bool = True, digits: int = 14) -> Decimal | None:
    """A non-negative amount with two decimals that fits a column of ``digits`` digits."""
    if value in (None, ""):
        if required:
            raise ServiceError(f"请填写{label}", fields={field: f"请填写{label}"})
        return None
    try:
        amount = Decimal(str(personal.fold(value)))
        if not amount.is_finite():
            raise InvalidOperation
        amount = amount.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ServiceError(f"{label}应为数字", fields={field: "应为数字"}) from None
    if amount >= Decimal(10) ** (digits - 2):
        raise ServiceError(f"{label}数值过大", fields={field: "数值过大"})
    if amount < 0:
        raise ServiceError(f"{label}不能为负数", fields={field: "不能为负数"})
    return amount


def _local_today() -> date:
    return timezone.localdate()


# --- configuration -----------------------------------------------------------------------------

@transaction.atomic
def office_configure(*, actor, lead_unit: OrgUnit, stall_amber_days: int = 30, stall_red_days: int = 60,
                     advantages: str | None = None) -> Office:
    """Name the unit that leads investment promotion and set the stall clocks (district administrators)."""
    require_unit(actor, lead_unit, {Role.DISTRICT_ADMIN}, action_label="设置招商牵头单位")
    if not (0 < stall_amber_days < stall_red_days):
        raise ServiceError("红色告警天数应大于黄色预警天数，且都大于 0",
                           fields={"stall_red_days": "红色告警天数应大于黄色预警天数"})
    office = Office.current()
    before = {"lead_unit": office.lead_unit_id, "amber": office.stall_amber_days, "red": office.stall_red_days}
    office.lead_unit = lead_unit
    office.stall_amber_days, office.stall_red_days = stall_amber_days, stall_red_days
    if advantages is not None:
        after_advantages = _text(advantages, "区位优势", "advantages", max_length=4000, required=False)
        if after_advantages != office.advantages:
            before["advantages_chars"] = len(office.advantages)
            office.advantages = after_advantages
    office.save()
    after = {"lead_unit": lead_unit.pk, "amber": stall_amber_days, "red": stall_red_days}
    if "advantages_chars" in before:
        after["advantages_chars"] = len(office.advantages)
    audit(actor=actor, action=A.UPDATE, unit=lead_unit, obj=office, object_repr="招商配置",
          changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return office


@transaction.atomic
def hq_group_set_leader(*, actor, group: HqGroup, user: User | None) -> HqGroup:
    """Name the person who answers for a command-HQ group (escalations go to the supervising group's)."""
    office = Office.current()
    if office.lead_unit is None:
        raise ServiceError("请先设置招商牵头单位")
    require_unit(actor, office.lead_unit, {Role.DISTRICT_ADMIN}, action_label="设置工作组负责人")
    before = group.leader.username if group.leader_id else None
    group.leader = user
    group.save(update_fields=["leader"])
    audit(actor=actor, action=A.UPDATE, unit=office.lead_unit, obj=group, verb="leader",
          changes={"leader": [before, user.username if user else None]})
    return group


# --- enterprise library -------------------------------------------------------------------------

_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "公司")
_BRACKETS = re.compile(r"[()\[\]【】〔〕<>《》\"'“”‘’·.,、，。-]")


def name_key(name: str) -> str:
    """The name a duplicate is recognised by: full-width folded, no spaces or brackets,
    the company-form suffix dropped, Latin letters lower-cased."""
    key = _BRACKETS.sub("", personal.fold(name)).lower()
    for suffix in _SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)] or key
    return key


def clean_credit_code(raw) -> str:
    if not personal.fold(raw):
        return ""
    try:
        return personal.clean_credit_code(raw)
    except ValidationError as e:
        raise ServiceError("；".join(e.messages), fields={"credit_code": "；".join(e.messages)}) from None


def _tiers(tiers) -> list[tuple[Tier, int]]:
    cleaned, seen = [], set()
    for tier, year in tiers or []:
        try:
            year = int(year)
        except (TypeError, ValueError):
            raise ServiceError(f"请填写「{tier.name}」的榜单年份", fields={"tiers": "请填写榜单年份"}) from None
        if not 1990 <= year <= _local_today().year + 1:
            raise ServiceError(f"「{tier.name}」的榜单年份不正确", fields={"tiers": "榜单年份不正确"})
        if tier.pk in seen:
            continue
        seen.add(tier.pk)
        cleaned.append((tier, year))
    return cleaned


def _phone(raw) -> str:
    try:
        return personal.clean_phone(raw)
    except ValidationError as e:
        raise ServiceError("；".join(e.messages), fields={"phone": "；".join(e.messages)}) from None


def _contact(firm: Firm, name: str, title: str = "", phone: str = "") -> Contact:
    """A contact, validated, its phone encrypted, indexed and masked (not yet saved)."""
    name = _text(name, "联系人姓名", "contact_name", max_length=30)
    title = _text(title, "职务", "contact_title", max_length=50, required=False)
    phone = _phone(phone) if personal.fold(phone) else ""
    return Contact(firm=firm, name=name, title=title, phone_enc=personal.encrypt(phone),
                   phone_bidx=personal.blind_index("phone", phone), phone_masked=personal.mask_phone(phone))


@transaction.atomic
def firm_create(*, actor, unit: OrgUnit, name: str, industry: Industry, region: str, credit_code: str = "",
                city: str = "", referred_by: Firm | None = None, squad: Squad | None = None, note: str = "",
                tiers=(), contacts=()) -> Firm:
    """Add a firm to the library; a duplicate (credit code, then normalised name) is refused with a 409
    naming the firm it duplicates."""
    return firm_create_many(actor=actor, unit=unit, rows=[{
        "name": name, "industry": industry, "region": region, "credit_code": credit_code, "city": city,
        "referred_by": referred_by, "squad": squad, "note": note, "tiers": tiers, "contacts": contacts}])[0]


def _duplicate_error(duplicate: Firm, how: str) -> Conflict:
    message = f"{how}与企业库中的「{duplicate.name}」（编号 {duplicate.pk}）重复"
    return Conflict(message, code="duplicate", fields={"name" if how == "企业名称" else "credit_code": message,
                                                       "duplicate_id": str(duplicate.pk)})


@transaction.atomic
def firm_create_many(*, actor, unit: OrgUnit, rows: list[dict]) -> list[Firm]:
    """Add firms in one transaction (a single create, the demo, the coming import): every row is
    validated and checked for duplicates like a single create — against the library and within the
    batch — then written with bulk inserts and one audit batch. All or nothing."""
    require_unit(actor, unit, WRITERS, action_label="新增企业")
    allowed: dict[tuple, bool] = {}

    def visible(obj) -> None:
        key = (type(obj), obj.pk)
        if key not in allowed:
            require(actor, obj, VIEW)
            allowed[key] = True

    prepared = []
    for number, row in enumerate(rows, start=1):
        prefix = f"第 {number} 行：" if len(rows) > 1 else ""
        try:
            name = _text(row.get("name"), "企业名称", "name", max_length=120)
            code = clean_credit_code(row.get("credit_code", ""))
            if row.get("region") not in Region.values:
                raise ServiceError("请选择总部所在区域", fields={"region": "请选择区域"})
            if row.get("industry") is None:
                raise ServiceError("请选择产业", fields={"industry": "请选择产业"})
            city = _text(row.get("city"), "城市", "city", max_length=30, required=False)
            tiers = _tiers(row.get("tiers"))
        except ServiceError as e:
            raise ServiceError(prefix + e.message, fields=e.fields) from None
        for related in (row.get("referred_by"), row.get("squad")):
            if related is not None:
                visible(related)
        prepared.append({"name": name, "name_key": name_key(name), "credit_code": code, "city": city,
                         "tiers": tiers, "row": row, "prefix": prefix})
    # Deliberately unscoped: a duplicate hidden from the user is still a duplicate.
    by_code = {f.credit_code: f for f in Firm.objects.filter(
        credit_code__in=[p["credit_code"] for p in prepared if p["credit_code"]])}
    by_key = {}
    for firm in Firm.objects.filter(name_key__in=[p["name_key"] for p in prepared]).order_by("-id"):
        by_key[firm.name_key] = firm
    batch_codes, batch_keys = {}, {}
    for number, p in enumerate(prepared, start=1):
        if p["credit_code"] and p["credit_code"] in by_code:
            raise _duplicate_error(by_code[p["credit_code"]], "统一社会信用代码")
        if p["name_key"] in by_key:
            raise _duplicate_error(by_key[p["name_key"]], "企业名称")
        earlier = batch_codes.get(p["credit_code"]) if p["credit_code"] else batch_keys.get(p["name_key"])
        earlier = earlier or batch_keys.get(p["name_key"])
        if earlier:
            raise Conflict(f"第 {number} 行与第 {earlier} 行是同一家企业", code="duplicate")
        if p["credit_code"]:
            batch_codes[p["credit_code"]] = number
        batch_keys[p["name_key"]] = number
    firms = Firm.objects.bulk_create([
        Firm(org_unit=unit, name=p["name"], name_key=p["name_key"], credit_code=p["credit_code"],
             industry=p["row"]["industry"], region=p["row"]["region"], city=p["city"],
             referred_by=p["row"].get("referred_by"), squad=p["row"].get("squad"),
             note=(p["row"].get("note") or "").strip())
        for p in prepared])
    tier_rows, contact_rows, entries = [], [], []
    for firm, p in zip(firms, prepared, strict=True):
        tier_rows += [FirmTier(firm=firm, tier=tier, year=year) for tier, year in p["tiers"]]
        contacts = [_contact(firm, *c) for c in p["row"].get("contacts") or ()]
        contact_rows += contacts
        referred, squad = p["row"].get("referred_by"), p["row"].get("squad")
        entries.append(Entry(action=A.CREATE, unit=unit, obj=firm, changes={
            "name": firm.name, "credit_code": firm.credit_code, "industry": firm.industry.code,
            "region": firm.region, "referred_by": referred.pk if referred else None,
            "squad": squad.pk if squad else None, "tiers": [f"{t.code}:{y}" for t, y in p["tiers"]],
            "contacts": [c.phone_masked or c.name for c in contacts]}))
    FirmTier.objects.bulk_create(tier_rows)
    Contact.objects.bulk_create(contact_rows)
    audit_many(actor=actor, entries=entries)
    return firms


FIRM_FIELDS = ("name", "credit_code", "industry", "region", "city", "squad", "referred_by", "note")


@transaction.atomic
def firm_update(*, actor, firm: Firm, name: str, industry: Industry, region: str, credit_code: str = "",
                city: str = "", squad: Squad | None = None, referred_by: Firm | None = None, note: str = "") -> Firm:
    """Correct a firm's particulars; a new name or credit code is checked for duplicates again."""
    firm = Firm.objects.select_for_update().get(pk=firm.pk)
    require(actor, firm, CHANGE)
    name = _text(name, "企业名称", "name", max_length=120)
    credit_code = clean_credit_code(credit_code)
    if region not in Region.values:
        raise ServiceError("请选择总部所在区域", fields={"region": "请选择区域"})
    for related in (squad, referred_by):
        if related is not None:
            require(actor, related, VIEW)
    if referred_by is not None and referred_by.pk == firm.pk:
        raise ServiceError("企业不能推荐自己", fields={"referred_by": "企业不能推荐自己"})
    others = Firm.objects.exclude(pk=firm.pk)
    if credit_code and (dup := others.filter(credit_code=credit_code).first()):
        raise _duplicate_error(dup, "统一社会信用代码")
    if dup := others.filter(name_key=name_key(name)).order_by("id").first():
        raise _duplicate_error(dup, "企业名称")
    before = {f: getattr(firm, f"{f}_id" if f in ("industry", "squad", "referred_by") else f) for f in FIRM_FIELDS}
    firm.name, firm.name_key, firm.credit_code, firm.industry, firm.region = (
        name, name_key(name), credit_code, industry, region)
    firm.city = _text(city, "城市", "city", max_length=30, required=False)
    firm.squad, firm.referred_by, firm.note = squad, referred_by, (note or "").strip()
    after = {f: getattr(firm, f"{f}_id" if f in ("industry", "squad", "referred_by") else f) for f in FIRM_FIELDS}
    changes = {f: [before[f], after[f]] for f in FIRM_FIELDS if before[f] != after[f]}
    if changes:
        firm.save()
        audit(actor=actor, action=A.UPDATE, unit=firm.org_unit, obj=firm, changes=changes)
    return firm


@transaction.atomic
def firm_tier_add(*, actor, firm: Firm, tier: Tier, year) -> FirmTier:
    require(actor, firm, CHANGE)
    [(tier, year)] = _tiers([(tier, year)])
    row, created = FirmTier.objects.update_or_create(firm=firm, tier=tier, defaults={"year": year})
    audit(actor=actor, action=A.UPDATE, unit=firm.org_unit, obj=firm, verb="tier",
          changes={"tier": tier.code, "year": year, "new": created})
    return row


@transaction.atomic
def contact_add(*, actor, firm: Firm, name: str, title: str = "", phone: str = "") -> Contact:
    require(actor, firm, CHANGE)
    contact = _contact(firm, name, title, phone)
    contact.save()
    audit(actor=actor, action=A.UPDATE, unit=firm.org_unit, obj=firm, verb="contact_add",
          changes={"contact": contact.name, "phone": contact.phone_masked})
    return contact


def contact_phone(*, actor, contact: Contact) -> str:
    """The clear phone number, for the officers who court the firm (audited by core)."""
    firm = contact.firm
    require(actor, firm, VIEW)
    return core_services.personal_unmask(actor=actor, obj=contact, field="phone", unit=firm.org_unit,
                                         roles=frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER,
                                                          Role.SUPERVISOR}))


@transaction.atomic
def firm_merge(*, actor, survivor: Firm, duplicate: Firm) -> Firm:
    """Fold ``duplicate`` into ``survivor``: its tiers, contacts, assessments, activities, projects,
    appeals and referrals move over, then the duplicate is removed — one audit event with everything."""
    if survivor.pk == duplicate.pk:
        raise ServiceError("不能把企业与自身合并")
    require(actor, survivor, CHANGE)
    require(actor, duplicate, CHANGE)
    moved = {
        "activities": Activity.objects.filter(firm=duplicate).update(firm=survivor),
        "assessments": Assessment.objects.filter(firm=duplicate).update(firm=survivor),
        "appeals": Appeal.objects.filter(firm=duplicate).update(firm=survivor),
        "contacts": Contact.objects.filter(firm=duplicate).update(firm=survivor),
        "referrals": Firm.objects.filter(referred_by=duplicate).exclude(pk=survivor.pk).update(referred_by=survivor),
    }
    held = set(FirmTier.objects.filter(firm=survivor).values_list("tier_id", flat=True))
    moved["tiers"] = FirmTier.objects.filter(firm=duplicate).exclude(tier_id__in=held).update(firm=survivor)
    through = Project.firms.through
    projects = list(through.objects.filter(firm=duplicate).values_list("project_id", flat=True))
    already = set(through.objects.filter(firm=survivor, project_id__in=projects).values_list("project_id", flat=True))
    through.objects.filter(firm=duplicate, project_id__in=already).delete()
    through.objects.filter(firm=duplicate).update(firm=survivor)
    moved["projects"] = len(projects)
    filled = {}
    for field in ("credit_code", "city", "note"):
        if not getattr(survivor, field) and getattr(duplicate, field):
            filled[field] = getattr(duplicate, field)
    if survivor.referred_by_id == duplicate.pk:
        filled["referred_by"] = duplicate.referred_by if duplicate.referred_by_id != survivor.pk else None
    elif survivor.referred_by_id is None and duplicate.referred_by_id and duplicate.referred_by_id != survivor.pk:
        filled["referred_by"] = duplicate.referred_by
    if survivor.squad_id is None and duplicate.squad_id:
        filled["squad"] = duplicate.squad
    snapshot = {"id": duplicate.pk, "name": duplicate.name, "credit_code": duplicate.credit_code,
                "industry": duplicate.industry.code, "region": duplicate.region}
    duplicate.delete()  # its own credit code must be gone before the survivor takes it
    for field, value in filled.items():
        setattr(survivor, field, value)
    survivor.save()
    audit(actor=actor, action=A.UPDATE, unit=survivor.org_unit, obj=survivor, verb="merge",
          changes={"merged": snapshot, "moved": moved,
                   "filled": {k: getattr(v, "pk", v) for k, v in filled.items()}})
    return survivor


# --- squads ----------------------------------------------------------------------------------------

@transaction.atomic
def squad_create(*, actor, unit: OrgUnit, name: str, region: str) -> Squad:
    require_unit(actor, unit, WRITERS, action_label="组建小分队")
    name = _text(name, "小分队名称", "name", max_length=50)
    if region not in Region.values:
        raise ServiceError("请选择主攻区域", fields={"region": "请选择主攻区域"})
    if Squad.objects.filter(org_unit=unit, name=name).exists():
        raise ServiceError(f"已有名为「{name}」的小分队", fields={"name": "名称已被使用"})
    squad = Squad.objects.create(org_unit=unit, name=name, region=region)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=squad, changes={"name": name, "region": region})
    return squad


@transaction.atomic
def squad_member_add(*, actor, squad: Squad, user: User, is_leader: bool = False) -> SquadMember:
    """Squad members are department officers (of any department) or the bureau's own people."""
    require(actor, squad, CHANGE)
    if not (roles_of(user) & {Role.DEPARTMENT_OFFICER, Role.DISTRICT_ADMIN}):
        raise ServiceError(f"{user.label} 不是部门工作人员，不能加入小分队", fields={"user": "只能选择部门工作人员"})
    member, created = SquadMember.objects.update_or_create(squad=squad, user=user, defaults={"is_leader": is_leader})
    audit(actor=actor, action=A.UPDATE, unit=squad.org_unit, obj=squad, verb="member_add",
          changes={"user": user.username, "leader": is_leader, "new": created})
    return member


@transaction.atomic
def squad_member_remove(*, actor, member: SquadMember) -> None:
    require(actor, member.squad, CHANGE)
    if not SquadMember.objects.select_for_update().filter(pk=member.pk).exists():
        raise NotInReach()  # removed meanwhile (a double submit)
    audit(actor=actor, action=A.UPDATE, unit=member.squad.org_unit, obj=member.squad, verb="member_remove",
          changes={"user": member.user.username})
    member.delete()


@transaction.atomic
def squad_meeting_record(*, actor, squad: Squad, held_on: date, minutes: str, decisions: str = "") -> SquadMeeting:
    """Minutes of a squad's monthly meeting, by the bureau or by the squad's own members."""
    require(actor, squad, VIEW)
    if not roles_of(actor) & WRITERS:
        raise Forbidden("您的角色无权进行此操作")
    if held_on is None or held_on > _local_today():
        raise ServiceError("会议日期不能晚于今天", fields={"held_on": "不能晚于今天"})
    # the squad's row lock orders two submits: the second finds the first's minutes of that day
    Squad.objects.select_for_update().filter(pk=squad.pk).exists()
    if SquadMeeting.objects.filter(squad=squad, held_on=held_on).exists():
        raise Conflict(f"{squad.name}{held_on:%Y年%m月%d日}的例会已经记录", code="duplicate",
                       fields={"held_on": "当天的例会已记录"})
    meeting = SquadMeeting.objects.create(
        squad=squad, held_on=held_on, minutes=_text(minutes, "会议内容", "minutes", max_length=10000),
        decisions=_text(decisions, "议定事项", "decisions", max_length=10000, required=False), created_by=actor)
    audit(actor=actor, action=A.CREATE, unit=squad.org_unit, obj=meeting, object_repr=f"{squad.name}月度例会",
          changes={"squad": squad.pk, "held_on": held_on, "decisions": meeting.decisions[:200]})
    return meeting


# --- assessment -----------------------------------------------------------------------------------

@transaction.atomic
def assessment_record(*, actor, firm: Firm, met_on: date, conclusion: str, priority: int, squad: Squad,
                      scores: dict, note: str = "") -> Assessment:
    """Score a firm on the declared dimensions. ``scores`` maps a dimension id to
    (score or None, evidence); a dimension is scored only when its evidence is written."""
    require(actor, firm, CHANGE)
    require(actor, squad, VIEW)
    from .models import Conclusion
    errors = {}
    if conclusion not in Conclusion.values:
        errors["conclusion"] = "请选择研判结论"
    try:
        priority = int(priority)
    except (TypeError, ValueError):
        priority = 0
    if not 1 <= priority <= 5:
        errors["priority"] = "优先级为 1–5"
    if met_on is None or met_on > _local_today():
        errors["met_on"] = "研判会日期不能晚于今天"
    dimensions = list(Dimension.objects.filter(active=True))
    rows = []
    for dim in dimensions:
        score, evidence = scores.get(dim.pk, (None, ""))
        evidence = (evidence or "").strip()
        if score in (None, ""):
            continue
        try:
            score = int(score)
        except (TypeError, ValueError):
            errors[f"score_{dim.pk}"] = "分值应为 0–100 的整数"
            continue
        if not 0 <= score <= 100:
            errors[f"score_{dim.pk}"] = "分值应为 0–100 的整数"
        elif not evidence:
            errors[f"evidence_{dim.pk}"] = f"「{dim.name}」要先写明依据才能打分"
        else:
            rows.append((dim, score, evidence))
    if not rows and not errors:
        errors["scores"] = "至少要对一个维度写明依据并打分"
    if errors:
        raise ServiceError(next(iter(errors.values())), fields=errors)
    weight_sum = sum((d.weight for d in dimensions), Decimal("0")) or Decimal("1")
    total = (sum((d.weight * s for d, s, _e in rows), Decimal("0")) / weight_sum).quantize(Decimal("0.01"))
    assessment = Assessment.objects.create(firm=firm, met_on=met_on, conclusion=conclusion, priority=priority,
                                           squad=squad, total=total, note=(note or "").strip(), created_by=actor)
    Score.objects.bulk_create([Score(assessment=assessment, dimension=d, score=s, evidence=e) for d, s, e in rows])
    before = {"conclusion": firm.conclusion, "priority": firm.priority, "squad": firm.squad_id}
    Firm.objects.filter(pk=firm.pk).update(conclusion=conclusion, priority=priority, squad=squad, assessed_on=met_on)
    firm.conclusion, firm.priority, firm.squad, firm.assessed_on = conclusion, priority, squad, met_on
    audit(actor=actor, action=A.CREATE, unit=firm.org_unit, obj=assessment, object_repr=f"研判：{firm.name}",
          changes={"firm": firm.pk, "conclusion": [before["conclusion"], conclusion],
                   "priority": [before["priority"], priority], "squad": [before["squad"], squad.pk],
                   "total": str(total), "scores": {d.code: s for d, s, _e in rows}})
    return assessment


# --- activities --------------------------------------------------------------------------------------

@transaction.atomic
def activity_record(*, actor, firm: Firm, kind: str, happened_on: date, participants: str, summary: str,
                    place: str = "", squad: Squad | None = None) -> Activity:
    require(actor, firm, CHANGE)
    if kind not in Activity.Kind.values:
        raise ServiceError("请选择活动类型", fields={"kind": "请选择活动类型"})
    if happened_on is None or happened_on > _local_today():
        raise ServiceError("活动日期不能晚于今天", fields={"happened_on": "不能晚于今天"})
    participants = _text(participants, "参加人员", "participants", max_length=200)
    summary = _text(summary, "情况摘要", "summary", max_length=4000)
    place = _text(place, "地点", "place", max_length=100, required=False)
    squad = squad or firm.squad
    if squad is not None and squad.pk != firm.squad_id:
        require(actor, squad, VIEW)
    activity = Activity.objects.create(firm=firm, squad=squad, kind=kind, happened_on=happened_on,
                                       participants=participants, summary=summary, place=place, created_by=actor)
    audit(actor=actor, action=A.CREATE, unit=firm.org_unit, obj=activity,
          object_repr=f"{activity.get_kind_display()}：{firm.name}",
          changes={"firm": firm.pk, "kind": kind, "date": happened_on, "squad": squad.pk if squad else None})
    return activity


# --- projects -------------------------------------------------------------------------------------------

def _project_fields(*, name, industry, planned_investment, need, need_area, need_use, hq_group, leader) -> dict:
    errors = {}
    name = _text(name, "项目名称", "name", max_length=120)
    leader = _text(leader, "责任领导", "leader", max_length=30)
    planned = _amount(planned_investment, "计划投资", "planned_investment")
    area = _amount(need_area, "需求面积", "need_area", required=False, digits=12)
    if need not in Project.Need.values:
        errors["need"] = "请选择载体需求"
    elif need != Project.Need.NONE and not area:
        errors["need_area"] = "有载体需求时请填写需求面积"
    if need_use and need_use not in Use.values:
        errors["need_use"] = "用途不正确"
    if industry is None:
        errors["industry"] = "请选择产业"
    if hq_group is None:
        errors["hq_group"] = "请选择责任工作组"
    if errors:
        raise ServiceError(next(iter(errors.values())), fields=errors)
    return {"name": name, "industry": industry, "planned_investment": planned, "need": need,
            "need_area": area if need != Project.Need.NONE else None, "need_use": need_use or "",
            "hq_group": hq_group, "leader": leader}


@transaction.atomic
def project_create(*, actor, unit: OrgUnit, firms, name: str, industry: Industry, planned_investment,
                   hq_group: HqGroup, leader: str, need: str = Project.Need.NONE, need_area=None,
                   need_use: str = "") -> Project:
    require_unit(actor, unit, WRITERS, action_label="新增项目")
    firms = list(firms or [])
    if not firms:
        raise ServiceError("请选择投资企业", fields={"firms": "请至少选择一家企业"})
    for firm in firms:
        require(actor, firm, VIEW)
    fields = _project_fields(name=name, industry=industry, planned_investment=planned_investment, need=need,
                             need_area=need_area, need_use=need_use, hq_group=hq_group, leader=leader)
    now = timezone.now()
    project = Project.objects.create(org_unit=unit, stage=Project.Stage.LEAD, stage_since=now, moved_at=now, **fields)
    project.firms.set(firms)
    ProjectEvent.objects.create(project=project, at=now, actor=actor, to_stage=Project.Stage.LEAD, note="立项")
    audit(actor=actor, action=A.CREATE, unit=unit, obj=project, changes={
        "name": project.name, "firms": [f.pk for f in firms], "industry": industry.code,
        "planned_investment": fields["planned_investment"], "hq_group": hq_group.name, "leader": project.leader})
    return project


def _project_apply(actor, project: Project, fields: dict, firms: list[Firm] | None, *, verb: str) -> dict:
    """Write the changed particulars (and firms) of a project with one audit event; returns the changes.
    Corrections are not progress: the ageing clock keeps running."""
    changes = {}
    for name, value in fields.items():
        old = getattr(project, name)
        if getattr(old, "pk", old) != getattr(value, "pk", value):
            changes[name] = [getattr(old, "pk", old), getattr(value, "pk", value)]
            setattr(project, name, value)
    if firms:
        before_firms = sorted(project.firms.values_list("pk", flat=True))
        after_firms = sorted(f.pk for f in firms)
        if before_firms != after_firms:
            changes["firms"] = [before_firms, after_firms]
    if not changes:
        return changes
    saved = [f for f in changes if f != "firms"]
    if saved:
        project.save(update_fields=saved)
    if "firms" in changes:
        project.firms.set(firms)
    audit(actor=actor, action=A.UPDATE, unit=project.org_unit, obj=project, verb=verb, changes=changes)
    return changes


@transaction.atomic
def project_update(*, actor, project: Project, firms, name: str, industry: Industry, planned_investment, paid_in,
                   hq_group: HqGroup, leader: str, need: str = Project.Need.NONE, need_area=None,
                   need_use: str = "") -> Project:
    """Correct a project's particulars after it was created: its firms, industry, planned and paid-in
    investment, carrier need, owning HQ group and responsible leader. The stage moves only through
    ``project_move`` (with its evidence); a correction does not restart the ageing clock."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    require(actor, project, CHANGE)
    firms = list(firms or [])
    if not firms:
        raise ServiceError("请选择投资企业", fields={"firms": "请至少选择一家企业"})
    current = set(project.firms.values_list("pk", flat=True))
    for firm in firms:
        if firm.pk not in current:  # a firm already on the project may stay even if hidden from this actor
            require(actor, firm, VIEW)
    fields = _project_fields(name=name, industry=industry, planned_investment=planned_investment, need=need,
                             need_area=need_area, need_use=need_use, hq_group=hq_group, leader=leader)
    fields["paid_in"] = _amount(paid_in, "实际到位资金", "paid_in", required=False)
    if fields["paid_in"] is None:
        fields["paid_in"] = project.paid_in
    _project_apply(actor, project, fields, firms, verb="edit")
    return project


# Moving into a stage needs the evidence of the step: the signed agreement, the business licence.
STAGE_EVIDENCE = {Project.Stage.SIGNED: Document.Kind.AGREEMENT, Project.Stage.REGISTERED: Document.Kind.LICENCE}


def next_stage(stage: str) -> str | None:
    pipeline = Project.PIPELINE
    if stage not in pipeline or stage == pipeline[-1]:
        return None
    return pipeline[pipeline.index(stage) + 1]


@transaction.atomic
def project_move(*, actor, project: Project, to_stage: str, note: str = "", lost_reason: str = "") -> Project:
    """Move a project one step along the pipeline (or to lost, with a reason)."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    require(actor, project, CHANGE)
    current = project.stage
    if current in Project.CLOCKLESS:
        raise ServiceError(f"项目已{project.get_stage_display()}，不能再变更阶段")
    if to_stage == Project.Stage.LOST:
        lost_reason = _text(lost_reason, "流失原因", "lost_reason", max_length=200)
    elif to_stage != next_stage(current):
        raise ServiceError(f"项目只能从「{Project.Stage(current).label}」推进到下一阶段", fields={"to_stage": "阶段不正确"})
    evidence = STAGE_EVIDENCE.get(to_stage)
    if evidence and not project.documents.filter(kind=evidence).exists():
        label = Document.Kind(evidence).label
        raise ServiceError(f"进入「{Project.Stage(to_stage).label}」阶段前，请先上传{label}",
                           fields={"document": f"请先上传{label}"})
    now = timezone.now()
    project.stage, project.stage_since, project.moved_at = to_stage, now, now
    project.lost_reason = lost_reason if to_stage == Project.Stage.LOST else ""
    project.save(update_fields=["stage", "stage_since", "moved_at", "lost_reason"])
    ProjectEvent.objects.create(project=project, at=now, actor=actor, from_stage=current, to_stage=to_stage,
                                note=(note or lost_reason or "").strip())
    audit(actor=actor, action=A.STATE, unit=project.org_unit, obj=project, verb="stage",
          changes={"stage": [current, to_stage], **({"lost_reason": lost_reason} if lost_reason else {})})
    return project


@transaction.atomic
def project_progress(*, actor, project: Project, note: str, paid_in=None) -> Project:
    """A progress note (and the paid-in amount so far): the project moved, its clock restarts."""
    require(actor, project, CHANGE)
    if project.stage in Project.CLOCKLESS:
        raise ServiceError("项目已结束，不再记录进展")
    note = _text(note, "进展情况", "note", max_length=2000)
    paid = _amount(paid_in, "实际到位资金", "paid_in", required=False)
    now = timezone.now()
    changes = {"note": note}
    if paid is not None and paid != project.paid_in:
        changes["paid_in"] = [project.paid_in, paid]
        project.paid_in = paid
    project.moved_at = now
    project.save(update_fields=["moved_at", "paid_in"])
    ProjectEvent.objects.create(project=project, at=now, actor=actor, note=note)
    audit(actor=actor, action=A.UPDATE, unit=project.org_unit, obj=project, verb="progress", changes=changes)
    return project


def upload_root() -> Path:
    return files.upload_root("invest")


def store_upload(upload) -> dict:
    """Check and store an upload under MEDIA_ROOT/invest: the one check in ``core.files``."""
    return files.store_upload(upload, area="invest")


def _forget_stored(stored_name: str) -> None:
    """Delete a stored file once no document or drawing refers to it any more."""
    if Document.objects.filter(stored_name=stored_name).exists() or \
            Drawing.objects.filter(stored_name=stored_name).exists():
        return
    (upload_root() / stored_name).unlink(missing_ok=True)


@transaction.atomic
def document_upload(*, actor, project: Project, kind: str, upload) -> Document:
    """Store an uploaded file (PDF, JPEG or PNG) under MEDIA_ROOT/invest by its SHA-256."""
    require(actor, project, CHANGE)
    if kind not in Document.Kind.values:
        raise ServiceError("请选择材料类型", fields={"kind": "请选择材料类型"})
    stored = store_upload(upload)
    document = Document.objects.create(project=project, kind=kind, uploaded_by=actor, uploaded_at=timezone.now(),
                                       **stored)
    audit(actor=actor, action=A.CREATE, unit=project.org_unit, obj=document,
          object_repr=f"{document.get_kind_display()}：{project.name}",
          changes={"project": project.pk, "kind": kind, "name": document.original_name, "size": document.size,
                   "sha256": document.sha256})
    return document


@transaction.atomic
def drawing_upload(*, actor, parcel: Parcel, uploads) -> list[Drawing]:
    """Attach one or more planning drawings to a parcel; all of them or none."""
    require(actor, parcel, CHANGE)
    uploads = [u for u in (uploads or []) if u is not None]
    if not uploads:
        raise ServiceError("请选择要上传的图纸", fields={"files": "请选择文件"})
    now = timezone.now()
    drawings = []
    for upload in uploads:
        try:
            stored = store_upload(upload)
        except ServiceError as e:
            raise ServiceError(f"{Path(upload.name or '').name}：{e.message}", fields={"files": e.message}) from e
        drawings.append(Drawing.objects.create(parcel=parcel, uploaded_by=actor, uploaded_at=now, **stored))
    audit_many(actor=actor, entries=[
        Entry(action=A.CREATE, unit=parcel.org_unit, obj=d, object_repr=f"规划图纸：{parcel.name}",
              changes={"parcel": parcel.pk, "name": d.original_name, "size": d.size, "sha256": d.sha256})
        for d in drawings])
    return drawings


@transaction.atomic
def drawing_remove(*, actor, drawing: Drawing) -> None:
    require(actor, drawing, CHANGE)
    if not Drawing.objects.select_for_update().filter(pk=drawing.pk).exists():
        raise NotInReach()  # removed meanwhile (a double submit)
    parcel = drawing.parcel
    audit(actor=actor, action=A.DELETE, unit=parcel.org_unit, obj=drawing, object_repr=f"规划图纸：{parcel.name}",
          changes={"parcel": parcel.pk, "name": drawing.original_name, "sha256": drawing.sha256})
    stored = drawing.stored_name
    drawing.delete()
    transaction.on_commit(lambda: _forget_stored(stored))


# --- appeals -------------------------------------------------------------------------------------------

def assignable_users(unit: OrgUnit):
    """People a record of ``unit`` can be handed to: anyone holding a membership in the
    district the unit belongs to (the unit's parent subtree), active."""
    root = parent_path(unit.path)
    return User.objects.filter(is_active=True, memberships__org_unit__path__startswith=root).distinct()


def due_on(received_on: date, urgency: str, office: Office | None = None) -> date:
    office = office or Office.current()
    days = {Appeal.Urgency.NORMAL: office.appeal_days_normal, Appeal.Urgency.URGENT: office.appeal_days_urgent,
            Appeal.Urgency.CRITICAL: office.appeal_days_critical}[urgency]
    return received_on + timedelta(days=days)


@transaction.atomic
def appeal_create(*, actor, firm: Firm, category: str, title: str, detail: str, urgency: str, owner_group: HqGroup,
                  handler: User, received_on: date, project: Project | None = None) -> Appeal:
    """Record a firm's appeal in the firm's unit; the handler gets a to-do with the due date."""
    require(actor, firm, VIEW)
    unit = firm.org_unit
    require_unit(actor, unit, WRITERS, action_label="登记诉求")
    errors = {}
    if category not in Appeal.Category.values:
        errors["category"] = "请选择诉求类别"
    if urgency not in Appeal.Urgency.values:
        errors["urgency"] = "请选择紧急程度"
    if received_on is None or received_on > _local_today():
        errors["received_on"] = "受理日期不能晚于今天"
    if owner_group is None:
        errors["owner_group"] = "请选择责任工作组"
    if handler is None or not assignable_users(unit).filter(pk=handler.pk).exists():
        errors["handler"] = "请选择本区的承办人"
    if project is not None and not project.firms.filter(pk=firm.pk).exists():
        errors["project"] = "所选项目不属于该企业"
    if errors:
        raise ServiceError(next(iter(errors.values())), fields=errors)
    title = _text(title, "诉求事项", "title", max_length=120)
    detail = _text(detail, "具体内容", "detail", max_length=4000)
    appeal = Appeal.objects.create(org_unit=unit, firm=firm, project=project, category=category, title=title,
                                   detail=detail, urgency=urgency, owner_group=owner_group, handler=handler,
                                   received_on=received_on, due_on=due_on(received_on, urgency))
    core_services.todo_open(user=handler, kind=TODO_APPEAL, title=f"企业诉求：{firm.name}·{title}", source=appeal,
                            url=f"/invest/appeals/{appeal.pk}/", unit=unit, due_date=appeal.due_on)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=appeal, changes={
        "firm": firm.pk, "category": category, "urgency": urgency, "owner_group": owner_group.name,
        "handler": handler.username, "due_on": appeal.due_on})
    return appeal


@transaction.atomic
def appeal_reply(*, actor, appeal: Appeal, text: str) -> Reply:
    Appeal.objects.select_for_update().filter(pk=appeal.pk).exists()
    appeal.refresh_from_db()  # as it is now that a double submit waits here
    require(actor, appeal, CHANGE)
    if appeal.status == Appeal.Status.RESOLVED:
        raise ServiceError("诉求已办结，不能再答复")
    text = _text(text, "答复内容", "text", max_length=4000)
    last = appeal.replies.order_by("-at", "-pk").first()
    if last is not None and last.author_id == actor.pk and last.text == text:
        raise Conflict("这条答复已经提交", code="duplicate", fields={"text": "与上一条答复相同"})  # a double submit
    reply = Reply.objects.create(appeal=appeal, author=actor, text=text, at=timezone.now())
    changes = {"reply": text[:100]}
    if appeal.status == Appeal.Status.OPEN:
        appeal.status = Appeal.Status.IN_PROGRESS
        appeal.save(update_fields=["status"])
        changes["status"] = [Appeal.Status.OPEN, Appeal.Status.IN_PROGRESS]
    audit(actor=actor, action=A.UPDATE, unit=appeal.org_unit, obj=appeal, verb="reply", changes=changes)
    return reply


@transaction.atomic
def appeal_reassign(*, actor, appeal: Appeal, owner_group: HqGroup, reason: str,
                    handler: User | None = None) -> Appeal:
    """Hand an open appeal to another HQ group (转办), optionally to another handler, with the reason.
    The move is kept in the appeal's history; a new handler takes over the to-do. The due date stays."""
    # lock first, then read with the joins: a locking query with the joins makes a second
    # reassign that waited re-check the join against the moved appeal, find no row (a 500)
    Appeal.objects.select_for_update().filter(pk=appeal.pk).exists()
    appeal = Appeal.objects.select_related("owner_group", "handler", "firm").get(pk=appeal.pk)
    require(actor, appeal, CHANGE)
    if appeal.status == Appeal.Status.RESOLVED:
        raise ServiceError("诉求已办结，不能转办")
    if owner_group is None:
        raise ServiceError("请选择新的责任工作组", fields={"owner_group": "请选择责任工作组"})
    handler = handler or appeal.handler
    if not assignable_users(appeal.org_unit).filter(pk=handler.pk).exists():
        raise ServiceError("请选择本区的承办人", fields={"handler": "请选择本区的承办人"})
    if owner_group.pk == appeal.owner_group_id and handler.pk == appeal.handler_id:
        raise ServiceError(f"诉求已由「{owner_group.name}」办理，请选择另一个工作组或承办人",
                           fields={"owner_group": "与原责任工作组相同"})
    reason = _text(reason, "转办原因", "reason", max_length=500)
    before_group, before_handler = appeal.owner_group, appeal.handler
    Reassignment.objects.create(appeal=appeal, at=timezone.now(), actor=actor, from_group=before_group,
                                to_group=owner_group, from_handler=before_handler, to_handler=handler, reason=reason)
    appeal.owner_group, appeal.handler = owner_group, handler
    appeal.save(update_fields=["owner_group", "handler"])
    changes = {"reason": reason}
    if owner_group.pk != before_group.pk:
        changes["owner_group"] = [before_group.name, owner_group.name]
    if handler.pk != before_handler.pk:
        changes["handler"] = [before_handler.username, handler.username]
        core_services.todo_close(source=appeal, kind=TODO_APPEAL, user=before_handler)
        core_services.todo_open(user=handler, kind=TODO_APPEAL, title=f"企业诉求：{appeal.firm.name}·{appeal.title}",
                                source=appeal, url=f"/invest/appeals/{appeal.pk}/", unit=appeal.org_unit,
                                due_date=appeal.due_on)
    audit(actor=actor, action=A.UPDATE, unit=appeal.org_unit, obj=appeal, verb="reassign", changes=changes)
    return appeal


@transaction.atomic
def appeal_resolve(*, actor, appeal: Appeal, resolution: str, resolved_on: date | None = None) -> Appeal:
    Appeal.objects.select_for_update().filter(pk=appeal.pk).exists()
    appeal.refresh_from_db()  # a double submit finds it resolved
    require(actor, appeal, CHANGE)
    if appeal.status == Appeal.Status.RESOLVED:
        raise ServiceError("诉求已经办结")
    resolution = _text(resolution, "办理结果", "resolution", max_length=4000)
    resolved_on = resolved_on or _local_today()
    if resolved_on < appeal.received_on:
        raise ServiceError("办结日期不能早于受理日期", fields={"resolved_on": "不能早于受理日期"})
    before = appeal.status
    appeal.status, appeal.resolution, appeal.resolved_on = Appeal.Status.RESOLVED, resolution, resolved_on
    appeal.save(update_fields=["status", "resolution", "resolved_on"])
    core_services.todo_close(source=appeal)
    audit(actor=actor, action=A.STATE, unit=appeal.org_unit, obj=appeal, verb="resolve",
          changes={"status": [before, appeal.status], "resolved_on": resolved_on,
                   "late": resolved_on > appeal.due_on})
    return appeal


@transaction.atomic
def appeal_rate(*, actor, appeal: Appeal, rating) -> Appeal:
    """Record the firm's rating (1–5) of a resolved appeal, as told to the officer on the follow-up."""
    require(actor, appeal, CHANGE)
    if appeal.status != Appeal.Status.RESOLVED:
        raise ServiceError("诉求办结后才能评价", fields={"rating": "诉求尚未办结"})
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ServiceError("评价为 1–5 分", fields={"rating": "评价为 1–5 分"})
    before = appeal.rating
    appeal.rating = rating
    appeal.save(update_fields=["rating"])
    audit(actor=actor, action=A.UPDATE, unit=appeal.org_unit, obj=appeal, verb="rate",
          changes={"rating": [before, rating]})
    return appeal


def overdue_q(today: date) -> Q:
    """An appeal is overdue from the day after its due date while it is not resolved."""
    return Q(status__in=Appeal.OPEN_STATUSES, due_on__lt=today)


@transaction.atomic
def appeals_escalate(*, today: date | None = None, appeals=None) -> int:
    """Escalate overdue appeals to the assessment and supervision group: mark them, put them in
    the group leader's to-dos, audit each (by the system). ``appeals`` narrows the check (the
    list a user is looking at); returns how many were escalated now."""
    today = today or _local_today()
    qs = (appeals if appeals is not None else Appeal.objects.all()).filter(overdue_q(today), escalated_at=None)
    due = list(qs.select_related("firm", "org_unit").select_for_update())
    if not due:
        return 0
    group = HqGroup.objects.filter(supervises=True).select_related("leader").first()
    now = timezone.now()
    Appeal.objects.filter(pk__in=[a.pk for a in due]).update(escalated_at=now)
    entries = []
    for appeal in due:
        appeal.escalated_at = now
        if group is not None and group.leader_id:
            core_services.todo_open(user=group.leader, kind=TODO_ESCALATED, title=f"逾期诉求督办：{appeal.firm.name}·"
                                    f"{appeal.title}", source=appeal, url=f"/invest/appeals/{appeal.pk}/",
                                    unit=appeal.org_unit, due_date=today)
        entries.append(dict(action=A.STATE, unit=appeal.org_unit, obj=appeal, verb="escalate",
                            changes={"due_on": appeal.due_on, "days_overdue": (today - appeal.due_on).days,
                                     "to": group.name if group else ""}))
    audit_many(actor=None, entries=[Entry(**e) for e in entries])
    return len(due)


# --- the weekly meeting -------------------------------------------------------------------------------

@transaction.atomic
def meeting_create(*, actor, unit: OrgUnit, held_on: date, title: str = "", chair: str = "") -> Meeting:
    require_unit(actor, unit, WRITERS, action_label="召开例会")
    if held_on is None:
        raise ServiceError("请填写会议日期", fields={"held_on": "请填写会议日期"})
    title = _text(title or f"{held_on:%Y年%m月%d日}重点项目周例会", "会议名称", "title", max_length=100)
    # the unit's row lock orders two submits of the same form: the second finds the first's meeting
    OrgUnit.objects.select_for_update().filter(pk=unit.pk).exists()
    if Meeting.objects.filter(org_unit=unit, held_on=held_on, title=title).exists():
        raise Conflict(f"{held_on:%Y年%m月%d日}的「{title}」已经创建", code="duplicate",
                       fields={"title": "同一天已有同名会议"})
    meeting = Meeting.objects.create(org_unit=unit, held_on=held_on, title=title,
                                     chair=_text(chair, "主持人", "chair", max_length=30, required=False),
                                     created_by=actor)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=meeting, changes={"held_on": held_on, "title": title})
    return meeting


@transaction.atomic
def meeting_minutes(*, actor, meeting: Meeting, minutes: str) -> Meeting:
    Meeting.objects.select_for_update().filter(pk=meeting.pk).exists()
    meeting.refresh_from_db()  # compare with what is stored now
    require(actor, meeting, CHANGE)
    minutes = _text(minutes, "会议纪要", "minutes", max_length=20000, required=False)
    if minutes != meeting.minutes:
        meeting.minutes = minutes
        meeting.save(update_fields=["minutes"])
        audit(actor=actor, action=A.UPDATE, unit=meeting.org_unit, obj=meeting, verb="minutes",
              changes={"minutes_chars": len(minutes)})
    return meeting


@transaction.atomic
def task_assign(*, actor, meeting: Meeting, text: str, owner: User, due_on_date: date,
                project: Project | None = None, appeal: Appeal | None = None) -> Task:
    """A meeting's decision assigned to a person (交办): it lands in the owner's to-dos."""
    require(actor, meeting, CHANGE)
    text = _text(text, "交办事项", "text", max_length=300)
    if owner is None or not assignable_users(meeting.org_unit).filter(pk=owner.pk).exists():
        raise ServiceError("请选择本区的责任人", fields={"owner": "请选择责任人"})
    if due_on_date is None or due_on_date < meeting.held_on:
        raise ServiceError("完成时限不能早于会议日期", fields={"due_on": "不能早于会议日期"})
    for record in (project, appeal):
        if record is not None:
            require(actor, record, VIEW)
    task = Task.objects.create(meeting=meeting, text=text, owner=owner, due_on=due_on_date, project=project,
                               appeal=appeal)
    core_services.todo_open(user=owner, kind=TODO_TASK, title=f"例会交办：{text}", source=task,
                            url=f"/invest/meetings/{meeting.pk}/", unit=meeting.org_unit, due_date=due_on_date)
    audit(actor=actor, action=A.CREATE, unit=meeting.org_unit, obj=task, object_repr=text[:200], changes={
        "meeting": meeting.pk, "owner": owner.username, "due_on": due_on_date,
        "project": project.pk if project else None, "appeal": appeal.pk if appeal else None})
    return task


@transaction.atomic
def task_close(*, actor, task: Task, meeting: Meeting, note: str = "") -> Task:
    """Tick a task off (销号) at a later meeting."""
    require(actor, task, CHANGE)
    require(actor, meeting, CHANGE)
    if task.closed_at:
        raise ServiceError("该事项已销号")
    if meeting.pk == task.meeting_id or meeting.held_on < task.meeting.held_on:
        raise ServiceError("交办事项在之后的例会上销号", fields={"meeting": "请选择之后的例会"})
    task.closed_in, task.closed_at = meeting, timezone.now()
    task.close_note = _text(note, "销号说明", "note", max_length=300, required=False)
    task.save(update_fields=["closed_in", "closed_at", "close_note"])
    core_services.todo_close(source=task, kind=TODO_TASK)
    audit(actor=actor, action=A.STATE, unit=meeting.org_unit, obj=task, object_repr=task.text[:200], verb="close",
          changes={"closed_in": meeting.pk, "note": task.close_note})
    return task


# --- carriers -----------------------------------------------------------------------------------------

def _parcel_fields(*, name, location, area_mu, planned_use, zoning, status, direction="") -> dict:
    fields = {
        "direction": _text(direction, "招商方向", "direction", max_length=200, required=False),
        "name": _text(name, "地块名称", "name", max_length=100),
        "location": _text(location, "位置", "location", max_length=200),
        "area_mu": _amount(area_mu, "面积", "area_mu", digits=10),
        "zoning": _text(zoning, "控规指标", "zoning", max_length=100, required=False),
    }
    if not fields["area_mu"]:
        raise ServiceError("面积应大于 0", fields={"area_mu": "面积应大于 0"})
    if planned_use not in Use.values:
        raise ServiceError("请选择规划用途", fields={"planned_use": "请选择规划用途"})
    if status not in Parcel.Status.values:
        raise ServiceError("请选择地块状态", fields={"status": "请选择状态"})
    return {**fields, "planned_use": planned_use, "status": status}


def _snapshot(obj, names) -> dict:
    return {n: str(getattr(obj, n)) for n in names}


PARCEL_FIELDS = ("name", "location", "area_mu", "planned_use", "zoning", "status", "direction")
BUILDING_FIELDS = ("name", "address", "total_area", "vacant_area", "rent", "owner", "main_tenants", "direction")


@transaction.atomic
def parcel_save(*, actor, unit: OrgUnit | None = None, parcel: Parcel | None = None, **data) -> Parcel:
    """Add a parcel to ``unit``'s carriers, or change ``parcel``."""
    fields = _parcel_fields(**data)
    if parcel is None:
        require_unit(actor, unit, CARRIER_WRITERS, action_label="报送地块")
        duplicate = ServiceError(f"本单位已有名为「{fields['name']}」的地块", fields={"name": "名称已存在"})
        if Parcel.objects.filter(org_unit=unit, name=fields["name"]).exists():
            raise duplicate
        try:
            with transaction.atomic():
                parcel = Parcel.objects.create(org_unit=unit, **fields)
        except IntegrityError:  # the same form submitted twice at once: the other one created it
            raise duplicate from None
        audit(actor=actor, action=A.CREATE, unit=unit, obj=parcel, changes=_snapshot(parcel, PARCEL_FIELDS))
        return parcel
    Parcel.objects.select_for_update().filter(pk=parcel.pk).exists()
    parcel.refresh_from_db()  # compare with what is stored now
    require(actor, parcel, CHANGE)
    before = _snapshot(parcel, PARCEL_FIELDS)
    if Parcel.objects.filter(org_unit=parcel.org_unit, name=fields["name"]).exclude(pk=parcel.pk).exists():
        raise ServiceError(f"本单位已有名为「{fields['name']}」的地块", fields={"name": "名称已存在"})
    for k, v in fields.items():
        setattr(parcel, k, v)
    parcel.save()
    after = _snapshot(parcel, PARCEL_FIELDS)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        audit(actor=actor, action=A.UPDATE, unit=parcel.org_unit, obj=parcel, changes=changes)
    return parcel


def _building_fields(*, name, address, total_area, vacant_area, rent, owner, main_tenants="", direction="") -> dict:
    fields = {
        "direction": _text(direction, "招商方向", "direction", max_length=200, required=False),
        "name": _text(name, "楼宇名称", "name", max_length=100),
        "address": _text(address, "地址", "address", max_length=200),
        "total_area": _amount(total_area, "总面积", "total_area", digits=12),
        "vacant_area": _amount(vacant_area, "空置面积", "vacant_area", digits=12),
        "rent": _amount(rent, "租金", "rent", digits=8),
        "owner": _text(owner, "产权单位", "owner", max_length=100),
        "main_tenants": _text(main_tenants, "主要入驻企业", "main_tenants", max_length=300, required=False),
    }
    if fields["vacant_area"] > fields["total_area"]:
        raise ServiceError("空置面积不能大于总面积", fields={"vacant_area": "不能大于总面积"})
    return fields


@transaction.atomic
def building_save(*, actor, unit: OrgUnit | None = None, building: Building | None = None, **data) -> Building:
    fields = _building_fields(**data)
    if building is None:
        require_unit(actor, unit, CARRIER_WRITERS, action_label="报送楼宇")
        duplicate = ServiceError(f"本单位已有名为「{fields['name']}」的楼宇", fields={"name": "名称已存在"})
        if Building.objects.filter(org_unit=unit, name=fields["name"]).exists():
            raise duplicate
        try:
            with transaction.atomic():
                building = Building.objects.create(org_unit=unit, **fields)
        except IntegrityError:  # the same form submitted twice at once: the other one created it
            raise duplicate from None
        audit(actor=actor, action=A.CREATE, unit=unit, obj=building, changes=_snapshot(building, BUILDING_FIELDS))
        return building
    Building.objects.select_for_update().filter(pk=building.pk).exists()
    building.refresh_from_db()  # compare with what is stored now
    require(actor, building, CHANGE)
    before = _snapshot(building, BUILDING_FIELDS)
    if Building.objects.filter(org_unit=building.org_unit, name=fields["name"]).exclude(pk=building.pk).exists():
        raise ServiceError(f"本单位已有名为「{fields['name']}」的楼宇", fields={"name": "名称已存在"})
    for k, v in fields.items():
        setattr(building, k, v)
    building.save()
    after = _snapshot(building, BUILDING_FIELDS)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        audit(actor=actor, action=A.UPDATE, unit=building.org_unit, obj=building, changes=changes)
    return building


def carrier_report_kind() -> ReportKind:
    return ReportKind.objects.get(code=CARRIER_REPORT)


def carrier_snapshot(unit: OrgUnit) -> dict:
    """What a unit reports for a month: its parcels and buildings as they stand."""
    return {
        "parcels": [{"id": p.pk, **_snapshot(p, PARCEL_FIELDS)} for p in Parcel.objects.filter(org_unit=unit)],
        "buildings": [{"id": b.pk, **_snapshot(b, BUILDING_FIELDS)} for b in Building.objects.filter(org_unit=unit)],
    }


def carrier_report_submit(*, actor, unit: OrgUnit, month: date):
    """Submit the unit's monthly carrier report (core periodic report, which checks the reporter's
    reach and audits): a snapshot of its parcels and buildings, compared later month against month."""
    require_unit(actor, unit, CARRIER_WRITERS, action_label="上报")
    if month > _local_today():
        raise ServiceError("不能上报未来月份", fields={"month": "不能上报未来月份"})
    return core_services.report_submit(actor=actor, kind=carrier_report_kind(), unit=unit,
                                       period_start=month.replace(day=1), data=carrier_snapshot(unit))



# --- tables: the batch writes behind the import engine (``imports.py``) -------------------------------
#
# Each ``*_import_batch(actor, rows, dry_run)`` answers, per row in order, "created", "updated",
# "unchanged" or a ``RowError``, writes nothing for a refused row, and audits each created or
# changed record once. Creates go through the one-record services above (firms in bulk through
# ``firm_create_many``); what an import may change is the plain particulars — stages, resolutions
# and merges stay on the pages, where their rules and evidence live.

def _label_key(text) -> str:
    """The form names of reference data are compared in: folded, no spaces or separators, lower case."""
    return re.sub(r"[\s·\-—_/（）()]", "", personal.fold(str(text or ""))).lower()


def industry_lookup() -> dict[str, Industry]:
    """{label key: industry} by code, name and "门类·产业"; a 门类 names its industry when it has only one."""
    found: dict[str, Industry] = {}
    for industry in Industry.objects.all():
        for label in (industry.code, industry.name, str(industry), f"{industry.group}{industry.name}"):
            found.setdefault(_label_key(label), industry)
    return found


TIER_ALIASES = {
    "世界五百强": "fortune-global-500", "财富世界500强": "fortune-global-500", "财富500强": "fortune-global-500",
    "中国五百强": "china-500", "中国企业500强": "china-500",
    "民营500强": "china-private-500", "中国民营500强": "china-private-500", "民企500强": "china-private-500",
    "行业二十强": "industry-top-20", "行业前20": "industry-top-20",
    "龙头企业": "industry-leader", "行业龙头企业": "industry-leader",
    "中小微企业": "sme", "中小型企业": "sme", "小微企业": "sme",
}
_TIER_SPLIT = re.compile(r"[、;；,，\n|]+")
_TIER_ITEM = re.compile(r"^(.*?)[:：(（\[【]*(\d{4})?\s*年?[)）\]】]*$")


def tier_lookup() -> dict[str, Tier]:
    tiers = {t.code: t for t in Tier.objects.all()}
    found = {_label_key(t.name): t for t in tiers.values()} | {_label_key(t.code): t for t in tiers.values()}
    found.update({_label_key(alias): tiers[code] for alias, code in TIER_ALIASES.items() if code in tiers})
    return found


def parse_tiers(text: str, default_year: int | None, lookup: dict[str, Tier]) -> list[tuple[Tier, int]]:
    """"世界500强(2024)、中国民营500强：2023" → [(tier, year)]; a tier without its year takes
    ``default_year`` (the sheet's 榜单年份 column). Raises ServiceError naming the piece it cannot read."""
    pairs = []
    for piece in _TIER_SPLIT.split(personal.fold(text or "")):
        piece = piece.strip()
        if not piece:
            continue
        match = _TIER_ITEM.match(piece)
        name, year = (match[1], match[2]) if match else (piece, None)
        tier = lookup.get(_label_key(name))
        if tier is None:
            known = "、".join(sorted({t.name for t in lookup.values()}, key=len))
            raise ServiceError(f"没有「{name.strip()}」这个榜单，可填：{known}", fields={"tiers": "榜单不正确"})
        year = int(year) if year else default_year
        if year is None:
            raise ServiceError(f"请写明「{tier.name}」的上榜年份，如 {tier.name.replace(' ', '')}(2024)",
                               fields={"tiers": "请写明上榜年份"})
        pairs.append((tier, year))
    return _tiers(pairs)


def default_unit(actor, roles, kinds, label: str, *, prefer_lead: bool = True) -> OrgUnit:
    """The unit an import files new records under when its sheet names none: the lead unit when the
    actor may write there (``prefer_lead``), else the one unit the actor writes in."""
    lead = Office.current().lead_unit if prefer_lead else None
    if lead is not None and lead.kind in kinds:
        try:
            require_unit(actor, lead, roles)
            return lead
        except (ServiceError, NotInReach):
            pass
    from .queries import writable_units

    units = writable_units(actor, roles, list(kinds))
    if len(units) == 1:
        return units[0]
    raise ServiceError(f"请在表格中填写{label}" if units else "您的角色无权导入此表")


def _firm_finder(actor, texts) -> dict[str, Firm]:
    """Firms the actor sees, by the text a sheet names them with: credit code or (normalised) name."""
    texts = {t for t in texts if t}
    codes = {personal.fold(t).upper() for t in texts}
    keys = {name_key(t) for t in texts}
    found: dict[str, Firm] = {}
    visible = Firm.objects.restrict(actor, VIEW)
    for firm in visible.filter(Q(credit_code__in=codes) | Q(name_key__in=keys)).order_by("-id"):
        found[f"k:{firm.name_key}"] = firm
        if firm.credit_code:
            found[f"c:{firm.credit_code}"] = firm
    return found


def _find_firm(found: dict[str, Firm], text: str) -> Firm | None:
    return found.get(f"c:{personal.fold(text).upper()}") or found.get(f"k:{name_key(text)}")


def _row_error(e: ServiceError, column: str = "") -> RowError:
    field = next(iter(e.fields), "") if e.fields else ""
    return RowError(e.message, field if field and not column else column)


def firm_import_batch(actor, rows, dry_run) -> list:
    """Enterprise library rows: a row is the firm it names by credit code, else by normalised name
    (``name_key``) — the duplicate check of ``firm_create_many``. A known firm gets the sheet's
    particulars (empty cells leave them as they are), its tiers added or their year corrected and its
    contact added; a new one is created through ``firm_create_many``. A row whose code and name point
    at two different firms, or whose name is a firm with another code, is refused as a duplicate."""
    industries, tiers = industry_lookup(), tier_lookup()
    squads = {s.name: s for s in Squad.objects.restrict(actor, VIEW)}
    referrers = _firm_finder(actor, [r.values.get("referred_by") for r in rows])
    codes = [r.values["credit_code"] for r in rows if r.values.get("credit_code")]
    keys = [name_key(r.values["name"]) for r in rows]
    # Deliberately unscoped: a duplicate hidden from the importer is still a duplicate.
    by_code = {f.credit_code: f for f in Firm.objects.filter(credit_code__in=codes)}
    by_key: dict[str, Firm] = {}
    for firm in Firm.objects.filter(name_key__in=keys).order_by("-id"):
        by_key[firm.name_key] = firm
    known = [f.pk for f in [*by_code.values(), *by_key.values()]]
    changeable = set(Firm.objects.restrict(actor, CHANGE).filter(pk__in=known).values_list("pk", flat=True))
    held_tiers: dict[int, dict[int, FirmTier]] = {}
    for row in FirmTier.objects.filter(firm_id__in=known):
        held_tiers.setdefault(row.firm_id, {})[row.tier_id] = row
    held_contacts: dict[int, dict[str, Contact]] = {}
    for contact in Contact.objects.filter(firm_id__in=known).order_by("id"):
        held_contacts.setdefault(contact.firm_id, {}).setdefault(contact.name, contact)

    outcomes: list = [None] * len(rows)
    seen: dict[str, int] = {}
    new_rows: dict[OrgUnit, list[tuple[int, dict]]] = {}
    unit = None
    for i, row in enumerate(rows):
        v = row.values
        try:
            industry = None
            if v.get("industry"):
                industry = industries.get(_label_key(v["industry"]))
                if industry is None:
                    raise ServiceError(f"没有「{v['industry']}」这个产业，请填写“4+1”产业或战略性新兴产业的名称",
                                       fields={"industry": "产业不正确"})
            firm_tiers = parse_tiers(v.get("tiers") or "", v.get("tier_year"), tiers)
            squad = None
            if v.get("squad"):
                squad = squads.get(v["squad"].strip())
                if squad is None:
                    raise ServiceError(f"没有名为「{v['squad']}」的小分队", fields={"squad": "小分队不存在"})
            referrer = pending = None
            if v.get("referred_by"):
                referrer = _find_firm(referrers, v["referred_by"])
                ref = v["referred_by"]
                pending = next((t for t in (f"c:{personal.fold(ref).upper()}", f"k:{name_key(ref)}") if t in seen), None)
                if referrer is None and pending is None:
                    raise ServiceError(f"企业库中没有推荐企业「{v['referred_by']}」，请先录入该企业",
                                       fields={"referred_by": "没有找到该企业"})
        except ServiceError as e:
            outcomes[i] = _row_error(e)
            continue
        code, key = v.get("credit_code") or "", name_key(v["name"])
        tags = ([f"c:{code}"] if code else []) + [f"k:{key}"]
        earlier = next((seen[t] for t in tags if t in seen), None)
        if earlier is not None:
            outcomes[i] = RowError(f"与第 {earlier} 行是同一家企业（统一社会信用代码或名称相同）", "name")
            continue
        seen.update(dict.fromkeys(tags, row.row))
        coded, named = by_code.get(code) if code else None, by_key.get(key)
        if coded and named and coded.pk != named.pk:
            outcomes[i] = RowError(f"统一社会信用代码是企业库中「{coded.name}」（编号 {coded.pk}）的，企业名称却与"
                                   f"「{named.name}」（编号 {named.pk}）重复，请核对", "credit_code")
            continue
        firm = coded or named
        if firm is not None and code and firm.credit_code and firm.credit_code != code:
            outcomes[i] = RowError(f"企业名称与企业库中的「{firm.name}」（编号 {firm.pk}）重复，但统一社会信用代码不同"
                                   f"（库中为 {firm.credit_code}），请核对", "credit_code")
            continue
        if referrer is not None and firm is not None and referrer.pk == firm.pk:
            outcomes[i] = RowError("企业不能推荐自己", "referred_by")
            continue
        if firm is None:
            if industry is None or not v.get("region"):
                outcomes[i] = RowError("新企业请填写产业" if industry is None else "新企业请填写总部所在区域",
                                       "industry" if industry is None else "region")
                continue
            target = v.get("unit")
            if target is None:
                try:
                    target = unit = unit or default_unit(actor, WRITERS, ("department",), "所属单位")
                except ServiceError as e:
                    outcomes[i] = RowError(e.message, "unit")
                    continue
            contacts = [(v["contact_name"], v.get("contact_title") or "", v.get("phone") or "")] if v.get("contact_name") else []
            new_rows.setdefault(target, []).append((i, pending if referrer is None else None, tags, {
                "name": v["name"], "credit_code": code, "industry": industry, "region": v["region"],
                "city": v.get("city") or "", "referred_by": referrer, "squad": squad, "note": v.get("note") or "",
                "tiers": firm_tiers, "contacts": contacts}))
            continue
        if referrer is None and pending is not None:
            outcomes[i] = RowError("推荐企业须已在企业库中", "referred_by")
            continue
        if firm.pk not in changeable:
            outcomes[i] = RowError(f"企业库中已有该企业「{firm.name}」（编号 {firm.pk}），但不在您的修改权限内，"
                                   "请联系其所属单位", "name")
            continue
        outcomes[i] = _firm_import_update(actor, firm, v, code=code, industry=industry, squad=squad,
                                          referrer=referrer, tiers=firm_tiers,
                                          held_tiers=held_tiers.get(firm.pk, {}),
                                          held_contacts=held_contacts.get(firm.pk, {}), by_credit_code=bool(coded))
    # New firms in waves, so a firm referred by a firm further down the sheet is created after it.
    made: dict[str, Firm] = {}
    while new_rows:
        progressed = False
        for target in list(new_rows):
            ready = [item for item in new_rows[target] if item[1] is None or item[1] in made]
            if not ready:
                continue
            progressed = True
            new_rows[target] = [item for item in new_rows[target] if item not in ready]
            for _i, tag, _tags, data in ready:
                if tag is not None:
                    data["referred_by"] = made[tag]
            created = firm_create_many(actor=actor, unit=target, rows=[item[3] for item in ready])
            for (i, _tag, tags, _data), firm in zip(ready, created, strict=True):
                outcomes[i] = "created"
                made.update(dict.fromkeys(tags, firm))
            if not new_rows[target]:
                del new_rows[target]
        if not progressed:  # referred by a row that was refused
            for items in new_rows.values():
                for i, _tag, _tags, _data in items:
                    outcomes[i] = RowError("推荐企业所在的行未能导入", "referred_by")
            break
    return outcomes


def _firm_import_update(actor, firm: Firm, v: dict, *, code, industry, squad, referrer, tiers, held_tiers,
                        held_contacts, by_credit_code: bool) -> str | RowError:
    changes: dict = {}

    def put(field, value, shown=None):
        attname = f"{field}_id" if field in ("industry", "squad", "referred_by") else field
        old = getattr(firm, attname)
        new = getattr(value, "pk", value)
        if old != new:
            changes[field] = [old, new] if shown is None else shown
            setattr(firm, field, value)

    if by_credit_code and v["name"] != firm.name:  # a firm renamed: its credit code is its identity
        put("name", v["name"])
        firm.name_key = name_key(v["name"])
    if code and not firm.credit_code:
        put("credit_code", code)
    for field, value in (("industry", industry), ("region", v.get("region")), ("city", v.get("city")),
                         ("squad", squad), ("referred_by", referrer), ("note", v.get("note"))):
        if value not in (None, ""):
            put(field, value)
    new_tiers, moved_tiers = [], []
    for tier, year in tiers:
        held = held_tiers.get(tier.pk)
        if held is None:
            new_tiers.append(FirmTier(firm=firm, tier=tier, year=year))
        elif held.year != year:
            moved_tiers.append((held, year))
    if new_tiers or moved_tiers:
        changes["tiers"] = [f"{t.tier.code}:{t.year}" for t in new_tiers] + [
            f"{h.tier.code}:{h.year}->{y}" for h, y in moved_tiers]
    contact = None
    if v.get("contact_name"):
        held = held_contacts.get(v["contact_name"])
        phone = v.get("phone") or ""
        if held is None:
            try:
                contact = _contact(firm, v["contact_name"], v.get("contact_title") or "", phone)
            except ServiceError as e:
                return _row_error(e)
            changes["contact_add"] = {"contact": contact.name, "phone": contact.phone_masked}
        elif phone and held.phone_bidx != personal.blind_index("phone", phone):
            changes["contact_phone"] = {"contact": held.name, "phone": [held.phone_masked, personal.mask_phone(phone)]}
            held.phone_enc, held.phone_bidx = personal.encrypt(phone), personal.blind_index("phone", phone)
            held.phone_masked = personal.mask_phone(phone)
            contact = held
    if not changes:
        return "unchanged"
    if "name" in changes and Firm.objects.filter(name_key=firm.name_key).exclude(pk=firm.pk).exists():
        return RowError(f"企业名称「{firm.name}」与企业库中的另一家企业重复", "name")
    firm.save()
    FirmTier.objects.bulk_create(new_tiers)
    for held, year in moved_tiers:
        held.year = year
        held.save(update_fields=["year"])
    if contact is not None:
        contact.save()
    audit(actor=actor, action=A.UPDATE, unit=firm.org_unit, obj=firm, verb="import", changes=changes)
    return "updated"


_NAMES_SPLIT = re.compile(r"[、;；,，\n]+")


def split_names(text) -> list[str]:
    return [part.strip() for part in _NAMES_SPLIT.split(text or "") if part.strip()]


def _firms_named(found: dict[str, Firm], text) -> list[Firm]:
    firms = []
    for part in split_names(text):
        firm = _find_firm(found, part)
        if firm is None:
            raise ServiceError(f"企业库中没有「{part}」，请先录入或导入该企业", fields={"firms": "没有找到该企业"})
        if firm not in firms:
            firms.append(firm)
    return firms


def project_import_batch(actor, rows, dry_run) -> list:
    """The project ledger: a row is the project of that name. A new one is created through
    ``project_create`` (at the 线索 stage); a known one gets its particulars and firms corrected
    (empty cells leave them as they are). Stages move only on the project page, where the agreement
    and the licence are uploaded: a 阶段 cell must read the stage the project is at."""
    industries = industry_lookup()
    groups = {_label_key(g.name): g for g in HqGroup.objects.all()}
    found = _firm_finder(actor, [t for r in rows for t in split_names(r.values.get("firms"))])
    existing: dict[str, list[Project]] = {}
    for project in Project.objects.filter(name__in=[r.values["name"] for r in rows]).select_related(
            "industry", "hq_group").prefetch_related("firms"):
        existing.setdefault(project.name, []).append(project)
    ids = [p.pk for ps in existing.values() for p in ps]
    changeable = set(Project.objects.restrict(actor, CHANGE).filter(pk__in=ids).values_list("pk", flat=True))
    state: dict = {"unit": None}
    outcomes: list = []
    for row in rows:
        v = row.values
        try:
            industry = group = None
            if v.get("industry"):
                industry = industries.get(_label_key(v["industry"]))
                if industry is None:
                    raise ServiceError(f"没有「{v['industry']}」这个产业", fields={"industry": "产业不正确"})
            if v.get("hq_group"):
                group = groups.get(_label_key(v["hq_group"]))
                if group is None:
                    raise ServiceError(f"没有「{v['hq_group']}」这个工作组，可填："
                                       + "、".join(g.name for g in HqGroup.objects.all()),
                                       fields={"hq_group": "工作组不正确"})
            firms = _firms_named(found, v.get("firms"))
        except ServiceError as e:
            outcomes.append(_row_error(e))
            continue
        candidates = existing.get(v["name"], [])
        if len(candidates) > 1:
            outcomes.append(RowError(f"有 {len(candidates)} 个名为「{v['name']}」的项目，请在项目页面修改", "name"))
            continue
        project = candidates[0] if candidates else None
        stage = v.get("stage")
        if stage and stage != (project.stage if project else Project.Stage.LEAD):
            outcomes.append(RowError("项目阶段请在项目页面推进（签约须上传投资协议，注册落地须上传营业执照）；"
                                     "导入不改变阶段", "stage"))
            continue
        if project is None:
            outcomes.append(_project_import_create(actor, v, industry, group, firms, state))
            continue
        if project.pk not in changeable:
            outcomes.append(RowError(f"项目「{project.name}」不在您的修改权限内", "name"))
            continue
        outcomes.append(_project_import_update(actor, project, v, industry, group, firms))
    return outcomes


def _project_import_create(actor, v, industry, group, firms, state: dict) -> str | RowError:
    if v.get("paid_in"):
        return RowError("新立项的项目尚无到位资金；到位资金请在项目进展中记录", "paid_in")
    missing = [label for label, value in (("投资企业", firms), ("产业", industry), ("计划投资", v.get("planned_investment")),
                                          ("责任工作组", group), ("责任领导", v.get("leader"))) if not value]
    if missing:
        return RowError("新项目请填写" + "、".join(missing))
    target = v.get("unit") or state["unit"]
    try:
        if target is None:
            target = state["unit"] = default_unit(actor, WRITERS, ("department",), "所属单位")
        with transaction.atomic():
            project_create(actor=actor, unit=target, firms=firms, name=v["name"], industry=industry,
                           planned_investment=v["planned_investment"], hq_group=group, leader=v["leader"],
                           need=v.get("need") or Project.Need.NONE, need_area=v.get("need_area"),
                           need_use=v.get("need_use") or "")
    except ServiceError as e:
        return _row_error(e)
    except NotInReach as e:
        return RowError(e.message, "unit")
    return "created"


def _project_import_update(actor, project: Project, v, industry, group, firms) -> str | RowError:
    need = v.get("need") or project.need
    try:
        fields = _project_fields(
            name=project.name, industry=industry or project.industry,
            planned_investment=v.get("planned_investment") or project.planned_investment, need=need,
            need_area=v.get("need_area") if v.get("need_area") is not None else project.need_area,
            need_use=v.get("need_use") if v.get("need_use") is not None else project.need_use,
            hq_group=group or project.hq_group, leader=v.get("leader") or project.leader)
    except ServiceError as e:
        return _row_error(e)
    if v.get("paid_in") is not None:
        fields["paid_in"] = v["paid_in"]
    changes = _project_apply(actor, project, fields, firms, verb="import")
    return "updated" if changes else "unchanged"


def activity_import_batch(actor, rows, dry_run) -> list:
    """The activity ledger (走访接待台账): a row is the activity of its firm, kind and date. A new one goes
    through ``activity_record``; a known one gets its participants, place and summary corrected."""
    found = _firm_finder(actor, [r.values["firm"] for r in rows])
    squads = {s.name: s for s in Squad.objects.restrict(actor, VIEW)}
    firm_ids = [f.pk for f in found.values()]
    existing = {}
    for activity in Activity.objects.filter(firm_id__in=firm_ids,
                                            happened_on__in={r.values["happened_on"] for r in rows}).order_by("id"):
        existing.setdefault((activity.firm_id, activity.kind, activity.happened_on), activity)
    changeable = set(Activity.objects.restrict(actor, CHANGE).filter(
        pk__in=[a.pk for a in existing.values()]).values_list("pk", flat=True))
    outcomes: list = []
    for row in rows:
        v = row.values
        firm = _find_firm(found, v["firm"])
        if firm is None:
            outcomes.append(RowError(f"企业库中没有「{v['firm']}」，请先录入或导入该企业", "firm"))
            continue
        squad = None
        if v.get("squad"):
            squad = squads.get(v["squad"])
            if squad is None:
                outcomes.append(RowError(f"没有名为「{v['squad']}」的小分队", "squad"))
                continue
        activity = existing.get((firm.pk, v["kind"], v["happened_on"]))
        if activity is None:
            try:
                with transaction.atomic():
                    activity_record(actor=actor, firm=firm, kind=v["kind"], happened_on=v["happened_on"],
                                    participants=v["participants"], summary=v["summary"], place=v.get("place") or "",
                                    squad=squad)
            except ServiceError as e:
                outcomes.append(_row_error(e))
            except NotInReach:
                outcomes.append(RowError(f"企业「{firm.name}」不在您的修改权限内", "firm"))
            else:
                outcomes.append("created")
            continue
        if activity.pk not in changeable:
            outcomes.append(RowError(f"企业「{firm.name}」的这条活动不在您的修改权限内", "firm"))
            continue
        wanted = {"participants": v["participants"], "summary": v["summary"], "place": v.get("place") or "",
                  "squad_id": squad.pk if squad else activity.squad_id}
        changes = {f: [getattr(activity, f), value] for f, value in wanted.items() if getattr(activity, f) != value}
        if not changes:
            outcomes.append("unchanged")
            continue
        for f, (_old, value) in changes.items():
            setattr(activity, f, value)
        activity.save(update_fields=list(changes))
        audit(actor=actor, action=A.UPDATE, unit=firm.org_unit, obj=activity, verb="import",
              object_repr=f"{activity.get_kind_display()}：{firm.name}", changes=changes)
        outcomes.append("updated")
    return outcomes


def appeal_import_batch(actor, rows, dry_run) -> list:
    """Appeals received on paper or by phone: a row is the appeal of its firm, subject and date. A new
    one goes through ``appeal_create`` (its handler gets the to-do); a registered appeal is worked on
    its page (replies, resolution), so a row that differs from it is refused."""
    found = _firm_finder(actor, [r.values["firm"] for r in rows])
    groups = {_label_key(g.name): g for g in HqGroup.objects.all()}
    existing = {}
    for appeal in Appeal.objects.filter(firm_id__in=[f.pk for f in found.values()],
                                        title__in={r.values["title"] for r in rows}).order_by("id"):
        existing.setdefault((appeal.firm_id, appeal.title, appeal.received_on), appeal)
    outcomes: list = []
    for row in rows:
        v = row.values
        firm = _find_firm(found, v["firm"])
        if firm is None:
            outcomes.append(RowError(f"企业库中没有「{v['firm']}」，请先录入或导入该企业", "firm"))
            continue
        appeal = existing.get((firm.pk, v["title"], v["received_on"]))
        urgency = v.get("urgency") or Appeal.Urgency.NORMAL
        if appeal is not None:
            same = (appeal.category, appeal.urgency, appeal.detail) == (v["category"], urgency, v["detail"])
            outcomes.append("unchanged" if same else RowError(
                f"该诉求已登记（编号 {appeal.pk}），请在诉求页面答复或办结；导入不修改已登记的诉求", "title"))
            continue
        group = groups.get(_label_key(v.get("owner_group")))
        if group is None:
            outcomes.append(RowError("请填写责任工作组，可填：" + "、".join(g.name for g in HqGroup.objects.all()),
                                     "owner_group"))
            continue
        handler = actor
        if v.get("handler"):
            people = assignable_users(firm.org_unit)
            handler = (people.filter(username=v["handler"]).first()
                       or people.filter(display_name=v["handler"]).first())
            if handler is None:
                outcomes.append(RowError(f"没有名为「{v['handler']}」的承办人（填写用户名或姓名）", "handler"))
                continue
        try:
            project = None
            if v.get("project"):
                project = Project.objects.restrict(actor, VIEW).filter(name=v["project"], firms=firm).first()
                if project is None:
                    raise ServiceError(f"企业「{firm.name}」没有名为「{v['project']}」的项目",
                                       fields={"project": "没有找到该项目"})
            with transaction.atomic():
                appeal_create(actor=actor, firm=firm, category=v["category"], title=v["title"], detail=v["detail"],
                              urgency=urgency, owner_group=group, handler=handler, received_on=v["received_on"],
                              project=project)
        except ServiceError as e:
            outcomes.append(_row_error(e))
        except NotInReach:
            outcomes.append(RowError(f"企业「{firm.name}」不在您的权限范围内", "firm"))
        else:
            outcomes.append("created")
    return outcomes


def carrier_report_feed(*, actor, unit: OrgUnit, month: date):
    """File the unit's carriers as they now stand as its report for ``month`` — the imported sheet
    fills in the monthly report. Nothing is resubmitted when the report already says exactly that."""
    from govdesk.core.models import PeriodicReport

    current = PeriodicReport.objects.filter(kind=carrier_report_kind(), org_unit=unit,
                                            period_start=month.replace(day=1)).first()
    if current is not None and current.data == carrier_snapshot(unit):
        return current
    return carrier_report_submit(actor=actor, unit=unit, month=month)


def _carrier_import(actor, rows, dry_run, *, model, clean, fields) -> list:
    kind = carrier_report_kind()
    outcomes: list = [None] * len(rows)
    prepared = []
    seen: dict[tuple, int] = {}
    default = None
    for i, row in enumerate(rows):
        v = row.values
        unit = v.get("unit")
        if unit is None:
            try:
                unit = default = default or default_unit(actor, CARRIER_WRITERS, tuple(kind.unit_kinds), "报送单位",
                                                         prefer_lead=False)
            except ServiceError as e:
                outcomes[i] = RowError(e.message, "unit")
                continue
        try:
            values = clean(v)
        except ServiceError as e:
            outcomes[i] = _row_error(e)
            continue
        key = (unit.pk, values["name"].casefold())
        if key in seen:
            outcomes[i] = RowError(f"与第 {seen[key]} 行重复：同一单位的载体名称只能出现一次", "name")
            continue
        seen[key] = row.row
        prepared.append((i, row.__class__(row=row.row, values={**values, "org_unit": unit}), v["month"]))
    results = upsert(actor=actor, model=model, rows=[p[1] for p in prepared], key=("org_unit", "name"),
                     build=lambda r: r.values, compare=tuple(f for f in fields if f != "name"),
                     changeable=model.objects.restrict(actor, CHANGE), unit_of=lambda obj: obj.org_unit)
    reports: dict[tuple, OrgUnit] = {}
    for (i, prepared_row, month), outcome in zip(prepared, results, strict=True):
        outcomes[i] = outcome
        if not isinstance(outcome, RowError):
            unit = prepared_row.values["org_unit"]
            reports[(unit.pk, month)] = unit
    if not dry_run:  # a dry run is rolled back anyway: the report is filed when the rows are
        for (_pk, month), unit in sorted(reports.items(), key=lambda item: (item[0][1], item[1].path)):
            carrier_report_feed(actor=actor, unit=unit, month=month)
    return outcomes


def parcel_import_batch(actor, rows, dry_run) -> list:
    """A street's or department's own sheet of idle parcels: each row creates or corrects the parcel of
    that name in the reporting unit, then the sheet is filed as the unit's carrier report for its month."""
    def clean(v):
        return _parcel_fields(name=v["name"], location=v.get("location"), area_mu=_str(v.get("area_mu")),
                              planned_use=v.get("planned_use"), zoning=v.get("zoning"),
                              status=v.get("status") or Parcel.Status.IDLE, direction=v.get("direction"))

    return _carrier_import(actor, rows, dry_run, model=Parcel, clean=clean, fields=PARCEL_FIELDS)


def building_import_batch(actor, rows, dry_run) -> list:
    """A street's or department's own sheet of commercial buildings, filed like ``parcel_import_batch``."""
    def clean(v):
        return _building_fields(name=v["name"], address=v.get("address"), total_area=_str(v.get("total_area")),
                                vacant_area=_str(v.get("vacant_area")), rent=_str(v.get("rent")),
                                owner=v.get("owner"), main_tenants=v.get("main_tenants"), direction=v.get("direction"))

    return _carrier_import(actor, rows, dry_run, model=Building, clean=clean, fields=BUILDING_FIELDS)


def _str(value) -> str:
    return "" if value is None else str(value)
