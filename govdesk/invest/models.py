"""Investment promotion (招商引资): the enterprise library, assessments, squads and their
activities, the project pipeline with its documents, appeals, the weekly key-project
meeting and the carriers (land parcels and buildings) streets and departments report.

Reach. Firms, projects, squads, appeals and meetings belong to the commerce bureau's
unit; its officers reach them by the usual subtree rule. Two extra rules, both
``reach_q`` overrides: a department officer who is a member of a squad also reaches the
firms that squad owns (and their assessments, activities); and the lead unit's
officers (``Office.lead_unit``) read every carrier of the district, while a street or
department reaches only the carriers it reports.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from govdesk.core.files import StoredFile
from govdesk.core.models import OrgUnit
from govdesk.core.reach import (
    OFFICERS,
    READ_ONLY_ROLES,
    VIEW,
    Reach,
    Role,
    Scoped,
    memberships_of,
    paths_for,
    subtree_q,
)

User = settings.AUTH_USER_MODEL
WAN = Decimal("0.01")


class Region(models.TextChoices):
    YRD = "yrd", "长三角"
    PRD = "prd", "珠三角"
    BOHAI = "bohai", "环渤海"
    OTHER = "other", "其他地区"


class Conclusion(models.TextChoices):
    PURSUE = "pursue", "重点跟进"
    WATCH = "watch", "持续关注"
    DROP = "drop", "暂缓放弃"


# --- reference data (seeded by a data migration) ------------------------------------------

class Office(models.Model):
    """The module's configuration: which unit leads investment promotion (the commerce
    bureau) and the clocks. One row (pk=1), created by the data migration."""

    lead_unit = models.ForeignKey(OrgUnit, verbose_name="牵头单位", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    stall_amber_days = models.PositiveSmallIntegerField("停滞预警天数（黄）", default=30)
    stall_red_days = models.PositiveSmallIntegerField("停滞告警天数（红）", default=60)
    appeal_days_normal = models.PositiveSmallIntegerField("一般诉求办理时限（天）", default=15)
    appeal_days_urgent = models.PositiveSmallIntegerField("紧急诉求办理时限（天）", default=7)
    appeal_days_critical = models.PositiveSmallIntegerField("特急诉求办理时限（天）", default=3)
    # Printed on every pitch sheet (项目包装): what the district offers an investor.
    advantages = models.TextField("区位优势", blank=True)

    class Meta:
        verbose_name = "招商配置"
        constraints = [models.CheckConstraint(condition=Q(stall_red_days__gt=models.F("stall_amber_days")),
                                              name="invest_office_red_after_amber")]

    @classmethod
    def current(cls) -> Office:
        office, _ = cls.objects.get_or_create(pk=1)
        return office


class Industry(models.Model):
    class System(models.TextChoices):
        FOUR_PLUS_ONE = "4+1", "“4+1”产业体系"
        EMERGING = "emerging", "战略性新兴产业"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField("产业", max_length=50)
    system = models.CharField("体系", max_length=12, choices=System.choices)
    group = models.CharField("门类", max_length=30)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "产业"
        ordering = ["order"]

    def __str__(self):
        return self.name if self.name == self.group else f"{self.group}·{self.name}"


class Tier(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField("榜单", max_length=50)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "企业层级"
        ordering = ["order"]

    def __str__(self):
        return self.name


class Dimension(models.Model):
    """A dimension of the assessment scorecard with its weight (weights of the active
    dimensions add up to 100)."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField("维度", max_length=50)
    weight = models.DecimalField("权重", max_digits=5, decimal_places=2)
    guidance = models.CharField("评分要点", max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "研判维度"
        ordering = ["order"]

    def __str__(self):
        return self.name


class HqGroup(models.Model):
    """A working group of the key-zone command HQ (指挥部)."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField("工作组", max_length=50)
    order = models.PositiveSmallIntegerField(default=0)
    # Overdue appeals escalate to the group that assesses and supervises.
    supervises = models.BooleanField("考核督察", default=False)
    leader = models.ForeignKey(User, verbose_name="负责人", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")

    class Meta:
        verbose_name = "指挥部工作组"
        ordering = ["order"]

    def __str__(self):
        return self.name


# --- squads ------------------------------------------------------------------------------------

class Squad(Scoped):
    org_unit = models.ForeignKey(OrgUnit, verbose_name="所属单位", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("小分队", max_length=50)
    region = models.CharField("主攻区域", max_length=8, choices=Region.choices)

    class Meta:
        verbose_name = "招商小分队"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["org_unit", "name"], name="invest_squad_name_unique")]

    def __str__(self):
        return self.name

    @classmethod
    def reach_q(cls, user, action):
        # Members read their own squad (its page, its firms); changing it stays with the bureau.
        q = super().reach_q(user, action)
        squads = squad_ids_of(user) if action == VIEW else None
        if squads is not None:
            q = Q(pk__in=squads) if q is None else q | Q(pk__in=squads)
        return q


class SquadMember(models.Model):
    squad = models.ForeignKey(Squad, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invest_squads")
    is_leader = models.BooleanField("队长", default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["squad", "user"], name="invest_squad_member_unique")]


class SquadMeeting(Scoped):
    """A squad's monthly meeting: what was reviewed and what was decided."""

    squad = models.ForeignKey(Squad, on_delete=models.CASCADE, related_name="meetings")
    held_on = models.DateField("会议日期")
    minutes = models.TextField("会议内容")
    decisions = models.TextField("议定事项", blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(path="squad__org_unit__path", change=frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER}))

    class Meta:
        verbose_name = "小分队月度例会"
        ordering = ["-held_on", "-id"]

    @classmethod
    def reach_q(cls, user, action):
        q = super().reach_q(user, action)
        squads = squad_ids_of(user)
        if squads is not None:
            q = Q(squad_id__in=squads) if q is None else q | Q(squad_id__in=squads)
        return q


def squad_ids_of(user):
    """The squads a department officer sits in (squad membership counts only for officers)."""
    if Role.DEPARTMENT_OFFICER not in {role for role, _ in memberships_of(user)}:
        return None
    return SquadMember.objects.filter(user=user).values("squad_id")


def firm_reach_q(user, action: str, prefix: str = "") -> Q | None:
    """Firm reach: the subtree rule on the firm's unit, or the firm's squad for its members."""
    q = subtree_q(f"{prefix}org_unit__path", paths_for(user, Firm.reach.roles_for(action)))
    squads = squad_ids_of(user)
    if squads is not None:
        by_squad = Q(**{f"{prefix}squad_id__in": squads})
        q = by_squad if q is None else q | by_squad
    return q


# --- enterprise library ---------------------------------------------------------------------------

class Firm(Scoped):
    org_unit = models.ForeignKey(OrgUnit, verbose_name="所属单位", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("企业名称", max_length=120)
    name_key = models.CharField(max_length=120, db_index=True, editable=False)
    credit_code = models.CharField("统一社会信用代码", max_length=18, blank=True)
    industry = models.ForeignKey(Industry, verbose_name="产业", on_delete=models.PROTECT, related_name="firms")
    region = models.CharField("总部所在区域", max_length=8, choices=Region.choices)
    city = models.CharField("所在城市", max_length=30, blank=True)
    referred_by = models.ForeignKey("self", verbose_name="推荐企业（以商引商）", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="referrals")
    squad = models.ForeignKey(Squad, verbose_name="责任小分队", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="firms")
    note = models.TextField("备注", blank=True)
    # The latest assessment's outcome, kept here so the library filters without a join.
    conclusion = models.CharField("研判结论", max_length=8, choices=Conclusion.choices, blank=True)
    priority = models.PositiveSmallIntegerField("优先级", null=True, blank=True)
    assessed_on = models.DateField("研判日期", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(change=frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER}))

    class Meta:
        verbose_name = "企业"
        constraints = [
            models.UniqueConstraint(fields=["credit_code"], condition=~Q(credit_code=""),
                                    name="invest_firm_credit_code_unique"),
        ]
        indexes = [models.Index(fields=["name", "id"]), models.Index(fields=["created_at", "id"]),
                   models.Index(fields=["conclusion", "assessed_on"])]

    def __str__(self):
        return self.name

    @classmethod
    def reach_q(cls, user, action):
        return firm_reach_q(user, action)


class FirmTier(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="tiers")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField("榜单年份", validators=[MinValueValidator(1990), MaxValueValidator(2100)])

    class Meta:
        ordering = ["tier__order"]
        constraints = [models.UniqueConstraint(fields=["firm", "tier"], name="invest_firm_tier_unique")]


class Contact(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField("姓名", max_length=30)
    title = models.CharField("职务", max_length=50, blank=True)
    phone_enc = models.TextField(blank=True, editable=False)
    phone_bidx = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_masked = models.CharField("电话", max_length=20, blank=True, editable=False)

    class Meta:
        ordering = ["id"]


# --- assessment --------------------------------------------------------------------------------

class Assessment(Scoped):
    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="assessments")
    met_on = models.DateField("研判会日期")
    conclusion = models.CharField("结论", max_length=8, choices=Conclusion.choices)
    priority = models.PositiveSmallIntegerField("优先级（1 最高）", validators=[MinValueValidator(1),
                                                                          MaxValueValidator(5)])
    squad = models.ForeignKey(Squad, verbose_name="责任小分队", on_delete=models.PROTECT, related_name="+")
    total = models.DecimalField("加权得分", max_digits=6, decimal_places=2)
    note = models.TextField("研判意见", blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(path="firm__org_unit__path", change=Firm.reach.change)

    class Meta:
        verbose_name = "研判"
        ordering = ["-met_on", "-id"]

    @classmethod
    def reach_q(cls, user, action):
        return firm_reach_q(user, action, "firm__")


class Score(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="scores")
    dimension = models.ForeignKey(Dimension, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    evidence = models.TextField()

    class Meta:
        ordering = ["dimension__order"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "dimension"], name="invest_score_once"),
            # A dimension is scored only on written evidence.
            models.CheckConstraint(condition=~Q(evidence=""), name="invest_score_has_evidence"),
            models.CheckConstraint(condition=Q(score__lte=100), name="invest_score_at_most_100"),
        ]


# --- activities --------------------------------------------------------------------------------

class Activity(Scoped):
    class Kind(models.TextChoices):
        VISIT = "visit", "外出拜访"
        RECEPTION = "reception", "来访接待"
        BROCHURE = "brochure", "寄送招商资料"
        INVITATION = "invitation", "发送邀请函"
        FOLLOW_UP = "follow_up", "回访"

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="activities")
    squad = models.ForeignKey(Squad, verbose_name="小分队", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="activities")
    kind = models.CharField("类型", max_length=12, choices=Kind.choices)
    happened_on = models.DateField("日期")
    participants = models.CharField("参加人员", max_length=200)
    place = models.CharField("地点", max_length=100, blank=True)
    summary = models.TextField("情况摘要")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(path="firm__org_unit__path", change=Firm.reach.change)

    class Meta:
        verbose_name = "招商活动"
        ordering = ["-happened_on", "-id"]
        indexes = [models.Index(fields=["squad", "happened_on"])]

    @classmethod
    def reach_q(cls, user, action):
        return firm_reach_q(user, action, "firm__")


# --- projects -----------------------------------------------------------------------------------

class Use(models.TextChoices):
    INDUSTRIAL = "industrial", "工业"
    COMMERCIAL = "commercial", "商业"
    OFFICE = "office", "商务办公"
    MIXED = "mixed", "综合"
    OTHER = "other", "其他"


class Project(Scoped):
    class Stage(models.TextChoices):
        LEAD = "lead", "线索"
        NEGOTIATING = "negotiating", "洽谈"
        SIGNED = "signed", "签约"
        REGISTERED = "registered", "注册落地"
        CONSTRUCTION = "construction", "开工建设"
        PRODUCTION = "production", "投产运营"
        LOST = "lost", "已流失"

    PIPELINE = [Stage.LEAD, Stage.NEGOTIATING, Stage.SIGNED, Stage.REGISTERED, Stage.CONSTRUCTION, Stage.PRODUCTION]
    # Finished projects have no clock.
    CLOCKLESS = frozenset({Stage.PRODUCTION, Stage.LOST})

    class Need(models.TextChoices):
        PARCEL = "parcel", "土地"
        BUILDING = "building", "楼宇"
        NONE = "none", "无需载体"

    org_unit = models.ForeignKey(OrgUnit, verbose_name="所属单位", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("项目名称", max_length=120)
    firms = models.ManyToManyField(Firm, verbose_name="投资企业", related_name="projects")
    industry = models.ForeignKey(Industry, verbose_name="产业", on_delete=models.PROTECT, related_name="projects")
    stage = models.CharField("阶段", max_length=14, choices=Stage.choices, default=Stage.LEAD)
    lost_reason = models.CharField("流失原因", max_length=200, blank=True)
    planned_investment = models.DecimalField("计划投资（万元）", max_digits=14, decimal_places=2)
    paid_in = models.DecimalField("实际到位（万元）", max_digits=14, decimal_places=2, default=Decimal("0"))
    need = models.CharField("载体需求", max_length=10, choices=Need.choices, default=Need.NONE)
    need_area = models.DecimalField("需求面积（亩 / ㎡）", max_digits=12, decimal_places=2, null=True, blank=True)
    need_use = models.CharField("需求用途", max_length=12, choices=Use.choices, blank=True)
    hq_group = models.ForeignKey(HqGroup, verbose_name="责任工作组", on_delete=models.PROTECT, related_name="projects")
    leader = models.CharField("责任领导", max_length=30)
    stage_since = models.DateTimeField("进入本阶段")
    # The ageing clock: the last stage move or progress note.
    moved_at = models.DateTimeField("最近推进", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(change=frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER}))

    class Meta:
        verbose_name = "项目"
        indexes = [models.Index(fields=["stage", "moved_at"]), models.Index(fields=["name", "id"])]
        constraints = [
            models.CheckConstraint(condition=Q(planned_investment__gte=0) & Q(paid_in__gte=0),
                                   name="invest_project_amounts_positive"),
            models.CheckConstraint(condition=~Q(stage="lost") | ~Q(lost_reason=""), name="invest_lost_has_reason"),
        ]

    def __str__(self):
        return self.name


class ProjectEvent(models.Model):
    """The project's history: stage moves and progress notes."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    from_stage = models.CharField(max_length=14, blank=True)
    to_stage = models.CharField(max_length=14, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    @property
    def from_label(self) -> str:
        return Project.Stage(self.from_stage).label if self.from_stage else ""

    @property
    def to_label(self) -> str:
        return Project.Stage(self.to_stage).label if self.to_stage else ""


class Document(Scoped, StoredFile):
    class Kind(models.TextChoices):
        AGREEMENT = "agreement", "投资协议"
        LICENCE = "licence", "营业执照"
        OTHER = "other", "其他材料"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)

    reach = Reach(path="project__org_unit__path", change=Project.reach.change)

    class Meta:
        ordering = ["-uploaded_at", "-id"]


# --- appeals -------------------------------------------------------------------------------------

class Appeal(Scoped):
    class Category(models.TextChoices):
        LAND = "land", "用地"
        FINANCING = "financing", "融资"
        APPROVAL = "approval", "审批"
        PROGRESS = "progress", "项目推进"
        OTHER = "other", "其他"

    class Urgency(models.TextChoices):
        NORMAL = "normal", "一般"
        URGENT = "urgent", "紧急"
        CRITICAL = "critical", "特急"

    class Status(models.TextChoices):
        OPEN = "open", "待办理"
        IN_PROGRESS = "in_progress", "办理中"
        RESOLVED = "resolved", "已办结"

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    org_unit = models.ForeignKey(OrgUnit, verbose_name="所属单位", on_delete=models.PROTECT, related_name="+")
    firm = models.ForeignKey(Firm, verbose_name="企业", on_delete=models.PROTECT, related_name="appeals")
    project = models.ForeignKey(Project, verbose_name="项目", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="appeals")
    category = models.CharField("类别", max_length=10, choices=Category.choices)
    title = models.CharField("诉求事项", max_length=120)
    detail = models.TextField("具体内容")
    urgency = models.CharField("紧急程度", max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    owner_group = models.ForeignKey(HqGroup, verbose_name="责任工作组", on_delete=models.PROTECT,
                                    related_name="appeals")
    handler = models.ForeignKey(User, verbose_name="承办人", on_delete=models.PROTECT, related_name="+")
    received_on = models.DateField("受理日期")
    due_on = models.DateField("办结时限", db_index=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.OPEN)
    resolution = models.TextField("办理结果", blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField("企业评价（1–5）", null=True, blank=True)
    escalated_at = models.DateTimeField("升级督办时间", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(change=frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER}))

    class Meta:
        verbose_name = "企业诉求"
        indexes = [models.Index(fields=["status", "due_on"]), models.Index(fields=["received_on", "id"])]
        constraints = [
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                                   name="invest_appeal_rating_1_5"),
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(status="resolved"),
                                   name="invest_appeal_rated_when_resolved"),
        ]

    def __str__(self):
        return self.title


class Reply(models.Model):
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]


class Reassignment(models.Model):
    """An appeal handed to another HQ group (转办), with the reason: part of the appeal's history."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="reassignments")
    at = models.DateTimeField()
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    from_group = models.ForeignKey(HqGroup, on_delete=models.PROTECT, related_name="+")
    to_group = models.ForeignKey(HqGroup, on_delete=models.PROTECT, related_name="+")
    from_handler = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    to_handler = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("转办原因", max_length=500)

    class Meta:
        verbose_name = "诉求转办"
        ordering = ["at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="invest_reassignment_has_reason")]


# --- the weekly key-project meeting ------------------------------------------------------------------

class Meeting(Scoped):
    org_unit = models.ForeignKey(OrgUnit, verbose_name="所属单位", on_delete=models.PROTECT, related_name="+")
    held_on = models.DateField("会议日期")
    title = models.CharField("会议名称", max_length=100)
    chair = models.CharField("主持人", max_length=30, blank=True)
    minutes = models.TextField("会议纪要", blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(change=frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER}))

    class Meta:
        verbose_name = "重点项目周例会"
        ordering = ["-held_on", "-id"]

    def __str__(self):
        return self.title


class Task(Scoped):
    """A decision of a meeting assigned to a person (交办), closed out (销号) at a later meeting."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="tasks")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    appeal = models.ForeignKey(Appeal, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    text = models.CharField("交办事项", max_length=300)
    owner = models.ForeignKey(User, verbose_name="责任人", on_delete=models.PROTECT, related_name="invest_tasks")
    due_on = models.DateField("完成时限")
    closed_in = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.PROTECT, related_name="closed_tasks")
    closed_at = models.DateTimeField(null=True, blank=True)
    close_note = models.CharField("销号说明", max_length=300, blank=True)

    reach = Reach(path="meeting__org_unit__path", change=Meeting.reach.change)

    class Meta:
        verbose_name = "交办事项"
        ordering = ["due_on", "id"]


# --- carriers ------------------------------------------------------------------------------------------

def parent_path(path: str) -> str:
    """The materialised path of a unit's parent ("/1/7/" -> "/1/"); the root is its own."""
    trimmed = path.rstrip("/")
    return path if trimmed.count("/") <= 1 else trimmed[: trimmed.rfind("/") + 1]


def carrier_reach_q(cls, user, action, prefix: str = "") -> Q | None:
    """A unit reaches the carriers it reports; the lead unit's officers read them all.
    ``prefix`` leads from a carrier's attachment to the carrier ("parcel__")."""
    q = subtree_q(f"{prefix}org_unit__path", paths_for(user, cls.reach.roles_for(action)))
    if action == VIEW:
        lead = Office.objects.filter(pk=1).values_list("lead_unit__path", flat=True).first()
        lead_roles = OFFICERS | READ_ONLY_ROLES
        if lead and any(role in lead_roles and lead.startswith(path) for role, path in memberships_of(user)):
            # the whole district the lead unit serves: its parent's subtree
            return Q(**{f"{prefix}org_unit__path__startswith": parent_path(lead)})
    return q


class Parcel(Scoped):
    class Status(models.TextChoices):
        IDLE = "idle", "闲置可供"
        RESERVED = "reserved", "已意向预留"
        SUPPLIED = "supplied", "已供地"

    org_unit = models.ForeignKey(OrgUnit, verbose_name="报送单位", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("地块名称", max_length=100)
    location = models.CharField("位置（四至）", max_length=200)
    area_mu = models.DecimalField("面积（亩）", max_digits=10, decimal_places=2)
    planned_use = models.CharField("规划用途", max_length=12, choices=Use.choices)
    zoning = models.CharField("控规指标", max_length=100, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.IDLE)
    direction = models.CharField("招商方向", max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    reach = Reach()

    class Meta:
        verbose_name = "闲置地块"
        ordering = ["org_unit_id", "name"]
        constraints = [models.UniqueConstraint(fields=["org_unit", "name"], name="invest_parcel_name_unique"),
                       models.CheckConstraint(condition=Q(area_mu__gt=0), name="invest_parcel_area_positive")]

    def __str__(self):
        return self.name

    @classmethod
    def reach_q(cls, user, action):
        return carrier_reach_q(cls, user, action)


class Drawing(Scoped, StoredFile):
    """A planning drawing (规划图纸) of a parcel: PDF, or a JPEG/PNG printed on the pitch sheet."""

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="drawings")

    reach = Reach(path="parcel__org_unit__path")

    class Meta:
        verbose_name = "规划图纸"
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name

    @classmethod
    def reach_q(cls, user, action):
        return carrier_reach_q(cls, user, action, "parcel__")


class Building(Scoped):
    org_unit = models.ForeignKey(OrgUnit, verbose_name="报送单位", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("楼宇名称", max_length=100)
    address = models.CharField("地址", max_length=200)
    total_area = models.DecimalField("总面积（㎡）", max_digits=12, decimal_places=2)
    vacant_area = models.DecimalField("空置面积（㎡）", max_digits=12, decimal_places=2)
    rent = models.DecimalField("租金（元/㎡·月）", max_digits=8, decimal_places=2)
    owner = models.CharField("产权单位", max_length=100)
    main_tenants = models.CharField("主要入驻企业", max_length=300, blank=True)
    direction = models.CharField("招商方向", max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    reach = Reach()

    class Meta:
        verbose_name = "商务楼宇"
        ordering = ["org_unit_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["org_unit", "name"], name="invest_building_name_unique"),
            models.CheckConstraint(condition=Q(vacant_area__gte=0) & Q(vacant_area__lte=models.F("total_area")),
                                   name="invest_building_vacant_within_total"),
        ]

    def __str__(self):
        return self.name

    @classmethod
    def reach_q(cls, user, action):
        return carrier_reach_q(cls, user, action)
