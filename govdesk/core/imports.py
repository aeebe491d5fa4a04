"""The core's tables: org units (``orgunits``) and people with their roles (``users``).

Org units go through the same services as the 组织机构 page (``orgunit_create``,
``orgunit_rename``), one savepoint per row: an org tree has hundreds of rows, not
millions. A parent may be a unit created earlier in the same file, in any order
within a batch. An import creates and renames units; it never moves, retypes or
retires one (those change whole subtrees and stay on the page).

People are written in bulk. A row creates the user with the row's role in the
row's unit, or, for an existing user, updates 姓名/手机号 and adds the role if the
user does not hold it yet (roles are never taken away by an import). The
初始密码 column is optional: a new user without one gets no usable password and
signs in once an administrator sets one; a password given is checked by the
password rules. Passwords of existing users are never changed by an import.
"""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower

from . import personal, queries, services
from .audit import Entry, audit_many
from .errors import NotInReach, ServiceError
from .models import AuditEvent, Membership, OrgUnit, User, users_in_reach
from .reach import CHANGE, VIEW, Role, paths_for
from .tables.schema import Column, ExportColumn, RowError, TableSchema, UnitRef, ValidRow, register

A = AuditEvent.Action
ADMIN = frozenset({Role.DISTRICT_ADMIN})
CHUNK = 400  # SQLite's limit on query parameters


def _chunks(values: list) -> list[list]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _valid_code(code: str) -> None:
    try:
        services._check_code(code)
    except ServiceError as e:
        raise ValidationError(e.message) from None


def _under(actor, queryset, filters: dict, path_lookup: str):
    """Narrow an export to the subtree of the unit coded ``filters["under"]``, if given and visible."""
    code = (filters or {}).get("under")
    if not code:
        return queryset
    unit = OrgUnit.objects.restrict(actor, VIEW).filter(code=code).first()
    if unit is None:
        return queryset.none()
    return queryset.filter(**{f"{path_lookup}__startswith": unit.path})


# --- org units ---------------------------------------------------------------------------

class _Units:
    """The units a batch refers to, by code and by name, growing as rows create units."""

    def __init__(self, actor, rows: list[ValidRow]):
        codes = {r.values["code"] for r in rows} | {r.values["parent_code"] for r in rows if r.values["parent_code"]}
        names = sorted({r.values["parent_name"] for r in rows if r.values["parent_name"]})
        self.by_code: dict[str, OrgUnit] = {}
        self.by_name: dict[str, list[OrgUnit]] = {}
        for chunk in _chunks(sorted(codes)):
            self.by_code.update((u.code, u) for u in OrgUnit.objects.filter(code__in=chunk))
        for chunk in _chunks(names):
            for unit in OrgUnit.objects.filter(name__in=chunk):
                self.by_name.setdefault(unit.name, []).append(unit)
        self.roots = paths_for(actor, ADMIN)
        self.coming_codes = {r.values["code"] for r in rows}
        self.coming_names = {r.values["name"] for r in rows}

    def reachable(self, unit: OrgUnit) -> bool:
        return any(unit.path.startswith(root) for root in self.roots)

    def add(self, unit: OrgUnit) -> None:
        self.by_code[unit.code] = unit
        self.by_name.setdefault(unit.name, []).append(unit)

    def parent_of(self, values: dict) -> tuple[OrgUnit | None, str]:
        """(parent, problem): problem is "" when found or not given, "later" when a later
        row of the batch may create it, else the Chinese message."""
        code, name = values["parent_code"], values["parent_name"]
        if code:
            unit = self.by_code.get(code)
            if unit is not None and self.reachable(unit):
                return unit, ""
            if unit is None and code in self.coming_codes:
                return None, "later"
            return None, f"上级单位「{code}」不存在或不在您的权限范围内"
        if name:
            found = [u for u in self.by_name.get(name, []) if self.reachable(u)]
            if len(found) == 1:
                return found[0], ""
            if len(found) > 1:
                return None, f"有 {len(found)} 个名为「{name}」的单位，请改填上级编码"
            if name in self.coming_names:
                return None, "later"
            return None, f"上级单位「{name}」不存在或不在您的权限范围内"
        return None, ""


def _orgunit_existing(actor, units: _Units, unit: OrgUnit, values: dict) -> str | RowError:
    if not units.reachable(unit):
        return RowError(f"编码 {unit.code} 已被使用", "code")
    if unit.kind != values["kind"]:
        return RowError(f"单位「{unit.name}」已存在，类型是{unit.get_kind_display()}；导入不能修改单位类型", "kind")
    if values["parent_code"] or values["parent_name"]:
        parent, problem = units.parent_of(values)
        if problem:
            return RowError(problem if problem != "later" else "上级单位须先于下级单位导入", "parent_code")
        if parent.pk != unit.parent_id:
            return RowError(f"单位「{unit.name}」已存在于其他上级单位下；导入不能移动单位，请在组织机构页面操作",
                            "parent_code")
    if unit.name == values["name"]:
        return "unchanged"
    try:
        with transaction.atomic():
            services.orgunit_rename(actor=actor, unit=unit, name=values["name"])
    except ServiceError as e:
        return RowError(e.message)
    except NotInReach:
        return RowError(f"编码 {unit.code} 已被使用", "code")
    return "updated"


def orgunits_apply(actor, rows: list[ValidRow], dry_run: bool) -> list:
    """Create or rename the batch's units through the org-tree services."""
    units = _Units(actor, rows)
    outcomes: list = [None] * len(rows)
    pending = list(range(len(rows)))
    while pending:
        later = []
        for i in pending:
            values = rows[i].values
            existing = units.by_code.get(values["code"])
            if existing is not None:
                outcomes[i] = _orgunit_existing(actor, units, existing, values)
                continue
            parent, problem = units.parent_of(values)
            if problem == "later":
                later.append(i)
                continue
            if problem:
                outcomes[i] = RowError(problem, "parent_code")
                continue
            try:
                with transaction.atomic():
                    unit = services.orgunit_create(actor=actor, parent=parent, kind=values["kind"],
                                                   code=values["code"], name=values["name"])
            except ServiceError as e:
                outcomes[i] = RowError(e.message)
                continue
            except NotInReach:
                outcomes[i] = RowError("上级单位不存在或不在您的权限范围内", "parent_code")
                continue
            units.add(unit)
            outcomes[i] = "created"
        if len(later) == len(pending):  # nobody else will create these parents
            for i in later:
                values = rows[i].values
                wanted = values["parent_code"] or values["parent_name"]
                outcomes[i] = RowError(f"上级单位「{wanted}」不存在或不在您的权限范围内", "parent_code")
            break
        pending = later
    return outcomes


def orgunits_export(actor, filters: dict):
    """The units page's rows: its search (``q``), ``kind`` and retired filters, or a subtree (``under``)."""
    filters = filters or {}
    units = queries.units_visible(actor, search=filters.get("q", ""), kind=filters.get("kind", ""),
                                  include_retired=filters.get("retired") == "1")
    return _under(actor, units.select_related("parent").order_by("path"), filters, "path")


ORGUNITS = register(TableSchema(
    kind="orgunits",
    title="组织单位",
    columns=(
        Column("上级编码", "parent_code", aliases=("上级单位编码", "上级代码"), max_length=32,
               help="上级单位的编码；也可以只填上级单位名称"),
        Column("上级单位", "parent_name", aliases=("上级单位名称", "上级名称"), max_length=100),
        Column("类型", "kind", aliases=("单位类型",), type=OrgUnit.Kind, required=True),
        Column("编码", "code", aliases=("单位编码", "代码"), required=True, max_length=32, validators=(_valid_code,),
               help="全区唯一，字母、数字和 - _ ."),
        Column("名称", "name", aliases=("单位名称",), required=True, max_length=100),
    ),
    natural_key=("code",),
    apply_batch=orgunits_apply,
    help="按编码识别单位：编码已存在的单位只会改名，不会移动或修改类型；上级单位可以在同一文件中先出现。",
    export_query=orgunits_export,
    export_columns=(
        ExportColumn("上级编码", "parent.code"),
        ExportColumn("上级单位", "parent.name"),
        ExportColumn("类型", "get_kind_display"),
        ExportColumn("编码", "code"),
        ExportColumn("名称", "name", width=30),
    ),
))


# --- people -----------------------------------------------------------------------------------

def _valid_username(username: str) -> None:
    if not all(ch.isalnum() or ch in "@.+-_" for ch in username):
        raise ValidationError("用户名只能由字母、数字和 @.+-_ 组成")


def _decrypt(token: str) -> str:
    return personal.decrypt(token) if token else ""


def users_apply(actor, rows: list[ValidRow], dry_run: bool) -> list:
    """Create users with their first role, or update existing ones, in bulk with one audit event per row."""
    lowered = sorted({r.values["username"].lower() for r in rows})
    existing: dict[str, User] = {}
    for chunk in _chunks(lowered):
        existing.update((u.username.lower(), u) for u in
                        User.objects.annotate(lowered=Lower("username")).filter(lowered__in=chunk))
    ids = [u.pk for u in existing.values()]
    changeable: set[int] = set()
    held: set[tuple] = set()
    for chunk in _chunks(ids):
        changeable.update(users_in_reach(actor, CHANGE).filter(pk__in=chunk).values_list("pk", flat=True))
        held.update(Membership.objects.filter(user_id__in=chunk).values_list("user_id", "role", "org_unit_id"))

    outcomes: list = []
    created: list[tuple[User, ValidRow]] = []
    updated: list[User] = []
    memberships: list[Membership] = []
    entries: list[Entry] = []
    for row in rows:
        values = row.values
        unit: OrgUnit = values["unit"]
        user = existing.get(values["username"].lower())
        if user is None:
            user = User(username=values["username"], display_name=values["display_name"])
            password = values["password"]
            if password:
                try:
                    password_validation.validate_password(password, user)
                except ValidationError as e:
                    outcomes.append(RowError("；".join(e.messages), "password"))
                    continue
                if not dry_run:  # hashing is deliberately slow; a dry run is rolled back anyway
                    user.set_password(password)
            else:
                user.set_unusable_password()
            user.phone_enc = personal.encrypt(values["phone"] or "")
            created.append((user, row))
            outcomes.append("created")
            continue
        if user.pk not in changeable:
            outcomes.append(RowError(f"用户名 {values['username']} 已被使用", "username"))
            continue
        changes: dict = {}
        if values["display_name"] != user.display_name:
            changes["display_name"] = [user.display_name, values["display_name"]]
            user.display_name = values["display_name"]
        old_phone = _decrypt(user.phone_enc)
        if values["phone"] and values["phone"] != old_phone:
            changes["phone"] = [personal.mask_phone(old_phone), personal.mask_phone(values["phone"])]
            user.phone_enc = personal.encrypt(values["phone"])
        if (user.pk, values["role"], unit.pk) not in held:
            held.add((user.pk, values["role"], unit.pk))
            memberships.append(Membership(user=user, role=values["role"], org_unit=unit))
            changes["membership"] = {"role": values["role"], "unit": unit.code}
        if not changes:
            outcomes.append("unchanged")
            continue
        if "display_name" in changes or "phone" in changes:
            updated.append(user)
        entries.append(Entry(action=A.UPDATE, unit=unit, obj=user, verb="import", changes=changes))
        outcomes.append("updated")

    if created:
        User.objects.bulk_create([user for user, _row in created], batch_size=500)
        for user, row in created:
            memberships.append(Membership(user=user, role=row.values["role"], org_unit=row.values["unit"]))
            entries.append(Entry(action=A.CREATE, unit=row.values["unit"], obj=user, verb="import", changes={
                "username": user.username, "display_name": user.display_name, "role": row.values["role"],
                "unit": row.values["unit"].pk, "phone": personal.mask_phone(row.values["phone"] or ""),
                "password_set": bool(row.values["password"])}))
    if updated:
        User.objects.bulk_update(updated, ["display_name", "phone_enc"], batch_size=500)
    Membership.objects.bulk_create(memberships, batch_size=500)
    audit_many(actor=actor, entries=entries)
    return outcomes


def users_export(actor, filters: dict):
    """One row per membership of the users page's people (its ``q`` and ``role`` filters)."""
    filters = filters or {}
    memberships = Membership.objects.restrict(actor, VIEW)
    if filters.get("q") or filters.get("role"):
        people = queries.users_visible(actor, search=filters.get("q", ""), role=filters.get("role", ""))
        memberships = memberships.filter(user__in=people.values("pk"))
    memberships = memberships.select_related("user", "org_unit").order_by("org_unit__path", "user__username", "role")
    return _under(actor, memberships, filters, "org_unit__path")


USERS = register(TableSchema(
    kind="users",
    title="用户",
    columns=(
        Column("用户名", "username", aliases=("账号", "登录名", "登录账号"), required=True, max_length=150,
               validators=(_valid_username,), help="登录用的账号，字母、数字和 @.+-_"),
        Column("姓名", "display_name", aliases=("名字", "真实姓名"), required=True, max_length=50),
        Column("手机号", "phone", aliases=("手机", "手机号码", "联系电话", "电话"), type="phone"),
        Column("角色", "role", type=Role, required=True),
        Column("所属单位编码", "unit", aliases=("所属单位", "单位编码", "所属单位代码"),
               type=UnitRef(by="either", roles=ADMIN), required=True, help="填写单位编码（或不重名的单位名称）"),
        Column("初始密码", "password", aliases=("密码",), max_length=128, secret=True,
               help="选填；不填则账号暂不能登录，由管理员设置密码。已有用户的密码不会被修改"),
    ),
    natural_key=("username",),
    apply_batch=users_apply,
    batch_size=500,
    help="按用户名识别：已有的用户会更新姓名、手机号并增加该行的角色（不会删除已有角色）。",
    export_query=users_export,
    export_columns=(
        ExportColumn("用户名", "user.username"),
        ExportColumn("姓名", "user.display_name"),
        ExportColumn("手机号", lambda m: _decrypt(m.user.phone_enc), personal="phone"),
        ExportColumn("角色", "get_role_display"),
        ExportColumn("所属单位编码", "org_unit.code"),
        ExportColumn("单位名称", "org_unit.name", width=30),
        ExportColumn("停用", lambda m: not m.user.is_active),
    ),
))
