"""Every write of the veterans campaign: validate, change, check reach, audit — one transaction each."""

from __future__ import annotations

import json
import secrets
import uuid as uuidlib
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from govdesk.core import personal
from govdesk.core.audit import Entry, audit, audit_many
from govdesk.core.db import insert_objects, instance_factory
from govdesk.core.errors import Conflict, Forbidden, NotInReach, ServiceError
from govdesk.core.files import sniff_type
from govdesk.core.models import AuditEvent, OrgUnit
from govdesk.core.reach import CHANGE, OFFICERS, READ_ONLY_ROLES, VIEW, Role, require
from govdesk.core.services import todo_close, todo_open

from .models import (
    ACTIVE_APPOINTMENT,
    BRANCHES,
    DISCHARGE_TYPES,
    EDUCATIONS,
    ETHNICITIES,
    PLACEMENTS,
    POLITICAL_STATUSES,
    REVIEWERS,
    WORKERS,
    Appointment,
    Attachment,
    Category,
    ChangeRequest,
    CollectionPoint,
    ExpectedBase,
    Record,
    Slot,
    reach_paths,
)
from .progress import rollup_key, rollup_move

A = AuditEvent.Action
S = Record.Status
RETURNED_TODO = "veterans.returned"
CHANGE_TODO = "veterans.change_request"
ATTACHMENT_MAX_BYTES = getattr(settings, "VETERANS_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}  # core.files.FILE_TYPES

# Plain fields a record form, the API, an import row and a change request carry.
TEXT_FIELDS = {
    "name": 50, "ethnicity": 16, "household_address": 200, "residential_address": 200, "political_status": 16,
    "education": 16, "service_unit": 100, "branch": 16, "rank": 32, "discharge_type": 16, "placement": 16,
    "disability_nature": 4, "disability_certificate": 40, "awards": 2000, "family_link": 100, "employment": 32,
    "social_security": 32, "medical": 32, "housing": 32, "assistance": 100,
}
DATE_FIELDS = ("birth_date", "enlisted_on", "discharged_on")
PLAIN_FIELDS = ("name", "gender", "ethnicity", "birth_date", "household_address", "residential_address",
                "political_status", "education", "enlisted_on", "discharged_on", "service_unit", "branch", "rank",
                "discharge_type", "placement", "disability_grade", "disability_nature", "disability_certificate",
                "awards", "family_link", "employment", "social_security", "medical", "housing", "assistance")
CHOICES = {"ethnicity": ETHNICITIES, "political_status": POLITICAL_STATUSES, "education": EDUCATIONS,
           "branch": BRANCHES, "discharge_type": DISCHARGE_TYPES, "placement": PLACEMENTS,
           "disability_nature": [c for c, _ in Record.Nature.choices], "gender": [c for c, _ in Record.Gender.choices]}
LABELS = {f.name: str(f.verbose_name) for f in Record._meta.get_fields() if hasattr(f, "verbose_name")}
LABELS.update({"id_number": "身份证号", "phone": "联系电话", "community": "社区", "category": "人员类别"})


def _today() -> date:
    return timezone.localdate()


def _require_unit(actor, unit: OrgUnit, roles, label: str) -> None:
    """Like core ``require_unit``, with this app's reach (the veterans department covers the district)."""
    if any(unit.path.startswith(root) for root in reach_paths(actor, frozenset(roles) - READ_ONLY_ROLES)):
        return
    if any(unit.path.startswith(root) for root in reach_paths(actor, frozenset(Role.values))):
        raise Forbidden(f"您的角色无权在「{unit.name}」{label}")
    raise NotInReach()


def _require_reviewer(actor, record: Record) -> None:
    require(actor, record, CHANGE)
    q = Record.reach_q_roles(actor, REVIEWERS)
    if q is None or not Record.objects.filter(q, pk=record.pk).exists():
        raise Forbidden("只有街道或退役军人事务局的工作人员可以审核")


def _as_date(value, label: str, errors: dict, key: str):
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(personal.fold(value))
    except ValueError:
        errors[key] = f"{label}格式不正确，应如 1990-01-31"
        return None


def clean_record(data: dict) -> dict:
    """Validate a record's content (from a form, the API or an import row) and return it cleaned.
    Every problem is reported at once, per field, in Chinese."""
    errors: dict[str, str] = {}
    out: dict = {}
    for key, limit in TEXT_FIELDS.items():
        value = str(data.get(key) or "").strip()
        if len(value) > limit:
            errors[key] = f"{LABELS[key]}不能超过 {limit} 个字"
        out[key] = value
    out["gender"] = str(data.get("gender") or "").strip()
    for key in ("name", "household_address", "residential_address", "ethnicity", "gender"):
        if not out[key]:
            errors.setdefault(key, f"请填写{LABELS[key]}")
    for key, allowed in CHOICES.items():
        if out[key] and out[key] not in allowed:
            errors.setdefault(key, f"{LABELS[key]}「{out[key]}」不在可选范围内")
    for key in DATE_FIELDS:
        out[key] = _as_date(data.get(key), LABELS[key], errors, key)

    out["id_number"] = ""
    try:
        out["id_number"] = personal.clean_id_number(data.get("id_number"))
    except ValidationError as e:
        errors["id_number"] = "；".join(e.messages)
    out["phone"] = ""
    if str(data.get("phone") or "").strip():
        try:
            out["phone"] = personal.clean_phone(data.get("phone"))
        except ValidationError as e:
            errors["phone"] = "；".join(e.messages)

    if out["id_number"]:
        id_gender, id_birth = personal.id_gender(out["id_number"]), personal.id_birth_date(out["id_number"])
        if out["gender"] and out["gender"] != id_gender and "gender" not in errors:
            errors["gender"] = f"性别与身份证号不符：身份证号显示为{id_gender}性"
        if out["birth_date"] is None and "birth_date" not in errors:
            out["birth_date"] = id_birth
        elif out["birth_date"] and out["birth_date"] != id_birth:
            errors["birth_date"] = f"出生日期与身份证号不符：身份证号显示为 {id_birth:%Y-%m-%d}"
    if out["birth_date"] is None:
        errors.setdefault("birth_date", "请填写出生日期")

    category = data.get("category")
    if category is not None and not isinstance(category, Category):
        category = Category.objects.filter(code=str(category)).first() or (
            Category.objects.filter(name=str(category)).first())
    if category is None or not category.active:
        errors["category"] = "请选择人员类别"
    out["category"] = category

    community = data.get("community")
    if community is not None and not isinstance(community, OrgUnit):
        community = OrgUnit.objects.filter(pk=community).first() if str(community).isdigit() else None
    if community is None:
        errors["community"] = "请选择所属社区"
    elif community.kind != OrgUnit.Kind.COMMUNITY:
        errors["community"] = "记录应归属到社区"
    elif community.is_retired:
        errors["community"] = f"「{community.name}」已撤销"
    out["community"] = community

    grade = data.get("disability_grade")
    if grade in (None, ""):
        out["disability_grade"] = None
    else:
        try:
            out["disability_grade"] = int(personal.fold(grade))
        except (TypeError, ValueError):
            out["disability_grade"] = None
            errors["disability_grade"] = "伤残等级应为 1–10 级"
        else:
            if not 1 <= out["disability_grade"] <= 10:
                errors["disability_grade"] = "伤残等级应为 1–10 级"

    birth, enlisted, discharged = out["birth_date"], out["enlisted_on"], out["discharged_on"]
    today = _today()
    if birth and birth > today:
        errors.setdefault("birth_date", "出生日期不能晚于今天")
    if enlisted and birth and enlisted <= birth:
        errors.setdefault("enlisted_on", "入伍时间应晚于出生日期")
    if enlisted and enlisted > today:
        errors.setdefault("enlisted_on", "入伍时间不能晚于今天")
    if discharged and not enlisted:
        errors.setdefault("enlisted_on", "填写了退役时间，请同时填写入伍时间")
    if discharged and enlisted and discharged <= enlisted:
        errors.setdefault("discharged_on", "退役时间应晚于入伍时间")
    if discharged and discharged > today:
        errors.setdefault("discharged_on", "退役时间不能晚于今天")
    if category is not None and category.active:
        if category.requires_service and not enlisted:
            errors.setdefault("enlisted_on", f"「{category.name}」须填写入伍时间")
        if category.requires_disability:
            for key in ("disability_grade", "disability_nature", "disability_certificate"):
                if not out[key]:
                    errors.setdefault(key, f"「{category.name}」须填写{LABELS[key]}")
    if out["disability_grade"] and not out["disability_nature"]:
        errors.setdefault("disability_nature", "填写了伤残等级，请同时选择伤残性质")

    if errors:
        raise ServiceError(next(iter(errors.values())), fields=errors)
    return out


def _canonical(cleaned: dict) -> dict:
    values = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in cleaned.items()
              if k not in ("category", "community")}
    values["category"] = cleaned["category"].code
    values["community"] = cleaned["community"].pk
    return values


def content_hash(cleaned: dict) -> str:
    """A keyed digest of a record's content (it covers the ID number, so it must not be a bare SHA-256)."""
    return personal.blind_index("veterans-record", json.dumps(_canonical(cleaned), sort_keys=True, ensure_ascii=False))


def record_snapshot(record: Record) -> dict:
    """What people see of a record's content: masked personal data, names instead of ids."""
    out = {}
    for key in PLAIN_FIELDS:
        value = getattr(record, key)
        out[key] = value.isoformat() if isinstance(value, date) else value
    out["category"] = record.category.name
    out["community"] = record.org_unit.name
    out["id_number"] = record.id_number_masked
    out["phone"] = record.phone_masked
    return out


def _apply(record: Record, cleaned: dict) -> None:
    for key in PLAIN_FIELDS:
        setattr(record, key, cleaned[key])
    record.category = cleaned["category"]
    record.org_unit = cleaned["community"]
    record.street_id = int(cleaned["community"].path.strip("/").split("/")[-2])
    record.id_number_enc = personal.encrypt(cleaned["id_number"])
    record.id_number_bidx = personal.blind_index("id_number", cleaned["id_number"])
    record.phone_enc = personal.encrypt(cleaned["phone"])
    record.phone_bidx = personal.blind_index("phone", cleaned["phone"])
    record.content_hash = content_hash(cleaned)


def duplicate_error(actor, existing: Record, visible: bool | None = None) -> Conflict:
    """Point to the existing record and its collector — or, when it lies outside the actor's
    reach, say only that it exists and which street holds it. ``visible`` saves the query
    when the caller knows already."""
    if visible is None:
        visible = Record.objects.restrict(actor, VIEW).filter(pk=existing.pk).exists()
    if visible:
        message = (f"该身份证号已登记：{existing.name}（{existing.org_unit.name}，记录编号 {existing.pk}），"
                   f"采集员 {existing.collector.label}，请勿重复采集")
    else:
        message = f"该身份证号已在「{existing.street.name}」登记，请勿重复采集；如有疑问请联系该街道核实"
    return Conflict(message, code="duplicate", fields={"id_number": message})


def _check_duplicate(actor, cleaned: dict, exclude_pk=None) -> None:
    bidx = personal.blind_index("id_number", cleaned["id_number"])
    existing = Record.objects.filter(id_number_bidx=bidx).exclude(pk=exclude_pk).select_related(
        "org_unit", "street", "collector").first()
    if existing is not None:
        raise duplicate_error(actor, existing)


def _save_unique(actor, record: Record, cleaned: dict, **kwargs) -> None:
    """Save, turning a race on the ID number's unique index into the duplicate message."""
    try:
        with transaction.atomic():
            record.save(**kwargs)
    except IntegrityError:
        _check_duplicate(actor, cleaned, exclude_pk=record.pk)
        raise


class VersionConflict(Conflict):
    """An edit named a version that is no longer current: both versions go back to the client."""

    code = "stale_version"

    def __init__(self, record: Record, yours: dict | None):
        super().__init__(f"记录已被修改（当前为第 {record.version} 版），您修改的是旧版本；请核对后重新提交",
                         fields={"version": f"当前版本为 {record.version}"})
        self.current = {"version": record.version, **record_snapshot(record)}
        self.yours = yours or {}


def _your_version(cleaned_or_data: dict, base_version) -> dict:
    out = {"version": base_version}
    for key, value in cleaned_or_data.items():
        if key == "id_number":
            value = personal.mask_id_number(value)
        elif key == "phone":
            value = personal.mask_phone(value)
        elif isinstance(value, (Category, OrgUnit)):
            value = value.name
        elif isinstance(value, date):
            value = value.isoformat()
        out[key] = value
    return out


# --- records -------------------------------------------------------------------------------

def _attachments_missing(record: Record) -> list[str]:
    have = {a.kind for a in record.attachments.all()}  # a list prefetches them (api.record_list)
    return [k for k in record.declared_attachments if k not in have]


def _submit_changes(record: Record) -> dict:
    old = record.status
    record.status = S.COLLECTED
    record.return_reason = ""
    record.submit_requested = False
    if record.collected_at is None:
        record.collected_at = timezone.now()
        record.collected_on = timezone.localdate(record.collected_at)
    return {"status": [old, S.COLLECTED]}


@transaction.atomic
def record_create(*, actor, data: dict, client_uuid=None, appointment: Appointment | None = None,
                  declared_attachments=(), submit: bool = False) -> Record:
    cleaned = clean_record(data)
    _require_unit(actor, cleaned["community"], WORKERS, "采集")
    declared = _check_kinds(declared_attachments)
    _check_duplicate(actor, cleaned)
    point = None
    if appointment is not None:
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        require(actor, appointment, CHANGE)
        if appointment.status != Appointment.Status.CHECKED_IN:
            raise ServiceError(f"预约状态为「{appointment.get_status_display()}」，签到后才能开始采集")
        if appointment.id_number_bidx != personal.blind_index("id_number", cleaned["id_number"]):
            raise ServiceError("身份证号与预约人不一致，请核对", fields={"id_number": "身份证号与预约人不一致"})
        point = appointment.point
    record = Record(uuid=client_uuid or uuidlib.uuid4(), collector=actor, point=point, status=S.DRAFT,
                    declared_attachments=declared)
    _apply(record, cleaned)
    record.origin_hash = record.content_hash
    if submit and not declared:
        _submit_changes(record)
    elif submit:
        record.submit_requested = True
    _save_unique(actor, record, cleaned)
    rollup_move(after=[rollup_key(record)])
    entries = [Entry(action=A.CREATE, unit=record.org_unit, obj=record, verb="collect",
                     changes={**record_snapshot(record), "status": record.status})]
    if appointment is not None:
        appointment.status = Appointment.Status.COLLECTED
        appointment.record = record
        appointment.save(update_fields=["status", "record"])
        entries.append(Entry(action=A.STATE, unit=appointment.point.org_unit, obj=appointment, verb="collected",
                             changes={"status": ["checked_in", "collected"], "record": record.pk}))
    audit_many(actor=actor, entries=entries)
    return record


def _lock(record: Record) -> Record:
    return Record.objects.select_for_update().select_related("category", "org_unit", "street", "collector").get(
        pk=record.pk)


@transaction.atomic
def record_update(*, actor, record: Record, data: dict, base_version: int) -> Record:
    record = _lock(record)
    require(actor, record, CHANGE)
    cleaned = clean_record(data)
    if record.version != base_version:
        raise VersionConflict(record, _your_version(cleaned, base_version))
    if record.status == S.ARCHIVED:
        raise ServiceError("记录已归档，修改需提交变更申请，由审核人批准")
    if record.status == S.REVIEWED:
        raise ServiceError("记录已审核，需由审核人退回后才能修改")
    if cleaned["community"].pk != record.org_unit_id:
        _require_unit(actor, cleaned["community"], WORKERS, "采集")
    _check_duplicate(actor, cleaned, exclude_pk=record.pk)
    before = record_snapshot(record)
    before_key = rollup_key(record)
    _apply(record, cleaned)
    after = record_snapshot(record)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if not changes:
        return record
    record.version += 1
    _save_unique(actor, record, cleaned)
    rollup_move([before_key], [rollup_key(record)])
    audit(actor=actor, action=A.UPDATE, unit=record.org_unit, obj=record, changes=changes)
    return record


@transaction.atomic
def record_submit(*, actor, record: Record) -> Record:
    record = _lock(record)
    require(actor, record, CHANGE)
    if record.status not in (S.DRAFT, S.RETURNED):
        raise ServiceError(f"记录状态为「{record.get_status_display()}」，不能提交审核")
    missing = _attachments_missing(record)
    if missing:
        names = "、".join(Attachment.Kind(k).label for k in missing)
        raise ServiceError(f"还缺少附件：{names}，上传后才能提交审核")
    before_key = rollup_key(record)
    changes = _submit_changes(record)
    record.save()
    rollup_move([before_key], [rollup_key(record)])
    todo_close(source=record, kind=RETURNED_TODO)
    audit(actor=actor, action=A.STATE, unit=record.org_unit, obj=record, verb="submit", changes=changes)
    return record


@transaction.atomic
def record_review(*, actor, record: Record) -> Record:
    record = _lock(record)
    _require_reviewer(actor, record)
    if record.status != S.COLLECTED:
        raise ServiceError(f"记录状态为「{record.get_status_display()}」，不能审核")
    before_key = rollup_key(record)
    record.status, record.reviewed_by, record.reviewed_at = S.REVIEWED, actor, timezone.now()
    record.save()
    rollup_move([before_key], [rollup_key(record)])
    audit(actor=actor, action=A.STATE, unit=record.org_unit, obj=record, verb="review",
          changes={"status": [S.COLLECTED, S.REVIEWED]})
    return record


@transaction.atomic
def record_return(*, actor, record: Record, reason: str) -> Record:
    record = _lock(record)
    _require_reviewer(actor, record)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写退回原因", fields={"reason": "请填写退回原因"})
    if len(reason) > 200:
        raise ServiceError("退回原因不能超过 200 字", fields={"reason": "退回原因不能超过 200 字"})
    if record.status not in (S.COLLECTED, S.REVIEWED):
        raise ServiceError(f"记录状态为「{record.get_status_display()}」，不能退回")
    old, before_key = record.status, rollup_key(record)
    record.status, record.return_reason = S.RETURNED, reason
    record.save()
    rollup_move([before_key], [rollup_key(record)])
    from django.urls import reverse
    todo_open(user=record.collector, kind=RETURNED_TODO, title=f"退回待修改：{record.name}（{reason}）",
              source=record, url=reverse("veterans:record", args=[record.pk]), unit=record.org_unit)
    audit(actor=actor, action=A.STATE, unit=record.org_unit, obj=record, verb="return",
          changes={"status": [old, S.RETURNED], "reason": reason})
    return record


@transaction.atomic
def record_archive(*, actor, record: Record) -> Record:
    record = _lock(record)
    _require_reviewer(actor, record)
    if record.status != S.REVIEWED:
        raise ServiceError(f"记录状态为「{record.get_status_display()}」，审核通过后才能归档")
    before_key = rollup_key(record)
    record.status, record.archived_at = S.ARCHIVED, timezone.now()
    record.save()
    rollup_move([before_key], [rollup_key(record)])
    audit(actor=actor, action=A.STATE, unit=record.org_unit, obj=record, verb="archive",
          changes={"status": [S.REVIEWED, S.ARCHIVED]})
    return record


@transaction.atomic
def record_form_values(*, actor, record: Record) -> dict:
    """A record's content for its edit or change-request form, the ID and phone number in clear:
    opening the form is an unmasking, audited. Only for those who may change the record (they
    are all among ``UNMASKERS`` within their reach)."""
    require(actor, record, CHANGE)
    data = {k: getattr(record, k) for k in PLAIN_FIELDS}
    data.update(category=record.category.code, community=record.org_unit_id,
                id_number=personal.decrypt(record.id_number_enc), phone=personal.decrypt(record.phone_enc))
    audit(actor=actor, action=A.UNMASK, unit=record.org_unit, obj=record, verb="edit_form",
          changes={"fields": ["id_number", "phone"]})
    return data


def may_unmask_record(user, record: Record) -> bool:
    """Unmasking follows this app's reach (``models.UNMASKERS``): the veterans department its
    district, a street officer or collector their street or community."""
    from .models import UNMASKERS
    return any(record.org_unit.path.startswith(root) for root in reach_paths(user, UNMASKERS))


def record_unmask(*, actor, record: Record, field: str) -> str:
    """The clear ID or phone number for a role that may, audited by core."""
    from govdesk.core.services import personal_unmask

    from .models import UNMASKERS
    if field not in ("id_number", "phone"):
        raise ServiceError("不支持的字段")
    require(actor, record, VIEW)
    return personal_unmask(actor=actor, obj=record, field=field, unit=record.org_unit, roles=UNMASKERS,
                           paths=reach_paths(actor, UNMASKERS))


# --- change requests after archiving ---------------------------------------------------

def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


@transaction.atomic
def change_request_create(*, actor, record: Record, data: dict, reason: str, base_version: int) -> ChangeRequest:
    record = _lock(record)
    require(actor, record, CHANGE)
    if record.status != S.ARCHIVED:
        raise ServiceError("只有已归档的记录需要变更申请，其他记录可直接修改")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写变更理由", fields={"reason": "请填写变更理由"})
    if record.version != base_version:
        raise VersionConflict(record, None)
    if ChangeRequest.objects.filter(record=record, status=ChangeRequest.Status.PENDING).exists():
        raise ServiceError("该记录已有待审批的变更申请")
    cleaned = clean_record(data)
    current_id = personal.decrypt(record.id_number_enc)
    if cleaned["id_number"] != current_id:
        raise ServiceError("身份证号不能通过变更申请修改，请联系区退役军人事务局核实",
                           fields={"id_number": "身份证号不能修改"})
    if cleaned["community"].pk != record.org_unit_id:
        _require_unit(actor, cleaned["community"], WORKERS, "变更")
    changes, payload = {}, {}
    for key in PLAIN_FIELDS:
        old, new = _plain(getattr(record, key)), _plain(cleaned[key])
        if old != new:
            changes[key], payload[key] = [old, new], new
    if cleaned["category"].pk != record.category_id:
        changes["category"] = [record.category.name, cleaned["category"].name]
        payload["category"] = cleaned["category"].code
    if cleaned["community"].pk != record.org_unit_id:
        changes["community"] = [record.org_unit.name, cleaned["community"].name]
        payload["community"] = cleaned["community"].pk
    new_phone_enc = ""
    if cleaned["phone"] != personal.decrypt(record.phone_enc):
        changes["phone"] = [record.phone_masked, personal.mask_phone(cleaned["phone"])]
        new_phone_enc = personal.encrypt(cleaned["phone"]) or "-"
    if not changes:
        raise ServiceError("没有修改任何内容")
    cr = ChangeRequest.objects.create(record=record, base_version=record.version, changes=changes, payload=payload,
                                      new_phone_enc=new_phone_enc, reason=reason[:200], requested_by=actor)
    from django.urls import reverse
    if record.reviewed_by_id and record.reviewed_by_id != actor.pk:
        todo_open(user=record.reviewed_by, kind=CHANGE_TODO, title=f"变更申请待审批：{record.name}", source=cr,
                  url=reverse("veterans:record", args=[record.pk]), unit=record.org_unit)
    audit(actor=actor, action=A.CREATE, unit=record.org_unit, obj=cr, verb="change_request",
          changes={"record": record.pk, "changes": changes, "reason": reason})
    return cr


@transaction.atomic
def change_request_decide(*, actor, change: ChangeRequest, approve: bool, note: str = "") -> ChangeRequest:
    change = ChangeRequest.objects.select_for_update().get(pk=change.pk)
    record = _lock(change.record)
    _require_reviewer(actor, record)
    if change.status != ChangeRequest.Status.PENDING:
        raise ServiceError("该变更申请已处理")
    note = (note or "").strip()[:200]
    entries = []
    if approve:
        if record.version != change.base_version:
            raise Conflict("记录在申请后已被修改，请驳回后重新提交变更申请")
        data = {k: getattr(record, k) for k in PLAIN_FIELDS}
        data.update(change.payload)
        data.setdefault("category", record.category)
        data.setdefault("community", record.org_unit)
        data["id_number"] = personal.decrypt(record.id_number_enc)
        phone_enc = change.new_phone_enc if change.new_phone_enc not in ("", "-") else record.phone_enc
        data["phone"] = "" if change.new_phone_enc == "-" else personal.decrypt(phone_enc)
        cleaned = clean_record(data)
        before_key = rollup_key(record)
        _apply(record, cleaned)
        record.version += 1
        _save_unique(actor, record, cleaned)
        rollup_move([before_key], [rollup_key(record)])
        entries.append(Entry(action=A.UPDATE, unit=record.org_unit, obj=record, verb="change_approved",
                             changes={**change.changes, "change_request": change.pk}))
    change.status = ChangeRequest.Status.APPROVED if approve else ChangeRequest.Status.REJECTED
    change.decided_by, change.decided_at, change.decision_note = actor, timezone.now(), note
    change.save()
    todo_close(source=change, kind=CHANGE_TODO)
    entries.append(Entry(action=A.STATE, unit=record.org_unit, obj=change, verb="approve" if approve else "reject",
                         changes={"status": ["pending", change.status], "note": note}))
    audit_many(actor=actor, entries=entries)
    return change


# --- attachments ---------------------------------------------------------------------------

def _check_kinds(kinds) -> list[str]:
    kinds = list(dict.fromkeys(kinds or []))
    bad = [k for k in kinds if k not in Attachment.Kind.values]
    if bad:
        raise ServiceError(f"附件类型不正确：{'、'.join(bad)}", fields={"attachments": "附件类型不正确"})
    return kinds


def sniff(content: bytes) -> tuple[str, str] | None:
    """(type, extension) of a scan by its magic bytes (``core.files.sniff_type``), or None."""
    mime = sniff_type(content[:16])
    return (mime, EXTENSIONS[mime]) if mime else None


def storage_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "veterans"


@transaction.atomic
def attachment_add(*, actor, record: Record, kind: str, filename: str, content: bytes) -> tuple[Attachment, bool]:
    """Store a scanned document; the same file sent again for the same record is a harmless success."""
    import hashlib
    record = _lock(record)
    require(actor, record, CHANGE)
    if kind not in Attachment.Kind.values:
        raise ServiceError("请选择附件类型", fields={"kind": "附件类型不正确"})
    if not content:
        raise ServiceError("文件是空的", fields={"file": "文件是空的"})
    if len(content) > ATTACHMENT_MAX_BYTES:
        limit = ATTACHMENT_MAX_BYTES // (1024 * 1024)
        raise ServiceError(f"文件不能超过 {limit} MB", fields={"file": f"文件不能超过 {limit} MB"})
    sniffed = sniff(content)
    if sniffed is None:
        raise ServiceError("只接受 JPEG、PNG 图片或 PDF 文件", fields={"file": "只接受 JPEG、PNG 或 PDF"})
    digest = hashlib.sha256(content).hexdigest()
    existing = Attachment.objects.filter(record=record, sha256=digest).first()
    if existing is not None:
        return existing, False
    if record.status in (S.REVIEWED, S.ARCHIVED):
        raise ServiceError(f"记录已{record.get_status_display()[1:]}，不能再上传附件")
    mime, ext = sniffed
    relative = f"veterans/{record.uuid.hex}/{secrets.token_hex(16)}.{ext}"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    try:
        name = Path(personal.fold(filename) or f"scan.{ext}").name[:200]
        attachment = Attachment.objects.create(record=record, kind=kind, file=relative, original_name=name,
                                               content_type=mime, size=len(content), sha256=digest,
                                               uploaded_by=actor)
        entries = [Entry(action=A.CREATE, unit=record.org_unit, obj=attachment, verb="attachment",
                         changes={"record": record.pk, "kind": kind, "size": len(content), "sha256": digest})]
        if record.submit_requested and record.status == S.DRAFT and not _attachments_missing(record):
            before_key = rollup_key(record)
            changes = _submit_changes(record)
            record.save()
            rollup_move([before_key], [rollup_key(record)])
            entries.append(Entry(action=A.STATE, unit=record.org_unit, obj=record, verb="submit", changes=changes))
        audit_many(actor=actor, entries=entries)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return attachment, True


@transaction.atomic
def attachment_open(*, actor, attachment: Attachment) -> Path:
    """The path of a scanned document for someone who may see the record; viewing is audited."""
    require(actor, attachment, VIEW)
    audit(actor=actor, action=A.UNMASK, unit=attachment.record.org_unit, obj=attachment, verb="attachment_view",
          changes={"record": attachment.record_id, "kind": attachment.kind})
    return Path(settings.MEDIA_ROOT) / attachment.file


# --- device sync -----------------------------------------------------------------------------

def record_sync(*, actor, client_uuid, data: dict, base_version: int | None = None, declared_attachments=(),
                submit: bool = False) -> tuple[Record, bool]:
    """A device's submission: (record, created). Replays are harmless; conflicts are 409s."""
    existing = Record.objects.filter(uuid=client_uuid).first()
    if existing is None:
        if base_version is not None:
            raise NotInReach()
        try:
            return record_create(actor=actor, data=data, client_uuid=client_uuid,
                                 declared_attachments=declared_attachments, submit=submit), True
        except (IntegrityError, Conflict):
            # the same uuid arrived twice at once and the other request won: answer as a replay
            existing = Record.objects.filter(uuid=client_uuid).first()
            if existing is None:
                raise
    require(actor, existing, VIEW)
    cleaned = clean_record(data)
    digest = content_hash(cleaned)
    if base_version is None:
        if digest == existing.origin_hash:
            return existing, False
        raise Conflict("同一记录标识已提交过不同的内容；修改已有记录请注明所修改的版本", code="uuid_conflict")
    if existing.version == base_version:
        return record_update(actor=actor, record=existing, data=data, base_version=base_version), False
    if digest == existing.content_hash:
        return existing, False  # this very edit was applied before: a replay
    raise VersionConflict(existing, _your_version(cleaned, base_version))


# --- collection points, slots, appointments -------------------------------------------

def slot_plan(opens_at: time, closes_at: time, slot_minutes: int, daily_capacity: int) -> list[tuple]:
    """(start, end, capacity) of a day's slots; the daily capacity is spread over them."""
    start = datetime.combine(date(2000, 1, 1), opens_at)
    end = datetime.combine(date(2000, 1, 1), closes_at)
    n = int((end - start).total_seconds() // 60 // slot_minutes)
    base, extra = divmod(daily_capacity, n) if n else (0, 0)
    plan = []
    for i in range(n):
        s = start + timedelta(minutes=slot_minutes * i)
        plan.append((s.time(), (s + timedelta(minutes=slot_minutes)).time(), base + (1 if i < extra else 0)))
    return plan


def _point_errors(name, address, opens_at, closes_at, daily_capacity, slot_minutes) -> dict:
    errors = {}
    if not (name or "").strip():
        errors["name"] = "请填写采集点名称"
    if not (address or "").strip():
        errors["address"] = "请填写地址"
    if opens_at is None or closes_at is None or closes_at <= opens_at:
        errors["closes_at"] = "结束时间应晚于开始时间"
    if not slot_minutes or not 10 <= slot_minutes <= 240:
        errors["slot_minutes"] = "时段长度应为 10–240 分钟"
    if not daily_capacity or not 1 <= daily_capacity <= 2000:
        errors["daily_capacity"] = "每日接待量应为 1–2000 人"
    if not errors and not slot_plan(opens_at, closes_at, slot_minutes, daily_capacity):
        errors["slot_minutes"] = "开放时间内放不下一个时段"
    return errors


def _open_days(point: CollectionPoint, first: date, days: int) -> int:
    plan = slot_plan(point.opens_at, point.closes_at, point.slot_minutes, point.daily_capacity)
    have = set(Slot.objects.filter(point=point, day__gte=first, day__lt=first + timedelta(days=days))
               .values_list("day", "starts_at"))
    new = [Slot(point=point, day=first + timedelta(days=d), starts_at=s, ends_at=e, capacity=c)
           for d in range(days) for s, e, c in plan if (first + timedelta(days=d), s) not in have]
    Slot.objects.bulk_create(new)
    return len(new)


@transaction.atomic
def point_create(*, actor, unit: OrgUnit, name: str, address: str, opens_at: time, closes_at: time,
                 daily_capacity: int, slot_minutes: int, open_days: int = 14) -> CollectionPoint:
    if unit.kind not in (OrgUnit.Kind.STREET, OrgUnit.Kind.COMMUNITY):
        raise ServiceError("采集点应设在街道或社区", fields={"unit": "请选择街道或社区"})
    _require_unit(actor, unit, OFFICERS, "设立采集点")
    errors = _point_errors(name, address, opens_at, closes_at, daily_capacity, slot_minutes)
    if errors:
        raise ServiceError(next(iter(errors.values())), fields=errors)
    # a point's name is its key in its unit (as the import says); the unit's row lock orders two
    # submits of the same form, so the second is refused instead of opening the point twice
    OrgUnit.objects.select_for_update().filter(pk=unit.pk).exists()
    if CollectionPoint.objects.filter(org_unit=unit, name=name.strip()[:100]).exists():
        raise ServiceError(f"「{unit.name}」已有名为「{name.strip()}」的采集点", fields={"name": "同名采集点已存在"})
    point = CollectionPoint.objects.create(org_unit=unit, name=name.strip()[:100], address=address.strip()[:200],
                                           opens_at=opens_at, closes_at=closes_at, daily_capacity=daily_capacity,
                                           slot_minutes=slot_minutes)
    slots = _open_days(point, _today(), open_days)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=point,
          changes={"name": point.name, "address": point.address, "hours": point.hours,
                   "daily_capacity": daily_capacity, "slot_minutes": slot_minutes, "slots": slots})
    return point


@transaction.atomic
def point_open_days(*, actor, point: CollectionPoint, first: date, days: int) -> int:
    require(actor, point, CHANGE)
    if not 1 <= days <= 60:
        raise ServiceError("一次最多开放 60 天")
    # the point's row lock orders two submits: the second finds the days open (not a 500)
    CollectionPoint.objects.select_for_update().filter(pk=point.pk).exists()
    created = _open_days(point, first, days)
    if created:
        audit(actor=actor, action=A.UPDATE, unit=point.org_unit, obj=point, verb="open_days",
              changes={"first": first.isoformat(), "days": days, "slots": created})
    return created


def _booked(slot: Slot) -> int:
    return Appointment.objects.filter(slot=slot, status__in=ACTIVE_APPOINTMENT).count()


def _lock_slot_with_room(slot: Slot) -> Slot:
    """Lock the slot row and count its places inside the transaction: two bookers of the last
    place queue on the lock, and the second one sees the first one's appointment."""
    slot = Slot.objects.select_for_update().select_related("point").get(pk=slot.pk)
    if slot.day < _today():
        raise ServiceError("该时段已过，请选择其他时段")
    if not slot.point.active:
        raise ServiceError("该采集点已停用")
    if _booked(slot) >= slot.capacity:
        raise Conflict("该时段名额已满，请选择其他时段", code="slot_full", fields={"slot": "该时段名额已满"})
    return slot


def _new_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))


@transaction.atomic
def appointment_book(*, actor, slot: Slot, name: str, id_number: str, phone: str = "",
                     kind: str = Appointment.Kind.AT_POINT, home_address: str = "") -> Appointment:
    require(actor, slot, CHANGE)
    errors = {}
    name = (name or "").strip()
    if not name or len(name) > 50:
        errors["name"] = "请填写姓名（不超过 50 字）"
    try:
        id_number = personal.clean_id_number(id_number)
    except ValidationError as e:
        errors["id_number"] = "；".join(e.messages)
    if phone:
        try:
            phone = personal.clean_phone(phone)
        except ValidationError as e:
            errors["phone"] = "；".join(e.messages)
    if kind not in Appointment.Kind.values:
        errors["kind"] = "请选择采集方式"
    elif kind == Appointment.Kind.HOME_VISIT and not (home_address or "").strip():
        errors["home_address"] = "上门采集请填写上门地址"
    if errors:
        raise ServiceError(next(iter(errors.values())), fields=errors)
    bidx = personal.blind_index("id_number", id_number)
    existing = Record.objects.filter(id_number_bidx=bidx).select_related("org_unit", "street", "collector").first()
    if existing is not None:
        raise duplicate_error(actor, existing)
    other = Appointment.objects.filter(id_number_bidx=bidx, status__in=ACTIVE_APPOINTMENT).select_related(
        "slot", "point").first()
    if other is not None:
        raise Conflict(f"此人已有预约：{other.point.name} {other.slot}，如需改期请先取消或改约",
                       code="already_booked", fields={"id_number": "此人已有预约"})
    slot = _lock_slot_with_room(slot)
    appointment = Appointment(code=_new_code(), slot=slot, point=slot.point, kind=kind, name=name,
                              id_number_enc=personal.encrypt(id_number), id_number_bidx=bidx,
                              phone_enc=personal.encrypt(phone), home_address=(home_address or "").strip()[:200],
                              booked_by=actor)
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError:
        raise Conflict("此人已有预约，请勿重复预约", code="already_booked") from None
    audit(actor=actor, action=A.CREATE, unit=slot.point.org_unit, obj=appointment, verb="book",
          changes={"name": name, "id_number": personal.mask_id_number(id_number), "point": slot.point.name,
                   "slot": f"{slot.day} {slot}", "kind": kind})
    return appointment


def _lock_appointment(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().select_related("slot", "point", "point__org_unit").get(
        pk=appointment.pk)


@transaction.atomic
def appointment_cancel(*, actor, appointment: Appointment) -> Appointment:
    appointment = _lock_appointment(appointment)
    require(actor, appointment, CHANGE)
    if appointment.status != Appointment.Status.BOOKED:
        raise ServiceError(f"预约状态为「{appointment.get_status_display()}」，不能取消")
    appointment.status = Appointment.Status.CANCELLED
    appointment.save(update_fields=["status"])
    audit(actor=actor, action=A.STATE, unit=appointment.point.org_unit, obj=appointment, verb="cancel",
          changes={"status": ["booked", "cancelled"]})
    return appointment


@transaction.atomic
def appointment_rebook(*, actor, appointment: Appointment, slot: Slot) -> Appointment:
    appointment = _lock_appointment(appointment)
    require(actor, appointment, CHANGE)
    require(actor, slot, CHANGE)
    if appointment.status != Appointment.Status.BOOKED:
        raise ServiceError(f"预约状态为「{appointment.get_status_display()}」，不能改约")
    if slot.pk == appointment.slot_id:
        raise ServiceError("请选择另一个时段", fields={"slot": "与原时段相同"})
    old = f"{appointment.point.name} {appointment.slot.day} {appointment.slot}"
    slot = _lock_slot_with_room(slot)
    appointment.slot, appointment.point = slot, slot.point
    appointment.save(update_fields=["slot", "point"])
    audit(actor=actor, action=A.UPDATE, unit=slot.point.org_unit, obj=appointment, verb="rebook",
          changes={"slot": [old, f"{slot.point.name} {slot.day} {slot}"]})
    return appointment


@transaction.atomic
def appointment_check_in(*, actor, appointment: Appointment) -> Appointment:
    appointment = _lock_appointment(appointment)
    require(actor, appointment, CHANGE)
    if appointment.status != Appointment.Status.BOOKED:
        raise ServiceError(f"预约状态为「{appointment.get_status_display()}」，不能签到")
    if appointment.slot.day != _today():
        raise ServiceError(f"预约日期为 {appointment.slot.day:%Y-%m-%d}，不是今天")
    appointment.status = Appointment.Status.CHECKED_IN
    appointment.checked_in_at, appointment.checked_in_by = timezone.now(), actor
    appointment.save(update_fields=["status", "checked_in_at", "checked_in_by"])
    audit(actor=actor, action=A.STATE, unit=appointment.point.org_unit, obj=appointment, verb="check_in",
          changes={"status": ["booked", "checked_in"]})
    return appointment


# --- expected base numbers ----------------------------------------------------------------------

@transaction.atomic
def expected_set(*, actor, street: OrgUnit, expected: int) -> ExpectedBase:
    if street.kind != OrgUnit.Kind.STREET:
        raise ServiceError("应采集基数按街道填写", fields={"street": "请选择街道"})
    _require_unit(actor, street, ExpectedBase.reach.change, "填写应采集基数")
    if expected is None or not 0 <= int(expected) <= 1_000_000:
        raise ServiceError("应采集人数应为 0–1000000", fields={"expected": "应采集人数不正确"})
    row = ExpectedBase.objects.select_for_update().filter(org_unit=street).first()
    before = row.expected if row else None
    if row is None:
        row = ExpectedBase.objects.create(org_unit=street, expected=int(expected))
    elif row.expected != int(expected):
        row.expected = int(expected)
        row.save()
    else:
        return row
    audit(actor=actor, action=A.UPDATE if before is not None else A.CREATE, unit=street, obj=row,
          changes={"expected": [before, row.expected]})
    return row


# --- bulk (imports, batch review, the demo) -------------------------------------------------

@transaction.atomic
def record_bulk_create(*, actor, items: list[dict], submit: bool = True) -> list[Record]:
    """Collect many records at once (an import batch): all valid or nothing written.
    Errors are reported per row: ``fields`` maps "第 N 行" to the row's first problem.
    A row may carry when and where it was collected (``collected_at``, ``point``), as the
    campaign's earlier ledgers do."""
    errors: dict[str, str] = {}
    built: list[Record] = []
    seen: dict[str, int] = {}
    points_ok: dict[int, bool] = {}
    allowed = reach_paths(actor, WORKERS - READ_ONLY_ROLES)
    now = timezone.now()
    for n, data in enumerate(items, start=1):
        try:
            cleaned = clean_record(data)
        except ServiceError as e:
            errors[f"第 {n} 行"] = e.message
            continue
        if not any(cleaned["community"].path.startswith(root) for root in allowed):
            errors[f"第 {n} 行"] = f"「{cleaned['community'].name}」不在您的采集范围内"
            continue
        record = Record(collector=actor, status=S.DRAFT)
        _apply(record, cleaned)
        record.origin_hash = record.content_hash
        if record.id_number_bidx in seen:
            errors[f"第 {n} 行"] = f"与第 {seen[record.id_number_bidx]} 行身份证号重复"
            continue
        seen[record.id_number_bidx] = n
        point = data.get("point")
        if point is not None:
            if point.pk not in points_ok:
                points_ok[point.pk] = CollectionPoint.objects.restrict(actor, VIEW).filter(pk=point.pk).exists()
            if not points_ok[point.pk]:
                errors[f"第 {n} 行"] = f"采集点「{point.name}」不在您的范围内"
                continue
            record.point = point
        when = data.get("collected_at") or now
        if when > now:
            errors[f"第 {n} 行"] = "采集时间不能晚于现在"
            continue
        if submit:
            record.status, record.collected_at, record.collected_on = S.COLLECTED, when, timezone.localdate(when)
        built.append(record)
    existing = {r.id_number_bidx: r for r in Record.objects.filter(id_number_bidx__in=list(seen))
                .select_related("org_unit", "street", "collector")}
    for bidx, n in seen.items():
        if bidx in existing:
            errors[f"第 {n} 行"] = duplicate_error(actor, existing[bidx]).message
    if errors:
        raise ServiceError(f"共有 {len(errors)} 行有误，未写入任何记录", fields=errors)
    Record.objects.bulk_create(built, batch_size=500)
    rollup_move(after=[rollup_key(r) for r in built])
    audit_many(actor=actor, entries=[Entry(action=A.IMPORT, unit=r.org_unit, obj=r, verb="collect",
                                           changes={"status": r.status, "category": r.category.name})
                                     for r in built])
    return built


def _insert_records(records: list[Record]) -> None:
    """Insert new records and give them their pks (``govdesk.core.db.insert_objects``: one prepared
    statement per 500 rows on SQLite, COPY on PostgreSQL). ``bulk_create`` prepared every field of
    every row through the ORM: for an import that was half of the time spent."""
    insert_objects(records, key="id_number_bidx")


@transaction.atomic
def record_import_rows(*, actor, items: list[dict]) -> list:
    """Collect many records from an import, each on its own: answers per item ``"created"``,
    ``"unchanged"`` (the same person is registered with the same content, and the actor sees
    the record) or the ``ServiceError`` that refused it (nothing written for it).

    The rules are the entry form's: ``clean_record``, the community within the actor's reach,
    and one record per ID number in the whole district (refused with the entry form's message,
    also between two items of the same call). Imported records wait for review (已采集待审核)
    with the importer as collector. New records are written with ``bulk_create`` and get one
    audit event each. ``category`` and ``community`` should be given as objects (no query per item).
    """
    allowed = reach_paths(actor, WORKERS - READ_ONLY_ROLES)
    now = timezone.now()
    today = timezone.localdate(now)
    new_record = instance_factory(Record)
    outcomes: list = [None] * len(items)
    built: dict[int, Record] = {}
    masked: dict[int, str] = {}
    for i, data in enumerate(items):
        try:
            cleaned = clean_record(data)
        except ServiceError as e:
            outcomes[i] = e
            continue
        community = cleaned["community"]
        if not any(community.path.startswith(root) for root in allowed):
            message = f"「{community.name}」不在您的采集范围内"
            outcomes[i] = ServiceError(message, fields={"community": message})
            continue
        record = new_record(collector=actor, status=S.COLLECTED, collected_at=now, collected_on=today)
        _apply(record, cleaned)
        record.origin_hash = record.content_hash
        built[i] = record
        masked[i] = personal.mask_id_number(cleaned["id_number"])

    bidxs = sorted({r.id_number_bidx for r in built.values()})
    existing: dict[str, Record] = {}
    for start in range(0, len(bidxs), 400):  # SQLite's limit on query parameters
        existing.update((r.id_number_bidx, r) for r in Record.objects.filter(
            id_number_bidx__in=bidxs[start:start + 400]).select_related("org_unit", "street", "collector"))
    visible: set[int] = set()
    ids = [r.pk for r in existing.values()]
    for start in range(0, len(ids), 400):
        visible.update(Record.objects.restrict(actor, VIEW).filter(pk__in=ids[start:start + 400])
                       .values_list("pk", flat=True))
    new: list[Record] = []
    first_row: dict[str, int] = {}
    for i, record in built.items():
        old = existing.get(record.id_number_bidx)
        if old is not None:
            if old.pk in visible and old.content_hash == record.content_hash:
                outcomes[i] = "unchanged"
            else:
                outcomes[i] = duplicate_error(actor, old, visible=old.pk in visible)
            continue
        if record.id_number_bidx in first_row:
            message = f"与第 {first_row[record.id_number_bidx] + 1} 条身份证号重复"
            outcomes[i] = ServiceError(message, fields={"id_number": message})
            continue
        first_row[record.id_number_bidx] = i
        new.append(record)
        outcomes[i] = "created"
    _insert_records(new)
    rollup_move(after=[rollup_key(r) for r in new])
    audit_many(actor=actor, entries=[Entry(action=A.CREATE, unit=r.org_unit, obj=r, verb="import", changes={
        "name": r.name, "id_number": masked[i], "category": r.category.name,
        "community": r.org_unit.name, "status": r.status}) for i, r in built.items() if outcomes[i] == "created"])
    return outcomes


def _bulk_transition(actor, records, source: str, target: str, verb: str, **values) -> int:
    q = Record.reach_q_roles(actor, REVIEWERS)
    if q is None:
        raise Forbidden("只有街道或退役军人事务局的工作人员可以审核")
    ids = [r.pk for r in records]
    rows = list(Record.objects.select_for_update().filter(q, pk__in=ids, status=source).select_related("org_unit"))
    if len(rows) != len(set(ids)):
        raise ServiceError(f"有 {len(set(ids)) - len(rows)} 条记录不在您的审核范围内或状态已变化，未做任何处理")
    Record.objects.filter(pk__in=ids).update(status=target, **values)
    before_keys = [rollup_key(r) for r in rows]
    for r in rows:
        r.status = target
    rollup_move(before_keys, [rollup_key(r) for r in rows])
    audit_many(actor=actor, entries=[Entry(action=A.STATE, unit=r.org_unit, obj=r, verb=verb,
                                           changes={"status": [source, target]}) for r in rows])
    return len(rows)


@transaction.atomic
def record_bulk_review(*, actor, records) -> int:
    """Approve many collected records at once (batch review)."""
    return _bulk_transition(actor, records, S.COLLECTED, S.REVIEWED, "review", reviewed_by=actor,
                            reviewed_at=timezone.now())


@transaction.atomic
def record_bulk_archive(*, actor, records) -> int:
    return _bulk_transition(actor, records, S.REVIEWED, S.ARCHIVED, "archive", archived_at=timezone.now())
