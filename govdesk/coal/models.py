"""Loose-coal governance (散煤治理): places watched, inspections and their photos,
rectifications, look-back campaigns (回头看) and notice coverage.

Reach: records sit in a street's subtree (a community or courtyard), so street
officers see their street through the core mechanism. The district's loose-coal
office (散煤办) is a department; its officers hold their membership on the
department, and ``CoalScoped.reach_q`` widens their reach to the department's
parent district for every coal record (view), and for the office's own records
(campaigns, notice batches and allocations) also for changes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from govdesk.core.models import OrgUnit
from govdesk.core.reach import CHANGE, VIEW, Reach, Role, Scoped, memberships_of, paths_for, subtree_q

STREET_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_OFFICER})
VIEWERS = frozenset({Role.DISTRICT_ADMIN, Role.STREET_OFFICER, Role.SUPERVISOR})


class Office(models.Model):
    """Which department of a district is its loose-coal office (散煤办)."""

    district = models.OneToOneField(OrgUnit, on_delete=models.PROTECT, related_name="coal_office")
    department = models.OneToOneField(OrgUnit, on_delete=models.PROTECT, related_name="+")
    designated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "散煤办"


def office_paths(user) -> list[str]:
    """District paths the user reaches as an officer of that district's coal office.
    Cached on the user object like the memberships themselves."""
    cached = getattr(user, "_coal_office_paths", None)
    if cached is None:
        dept_paths = [path for role, path in memberships_of(user) if role == Role.DEPARTMENT_OFFICER]
        cached = []
        if dept_paths:
            cached = sorted(Office.objects.filter(department__path__in=dept_paths)
                            .values_list("district__path", flat=True))
        user._coal_office_paths = cached
    return cached


class CoalScoped(Scoped):
    """A coal record: the core reach plus the office's district-wide reach."""

    office_may_change = False

    class Meta:
        abstract = True

    @classmethod
    def reach_q(cls, user, action):
        q = super().reach_q(user, action)
        if action == VIEW or cls.office_may_change:
            office_q = subtree_q(cls.reach.path, office_paths(user))
            if office_q is not None:
                q = office_q if q is None else q | office_q
        return q


class Place(CoalScoped):
    class Kind(models.TextChoices):
        SALES_POINT = "sales_point", "售煤点"
        RESTAURANT = "restaurant", "餐饮店"
        SHOP = "shop", "商店"
        STALL = "stall", "摊点"
        HOUSEHOLD = "household", "住户"

    class Status(models.TextChoices):
        CLEAN = "clean", "未发现问题"
        PROBLEM = "problem", "发现问题"
        RECTIFYING = "rectifying", "整改中"
        RECTIFIED = "rectified", "已整改"
        CLOSED_DOWN = "closed_down", "已关停"

    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    street = models.ForeignKey(OrgUnit, verbose_name="街道", on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey(OrgUnit, verbose_name="社区", on_delete=models.PROTECT, related_name="coal_places")
    address = models.CharField("地址", max_length=200)
    contact_name = models.CharField("联系人", max_length=50, blank=True)
    contact_phone_enc = models.TextField(blank=True, editable=False)
    contact_phone_masked = models.CharField("联系电话", max_length=20, blank=True, editable=False)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.CLEAN)
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(path="community__path", view=VIEWERS, change=STREET_ROLES)

    class Meta:
        verbose_name = "点位"
        constraints = [models.UniqueConstraint(fields=["community", "name", "address"], name="coal_place_unique")]
        indexes = [models.Index(fields=["street", "status"]), models.Index(fields=["kind"]),
                   models.Index(fields=["name"])]

    def __str__(self):
        return self.name


class Inspection(CoalScoped):
    class State(models.TextChoices):
        OPEN = "open", "未办结"
        CLOSED = "closed", "已办结"

    class CoalKind(models.TextChoices):
        RAW = "raw", "原煤"
        BRIQUETTE = "briquette", "蜂窝煤"
        SHAPED = "shaped", "型煤"
        OTHER = "other", "其他"

    place = models.ForeignKey(Place, verbose_name="点位", on_delete=models.PROTECT, related_name="inspections")
    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="检查人", on_delete=models.PROTECT,
                                  related_name="+")
    inspector_name = models.CharField("检查人（台账）", max_length=50, blank=True)
    inspected_at = models.DateTimeField("检查时间")
    imported = models.BooleanField("导入的历史台账", default=False)
    # findings (the ledger columns streets already keep)
    coal_present = models.BooleanField("发现散煤", default=False)
    coal_kind = models.CharField("煤炭种类", max_length=16, choices=CoalKind.choices, blank=True)
    quantity_kg = models.DecimalField("数量（公斤）", max_digits=10, decimal_places=1, default=0)
    source = models.CharField("来源", max_length=100, blank=True)
    storage = models.CharField("存放地点", max_length=100, blank=True)
    used_by = models.CharField("使用人", max_length=100, blank=True)
    # actions taken
    educated = models.BooleanField("宣传教育", default=False)
    seized = models.BooleanField("收缴", default=False)
    seized_kg = models.DecimalField("收缴数量（公斤）", max_digits=10, decimal_places=1, default=0)
    rectification_ordered = models.BooleanField("下达整改通知", default=False)
    rectification_deadline = models.DateField("整改期限", null=True, blank=True)
    referred = models.BooleanField("移交执法", default=False)
    note = models.TextField("备注", blank=True)
    state = models.CharField("状态", max_length=8, choices=State.choices, default=State.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    # a phone's retry carries the same id: the same content gives the same inspection
    client_id = models.UUIDField(null=True, blank=True, unique=True)
    content_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(path="community__path", view=VIEWERS, change=STREET_ROLES)

    class Meta:
        verbose_name = "检查记录"
        indexes = [models.Index(fields=["street", "inspected_at"]), models.Index(fields=["place", "inspected_at"]),
                   models.Index(fields=["inspected_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity_kg__gte=0) & Q(seized_kg__gte=0), name="coal_insp_kg_nonneg"),
            models.CheckConstraint(condition=Q(rectification_ordered=False) | Q(rectification_deadline__isnull=False),
                                   name="coal_insp_rect_has_deadline"),
        ]

    def __str__(self):
        return f"{self.place.name} {self.inspected_at:%Y-%m-%d}"

    @property
    def inspector_label(self) -> str:
        return self.inspector_name or self.inspector.label

    @property
    def is_closed(self) -> bool:
        return self.state == self.State.CLOSED

    def actions_label(self) -> str:
        parts = []
        if self.educated:
            parts.append("宣传教育")
        if self.seized:
            parts.append(f"收缴 {self.seized_kg} 公斤")
        if self.rectification_ordered:
            parts.append(f"限期整改（{self.rectification_deadline}）")
        if self.referred:
            parts.append("移交执法")
        return "、".join(parts) or "—"


class InspectionCorrection(CoalScoped):
    """A change to a closed inspection: the values before and after, who and why.
    Append-only; the first correction's ``before`` is the original record."""

    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="corrections")
    corrected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    corrected_at = models.DateTimeField()
    reason = models.CharField("更正原因", max_length=200)
    before = models.JSONField()
    after = models.JSONField()

    reach = Reach(path="inspection__community__path", view=VIEWERS, change=STREET_ROLES)

    class Meta:
        verbose_name = "检查更正"
        ordering = ["corrected_at", "id"]


class Photo(CoalScoped):
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="photos")
    # stored content-addressed as coal/<inspection>/<sha256>.<ext> by services.photo_add
    file = models.FileField(upload_to="coal/", max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=32)
    taken_at = models.DateTimeField("拍摄时间")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(path="inspection__community__path", view=VIEWERS, change=STREET_ROLES)

    class Meta:
        verbose_name = "照片"
        constraints = [models.UniqueConstraint(fields=["inspection", "sha256"], name="coal_photo_once")]


class Rectification(CoalScoped):
    class Status(models.TextChoices):
        OPEN = "open", "整改中"
        CLOSED = "closed", "已销号"

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="rectifications")
    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    opened_by = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="+")
    opened_on = models.DateField("下达日期")
    deadline = models.DateField("整改期限")
    original_deadline = models.DateField("原定期限")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    closed_by = models.ForeignKey(Inspection, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    reach = Reach(path="community__path", view=VIEWERS, change=STREET_ROLES)

    class Meta:
        verbose_name = "整改"
        indexes = [models.Index(fields=["street", "status", "deadline"])]
        constraints = [models.UniqueConstraint(fields=["place"], condition=Q(status="open"),
                                               name="coal_one_open_rectification")]

    def __str__(self):
        return f"{self.place.name} 整改"


class RectificationExtension(CoalScoped):
    rectification = models.ForeignKey(Rectification, on_delete=models.PROTECT, related_name="extensions")
    old_deadline = models.DateField()
    new_deadline = models.DateField()
    reason = models.CharField("延期原因", max_length=200)
    extended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    extended_at = models.DateTimeField()

    reach = Reach(path="rectification__community__path", view=VIEWERS, change=STREET_ROLES)

    class Meta:
        ordering = ["extended_at", "id"]


class Campaign(CoalScoped):
    """A look-back (回头看) launched by the office over some or all streets."""

    class Mode(models.TextChoices):
        PROBLEMS = "problems", "截止日以来台账有问题的点位"
        KINDS = "kinds", "指定类型的全部点位"

    class Status(models.TextChoices):
        OPEN = "open", "进行中"
        CLOSED = "closed", "已结束"

    district = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    title = models.CharField("名称", max_length=100)
    period_start = models.DateField("开始日期")
    period_end = models.DateField("结束日期")
    mode = models.CharField("范围", max_length=8, choices=Mode.choices)
    cutoff = models.DateField("问题起算日", null=True, blank=True)
    kinds = models.JSONField(default=list, blank=True)
    streets = models.ManyToManyField(OrgUnit, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    launched_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    launched_at = models.DateTimeField()

    office_may_change = True
    reach = Reach(path="district__path", view=VIEWERS, change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "回头看"
        constraints = [models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                              name="coal_campaign_period")]

    def __str__(self):
        return self.title

    @classmethod
    def reach_q(cls, user, action):
        q = super().reach_q(user, action)
        if action == VIEW:
            # a street sees the campaigns that reach into it (to work its tasks)
            street_q = subtree_q("path", paths_for(user, {Role.STREET_OFFICER}))
            if street_q is not None:
                ids = cls.streets.through.objects.filter(
                    orgunit__in=OrgUnit.objects.filter(street_q)).values("campaign_id")
                q = Q(pk__in=ids) if q is None else q | Q(pk__in=ids)
        return q


class CampaignTask(CoalScoped):
    class Status(models.TextChoices):
        PENDING = "pending", "待复查"
        DONE = "done", "已复查"

    class Outcome(models.TextChoices):
        STILL_PROBLEM = "still_problem", "仍有散煤"
        CLEAN_NOW = "clean_now", "已清零"
        NEW_PROBLEM = "new_problem", "新发现问题"
        STILL_CLEAN = "still_clean", "保持清零"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="tasks")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="campaign_tasks")
    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    earlier = models.ForeignKey(Inspection, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    earlier_problem = models.BooleanField(default=False)
    earlier_summary = models.CharField(max_length=200, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    result = models.OneToOneField(Inspection, null=True, blank=True, on_delete=models.PROTECT, related_name="task")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    reach = Reach(path="community__path", view=VIEWERS, change=STREET_ROLES)

    class Meta:
        verbose_name = "复查任务"
        constraints = [models.UniqueConstraint(fields=["campaign", "place"], name="coal_task_once")]
        indexes = [models.Index(fields=["campaign", "street", "status"])]

    def __str__(self):
        return f"{self.campaign.title} · {self.place.name}"


class NoticeBatch(CoalScoped):
    district = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    title = models.CharField("通告标题", max_length=200)
    count = models.PositiveIntegerField("份数")
    source = models.CharField("来文单位", max_length=100)
    received_on = models.DateField("收到日期")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    office_may_change = True
    reach = Reach(path="district__path", view=VIEWERS, change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "通告批次"

    def __str__(self):
        return self.title

    @classmethod
    def reach_q(cls, user, action):
        q = super().reach_q(user, action)
        if action == VIEW:
            street_q = subtree_q("street__path", paths_for(user, {Role.STREET_OFFICER}))
            if street_q is not None:
                ids = NoticeAllocation.objects.filter(street_q).values("batch_id")
                q = Q(pk__in=ids) if q is None else q | Q(pk__in=ids)
        return q


class NoticeAllocation(CoalScoped):
    batch = models.ForeignKey(NoticeBatch, on_delete=models.PROTECT, related_name="allocations")
    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    count = models.PositiveIntegerField("分配份数")

    office_may_change = True
    reach = Reach(path="street__path", view=VIEWERS, change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "通告分配"
        constraints = [models.UniqueConstraint(fields=["batch", "street"], name="coal_allocation_once")]


class NoticePosting(CoalScoped):
    allocation = models.ForeignKey(NoticeAllocation, on_delete=models.PROTECT, related_name="postings")
    batch = models.ForeignKey(NoticeBatch, on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(OrgUnit, verbose_name="社区/楼院", on_delete=models.PROTECT, related_name="+")
    count = models.PositiveIntegerField("张贴份数")
    location = models.CharField("张贴位置", max_length=100)
    posted_on = models.DateField("张贴日期")
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # stored content-addressed by services.posting_record
    photo = models.FileField("张贴照片", upload_to="coal/notices/", max_length=300, blank=True)
    photo_sha256 = models.CharField(max_length=64, blank=True)
    photo_type = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(path="unit__path", view=VIEWERS, change=STREET_ROLES)

    class Meta:
        verbose_name = "通告张贴"
        indexes = [models.Index(fields=["batch", "unit"])]
        constraints = [models.CheckConstraint(condition=Q(count__gt=0), name="coal_posting_positive")]


__all__ = ["CHANGE", "VIEW", "Office", "Place", "Inspection", "InspectionCorrection", "Photo", "Rectification",
           "RectificationExtension", "Campaign", "CampaignTask", "NoticeBatch", "NoticeAllocation", "NoticePosting"]
