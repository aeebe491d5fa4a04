"""The mall's demo: ~150 categories (56 mall, 90 encouraged), eight suppliers, a few
thousand products with reference prices (some updated lately), ~12,000 orders over ten months (about 15
million yuan), negotiated savings, and planted split purchases, over-price and
outside-catalogue orders for the supervision sweep to find. Seeded in bulk
(``bulk_create`` + ``audit_many``) so it stays fast."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from govdesk.core import services as core
from govdesk.core.audit import Entry, audit_many
from govdesk.core.demo import DEMO_PASSWORD
from govdesk.core.models import AuditEvent, OrgUnit
from govdesk.core.reach import Role
from govdesk.core.services import pinyin_of

from . import rollups, services
from .models import (
    Admission,
    Bid,
    Category,
    Negotiation,
    Offer,
    Order,
    OrderLine,
    Product,
    ReferencePrice,
    day_number,
)

A = AuditEvent.Action
ORDERS = 12_000
CENT = Decimal("0.01")

# (name, unit, typical price) — the everyday goods of a district's offices
GOODS = [
    ("台式计算机", "台", 5200), ("便携式计算机", "台", 6500), ("激光打印机", "台", 1800), ("复印纸", "箱", 120),
    ("硒鼓", "个", 380), ("墨盒", "个", 160), ("办公桌", "张", 1200), ("办公椅", "把", 560), ("文件柜", "个", 900),
    ("空调", "台", 3800), ("LED灯管", "支", 35), ("投影仪", "台", 4200), ("碎纸机", "台", 800), ("U盘", "个", 60),
    ("移动硬盘", "个", 420), ("交换机", "台", 1500), ("路由器", "台", 300), ("扫描仪", "台", 2300),
    ("复印机", "台", 9800), ("签字笔", "盒", 25), ("笔记本", "本", 8), ("订书机", "个", 30), ("档案盒", "个", 6),
    ("饮水机", "台", 650), ("电冰箱", "台", 2600), ("电视机", "台", 3500), ("照相机", "台", 4600),
    ("录音笔", "支", 380), ("显示器", "台", 1100), ("键盘鼠标套装", "套", 120), ("不间断电源", "台", 1600),
    ("办公沙发", "组", 3200), ("会议桌", "张", 2800), ("保险柜", "个", 1900), ("灭火器", "具", 90),
    ("清洁用品", "套", 80), ("劳保用品", "套", 150), ("茶水柜", "个", 1300), ("书架", "个", 700), ("白板", "块", 260),
]
VARIANTS = ["", "（节能型）", "（国产）", "（环保型）"]
SERIES = ["标准款", "商务款", "经济款", "高配款", "升级款", "静音款", "节能款", "轻薄款", "加厚款", "大容量款",
          "入门款", "专业款"]
PRODUCTS_PER_CATEGORY = {"mall": 36, "encouraged": 12}
BRANDS = ["联想", "华为", "得力", "晨光", "惠普", "格力", "美的", "海尔", "爱普生", "齐心", "奥图码", "TCL"]
SUPPLIERS = ["京东政企", "苏宁易购政企", "得力集团", "晨光科力普", "国美政企", "齐心商用", "欧菲斯办公", "史泰博"]


def _aware(day, hour) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


@transaction.atomic
def seed(context: dict) -> None:
    rng = context["rng"]
    root, district, users = context["root"], context["district"], context["users"]
    admin = users["admin"]
    entries: list[Entry] = []
    today = timezone.localdate()

    # Categories: the first 56 are mall categories; 90 (36 mall + 54 others) are encouraged.
    categories = []
    for i in range(150):
        name, unit, price = GOODS[i % len(GOODS)]
        label = f"{name}{VARIANTS[i // len(GOODS)]}"
        categories.append(Category(
            org_unit=district, code=f"A{i + 1:04d}", name=label, initials=pinyin_of(label)[1],
            is_mall=i < 56, is_encouraged=20 <= i < 110,
            # two office-furniture categories carry a lower limit the district set itself
            single_limit=Decimal("50000") if i in (6, 7) else Decimal("500000")))
    Category.objects.bulk_create(categories)
    categories = list(Category.objects.filter(org_unit=district).order_by("code"))
    entries += [Entry(action=A.CREATE, unit=district, obj=c, verb="demo",
                      changes={"code": c.code, "is_mall": c.is_mall, "is_encouraged": c.is_encouraged})
                for c in categories]

    # Suppliers: enterprises under the district; two of them get a login.
    suppliers = [core.orgunit_create(actor=root, parent=district, kind=OrgUnit.Kind.ENTERPRISE,
                                     code=f"{district.code}-gys{i + 1:02d}", name=name)
                 for i, name in enumerate(SUPPLIERS)]
    for username, label, supplier in (("gongying", "京东政企客户经理", suppliers[0]),
                                      ("gongying2", "苏宁政企客户经理", suppliers[1])):
        users[username] = core.user_create(actor=root, username=username, display_name=label,
                                           password=DEMO_PASSWORD, role=Role.SUPPLIER, unit=supplier)

    # Products with a reference market price, in the mall and encouraged categories.
    products = []
    for category in categories:
        if not (category.is_mall or category.is_encouraged):
            continue
        base = GOODS[int(category.code[1:]) % len(GOODS) - 1]
        for k in range(PRODUCTS_PER_CATEGORY["mall" if category.is_mall else "encouraged"]):
            brand = rng.choice(BRANDS)
            name = f"{base[0]}{SERIES[k % len(SERIES)]}"
            reference = Decimal(base[2] * rng.uniform(0.8, 1.25)).quantize(Decimal("1"))
            products.append(Product(
                org_unit=district, category=category, name=name, brand=brand,
                model=f"{pinyin_of(brand)[1].upper()}-{rng.randint(100, 9999)}", unit=base[1],
                specs="符合政府采购节能环保要求", initials=services.product_initials(brand, name),
                reference_price=reference, reference_date=today - timedelta(days=rng.randint(305, 330)),
                reference_source=rng.choice(["京东", "苏宁", "天猫", "价格监测中心"])))
    Product.objects.bulk_create(products, batch_size=500)
    products = list(Product.objects.filter(org_unit=district).select_related("category"))
    references = [ReferencePrice(product=p, price=p.reference_price, observed_on=p.reference_date,
                                 source=p.reference_source, recorded_by=admin) for p in products]
    # One product in ten was priced again lately, a little lower (the market fell): the newer price
    # is its reference from that day on; older orders are still judged by the older one.
    repriced = rng.sample(products, len(products) // 10)
    for p in repriced:
        p.reference_price = (p.reference_price * Decimal(rng.uniform(0.93, 0.99))).quantize(Decimal("1"))
        p.reference_date, p.reference_source = today - timedelta(days=rng.randint(20, 90)), "价格监测中心"
        references.append(ReferencePrice(product=p, price=p.reference_price, observed_on=p.reference_date,
                                         source=p.reference_source, recorded_by=admin))
    Product.objects.bulk_update(repriced, ["reference_price", "reference_date", "reference_source"], batch_size=500)
    ReferencePrice.objects.bulk_create(references, batch_size=500)
    history: dict[int, list[tuple]] = {}  # product -> [(observed_on, reference id)], oldest first
    for r in sorted(ReferencePrice.objects.filter(product__org_unit=district).values_list(
            "product_id", "observed_on", "id")):
        history.setdefault(r[0], []).append(r[1:])
    entries += [Entry(action=A.CREATE, unit=district, obj=p, verb="demo",
                      changes={"category": p.category.code, "reference": p.reference_price}) for p in products]

    # Each product offered by two or three suppliers, admitted to its category.
    offers, admitted = [], set()
    for product in products:
        for supplier in rng.sample(suppliers, rng.choice([2, 3])):
            admitted.add((supplier.pk, product.category_id))
            offers.append(Offer(product=product, supplier=supplier, stock=rng.randint(50, 5000),
                                list_price=(product.reference_price * Decimal(rng.uniform(0.92, 1.08))).quantize(CENT)))
    admissions = [Admission(supplier_id=s, category_id=c, status=Admission.Status.ADMITTED, decided_on=today
                            - timedelta(days=320), documents="营业执照、资质证明") for s, c in sorted(admitted)]
    Admission.objects.bulk_create(admissions, batch_size=500)
    Offer.objects.bulk_create(offers, batch_size=500)
    by_supplier = {s.pk: s for s in suppliers}
    offers = list(Offer.objects.filter(product__org_unit=district).select_related("product__category"))
    entries += [Entry(action=A.CREATE, unit=by_supplier[o.supplier_id], obj=o, verb="demo",
                      changes={"list_price": o.list_price}) for o in offers]
    entries += [Entry(action=A.STATE, unit=by_supplier[a.supplier_id], object_type="mall.admission",
                      object_repr=f"{a.supplier_id}:{a.category_id}", verb="demo", changes={"status": "admitted"})
                for a in admissions]

    # ~12,000 orders over ten months from departments, streets and communities.
    units = list(OrgUnit.objects.filter(path__startswith=district.path, kind__in=[
        OrgUnit.Kind.DEPARTMENT, OrgUnit.Kind.STREET, OrgUnit.Kind.COMMUNITY]))
    mall_offers = [o for o in offers if o.product.category.is_mall and o.product.category.single_limit > 100000]
    start = today - timedelta(days=300)
    plans = []
    for _ in range(ORDERS):
        target = min(rng.lognormvariate(math.log(760), 1.0), 40000)
        for _attempt in range(8):  # a cheap order buys cheap goods
            offer = rng.choice(mall_offers)
            if float(offer.list_price) <= target * 1.5:
                break
        quantity = max(1, round(target / float(offer.list_price)))
        day = start + timedelta(days=rng.randint(0, 299))
        plans.append((rng.choice(units), offer, quantity, day, None, False))
    # Planted findings: split purchases, over-price and outside-catalogue orders.
    furniture = [o for o in offers if o.product.category.single_limit == Decimal("50000")]
    for k, unit in enumerate(rng.sample(units, 3)):
        offer = furniture[k % len(furniture)]
        base_day = today - timedelta(days=40 + 30 * k)
        for j in range(3):
            quantity = max(1, round(19000 / float(offer.list_price)))
            plans.append((unit, offer, quantity, base_day + timedelta(days=3 * j), None, True))
    for k in range(4):
        offer = rng.choice(mall_offers)
        price = (offer.product.reference_price * Decimal("1.35")).quantize(CENT)
        plans.append((rng.choice(units), offer, rng.randint(2, 5), today - timedelta(days=10 + k), price, True))
    outside = [o for o in offers if not o.product.category.is_mall]
    for k in range(3):
        plans.append((rng.choice(units), rng.choice(outside), 2, today - timedelta(days=20 + k), None, True))

    plans.sort(key=lambda p: p[3])
    orders, lines, findings = [], [], set()
    for unit, offer, quantity, day, price, planted in plans:
        price = price or offer.list_price
        amount = price * quantity
        age = (today - day).days
        if planted:  # the findings must stand: never cancelled, never negotiated down
            status = "settled" if age > 30 else "confirmed"
        elif age > 30:
            status = rng.choices(["settled", "accepted", "cancelled"], [90, 5, 5])[0]
        else:
            status = rng.choice(["placed", "confirmed", "shipped", "accepted", "settled"])
        placed_at = _aware(day, rng.randint(8, 17))
        order = Order(org_unit=unit, supplier_id=offer.supplier_id, category_id=offer.product.category_id,
                      list_total=amount, total=amount, placed_at=placed_at, placed_on=day, day=day_number(day),
                      status=status, placed_by=users.get("caigou") if unit.name == "财政局" else None,
                      sent_at=placed_at)
        if status not in ("placed", "cancelled"):
            order.confirmed_at = placed_at + timedelta(hours=5)
        if status in ("shipped", "accepted", "settled"):
            order.shipped_at = placed_at + timedelta(days=1)
        if status in ("accepted", "settled"):
            order.accepted_at, order.rating = placed_at + timedelta(days=3), rng.choice([4, 5, 5, 5, 3])
        if status == "settled":
            order.settled_at = placed_at + timedelta(days=12)
        if status == "cancelled":
            order.cancelled_at, order.cancel_reason = placed_at + timedelta(days=1), "需求变更"
        if planted:
            findings.add(len(orders))
        orders.append(order)
        in_force = [pk for observed_on, pk in history[offer.product_id] if observed_on <= day]
        lines.append(OrderLine(offer=offer, product=offer.product, quantity=quantity, list_price=price,
                               list_amount=amount, amount=amount, reference_id=in_force[-1] if in_force else None))
    Order.objects.bulk_create(orders, batch_size=1000)
    for order, line in zip(orders, lines, strict=True):
        line.order = order
    OrderLine.objects.bulk_create(lines, batch_size=1000)

    # Negotiated savings on some of the larger orders.
    negotiated = [o for i, o in enumerate(orders) if o.status != "cancelled" and o.list_total >= 2000
                  and i not in findings and rng.random() < 0.35]
    negotiations, bids = [], []
    for order in negotiated:
        agreed = (order.list_total * Decimal(rng.uniform(0.88, 0.97))).quantize(CENT)
        bid = (agreed * Decimal("0.95")).quantize(CENT)
        order.total, order.savings = agreed, order.list_total - agreed
        negotiations.append(Negotiation(order=order, status=Negotiation.Status.AGREED, round=3, turn="",
                                        deadline=order.placed_at + timedelta(days=3), list_total=order.list_total,
                                        bid_total=bid, ask_total=agreed, agreed_total=agreed,
                                        opened_at=order.placed_at, closed_at=order.placed_at + timedelta(hours=2)))
    Order.objects.bulk_update(negotiated, ["total", "savings"], batch_size=1000)
    negotiated_ids = {o.pk for o in negotiated}
    OrderLine.objects.bulk_update(
        [OrderLine(pk=line.pk, amount=order.total) for order, line in zip(orders, lines, strict=True)
         if order.pk in negotiated_ids], ["amount"], batch_size=1000)
    Negotiation.objects.bulk_create(negotiations, batch_size=1000)
    for n in negotiations:
        at = n.opened_at
        bids += [Bid(negotiation=n, round=1, side="purchaser", action="offer", total=n.bid_total, at=at),
                 Bid(negotiation=n, round=2, side="supplier", action="counter", total=n.ask_total, at=at),
                 Bid(negotiation=n, round=3, side="purchaser", action="accept", total=n.agreed_total, at=at)]
    Bid.objects.bulk_create(bids, batch_size=2000)
    entries += [Entry(action=A.CREATE, unit=o.org_unit, obj=o, verb="demo",
                      changes={"total": o.total, "status": o.status}) for o in orders]
    audit_many(actor=root, entries=entries)

    rollups.rebuild()
    services.sweep(today=today)
