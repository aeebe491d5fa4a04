"""Veterans and preferential-care recipients (优抚对象): the records, their scanned
documents, change requests after archiving, collection points with their slots and
appointments, and the expected base numbers per street.

Every record belongs to a community; the street is kept beside it for rollups.
ID and phone numbers are stored only encrypted (``*_enc``) with a blind index
(``*_bidx``); the ID number's blind index is unique across the whole district.
"""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from govdesk.core import personal
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
from govdesk.core.services import UNMASK_ROLES

# The department whose officers work on this campaign across the whole district.
VETERANS_DEPARTMENT_NAMES = frozenset(getattr(settings, "VETERANS_DEPARTMENT_NAMES", ["退役军人事务局"]))

ETHNICITIES = ["汉族", "回族", "满族", "蒙古族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族", "侗族",
               "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族", "佤族", "畲族", "高山族",
               "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族", "达斡尔族", "仫佬族", "羌族",
               "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族", "塔吉克族", "怒族",
               "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族", "塔塔尔族", "独龙族",
               "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族"]
POLITICAL_STATUSES = ["中共党员", "中共预备党员", "共青团员", "民主党派", "无党派人士", "群众"]
EDUCATIONS = ["研究生", "大学本科", "大学专科", "中专/高中", "初中", "小学及以下"]
BRANCHES = ["陆军", "海军", "空军", "火箭军", "战略支援部队", "武警部队", "联勤保障部队", "其他"]
DISCHARGE_TYPES = ["退伍", "复员", "转业", "退休", "离休"]
PLACEMENTS = ["自主就业", "安排工作", "逐月领取退役金", "退休", "供养", "自主择业", "复员安置", "其他"]

WORKERS = OFFICERS | {Role.COLLECTOR}
REVIEWERS = frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER})
# Who may see a record's ID and phone number in full (each time audited), within this app's reach:
# the core's unmaskers (district administrators; supervisors for as long as the core says so), the
# street officers and the veterans department responsible for the records, and the collectors of
# the street or community they collect in (they verify the person's identity at the point).
UNMASKERS = UNMASK_ROLES | {Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER, Role.COLLECTOR}


def _department_roots(user) -> list[str]:
    """Paths of the districts above the veterans departments the user is an officer of."""
    cached = getattr(user, "_veterans_department_roots", None)
    if cached is None:
        paths = [p for role, p in memberships_of(user) if role == Role.DEPARTMENT_OFFICER]
        cached = []
        if paths:
            departments = OrgUnit.objects.filter(path__in=paths, kind=OrgUnit.Kind.DEPARTMENT,
                                                 name__in=VETERANS_DEPARTMENT_NAMES)
            cached = sorted({d.path.rstrip("/").rsplit("/", 1)[0] + "/" for d in departments})
        user._veterans_department_roots = cached
    return cached


def reach_paths(user, roles) -> list[str]:
    """Subtree roots the user reaches with ``roles`` in this app: the usual rule, except that
    an officer of the veterans department reaches the whole district above the department."""
    roles = frozenset(roles)
    paths = paths_for(user, roles - {Role.DEPARTMENT_OFFICER})
    if Role.DEPARTMENT_OFFICER in roles:
        paths = paths + paths_for(user, {Role.DEPARTMENT_OFFICER}) + _department_roots(user)
    minimal: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(root) for root in minimal):
            minimal.append(path)
    return minimal


def veterans_q(lookup: str, user, roles) -> Q | None:
    return subtree_q(lookup, reach_paths(user, roles))


class VeteransScoped(Scoped):
    class Meta:
        abstract = True

    @classmethod
    def reach_q(cls, user, action):
        return veterans_q(cls.reach.path, user, cls.reach.roles_for(action))

    @classmethod
    def reach_q_roles(cls, user, roles):
        return veterans_q(cls.reach.path, user, frozenset(roles) - READ_ONLY_ROLES)


class Category(models.Model):
    """A class of preferential-care recipient. The list is data (seeded by a migration)."""

    code = models.CharField("编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=50, unique=True)
    order = models.PositiveSmallIntegerField("排序", default=0)
    requires_service = models.BooleanField("须填服役经历", default=True)
    requires_disability = models.BooleanField("须填伤残信息", default=False)
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "人员类别"
        ordering = ["order", "id"]

    def __str__(self):
        return self.name


class Record(VeteransScoped):
    class Status(models.TextChoices):
        DRAFT = "draft", "采集中"
        COLLECTED = "collected", "已采集待审核"
        RETURNED = "returned", "已退回"
        REVIEWED = "reviewed", "已审核"
        ARCHIVED = "archived", "已归档"

    class Gender(models.TextChoices):
        MALE = "男", "男"
        FEMALE = "女", "女"

    class Nature(models.TextChoices):
        WAR = "因战", "因战"
        DUTY = "因公", "因公"
        ILLNESS = "因病", "因病"

    uuid = models.UUIDField("记录标识", unique=True, default=uuid.uuid4, editable=False)
    org_unit = models.ForeignKey(OrgUnit, verbose_name="社区", on_delete=models.PROTECT, related_name="veteran_records")
    street = models.ForeignKey(OrgUnit, verbose_name="街道", on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(Category, verbose_name="人员类别", on_delete=models.PROTECT, related_name="records")
    # basic information
    name = models.CharField("姓名", max_length=50)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices)
    ethnicity = models.CharField("民族", max_length=16)
    birth_date = models.DateField("出生日期")
    id_number_enc = models.TextField(editable=False)
    id_number_bidx = models.CharField(max_length=64, unique=True, editable=False)
    phone_enc = models.TextField(blank=True, editable=False)
    phone_bidx = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    household_address = models.CharField("户籍地址", max_length=200)
    residential_address = models.CharField("居住地址", max_length=200)
    political_status = models.CharField("政治面貌", max_length=16, blank=True)
    education = models.CharField("文化程度", max_length=16, blank=True)
    # service history
    enlisted_on = models.DateField("入伍时间", null=True, blank=True)
    discharged_on = models.DateField("退役时间", null=True, blank=True)
    service_unit = models.CharField("服役部队", max_length=100, blank=True)
    branch = models.CharField("军种", max_length=16, blank=True)
    rank = models.CharField("军衔/职级", max_length=32, blank=True)
    discharge_type = models.CharField("退役方式", max_length=16, blank=True)
    placement = models.CharField("安置方式", max_length=16, blank=True)
    # disability
    disability_grade = models.PositiveSmallIntegerField("伤残等级", null=True, blank=True)
    disability_nature = models.CharField("伤残性质", max_length=4, choices=Nature.choices, blank=True)
    disability_certificate = models.CharField("残疾军人证号", max_length=40, blank=True)
    awards = models.TextField("立功受奖", blank=True)
    family_link = models.CharField("与现役/牺牲军人关系", max_length=100, blank=True)
    # living situation
    employment = models.CharField("就业状况", max_length=32, blank=True)
    social_security = models.CharField("社会保险", max_length=32, blank=True)
    medical = models.CharField("医疗保障", max_length=32, blank=True)
    housing = models.CharField("住房状况", max_length=32, blank=True)
    assistance = models.CharField("帮扶救助", max_length=100, blank=True)
    # workflow
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField("版本", default=1)
    content_hash = models.CharField(max_length=64, editable=False)
    origin_hash = models.CharField(max_length=64, editable=False)  # content as first submitted (sync replays)
    declared_attachments = models.JSONField("应交附件", default=list, blank=True)
    submit_requested = models.BooleanField(default=False)
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="采集员", on_delete=models.PROTECT,
                                  related_name="veteran_records")
    point = models.ForeignKey("CollectionPoint", verbose_name="采集点", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="records")
    collected_at = models.DateTimeField("采集时间", null=True, blank=True)
    collected_on = models.DateField("采集日期", null=True, blank=True, db_index=True)
    return_reason = models.CharField("退回原因", max_length=200, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审核人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    reach = Reach(view=WORKERS | READ_ONLY_ROLES, change=WORKERS)

    class Meta:
        verbose_name = "优抚对象信息"
        constraints = [
            models.CheckConstraint(condition=Q(disability_grade__isnull=True)
                                   | Q(disability_grade__gte=1, disability_grade__lte=10),
                                   name="veterans_record_disability_grade_1_10"),
            models.CheckConstraint(condition=Q(enlisted_on__isnull=True) | Q(enlisted_on__gt=F("birth_date")),
                                   name="veterans_record_enlisted_after_birth"),
            models.CheckConstraint(condition=Q(discharged_on__isnull=True) | Q(enlisted_on__isnull=True)
                                   | Q(discharged_on__gt=F("enlisted_on")),
                                   name="veterans_record_discharged_after_enlisted"),
        ]
        indexes = [
            models.Index(fields=["street", "status"]),
            models.Index(fields=["collector", "status"]),
            models.Index(fields=["point", "status"]),
            models.Index(fields=["status", "-id"]),
        ]

    def __str__(self):
        return self.name

    @property
    def id_number_masked(self) -> str:
        return personal.mask_id_number(personal.decrypt(self.id_number_enc))

    @property
    def phone_masked(self) -> str:
        return personal.mask_phone(personal.decrypt(self.phone_enc))

    @property
    def is_open_for_edit(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.COLLECTED, self.Status.RETURNED)


class Attachment(VeteransScoped):
    class Kind(models.TextChoices):
        ID_CARD = "id_card", "身份证扫描件"
        HOUSEHOLD = "household_register", "户口簿"
        DISCHARGE = "discharge_certificate", "退伍/转业证件"
        AWARD = "award_certificate", "立功受奖证书"
        DISABILITY = "disability_certificate", "残疾军人证"
        PHOTO = "photo", "照片"
        OTHER = "other", "其他材料"

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField("类型", max_length=32, choices=Kind.choices)
    file = models.CharField(max_length=300, editable=False)  # relative to MEDIA_ROOT
    original_name = models.CharField("文件名", max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(path="record__org_unit__path", view=WORKERS | READ_ONLY_ROLES, change=WORKERS)

    class Meta:
        verbose_name = "附件"
        ordering = ["kind", "id"]
        constraints = [models.UniqueConstraint(fields=["record", "sha256"], name="veterans_attachment_once")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.original_name}"


class ChangeRequest(VeteransScoped):
    class Status(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "已驳回"

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="change_requests")
    base_version = models.PositiveIntegerField()
    # {"field": [before, after]} of plain fields; a new phone is kept only encrypted below.
    changes = models.JSONField(default=dict)
    payload = models.JSONField(default=dict)  # the plain values to apply on approval
    new_phone_enc = models.TextField(blank=True, editable=False)
    reason = models.CharField("变更理由", max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=200, blank=True)

    reach = Reach(path="record__org_unit__path", view=WORKERS | READ_ONLY_ROLES, change=WORKERS)

    class Meta:
        verbose_name = "变更申请"
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["record"], condition=Q(status="pending"),
                                               name="veterans_one_pending_change")]


class CollectionPoint(VeteransScoped):
    org_unit = models.ForeignKey(OrgUnit, verbose_name="所属街道/社区", on_delete=models.PROTECT,
                                 related_name="veteran_points")
    name = models.CharField("名称", max_length=100)
    address = models.CharField("地址", max_length=200)
    opens_at = models.TimeField("开始时间")
    closes_at = models.TimeField("结束时间")
    daily_capacity = models.PositiveIntegerField("每日接待量")
    slot_minutes = models.PositiveSmallIntegerField("时段长度（分钟）")
    active = models.BooleanField("启用", default=True)

    reach = Reach(view=WORKERS | READ_ONLY_ROLES, change=OFFICERS)

    class Meta:
        verbose_name = "采集点"
        ordering = ["org_unit__path", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="veterans_point_hours_order"),
            models.CheckConstraint(condition=Q(daily_capacity__gte=1), name="veterans_point_capacity_positive"),
            models.CheckConstraint(condition=Q(slot_minutes__gte=5), name="veterans_point_slot_min"),
        ]

    def __str__(self):
        return self.name

    @property
    def hours(self) -> str:
        return f"{self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


class Slot(VeteransScoped):
    point = models.ForeignKey(CollectionPoint, on_delete=models.CASCADE, related_name="slots")
    day = models.DateField("日期")
    starts_at = models.TimeField("开始")
    ends_at = models.TimeField("结束")
    capacity = models.PositiveIntegerField("名额")

    reach = Reach(path="point__org_unit__path", view=WORKERS | READ_ONLY_ROLES, change=WORKERS)

    class Meta:
        verbose_name = "预约时段"
        ordering = ["day", "starts_at"]
        constraints = [models.UniqueConstraint(fields=["point", "day", "starts_at"], name="veterans_slot_once")]

    def __str__(self):
        return f"{self.day:%m-%d} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"


ACTIVE_APPOINTMENT = ("booked", "checked_in")


class Appointment(VeteransScoped):
    class Status(models.TextChoices):
        BOOKED = "booked", "已预约"
        CHECKED_IN = "checked_in", "已签到"
        COLLECTED = "collected", "已采集"
        CANCELLED = "cancelled", "已取消"

    class Kind(models.TextChoices):
        AT_POINT = "point", "到点采集"
        HOME_VISIT = "home", "上门采集"

    code = models.CharField("预约码", max_length=16, unique=True)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments")
    point = models.ForeignKey(CollectionPoint, on_delete=models.PROTECT, related_name="appointments")
    kind = models.CharField("方式", max_length=8, choices=Kind.choices, default=Kind.AT_POINT)
    name = models.CharField("姓名", max_length=50)
    id_number_enc = models.TextField(editable=False)
    id_number_bidx = models.CharField(max_length=64, db_index=True, editable=False)
    phone_enc = models.TextField(blank=True, editable=False)
    home_address = models.CharField("上门地址", max_length=200, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.BOOKED)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    booked_at = models.DateTimeField(auto_now_add=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    record = models.OneToOneField(Record, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="appointment")

    reach = Reach(path="point__org_unit__path", view=WORKERS | READ_ONLY_ROLES, change=WORKERS)

    class Meta:
        verbose_name = "预约"
        ordering = ["slot__day", "slot__starts_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["id_number_bidx"], condition=Q(status__in=ACTIVE_APPOINTMENT),
                                    name="veterans_one_active_appointment"),
        ]
        indexes = [models.Index(fields=["slot", "status"])]

    def __str__(self):
        return f"{self.name} {self.code}"

    @property
    def id_number_masked(self) -> str:
        return personal.mask_id_number(personal.decrypt(self.id_number_enc))

    @property
    def phone_masked(self) -> str:
        return personal.mask_phone(personal.decrypt(self.phone_enc))


class ExpectedBase(VeteransScoped):
    """How many people a street expects to collect (the campaign's base number)."""

    org_unit = models.OneToOneField(OrgUnit, verbose_name="街道", on_delete=models.PROTECT,
                                    related_name="veterans_expected")
    expected = models.PositiveIntegerField("应采集人数")
    updated_at = models.DateTimeField(auto_now=True)

    reach = Reach(view=WORKERS | READ_ONLY_ROLES, change=frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER}))

    class Meta:
        verbose_name = "应采集基数"


class Upload(VeteransScoped):
    """A scanned document a device sends in pieces (resumable). The client names it with its own
    UUID and declares size, SHA-256 and type up front; the bytes gather in a partial file until
    ``received == size``, then the whole is checked and becomes an ``Attachment``. Service code:
    ``uploads.py``."""

    class Status(models.TextChoices):
        RECEIVING = "receiving", "接收中"
        DONE = "done", "已完成"

    uuid = models.UUIDField("上传标识", unique=True)
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="uploads")
    kind = models.CharField("类型", max_length=32, choices=Attachment.Kind.choices)
    filename = models.CharField("文件名", max_length=200, blank=True)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField(max_length=64)
    received = models.PositiveIntegerField("已收到（字节）", default=0)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.RECEIVING)
    attachment = models.ForeignKey(Attachment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    reach = Reach(path="record__org_unit__path", view=WORKERS | READ_ONLY_ROLES, change=WORKERS)

    class Meta:
        verbose_name = "分片上传"
        constraints = [
            models.CheckConstraint(condition=Q(received__lte=F("size")), name="veterans_upload_received_le_size"),
            models.CheckConstraint(condition=Q(size__gte=1), name="veterans_upload_size_positive"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.received}/{self.size}"


# --- progress rollups (kept by services through ``progress``; rebuilt by ``veterans_rollup``) ---------------

ALL_DAYS = date(1, 1, 1)  # the day of the grains that are not per day


class Progress(VeteransScoped):
    """The campaign's progress rollup: how many collected records there are in each state, at
    four grains (one row per grain and key; dimensions a grain does not have hold 0 / ALL_DAYS):

    - ``day``: day collected × community (and its street) × collection point × collector;
    - ``total``: community × point × collector, all days (the dashboard's street, point and
      collector figures: a few thousand rows however many records there are);
    - ``category``: community × category, all days (the upward report's category columns);
    - ``daily``: day × community (the per-day chart and the report's new-in-period column).

    Every row has its community, so the rollup reaches like the records (``org_unit__path``).
    Drafts are not counted (not collected yet)."""

    class Grain(models.TextChoices):
        DAY = "day", "按日·社区·采集点·采集员"
        TOTAL = "total", "累计·社区·采集点·采集员"
        CATEGORY = "category", "累计·社区·人员类别"
        DAILY = "daily", "按日·社区"

    grain = models.CharField("粒度", max_length=8, choices=Grain.choices)
    day = models.DateField("采集日期", default=ALL_DAYS)
    street = models.ForeignKey(OrgUnit, verbose_name="街道", on_delete=models.PROTECT, related_name="+")
    org_unit = models.ForeignKey(OrgUnit, verbose_name="社区", on_delete=models.PROTECT, related_name="+")
    point_key = models.IntegerField("采集点", default=0)  # CollectionPoint pk; 0: none, or not in this grain
    collector_key = models.IntegerField("采集员", default=0)  # User pk; 0: not in this grain
    category_key = models.IntegerField("人员类别", default=0)  # Category pk; 0: not in this grain
    collected = models.IntegerField("待审核", default=0)
    returned = models.IntegerField("已退回", default=0)
    reviewed = models.IntegerField("已审核", default=0)
    archived = models.IntegerField("已归档", default=0)

    reach = Reach(view=WORKERS | READ_ONLY_ROLES, change=frozenset())

    class Meta:
        verbose_name = "采集进度汇总"
        # the unit before the day: the dashboard reads each reachable community's last 14 days of
        # the daily grain; with the day first, every community scanned the whole range (22 ms at 200k)
        constraints = [models.UniqueConstraint(
            fields=["grain", "org_unit", "day", "point_key", "collector_key", "category_key"],
            name="veterans_progress_key")]


# --- the campaign's organisation: teams, street offices, trainings, the Q&A log ------------------------

def _ancestor_paths(paths) -> list[str]:
    out = set()
    for path in paths:
        ids = path.strip("/").split("/")
        out.update("/" + "/".join(ids[:n]) + "/" for n in range(1, len(ids)))
    return sorted(out)


class CampaignScoped(VeteransScoped):
    """The campaign's organisation is read by everyone working on it below the unit that runs
    it (a street collector reads the district's teams and FAQ); changes follow the usual reach."""

    class Meta:
        abstract = True

    @classmethod
    def reach_q(cls, user, action):
        q = super().reach_q(user, action)
        if action != VIEW:
            return q
        above = _ancestor_paths(reach_paths(user, cls.reach.roles_for(VIEW)))
        if not above:
            return q
        # the units above the reader, and the veterans department of the reader's district
        unit = cls.reach.path.removesuffix("__path")
        up = Q(**{f"{cls.reach.path}__in": above}) | (
            Q(**{f"{unit}__kind": OrgUnit.Kind.DEPARTMENT, f"{unit}__name__in": VETERANS_DEPARTMENT_NAMES})
            & subtree_q(cls.reach.path, above))
        return up if q is None else q | up


ORGANISERS = frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER})


class Team(CampaignScoped):
    class Kind(models.TextChoices):
        COLLECTION = "collection", "信息采集和身份认证组"
        TECHNICAL = "technical", "技术指导组"
        QA = "qa", "政策答疑组"
        SUPERVISION = "supervision", "督导检查组"

    org_unit = models.ForeignKey(OrgUnit, verbose_name="所属单位", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    name = models.CharField("名称", max_length=100)
    duty = models.TextField("职责", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(view=WORKERS | READ_ONLY_ROLES, change=ORGANISERS)

    class Meta:
        verbose_name = "工作组"
        ordering = ["org_unit__path", "kind", "id"]
        constraints = [models.UniqueConstraint(fields=["org_unit", "name"], name="veterans_team_name_once")]

    def __str__(self):
        return self.name


class TeamMember(CampaignScoped):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="平台账号", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    name = models.CharField("姓名", max_length=50)
    position = models.CharField("职务/分工", max_length=50, blank=True)
    leader = models.BooleanField("组长", default=False)

    reach = Reach(path="team__org_unit__path", view=WORKERS | READ_ONLY_ROLES, change=ORGANISERS)

    class Meta:
        verbose_name = "工作组成员"
        ordering = ["-leader", "id"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="veterans_member_once")]

    def __str__(self):
        return self.name


class Office(CampaignScoped):
    """A street's collection office (街道采集办公室) and its liaison (联络员)."""

    org_unit = models.OneToOneField(OrgUnit, verbose_name="街道", on_delete=models.PROTECT, related_name="+")
    address = models.CharField("办公地点", max_length=200)
    office_phone = models.CharField("办公电话", max_length=20, blank=True)
    liaison = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="联络员", on_delete=models.PROTECT,
                                related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    reach = Reach(view=WORKERS | READ_ONLY_ROLES, change=ORGANISERS)

    class Meta:
        verbose_name = "街道采集办公室"
        ordering = ["org_unit__path"]


class Training(CampaignScoped):
    org_unit = models.ForeignKey(OrgUnit, verbose_name="主办单位", on_delete=models.PROTECT, related_name="+")
    title = models.CharField("培训主题", max_length=100)
    held_on = models.DateField("日期")
    place = models.CharField("地点", max_length=100)
    trainer = models.CharField("授课人", max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(view=WORKERS | READ_ONLY_ROLES, change=ORGANISERS)

    class Meta:
        verbose_name = "培训"
        ordering = ["-held_on", "-id"]

    def __str__(self):
        return self.title


class Attendance(CampaignScoped):
    """One person at one training. People count once towards the campaign's trained total
    however many trainings they attend (by name within their unit)."""

    training = models.ForeignKey(Training, on_delete=models.CASCADE, related_name="attendances")
    org_unit = models.ForeignKey(OrgUnit, verbose_name="所在单位", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("姓名", max_length=50)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")

    reach = Reach(path="training__org_unit__path", view=WORKERS | READ_ONLY_ROLES, change=ORGANISERS)

    class Meta:
        verbose_name = "培训签到"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["training", "org_unit", "name"],
                                               name="veterans_attendance_once")]


class Question(CampaignScoped):
    """The Q&A team's log: a question, who asked, its answer, who answered and when. A published
    answer is on the FAQ page, searchable by words and by pinyin initials."""

    org_unit = models.ForeignKey(OrgUnit, verbose_name="所属单位", on_delete=models.PROTECT, related_name="+")
    question = models.TextField("问题")
    asked_by = models.CharField("提问人", max_length=100)
    asked_at = models.DateTimeField("提问时间")
    topic = models.CharField("分类", max_length=32, blank=True)
    answer = models.TextField("解答", blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="解答人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField("解答时间", null=True, blank=True)
    published = models.BooleanField("列入常见问题", default=False)
    initials = models.CharField(max_length=200, blank=True, editable=False)  # pinyin initials of the question
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    reach = Reach(view=WORKERS | READ_ONLY_ROLES, change=ORGANISERS)

    class Meta:
        verbose_name = "答疑记录"
        ordering = ["-asked_at", "-id"]
        indexes = [models.Index(fields=["published", "-asked_at"])]

    def __str__(self):
        return self.question[:30]
