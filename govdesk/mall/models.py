"""The procurement mall: catalogue (categories, products, offers, reference prices),
supplier admission, carts, orders, online negotiation and supervision flags.

Reach: the catalogue belongs to the district and every member of the district may
read it; an offer, admission or order is also reached through the supplier's
enterprise unit (a supplier sees only its own); an order is reached through the
purchaser's unit AND the supplier's unit; supervision flags are seen only by
supervisors and district administrators — never by the unit or the supplier.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, F, Q
from django.db.models.lookups import In

from govdesk.core.files import StoredFile
from govdesk.core.models import OrgUnit
from govdesk.core.reach import CHANGE, VIEW, Reach, Role, Scoped, paths_for, subtree_q

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")
ALL_ROLES = frozenset(Role.values)


def _or(*qs: Q | None) -> Q | None:
    present = [q for q in qs if q is not None]
    if not present:
        return None
    result = present[0]
    for q in present[1:]:
        result |= q
    return result


def catalogue_q(lookup: str, user) -> Q | None:
    """Catalogue records belong to a district: anybody holding a membership inside
    (or above) the owning unit reads them — a supplier's enterprise and a purchaser's
    community alike."""
    paths = paths_for(user, ALL_ROLES)
    if not paths:
        return None
    ancestors = set()
    for path in paths:
        ids = [p for p in path.split("/") if p]
        ancestors.update("/" + "/".join(ids[:i]) + "/" for i in range(1, len(ids) + 1))
    return _or(Q(**{f"{lookup}__in": sorted(ancestors)}) if ancestors else None, subtree_q(lookup, paths))


# Who reaches an order from the purchasing unit's side and from the supplier's side.
ORDER_UNIT_VIEW = frozenset({Role.PURCHASER, Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER,
                             Role.SUPERVISOR})
ORDER_UNIT_CHANGE = frozenset({Role.PURCHASER})
ORDER_SUPPLIER_ROLES = frozenset({Role.SUPPLIER})


def _units_in(lookup: str, paths: list[str]) -> Q | None:
    """``lookup`` (a foreign key to OrgUnit) within the subtrees of ``paths``, as
    ``IN (SELECT id FROM orgunit WHERE path LIKE ...)``. A district-wide reach matches nearly
    every row, so for it the column is wrapped (``id + 0``) to keep the database from driving
    the query through that column's index: it then walks the index of the sort (the newest
    orders first) and stops after one page instead of sorting the whole table."""
    if not paths:
        return None
    wide = [p for p in paths if p.count("/") == 2]  # "/1/": a root of the tree
    narrow = [p for p in paths if p not in wide]
    result = None
    if narrow:
        result = Q(**{f"{lookup}__in": OrgUnit.objects.filter(subtree_q("path", narrow)).values("pk")})
    if wide:
        column = ExpressionWrapper(F(lookup) + 0, output_field=models.IntegerField())
        result = _or(result, Q(In(column, OrgUnit.objects.filter(subtree_q("path", wide)).values("pk"))))
    return result


def order_q(prefix: str, user, action: str, *, sent: str = "") -> Q | None:
    """An order is the purchasing unit's (subtree) and the supplier's; supervisors only read.
    ``sent`` names the time the order went to the supplier: the supplier side then sees only
    orders sent to it (not those waiting for, or declined in, the unit's internal approval)."""
    unit_roles = ORDER_UNIT_VIEW if action == VIEW else ORDER_UNIT_CHANGE
    supplier_side = _units_in(f"{prefix}supplier", paths_for(user, ORDER_SUPPLIER_ROLES))
    if supplier_side is not None and sent:
        supplier_side &= Q(**{f"{sent}__isnull": False})
    return _or(_units_in(f"{prefix}org_unit", paths_for(user, unit_roles)), supplier_side)


def pct(value: Decimal) -> str:
    """20.00 -> "20", 12.50 -> "12.5" (percentages in messages)."""
    return format(Decimal(value).normalize(), "f")


def day_number(day: date) -> int:
    """Orders carry their local date as an integer so window rules are plain integer
    arithmetic on both SQLite and PostgreSQL."""
    return day.toordinal()


class MallPolicy(Scoped):
    """The district's configurable thresholds (one row per district; defaults when absent)."""

    org_unit = models.OneToOneField(OrgUnit, on_delete=models.PROTECT, related_name="mall_policy")
    listing_markup_pct = models.DecimalField("挂牌价高于参考价上限（%）", max_digits=6, decimal_places=2,
                                             default=Decimal("20"))
    price_flag_pct = models.DecimalField("成交价高于参考价预警（%）", max_digits=6, decimal_places=2,
                                         default=Decimal("10"))
    split_window_days = models.PositiveSmallIntegerField("拆单识别窗口（天）", default=30)
    # "Clustered just under the limit": several orders in the split window, each within
    # cluster_pct% below the single-purchase limit, even when no two of them exceed it together.
    cluster_pct = models.DecimalField("贴近限额幅度（%）", max_digits=6, decimal_places=2, default=Decimal("10"))
    cluster_count = models.PositiveSmallIntegerField("贴近限额笔数", default=3)
    share_pct = models.DecimalField("单一供应商占比预警（%）", max_digits=6, decimal_places=2, default=Decimal("60"))
    share_min_total = models.DecimalField("占比规则起算金额", default=Decimal("100000"), **MONEY)
    frequent_days = models.PositiveSmallIntegerField("频繁下单窗口（天）", default=7)
    frequent_count = models.PositiveSmallIntegerField("频繁下单笔数上限", default=10)
    autocancel_days = models.PositiveSmallIntegerField("供应商确认时限（天）", default=3)
    negotiation_days = models.PositiveSmallIntegerField("议价有效期（天）", default=3)

    reach = Reach(change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "商城规则参数"


class Category(Scoped):
    """A procurement category (品目) with its purchase limits."""

    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    code = models.CharField("品目编码", max_length=32)
    name = models.CharField("品目名称", max_length=100)
    initials = models.CharField(max_length=100, blank=True, editable=False)
    is_mall = models.BooleanField("商城品目", default=True)
    is_encouraged = models.BooleanField("鼓励品目", default=False)
    single_limit = models.DecimalField("单次采购限额", default=Decimal("500000"), **MONEY)
    annual_limit = models.DecimalField("年度累计限额（每单位）", null=True, blank=True, **MONEY)

    reach = Reach(change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "品目"
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["org_unit", "code"], name="mall_category_code_unique"),
                       models.CheckConstraint(condition=Q(single_limit__gt=0), name="mall_category_limit_positive")]

    def __str__(self):
        return f"{self.code} {self.name}"

    @classmethod
    def reach_q(cls, user, action):
        if action == VIEW:
            return catalogue_q("org_unit__path", user)
        return super().reach_q(user, action)


class Product(Scoped):
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(Category, verbose_name="品目", on_delete=models.PROTECT, related_name="products")
    name = models.CharField("商品名称", max_length=200)
    brand = models.CharField("品牌", max_length=100, blank=True)
    model = models.CharField("型号", max_length=100, blank=True)
    unit = models.CharField("计量单位", max_length=16, default="件")
    specs = models.TextField("规格参数", blank=True)
    initials = models.CharField(max_length=200, blank=True, editable=False)
    # The latest reference market price (history in ReferencePrice).
    reference_price = models.DecimalField("市场参考价", null=True, blank=True, **MONEY)
    reference_date = models.DateField("参考价日期", null=True, blank=True)
    reference_source = models.CharField("参考价来源", max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "商品"
        indexes = [models.Index(fields=["initials"]), models.Index(fields=["category", "name"])]

    def __str__(self):
        return " ".join(x for x in (self.brand, self.name, self.model) if x)

    @classmethod
    def reach_q(cls, user, action):
        if action == VIEW:
            return catalogue_q("org_unit__path", user)
        return super().reach_q(user, action)


class ReferencePrice(Scoped):
    """One observed market price; every entry is kept, the latest is copied to the product."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reference_prices")
    price = models.DecimalField("参考价", **MONEY)
    observed_on = models.DateField("日期")
    source = models.CharField("来源", max_length=100)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(path="product__org_unit__path", change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        ordering = ["-observed_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="mall_reference_positive")]

    @classmethod
    def reach_q(cls, user, action):
        if action == VIEW:
            return catalogue_q("product__org_unit__path", user)
        return super().reach_q(user, action)


class Admission(Scoped):
    """A supplier's admission to a category (准入): applied → admitted / suspended / removed."""

    class Status(models.TextChoices):
        APPLIED = "applied", "已申请"
        ADMITTED = "admitted", "已准入"
        SUSPENDED = "suspended", "已暂停"
        REMOVED = "removed", "已清退"
        REJECTED = "rejected", "未通过"

    supplier = models.ForeignKey(OrgUnit, verbose_name="供应商", on_delete=models.PROTECT, related_name="admissions")
    category = models.ForeignKey(Category, verbose_name="品目", on_delete=models.PROTECT, related_name="admissions")
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.APPLIED)
    documents = models.TextField("申请材料说明", blank=True)
    reason = models.CharField("理由", max_length=200, blank=True)
    decided_on = models.DateField("决定日期", null=True, blank=True)
    applied_at = models.DateTimeField(auto_now_add=True)

    reach = Reach(path="supplier__path", view=frozenset({Role.SUPPLIER, Role.DISTRICT_ADMIN, Role.SUPERVISOR}),
                  change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "供应商准入"
        constraints = [models.UniqueConstraint(fields=["supplier", "category"], name="mall_admission_unique")]


class AdmissionDocument(Scoped, StoredFile):
    """A file attached to an admission application (licence, qualification, authorisation),
    kept under MEDIA_ROOT/mall by ``core.files.store_upload`` and served through reach."""

    admission = models.ForeignKey(Admission, on_delete=models.CASCADE, related_name="files")

    reach = Reach(path="admission__supplier__path", view=Admission.reach.view,
                  change=frozenset({Role.SUPPLIER}))

    class Meta:
        verbose_name = "准入材料"


class Sanction(Scoped):
    """The supplier's sanctions history (处罚记录): warnings, suspensions, removals and their
    lifting, each with its reason, date and who decided; suspensions and removals of an
    admission are recorded here by ``admission_decide`` itself. Kept for good."""

    class Kind(models.TextChoices):
        WARNING = "warning", "警告"
        SUSPENSION = "suspension", "暂停供货"
        REMOVAL = "removal", "清退"
        PENALTY = "penalty", "违约处罚"
        LIFTED = "lifted", "恢复供货"

    supplier = models.ForeignKey(OrgUnit, verbose_name="供应商", on_delete=models.PROTECT, related_name="mall_sanctions")
    category = models.ForeignKey(Category, verbose_name="品目", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    kind = models.CharField("类型", max_length=12, choices=Kind.choices)
    reason = models.CharField("事由", max_length=300)
    decided_on = models.DateField("决定日期")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    reach = Reach(path="supplier__path", view=Admission.reach.view, change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "供应商处罚记录"
        ordering = ["-decided_on", "-id"]


class SanctionDocument(Scoped, StoredFile):
    """The decision document of a sanction (处罚决定书), under MEDIA_ROOT/mall."""

    sanction = models.ForeignKey(Sanction, on_delete=models.CASCADE, related_name="files")

    reach = Reach(path="sanction__supplier__path", view=Admission.reach.view,
                  change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "处罚决定文件"


class Offer(Scoped):
    """One supplier's offer of one product (one product, many offers)."""

    class Status(models.TextChoices):
        LISTED = "listed", "在售"
        BLOCKED = "blocked", "不予上架"
        WITHDRAWN = "withdrawn", "已下架"

    product = models.ForeignKey(Product, verbose_name="商品", on_delete=models.PROTECT, related_name="offers")
    supplier = models.ForeignKey(OrgUnit, verbose_name="供应商", on_delete=models.PROTECT, related_name="mall_offers")
    list_price = models.DecimalField("挂牌价", **MONEY)
    stock = models.PositiveIntegerField("库存", default=0)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.LISTED)
    blocked_reason = models.CharField("不予上架原因", max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    reach = Reach(path="supplier__path", view=frozenset({Role.SUPPLIER, Role.DISTRICT_ADMIN, Role.SUPERVISOR}),
                  change=frozenset({Role.SUPPLIER, Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "供应商报价"
        constraints = [models.UniqueConstraint(fields=["product", "supplier"], name="mall_offer_unique"),
                       models.CheckConstraint(condition=Q(list_price__gt=0), name="mall_offer_price_positive")]
        indexes = [models.Index(fields=["status", "list_price"])]

    def __str__(self):
        return f"{self.product} · {self.supplier.name}"

    @classmethod
    def reach_q(cls, user, action):
        own = super().reach_q(user, action)
        if action != VIEW:
            return own
        listed = catalogue_q("product__org_unit__path", user)
        return _or(own, (listed & Q(status=cls.Status.LISTED)) if listed is not None else None)


class UnitBudget(Scoped):
    """A unit's annual mall budget: over it, placing an order is stopped or only warned."""

    class Mode(models.TextChoices):
        STOP = "stop", "超出即禁止"
        WARN = "warn", "超出仅提醒"

    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="mall_budgets")
    year = models.PositiveSmallIntegerField("年度")
    amount = models.DecimalField("预算金额", **MONEY)
    mode = models.CharField("超预算处理", max_length=8, choices=Mode.choices, default=Mode.STOP)

    reach = Reach(view=ORDER_UNIT_VIEW, change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org_unit", "year"], name="mall_budget_once_a_year")]


APPROVERS = frozenset({Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER, Role.DISTRICT_ADMIN})


class ApprovalRule(Scoped):
    """A unit's internal approval: orders above ``threshold`` wait for an officer of the
    unit (审核) before the supplier sees them; the purchaser (经办) cannot approve."""

    org_unit = models.OneToOneField(OrgUnit, on_delete=models.PROTECT, related_name="mall_approval")
    threshold = models.DecimalField("需审核的订单金额（超过）", **MONEY)

    reach = Reach(view=ORDER_UNIT_VIEW, change=APPROVERS)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(threshold__gte=0), name="mall_approval_threshold")]


class CartLine(Scoped):
    """A purchaser's cart is personal: nobody else sees it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mall_cart")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField("数量", default=1)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "offer"], name="mall_cart_offer_once")]

    @classmethod
    def reach_q(cls, user, action):
        if not getattr(user, "is_authenticated", False):
            return None
        return Q(user=user)


class Order(Scoped):
    """One order = one purchasing unit, one supplier, one category (the cart is split so)."""

    class Status(models.TextChoices):
        PENDING = "pending", "待单位审核"
        PLACED = "placed", "已下单"
        NEGOTIATING = "negotiating", "议价中"
        CONFIRMED = "confirmed", "供应商已确认"
        SHIPPED = "shipped", "已发货"
        ACCEPTED = "accepted", "已验收"
        SETTLED = "settled", "已结算"
        CANCELLED = "cancelled", "已取消"

    org_unit = models.ForeignKey(OrgUnit, verbose_name="采购单位", on_delete=models.PROTECT, related_name="mall_orders")
    supplier = models.ForeignKey(OrgUnit, verbose_name="供应商", on_delete=models.PROTECT, related_name="mall_sales")
    category = models.ForeignKey(Category, verbose_name="品目", on_delete=models.PROTECT, related_name="orders")
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.PLACED)
    list_total = models.DecimalField("挂牌总价", **MONEY)
    total = models.DecimalField("成交总价", **MONEY)
    savings = models.DecimalField("节约金额", default=ZERO, **MONEY)
    placed_at = models.DateTimeField("下单时间")
    placed_on = models.DateField("下单日期")
    day = models.IntegerField(editable=False)  # placed_on as an ordinal, for window rules
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    # When the order went to the supplier: at placing, or when the unit approved it. Until then
    # (pending) and for good when the unit declines it, the supplier does not see it.
    sent_at = models.DateTimeField("发送供应商时间", null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField("验收评分", null=True, blank=True)
    acceptance_note = models.CharField("验收意见", max_length=300, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField("取消原因", max_length=300, blank=True)
    # An order imported from another mall (商城历史订单): where it came from and its number
    # there; both empty for orders placed here. Imported orders are supervised like the rest.
    source = models.CharField("来源商城", max_length=50, blank=True)
    external_no = models.CharField("原订单号", max_length=64, blank=True)

    reach = Reach(view=ORDER_UNIT_VIEW, change=ORDER_UNIT_CHANGE | ORDER_SUPPLIER_ROLES)

    class Meta:
        verbose_name = "订单"
        constraints = [
            models.UniqueConstraint(fields=["source", "external_no"], condition=~Q(external_no=""),
                                    name="mall_order_external_unique"),
            models.CheckConstraint(condition=Q(total__lte=models.F("list_total")), name="mall_order_total_le_list"),
            models.CheckConstraint(condition=Q(total__gt=0), name="mall_order_total_positive"),
        ]
        indexes = [
            # The placing checks' window lookups (unit, category, days), and the sweep's read of a
            # whole district in window order from this index alone: the id after the day is the
            # order within a day, status and total ride along (SQLite, 1M orders: 2.6 s -> 0.8 s).
            models.Index(fields=["org_unit", "category", "day", "id", "status", "total"], name="mall_order_window"),
            models.Index(fields=["supplier", "status"]),
            models.Index(fields=["status", "placed_at"]),
            models.Index(fields=["placed_on"]),
            # the order list's keyset sorts (core/listing.py): newest first, by amount
            models.Index(fields=["placed_at", "id"], name="mall_order_placed_keyset"),
            models.Index(fields=["total", "id"], name="mall_order_total_keyset"),
        ]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"CG{self.placed_on:%Y%m%d}{self.pk:06d}"

    @classmethod
    def reach_q(cls, user, action):
        return order_q("", user, action, sent="sent_at")


ROLLUP_VALUES = ("orders", "amount_fen", "savings_fen")


class Rollup(Scoped):
    """The figures, pre-aggregated from the live orders (sent to the supplier, not cancelled); kept by the order
    services in the transaction that changes an order (``rollups.shift``), rebuilt from the
    orders by ``govdesk mall rollup --rebuild``. Money in fen (integers): the running sums are
    exact on SQLite as on PostgreSQL. Reached exactly like the orders it sums: from the
    purchasing unit's side or the supplier's side."""

    org_unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    supplier = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    orders = models.IntegerField(default=0)
    amount_fen = models.BigIntegerField(default=0)
    savings_fen = models.BigIntegerField(default=0)

    reach = Reach(view=ORDER_UNIT_VIEW, change=frozenset())

    class Meta:
        abstract = True

    @classmethod
    def reach_q(cls, user, action):
        return order_q("", user, action) if action == VIEW else None


class MonthRollup(Rollup):
    """Per month x purchasing unit x supplier: totals, months, units and suppliers."""

    month = models.DateField("月份")  # its first day

    class Meta:
        verbose_name = "订单月度汇总"
        constraints = [models.UniqueConstraint(fields=["month", "org_unit", "supplier"], name="mall_month_rollup_key")]
        # The figures' GROUP BYs read these alone, in group order (SQLite has no hash aggregate:
        # it walked an index and fetched every row; 1M orders, cold figures 40 -> 21 ms).
        indexes = [models.Index(fields=["month", "org_unit", "supplier", *ROLLUP_VALUES], name="mall_month_by_month"),
                   models.Index(fields=["org_unit", "supplier", *ROLLUP_VALUES], name="mall_month_by_unit")]


class CategoryRollup(Rollup):
    """Per year x purchasing unit x supplier x category: categories and the encouraged share
    (read through the category, whose flag may change later)."""

    year = models.PositiveSmallIntegerField("年度")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "订单品目汇总"
        constraints = [models.UniqueConstraint(fields=["year", "org_unit", "supplier", "category"],
                                               name="mall_category_rollup_key")]
        indexes = [models.Index(fields=["category", "org_unit", "supplier", *ROLLUP_VALUES],
                                name="mall_category_by_category")]


class FiguresVersion(models.Model):
    """A counter per purchasing unit, raised in the transaction of every change to the unit's
    rollup rows (``rollups.shift``, ``rollups.rebuild``). All the counters together name the
    state of the rollups: the key of the figures' cache (``queries.figures``). One row per unit
    serialises nothing new: the unit's writes already queue on its branch's audit chain."""

    org_unit = models.OneToOneField(OrgUnit, on_delete=models.CASCADE, primary_key=True, related_name="+")
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "订单汇总版本"


class OrderLine(models.Model):
    """A line's ``amount`` binds: the agreed price may lower it, never raise it over list."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField("数量")
    list_price = models.DecimalField("挂牌单价", **MONEY)
    list_amount = models.DecimalField("挂牌金额", **MONEY)
    amount = models.DecimalField("成交金额", **MONEY)
    # The market reference in force when the order was placed: what the price rule judges the
    # line against (a reference recorded later does not make old orders over-priced).
    reference = models.ForeignKey(ReferencePrice, verbose_name="下单时的市场参考价", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__lte=models.F("list_amount")), name="mall_line_amount_le_list"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="mall_line_quantity_positive"),
        ]

    @property
    def unit_price(self) -> Decimal:
        return (self.amount / self.quantity).quantize(Decimal("0.01"))


class Negotiation(Scoped):
    """Online negotiation on an order, or on a cart before it is ordered: one group of the
    cart (one supplier, one category — what becomes one order), priced by the purchaser whose
    cart it is (``buyer``), its lines frozen in ``basket``. An agreement on a cart binds the
    order placed from it; changing that part of the cart voids the negotiation.

    ``round`` counts the bids: every action must name the round it answers, so a double
    submit or a crossed click is refused, not doubled."""

    class Status(models.TextChoices):
        OPEN = "open", "议价中"
        AGREED = "agreed", "已达成"
        REJECTED = "rejected", "已拒绝"
        WITHDRAWN = "withdrawn", "已撤回"
        EXPIRED = "expired", "已过期"

    class Side(models.TextChoices):
        PURCHASER = "purchaser", "采购人"
        SUPPLIER = "supplier", "供应商"

    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="negotiations")
    # On a cart (order empty until the order is placed from it):
    org_unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    supplier = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    # [{"offer", "product", "quantity", "list_price", "list_amount", "agreed"}]: the cart lines priced
    basket = models.JSONField(default=list, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.OPEN)
    round = models.PositiveIntegerField(default=0)
    turn = models.CharField(max_length=12, choices=Side.choices, blank=True)
    deadline = models.DateTimeField("截止时间")
    list_total = models.DecimalField(**MONEY)
    bid_total = models.DecimalField(**MONEY)  # the purchaser's standing offer
    ask_total = models.DecimalField(**MONEY)  # the supplier's standing price (starts at list)
    agreed_total = models.DecimalField(null=True, blank=True, **MONEY)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    reach = Reach(view=ORDER_UNIT_VIEW, change=ORDER_UNIT_CHANGE | ORDER_SUPPLIER_ROLES)

    class Meta:
        verbose_name = "议价"
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(status="open"), name="mall_one_open_negotiation"),
            models.UniqueConstraint(fields=["order"], condition=Q(status="agreed"), name="mall_one_agreement"),
            # a cart group has at most one running negotiation and one agreement not yet ordered
            models.UniqueConstraint(fields=["buyer", "supplier", "category"],
                                    condition=Q(status="open", order__isnull=True),
                                    name="mall_one_open_cart_negotiation"),
            models.UniqueConstraint(fields=["buyer", "supplier", "category"],
                                    condition=Q(status="agreed", order__isnull=True),
                                    name="mall_one_cart_agreement"),
            models.CheckConstraint(condition=Q(order__isnull=False) | Q(org_unit__isnull=False, supplier__isnull=False,
                                                                         category__isnull=False, buyer__isnull=False),
                                   name="mall_negotiation_has_subject"),
            models.CheckConstraint(condition=Q(ask_total__lte=models.F("list_total"),
                                               bid_total__lte=models.F("list_total")),
                                   name="mall_negotiation_le_list"),
        ]

    @classmethod
    def reach_q(cls, user, action):
        on_order = order_q("order__", user, action)
        on_cart = order_q("", user, action)
        return _or(on_order, (Q(order__isnull=True) & on_cart) if on_cart is not None else None)

    @property
    def on_cart(self) -> bool:
        return self.order_id is None and self.buyer_id is not None

    @property
    def standing_total(self) -> Decimal:
        """The proposal the side whose turn it is would accept."""
        return self.bid_total if self.turn == self.Side.SUPPLIER else self.ask_total


class Bid(Scoped):
    """Every step of a negotiation, kept for good (议价记录)."""

    class Action(models.TextChoices):
        OFFER = "offer", "出价"
        COUNTER = "counter", "还价"
        ACCEPT = "accept", "接受"
        REJECT = "reject", "拒绝"
        WITHDRAW = "withdraw", "撤回"
        EXPIRE = "expire", "过期"

    negotiation = models.ForeignKey(Negotiation, on_delete=models.CASCADE, related_name="bids")
    round = models.PositiveIntegerField()
    side = models.CharField(max_length=12, choices=Negotiation.Side.choices, blank=True)
    action = models.CharField(max_length=12, choices=Action.choices)
    total = models.DecimalField(null=True, blank=True, **MONEY)
    line_amounts = models.JSONField(default=dict, blank=True)  # {line id: amount} when priced per line
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    reach = Reach(view=ORDER_UNIT_VIEW, change=frozenset())

    class Meta:
        ordering = ["round"]
        constraints = [models.UniqueConstraint(fields=["negotiation", "round"], name="mall_bid_round_unique")]

    @classmethod
    def reach_q(cls, user, action):
        if action != VIEW:
            return None
        on_cart = order_q("negotiation__", user, action)
        return _or(order_q("negotiation__order__", user, action),
                   (Q(negotiation__order__isnull=True) & on_cart) if on_cart is not None else None)


class Flag(Scoped):
    """A supervision finding (在线监管). Only supervisors and district administrators
    see the queue; they review it (their own work, hence the CHANGE override)."""

    class Rule(models.TextChoices):
        SPLIT = "split", "疑似拆单"
        CLUSTER = "cluster", "多笔贴近限额"
        PRICE = "price", "价格高于参考价"
        OUTSIDE = "outside", "非商城品目采购"
        SHARE = "share", "供应商集中度过高"
        FREQUENT = "frequent", "下单异常频繁"

    class Status(models.TextChoices):
        OPEN = "open", "待核查"
        REVIEWING = "reviewing", "核查中"
        ESCALATED = "escalated", "已移交"
        CLOSED = "closed", "已办结"

    key = models.CharField(max_length=100, unique=True)  # one flag per finding: the sweep is idempotent
    rule = models.CharField("规则", max_length=12, choices=Rule.choices)
    org_unit = models.ForeignKey(OrgUnit, verbose_name="采购单位", on_delete=models.PROTECT, related_name="+")
    supplier = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="flags")
    amount = models.DecimalField(null=True, blank=True, **MONEY)
    message = models.CharField("说明", max_length=500)
    params = models.JSONField(default=dict)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.OPEN)
    note = models.CharField("核查意见", max_length=500, blank=True)
    raised_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    SUPERVISING = frozenset({Role.SUPERVISOR, Role.DISTRICT_ADMIN})
    reach = Reach(view=SUPERVISING, change=frozenset({Role.DISTRICT_ADMIN}))

    class Meta:
        verbose_name = "监管预警"
        indexes = [models.Index(fields=["status", "raised_at"]), models.Index(fields=["rule", "status"])]

    @classmethod
    def reach_q(cls, user, action):
        # Reviewing the queue is the supervisors' own work: the one place they change a record.
        return subtree_q("org_unit__path", paths_for(user, cls.SUPERVISING))


__all__ = ["MallPolicy", "Category", "Product", "ReferencePrice", "Admission", "AdmissionDocument", "Sanction",
           "SanctionDocument", "Offer", "UnitBudget", "CartLine",
           "Order", "MonthRollup", "CategoryRollup", "OrderLine", "Negotiation", "Bid", "Flag", "CHANGE", "VIEW"]
