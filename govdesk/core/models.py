"""Core data: the org tree, people and their memberships, the audit chain,
API tokens, to-dos, webhooks, periodic reports and background table jobs."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from .reach import READ_ONLY_ROLES, Reach, Role, Scoped, paths_for, subtree_q

__all__ = ["Role", "OrgUnit", "User", "Membership", "AuditChain", "AuditEvent", "ApiToken", "Todo"]


class OrgUnit(Scoped):
    class Kind(models.TextChoices):
        DISTRICT = "district", "区"
        DEPARTMENT = "department", "部门"
        STREET = "street", "街道"
        COMMUNITY = "community", "社区"
        COURTYARD = "courtyard", "楼院"
        INSTITUTION = "institution", "机构"
        ENTERPRISE = "enterprise", "企业"

    # Which kinds may sit under which: the tree's shape is data the services check.
    CHILD_KINDS = {
        Kind.DISTRICT: {Kind.DEPARTMENT, Kind.STREET, Kind.INSTITUTION, Kind.ENTERPRISE},
        Kind.DEPARTMENT: {Kind.INSTITUTION, Kind.ENTERPRISE},
        Kind.STREET: {Kind.COMMUNITY, Kind.INSTITUTION},
        Kind.COMMUNITY: {Kind.COURTYARD},
        Kind.COURTYARD: set(),
        Kind.INSTITUTION: set(),
        Kind.ENTERPRISE: set(),
    }

    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    code = models.CharField("编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=100)
    parent = models.ForeignKey("self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    # Materialised path of primary keys, "/1/7/42/": a subtree is a prefix.
    path = models.CharField(max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    pinyin = models.CharField(max_length=400, blank=True, editable=False)
    initials = models.CharField(max_length=100, blank=True, editable=False)
    retired_at = models.DateTimeField("撤销时间", null=True, blank=True)

    reach = Reach(path="path", view=frozenset(Role.values), change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "组织单位"
        ordering = ["path"]
        indexes = [
            models.Index(fields=["path"], name="orgunit_path_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["kind", "name"]),
            models.Index(fields=["initials"]),
        ]

    def __str__(self):
        return self.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def chain_key(self) -> str:
        """The audit chain this unit's records write to: its branch just under the root
        (a street, a department), so writes in different streets never queue on one chain."""
        ids = [p for p in self.path.split("/") if p]
        return "/".join(ids[:2]) or "platform"

    def ancestors(self):
        ids = [int(p) for p in self.path.split("/") if p][:-1]
        units = {u.id: u for u in OrgUnit.objects.filter(id__in=ids)}
        return [units[i] for i in ids if i in units]


class User(AbstractUser):
    display_name = models.CharField("姓名", max_length=50, blank=True)
    phone_enc = models.TextField(blank=True, editable=False)

    class Meta:
        verbose_name = "用户"

    def __str__(self):
        return self.display_name or self.username

    @property
    def label(self) -> str:
        return self.display_name or self.username


class Membership(Scoped):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField("角色", max_length=24, choices=Role.choices)
    org_unit = models.ForeignKey(OrgUnit, verbose_name="所属单位", on_delete=models.PROTECT, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(view=frozenset({Role.DISTRICT_ADMIN}) | READ_ONLY_ROLES, change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "任职"
        constraints = [models.UniqueConstraint(fields=["user", "role", "org_unit"], name="membership_unique")]

    def __str__(self):
        return f"{self.org_unit.name} · {self.get_role_display()}"


def users_in_reach(user, action: str = "view"):
    """Users are scoped through their memberships: an administrator reaches the
    people who hold a membership inside the administrator's subtree."""
    roles = Membership.reach.roles_for(action)
    q = subtree_q("memberships__org_unit__path", paths_for(user, roles))
    if q is None:
        return User.objects.none()
    ids = User.objects.filter(q).values("id")
    return User.objects.filter(id__in=ids)


class AuditChain(models.Model):
    """Head of one hash chain. Each street/department branch has its own chain so
    that a write locks only its branch's head, not the whole platform's."""

    key = models.CharField(max_length=64, primary_key=True)
    seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)


class AuditEvent(Scoped):
    class Action(models.TextChoices):
        CREATE = "create", "新增"
        UPDATE = "update", "修改"
        STATE = "state", "状态变更"
        DELETE = "delete", "删除"
        IMPORT = "import", "导入"
        EXPORT = "export", "导出"
        UNMASK = "unmask", "查看敏感信息"
        LOGIN = "login", "登录"
        LOGIN_FAILED = "login_failed", "登录失败"
        LOGOUT = "logout", "退出"

    chain = models.CharField(max_length=64)
    seq = models.BigIntegerField()
    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, db_index=True)
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    verb = models.CharField(max_length=64, blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    unit_id = models.BigIntegerField(null=True)
    unit_path = models.CharField(max_length=255)
    changes = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    reach = Reach(path="unit_path", view=frozenset({Role.DISTRICT_ADMIN, Role.SUPERVISOR}), change=frozenset())

    class Meta:
        verbose_name = "审计事件"
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique")]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["unit_path"], name="audit_unit_path_prefix", opclasses=["varchar_pattern_ops"]),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit events are append-only")


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("名称", max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API 令牌"
        ordering = ["-created_at"]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LoginFailure(models.Model):
    username = models.CharField(max_length=150, db_index=True)
    ip = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(db_index=True)


class Todo(models.Model):
    """One item in a user's inbox. Modules open and close items through
    ``core.services.todo_open`` / ``todo_close``; the item points at the record
    whose work it is, so finishing that work closes it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="todos")
    kind = models.CharField(max_length=48)
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=300, blank=True)
    source_type = models.CharField(max_length=64)
    source_id = models.CharField(max_length=64)
    org_unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT)
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["done_at", "-created_at"]
        indexes = [models.Index(fields=["user", "done_at"]), models.Index(fields=["source_type", "source_id"])]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "source_type", "source_id"], condition=Q(done_at__isnull=True),
                                    name="todo_one_open_per_source"),
        ]


class Webhook(Scoped):
    """An outbound notification target for a unit's to-dos (e.g. a WeCom group robot)."""

    org_unit = models.ForeignKey(OrgUnit, verbose_name="单位", on_delete=models.PROTECT, related_name="webhooks")
    name = models.CharField("名称", max_length=100)
    url = models.URLField("地址", max_length=500)
    active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(change=frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER}))


class ReportKind(models.Model):
    """A kind of periodic report (上报) that units of given kinds owe each period."""

    class Period(models.TextChoices):
        WEEK = "week", "每周"
        MONTH = "month", "每月"

    code = models.CharField(max_length=48, unique=True)
    name = models.CharField(max_length=100)
    period = models.CharField(max_length=8, choices=Period.choices)
    unit_kinds = models.JSONField(default=list)
    due_days = models.PositiveSmallIntegerField(default=3, help_text="days after the period's end")

    def __str__(self):
        return self.name


class PeriodicReport(Scoped):
    kind = models.ForeignKey(ReportKind, on_delete=models.PROTECT, related_name="reports")
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="periodic_reports")
    period_start = models.DateField()
    data = models.JSONField(default=dict)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "org_unit", "period_start"], name="report_once_per_period")]


class TableJob(Scoped):
    """A background import or export with its progress, so the user can leave and come back."""

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "进行中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    direction = models.CharField(max_length=8, choices=[("import", "导入"), ("export", "导出")])
    kind = models.CharField(max_length=48)
    mode = models.CharField(max_length=8, blank=True)
    dry_run = models.BooleanField(default=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="table_jobs")
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    source_name = models.CharField(max_length=255, blank=True)
    source_file = models.CharField(max_length=500, blank=True)
    result_file = models.CharField(max_length=500, blank=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    reach = Reach(view=frozenset(Role.values), change=frozenset(Role.values))

    @classmethod
    def reach_q(cls, user, action):
        # A job is its owner's; nobody else watches another person's import.
        if not getattr(user, "is_authenticated", False):
            return None
        return Q(user=user)

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, int(self.done * 100 / self.total))
