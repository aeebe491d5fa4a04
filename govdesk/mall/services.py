"""Every write of the mall: validate, change, check reach, audit — one transaction each."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.urls import reverse
from django.utils import timezone

from govdesk.core import files, personal
from govdesk.core.audit import Entry, audit, audit_many
from govdesk.core.errors import Conflict, Forbidden, NotInReach, ServiceError
from govdesk.core.models import AuditEvent, OrgUnit, User
from govdesk.core.reach import CHANGE, VIEW, Role, paths_for, require, require_unit
from govdesk.core.services import pinyin_of, todo_close, todo_open

from . import rollups, supervision
from .models import (
    APPROVERS,
    ZERO,
    Admission,
    AdmissionDocument,
    ApprovalRule,
    Bid,
    CartLine,
    Category,
    MallPolicy,
    Negotiation,
    Offer,
    Order,
    OrderLine,
    Product,
    ReferencePrice,
    Sanction,
    SanctionDocument,
    UnitBudget,
    day_number,
    pct,
)

A = AuditEvent.Action
CENT = Decimal("0.01")
TODO_CONFIRM = "mall_confirm"
TODO_ACCEPT = "mall_accept"
TODO_NEGOTIATE = "mall_negotiate"
TODO_APPROVE = "mall_approve"


# --- helpers -------------------------------------------------------------------------------

def money(value, *, field: str = "price", label: str = "金额") -> Decimal:
    """A positive amount in yuan with at most two decimals (full-width digits accepted)."""
    try:
        amount = Decimal(personal.fold(str(value)).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ServiceError(f"{label}格式不正确", fields={field: f"{label}格式不正确"}) from None
    if not amount.is_finite() or amount <= 0:
        raise ServiceError(f"{label}必须大于 0", fields={field: f"{label}必须大于 0"})
    if amount != amount.quantize(CENT):
        raise ServiceError(f"{label}最多保留两位小数（分）", fields={field: "最多两位小数"})
    if amount >= Decimal("1000000000000"):
        raise ServiceError(f"{label}过大", fields={field: f"{label}过大"})
    return amount.quantize(CENT)


def yuan(value: Decimal) -> str:
    return f"{value:,.2f}"


def policy_for(unit: OrgUnit) -> MallPolicy:
    """The thresholds of the unit's district (the root of its path); defaults when none saved."""
    root_id = int(unit.path.strip("/").split("/")[0])
    return MallPolicy.objects.filter(org_unit_id=root_id).first() or MallPolicy(org_unit_id=root_id)


def _covers(user, roles, path: str) -> bool:
    return any(path.startswith(root) for root in paths_for(user, roles))


@dataclass
class BasketLine:
    """A cart line as a negotiation prices it; ``pk`` is the offer's id."""

    pk: int
    product: str
    quantity: int
    list_price: Decimal
    list_amount: Decimal
    amount: Decimal
    agreed: Decimal | None = None


class _Lines(list):
    def all(self):
        return self


@dataclass
class CartSubject:
    """What a negotiation on a cart negotiates about: the group of one purchaser's cart that
    will become one order (one supplier, one category). Quacks like an order where the
    negotiation services read one."""

    negotiation: Negotiation
    org_unit: OrgUnit
    supplier: OrgUnit
    category: Category
    placed_by: User
    lines: _Lines
    list_total: Decimal
    status: str = "cart"

    @property
    def placed_by_id(self) -> int:
        return self.placed_by.pk

    @property
    def number(self) -> str:
        return f"购物车（{self.supplier.name}·{self.category.name}）"


def _basket_lines(basket: list[dict]) -> _Lines:
    return _Lines(BasketLine(pk=int(b["offer"]), product=b["product"], quantity=int(b["quantity"]),
                             list_price=Decimal(b["list_price"]), list_amount=Decimal(b["list_amount"]),
                             amount=Decimal(b["list_amount"]),
                             agreed=Decimal(b["agreed"]) if b.get("agreed") else None) for b in basket)


def negotiation_subject(negotiation: Negotiation):
    """The order a negotiation is about, or its cart group when it was opened on a cart."""
    if negotiation.order_id is not None:
        return Order.objects.select_related("org_unit", "supplier", "category").get(pk=negotiation.order_id)
    lines = _basket_lines(negotiation.basket)
    return CartSubject(negotiation=negotiation, org_unit=OrgUnit.objects.get(pk=negotiation.org_unit_id),
                       supplier=OrgUnit.objects.get(pk=negotiation.supplier_id),
                       category=Category.objects.get(pk=negotiation.category_id),
                       placed_by=User.objects.get(pk=negotiation.buyer_id), lines=lines,
                       list_total=sum((line.list_amount for line in lines), ZERO))


def sides_of(user, order) -> set[str]:
    """Which side(s) of an order (or of a cart group being negotiated) the user acts for.
    A cart is personal: on a cart only its owner is the purchaser."""
    sides = set()
    if _covers(user, {Role.PURCHASER}, order.org_unit.path) and (
            not isinstance(order, CartSubject) or order.placed_by_id == user.pk):
        sides.add(Negotiation.Side.PURCHASER)
    if _covers(user, {Role.SUPPLIER}, order.supplier.path):
        sides.add(Negotiation.Side.SUPPLIER)
    return sides


SIDE_LABEL = {Negotiation.Side.PURCHASER: "采购人", Negotiation.Side.SUPPLIER: "供应商"}


def _require_side(actor, order: Order, side: str, doing: str) -> None:
    if side in sides_of(actor, order):
        return
    if Order.objects.restrict(actor, VIEW).filter(pk=order.pk).exists():
        raise Forbidden(f"只有本订单的{SIDE_LABEL[side]}可以{doing}")
    raise NotInReach()


def _supplier_users(supplier: OrgUnit):
    return User.objects.filter(memberships__org_unit=supplier, memberships__role=Role.SUPPLIER, is_active=True)


def _purchaser_users(order: Order):
    return [order.placed_by] if order.placed_by_id else list(
        User.objects.filter(memberships__org_unit=order.org_unit, memberships__role=Role.PURCHASER))


def _order_url(order) -> str:
    if isinstance(order, CartSubject):
        return reverse("mall:negotiation", args=[order.negotiation.pk])
    return reverse("mall:order", args=[order.pk])


# --- catalogue -------------------------------------------------------------------------------

def _name(value: str, label: str, field: str, max_length: int = 100) -> str:
    value = personal.fold(value or "").strip()
    if not value:
        raise ServiceError(f"请填写{label}", fields={field: f"请填写{label}"})
    if len(value) > max_length:
        raise ServiceError(f"{label}不能超过 {max_length} 个字", fields={field: "过长"})
    return value


@transaction.atomic
def category_create(*, actor, district: OrgUnit, code: str, name: str, is_mall: bool = True,
                    is_encouraged: bool = False, single_limit=Decimal("500000"), annual_limit=None) -> Category:
    require_unit(actor, district, {Role.DISTRICT_ADMIN}, action_label="维护品目")
    code = _name(code, "品目编码", "code", 32)
    name = _name(name, "品目名称", "name")
    single = money(single_limit, field="single_limit", label="单次采购限额")
    annual = money(annual_limit, field="annual_limit", label="年度累计限额") if annual_limit not in (None, "") else None
    if annual is not None and annual < single:
        raise ServiceError("年度累计限额不能小于单次采购限额", fields={"annual_limit": "不能小于单次限额"})
    if Category.objects.filter(org_unit=district, code=code).exists():
        raise ServiceError(f"品目编码 {code} 已存在", fields={"code": "编码已存在"})
    category = Category.objects.create(org_unit=district, code=code, name=name, initials=pinyin_of(name)[1],
                                       is_mall=bool(is_mall), is_encouraged=bool(is_encouraged),
                                       single_limit=single, annual_limit=annual)
    audit(actor=actor, action=A.CREATE, unit=district, obj=category,
          changes={"code": code, "name": name, "is_mall": category.is_mall, "is_encouraged": category.is_encouraged,
                   "single_limit": single, "annual_limit": annual})
    return category


@transaction.atomic
def product_create(*, actor, category: Category, name: str, brand: str = "", model: str = "", unit: str = "件",
                   specs: str = "") -> Product:
    require(actor, category, CHANGE)
    name = _name(name, "商品名称", "name", 200)
    brand, model = personal.fold(brand or "").strip()[:100], personal.fold(model or "").strip()[:100]
    product = Product.objects.create(org_unit=category.org_unit, category=category, name=name, brand=brand,
                                     model=model, unit=(unit or "件").strip()[:16], specs=(specs or "").strip(),
                                     initials=product_initials(brand, name))
    audit(actor=actor, action=A.CREATE, unit=category.org_unit, obj=product,
          changes={"category": category.code, "name": name, "brand": brand, "model": model})
    return product


def listing_block_reason(product: Product, price: Decimal, policy: MallPolicy) -> str:
    """Why an offer at ``price`` may not be listed ('' when it may)."""
    reference = product.reference_price
    if reference is None:
        return ""
    ceiling = (reference * (1 + policy.listing_markup_pct / 100)).quantize(CENT)
    if price > ceiling:
        over = ((price - reference) * 100 / reference).quantize(Decimal("0.1"))
        return (f"挂牌价 {yuan(price)} 元高于市场参考价 {yuan(reference)} 元"
                f"（{product.reference_source or '未注明来源'}，{product.reference_date or '日期不详'}）{over}%，"
                f"超过允许的 {pct(policy.listing_markup_pct)}%，不予上架")
    return ""


def _admitted(supplier: OrgUnit, category: Category) -> bool:
    return Admission.objects.filter(supplier=supplier, category=category, status=Admission.Status.ADMITTED).exists()


def _evaluate(offer: Offer, policy: MallPolicy) -> None:
    """Set the offer's status from the listing rule and the supplier's admission."""
    if not _admitted(offer.supplier, offer.product.category):
        offer.status, offer.blocked_reason = Offer.Status.BLOCKED, f"供应商未获准在品目「{offer.product.category.name}」供货"
        return
    reason = listing_block_reason(offer.product, offer.list_price, policy)
    offer.status = Offer.Status.BLOCKED if reason else Offer.Status.LISTED
    offer.blocked_reason = reason


def product_initials(brand: str, name: str) -> str:
    """What pinyin search matches a product by: the initials of its name, then of brand and name
    ("tsjsj lxtsjsj" for 联想 台式计算机): a search matches the start of either word."""
    name_only = pinyin_of(name)[1]
    words = [name_only, pinyin_of(f"{brand}{name}")[1]] if brand else [name_only]
    return " ".join(words)[:200]


def current_references(product_ids) -> dict[int, int]:
    """Each product's reference in force (the one copied to the product: the latest observed)."""
    found: dict[int, int] = {}
    for product_id, pk in (ReferencePrice.objects.filter(product_id__in=product_ids)
                           .order_by("product_id", "-observed_on", "-id").values_list("product_id", "pk")):
        found.setdefault(product_id, pk)
    return found


@transaction.atomic
def reference_price_record(*, actor, product: Product, price, observed_on: date, source: str) -> ReferencePrice:
    """Record a market price; the newest becomes the product's reference, and listed offers
    now too far above it are blocked in the same change."""
    require(actor, product, CHANGE)
    price = money(price, label="参考价")
    source = _name(source, "来源", "source")
    if observed_on > timezone.localdate():
        raise ServiceError("参考价日期不能晚于今天", fields={"observed_on": "日期不能晚于今天"})
    record = ReferencePrice.objects.create(product=product, price=price, observed_on=observed_on, source=source,
                                           recorded_by=actor)
    entries = [Entry(action=A.CREATE, unit=product.org_unit, obj=record,
                     changes={"product": product.pk, "price": price, "observed_on": observed_on, "source": source})]
    if product.reference_date is None or observed_on >= product.reference_date:
        before = product.reference_price
        product.reference_price, product.reference_date, product.reference_source = price, observed_on, source
        product.save(update_fields=["reference_price", "reference_date", "reference_source"])
        policy = policy_for(product.org_unit)
        for offer in Offer.objects.select_related("supplier", "product__category").filter(
                product=product, status=Offer.Status.LISTED):
            offer.product = product
            reason = listing_block_reason(product, offer.list_price, policy)
            if reason:
                Offer.objects.filter(pk=offer.pk).update(status=Offer.Status.BLOCKED, blocked_reason=reason)
                entries.append(Entry(action=A.STATE, unit=offer.supplier, obj=offer, verb="block",
                                     changes={"status": ["listed", "blocked"], "reason": reason,
                                              "reference": [before, price]}))
    audit_many(actor=actor, entries=entries)
    return record


@transaction.atomic
def offer_save(*, actor, supplier: OrgUnit, product: Product, list_price, stock: int, relist: bool = False) -> Offer:
    """A supplier offers a product (or changes its price and stock); the listing rule decides
    whether it is listed, and the reason is kept when it is not. An offer the supplier took off
    the shelf stays off (its price and stock still change) unless ``relist``."""
    require_unit(actor, supplier, {Role.SUPPLIER, Role.DISTRICT_ADMIN}, action_label="维护报价")
    if supplier.kind != OrgUnit.Kind.ENTERPRISE:
        raise ServiceError("只有企业单位可以作为供应商报价")
    price = money(list_price, field="list_price", label="挂牌价")
    if stock is None or int(stock) < 0:
        raise ServiceError("库存不能为负数", fields={"stock": "库存不能为负数"})
    if not _admitted(supplier, product.category):
        raise ServiceError(f"「{supplier.name}」尚未获准在品目「{product.category.name}」供货，请先申请准入",
                           fields={"product": "未获准入"})
    offer = Offer.objects.select_for_update().filter(product=product, supplier=supplier).first()
    before = {"list_price": offer.list_price, "stock": offer.stock, "status": offer.status} if offer else None
    if offer is None:
        offer = Offer(product=product, supplier=supplier)
    offer.list_price, offer.stock = price, int(stock)
    if relist or before is None or before["status"] != Offer.Status.WITHDRAWN:
        _evaluate(offer, policy_for(supplier))
    offer.save()
    after = {"list_price": offer.list_price, "stock": offer.stock, "status": offer.status}
    if before is None:
        audit(actor=actor, action=A.CREATE, unit=supplier, obj=offer,
              changes={**after, "product": product.pk, "reason": offer.blocked_reason})
    else:
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if changes:
            audit(actor=actor, action=A.UPDATE, unit=supplier, obj=offer, changes=changes)
    return offer


def offer_update(*, actor, offer: Offer, list_price=None, stock=None) -> Offer:
    require(actor, offer, CHANGE)
    return offer_save(actor=actor, supplier=offer.supplier, product=offer.product,
                      list_price=offer.list_price if list_price is None else list_price,
                      stock=offer.stock if stock is None else stock)


@transaction.atomic
def offer_withdraw(*, actor, offer: Offer, reason: str = "") -> Offer:
    """The supplier takes an offer off the shelf: it leaves the catalogue and can no longer be
    bought (lines already in carts are refused when the order is placed); the orders placed
    stand. ``offer_relist`` puts it back through the listing rule."""
    require(actor, offer, CHANGE)
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if offer.status == Offer.Status.WITHDRAWN:
        raise Conflict("该报价已下架")
    before = offer.status
    offer.status, offer.blocked_reason = Offer.Status.WITHDRAWN, ""
    offer.save(update_fields=["status", "blocked_reason", "updated_at"])
    audit(actor=actor, action=A.STATE, unit=offer.supplier, obj=offer, verb="withdraw",
          changes={"status": [before, offer.status], "reason": reason.strip()})
    return offer


@transaction.atomic
def offer_relist(*, actor, offer: Offer) -> Offer:
    """Put a withdrawn offer back on the shelf (the listing rule and the admission decide)."""
    require(actor, offer, CHANGE)
    offer = Offer.objects.select_for_update().select_related("supplier", "product__category").get(pk=offer.pk)
    if offer.status != Offer.Status.WITHDRAWN:
        raise Conflict("该报价未下架")
    return offer_save(actor=actor, supplier=offer.supplier, product=offer.product, list_price=offer.list_price,
                      stock=offer.stock, relist=True)


# --- supplier admission -------------------------------------------------------------------------

ADMISSION_MOVES = {
    Admission.Status.APPLIED: {Admission.Status.ADMITTED, Admission.Status.REJECTED},
    Admission.Status.ADMITTED: {Admission.Status.SUSPENDED, Admission.Status.REMOVED},
    Admission.Status.SUSPENDED: {Admission.Status.ADMITTED, Admission.Status.REMOVED},
    Admission.Status.REMOVED: set(),
    Admission.Status.REJECTED: set(),
}


MALL_FILES = "mall"  # the area under MEDIA_ROOT (core.files)


def _attach(actor, model, uploads, **owner) -> list:
    """Check and store uploads (core.files.store_upload), one record each."""
    now = timezone.now()
    return [model.objects.create(**files.store_upload(upload, area=MALL_FILES), uploaded_by=actor, uploaded_at=now,
                                 **owner) for upload in uploads or ()]


@transaction.atomic
def admission_apply(*, actor, supplier: OrgUnit, category: Category, documents: str = "",
                    uploads=()) -> Admission:
    """A supplier applies for a category, with its documents as files (licence, qualification)."""
    admission = _admission_apply(actor=actor, supplier=supplier, category=category, documents=documents)
    stored = _attach(actor, AdmissionDocument, uploads, admission=admission)
    if stored:
        audit_many(actor=actor, entries=[Entry(action=A.CREATE, unit=supplier, obj=d, verb="upload",
                                               changes={"admission": admission.pk, "name": d.original_name,
                                                        "sha256": d.sha256, "size": d.size}) for d in stored])
    return admission


@transaction.atomic
def admission_document_add(*, actor, admission: Admission, upload) -> AdmissionDocument:
    """The supplier adds a document to its application (or admission) later."""
    admission = Admission.objects.select_related("supplier").get(pk=admission.pk)
    require_unit(actor, admission.supplier, {Role.SUPPLIER}, action_label="上传准入材料")
    if admission.status in (Admission.Status.REMOVED, Admission.Status.REJECTED):
        raise ServiceError(f"「{admission.get_status_display()}」的准入不能再补充材料")
    document = _attach(actor, AdmissionDocument, [upload], admission=admission)[0]
    audit(actor=actor, action=A.CREATE, unit=admission.supplier, obj=document, verb="upload",
          changes={"admission": admission.pk, "name": document.original_name, "sha256": document.sha256,
                   "size": document.size})
    return document


@transaction.atomic
def sanction_record(*, actor, supplier: OrgUnit, kind: str, reason: str, category: Category | None = None,
                    decided_on: date | None = None, upload=None) -> Sanction:
    """A district administrator records a sanction against a supplier (with its decision
    document as a file). Suspensions and removals of an admission go through
    ``admission_decide``, which records them here too."""
    require_unit(actor, supplier, {Role.DISTRICT_ADMIN}, action_label="记录供应商处罚")
    if supplier.kind != OrgUnit.Kind.ENTERPRISE:
        raise ServiceError("只能对供应商企业记录处罚")
    if kind not in Sanction.Kind.values:
        raise ServiceError("请选择处罚类型", fields={"kind": "请选择处罚类型"})
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写处罚事由", fields={"reason": "请填写处罚事由"})
    decided_on = decided_on or timezone.localdate()
    if decided_on > timezone.localdate():
        raise ServiceError("决定日期不能晚于今天", fields={"decided_on": "不能晚于今天"})
    sanction = Sanction.objects.create(supplier=supplier, category=category, kind=kind, reason=reason[:300],
                                       decided_on=decided_on, decided_by=actor, recorded_at=timezone.now())
    stored = _attach(actor, SanctionDocument, [upload] if upload else [], sanction=sanction)
    audit(actor=actor, action=A.CREATE, unit=supplier, obj=sanction,
          changes={"kind": kind, "reason": sanction.reason, "category": category.code if category else None,
                   "decided_on": decided_on, "files": [d.sha256 for d in stored]})
    return sanction


def _admission_apply(*, actor, supplier: OrgUnit, category: Category, documents: str = "") -> Admission:
    require_unit(actor, supplier, {Role.SUPPLIER}, action_label="申请准入")
    if supplier.kind != OrgUnit.Kind.ENTERPRISE:
        raise ServiceError("只有企业单位可以申请成为供应商")
    existing = Admission.objects.select_for_update().filter(supplier=supplier, category=category).first()
    if existing and existing.status not in (Admission.Status.REJECTED,):
        raise ServiceError(f"已有该品目的准入记录（{existing.get_status_display()}）")
    if existing:
        before = existing.status
        existing.status, existing.documents, existing.reason, existing.decided_on = (
            Admission.Status.APPLIED, documents.strip(), "", None)
        existing.save()
        audit(actor=actor, action=A.STATE, unit=supplier, obj=existing, verb="reapply",
              changes={"status": [before, existing.status]})
        return existing
    admission = Admission.objects.create(supplier=supplier, category=category, documents=(documents or "").strip())
    audit(actor=actor, action=A.CREATE, unit=supplier, obj=admission,
          changes={"category": category.code, "status": admission.status})
    return admission


@transaction.atomic
def admission_decide(*, actor, admission: Admission, status: str, reason: str = "") -> Admission:
    """Admit, reject, suspend, reinstate or remove; a suspension or removal takes the
    supplier's offers in that category off the shelf in the same change."""
    admission = Admission.objects.select_for_update(of=("self",)).select_related("supplier", "category").get(pk=admission.pk)
    require(actor, admission, CHANGE)
    if status not in ADMISSION_MOVES.get(admission.status, set()):
        raise ServiceError(f"「{admission.get_status_display()}」的准入不能改为「{Admission.Status(status).label}」"
                           if status in Admission.Status.values else "状态不正确")
    reason = (reason or "").strip()
    if status != Admission.Status.ADMITTED and not reason:
        raise ServiceError("请填写理由", fields={"reason": "请填写理由"})
    before = admission.status
    admission.status, admission.reason, admission.decided_on = status, reason[:200], timezone.localdate()
    admission.save(update_fields=["status", "reason", "decided_on"])
    entries = [Entry(action=A.STATE, unit=admission.supplier, obj=admission, verb=status,
                     changes={"status": [before, status], "reason": reason})]
    kind = {Admission.Status.SUSPENDED: Sanction.Kind.SUSPENSION, Admission.Status.REMOVED: Sanction.Kind.REMOVAL}.get(
        status, Sanction.Kind.LIFTED if before == Admission.Status.SUSPENDED else None)
    if kind:  # the sanctions history
        sanction = Sanction.objects.create(supplier=admission.supplier, category=admission.category, kind=kind,
                                           reason=(reason or "恢复准入")[:300], decided_on=admission.decided_on,
                                           decided_by=actor, recorded_at=timezone.now())
        entries.append(Entry(action=A.CREATE, unit=admission.supplier, obj=sanction,
                             changes={"kind": kind, "reason": sanction.reason, "category": admission.category.code,
                                      "admission": admission.pk}))
    offers = Offer.objects.select_related("product__category", "supplier").filter(
        supplier=admission.supplier, product__category=admission.category)
    policy = policy_for(admission.supplier)
    for offer in offers.exclude(status=Offer.Status.WITHDRAWN):
        old = offer.status
        _evaluate(offer, policy)
        if offer.status != old:
            Offer.objects.filter(pk=offer.pk).update(status=offer.status, blocked_reason=offer.blocked_reason)
            entries.append(Entry(action=A.STATE, unit=admission.supplier, obj=offer, verb="admission",
                                 changes={"status": [old, offer.status], "reason": offer.blocked_reason}))
    audit_many(actor=actor, entries=entries)
    return admission


# --- district settings: thresholds and unit budgets ----------------------------------------------

POLICY_FIELDS = ["listing_markup_pct", "price_flag_pct", "split_window_days", "cluster_pct", "cluster_count",
                 "share_pct", "share_min_total",
                 "frequent_days", "frequent_count", "autocancel_days", "negotiation_days"]


@transaction.atomic
def policy_update(*, actor, district: OrgUnit, **values) -> MallPolicy:
    """Change the district's thresholds (listing rule, supervision rules, time limits)."""
    require_unit(actor, district, {Role.DISTRICT_ADMIN}, action_label="设置商城规则")
    if district.parent_id is not None:
        raise ServiceError("商城规则按区设置")
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ServiceError(f"未知参数：{'、'.join(sorted(unknown))}")
    for name, value in values.items():
        if value is None or Decimal(str(value)) < 0:
            raise ServiceError("参数不能为空或负数", fields={name: "不能为空或负数"})
        if name.endswith(("_days", "_count")) and int(value) < 1:
            raise ServiceError("天数和笔数至少为 1", fields={name: "至少为 1"})
    if "cluster_count" in values and int(values["cluster_count"]) < 2:
        raise ServiceError("贴近限额笔数至少为 2", fields={"cluster_count": "至少为 2"})
    if "cluster_pct" in values and Decimal(str(values["cluster_pct"])) >= 100:
        raise ServiceError("贴近限额幅度应小于 100%", fields={"cluster_pct": "应小于 100"})
    policy = MallPolicy.objects.select_for_update().filter(org_unit=district).first() or MallPolicy(org_unit=district)
    def shown(value) -> str:
        return pct(value) if isinstance(value, Decimal) else str(value)

    before = {name: shown(getattr(policy, name)) for name in POLICY_FIELDS}
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save()
    policy.refresh_from_db()
    after = {name: shown(getattr(policy, name)) for name in POLICY_FIELDS}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        audit(actor=actor, action=A.UPDATE, unit=district, obj=policy, changes=changes)
    return policy


@transaction.atomic
def budget_set(*, actor, unit: OrgUnit, year: int, amount, mode: str = UnitBudget.Mode.STOP) -> UnitBudget:
    """Set a unit's annual mall budget (stop or warn when an order would exceed it)."""
    require_unit(actor, unit, {Role.DISTRICT_ADMIN}, action_label="设置采购预算")
    amount = money(amount, field="amount", label="预算金额")
    if mode not in UnitBudget.Mode.values:
        raise ServiceError("超预算处理方式不正确", fields={"mode": "请选择"})
    if not 2000 <= int(year) <= 2100:
        raise ServiceError("年度不正确", fields={"year": "年度不正确"})
    budget = UnitBudget.objects.select_for_update().filter(org_unit=unit, year=year).first()
    if budget is None:
        budget = UnitBudget.objects.create(org_unit=unit, year=year, amount=amount, mode=mode)
        audit(actor=actor, action=A.CREATE, unit=unit, obj=budget, changes={"year": year, "amount": amount,
                                                                             "mode": mode})
        return budget
    changes = {k: [str(getattr(budget, k)), str(v)] for k, v in (("amount", amount), ("mode", mode))
               if getattr(budget, k) != v}
    if changes:
        budget.amount, budget.mode = amount, mode
        budget.save(update_fields=["amount", "mode"])
        audit(actor=actor, action=A.UPDATE, unit=unit, obj=budget, changes=changes)
    return budget


# --- cart --------------------------------------------------------------------------------------

def _purchase_unit(actor) -> OrgUnit | None:
    membership = actor.memberships.filter(role=Role.PURCHASER).select_related("org_unit").order_by("id").first()
    return membership.org_unit if membership else None


@transaction.atomic
def cart_add(*, actor, offer: Offer, quantity: int = 1) -> CartLine:
    unit = _purchase_unit(actor)
    if unit is None:
        raise Forbidden("只有采购人可以加入购物车")
    if not Offer.objects.restrict(actor, VIEW).filter(pk=offer.pk, status=Offer.Status.LISTED).exists():
        raise NotInReach()
    if int(quantity) <= 0:
        raise ServiceError("数量必须大于 0", fields={"quantity": "数量必须大于 0"})
    line = CartLine.objects.select_for_update().filter(user=actor, offer=offer).first()
    _void_cart_negotiations(actor, unit, offer, "购物车已变更")
    if line:
        before = line.quantity
        line.quantity += int(quantity)
        line.save(update_fields=["quantity"])
        audit(actor=actor, action=A.UPDATE, unit=unit, obj=line, changes={"quantity": [before, line.quantity]})
    else:
        line = CartLine.objects.create(user=actor, offer=offer, quantity=int(quantity))
        audit(actor=actor, action=A.CREATE, unit=unit, obj=line, changes={"offer": offer.pk, "quantity": line.quantity})
    return line


@transaction.atomic
def cart_set_quantity(*, actor, line: CartLine, quantity: int) -> CartLine | None:
    if line.user_id != actor.pk:
        raise NotInReach()
    unit = _purchase_unit(actor)
    quantity = int(quantity)
    if quantity < 0:
        raise ServiceError("数量不能为负数", fields={"quantity": "数量不能为负数"})
    line = CartLine.objects.select_for_update(of=("self",)).select_related("offer__product").get(pk=line.pk)
    if quantity != line.quantity:
        _void_cart_negotiations(actor, unit, line.offer, "购物车已变更")
    if quantity == 0:
        audit(actor=actor, action=A.DELETE, unit=unit, obj=line, changes={"offer": line.offer_id})
        line.delete()
        return None
    audit(actor=actor, action=A.UPDATE, unit=unit, obj=line, changes={"quantity": [line.quantity, quantity]})
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    return line


# --- ordering ------------------------------------------------------------------------------------

def _committed(unit: OrgUnit, *, year: int, category: Category | None = None) -> Decimal:
    """What the unit has already committed this year (orders not cancelled)."""
    qs = Order.objects.filter(org_unit=unit, placed_on__year=year).exclude(status=Order.Status.CANCELLED)
    if category is not None:
        qs = qs.filter(category=category)
    return qs.aggregate(s=Sum("total"))["s"] or ZERO


@transaction.atomic
def order_place(*, actor, unit: OrgUnit, lines=None, now=None) -> tuple[list[Order], list[str]]:
    """Turn the cart into orders (one per supplier and category) after checking stock,
    the single and annual limits and the unit's budget. All or nothing."""
    require_unit(actor, unit, {Role.PURCHASER}, action_label="下单")
    now = now or timezone.now()
    today = timezone.localdate(now)
    # The cart's rows first, then its negotiations: the order every cart change takes them in.
    cart = list(CartLine.objects.select_for_update().filter(user=actor).order_by("pk") if lines is None else lines)
    if not cart:
        raise ServiceError("购物车是空的")
    if any(line.user_id != actor.pk for line in cart):
        raise NotInReach()
    offers = {o.pk: o for o in Offer.objects.select_for_update(of=("self",)).select_related("product__category", "supplier")
              .filter(pk__in=[line.offer_id for line in cart])}
    # Then the unit: two purchasers of one unit placing at once take turns here, so each sums the
    # unit's year with the other's orders in it (the annual limits and the budget hold). NO KEY
    # UPDATE: rows that merely reference the unit (orders, audit events) are not held up.
    OrgUnit.objects.select_for_update(no_key=True).filter(pk=unit.pk).first()
    groups: dict[tuple[int, int], list[tuple[CartLine, Offer]]] = defaultdict(list)
    for line in cart:
        offer = offers[line.offer_id]
        if offer.status != Offer.Status.LISTED:
            raise ServiceError(f"「{offer.product}」已不在售（{offer.blocked_reason or offer.get_status_display()}）")
        if line.quantity > offer.stock:
            raise ServiceError(f"「{offer.product}」库存不足：需要 {line.quantity}，现有 {offer.stock}")
        groups[(offer.supplier_id, offer.product.category_id)].append((line, offer))
    warnings: list[str] = []
    planned = []
    added_by_category: dict[int, Decimal] = defaultdict(lambda: ZERO)
    negotiated = _cart_agreements(actor, groups)
    for key, items in groups.items():
        category = items[0][1].product.category
        list_total = sum((offer.list_price * line.quantity for line, offer in items), ZERO)
        agreement = negotiated.get(key)
        total = agreement.agreed_total if agreement else list_total
        if total > category.single_limit:
            raise ServiceError(f"品目「{category.name}」本次采购 {yuan(total)} 元，超过单次采购限额 "
                               f"{yuan(category.single_limit)} 元，请改走其他采购方式")
        added_by_category[category.pk] += total
        if category.annual_limit is not None:
            spent = _committed(unit, year=today.year, category=category)
            if spent + added_by_category[category.pk] > category.annual_limit:
                raise ServiceError(f"品目「{category.name}」本年度已采购 {yuan(spent)} 元，加上本次将超过年度累计限额 "
                                   f"{yuan(category.annual_limit)} 元")
        planned.append((category, items, total, list_total, agreement))
    new_total = sum((p[2] for p in planned), ZERO)
    budget = UnitBudget.objects.filter(org_unit=unit, year=today.year).first()
    if budget is not None:
        spent = _committed(unit, year=today.year)
        if spent + new_total > budget.amount:
            text = (f"「{unit.name}」{today.year} 年商城预算 {yuan(budget.amount)} 元，已用 {yuan(spent)} 元，"
                    f"本次 {yuan(new_total)} 元将超出预算")
            if budget.mode == UnitBudget.Mode.STOP:
                raise ServiceError(text)
            warnings.append(text)
    rule = ApprovalRule.objects.filter(org_unit=unit).first()
    references = current_references({offer.product_id for offer in offers.values()})
    orders, entries = [], []
    for category, items, total, list_total, agreement in planned:
        supplier = items[0][1].supplier
        status = Order.Status.PENDING if rule is not None and total > rule.threshold else Order.Status.PLACED
        order = Order.objects.create(org_unit=unit, supplier=supplier, category=category, placed_by=actor,
                                     list_total=list_total, total=total, savings=list_total - total, placed_at=now,
                                     placed_on=today, day=day_number(today), status=status,
                                     sent_at=now if status == Order.Status.PLACED else None)
        agreed = {int(b["offer"]): Decimal(b["agreed"]) for b in agreement.basket} if agreement else {}
        OrderLine.objects.bulk_create([
            OrderLine(order=order, offer=offer, product=offer.product, quantity=line.quantity,
                      list_price=offer.list_price, list_amount=offer.list_price * line.quantity,
                      amount=agreed.get(offer.pk, offer.list_price * line.quantity),
                      reference_id=references.get(offer.product_id)) for line, offer in items])
        if agreement:
            Negotiation.objects.filter(pk=agreement.pk).update(order=order)
        for line, offer in items:
            Offer.objects.filter(pk=offer.pk).update(stock=F("stock") - line.quantity)
        orders.append(order)
        entries.append(Entry(action=A.CREATE, unit=unit, obj=order, changes={
            "supplier": supplier.pk, "category": category.code, "total": total, "status": status,
            "list_total": list_total, "negotiation": agreement.pk if agreement else None,
            "lines": [{"offer": offer.pk, "quantity": line.quantity, "price": offer.list_price}
                      for line, offer in items]}))
    CartLine.objects.filter(pk__in=[line.pk for line in cart]).delete()
    rollups.shift(added=[rollups.contribution(o) for o in orders])
    audit_many(actor=actor, entries=entries)
    for order in orders:
        if order.status == Order.Status.PENDING:
            for user in _approvers(order):
                todo_open(user=user, kind=TODO_APPROVE, title=f"审核采购订单 {order.number}（{yuan(order.total)} 元）",
                          source=order, url=_order_url(order), unit=order.org_unit)
        else:
            _todo_confirm(order)
    supervision.raise_flags(supervision.check(Order.objects.filter(pk__in=[o.pk for o in orders]),
                                              policy_for(unit), today=today))
    return orders, warnings


def _cart_agreements(actor, groups: dict) -> dict[tuple[int, int], Negotiation]:
    """The agreed cart negotiations that bind the orders about to be placed, by (supplier,
    category). A negotiation still running, or an agreement on other lines or prices than the
    cart holds now, stops the order with a message saying what to do."""
    found = {}
    for key, items in groups.items():
        supplier_id, category_id = key
        running = list(Negotiation.objects.select_for_update().filter(
            order__isnull=True, buyer=actor, supplier_id=supplier_id, category_id=category_id,
            status__in=[Negotiation.Status.OPEN, Negotiation.Status.AGREED]))
        offer = items[0][1]
        label = f"「{offer.supplier.name}」的「{offer.product.category.name}」"
        for negotiation in running:
            if negotiation.status == Negotiation.Status.OPEN:
                raise Conflict(f"{label}正在议价（第 {negotiation.round} 轮），请等对方答复或撤回议价后再下单")
            held = {int(b["offer"]): (int(b["quantity"]), Decimal(b["list_price"])) for b in negotiation.basket}
            now = {offer.pk: (line.quantity, offer.list_price) for line, offer in items}
            if held != now:
                raise Conflict(f"{label}的议价结果是按当时的商品、数量和挂牌价达成的，现已变化；"
                               f"请调整购物车后重新议价")
            found[key] = negotiation
    return found


def _todo_confirm(order: Order) -> None:
    due = timezone.localdate() + timedelta(days=policy_for(order.org_unit).autocancel_days)
    for user in _supplier_users(order.supplier):
        todo_open(user=user, kind=TODO_CONFIRM, title=f"确认采购订单 {order.number}（{order.org_unit.name}）",
                  source=order, url=_order_url(order), unit=order.supplier, due_date=due)


def _approvers(order: Order):
    """The officers who approve the unit's orders: memberships on the unit itself."""
    return User.objects.filter(memberships__org_unit=order.org_unit, memberships__role__in=APPROVERS,
                               is_active=True).exclude(pk=order.placed_by_id).distinct()


def may_approve(user, order: Order) -> bool:
    return _covers(user, APPROVERS, order.org_unit.path) and user.pk != order.placed_by_id


@transaction.atomic
def approval_rule_set(*, actor, unit: OrgUnit, threshold) -> ApprovalRule | None:
    """Set (or, with ``threshold=None``, remove) the unit's internal approval threshold."""
    require_unit(actor, unit, APPROVERS, action_label="设置采购审核")
    rule = ApprovalRule.objects.select_for_update().filter(org_unit=unit).first()
    before = str(rule.threshold) if rule else None
    if threshold in (None, ""):
        if rule is None:
            return None
        audit(actor=actor, action=A.DELETE, unit=unit, obj=rule, changes={"threshold": [before, None]})
        rule.delete()
        return None
    try:
        value = Decimal(str(threshold)).quantize(CENT)
    except (InvalidOperation, ValueError):
        raise ServiceError("金额格式不正确", fields={"threshold": "金额格式不正确"}) from None
    if value < 0:
        raise ServiceError("金额不能为负数", fields={"threshold": "金额不能为负数"})
    if rule is None:
        rule = ApprovalRule.objects.create(org_unit=unit, threshold=value)
        audit(actor=actor, action=A.CREATE, unit=unit, obj=rule, changes={"threshold": value})
    elif rule.threshold != value:
        rule.threshold = value
        rule.save(update_fields=["threshold"])
        audit(actor=actor, action=A.UPDATE, unit=unit, obj=rule, changes={"threshold": [before, str(value)]})
    return rule


@transaction.atomic
def order_approve(*, actor, order: Order, approve: bool = True, reason: str = "") -> Order:
    """An officer of the unit (审核) approves a pending order — it then goes to the supplier —
    or declines it with a reason. The purchaser who placed it (经办) may not approve it."""
    order = _lock_order(order)
    if not may_approve(actor, order):
        if actor.pk == order.placed_by_id:
            raise Forbidden("下单的经办人不能审核自己的订单")
        if Order.objects.restrict(actor, VIEW).filter(pk=order.pk).exists():
            raise Forbidden("只有本单位的审核人可以审核订单")
        raise NotInReach()
    if order.status != Order.Status.PENDING:
        raise Conflict(f"订单当前为「{order.get_status_display()}」，不需要审核")
    now = timezone.now()
    if approve:
        order.status, order.approved_by, order.approved_at, order.sent_at = Order.Status.PLACED, actor, now, now
        order.save(update_fields=["status", "approved_by", "approved_at", "sent_at"])
        rollups.shift(added=[rollups.contribution(order)])
        audit(actor=actor, action=A.STATE, unit=order.org_unit, obj=order, verb="approve",
              changes={"status": ["pending", "placed"]})
        todo_close(source=order, kind=TODO_APPROVE)
        _todo_confirm(order)
        return order
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写退回理由", fields={"reason": "请填写退回理由"})
    order.status, order.cancelled_at, order.cancel_reason = Order.Status.CANCELLED, now, f"单位审核未通过：{reason}"[:300]
    order.save(update_fields=["status", "cancelled_at", "cancel_reason"])  # it never counted: pending
    audit(actor=actor, action=A.STATE, unit=order.org_unit, obj=order, verb="decline",
          changes={"status": ["pending", "cancelled"], "reason": reason})
    _release(order)
    todo_close(source=order)
    return order


def _lock_order(order: Order) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("org_unit", "supplier", "category").get(pk=order.pk)


def _move(actor, order: Order, *, side: str, doing: str, allowed: set, to: str, verb: str, **fields) -> Order:
    order = _lock_order(order)
    _require_side(actor, order, side, doing)
    if order.status not in allowed:
        raise Conflict(f"订单当前为「{order.get_status_display()}」，不能{doing}")
    before = order.status
    order.status = to
    for name, value in fields.items():
        setattr(order, name, value)
    order.save(update_fields=["status", *fields])
    audit(actor=actor, action=A.STATE, unit=order.org_unit, obj=order, verb=verb,
          changes={"status": [before, to], **{k: v for k, v in fields.items() if not k.endswith("_at")}})
    return order


@transaction.atomic
def order_confirm(*, actor, order: Order) -> Order:
    order = _move(actor, order, side=Negotiation.Side.SUPPLIER, doing="确认订单", allowed={Order.Status.PLACED},
                  to=Order.Status.CONFIRMED, verb="confirm", confirmed_at=timezone.now())
    todo_close(source=order, kind=TODO_CONFIRM)
    return order


@transaction.atomic
def order_ship(*, actor, order: Order) -> Order:
    order = _move(actor, order, side=Negotiation.Side.SUPPLIER, doing="发货", allowed={Order.Status.CONFIRMED},
                  to=Order.Status.SHIPPED, verb="ship", shipped_at=timezone.now())
    for user in _purchaser_users(order):
        todo_open(user=user, kind=TODO_ACCEPT, title=f"验收订单 {order.number}（{order.supplier.name}）",
                  source=order, url=_order_url(order), unit=order.org_unit)
    return order


@transaction.atomic
def order_accept(*, actor, order: Order, rating: int, note: str = "") -> Order:
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ServiceError("请给出 1–5 分的验收评分", fields={"rating": "请给出 1–5 分"})
    order = _move(actor, order, side=Negotiation.Side.PURCHASER, doing="验收", allowed={Order.Status.SHIPPED},
                  to=Order.Status.ACCEPTED, verb="accept", accepted_at=timezone.now(), rating=rating,
                  acceptance_note=(note or "").strip()[:300])
    todo_close(source=order, kind=TODO_ACCEPT)
    return order


@transaction.atomic
def order_settle(*, actor, order: Order) -> Order:
    return _move(actor, order, side=Negotiation.Side.PURCHASER, doing="结算", allowed={Order.Status.ACCEPTED},
                 to=Order.Status.SETTLED, verb="settle", settled_at=timezone.now())


def _release(order: Order) -> None:
    for line in order.lines.all():
        Offer.objects.filter(pk=line.offer_id).update(stock=F("stock") + line.quantity)


@transaction.atomic
def order_cancel(*, actor, order: Order, reason: str) -> Order:
    """The purchaser cancels before shipping; the supplier may decline before confirming."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写取消原因", fields={"reason": "请填写取消原因"})
    locked = _lock_order(order)
    sides = sides_of(actor, locked)
    if Negotiation.Side.PURCHASER in sides:
        allowed = {Order.Status.PENDING, Order.Status.PLACED, Order.Status.NEGOTIATING, Order.Status.CONFIRMED}
        side = Negotiation.Side.PURCHASER
    else:
        allowed = {Order.Status.PLACED, Order.Status.NEGOTIATING}
        side = Negotiation.Side.SUPPLIER
    negotiation = Negotiation.objects.select_for_update().filter(order=locked, status=Negotiation.Status.OPEN).first()
    counted = rollups.contribution(locked)
    order = _move(actor, locked, side=side, doing="取消订单", allowed=allowed, to=Order.Status.CANCELLED,
                  verb="cancel", cancelled_at=timezone.now(), cancel_reason=reason[:300])
    rollups.shift(removed=[counted])
    if negotiation is not None:
        Negotiation.objects.filter(pk=negotiation.pk).update(status=Negotiation.Status.WITHDRAWN,
                                                              closed_at=timezone.now(), turn="")
        Bid.objects.create(negotiation=negotiation, round=negotiation.round + 1, side=side,
                           action=Bid.Action.WITHDRAW, note="订单已取消", by=actor, at=timezone.now())
        audit(actor=actor, action=A.STATE, unit=order.org_unit, obj=negotiation, verb="withdraw",
              changes={"status": ["open", "withdrawn"], "reason": "订单已取消"})
        todo_close(source=negotiation)
    _release(order)
    todo_close(source=order)
    return order


@transaction.atomic
def orders_autocancel(*, now=None) -> int:
    """Cancel orders the supplier has not confirmed within the district's time limit. The
    clock runs from when the order last came to the supplier to confirm: placed, approved by
    the unit, or back from a negotiation (the supplier cannot confirm while one is open)."""
    now = now or timezone.now()
    expire_negotiations(now=now)
    cancelled = 0
    for policy_unit in OrgUnit.objects.filter(parent=None):
        policy = policy_for(policy_unit)
        due = now - timedelta(days=policy.autocancel_days)
        stale = (Order.objects.select_for_update(of=("self",)).select_related("org_unit")
                 .filter(org_unit__path__startswith=policy_unit.path, status=Order.Status.PLACED)
                 .filter(sent_at__lt=due)
                 .exclude(pk__in=Negotiation.objects.filter(order__isnull=False, closed_at__gte=due).values("order_id")))
        orders = list(stale)
        if not orders:
            continue
        reason = f"供应商超过 {policy.autocancel_days} 天未确认，系统自动取消"
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=Order.Status.CANCELLED, cancelled_at=now,
                                                                    cancel_reason=reason)
        rollups.shift(removed=[rollups.contribution(o) for o in orders])
        for order in orders:
            _release(order)
            todo_close(source=order)
        audit_many(actor=None, entries=[Entry(action=A.STATE, unit=o.org_unit, obj=o, verb="autocancel",
                                              changes={"status": [o.status, "cancelled"], "reason": reason})
                                        for o in orders])
        cancelled += len(orders)
    return cancelled


# --- online negotiation ------------------------------------------------------------------------------

def _proposal(negotiation_or_order, *, total=None, line_amounts=None) -> tuple[Decimal, dict]:
    """A proposal in total or per line; returns (total, {line id: amount})."""
    order = negotiation_or_order
    lines = {line.pk: line for line in order.lines.all()}
    if line_amounts:
        amounts = {}
        for key, value in line_amounts.items():
            try:
                line = lines[int(key)]
            except (KeyError, ValueError):
                raise ServiceError("议价明细与订单不符", fields={"line_amounts": "明细不符"}) from None
            amount = money(value, field="line_amounts", label="明细报价")
            if amount > line.list_amount:
                raise ServiceError(f"「{line.product}」报价 {yuan(amount)} 元不能高于挂牌金额 {yuan(line.list_amount)} 元",
                                   fields={"line_amounts": "不能高于挂牌价"})
            amounts[str(line.pk)] = str(amount)
        missing = [line for pk, line in lines.items() if str(pk) not in amounts]
        for line in missing:
            amounts[str(line.pk)] = str(line.amount)
        return sum((Decimal(v) for v in amounts.values()), ZERO), amounts
    if total in (None, ""):
        raise ServiceError("请填写报价", fields={"total": "请填写报价"})
    return money(total, field="total", label="报价"), {}


def _allocate(order: Order, total: Decimal, line_amounts: dict) -> dict[int, Decimal]:
    """Spread an agreed total over the lines: per-line amounts when priced so, else in
    proportion to list, rounded down to the fen with the remainder where it still fits."""
    lines = list(order.lines.all())
    if line_amounts:
        return {line.pk: Decimal(line_amounts[str(line.pk)]) for line in lines}
    ratio = total / order.list_total
    amounts = {line.pk: (line.list_amount * ratio).quantize(CENT, rounding=ROUND_DOWN) for line in lines}
    remainder = total - sum(amounts.values())
    for line in sorted(lines, key=lambda x: -x.list_amount):
        if remainder <= 0:
            break
        room = min(line.list_amount - amounts[line.pk], remainder)
        amounts[line.pk] += room
        remainder -= room
    return amounts


def _todo_turn(negotiation: Negotiation, order: Order) -> None:
    todo_close(source=negotiation)
    if negotiation.status != Negotiation.Status.OPEN:
        return
    if negotiation.turn == Negotiation.Side.SUPPLIER:
        users, unit, title = _supplier_users(order.supplier), order.supplier, f"采购人出价 {yuan(negotiation.bid_total)} 元"
    else:
        users, unit, title = _purchaser_users(order), order.org_unit, f"供应商还价 {yuan(negotiation.ask_total)} 元"
    for user in users:
        todo_open(user=user, kind=TODO_NEGOTIATE, title=f"议价：订单 {order.number}，{title}", source=negotiation,
                  url=_order_url(order), unit=unit, due_date=timezone.localdate(negotiation.deadline))


@transaction.atomic
def negotiation_open(*, actor, order: Order, total=None, line_amounts=None, note: str = "",
                     days: int | None = None) -> Negotiation:
    """The purchaser makes the first offer on a placed order (in total or per line)."""
    order = _lock_order(order)
    _require_side(actor, order, Negotiation.Side.PURCHASER, "发起议价")
    if order.status != Order.Status.PLACED:
        raise Conflict(f"订单当前为「{order.get_status_display()}」，只有供应商确认前的订单可以议价")
    if Negotiation.objects.filter(order=order, status=Negotiation.Status.AGREED).exists():
        raise Conflict("本订单已议价成交，价格不能再变")
    amount, amounts = _proposal(order, total=total, line_amounts=line_amounts)
    if amount >= order.list_total:
        raise ServiceError(f"出价应低于挂牌总价 {yuan(order.list_total)} 元", fields={"total": "应低于挂牌总价"})
    now = timezone.now()
    days = days or policy_for(order.org_unit).negotiation_days
    try:
        with transaction.atomic():
            negotiation = Negotiation.objects.create(
                order=order, round=1, turn=Negotiation.Side.SUPPLIER, deadline=now + timedelta(days=days),
                list_total=order.list_total, bid_total=amount, ask_total=order.list_total, opened_at=now)
    except IntegrityError:
        raise Conflict("本订单已有进行中的议价") from None
    Bid.objects.create(negotiation=negotiation, round=1, side=Negotiation.Side.PURCHASER, action=Bid.Action.OFFER,
                       total=amount, line_amounts=amounts, note=(note or "")[:300], by=actor, at=now)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.NEGOTIATING)
    audit(actor=actor, action=A.CREATE, unit=order.org_unit, obj=negotiation, verb="offer",
          changes={"order": order.pk, "round": 1, "total": amount, "lines": amounts, "list_total": order.list_total})
    _todo_turn(negotiation, order)
    return negotiation


def _cart_group(actor, supplier: OrgUnit, category: Category, *, lock: bool = False) -> list[CartLine]:
    lines = CartLine.objects.filter(user=actor, offer__supplier=supplier, offer__product__category=category)
    if lock:
        lines = lines.select_for_update(of=("self",))
    return list(lines.select_related("offer__product__category", "offer__supplier").order_by("offer_id"))


@transaction.atomic
def cart_negotiation_open(*, actor, supplier: OrgUnit, category: Category, total=None, line_amounts=None,
                          note: str = "", days: int | None = None) -> Negotiation:
    """The purchaser makes the first offer on the part of their cart that will become one
    order (one supplier, one category), in total or per line (keyed by offer id), before
    placing it. The lines are frozen in the negotiation; changing them voids it."""
    unit = _purchase_unit(actor)
    if unit is None:
        raise Forbidden("只有采购人可以发起议价")
    cart = _cart_group(actor, supplier, category, lock=True)
    if not cart:
        raise ServiceError(f"购物车中没有「{supplier.name}」的「{category.name}」商品")
    for line in cart:
        if line.offer.status != Offer.Status.LISTED:
            raise ServiceError(f"「{line.offer.product}」已不在售（{line.offer.blocked_reason or line.offer.get_status_display()}）")
    basket = [{"offer": line.offer_id, "product": str(line.offer.product), "quantity": line.quantity,
               "list_price": str(line.offer.list_price), "list_amount": str(line.offer.list_price * line.quantity)}
              for line in cart]
    now = timezone.now()
    negotiation = Negotiation(org_unit=unit, supplier=supplier, category=category, buyer=actor, basket=basket,
                              round=1, turn=Negotiation.Side.SUPPLIER, opened_at=now)
    subject = CartSubject(negotiation=negotiation, org_unit=unit, supplier=supplier, category=category,
                          placed_by=actor, lines=_basket_lines(basket),
                          list_total=sum((Decimal(b["list_amount"]) for b in basket), ZERO))
    amount, amounts = _proposal(subject, total=total, line_amounts=line_amounts)
    if amount >= subject.list_total:
        raise ServiceError(f"出价应低于挂牌总价 {yuan(subject.list_total)} 元", fields={"total": "应低于挂牌总价"})
    negotiation.list_total, negotiation.bid_total, negotiation.ask_total = subject.list_total, amount, subject.list_total
    negotiation.deadline = now + timedelta(days=days or policy_for(unit).negotiation_days)
    try:
        with transaction.atomic():
            negotiation.save()
    except IntegrityError:
        raise Conflict("购物车中这组商品已有进行中或已达成的议价") from None
    Bid.objects.create(negotiation=negotiation, round=1, side=Negotiation.Side.PURCHASER, action=Bid.Action.OFFER,
                       total=amount, line_amounts=amounts, note=(note or "")[:300], by=actor, at=now)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=negotiation, verb="offer",
          changes={"cart": basket, "supplier": supplier.pk, "category": category.code, "round": 1, "total": amount,
                   "lines": amounts, "list_total": subject.list_total})
    _todo_turn(negotiation, subject)
    return negotiation


def _void_cart_negotiations(actor, unit: OrgUnit | None, offer: Offer, reason: str) -> None:
    """The cart group an offer belongs to changed: its running negotiation and any agreement
    not yet ordered no longer describe it, so they end (withdrawn, with the reason)."""
    stale = list(Negotiation.objects.select_for_update().filter(
        order__isnull=True, buyer=actor, supplier_id=offer.supplier_id, category_id=offer.product.category_id,
        status__in=[Negotiation.Status.OPEN, Negotiation.Status.AGREED]))
    now = timezone.now()
    for negotiation in stale:
        before = negotiation.status
        negotiation.round += 1
        Bid.objects.create(negotiation=negotiation, round=negotiation.round, side=Negotiation.Side.PURCHASER,
                           action=Bid.Action.WITHDRAW, note=reason, by=actor, at=now)
        Negotiation.objects.filter(pk=negotiation.pk).update(status=Negotiation.Status.WITHDRAWN, closed_at=now, turn="",
                                                             round=negotiation.round)
        audit(actor=actor, action=A.STATE, unit=unit or negotiation.org_unit, obj=negotiation, verb="withdraw",
              changes={"status": [before, "withdrawn"], "reason": reason})
        todo_close(source=negotiation)


def _lock_negotiation(actor, negotiation: Negotiation, expected_round: int | None, *, doing: str,
                      side: str | None = None) -> tuple[Negotiation, Order, str]:
    """Lock the negotiation row, then check it is still open, still at the round the
    actor saw and that it is the actor's turn (or the given side's)."""
    negotiation = Negotiation.objects.select_for_update().get(pk=negotiation.pk)
    order = negotiation_subject(negotiation)
    sides = sides_of(actor, order)
    wanted = side or negotiation.turn
    if not sides:
        if Negotiation.objects.restrict(actor, VIEW).filter(pk=negotiation.pk).exists():
            raise Forbidden("您的角色无权参与议价")
        raise NotInReach()
    if negotiation.status != Negotiation.Status.OPEN:
        raise Conflict(f"议价已结束（{negotiation.get_status_display()}）")
    try:
        stale = expected_round is not None and int(expected_round) != negotiation.round
    except (TypeError, ValueError):
        stale = True
    if stale:
        raise Conflict("对方已有新的动作，请刷新页面后再操作")
    if timezone.now() > negotiation.deadline:
        raise Conflict("议价已过截止时间")
    if wanted not in sides:
        raise Forbidden(f"现在轮到{SIDE_LABEL.get(negotiation.turn, '对方')}，您不能{doing}")
    return negotiation, order, wanted


def _close(negotiation: Negotiation, order: Order, *, actor, side: str, action: str, status: str,
           note: str = "") -> Bid:
    now = timezone.now()
    negotiation.round += 1
    negotiation.status, negotiation.closed_at, negotiation.turn = status, now, ""
    bid = Bid.objects.create(negotiation=negotiation, round=negotiation.round, side=side, action=action,
                             total=negotiation.agreed_total, note=(note or "")[:300], by=actor, at=now)
    negotiation.save(update_fields=["round", "status", "closed_at", "turn", "agreed_total"])
    if order.status == Order.Status.NEGOTIATING:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.PLACED)
    todo_close(source=negotiation)
    return bid


@transaction.atomic
def negotiation_counter(*, actor, negotiation: Negotiation, expected_round: int, total=None, line_amounts=None,
                        note: str = "") -> Negotiation:
    """The side whose turn it is answers with a new price: the supplier lowers its ask
    (staying above the standing offer), the purchaser raises its offer (staying below the ask)."""
    negotiation, order, side = _lock_negotiation(actor, negotiation, expected_round, doing="还价")
    amount, amounts = _proposal(order, total=total, line_amounts=line_amounts)
    if side == Negotiation.Side.SUPPLIER:
        if amount <= negotiation.bid_total:
            raise ServiceError(f"还价应高于采购人出价 {yuan(negotiation.bid_total)} 元；同意该价请直接点「接受」",
                               fields={"total": "应高于对方出价"})
        if amount >= negotiation.ask_total:
            raise ServiceError(f"还价应低于您上次的报价 {yuan(negotiation.ask_total)} 元", fields={"total": "应低于上次报价"})
        negotiation.ask_total, negotiation.turn = amount, Negotiation.Side.PURCHASER
    else:
        if amount >= negotiation.ask_total:
            raise ServiceError(f"出价应低于供应商报价 {yuan(negotiation.ask_total)} 元；同意该价请直接点「接受」",
                               fields={"total": "应低于对方报价"})
        if amount <= negotiation.bid_total:
            raise ServiceError(f"新的出价应高于您上次的出价 {yuan(negotiation.bid_total)} 元", fields={"total": "应高于上次出价"})
        negotiation.bid_total, negotiation.turn = amount, Negotiation.Side.SUPPLIER
    negotiation.round += 1
    action = Bid.Action.COUNTER if side == Negotiation.Side.SUPPLIER else Bid.Action.OFFER
    Bid.objects.create(negotiation=negotiation, round=negotiation.round, side=side, action=action, total=amount,
                       line_amounts=amounts, note=(note or "")[:300], by=actor, at=timezone.now())
    negotiation.save(update_fields=["round", "turn", "ask_total", "bid_total"])
    audit(actor=actor, action=A.UPDATE, unit=order.org_unit, obj=negotiation, verb=action,
          changes={"round": negotiation.round, "side": side, "total": amount, "lines": amounts})
    _todo_turn(negotiation, order)
    return negotiation


@transaction.atomic
def negotiation_accept(*, actor, negotiation: Negotiation, expected_round: int) -> Negotiation:
    """Agreement: the standing proposal binds the order's lines and total; savings recorded."""
    negotiation, order, side = _lock_negotiation(actor, negotiation, expected_round, doing="接受")
    agreed = negotiation.standing_total
    standing = negotiation.bids.filter(action__in=[Bid.Action.OFFER, Bid.Action.COUNTER]).order_by("-round").first()
    line_amounts = standing.line_amounts if standing else {}
    negotiation.agreed_total = agreed
    _close(negotiation, order, actor=actor, side=side, action=Bid.Action.ACCEPT, status=Negotiation.Status.AGREED)
    amounts = _allocate(order, agreed, line_amounts)
    if isinstance(order, CartSubject):  # it binds the order that will be placed from the cart
        negotiation.basket = [{**item, "agreed": str(amounts[int(item["offer"])])} for item in negotiation.basket]
        negotiation.save(update_fields=["basket"])
        audit(actor=actor, action=A.STATE, unit=order.org_unit, obj=negotiation, verb="accept",
              changes={"status": ["open", "agreed"], "round": negotiation.round, "side": side,
                       "agreed_total": agreed, "lines": {str(k): v for k, v in amounts.items()}})
        return negotiation
    for line in order.lines.all():
        OrderLine.objects.filter(pk=line.pk).update(amount=amounts[line.pk])
    savings = order.list_total - agreed
    Order.objects.filter(pk=order.pk).update(total=agreed, savings=savings)
    counted = rollups.contribution(order)
    order_after = Order(**{f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields})
    order_after.total, order_after.savings = agreed, savings
    rollups.shift(removed=[counted], added=[rollups.contribution(order_after)])
    audit_many(actor=actor, entries=[
        Entry(action=A.STATE, unit=order.org_unit, obj=negotiation, verb="accept",
              changes={"status": ["open", "agreed"], "round": negotiation.round, "side": side,
                       "agreed_total": agreed}),
        Entry(action=A.UPDATE, unit=order.org_unit, obj=order, verb="agreed_price",
              changes={"total": [order.total, agreed], "savings": [order.savings, savings],
                       "lines": {str(k): v for k, v in amounts.items()}}),
    ])
    return negotiation


@transaction.atomic
def negotiation_reject(*, actor, negotiation: Negotiation, expected_round: int, note: str = "") -> Negotiation:
    """The side whose turn it is ends the negotiation; the order stays at list price."""
    negotiation, order, side = _lock_negotiation(actor, negotiation, expected_round, doing="拒绝")
    _close(negotiation, order, actor=actor, side=side, action=Bid.Action.REJECT, status=Negotiation.Status.REJECTED,
           note=note)
    audit(actor=actor, action=A.STATE, unit=order.org_unit, obj=negotiation, verb="reject",
          changes={"status": ["open", "rejected"], "round": negotiation.round, "side": side, "note": note})
    return negotiation


@transaction.atomic
def negotiation_withdraw(*, actor, negotiation: Negotiation, expected_round: int | None = None,
                         note: str = "") -> Negotiation:
    """The purchaser may withdraw at any turn."""
    negotiation, order, side = _lock_negotiation(actor, negotiation, expected_round, doing="撤回议价",
                                                 side=Negotiation.Side.PURCHASER)
    _close(negotiation, order, actor=actor, side=side, action=Bid.Action.WITHDRAW,
           status=Negotiation.Status.WITHDRAWN, note=note)
    audit(actor=actor, action=A.STATE, unit=order.org_unit, obj=negotiation, verb="withdraw",
          changes={"status": ["open", "withdrawn"], "round": negotiation.round})
    return negotiation


@transaction.atomic
def expire_negotiations(*, now=None) -> int:
    """Close negotiations past their deadline; their orders return to list price."""
    now = now or timezone.now()
    due = list(Negotiation.objects.select_for_update(of=("self",)).filter(status=Negotiation.Status.OPEN, deadline__lt=now)
               .select_related("order__org_unit", "org_unit"))
    if not due:
        return 0
    Negotiation.objects.filter(pk__in=[n.pk for n in due]).update(status=Negotiation.Status.EXPIRED, closed_at=now,
                                                                   turn="", round=F("round") + 1)
    Bid.objects.bulk_create([Bid(negotiation=n, round=n.round + 1, action=Bid.Action.EXPIRE, at=now,
                                 note="超过截止时间未达成一致") for n in due])
    Order.objects.filter(pk__in=[n.order_id for n in due if n.order_id], status=Order.Status.NEGOTIATING).update(
        status=Order.Status.PLACED)
    for n in due:
        todo_close(source=n)
    audit_many(actor=None, entries=[Entry(action=A.STATE, unit=n.order.org_unit if n.order_id else n.org_unit, obj=n,
                                          verb="expire",
                                          changes={"status": ["open", "expired"], "round": n.round + 1})
                                    for n in due])
    return len(due)


# --- supervision queue --------------------------------------------------------------------------------

FLAG_MOVES = {
    "open": {"reviewing", "closed", "escalated"},
    "reviewing": {"closed", "escalated"},
    "escalated": {"closed"},
    "closed": set(),
}


@transaction.atomic
def flag_review(*, actor, flag, status: str, note: str = ""):
    from .models import Flag
    flag = Flag.objects.select_for_update(of=("self",)).select_related("org_unit").get(pk=flag.pk)
    require(actor, flag, CHANGE)
    if status not in FLAG_MOVES.get(flag.status, set()):
        raise Conflict(f"「{flag.get_status_display()}」的预警不能改为该状态")
    note = (note or "").strip()
    if status in ("closed", "escalated") and not note:
        raise ServiceError("请填写核查意见", fields={"note": "请填写核查意见"})
    before = flag.status
    flag.status = status
    if note:
        flag.note = note[:500]
    if status == "closed":
        flag.closed_at = timezone.now()
    flag.save(update_fields=["status", "note", "closed_at"])
    audit(actor=actor, action=A.STATE, unit=flag.org_unit, obj=flag, verb=status,
          changes={"status": [before, status], "note": note})
    return flag


def sweep(*, today: date | None = None, since: date | None = None) -> int:
    """Run every supervision rule over the orders (one set of aggregate queries per district)."""
    today = today or timezone.localdate()
    raised = 0
    for district in OrgUnit.objects.filter(parent=None):
        policy = policy_for(district)
        units = OrgUnit.objects.filter(path__startswith=district.path).values("pk")
        if since:
            orders = Order.objects.filter(org_unit__in=units, placed_on__gte=since)
        else:
            # A whole district is most of the table: the unit is matched as an expression so the
            # database reads the orders in one scan instead of walking the unit index and fetching
            # every order row by row (4x slower on SQLite, measured: bench/README.md).
            orders = Order.objects.annotate(unit_scan=F("org_unit_id") + 0).filter(unit_scan__in=units)
        with transaction.atomic():
            raised += len(supervision.raise_flags(supervision.check(orders, policy, today=today, sweep=True,
                                                                    whole=since is None)))
    return raised




# --- tables: the import batches of imports.py ----------------------------------------------------------
#
# Each answers, per valid row and in order, "created" / "updated" / "unchanged" or a RowError, writes in
# bulk inside the engine's batch transaction and audits one event per record it creates or changes.

TABLE_CHUNK = 400  # SQLite's limit on query parameters
DEFAULT_SINGLE_LIMIT = Decimal("500000.00")


def _chunked(values) -> list[list]:
    values = sorted(values, key=str)
    return [values[i:i + TABLE_CHUNK] for i in range(0, len(values), TABLE_CHUNK)]


def _district_id(unit: OrgUnit) -> int:
    return int(unit.path.strip("/").split("/")[0])


def _admin_district(actor) -> OrgUnit | None:
    """The district whose catalogue the actor maintains (a district administrator's)."""
    if not paths_for(actor, {Role.DISTRICT_ADMIN}):
        return None
    return OrgUnit.objects.restrict(actor, CHANGE).filter(kind=OrgUnit.Kind.DISTRICT).order_by("path").first()


def _text(value) -> str:
    return personal.fold(value or "").strip()


def product_identity(category_id: int, brand: str, model: str, name: str) -> tuple:
    """How a table row names a product: brand + model within the category, or brand + name
    when the product has no model (case and full-width forms ignored)."""
    brand, model = _text(brand).casefold(), _text(model).casefold()
    return (category_id, brand, "model", model) if model else (category_id, brand, "name", _text(name).casefold())


def _products_by_identity(category_ids) -> dict[tuple, list[Product]]:
    found: dict[tuple, list[Product]] = defaultdict(list)
    for chunk in _chunked(category_ids):
        for product in Product.objects.filter(category_id__in=chunk).select_related("category__org_unit"):
            found[product_identity(product.category_id, product.brand, product.model, product.name)].append(product)
    return found


def _duplicate_products(found: list[Product], category: Category, label: str):
    from govdesk.core.tables import RowError

    return RowError(f"品目「{category.name}」中有 {len(found)} 个相同的商品（{label}），请先在商城中合并", "model")


def categories_import_batch(actor, rows, dry_run):
    """品目 by code in the actor's district: created or updated (name, flags, limits)."""
    from govdesk.core.tables.bulk import upsert

    district = _admin_district(actor)
    if district is None:
        raise ServiceError("只有区级管理员可以导入品目")

    def build(row):
        values = row.values
        return {"org_unit": district, "code": values["code"], "name": values["name"],
                "initials": pinyin_of(values["name"])[1],
                "is_mall": True if values["is_mall"] is None else values["is_mall"],
                "is_encouraged": bool(values["is_encouraged"]),
                "single_limit": values["single_limit"] or DEFAULT_SINGLE_LIMIT,
                "annual_limit": values["annual_limit"]}

    return upsert(actor=actor, model=Category, rows=rows, key=("org_unit", "code"), build=build,
                  compare=("name", "is_mall", "is_encouraged", "single_limit", "annual_limit"),
                  changeable=Category.objects.restrict(actor, CHANGE), unit_of=lambda c: c.org_unit)


def products_import_batch(actor, rows, dry_run):
    """One row per offer: the product (found by category + brand + model, or + name without a
    model; created by a district administrator when new) and the supplier's offer of it, which
    the listing rule judges as ``offer_save`` does — a row priced too far above the reference is
    refused with the rule's reason, and a supplier not admitted to the category is refused."""
    from govdesk.core.tables import RowError

    admin_paths = paths_for(actor, {Role.DISTRICT_ADMIN})
    districts = {_district_id(r.values["supplier"]) for r in rows}
    categories: dict[tuple, Category] = {}
    for chunk in _chunked({r.values["category"] for r in rows}):
        for category in Category.objects.filter(org_unit_id__in=districts, code__in=chunk).select_related("org_unit"):
            categories[(category.org_unit_id, category.code)] = category
    products = _products_by_identity({c.pk for c in categories.values()})
    suppliers = {r.values["supplier"].pk for r in rows}
    admitted = set(Admission.objects.filter(supplier_id__in=suppliers, status=Admission.Status.ADMITTED)
                   .values_list("supplier_id", "category_id"))
    offers: dict[tuple, Offer] = {}
    for chunk in _chunked([p.pk for found in products.values() for p in found]):
        for offer in Offer.objects.filter(product_id__in=chunk, supplier_id__in=suppliers):
            offers[(offer.product_id, offer.supplier_id)] = offer
    policies: dict[int, MallPolicy] = {}

    outcomes: list = []
    new_products: dict[tuple, Product] = {}
    changed_products: dict[int, tuple[Product, dict]] = {}
    described: dict[tuple, tuple[int, tuple]] = {}  # identity -> (row, description) decided first
    offered: dict[tuple, int] = {}
    new_offers: list[Offer] = []
    changed_offers: list[tuple[Offer, dict]] = []
    now = timezone.now()
    for row in rows:
        values = row.values
        supplier: OrgUnit = values["supplier"]
        category = categories.get((_district_id(supplier), values["category"]))
        if category is None:
            outcomes.append(RowError(f"品目编码「{values['category']}」不存在", "category"))
            continue
        if (supplier.pk, category.pk) not in admitted:
            outcomes.append(RowError(f"「{supplier.name}」尚未获准在品目「{category.name}」供货，请先申请准入",
                                     "supplier"))
            continue
        brand, model, name = _text(values["brand"]), _text(values["model"]), _text(values["name"])
        description = (name, _text(values["unit"]) or "件", (values["specs"] or "").strip())
        identity = product_identity(category.pk, brand, model, name)
        label = " ".join(x for x in (brand, model or name) if x)
        if (supplier.pk, identity) in offered:
            outcomes.append(RowError(f"与第 {offered[(supplier.pk, identity)]} 行是同一供应商对同一商品的报价",
                                     "model"))
            continue
        editor = any(category.org_unit.path.startswith(path) for path in admin_paths)
        found = products.get(identity, [])
        if len(found) > 1:
            outcomes.append(_duplicate_products(found, category, label))
            continue
        product = found[0] if found else new_products.get(identity)
        if product is None and not editor:
            outcomes.append(RowError(f"商品「{label}」尚未建档，只有区级管理员可以新增商品", "name"))
            continue
        if editor and identity in described and described[identity][1] != description:
            outcomes.append(RowError(f"同一商品的名称、单位或规格与第 {described[identity][0]} 行不一致", "name"))
            continue
        price, stock = values["list_price"], values["stock"] or 0
        reason = listing_block_reason(product, price, policies.setdefault(
            category.org_unit_id, policy_for(category.org_unit))) if product is not None else ""
        if reason:
            outcomes.append(RowError(reason, "list_price"))
            continue
        # The row is accepted: plan its writes.
        offered[(supplier.pk, identity)] = row.row
        product_changed = False
        if product is None:
            product = Product(org_unit=category.org_unit, category=category, name=name, brand=brand[:100],
                              model=model[:100], unit=description[1], specs=description[2],
                              initials=product_initials(brand, name))
            new_products[identity] = product
            product_changed = True
        elif editor and identity not in described and product.pk is not None:
            current = (product.name, product.unit, product.specs)
            if current != description:
                changes = {k: [old, new] for k, old, new in zip(("name", "unit", "specs"), current, description,
                                                                strict=True) if old != new}
                product.name, product.unit, product.specs = description
                product.initials = product_initials(product.brand, product.name)
                changed_products[product.pk] = (product, changes)
                product_changed = True
        if editor:
            described.setdefault(identity, (row.row, description))
        offer = offers.get((product.pk, supplier.pk)) if product.pk else None
        if offer is None:
            offer = Offer(product=product, supplier=supplier, list_price=price, stock=stock,
                          status=Offer.Status.LISTED, blocked_reason="")
            new_offers.append(offer)
            outcomes.append("created")
            continue
        before = {"list_price": offer.list_price, "stock": offer.stock, "status": offer.status}
        after = {"list_price": price, "stock": stock, "status": Offer.Status.LISTED}
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if changes:
            offer.list_price, offer.stock, offer.status, offer.blocked_reason = price, stock, Offer.Status.LISTED, ""
            offer.updated_at = now
            changed_offers.append((offer, changes))
        outcomes.append("updated" if changes or product_changed else "unchanged")

    Product.objects.bulk_create(list(new_products.values()), batch_size=1000)
    if changed_products:
        Product.objects.bulk_update([p for p, _c in changed_products.values()], ["name", "unit", "specs", "initials"],
                                    batch_size=1000)
    for offer in new_offers:
        offer.product = offer.product  # the product's pk is known now
    Offer.objects.bulk_create(new_offers, batch_size=1000)
    if changed_offers:
        Offer.objects.bulk_update([o for o, _c in changed_offers], ["list_price", "stock", "status", "blocked_reason",
                                                                    "updated_at"], batch_size=1000)
    entries = [Entry(action=A.CREATE, unit=p.org_unit, obj=p, verb="import",
                     changes={"category": p.category.code, "name": p.name, "brand": p.brand, "model": p.model})
               for p in new_products.values()]
    entries += [Entry(action=A.UPDATE, unit=p.org_unit, obj=p, verb="import", changes=c)
                for p, c in changed_products.values()]
    entries += [Entry(action=A.CREATE, unit=o.supplier, obj=o, verb="import",
                      changes={"product": o.product_id, "list_price": o.list_price, "stock": o.stock,
                               "status": o.status})
                for o in new_offers]
    entries += [Entry(action=A.UPDATE, unit=o.supplier, obj=o, verb="import", changes=c) for o, c in changed_offers]
    audit_many(actor=actor, entries=entries)
    return outcomes


def reference_prices_import_batch(actor, rows, dry_run):
    """Market prices by (product, date, source): new observations are kept, a changed price on the
    same day and source is corrected; each product's newest observation becomes its reference and,
    as in ``reference_price_record``, listed offers now too far above it are blocked."""
    from govdesk.core.tables import RowError

    district = _admin_district(actor)
    if district is None:
        raise ServiceError("只有区级管理员可以导入市场参考价")
    categories = {c.code: c for c in Category.objects.filter(org_unit=district)}
    products = _products_by_identity({c.pk for c in categories.values()})
    outcomes: list = []
    planned: list[tuple[Product, dict]] = []
    for row in rows:
        values = row.values
        category = categories.get(values["category"])
        if category is None:
            outcomes.append(RowError(f"品目编码「{values['category']}」不存在", "category"))
            continue
        identity = product_identity(category.pk, values["brand"], values["model"], values["name"])
        label = " ".join(x for x in (_text(values["brand"]), _text(values["model"]) or _text(values["name"])) if x)
        found = products.get(identity, [])
        if not found:
            outcomes.append(RowError(f"品目「{category.name}」中没有商品「{label}」", "model"))
            continue
        if len(found) > 1:
            outcomes.append(_duplicate_products(found, category, label))
            continue
        planned.append((found[0], values))
        outcomes.append(None)
    existing: dict[tuple, ReferencePrice] = {}
    for chunk in _chunked({p.pk for p, _v in planned}):
        for record in ReferencePrice.objects.filter(product_id__in=chunk):
            existing[(record.product_id, record.observed_on, record.source.casefold())] = record
    created: list[ReferencePrice] = []
    corrected: list[tuple[ReferencePrice, dict]] = []
    results = iter(planned)
    for i, outcome in enumerate(outcomes):
        if outcome is not None:
            continue
        product, values = next(results)
        source = _text(values["source"])
        record = existing.get((product.pk, values["observed_on"], source.casefold()))
        if record is None:
            record = ReferencePrice(product=product, price=values["price"], observed_on=values["observed_on"],
                                    source=source, recorded_by=actor)
            existing[(product.pk, values["observed_on"], source.casefold())] = record
            created.append(record)
            outcomes[i] = "created"
        elif record.price != values["price"]:
            corrected.append((record, {"price": [record.price, values["price"]]}))
            record.price = values["price"]
            outcomes[i] = "updated"
        else:
            outcomes[i] = "unchanged"
    ReferencePrice.objects.bulk_create(created, batch_size=1000)
    if corrected:
        ReferencePrice.objects.bulk_update([r for r, _c in corrected], ["price"], batch_size=1000)
    entries = [Entry(action=A.CREATE, unit=r.product.org_unit, obj=r, verb="import",
                     changes={"product": r.product_id, "price": r.price, "observed_on": r.observed_on,
                              "source": r.source}) for r in created]
    entries += [Entry(action=A.UPDATE, unit=r.product.org_unit, obj=r, verb="import", changes=c) for r, c in corrected]
    entries += _refresh_references({r.product_id: r.product for r in created} | {r.product_id: r.product
                                                                                for r, _c in corrected}, district)
    audit_many(actor=actor, entries=entries)
    return outcomes


def _refresh_references(products: dict[int, Product], district: OrgUnit) -> list[Entry]:
    """Copy each product's newest observation to it; block listed offers too far above it."""
    newest: dict[int, ReferencePrice] = {}
    for chunk in _chunked(products):
        for record in ReferencePrice.objects.filter(product_id__in=chunk).order_by("product_id", "-observed_on", "-id"):
            newest.setdefault(record.product_id, record)
    changed = []
    for pk, record in newest.items():
        product = products[pk]
        if (product.reference_price, product.reference_date, product.reference_source) != (
                record.price, record.observed_on, record.source):
            product.reference_price, product.reference_date, product.reference_source = (
                record.price, record.observed_on, record.source)
            changed.append(product)
    Product.objects.bulk_update(changed, ["reference_price", "reference_date", "reference_source"], batch_size=1000)
    policy = policy_for(district)
    by_pk = {p.pk: p for p in changed}
    entries, blocked = [], []
    for chunk in _chunked(by_pk):
        for offer in Offer.objects.select_related("supplier").filter(product_id__in=chunk, status=Offer.Status.LISTED):
            reason = listing_block_reason(by_pk[offer.product_id], offer.list_price, policy)
            if reason:
                offer.status, offer.blocked_reason = Offer.Status.BLOCKED, reason
                blocked.append(offer)
                entries.append(Entry(action=A.STATE, unit=offer.supplier, obj=offer, verb="block",
                                     changes={"status": ["listed", "blocked"], "reason": reason,
                                              "reference": by_pk[offer.product_id].reference_price}))
    Offer.objects.bulk_update(blocked, ["status", "blocked_reason"], batch_size=1000)
    return entries


HISTORY_ROLES = frozenset({Role.PURCHASER, Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER, Role.DISTRICT_ADMIN})
HISTORY_STATUSES = (Order.Status.SETTLED, Order.Status.ACCEPTED, Order.Status.SHIPPED, Order.Status.CONFIRMED,
                    Order.Status.CANCELLED)


def _suppliers_named(texts: set[str]) -> tuple[dict[str, OrgUnit], dict[str, list[OrgUnit]]]:
    by_code: dict[str, OrgUnit] = {}
    by_name: dict[str, list[OrgUnit]] = defaultdict(list)
    for chunk in _chunked(texts):
        for unit in OrgUnit.objects.filter(kind=OrgUnit.Kind.ENTERPRISE).filter(Q(code__in=chunk) | Q(name__in=chunk)):
            if unit.code in texts:
                by_code[unit.code] = unit
            if unit.name in texts:
                by_name[unit.name].append(unit)
    return by_code, by_name


def history_orders_import_batch(actor, rows, dry_run):
    """Orders placed in other malls (来源商城 + 原订单号), written as orders of their units so the
    figures and every supervision rule cover them; the rules run on the imported orders at once
    (the periodic sweep sees them as well)."""
    from govdesk.core.tables import RowError

    roots = paths_for(actor, HISTORY_ROLES)
    districts = {_district_id(r.values["org_unit"]) for r in rows}
    categories: dict[int, list[Category]] = defaultdict(list)
    for category in Category.objects.filter(org_unit_id__in=districts):
        categories[category.org_unit_id].append(category)
    by_code, by_name = _suppliers_named({r.values["supplier"] for r in rows})
    existing: dict[tuple, Order] = {}
    for chunk in _chunked({r.values["external_no"] for r in rows}):
        for order in Order.objects.filter(external_no__in=chunk).select_related("org_unit"):
            existing[(order.source, order.external_no)] = order

    outcomes: list = []
    created: list[Order] = []
    changed: list[tuple[Order, dict]] = []
    counted_before: list = []
    fields = ("org_unit_id", "supplier_id", "category_id", "total", "list_total", "placed_on", "status")
    for row in rows:
        values = row.values
        unit: OrgUnit = values["org_unit"]
        district = _district_id(unit)
        code, name = values["category_code"], values["category_name"]
        if code:
            category = next((c for c in categories[district] if c.code == code), None)
            if category is None:
                outcomes.append(RowError(f"品目编码「{code}」不存在", "category_code"))
                continue
        else:
            matching = [c for c in categories[district] if c.name == name]
            if len(matching) != 1:
                outcomes.append(RowError(f"品目「{name}」不存在" if not matching else
                                         f"有 {len(matching)} 个名为「{name}」的品目，请改填品目编码", "category_name"))
                continue
            category = matching[0]
        text = values["supplier"]
        suppliers = [by_code[text]] if text in by_code else by_name.get(text, [])
        suppliers = [s for s in suppliers if _district_id(s) == district]
        if len(suppliers) != 1:
            outcomes.append(RowError(f"供应商「{text}」不在本区的企业名录中，请先在组织机构中登记该企业" if not suppliers
                                     else f"有 {len(suppliers)} 家名为「{text}」的企业，请改填企业编码", "supplier"))
            continue
        total = values["total"]
        list_total = values["list_total"] or total
        placed_on: date = values["placed_on"]
        status = values["status"] or Order.Status.SETTLED
        wanted = {"org_unit_id": unit.pk, "supplier_id": suppliers[0].pk, "category_id": category.pk, "total": total,
                  "list_total": list_total, "placed_on": placed_on, "status": status}
        placed_at = timezone.make_aware(datetime.combine(placed_on, time(9)))
        source, number = values["source"], values["external_no"]
        order = existing.get((source, number))
        if order is None:
            order = Order(source=source, external_no=number, placed_at=placed_at, day=day_number(placed_on),
                          savings=list_total - total, **wanted)
            order.sent_at = placed_at  # orders of other malls: all went to their suppliers (HISTORY_STATUSES)
            existing[(source, number)] = order
            created.append(order)
            outcomes.append("created")
            continue
        if not any(order.org_unit.path.startswith(root) for root in roots):
            outcomes.append(RowError(f"{source}订单 {number} 已由其他单位导入，不在您的权限范围内", "external_no"))
            continue
        changes = {k: [getattr(order, k), v] for k, v in wanted.items() if getattr(order, k) != v}
        if not changes:
            outcomes.append("unchanged")
            continue
        counted_before.append(rollups.contribution(order))
        for key, value in wanted.items():
            setattr(order, key, value)
        order.placed_at, order.day, order.savings = placed_at, day_number(placed_on), list_total - total
        order.sent_at = order.sent_at or placed_at
        changed.append((order, changes))
        outcomes.append("updated")

    Order.objects.bulk_create(created, batch_size=1000)
    rollups.shift(removed=counted_before,
                  added=[rollups.contribution(o) for o in [*created, *(o for o, _c in changed)]])
    if changed:
        Order.objects.bulk_update([o for o, _c in changed], [*(f.removesuffix("_id") for f in fields), "placed_at",
                                                             "day", "savings"], batch_size=1000)
    units = {u.pk: u for u in OrgUnit.objects.filter(pk__in={o.org_unit_id for o in created}
                                                      | {o.org_unit_id for o, _c in changed})}
    entries = [Entry(action=A.CREATE, unit=units[o.org_unit_id], obj=o, verb="import",
                     changes={"source": o.source, "external_no": o.external_no, "supplier": o.supplier_id,
                              "category": o.category_id, "total": o.total, "list_total": o.list_total,
                              "placed_on": o.placed_on, "status": o.status}) for o in created]
    entries += [Entry(action=A.UPDATE, unit=units[o.org_unit_id], obj=o, verb="import", changes=c)
                for o, c in changed]
    audit_many(actor=actor, entries=entries)
    touched = [o.pk for o in created] + [o.pk for o, _c in changed]
    if touched and not dry_run:
        today = timezone.localdate()
        for district in OrgUnit.objects.filter(pk__in=districts):
            targets = Order.objects.filter(pk__in=touched, org_unit__path__startswith=district.path)
            supervision.raise_flags(supervision.check(targets, policy_for(district), today=today, sweep=True))
    return outcomes
