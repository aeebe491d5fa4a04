"""Every write of the coal app: validate, check reach, change, audit — one transaction each."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, models, transaction
from django.db.models import OuterRef, Q, Subquery, Sum
from django.utils import timezone

from govdesk.core import personal
from govdesk.core.audit import Entry, audit, audit_many, diff
from govdesk.core.errors import Conflict, Forbidden, NotInReach, ServiceError
from govdesk.core.models import AuditEvent, Membership, OrgUnit
from govdesk.core.periods import day_start
from govdesk.core.reach import CHANGE, Role, paths_for, require, require_unit
from govdesk.core.services import todo_close, todo_open

from .models import (
    STREET_ROLES,
    VIEWERS,
    Campaign,
    CampaignTask,
    Inspection,
    InspectionCorrection,
    NoticeAllocation,
    NoticeBatch,
    NoticePosting,
    Office,
    Photo,
    Place,
    Rectification,
    RectificationExtension,
    office_paths,
)

A = AuditEvent.Action
TODO_RECTIFICATION = "coal.rectification"
TODO_CAMPAIGN = "coal.campaign"
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


def backdate_days() -> int:
    return int(getattr(settings, "COAL_BACKDATE_DAYS", 7))


def photo_max_bytes() -> int:
    return int(getattr(settings, "COAL_PHOTO_MAX_BYTES", 10 * 1024 * 1024))


def today() -> date:
    return timezone.localdate()




def _text(value, *, field: str, label: str, max_length: int, required: bool = False) -> str:
    value = (str(value) if value is not None else "").strip()
    if required and not value:
        raise ServiceError(f"请填写{label}", fields={field: f"请填写{label}"})
    if len(value) > max_length:
        raise ServiceError(f"{label}不能超过 {max_length} 个字", fields={field: f"不能超过 {max_length} 个字"})
    return value


def _kg(value, *, field: str, label: str) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        amount = Decimal(personal.fold(value))
    except (InvalidOperation, ValueError):
        raise ServiceError(f"{label}应为数字", fields={field: "应为数字"}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1000000000"):
        raise ServiceError(f"{label}应为不小于 0 的数字", fields={field: "应为不小于 0 的数字"})
    return amount.quantize(Decimal("0.1"))


# --- reach of the office ------------------------------------------------------------------

def is_office_of(user, district: OrgUnit) -> bool:
    return district.path in office_paths(user)


def require_office(actor, district: OrgUnit, *, action_label: str = "此操作") -> None:
    """The office's own work (campaigns, notice batches): its officers or the district administrator."""
    if is_office_of(actor, district):
        return
    if any(district.path.startswith(root) for root in paths_for(actor, {Role.DISTRICT_ADMIN})):
        return
    sees = any(district.path.startswith(root) for root in paths_for(actor, VIEWERS)) or any(
        root.startswith(district.path) for root in paths_for(actor, VIEWERS))
    if sees:
        raise Forbidden(f"只有散煤办可以进行{action_label}")
    raise NotInReach()


@transaction.atomic
def office_designate(*, actor, department: OrgUnit) -> Office:
    """Name the department that is its district's loose-coal office (散煤办)."""
    if department.kind != OrgUnit.Kind.DEPARTMENT or department.parent is None:
        raise ServiceError("散煤办必须是区里的一个部门", fields={"department": "请选择部门"})
    district = department.parent
    require_unit(actor, district, {Role.DISTRICT_ADMIN}, action_label="指定散煤办")
    office = Office.objects.filter(district=district).first()
    before = office.department_id if office else None
    if office is None:
        office = Office.objects.create(district=district, department=department)
    elif office.department_id != department.pk:
        office.department = department
        office.save(update_fields=["department"])
    else:
        return office
    audit(actor=actor, action=A.UPDATE if before else A.CREATE, unit=district, obj=office, verb="designate",
          object_repr=f"散煤办：{department.name}", changes={"department": [before, department.pk]})
    return office


def require_street_unit(actor, unit: OrgUnit, *, action_label: str) -> None:
    """Before creating a street's record in ``unit``: street officers (and the district
    administrator) of that street; the office and supervisors see it but may not (403)."""
    try:
        require_unit(actor, unit, STREET_ROLES, action_label=action_label)
    except NotInReach:
        if any(unit.path.startswith(root) for root in office_paths(actor)):
            raise Forbidden(f"散煤办不能在「{unit.name}」进行{action_label}，请由街道办理") from None
        raise


# --- places --------------------------------------------------------------------------------

def _place_fields(*, name, kind, address, contact_name, contact_phone) -> dict:
    fields = {
        "name": _text(name, field="name", label="名称", max_length=100, required=True),
        "address": _text(address, field="address", label="地址", max_length=200, required=True),
        "contact_name": _text(contact_name, field="contact_name", label="联系人", max_length=50),
    }
    if kind not in Place.Kind.values:
        raise ServiceError("请选择点位类型", fields={"kind": "请选择点位类型"})
    fields["kind"] = kind
    phone = ""
    if contact_phone:
        try:
            phone = personal.clean_phone(contact_phone)
        except ValidationError as e:
            raise ServiceError("；".join(e.messages), fields={"contact_phone": "；".join(e.messages)}) from None
    fields["contact_phone_enc"] = personal.encrypt(phone) if phone else ""
    fields["contact_phone_masked"] = personal.mask_phone(phone)
    return fields


def _snapshot(obj, names) -> dict:
    return {n: getattr(obj, n) for n in names}


PLACE_AUDITED = ["name", "kind", "address", "contact_name", "contact_phone_masked", "status"]


@transaction.atomic
def place_create(*, actor, community: OrgUnit, name: str, kind: str, address: str, contact_name: str = "",
                 contact_phone: str = "") -> Place:
    if community is None or community.kind != OrgUnit.Kind.COMMUNITY:
        raise ServiceError("请选择点位所在的社区", fields={"community": "请选择社区"})
    require_street_unit(actor, community, action_label="新增点位")
    if community.is_retired:
        raise ServiceError(f"「{community.name}」已撤销", fields={"community": "该社区已撤销"})
    fields = _place_fields(name=name, kind=kind, address=address, contact_name=contact_name,
                           contact_phone=contact_phone)
    duplicate = ServiceError(f"「{community.name}」已有同名同地址的点位", fields={"name": "同名同地址的点位已存在"})
    if Place.objects.filter(community=community, name=fields["name"], address=fields["address"]).exists():
        raise duplicate
    try:
        with transaction.atomic():
            place = Place.objects.create(street=community.parent, community=community, **fields)
    except IntegrityError:  # the same form submitted twice at once: the other one created it
        raise duplicate from None
    audit(actor=actor, action=A.CREATE, unit=community, obj=place,
          changes={**_snapshot(place, PLACE_AUDITED), "community": community.pk})
    return place


@transaction.atomic
def place_import(*, actor, rows: list[dict]) -> list[Place]:
    """Places in bulk (an Excel list, the demo): each row as for ``place_create``;
    all or nothing, one audit event per place."""
    prepared, seen, checked = [], set(), set()
    for number, row in enumerate(rows, start=1):
        community = row.get("community")
        if community is None or community.kind != OrgUnit.Kind.COMMUNITY:
            raise ServiceError(f"第 {number} 行：请选择点位所在的社区", fields={"community": "请选择社区"})
        if community.pk not in checked:
            require_street_unit(actor, community, action_label="导入点位")
            checked.add(community.pk)
        try:
            fields = _place_fields(name=row.get("name"), kind=row.get("kind"), address=row.get("address"),
                                   contact_name=row.get("contact_name", ""),
                                   contact_phone=row.get("contact_phone", ""))
        except ServiceError as e:
            raise ServiceError(f"第 {number} 行：{e.message}", fields=e.fields) from None
        key = (community.pk, fields["name"], fields["address"])
        if key in seen:
            raise ServiceError(f"第 {number} 行：与前面的行重复（同社区同名同地址）", fields={"name": "重复"})
        seen.add(key)
        prepared.append((community, fields))
    taken = Place.objects.filter(community_id__in=checked).values_list("community_id", "name", "address")
    clash = seen & set(taken)
    if clash:
        _c, name, address = sorted(clash)[0]
        raise ServiceError(f"点位「{name}」（{address}）已存在", fields={"name": "已存在"})
    places = Place.objects.bulk_create([Place(street_id=c.parent_id, community=c, **f) for c, f in prepared],
                                       batch_size=500)
    audit_many(actor=actor, entries=[Entry(action=A.CREATE, unit=p.community, obj=p,
                                           changes={**_snapshot(p, PLACE_AUDITED), "community": p.community_id})
                                     for p in places])
    return places


@transaction.atomic
def place_update(*, actor, place: Place, name: str, kind: str, address: str, contact_name: str = "",
                 contact_phone: str | None = None) -> Place:
    """``contact_phone=None`` keeps the stored number (the form never shows it in clear)."""
    place = Place.objects.select_for_update().get(pk=place.pk)
    require(actor, place, CHANGE)
    before = _snapshot(place, PLACE_AUDITED)
    fields = _place_fields(name=name, kind=kind, address=address, contact_name=contact_name,
                           contact_phone=contact_phone or "")
    if contact_phone is None:
        fields.pop("contact_phone_enc")
        fields.pop("contact_phone_masked")
    if Place.objects.filter(community=place.community, name=fields["name"], address=fields["address"]).exclude(
            pk=place.pk).exists():
        raise ServiceError("同社区已有同名同地址的点位", fields={"name": "同名同地址的点位已存在"})
    for key, value in fields.items():
        setattr(place, key, value)
    changes = diff(before, _snapshot(place, PLACE_AUDITED))
    if not changes:
        return place
    place.save()
    audit(actor=actor, action=A.UPDATE, unit=place.community, obj=place, changes=changes)
    return place


@transaction.atomic
def place_close_down(*, actor, place: Place) -> Place:
    place = Place.objects.select_for_update().get(pk=place.pk)
    require(actor, place, CHANGE)
    if place.status == Place.Status.CLOSED_DOWN:
        raise ServiceError("该点位已关停")
    before = place.status
    place.status = Place.Status.CLOSED_DOWN
    place.save(update_fields=["status"])
    audit(actor=actor, action=A.STATE, unit=place.community, obj=place, verb="close_down",
          changes={"status": [before, place.status]})
    return place


# --- inspections ---------------------------------------------------------------------------

FINDING_FIELDS = ["coal_present", "coal_kind", "quantity_kg", "source", "storage", "used_by", "educated", "seized",
                  "seized_kg", "rectification_ordered", "rectification_deadline", "referred", "note"]
# These drove the workflow (rectification, place status); a correction may not flip them.
WORKFLOW_FIELDS = {"coal_present", "rectification_ordered", "rectification_deadline"}


def _as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "on", "yes", "是"}
    return bool(value)


def _as_date(value, *, field: str, label: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(personal.fold(value))
    except ValueError:
        raise ServiceError(f"{label}格式不正确", fields={field: "日期格式不正确"}) from None


def clean_findings(data: dict, *, inspected_on: date) -> dict:
    """The findings and actions of an inspection, normalised, with their rules."""
    f = {
        "coal_present": _as_bool(data.get("coal_present")),
        "coal_kind": (data.get("coal_kind") or "").strip(),
        "quantity_kg": _kg(data.get("quantity_kg"), field="quantity_kg", label="散煤数量"),
        "source": _text(data.get("source"), field="source", label="来源", max_length=100),
        "storage": _text(data.get("storage"), field="storage", label="存放地点", max_length=100),
        "used_by": _text(data.get("used_by"), field="used_by", label="使用人", max_length=100),
        "educated": _as_bool(data.get("educated")),
        "seized": _as_bool(data.get("seized")),
        "seized_kg": _kg(data.get("seized_kg"), field="seized_kg", label="收缴数量"),
        "rectification_ordered": _as_bool(data.get("rectification_ordered")),
        "rectification_deadline": _as_date(data.get("rectification_deadline"), field="rectification_deadline",
                                           label="整改期限"),
        "referred": _as_bool(data.get("referred")),
        "note": _text(data.get("note"), field="note", label="备注", max_length=1000),
    }
    if f["coal_kind"] and f["coal_kind"] not in Inspection.CoalKind.values:
        raise ServiceError("煤炭种类不正确", fields={"coal_kind": "煤炭种类不正确"})
    if f["coal_present"]:
        if not f["coal_kind"]:
            raise ServiceError("发现散煤时请选择煤炭种类", fields={"coal_kind": "请选择煤炭种类"})
        if f["quantity_kg"] <= 0:
            raise ServiceError("发现散煤时请填写数量", fields={"quantity_kg": "请填写数量"})
    else:
        if f["coal_kind"] or f["quantity_kg"] or f["seized"] or f["rectification_ordered"]:
            raise ServiceError("未发现散煤时不能填写煤炭种类、数量、收缴或整改",
                               fields={"coal_present": "未发现散煤时不能收缴或下达整改"})
    if f["seized"]:
        if f["seized_kg"] <= 0:
            raise ServiceError("收缴时请填写收缴数量", fields={"seized_kg": "请填写收缴数量"})
        if f["seized_kg"] > f["quantity_kg"]:
            raise ServiceError("收缴数量不能超过发现的数量", fields={"seized_kg": "不能超过发现的数量"})
    elif f["seized_kg"]:
        raise ServiceError("未选择收缴时不能填写收缴数量", fields={"seized_kg": "未选择收缴"})
    if f["rectification_ordered"]:
        deadline = f["rectification_deadline"]
        if deadline is None:
            raise ServiceError("下达整改通知时请填写整改期限", fields={"rectification_deadline": "请填写整改期限"})
        if deadline <= inspected_on:
            raise ServiceError("整改期限应晚于检查日期", fields={"rectification_deadline": "应晚于检查日期"})
        if deadline > inspected_on + timedelta(days=366):
            raise ServiceError("整改期限不能超过一年", fields={"rectification_deadline": "不能超过一年"})
    elif f["rectification_deadline"]:
        raise ServiceError("未下达整改通知时不能填写整改期限", fields={"rectification_deadline": "未下达整改通知"})
    return f


def _parse_at(value) -> datetime:
    if value in (None, ""):
        raise ServiceError("请填写检查时间", fields={"inspected_at": "请填写检查时间"})
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(personal.fold(value))
        except ValueError:
            raise ServiceError("检查时间格式不正确", fields={"inspected_at": "格式不正确"}) from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def check_inspected_at(value) -> datetime:
    value = _parse_at(value)
    now = timezone.now()
    if value > now + timedelta(minutes=10):
        raise ServiceError("检查时间不能晚于现在", fields={"inspected_at": "不能晚于现在"})
    window = backdate_days()
    if timezone.localdate(value) < today() - timedelta(days=window):
        raise ServiceError(f"只能补录 {window} 天以内的检查", fields={"inspected_at": f"只能补录 {window} 天以内的检查"})
    return value


def _content_hash(*, place: Place, inspected_at: datetime, findings: dict, task_id=None) -> str:
    payload = {"place": place.pk, "at": inspected_at.astimezone(UTC).isoformat(), "task": task_id,
               **{k: str(v) for k, v in findings.items()}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _replay(client_id, content_hash: str) -> Inspection | None:
    """The inspection a retry with the same id already made, or a 409 if its content differs."""
    existing = Inspection.objects.filter(client_id=client_id).first()
    if existing is None:
        return None
    if existing.content_hash != content_hash:
        raise Conflict("该客户端编号已用于另一条内容不同的检查记录", code="duplicate_client_id",
                       fields={"client_id": "编号已被使用"})
    return existing


@transaction.atomic
def inspection_record(*, actor, place: Place, inspected_at, findings: dict, close: bool = True,
                      client_id: uuid.UUID | str | None = None, photos=(), task_id=None) -> tuple[Inspection, bool]:
    """Record an inspection of ``place``; returns (inspection, created). A retry with the same
    ``client_id`` and content returns the first inspection; different content is a 409."""
    require(actor, place, CHANGE)
    inspected_at = _parse_at(inspected_at)
    cleaned = clean_findings(findings, inspected_on=timezone.localdate(inspected_at))
    content_hash = ""
    if client_id:
        try:
            client_id = uuid.UUID(str(client_id))
        except ValueError:
            raise ServiceError("客户端编号格式不正确", fields={"client_id": "应为 UUID"}) from None
        content_hash = _content_hash(place=place, inspected_at=inspected_at, findings=cleaned, task_id=task_id)
        existing = _replay(client_id, content_hash)
        if existing is not None:
            return existing, False  # a retry: it passed the back-dating window the first time
    check_inspected_at(inspected_at)
    inspection = Inspection(place=place, street_id=place.street_id, community_id=place.community_id, inspector=actor,
                            inspected_at=inspected_at, client_id=client_id or None, content_hash=content_hash,
                            **cleaned)
    try:
        with transaction.atomic():
            inspection.save()
    except IntegrityError:
        # the same id arrived twice at once: the other request won
        existing = _replay(client_id, content_hash) if client_id else None
        if existing is None:
            raise
        return existing, False
    audit(actor=actor, action=A.CREATE, unit=place.community, obj=inspection,
          changes={"place": place.pk, "inspected_at": inspected_at.isoformat(), **cleaned})
    for upload in photos:
        photo_add(actor=actor, inspection=inspection, upload=upload)
    if close:
        inspection = inspection_close(actor=actor, inspection=inspection)
    return inspection, True


@transaction.atomic
def inspection_update(*, actor, inspection: Inspection, inspected_at, findings: dict) -> Inspection:
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    require(actor, inspection, CHANGE)
    if inspection.is_closed:
        raise ServiceError("检查记录已办结，不能修改；如有错误请提交更正")
    inspected_at = check_inspected_at(inspected_at)
    cleaned = clean_findings(findings, inspected_on=timezone.localdate(inspected_at))
    before = {"inspected_at": inspection.inspected_at, **_snapshot(inspection, FINDING_FIELDS)}
    inspection.inspected_at = inspected_at
    for key, value in cleaned.items():
        setattr(inspection, key, value)
    changes = diff(before, {"inspected_at": inspected_at, **cleaned})
    if changes:
        inspection.save()
        audit(actor=actor, action=A.UPDATE, unit=inspection.community, obj=inspection, changes=changes)
    return inspection


def street_officers_of(unit: OrgUnit):
    """The street officers whose membership covers ``unit`` (their inbox gets the street's to-dos)."""
    ids = [p for p in unit.path.split("/") if p]
    prefixes = ["/" + "/".join(ids[:i]) + "/" for i in range(1, len(ids) + 1)]
    from govdesk.core.models import User
    user_ids = Membership.objects.filter(role=Role.STREET_OFFICER, org_unit__path__in=prefixes,
                                         user__is_active=True).values("user_id")
    return list(User.objects.filter(pk__in=user_ids).order_by("pk"))


def _open_rectification(actor, inspection: Inspection, place: Place) -> Rectification:
    rect = Rectification.objects.create(
        place=place, street_id=place.street_id, community_id=place.community_id, opened_by=inspection,
        opened_on=timezone.localdate(inspection.inspected_at), deadline=inspection.rectification_deadline,
        original_deadline=inspection.rectification_deadline)
    audit(actor=actor, action=A.CREATE, unit=place.community, obj=rect,
          changes={"place": place.pk, "deadline": rect.deadline, "inspection": inspection.pk})
    _rectification_todos(place, rect)
    return rect


def _extend(actor, rect: Rectification, new_deadline: date, reason: str) -> Rectification:
    RectificationExtension.objects.create(rectification=rect, old_deadline=rect.deadline, new_deadline=new_deadline,
                                          reason=reason, extended_by=actor, extended_at=timezone.now())
    old = rect.deadline
    rect.deadline = new_deadline
    rect.save(update_fields=["deadline"])
    audit(actor=actor, action=A.STATE, unit=rect.community, obj=rect, verb="extend",
          changes={"deadline": [old, new_deadline], "reason": reason})
    return rect


@transaction.atomic
def inspection_close(*, actor, inspection: Inspection) -> Inspection:
    """Close an inspection and carry its consequences: open, extend or confirm (销号) the
    place's rectification and set the place's status — only when it is the place's latest."""
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    require(actor, inspection, CHANGE)
    if inspection.is_closed:
        raise ServiceError("该检查记录已经办结")
    inspection.state = Inspection.State.CLOSED
    inspection.closed_at = timezone.now()
    inspection.save(update_fields=["state", "closed_at"])
    audit(actor=actor, action=A.STATE, unit=inspection.community, obj=inspection, verb="close",
          changes={"state": ["open", "closed"]})
    _consequences(actor, inspection)
    return inspection


OPEN, EXTEND, CONFIRM = "open", "extend", "confirm"
EXTEND_REASON = "复查仍有散煤，重新限期整改"


def transition(*, status: str, open_deadline: date | None, inspection: Inspection) -> tuple[str, str | None]:
    """The one rule of what a closed inspection does to its place: the place's new status and
    what happens to its rectification (``open``, ``extend``, ``confirm`` or nothing).
    ``open_deadline`` is the deadline of the place's open rectification, if any."""
    S = Place.Status
    if inspection.coal_present:
        if inspection.rectification_ordered:
            if open_deadline is None:
                return S.RECTIFYING, OPEN
            return S.RECTIFYING, EXTEND if inspection.rectification_deadline > open_deadline else None
        return (S.RECTIFYING if open_deadline else S.PROBLEM), None
    if open_deadline is not None:
        return S.RECTIFIED, CONFIRM
    if status in (S.PROBLEM, S.RECTIFIED, S.RECTIFYING):
        return S.RECTIFIED, None
    if status == S.CLOSED_DOWN:
        return S.CLOSED_DOWN, None
    return S.CLEAN, None


def _confirm(actor, rect: Rectification, inspection: Inspection) -> None:
    rect.status = Rectification.Status.CLOSED
    rect.closed_by = inspection
    rect.closed_at = timezone.now()
    rect.save(update_fields=["status", "closed_by", "closed_at"])
    audit(actor=actor, action=A.STATE, unit=rect.community, obj=rect, verb="confirm",
          changes={"status": ["open", "closed"], "inspection": inspection.pk})
    todo_close(source=rect, kind=TODO_RECTIFICATION)


def _consequences(actor, inspection: Inspection) -> None:
    place = Place.objects.select_for_update().get(pk=inspection.place_id)
    later = Inspection.objects.filter(place=place, state=Inspection.State.CLOSED).exclude(pk=inspection.pk).filter(
        Q(inspected_at__gt=inspection.inspected_at)).exists()
    if later:
        return  # a back-dated record joins the ledger but does not overturn a newer finding
    rect = Rectification.objects.select_for_update().filter(place=place, status=Rectification.Status.OPEN).first()
    before = place.status
    status, action = transition(status=before, open_deadline=rect.deadline if rect else None, inspection=inspection)
    if action == OPEN:
        _open_rectification(actor, inspection, place)
    elif action == EXTEND:
        _extend(actor, rect, inspection.rectification_deadline, EXTEND_REASON)
    elif action == CONFIRM:
        _confirm(actor, rect, inspection)
    if status != before:
        place.status = status
        place.save(update_fields=["status"])
        audit(actor=actor, action=A.STATE, unit=place.community, obj=place, verb="inspected",
              changes={"status": [before, status], "inspection": inspection.pk})


def _rectification_todos(place: Place, rect: Rectification) -> None:
    from django.urls import reverse
    for officer in street_officers_of(place.community):
        todo_open(user=officer, kind=TODO_RECTIFICATION, title=f"散煤整改复查：{place.name}（期限 {rect.deadline}）",
                  source=rect, url=reverse("coal:place", args=[place.pk]), unit=place.community,
                  due_date=rect.deadline)


@transaction.atomic
def ledger_import(*, actor, rows: list[dict]) -> list[Inspection]:
    """Bring an existing paper/Excel ledger in: past inspections (no back-dating window — they
    are history, marked as imported), closed, with their consequences applied in date order by
    the same ``transition`` rule; all or nothing, in bulk, one audit event per record changed.
    Each row: ``place``, ``inspected_at``, ``inspector_name`` and the findings."""
    prepared, checked = [], set()
    for number, row in enumerate(rows, start=1):
        place = row["place"]
        if place.pk not in checked:
            require(actor, place, CHANGE)
            checked.add(place.pk)
        at = row.get("inspected_at")
        if not isinstance(at, datetime):
            raise ServiceError(f"第 {number} 行：检查时间格式不正确", fields={"inspected_at": "格式不正确"})
        if timezone.is_naive(at):
            at = timezone.make_aware(at)
        if at > timezone.now():
            raise ServiceError(f"第 {number} 行：检查时间不能晚于现在", fields={"inspected_at": "不能晚于现在"})
        try:
            cleaned = clean_findings(row, inspected_on=timezone.localdate(at))
        except ServiceError as e:
            raise ServiceError(f"第 {number} 行：{e.message}", fields=e.fields) from None
        name = _text(row.get("inspector_name"), field="inspector_name", label="检查人", max_length=50)
        prepared.append((at, place.pk, name, cleaned))
    if not prepared:
        return []
    prepared.sort(key=lambda item: (item[0], item[1]))
    places = {p.pk: p for p in Place.objects.select_for_update().filter(pk__in=checked).select_related("community")}
    # a newer closed record already in the ledger keeps its say over older imported ones
    latest = dict(Inspection.objects.filter(place_id__in=checked, state=Inspection.State.CLOSED)
                  .values("place_id").annotate(at=models.Max("inspected_at")).values_list("place_id", "at"))
    open_rects = {r.place_id: r for r in Rectification.objects.select_for_update().filter(
        place_id__in=checked, status=Rectification.Status.OPEN)}
    now = timezone.now()
    inspections = Inspection.objects.bulk_create([
        Inspection(place_id=pk, street_id=places[pk].street_id, community_id=places[pk].community_id,
                   inspector=actor, inspector_name=name, inspected_at=at, state=Inspection.State.CLOSED,
                   closed_at=now, imported=True, **cleaned)
        for at, pk, name, cleaned in prepared], batch_size=500)
    entries = [Entry(action=A.IMPORT, unit=places[i.place_id].community, obj=i,
                     object_repr=f"{places[i.place_id].name} {timezone.localdate(i.inspected_at)}",
                     changes={"place": i.place_id, "inspected_at": i.inspected_at.isoformat(),
                              "inspector_name": i.inspector_name, **{k: getattr(i, k) for k in FINDING_FIELDS}})
               for i in inspections]
    before = {pk: p.status for pk, p in places.items()}
    created: list[Rectification] = []
    confirmed: list[tuple[Rectification, Inspection]] = []
    extended: list[tuple[Rectification, date, date]] = []
    for inspection in inspections:
        if latest.get(inspection.place_id) and latest[inspection.place_id] > inspection.inspected_at:
            continue
        place = places[inspection.place_id]
        rect = open_rects.get(place.pk)
        place.status, action = transition(status=place.status, open_deadline=rect.deadline if rect else None,
                                          inspection=inspection)
        if action == OPEN:
            rect = Rectification(place=place, street_id=place.street_id, community=place.community,
                                 opened_by=inspection, opened_on=timezone.localdate(inspection.inspected_at),
                                 deadline=inspection.rectification_deadline,
                                 original_deadline=inspection.rectification_deadline)
            created.append(rect)
            open_rects[place.pk] = rect
        elif action == EXTEND:
            extended.append((rect, rect.deadline, inspection.rectification_deadline))
            rect.deadline = inspection.rectification_deadline
        elif action == CONFIRM:
            rect.status, rect.closed_by, rect.closed_at = Rectification.Status.CLOSED, inspection, now
            confirmed.append((rect, inspection))
            del open_rects[place.pk]
    existing = {id(r) for r in created}
    Rectification.objects.bulk_create(created, batch_size=500)
    for rect in {id(r): r for r, *_ in extended + confirmed if id(r) not in existing}.values():
        rect.save(update_fields=["status", "closed_by", "closed_at", "deadline"])  # a rectification opened earlier
    RectificationExtension.objects.bulk_create([
        RectificationExtension(rectification=rect, old_deadline=old, new_deadline=new, reason=EXTEND_REASON,
                               extended_by=actor, extended_at=now) for rect, old, new in extended])
    entries += [Entry(action=A.CREATE, unit=r.community, obj=r,
                      changes={"place": r.place_id, "deadline": r.original_deadline, "inspection": r.opened_by_id})
                for r in created]
    entries += [Entry(action=A.STATE, unit=r.community, obj=r, verb="extend",
                      changes={"deadline": [old, new], "reason": EXTEND_REASON}) for r, old, new in extended]
    entries += [Entry(action=A.STATE, unit=r.community, obj=r, verb="confirm",
                      changes={"status": ["open", "closed"], "inspection": i.pk}) for r, i in confirmed]
    changed = [p for pk, p in places.items() if p.status != before[pk]]
    Place.objects.bulk_update(changed, ["status"], batch_size=500)
    entries += [Entry(action=A.STATE, unit=p.community, obj=p, verb="imported",
                      changes={"status": [before[p.pk], p.status]}) for p in changed]
    audit_many(actor=actor, entries=entries)
    for rect, _inspection in confirmed:
        if id(rect) not in existing:
            todo_close(source=rect, kind=TODO_RECTIFICATION)
    for rect in created:
        if rect.status == Rectification.Status.OPEN:
            _rectification_todos(places[rect.place_id], rect)
    return inspections


@transaction.atomic
def inspection_correct(*, actor, inspection: Inspection, findings: dict, reason: str) -> InspectionCorrection:
    """Correct a closed inspection: the values before and after are kept (the first correction's
    ``before`` is the original) and audited. Fields that drove the workflow cannot be flipped."""
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    require(actor, inspection, CHANGE)
    if not inspection.is_closed:
        raise ServiceError("未办结的检查记录可以直接修改，无需更正")
    reason = _text(reason, field="reason", label="更正原因", max_length=200, required=True)
    merged = {**_snapshot(inspection, FINDING_FIELDS), **findings}
    cleaned = clean_findings(merged, inspected_on=timezone.localdate(inspection.inspected_at))
    before = _snapshot(inspection, FINDING_FIELDS)
    changes = diff(before, cleaned)
    if not changes:
        raise ServiceError("没有需要更正的内容")
    flipped = sorted(WORKFLOW_FIELDS & set(changes))
    if flipped:
        raise ServiceError("是否发现散煤、整改通知和期限已触发后续流程，不能更正；请重新检查并记录",
                           fields={name: "不能更正" for name in flipped})
    for key, value in cleaned.items():
        setattr(inspection, key, value)
    inspection.save()
    correction = InspectionCorrection.objects.create(
        inspection=inspection, corrected_by=actor, corrected_at=timezone.now(), reason=reason,
        before={k: str(v) if v is not None else None for k, v in before.items() if k in changes},
        after={k: str(v) if v is not None else None for k, v in cleaned.items() if k in changes})
    audit(actor=actor, action=A.UPDATE, unit=inspection.community, obj=inspection, verb="correct",
          changes={**changes, "reason": reason, "correction": correction.pk})
    return correction


# --- photos --------------------------------------------------------------------------------

def read_image(upload) -> tuple[bytes, str, str]:
    """The bytes of an uploaded photo, checked: at most the size limit and really a JPEG or a
    PNG (by its first bytes, not its name); with its content type and SHA-256."""
    size = getattr(upload, "size", None)
    limit = photo_max_bytes()
    if size is not None and size > limit:
        raise ServiceError(f"照片不能超过 {limit // (1024 * 1024)} MB", fields={"photo": "文件过大"})
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ServiceError(f"照片不能超过 {limit // (1024 * 1024)} MB", fields={"photo": "文件过大"})
    content_type = next((kind for magic, kind in PHOTO_TYPES.items() if data.startswith(magic)), None)
    if content_type is None:
        raise ServiceError("只能上传 JPEG 或 PNG 格式的照片", fields={"photo": "只能上传 JPEG 或 PNG 照片"})
    return data, content_type, hashlib.sha256(data).hexdigest()


def store_image(folder: str, data: bytes, content_type: str, sha256: str) -> str:
    """Save under MEDIA_ROOT/<folder>/<sha256>.<ext>; content-addressed, so a retry after a
    rolled-back transaction reuses the file instead of piling up copies."""
    name = f"{folder}/{sha256}{'.png' if content_type == 'image/png' else '.jpg'}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    return name


@transaction.atomic
def photo_add(*, actor, inspection: Inspection, upload, taken_at=None) -> Photo:
    """Attach a JPEG/PNG photo (≤ 10 MB) with its SHA-256. Allowed while the inspection is open,
    or within the back-dating window after it (a phone uploads after recording); the same
    picture twice is the same photo."""
    require(actor, inspection, CHANGE)
    if inspection.is_closed and timezone.localdate(inspection.inspected_at) < today() - timedelta(
            days=backdate_days()):
        raise ServiceError("该检查记录已办结且超过补录期限，不能再添加照片")
    data, content_type, sha256 = read_image(upload)
    existing = Photo.objects.filter(inspection=inspection, sha256=sha256).first()
    if existing is not None:
        return existing
    if taken_at in (None, ""):
        taken_at = inspection.inspected_at
    elif isinstance(taken_at, str):
        try:
            taken_at = datetime.fromisoformat(taken_at)
        except ValueError:
            raise ServiceError("拍摄时间格式不正确", fields={"taken_at": "格式不正确"}) from None
    if timezone.is_naive(taken_at):
        taken_at = timezone.make_aware(taken_at)
    if taken_at > timezone.now() + timedelta(minutes=10):
        raise ServiceError("拍摄时间不能晚于现在", fields={"taken_at": "不能晚于现在"})
    photo = Photo(inspection=inspection, sha256=sha256, size=len(data), content_type=content_type,
                  taken_at=taken_at, uploaded_by=actor)
    photo.file.name = store_image(f"coal/{inspection.pk}", data, content_type, sha256)
    photo.save()
    audit(actor=actor, action=A.CREATE, unit=inspection.community, obj=photo, object_repr=f"照片 {sha256[:12]}",
          changes={"inspection": inspection.pk, "sha256": sha256, "size": len(data), "taken_at": taken_at})
    return photo


# --- rectifications -----------------------------------------------------------------------

@transaction.atomic
def rectification_extend(*, actor, rectification: Rectification, new_deadline, reason: str) -> Rectification:
    rect = Rectification.objects.select_for_update().get(pk=rectification.pk)
    require(actor, rect, CHANGE)
    if rect.status != Rectification.Status.OPEN:
        raise ServiceError("该整改已销号，不能延期")
    new_deadline = _as_date(new_deadline, field="new_deadline", label="新期限")
    if new_deadline is None or new_deadline <= rect.deadline:
        raise ServiceError("新期限应晚于原期限", fields={"new_deadline": "应晚于原期限"})
    if new_deadline > today() + timedelta(days=366):
        raise ServiceError("新期限不能超过一年", fields={"new_deadline": "不能超过一年"})
    reason = _text(reason, field="reason", label="延期原因", max_length=200, required=True)
    return _extend(actor, rect, new_deadline, reason)


# --- look-back campaigns (回头看) -----------------------------------------------------------

def campaign_places(*, district: OrgUnit, streets, mode: str, cutoff: date | None, kinds=()):
    """The places a look-back re-inspects.

    ``problems``: every place whose ledger shows a problem live at any time since ``cutoff``:
    a closed inspection found coal on or after the cut-off, or the place's latest closed
    inspection before the cut-off found coal (the problem was not yet fixed at the cut-off).
    A place fixed before the cut-off (its latest earlier inspection clean) is not picked.
    ``kinds``: every place of the given kinds. Both within the given streets."""
    places = Place.objects.filter(street__in=streets)
    if mode == Campaign.Mode.KINDS:
        return places.filter(kind__in=list(kinds))
    start = day_start(cutoff)
    closed = Inspection.objects.filter(state=Inspection.State.CLOSED)
    found_since = closed.filter(coal_present=True, inspected_at__gte=start).values("place_id")
    last_before = closed.filter(place=OuterRef("pk"), inspected_at__lt=start).order_by("-inspected_at", "-pk")
    return places.annotate(open_at_cutoff=Subquery(last_before.values("coal_present")[:1])).filter(
        Q(pk__in=found_since) | Q(open_at_cutoff=True))


def _summary(inspection: Inspection | None) -> str:
    if inspection is None:
        return "无检查记录"
    day = timezone.localdate(inspection.inspected_at)
    if not inspection.coal_present:
        return f"{day} 检查未发现散煤"
    return (f"{day} 发现{inspection.get_coal_kind_display()} {inspection.quantity_kg} 公斤；"
            f"{inspection.actions_label()}")[:200]


def outcome_of(*, earlier_problem: bool, now_problem: bool) -> str:
    """Compare a re-inspection with the earlier finding."""
    outcome = CampaignTask.Outcome
    if earlier_problem:
        return outcome.STILL_PROBLEM if now_problem else outcome.CLEAN_NOW
    return outcome.NEW_PROBLEM if now_problem else outcome.STILL_CLEAN


@transaction.atomic
def campaign_launch(*, actor, district: OrgUnit, title: str, period_start, period_end, mode: str,
                    cutoff=None, kinds=(), streets=()) -> Campaign:
    require_office(actor, district, action_label="发起回头看")
    title = _text(title, field="title", label="名称", max_length=100, required=True)
    period_start = _as_date(period_start, field="period_start", label="开始日期")
    period_end = _as_date(period_end, field="period_end", label="结束日期")
    if period_start is None or period_end is None:
        raise ServiceError("请填写开始和结束日期", fields={"period_start": "请填写", "period_end": "请填写"})
    if period_end < period_start:
        raise ServiceError("结束日期不能早于开始日期", fields={"period_end": "不能早于开始日期"})
    if mode not in Campaign.Mode.values:
        raise ServiceError("请选择复查范围", fields={"mode": "请选择复查范围"})
    cutoff = _as_date(cutoff, field="cutoff", label="问题起算日")
    kinds = list(kinds or [])
    if mode == Campaign.Mode.PROBLEMS:
        if cutoff is None:
            raise ServiceError("请填写问题起算日", fields={"cutoff": "请填写问题起算日"})
        if cutoff > today():
            raise ServiceError("问题起算日不能晚于今天", fields={"cutoff": "不能晚于今天"})
        kinds = []
    else:
        if not kinds or any(k not in Place.Kind.values for k in kinds):
            raise ServiceError("请选择点位类型", fields={"kinds": "请选择点位类型"})
        cutoff = None
    all_streets = OrgUnit.objects.filter(parent=district, kind=OrgUnit.Kind.STREET, retired_at__isnull=True)
    chosen = list(streets or [])
    if chosen:
        ids = {getattr(s, "pk", s) for s in chosen}
        scope = list(all_streets.filter(pk__in=ids).order_by("path"))
        if len(scope) != len(ids):
            raise ServiceError("所选街道不属于本区", fields={"streets": "所选街道不属于本区"})
    else:
        scope = list(all_streets.order_by("path"))
    places = list(campaign_places(district=district, streets=scope, mode=mode, cutoff=cutoff, kinds=kinds)
                  .order_by("street_id", "community_id", "pk"))
    if not places:
        raise ServiceError("按所选范围没有需要复查的点位")
    campaign = Campaign.objects.create(district=district, title=title, period_start=period_start,
                                       period_end=period_end, mode=mode, cutoff=cutoff, kinds=kinds,
                                       launched_by=actor, launched_at=timezone.now())
    campaign.streets.set(scope)
    closed = Inspection.objects.filter(place__in=[p.pk for p in places], state=Inspection.State.CLOSED)
    if mode == Campaign.Mode.PROBLEMS:
        closed = closed.filter(coal_present=True)
    latest: dict[int, Inspection] = {}
    for insp in closed.order_by("place_id", "-inspected_at", "-pk"):
        latest.setdefault(insp.place_id, insp)
    tasks = [CampaignTask(campaign=campaign, place=p, street_id=p.street_id, community_id=p.community_id,
                          earlier=latest.get(p.pk), earlier_problem=bool(latest.get(p.pk) and latest[p.pk].coal_present),
                          earlier_summary=_summary(latest.get(p.pk))) for p in places]
    CampaignTask.objects.bulk_create(tasks, batch_size=500)
    created = list(CampaignTask.objects.filter(campaign=campaign).select_related("community"))
    entries = [Entry(action=A.CREATE, unit=district, obj=campaign,
                     changes={"title": title, "mode": mode, "cutoff": cutoff, "kinds": kinds,
                              "period": [period_start, period_end], "streets": [s.pk for s in scope],
                              "tasks": len(created)})]
    entries += [Entry(action=A.CREATE, unit=t.community, obj=t, object_repr=f"{title} · 点位 {t.place_id}",
                      changes={"campaign": campaign.pk, "place": t.place_id, "earlier": t.earlier_id})
                for t in created]
    audit_many(actor=actor, entries=entries)
    from django.urls import reverse
    by_street: dict[int, int] = {}
    for t in created:
        by_street[t.street_id] = by_street.get(t.street_id, 0) + 1
    for street in scope:
        if street.pk not in by_street:
            continue
        for officer in street_officers_of(street):
            todo_open(user=officer, kind=TODO_CAMPAIGN, title=f"回头看「{title}」：{by_street[street.pk]} 个点位待复查",
                      source=campaign, url=reverse("coal:campaign", args=[campaign.pk]), unit=street,
                      due_date=period_end)
    return campaign


@transaction.atomic
def campaign_close(*, actor, campaign: Campaign) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    require(actor, campaign, CHANGE)
    if campaign.status == Campaign.Status.CLOSED:
        raise ServiceError("该回头看已结束")
    campaign.status = Campaign.Status.CLOSED
    campaign.save(update_fields=["status"])
    pending = campaign.tasks.filter(status=CampaignTask.Status.PENDING).count()
    audit(actor=actor, action=A.STATE, unit=campaign.district, obj=campaign, verb="close",
          changes={"status": ["open", "closed"], "pending": pending})
    todo_close(source=campaign, kind=TODO_CAMPAIGN)
    return campaign


def _assignable(user, task: CampaignTask) -> bool:
    return Membership.objects.filter(
        user=user, user__is_active=True, role=Role.STREET_OFFICER,
        org_unit__path__in=[p for p in _prefixes(task.community.path)]).exists()


def _prefixes(path: str) -> list[str]:
    ids = [p for p in path.split("/") if p]
    return ["/" + "/".join(ids[:i]) + "/" for i in range(1, len(ids) + 1)]


@transaction.atomic
def task_assign(*, actor, task: CampaignTask, assignee) -> CampaignTask:
    task = CampaignTask.objects.select_for_update().select_related("community").get(pk=task.pk)
    require(actor, task, CHANGE)
    if task.status != CampaignTask.Status.PENDING:
        raise ServiceError("该任务已复查，不能再分派")
    if assignee is not None and not _assignable(assignee, task):
        raise ServiceError("只能分派给本街道的工作人员", fields={"assignee": "只能分派给本街道的工作人员"})
    before = task.assignee_id
    if before == getattr(assignee, "pk", None):
        return task  # already so (a double submit): nothing to change or audit
    task.assignee = assignee
    task.save(update_fields=["assignee"])
    audit(actor=actor, action=A.UPDATE, unit=task.community, obj=task, verb="assign",
          changes={"assignee": [before, getattr(assignee, "pk", None)]})
    return task


@transaction.atomic
def task_record(*, actor, task: CampaignTask, inspected_at, findings: dict, photos=(),
                client_id=None) -> CampaignTask:
    """Record a look-back re-inspection: an inspection of the place (closed at once, with all
    its consequences), compared with the earlier finding."""
    task = CampaignTask.objects.select_for_update().select_related("campaign", "place", "community").get(pk=task.pk)
    require(actor, task, CHANGE)
    if client_id and task.status == CampaignTask.Status.DONE and task.result and task.result.client_id:
        try:
            same_id = task.result.client_id == uuid.UUID(str(client_id))
        except ValueError:
            same_id = False
        if same_id:  # a retry of the request that completed it: the same content, or a 409
            at = _parse_at(inspected_at)  # no window check: the first request passed it
            cleaned = clean_findings(findings, inspected_on=timezone.localdate(at))
            _replay(task.result.client_id, _content_hash(place=task.place, inspected_at=at, findings=cleaned,
                                                         task_id=task.pk))
            return task
    if task.status == CampaignTask.Status.DONE:
        raise ServiceError("该点位已复查")
    if task.campaign.status != Campaign.Status.OPEN:
        raise ServiceError("该回头看已结束，不能再录入复查结果")
    inspection, _created = inspection_record(actor=actor, place=task.place, inspected_at=inspected_at,
                                             findings=findings, close=True, client_id=client_id, photos=photos,
                                             task_id=task.pk)
    if CampaignTask.objects.filter(result=inspection).exists():
        raise Conflict("该检查记录已用于另一复查任务")
    task.result = inspection
    task.status = CampaignTask.Status.DONE
    task.outcome = outcome_of(earlier_problem=task.earlier_problem, now_problem=inspection.coal_present)
    task.done_at = timezone.now()
    task.save(update_fields=["result", "status", "outcome", "done_at"])
    audit(actor=actor, action=A.STATE, unit=task.community, obj=task, verb="record",
          changes={"status": ["pending", "done"], "outcome": task.outcome, "inspection": inspection.pk})
    left = CampaignTask.objects.filter(campaign=task.campaign, street_id=task.street_id,
                                       status=CampaignTask.Status.PENDING).exists()
    if not left:
        for officer in street_officers_of(task.street):
            todo_close(source=task.campaign, kind=TODO_CAMPAIGN, user=officer)
    return task


# --- notices and coverage -------------------------------------------------------------------

def _count(value, *, field: str, label: str, minimum: int = 1) -> int:
    try:
        number = int(personal.fold(value))
    except (TypeError, ValueError):
        raise ServiceError(f"{label}应为整数", fields={field: "应为整数"}) from None
    if number < minimum or number > 1_000_000:
        raise ServiceError(f"{label}应在 {minimum} 到 1000000 之间", fields={field: f"应在 {minimum} 到 1000000 之间"})
    return number


@transaction.atomic
def batch_receive(*, actor, district: OrgUnit, title: str, count, source: str, received_on) -> NoticeBatch:
    require_office(actor, district, action_label="登记通告")
    title = _text(title, field="title", label="通告标题", max_length=200, required=True)
    source = _text(source, field="source", label="来文单位", max_length=100, required=True)
    count = _count(count, field="count", label="份数")
    received_on = _as_date(received_on, field="received_on", label="收到日期")
    if received_on is None or received_on > today():
        raise ServiceError("收到日期不能晚于今天", fields={"received_on": "不能晚于今天"})
    batch = NoticeBatch.objects.create(district=district, title=title, count=count, source=source,
                                       received_on=received_on, created_by=actor)
    audit(actor=actor, action=A.CREATE, unit=district, obj=batch,
          changes={"title": title, "count": count, "source": source, "received_on": received_on})
    return batch


@transaction.atomic
def allocation_set(*, actor, batch: NoticeBatch, street: OrgUnit, count) -> NoticeAllocation:
    """Give ``street`` ``count`` copies of the batch (replacing what it had). The batch row is
    locked, so two allocations at once can never exceed the batch together."""
    batch = NoticeBatch.objects.select_for_update().select_related("district").get(pk=batch.pk)
    require_office(actor, batch.district, action_label="分配通告")
    if street.kind != OrgUnit.Kind.STREET or street.parent_id != batch.district_id:
        raise ServiceError("只能分配给本区的街道", fields={"street": "只能分配给本区的街道"})
    count = _count(count, field="count", label="分配份数", minimum=0)
    others = (NoticeAllocation.objects.filter(batch=batch).exclude(street=street)
              .aggregate(n=Sum("count"))["n"] or 0)
    if others + count > batch.count:
        left = batch.count - others
        raise ServiceError(f"超出批次总数：本批共 {batch.count} 份，其他街道已分 {others} 份，最多还能分给该街道 {left} 份",
                           fields={"count": f"最多 {left} 份"})
    allocation = NoticeAllocation.objects.select_for_update().filter(batch=batch, street=street).first()
    if allocation is not None:
        posted = allocation.postings.aggregate(n=Sum("count"))["n"] or 0
        if count < posted:
            raise ServiceError(f"该街道已张贴 {posted} 份，分配数不能少于已张贴数", fields={"count": f"不能少于 {posted}"})
        before = allocation.count
        if before == count:
            return allocation
        allocation.count = count
        allocation.save(update_fields=["count"])
        audit(actor=actor, action=A.UPDATE, unit=street, obj=allocation, object_repr=f"{batch.title} → {street.name}",
              changes={"count": [before, count]})
    else:
        allocation = NoticeAllocation.objects.create(batch=batch, street=street, count=count)
        audit(actor=actor, action=A.CREATE, unit=street, obj=allocation, object_repr=f"{batch.title} → {street.name}",
              changes={"batch": batch.pk, "count": count})
    return allocation


@transaction.atomic
def posting_record(*, actor, allocation: NoticeAllocation, unit: OrgUnit, count, location: str,
                   posted_on, photo=None) -> NoticePosting:
    """Record copies posted in a community or courtyard of the allocation's street. The
    allocation row is locked, so postings together never exceed what the street was given."""
    allocation = NoticeAllocation.objects.select_for_update().select_related("street", "batch").get(pk=allocation.pk)
    if unit is None or unit.kind not in (OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.COURTYARD):
        raise ServiceError("请选择社区或楼院", fields={"unit": "请选择社区或楼院"})
    require_street_unit(actor, unit, action_label="登记张贴")
    if not unit.path.startswith(allocation.street.path):
        raise ServiceError("只能在本街道的社区或楼院张贴", fields={"unit": "不在该街道"})
    count = _count(count, field="count", label="张贴份数")
    location = _text(location, field="location", label="张贴位置", max_length=100, required=True)
    posted_on = _as_date(posted_on, field="posted_on", label="张贴日期")
    if posted_on is None or posted_on > today():
        raise ServiceError("张贴日期不能晚于今天", fields={"posted_on": "不能晚于今天"})
    posted = allocation.postings.aggregate(n=Sum("count"))["n"] or 0
    if posted + count > allocation.count:
        left = allocation.count - posted
        raise ServiceError(f"超出分配数：街道共分得 {allocation.count} 份，已张贴 {posted} 份，还剩 {left} 份",
                           fields={"count": f"最多 {left} 份"})
    posting = NoticePosting(allocation=allocation, batch=allocation.batch, street=allocation.street, unit=unit,
                            count=count, location=location, posted_on=posted_on, posted_by=actor)
    if photo is not None:
        data, content_type, posting.photo_sha256 = read_image(photo)
        posting.photo_type = content_type
        posting.photo.name = store_image(f"coal/notices/{allocation.batch_id}", data, content_type,
                                         posting.photo_sha256)
    posting.save()
    audit(actor=actor, action=A.CREATE, unit=unit, obj=posting, object_repr=f"{allocation.batch.title} @ {unit.name}",
          changes={"allocation": allocation.pk, "count": count, "location": location, "posted_on": posted_on,
                   "photo_sha256": posting.photo_sha256})
    return posting


# --- weekly periodic report ---------------------------------------------------------------------

@transaction.atomic
def weekly_report_submit(*, actor, street: OrgUnit, week_start: date):
    """A street confirms its week as the ledger shows it and reports it upward (core periodic
    report; resubmitting replaces the week's report). Audited once, by the core."""
    from govdesk.core.periods import period_start_of
    from govdesk.core.services import report_submit

    from . import queries
    if street.kind != OrgUnit.Kind.STREET:
        raise ServiceError("周报由街道报送", fields={"street": "请选择街道"})
    require_street_unit(actor, street, action_label="报送周报")
    if week_start != period_start_of("week", week_start):
        raise ServiceError("周报的开始日期应为星期一", fields={"week": "应为星期一"})
    if week_start > today():
        raise ServiceError("该周尚未开始", fields={"week": "该周尚未开始"})
    data = queries.weekly_summary(actor, street, week_start)
    return report_submit(actor=actor, kind=queries.weekly_kind(), unit=street, period_start=week_start, data=data)


# --- tables: rows of an Excel import (govdesk/core/tables, declared in imports.py) -------------

class RowRefused(Exception):
    """One row of an import refused by its service: ``message`` and the column key at fault."""

    def __init__(self, message: str, column: str = ""):
        super().__init__(message)
        self.message, self.column = message, column


def _refusal(error: ServiceError) -> RowRefused:
    return RowRefused(error.message, next(iter(error.fields or {}), ""))


def _chunked(values, size: int = 400):
    values = sorted(values, key=str)
    return [values[i:i + size] for i in range(0, len(values), size)]


def _places_named(community_ids, names) -> dict[tuple[int, str], list[Place]]:
    """Places of the given communities with the given names, by (community, name)."""
    found: dict[tuple[int, str], list[Place]] = {}
    for chunk in _chunked(set(names)):
        for place in Place.objects.filter(community_id__in=sorted(community_ids), name__in=chunk).select_related(
                "community"):
            found.setdefault((place.community_id, place.name), []).append(place)
    return found


def _changeable(model, actor, ids) -> set[int]:
    allowed: set[int] = set()
    for chunk in _chunked(set(ids)):
        allowed.update(model.objects.restrict(actor, CHANGE).filter(pk__in=chunk).values_list("pk", flat=True))
    return allowed


def _import_phone(raw, existing: Place | None) -> str | None:
    """The phone of an imported row: None keeps the stored number (a blank cell, or the masked
    number an export wrote for this very place), else the cleaned number."""
    raw = (raw or "").strip()
    if not raw:
        return None if existing is not None else ""
    if "*" in raw:
        if existing is not None and personal.fold(raw) == existing.contact_phone_masked:
            return None
        raise RowRefused("联系电话不完整（导出的表格隐去了号码中间四位），请填写完整号码", "contact_phone")
    try:
        return personal.clean_phone(raw)
    except ValidationError as e:
        raise RowRefused("；".join(e.messages), "contact_phone") from None


@transaction.atomic
def place_import_rows(*, actor, rows: list[dict]) -> list:
    """Places from a spreadsheet (the ``coal-places`` table): create a place, or update an
    existing one found by (社区, 名称, 地址). Per row the answer is ``"created"``, ``"updated"``,
    ``"unchanged"`` or a ``RowRefused`` (nothing written for that row). In bulk, one audit
    event per place created or changed.

    Each row: ``community`` (OrgUnit), ``name``, ``kind``, ``address``, ``contact_name``,
    ``contact_phone``, ``status``. A blank contact keeps what is stored. ``status`` is taken for
    a new place only (an existing place's status follows its inspections); 整改中 needs a
    rectification with a deadline, so it comes from the ledger, not from a list of places."""
    outcomes: list = [None] * len(rows)
    communities = {row["community"].pk: row["community"] for row in rows}
    allowed_units: set[int] = set()
    for community in communities.values():
        try:
            if community.kind != OrgUnit.Kind.COMMUNITY:
                raise ServiceError("请填写点位所在的社区")
            require_street_unit(actor, community, action_label="导入点位")
            allowed_units.add(community.pk)
        except (ServiceError, NotInReach, Forbidden):
            pass
    existing_by_name = _places_named(allowed_units, [(row.get("name") or "").strip() for row in rows])
    existing = {(p.community_id, p.name, p.address): p for group in existing_by_name.values() for p in group}
    changeable = _changeable(Place, actor, [p.pk for p in existing.values()])
    created: list[Place] = []
    updated: list[Place] = []
    entries: list[tuple[str, Place, dict]] = []
    for i, row in enumerate(rows):
        community = row["community"]
        try:
            if community.pk not in allowed_units:
                raise RowRefused(f"社区「{community.name}」不在您可以登记点位的范围内", "community")
            fields = _place_fields(name=row.get("name"), kind=row.get("kind"), address=row.get("address"),
                                   contact_name=row.get("contact_name") or "", contact_phone="")
            place = existing.get((community.pk, fields["name"], fields["address"]))
            phone = _import_phone(row.get("contact_phone"), place)
            if place is None:
                status = row.get("status") or Place.Status.CLEAN
                if status == Place.Status.RECTIFYING:
                    raise RowRefused("新点位不能直接设为“整改中”：请导入含整改期限的检查台账，整改会随之建立", "status")
                place = Place(street_id=community.parent_id, community=community, status=status, **fields)
                place.contact_phone_enc = personal.encrypt(phone) if phone else ""
                place.contact_phone_masked = personal.mask_phone(phone)
                created.append(place)
                outcomes[i] = "created"
                continue
            if place.pk not in changeable:
                raise RowRefused("该点位不在您的权限范围内", "name")
            before = _snapshot(place, PLACE_AUDITED)
            place.kind = fields["kind"]
            if fields["contact_name"]:
                place.contact_name = fields["contact_name"]
            phone_changed = phone is not None and phone != (personal.decrypt(place.contact_phone_enc)
                                                            if place.contact_phone_enc else "")
            if phone_changed:
                place.contact_phone_enc = personal.encrypt(phone)
                place.contact_phone_masked = personal.mask_phone(phone)
            changes = diff(before, _snapshot(place, PLACE_AUDITED))
            if phone_changed:  # the masks may read the same when only the middle digits changed
                changes.setdefault("contact_phone_masked", [before["contact_phone_masked"],
                                                            place.contact_phone_masked])
            if not changes:
                outcomes[i] = "unchanged"
                continue
            updated.append(place)
            entries.append((A.UPDATE, place, changes))
            outcomes[i] = "updated"
        except ServiceError as e:
            outcomes[i] = _refusal(e)
        except RowRefused as e:
            outcomes[i] = e
    Place.objects.bulk_create(created, batch_size=500)
    if updated:
        Place.objects.bulk_update(updated, ["kind", "contact_name", "contact_phone_enc", "contact_phone_masked"],
                                  batch_size=500)
    audit_many(actor=actor, entries=[
        *(Entry(action=A.CREATE, unit=p.community, obj=p, verb="import",
                changes={**_snapshot(p, PLACE_AUDITED), "community": p.community_id}) for p in created),
        *(Entry(action=action, unit=p.community, obj=p, verb="import", changes=changes)
          for action, p, changes in entries)])
    return outcomes


ACTION_WORDS = {
    "educated": ("教育", "宣传", "劝导", "告知"),
    "seized": ("收缴", "没收", "暂扣", "扣押", "查扣"),
    "rectification_ordered": ("整改",),
    "referred": ("移交", "执法", "立案"),
}
NO_ACTION = {"无", "/", "-", "—", "——", "无需处置"}
LEDGER_HOUR = 9  # a ledger keeps the day; its inspections are filed at 09:00 that day


def parse_actions(text: str | None) -> dict[str, bool]:
    """The flags of a ledger's 处置措施 cell (宣传教育、收缴、限期整改、移交执法, in any order
    and separated as people write them). Raises ``ValidationError`` for what it cannot read."""
    flags = dict.fromkeys(ACTION_WORDS, False)
    text = personal.fold(text or "")
    if not text or text in NO_ACTION:
        return flags
    for flag, words in ACTION_WORDS.items():
        flags[flag] = any(word in text for word in words)
    if not any(flags.values()):
        raise ValidationError(f"无法识别处置措施「{text}」：请填写宣传教育、收缴、限期整改、移交执法（可填多项）或“无”")
    return flags


def _ledger_findings(row: dict) -> dict:
    """A ledger row's findings, as ``clean_findings`` takes them: the flags from 处置措施; a
    收缴 without its own quantity seizes what was found; an 整改期限 means an order was given."""
    try:
        flags = parse_actions(row.get("actions"))
    except ValidationError as e:
        raise RowRefused("；".join(e.messages), "actions") from None
    deadline = row.get("rectification_deadline")
    seized_kg = row.get("seized_kg")
    if flags["seized"] and seized_kg is None:
        seized_kg = row.get("quantity_kg")
    return {"coal_present": bool(row.get("coal_present")), "coal_kind": row.get("coal_kind") or "",
            "quantity_kg": row.get("quantity_kg"), "source": row.get("source"), "storage": row.get("storage"),
            "used_by": row.get("used_by"), "educated": flags["educated"], "seized": flags["seized"],
            "seized_kg": seized_kg, "rectification_ordered": flags["rectification_ordered"] or deadline is not None,
            "rectification_deadline": deadline, "referred": flags["referred"], "note": row.get("note")}


def _ledger_place(row: dict, named: dict, changeable: set[int]) -> Place:
    community, name = row["community"], (row.get("name") or "").strip()
    address = (row.get("address") or "").strip()
    candidates = named.get((community.pk, name), [])
    if address:
        candidates = [p for p in candidates if p.address == address]
    if not candidates:
        where = f"（地址：{address}）" if address else ""
        raise RowRefused(f"「{community.name}」没有名为「{name}」{where}的点位，请先导入点位", "name")
    if len(candidates) > 1:
        raise RowRefused(f"「{community.name}」有 {len(candidates)} 个名为「{name}」的点位，请填写地址", "address")
    if candidates[0].pk not in changeable:
        raise RowRefused("该点位不在您的权限范围内", "name")
    return candidates[0]


def _same_findings(inspection: Inspection, cleaned: dict) -> bool:
    return all(getattr(inspection, name) == cleaned[name] for name in FINDING_FIELDS)


@transaction.atomic
def ledger_import_rows(*, actor, rows: list[dict]) -> list:
    """Past inspections from a street's ledger (the ``coal-ledger`` table), written through
    ``ledger_import`` (closed, marked as imported, consequences in date order). Per row:
    ``"created"``, ``"unchanged"`` (the place already has an inspection that day with the same
    findings — a second run of a file changes nothing) or a ``RowRefused``. An inspection
    already on file that day with other findings is refused: a closed inspection changes only
    by a correction that keeps the original, never by an import.

    Each row: ``community``, ``name``, ``address`` (needed when the name repeats in the
    community), ``inspected_on`` (date), ``inspector_name`` and the ledger columns
    (``coal_present``, ``coal_kind``, ``quantity_kg``, ``source``, ``storage``, ``used_by``,
    ``actions`` (处置措施 text), ``seized_kg``, ``rectification_deadline``, ``note``)."""
    outcomes: list = [None] * len(rows)
    community_ids = {row["community"].pk for row in rows}
    named = _places_named(community_ids, [(row.get("name") or "").strip() for row in rows])
    changeable = _changeable(Place, actor, [p.pk for group in named.values() for p in group])
    now = timezone.now()
    prepared: list[tuple[int, Place, date, datetime, dict, str]] = []
    for i, row in enumerate(rows):
        try:
            place = _ledger_place(row, named, changeable)
            day = row["inspected_on"]
            if day > timezone.localdate(now):
                raise RowRefused("检查日期不能晚于今天", "inspected_on")
            at = min(timezone.make_aware(datetime.combine(day, time(LEDGER_HOUR))), now)
            cleaned = clean_findings(_ledger_findings(row), inspected_on=day)
            name = _text(row.get("inspector_name"), field="inspector_name", label="检查人", max_length=50)
            prepared.append((i, place, day, at, cleaned, name))
        except ServiceError as e:
            outcomes[i] = _refusal(e)
        except RowRefused as e:
            outcomes[i] = e
    on_file: dict[tuple[int, date], list[Inspection]] = {}
    if prepared:
        first = day_start(min(day for _i, _p, day, *_ in prepared))
        last = day_start(max(day for _i, _p, day, *_ in prepared) + timedelta(days=1))
        for chunk in _chunked({place.pk for _i, place, *_ in prepared}):
            for inspection in Inspection.objects.filter(place_id__in=chunk, inspected_at__gte=first,
                                                        inspected_at__lt=last):
                on_file.setdefault((inspection.place_id, timezone.localdate(inspection.inspected_at)),
                                   []).append(inspection)
    new: list[tuple[int, dict]] = []
    seen: set[tuple[int, date]] = set()
    for i, place, day, at, cleaned, name in prepared:
        key = (place.pk, day)
        if key in seen:
            outcomes[i] = RowRefused(f"本文件中「{place.name}」{day} 的检查出现了不止一次", "inspected_on")
            continue
        seen.add(key)
        same_day = on_file.get(key, [])
        if any(_same_findings(inspection, cleaned) for inspection in same_day):
            outcomes[i] = "unchanged"
        elif same_day:
            outcomes[i] = RowRefused(f"「{place.name}」{day} 已有检查记录，内容与本行不同；"
                                     "已办结的检查记录只能在系统中提交更正", "inspected_on")
        else:
            new.append((i, {"place": place, "inspected_at": at, "inspector_name": name, **cleaned}))
            outcomes[i] = "created"
    if new:
        ledger_import(actor=actor, rows=[row for _i, row in new])
    return outcomes
