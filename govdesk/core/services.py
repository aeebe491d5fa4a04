"""Every write of the core: validate, change, check reach, audit — one transaction each."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from pypinyin import Style, lazy_pinyin

from . import personal
from .audit import audit
from .errors import Forbidden, NotInReach, ServiceError
from .models import (
    ApiToken,
    AuditEvent,
    LoginFailure,
    Membership,
    OrgUnit,
    PeriodicReport,
    Todo,
    User,
    Webhook,
)
from .reach import CHANGE, Role, forget_memberships, require, require_unit, roles_of

log = logging.getLogger(__name__)
A = AuditEvent.Action


def _messages(error: ValidationError) -> str:
    return "；".join(error.messages)


# --- org tree ---------------------------------------------------------------------

def pinyin_of(name: str) -> tuple[str, str]:
    syllables = lazy_pinyin(name)
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))
    return "".join(syllables).lower(), initials.lower()


def _check_name(name: str) -> str:
    name = personal.fold(name) if name else ""
    name = (name or "").strip()
    if not name:
        raise ServiceError("请填写名称", fields={"name": "请填写名称"})
    if len(name) > 100:
        raise ServiceError("名称不能超过 100 个字", fields={"name": "名称不能超过 100 个字"})
    return name


def _check_code(code: str) -> str:
    code = personal.fold(code)
    if not code or len(code) > 32 or not all(ch.isalnum() or ch in "-_." for ch in code):
        raise ServiceError("编码只能由字母、数字和 - _ . 组成，最长 32 位", fields={"code": "编码格式不正确"})
    return code


def _unit_snapshot(unit: OrgUnit) -> dict:
    return {"kind": unit.kind, "code": unit.code, "name": unit.name, "parent": unit.parent_id}


@transaction.atomic
def orgunit_create(*, actor, parent: OrgUnit | None, kind: str, code: str, name: str) -> OrgUnit:
    """Add a unit under ``parent`` (``parent=None`` only for a new root, by a superuser)."""
    name, code = _check_name(name), _check_code(code)
    if kind not in OrgUnit.Kind.values:
        raise ServiceError("单位类型不正确", fields={"kind": "单位类型不正确"})
    if parent is None:
        if not getattr(actor, "is_superuser", False):
            raise Forbidden("只有系统管理员可以创建顶级单位")
    else:
        require_unit(actor, parent, {Role.DISTRICT_ADMIN}, action_label="新增下级单位")
        if parent.is_retired:
            raise ServiceError(f"「{parent.name}」已撤销，不能再新增下级单位")
        if kind not in OrgUnit.CHILD_KINDS[parent.kind]:
            raise ServiceError(f"{parent.get_kind_display()}下不能设立{OrgUnit.Kind(kind).label}",
                               fields={"kind": "该类型不能设在所选上级下"})
    if OrgUnit.objects.filter(code=code).exists():
        raise ServiceError(f"编码 {code} 已被使用", fields={"code": "编码已被使用"})
    pinyin, initials = pinyin_of(name)
    unit = OrgUnit(kind=kind, code=code, name=name, parent=parent, pinyin=pinyin, initials=initials,
                   path=f"/tmp-{secrets.token_hex(8)}/", depth=(parent.depth + 1) if parent else 0)
    unit.save()
    unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
    unit.save(update_fields=["path"])
    audit(actor=actor, action=A.CREATE, unit=unit, obj=unit, changes=_unit_snapshot(unit))
    return unit


@transaction.atomic
def orgunit_rename(*, actor, unit: OrgUnit, name: str) -> OrgUnit:
    require(actor, unit, CHANGE)
    name = _check_name(name)
    # read the name under the row lock: a double submit then finds it already renamed
    unit.name = OrgUnit.objects.select_for_update().values_list("name", flat=True).get(pk=unit.pk)
    before = unit.name
    if before == name:
        return unit
    pinyin, initials = pinyin_of(name)
    OrgUnit.objects.filter(pk=unit.pk).update(name=name, pinyin=pinyin, initials=initials)
    unit.name, unit.pinyin, unit.initials = name, pinyin, initials
    audit(actor=actor, action=A.UPDATE, unit=unit, obj=unit, changes={"name": [before, name]})
    return unit


@transaction.atomic
def orgunit_move(*, actor, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    require(actor, unit, CHANGE)
    require_unit(actor, new_parent, {Role.DISTRICT_ADMIN}, action_label="移入下级单位")
    if new_parent.path.startswith(unit.path):
        raise ServiceError("不能把单位移到它自己或它的下级之下")
    if unit.kind not in OrgUnit.CHILD_KINDS[new_parent.kind]:
        raise ServiceError(f"{new_parent.get_kind_display()}下不能设立{unit.get_kind_display()}")
    if new_parent.is_retired:
        raise ServiceError(f"「{new_parent.name}」已撤销")
    old_path, old_parent = unit.path, unit.parent_id
    new_path = f"{new_parent.path}{unit.pk}/"
    shift = new_parent.depth + 1 - unit.depth
    subtree = OrgUnit.objects.filter(path__startswith=old_path)
    # Rewrite the prefix of the whole subtree in one statement.
    from django.db.models import F
    from django.db.models.functions import Length
    subtree.update(path=Concat(Value(new_path), Substr("path", Length(Value(old_path)) + 1)),
                   depth=F("depth") + shift)
    OrgUnit.objects.filter(pk=unit.pk).update(parent=new_parent)
    forget_memberships(actor)
    unit.refresh_from_db()
    audit(actor=actor, action=A.UPDATE, unit=unit, obj=unit, verb="move",
          changes={"parent": [old_parent, new_parent.pk], "path": [old_path, unit.path]})
    return unit


@transaction.atomic
def orgunit_retire(*, actor, unit: OrgUnit) -> OrgUnit:
    """Units are never deleted (records point at them); a retired unit takes no new records."""
    require(actor, unit, CHANGE)
    if unit.parent_id is None:
        raise ServiceError("不能撤销顶级单位")
    if unit.is_retired:
        raise ServiceError(f"「{unit.name}」已经撤销")
    if OrgUnit.objects.filter(parent=unit, retired_at__isnull=True).exists():
        raise ServiceError(f"「{unit.name}」还有未撤销的下级单位，请先撤销或移走它们")
    unit.retired_at = timezone.now()
    OrgUnit.objects.filter(pk=unit.pk).update(retired_at=unit.retired_at)
    audit(actor=actor, action=A.STATE, unit=unit, obj=unit, verb="retire", changes={"retired": [False, True]})
    return unit


# --- people ---------------------------------------------------------------------------

def home_unit(user) -> OrgUnit | None:
    membership = user.memberships.select_related("org_unit").order_by("org_unit__depth", "id").first()
    return membership.org_unit if membership else OrgUnit.objects.filter(parent=None).first()


@transaction.atomic
def user_create(*, actor, username: str, display_name: str, password: str, role: str, unit: OrgUnit,
                phone: str = "") -> User:
    """Create a person together with the first membership (nobody exists outside the tree)."""
    require_unit(actor, unit, {Role.DISTRICT_ADMIN}, action_label="新增用户")
    username = (username or "").strip()
    errors = {}
    if not username or len(username) > 150 or not all(ch.isalnum() or ch in "@.+-_" for ch in username):
        errors["username"] = "用户名只能由字母、数字和 @.+-_ 组成"
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = "用户名已存在"
    if role not in Role.values:
        errors["role"] = "角色不正确"
    if phone:
        try:
            phone = personal.clean_phone(phone)
        except ValidationError as e:
            errors["phone"] = _messages(e)
    user = User(username=username, display_name=(display_name or "").strip()[:50])
    try:
        password_validation.validate_password(password, user)
    except ValidationError as e:
        errors["password"] = _messages(e)
    if errors:
        raise ServiceError(next(iter(errors.values())), fields=errors)
    user.set_password(password)
    user.phone_enc = personal.encrypt(phone)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the same form submitted twice at once: the other one created it
        raise ServiceError("用户名已存在", fields={"username": "用户名已存在"}) from None
    membership = Membership.objects.create(user=user, role=role, org_unit=unit)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=user,
          changes={"username": username, "display_name": user.display_name, "role": role, "unit": unit.pk})
    audit(actor=actor, action=A.CREATE, unit=unit, obj=membership, changes={"user": user.pk, "role": role})
    return user


@transaction.atomic
def membership_add(*, actor, user: User, role: str, unit: OrgUnit) -> Membership:
    require_unit(actor, unit, {Role.DISTRICT_ADMIN}, action_label="分配角色")
    if role not in Role.values:
        raise ServiceError("角色不正确", fields={"role": "角色不正确"})
    if Membership.objects.filter(user=user, role=role, org_unit=unit).exists():
        raise ServiceError(f"{user.label} 已在「{unit.name}」担任{Role(role).label}")
    membership = Membership.objects.create(user=user, role=role, org_unit=unit)
    forget_memberships(user)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=membership, changes={"user": user.pk, "role": role})
    return membership


@transaction.atomic
def membership_remove(*, actor, membership: Membership) -> None:
    require(actor, membership, CHANGE)
    if not Membership.objects.select_for_update().filter(pk=membership.pk).exists():
        raise NotInReach()  # removed meanwhile (a double submit): gone, like any missing record
    if membership.user_id == actor.pk and membership.role == Role.DISTRICT_ADMIN:
        raise ServiceError("不能移除自己的管理员角色")
    unit = membership.org_unit
    audit(actor=actor, action=A.DELETE, unit=unit, obj=membership,
          changes={"user": membership.user_id, "role": membership.role})
    membership.delete()
    forget_memberships(membership.user)


@transaction.atomic
def user_set_active(*, actor, user: User, active: bool) -> User:
    from .models import users_in_reach
    if not users_in_reach(actor, CHANGE).filter(pk=user.pk).exists():
        raise NotInReach()
    if user.pk == actor.pk:
        raise ServiceError("不能停用自己的账号")
    # the state is read under the row lock, so a repeated request sets it once and audits once
    current = User.objects.select_for_update().values_list("is_active", flat=True).get(pk=user.pk)
    if current == active:
        user.is_active = active
        return user
    User.objects.filter(pk=user.pk).update(is_active=active)
    user.is_active = active
    audit(actor=actor, action=A.STATE, unit=home_unit(user), obj=user, changes={"is_active": [not active, active]})
    return user


@transaction.atomic
def password_change(*, actor, old_password: str, new_password: str) -> None:
    if not actor.check_password(old_password or ""):
        raise ServiceError("原密码不正确", fields={"old_password": "原密码不正确"})
    try:
        password_validation.validate_password(new_password, actor)
    except ValidationError as e:
        raise ServiceError(_messages(e), fields={"new_password": _messages(e)}) from None
    actor.set_password(new_password)
    actor.save(update_fields=["password"])
    audit(actor=actor, action=A.UPDATE, unit=home_unit(actor), obj=actor, verb="password_change")


# --- login --------------------------------------------------------------------------

def login_throttled(username: str) -> bool:
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    return LoginFailure.objects.filter(username__iexact=username, at__gte=since).count() >= settings.LOGIN_FAILURE_LIMIT


@transaction.atomic
def login_failed(*, username: str, ip: str) -> None:
    LoginFailure.objects.create(username=username[:150], ip=ip[:64], at=timezone.now())
    audit(actor=None, action=A.LOGIN_FAILED, unit=OrgUnit.objects.filter(parent=None).first(),
          object_type="core.user", object_repr=username[:150], changes={"ip": ip})


@transaction.atomic
def login_succeeded(*, user, ip: str) -> None:
    LoginFailure.objects.filter(username__iexact=user.username).delete()
    audit(actor=user, action=A.LOGIN, unit=home_unit(user), obj=user, changes={"ip": ip})


@transaction.atomic
def logout_recorded(*, user) -> None:
    audit(actor=user, action=A.LOGOUT, unit=home_unit(user), obj=user)


# --- personal data ----------------------------------------------------------------------

UNMASK_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.SUPERVISOR})


def may_unmask(user, unit: OrgUnit, roles=UNMASK_ROLES, *, paths: list[str] | None = None) -> bool:
    """Whether ``user`` holds one of ``roles`` over ``unit``. A module whose reach differs from the
    core rule (the veterans department covers its district) passes the subtree roots it grants
    for those roles as ``paths``."""
    from .reach import paths_for
    roots = paths_for(user, roles) if paths is None else paths
    return any(unit.path.startswith(root) for root in roots)


@transaction.atomic
def personal_unmask(*, actor, obj, field: str, unit: OrgUnit, roles=UNMASK_ROLES,
                    paths: list[str] | None = None) -> str:
    """Return the clear value of ``obj.<field>_enc`` for a role that may, auditing it."""
    if not may_unmask(actor, unit, roles, paths=paths):
        raise Forbidden("您的角色无权查看完整的个人敏感信息")
    value = personal.decrypt(getattr(obj, f"{field}_enc"))
    audit(actor=actor, action=A.UNMASK, unit=unit, obj=obj, verb=field, changes={"field": field})
    return value


# --- API tokens ------------------------------------------------------------------------

TOKEN_PREFIX = "gdk_"


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def token_create(*, actor, owner: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; the clear key is returned once and never stored."""
    if owner.pk != actor.pk and Role.DISTRICT_ADMIN not in roles_of(actor):
        raise Forbidden("只能为自己创建令牌")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError("请填写令牌名称（不超过 100 字）", fields={"name": "请填写令牌名称"})
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=owner, name=name, prefix=key[:12], key_hash=token_hash(key))
    audit(actor=actor, action=A.CREATE, unit=home_unit(owner), obj=token,
          object_repr=f"{owner.username}:{name}", changes={"owner": owner.pk, "name": name})
    return token, key


@transaction.atomic
def token_revoke(*, actor, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk and Role.DISTRICT_ADMIN not in roles_of(actor):
        raise Forbidden("只能吊销自己的令牌")
    token.revoked_at = ApiToken.objects.select_for_update().values_list("revoked_at", flat=True).get(pk=token.pk)
    if token.revoked_at:
        raise ServiceError("该令牌已吊销")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit(actor=actor, action=A.STATE, unit=home_unit(token.user), obj=token, verb="revoke",
          object_repr=f"{token.user.username}:{token.name}")
    return token


def token_authenticate(key: str) -> User | None:
    if not key or not key.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(key), revoked_at=None).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- to-dos ------------------------------------------------------------------------------

def _source(obj) -> tuple[str, str]:
    return obj._meta.label_lower, str(obj.pk)


def todo_open(*, user, kind: str, title: str, source, url: str = "", unit: OrgUnit | None = None,
              due_date=None) -> Todo:
    """Put an item in ``user``'s inbox (idempotent per user, kind and source)."""
    source_type, source_id = _source(source)
    existing = Todo.objects.filter(user=user, kind=kind, source_type=source_type, source_id=source_id,
                                   done_at=None).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            todo = Todo.objects.create(user=user, kind=kind, title=title[:200], url=url, source_type=source_type,
                                       source_id=source_id, org_unit=unit, due_date=due_date)
    except IntegrityError:
        return Todo.objects.get(user=user, kind=kind, source_type=source_type, source_id=source_id, done_at=None)
    if unit is not None:
        hooks = list(Webhook.objects.filter(org_unit__in=[unit, *unit.ancestors()], active=True)
                     .values_list("url", flat=True))
        if hooks:
            text = f"【区政通待办】{user.label}：{title}"
            transaction.on_commit(lambda: [webhook_deliver.enqueue(url=h, text=text) for h in hooks])
    return todo


def todo_close(*, source, kind: str | None = None, user=None) -> int:
    """Close the open items about ``source`` (the work is done)."""
    source_type, source_id = _source(source)
    items = Todo.objects.filter(source_type=source_type, source_id=source_id, done_at=None)
    if kind:
        items = items.filter(kind=kind)
    if user is not None:
        items = items.filter(user=user)
    return items.update(done_at=timezone.now())


def todo_count(user) -> int:
    return Todo.objects.filter(user=user, done_at=None).count() if user.is_authenticated else 0


# --- webhooks -----------------------------------------------------------------------------

from django_tasks import task  # noqa: E402


@task()
def webhook_deliver(*, url: str, text: str) -> int:
    """POST a WeCom-robot style message; returns the HTTP status."""
    body = json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
        return response.status


@transaction.atomic
def webhook_create(*, actor, unit: OrgUnit, name: str, url: str) -> Webhook:
    require_unit(actor, unit, Webhook.reach.change, action_label="配置通知")
    from django.core.validators import URLValidator
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ServiceError("地址格式不正确，应以 http:// 或 https:// 开头", fields={"url": "地址格式不正确"}) from None
    name = _check_name(name)
    hook = Webhook.objects.create(org_unit=unit, name=name, url=url)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=hook, changes={"name": name, "url": url})
    return hook


@transaction.atomic
def webhook_delete(*, actor, hook: Webhook) -> None:
    require(actor, hook, CHANGE)
    if not Webhook.objects.select_for_update().filter(pk=hook.pk).exists():
        raise NotInReach()  # deleted meanwhile (a double submit)
    audit(actor=actor, action=A.DELETE, unit=hook.org_unit, obj=hook, changes={"url": hook.url})
    hook.delete()


# --- periodic reports ----------------------------------------------------------------------

@transaction.atomic
def report_submit(*, actor, kind, unit: OrgUnit, period_start, data: dict) -> PeriodicReport:
    """Submit (or resubmit) a unit's report for a period."""
    require_unit(actor, unit, {Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER},
                 action_label="上报")
    if unit.kind not in kind.unit_kinds:
        raise ServiceError(f"{unit.get_kind_display()}不需要报送「{kind.name}」")
    report, created = PeriodicReport.objects.update_or_create(
        kind=kind, org_unit=unit, period_start=period_start,
        defaults={"data": data, "submitted_by": actor, "submitted_at": timezone.now()})
    audit(actor=actor, action=A.CREATE if created else A.UPDATE, unit=unit, obj=report, verb="report_submit",
          changes={"kind": kind.code, "period": str(period_start)})
    return report
