"""The skills competition (妇幼健康技能竞赛): competitions run by an organiser unit,
their events with a rubric, contestants entering events, the written round, the
judged practical round with locked score sheets and two-party corrections, and
the published results.

Every record reaches its org unit through the competition's organiser, so the
organiser's officers and the supervisors above it see it; judges reach only their
own sheets, and a contestant's institution only the published results.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from govdesk.core.models import OrgUnit
from govdesk.core.reach import CHANGE, OFFICERS, READ_ONLY_ROLES, VIEW, Reach, Scoped, paths_for, subtree_q

ORGANISERS = OFFICERS
WATCHERS = OFFICERS | READ_ONLY_ROLES
ORG = "competition__org_unit__path"
EVENT_ORG = "event__competition__org_unit__path"


def _or(*parts: Q | None) -> Q | None:
    present = [p for p in parts if p is not None]
    if not present:
        return None
    q = present[0]
    for p in present[1:]:
        q |= p
    return q


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_active


class Competition(Scoped):
    class Board(models.TextChoices):
        HIDDEN = "hidden", "仅显示出场顺序"
        PROGRESS = "progress", "显示评分进度"
        SCORES = "scores", "显示实时成绩"

    org_unit = models.ForeignKey(OrgUnit, verbose_name="主办单位", on_delete=models.PROTECT,
                                 related_name="competitions")
    name = models.CharField("竞赛名称", max_length=120)
    starts_on = models.DateField("开始日期")
    ends_on = models.DateField("结束日期")
    venue = models.CharField("地点", max_length=120)
    co_organisers = models.CharField("协办单位", max_length=200, blank=True)
    show_codes = models.BooleanField("评委只看选手编号", default=True)
    board_mode = models.CharField("大屏公布前显示", max_length=12, choices=Board.choices, default=Board.PROGRESS)
    appeal_hours = models.PositiveSmallIntegerField("成绩公布后可申请复核的时限（小时）", default=24)
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(path="org_unit__path", view=WATCHERS, change=ORGANISERS)

    class Meta:
        verbose_name = "竞赛"
        ordering = ["-starts_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")),
                                              name="contest_competition_dates_ordered")]

    def __str__(self):
        return self.name


class Event(Scoped):
    class Method(models.TextChoices):
        MEAN = "mean", "算术平均"
        TRIMMED = "trimmed", "去掉最高分和最低分后平均（不少于5份）"
        MEDIAN = "median", "中位数"

    class TieRule(models.TextChoices):
        ALL = "all", "并列者全部晋级"
        BREAK = "break", "依次按专业题得分、答题用时决出"

    class Status(models.TextChoices):
        SETUP = "setup", "筹备/笔试"
        ADVANCED = "advanced", "已确认晋级"
        JUDGING = "judging", "实操评分中"
        CLOSED = "closed", "评分已结束"
        PUBLISHED = "published", "成绩已公布"

    competition = models.ForeignKey(Competition, on_delete=models.PROTECT, related_name="events")
    name = models.CharField("项目名称", max_length=120)
    order = models.PositiveSmallIntegerField("序号", default=1)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SETUP)
    time_limit_seconds = models.PositiveIntegerField("操作限时（秒）", default=600)
    overtime_per_minute = models.DecimalField("超时每分钟扣分", max_digits=5, decimal_places=2, default=Decimal("1"))
    method = models.CharField("实操计分方法", max_length=8, choices=Method.choices, default=Method.MEAN)
    written_weight = models.DecimalField("笔试权重", max_digits=3, decimal_places=2, default=Decimal("0.50"))
    advance_count = models.PositiveSmallIntegerField("晋级人数", default=3)
    tie_rule = models.CharField("晋级线并列规则", max_length=8, choices=TieRule.choices, default=TieRule.ALL)
    chief_judge = models.ForeignKey("Judge", verbose_name="评委组长", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="chief_of")
    draw_seed = models.BigIntegerField(null=True, blank=True)
    drawn_at = models.DateTimeField(null=True, blank=True)
    chief_signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    chief_signed_at = models.DateTimeField(null=True, blank=True)
    supervisor_signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                             on_delete=models.PROTECT, related_name="+")
    supervisor_signed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    reach = Reach(path=ORG, view=WATCHERS, change=ORGANISERS)

    class Meta:
        verbose_name = "竞赛项目"
        ordering = ["competition", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["competition", "name"], name="contest_event_name_unique"),
            models.CheckConstraint(condition=Q(written_weight__gte=0, written_weight__lte=1),
                                   name="contest_event_weight_range"),
        ]

    def __str__(self):
        return self.name

    @classmethod
    def reach_q(cls, user, action):
        """The chief judge sees the event (to sign its results off), without changing it."""
        watchers = super().reach_q(user, action)
        if action == VIEW and _authenticated(user):
            return _or(watchers, Q(chief_judge__user=user))
        return watchers

    @property
    def practical_weight(self) -> Decimal:
        return Decimal("1") - self.written_weight

    @property
    def max_points(self) -> Decimal:
        return sum((i.max_points for i in self.items.all()), Decimal("0"))


class RubricItem(Scoped):
    """One line of the scoring standard (评分标准)."""

    class Part(models.TextChoices):
        OPERATION = "operation", "技能操作"
        QA = "qa", "提问答辩"

    class Effect(models.TextChoices):
        NONE = "", "—"
        CAP = "cap", "总分封顶"
        ZERO = "zero", "总分记零"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField("序号", default=1)
    part = models.CharField("部分", max_length=10, choices=Part.choices, default=Part.OPERATION)
    title = models.CharField("评分项目", max_length=200)
    max_points = models.DecimalField("满分", max_digits=5, decimal_places=1)
    step = models.DecimalField("计分步长", max_digits=4, decimal_places=1, default=Decimal("0.5"))
    critical = models.BooleanField("一票否决项", default=False)
    effect = models.CharField("否决效果", max_length=4, choices=Effect.choices, blank=True, default="")
    cap_points = models.DecimalField("封顶分", max_digits=5, decimal_places=1, null=True, blank=True)

    reach = Reach(path=EVENT_ORG, view=WATCHERS, change=ORGANISERS)

    class Meta:
        verbose_name = "评分项"
        ordering = ["event", "order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(max_points__gt=0) & Q(step__gt=0), name="contest_item_points_positive"),
            models.CheckConstraint(
                condition=Q(critical=False, effect="") | Q(critical=True, effect="zero")
                | Q(critical=True, effect="cap", cap_points__isnull=False),
                name="contest_item_critical_declared"),
        ]

    def __str__(self):
        return self.title


class Contestant(Scoped):
    competition = models.ForeignKey(Competition, on_delete=models.PROTECT, related_name="contestants")
    code = models.CharField("选手编号", max_length=8)
    name = models.CharField("姓名", max_length=50)
    institution = models.ForeignKey(OrgUnit, verbose_name="所在机构", on_delete=models.PROTECT, related_name="+")

    reach = Reach(path=ORG, view=WATCHERS, change=ORGANISERS)

    class Meta:
        verbose_name = "选手"
        ordering = ["competition", "code"]
        constraints = [models.UniqueConstraint(fields=["competition", "code"], name="contest_contestant_code_unique")]

    def __str__(self):
        return f"{self.code} {self.name}"


class Entry(Scoped):
    """A contestant entered in one event, with the written score and the practical draw."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="entries")
    contestant = models.ForeignKey(Contestant, on_delete=models.PROTECT, related_name="entries")
    written_score = models.DecimalField("笔试成绩", max_digits=5, decimal_places=2, null=True, blank=True)
    written_part = models.DecimalField("专业题得分", max_digits=5, decimal_places=2, null=True, blank=True)
    written_minutes = models.PositiveSmallIntegerField("答题用时（分钟）", null=True, blank=True)
    advanced = models.BooleanField("晋级实操", default=False)
    draw_order = models.PositiveSmallIntegerField("出场顺序", null=True, blank=True)

    reach = Reach(path=EVENT_ORG, view=WATCHERS, change=ORGANISERS)

    class Meta:
        verbose_name = "参赛项目"
        ordering = ["event", "draw_order", "id"]
        constraints = [models.UniqueConstraint(fields=["event", "contestant"], name="contest_entry_unique")]

    def __str__(self):
        return f"{self.contestant} · {self.event}"


class Judge(Scoped):
    competition = models.ForeignKey(Competition, on_delete=models.PROTECT, related_name="judges")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contest_judges")
    institution = models.ForeignKey(OrgUnit, verbose_name="所在机构", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    reach = Reach(path=ORG, view=WATCHERS, change=ORGANISERS)

    class Meta:
        verbose_name = "评委"
        ordering = ["competition", "id"]
        constraints = [models.UniqueConstraint(fields=["competition", "user"], name="contest_judge_unique")]

    def __str__(self):
        return self.user.label


class Panel(Scoped):
    """A judge sitting on an event's panel."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="panel")
    judge = models.ForeignKey(Judge, on_delete=models.PROTECT, related_name="panels")

    reach = Reach(path=EVENT_ORG, view=WATCHERS, change=ORGANISERS)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "judge"], name="contest_panel_unique")]


class Sheet(Scoped):
    """One judge's score sheet for one contestant in one event."""

    class Status(models.TextChoices):
        OPEN = "open", "待评分"
        SUBMITTED = "submitted", "已提交"

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="sheets")
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="sheets")
    judge = models.ForeignKey(Judge, on_delete=models.PROTECT, related_name="sheets")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    seconds_used = models.PositiveIntegerField("操作用时（秒）", null=True, blank=True)
    raw_total = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    overtime_deduction = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    critical_failed = models.BooleanField(default=False)
    total = models.DecimalField("得分", max_digits=6, decimal_places=2, null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    corrected = models.BooleanField("已更正", default=False)

    reach = Reach(path=EVENT_ORG, view=WATCHERS, change=frozenset())

    class Meta:
        verbose_name = "评分表"
        ordering = ["event", "entry__draw_order", "judge_id"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "judge"], name="contest_sheet_unique"),
            models.CheckConstraint(condition=Q(status="open") | Q(total__isnull=False, submitted_at__isnull=False),
                                   name="contest_sheet_submitted_has_total"),
        ]
        indexes = [models.Index(fields=["event", "status"])]

    def __str__(self):
        return f"{self.judge} · {self.entry.contestant.code}"

    @classmethod
    def reach_q(cls, user, action):
        """Organisers and supervisors see every sheet of their competitions; a judge sees
        only their own sheets, and the panel's other sheets once the round is closed.
        Only the sheet's own judge may score it (supervisors never change anything)."""
        if not _authenticated(user):
            return None
        own = Q(judge__user=user)
        if action == CHANGE:
            return own
        panel_closed = Q(event__status__in=[Event.Status.CLOSED, Event.Status.PUBLISHED],
                         event_id__in=Panel.objects.filter(judge__user=user).values("event_id"))
        watchers = subtree_q(cls.reach.path, paths_for(user, cls.reach.roles_for(VIEW)))
        return _or(watchers, own, panel_closed)


class SheetLine(models.Model):
    """Points for one rubric item on a sheet (reached through its sheet)."""

    sheet = models.ForeignKey(Sheet, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(RubricItem, on_delete=models.PROTECT, related_name="+")
    points = models.DecimalField(max_digits=5, decimal_places=1)
    failed = models.BooleanField("否决项未通过", default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sheet", "item"], name="contest_line_unique")]


class Correction(Scoped):
    """A change to a locked sheet: the original is kept here, the change applies only
    after the chief judge and a supervisor both approve."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审批"
        APPLIED = "applied", "已更正"
        REJECTED = "rejected", "已驳回"

    sheet = models.ForeignKey(Sheet, on_delete=models.PROTECT, related_name="corrections")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    reason = models.CharField("更正理由", max_length=300)
    original = models.JSONField()
    proposed = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    chief_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    chief_approved_at = models.DateTimeField(null=True, blank=True)
    supervisor_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                               on_delete=models.PROTECT, related_name="+")
    supervisor_approved_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    reach = Reach(path="sheet__event__competition__org_unit__path", view=WATCHERS, change=frozenset())

    class Meta:
        verbose_name = "评分更正"
        ordering = ["-requested_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["sheet"], condition=Q(status="pending"),
                                               name="contest_one_pending_correction")]

    @classmethod
    def reach_q(cls, user, action):
        if not _authenticated(user) or action != VIEW:
            return None
        watchers = subtree_q(cls.reach.path, paths_for(user, cls.reach.roles_for(VIEW)))
        return _or(watchers, Q(sheet__judge__user=user), Q(sheet__event__chief_judge__user=user))


class ResultRow(Scoped):
    """The published result of one advanced entry, frozen at publication."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="results")
    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="result")
    written = models.DecimalField(max_digits=6, decimal_places=2)
    practical = models.DecimalField(max_digits=6, decimal_places=2)
    final = models.DecimalField(max_digits=6, decimal_places=2)
    seconds_used = models.PositiveIntegerField(null=True)
    rank = models.PositiveSmallIntegerField()
    winner = models.BooleanField(default=False)
    working = models.JSONField(default=dict)

    reach = Reach(path=EVENT_ORG, view=WATCHERS, change=frozenset())

    class Meta:
        verbose_name = "竞赛成绩"
        ordering = ["event", "rank", "id"]

    @classmethod
    def reach_q(cls, user, action):
        """Besides the organiser and supervisors, an officer of a contestant's institution
        sees the published ranking of the events their people entered."""
        if not _authenticated(user) or action != VIEW:
            return None
        watchers = subtree_q(cls.reach.path, paths_for(user, cls.reach.roles_for(VIEW)))
        institution_paths = paths_for(user, OFFICERS)
        institution = None
        if institution_paths:
            entered = subtree_q("contestant__institution__path", institution_paths)
            institution = Q(event__status=Event.Status.PUBLISHED,
                            event_id__in=Entry.objects.filter(entered).values("event_id"))
        return _or(watchers, institution)


class Appeal(Scoped):
    """A contestant's appeal (复核) against a published result, filed within the
    competition's declared window, and its outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "待处理"
        UPHELD = "upheld", "复核成立"
        DISMISSED = "dismissed", "维持原成绩"

    result = models.ForeignKey(ResultRow, on_delete=models.PROTECT, related_name="appeals")
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField()
    reason = models.CharField("复核理由", max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField("处理结果", max_length=500, blank=True)

    reach = Reach(path="result__event__competition__org_unit__path", view=WATCHERS, change=frozenset())

    class Meta:
        verbose_name = "成绩复核"
        ordering = ["-filed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["result"], condition=Q(status="pending"),
                                               name="contest_one_pending_appeal")]

    def __str__(self):
        return f"复核：{self.result.entry}"

    @classmethod
    def reach_q(cls, user, action):
        """The organiser and supervisors, and the officers of the contestant's institution."""
        if not _authenticated(user) or action != VIEW:
            return None
        watchers = subtree_q(cls.reach.path, paths_for(user, cls.reach.roles_for(VIEW)))
        institution = subtree_q("result__entry__contestant__institution__path", paths_for(user, OFFICERS))
        return _or(watchers, institution)
