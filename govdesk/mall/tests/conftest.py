"""The mall on top of ``world``: two suppliers (enterprises under the district), a
purchaser in street A and one in street B, two categories and a few offers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from govdesk.core import services as core
from govdesk.core.models import OrgUnit, User
from govdesk.core.reach import Role
from govdesk.mall import services
from govdesk.mall.models import Category, Offer, Order, OrderLine, Product, day_number


@dataclass
class Mall:
    world: object
    supplier_x: OrgUnit
    supplier_y: OrgUnit
    seller_x: User
    seller_y: User
    buyer_a: User
    buyer_b: User
    paper: Category
    pcs: Category
    printer_paper: Product
    laptop: Product
    paper_x: Offer
    paper_y: Offer
    laptop_x: Offer

    def order(self, *, unit=None, category=None, total="1000.00", days_ago=0, supplier=None, status="placed",
              product=None):
        """An order of one line written straight to the tables (rule tests need dates in the
        past); by default its product has no reference price, so only the rule under test fires."""
        unit = unit or self.world.street_a
        category = category or self.paper
        supplier = supplier or self.supplier_x
        product = product or Product.objects.filter(category=category, reference_price__isnull=True).first()
        offer = self.paper_x  # the line's offer is bookkeeping here; the product is what rules read
        now = timezone.now() - timedelta(days=days_ago)
        day = timezone.localdate(now)
        total = Decimal(total)
        order = Order.objects.create(org_unit=unit, supplier=supplier, category=category, list_total=total,
                                     total=total, placed_at=now, placed_on=day, day=day_number(day), status=status,
                                     sent_at=None if status == "pending" else now)
        OrderLine.objects.create(order=order, offer=offer, product=product, quantity=1, list_price=total,
                                 list_amount=total, amount=total,
                                 reference_id=services.current_references([product.pk]).get(product.pk))
        return order


def build_mall(world) -> Mall:
    root = world.root
    make = core.orgunit_create
    supplier_x = make(actor=root, parent=world.district, kind="enterprise", code="T100-SX", name="甲办公用品公司")
    supplier_y = make(actor=root, parent=world.district, kind="enterprise", code="T100-SY", name="乙电商公司")
    seller_x = world.person("seller_x", Role.SUPPLIER, supplier_x)
    seller_y = world.person("seller_y", Role.SUPPLIER, supplier_y)
    buyer_a = world.person("buyer_a", Role.PURCHASER, world.street_a)
    buyer_b = world.person("buyer_b", Role.PURCHASER, world.street_b)
    admin = world.admin
    paper = services.category_create(actor=admin, district=world.district, code="A0901", name="复印纸",
                                     is_mall=True, is_encouraged=True, single_limit="10000")
    pcs = services.category_create(actor=admin, district=world.district, code="A0201", name="台式计算机",
                                   is_mall=True, single_limit="500000")
    printer_paper = services.product_create(actor=admin, category=paper, name="A4复印纸", brand="得力", model="7391",
                                            unit="箱")
    services.product_create(actor=admin, category=paper, name="复印纸（散装）", brand="晨光", unit="包")
    laptop = services.product_create(actor=admin, category=pcs, name="台式电脑", brand="联想", model="M720")
    services.reference_price_record(actor=admin, product=printer_paper, price="100.00",
                                    observed_on=timezone.localdate(), source="京东")
    for supplier in (supplier_x, supplier_y):
        for category in (paper, pcs):
            admission = services.admission_apply(actor=seller_x if supplier == supplier_x else seller_y,
                                                 supplier=supplier, category=category)
            services.admission_decide(actor=admin, admission=admission, status="admitted")
    paper_x = services.offer_save(actor=seller_x, supplier=supplier_x, product=printer_paper, list_price="110.00",
                                  stock=1000)
    paper_y = services.offer_save(actor=seller_y, supplier=supplier_y, product=printer_paper, list_price="105.00",
                                  stock=1000)
    laptop_x = services.offer_save(actor=seller_x, supplier=supplier_x, product=laptop, list_price="5000.00",
                                   stock=50)
    return Mall(world, supplier_x, supplier_y, seller_x, seller_y, buyer_a, buyer_b, paper, pcs, printer_paper,
                laptop, paper_x, paper_y, laptop_x)


@pytest.fixture
def mall(world) -> Mall:
    return build_mall(world)
