import pytest

from govdesk.core import demo
from govdesk.mall import demo as mall_demo
from govdesk.mall.models import Category, Flag, Negotiation, Order, Product, ReferencePrice

pytestmark = pytest.mark.django_db


def test_the_demo_holds_a_realistic_mall_with_findings_for_the_sweep():
    context = demo.seed_core()
    mall_demo.seed(context)
    assert Category.objects.count() == 150
    assert Category.objects.filter(is_mall=True).count() == 56
    assert Category.objects.filter(is_encouraged=True).count() == 90
    assert 2_000 <= Product.objects.count() <= 4_000  # "a few thousand products"
    assert Product.objects.values("name").distinct().count() > 300
    assert ReferencePrice.objects.count() > Product.objects.count()  # some were priced again lately
    assert Order.objects.count() == mall_demo.ORDERS + 3 * 3 + 4 + 3
    total = sum(Order.objects.exclude(status="cancelled").values_list("total", flat=True))
    assert 12_000_000 < total < 18_000_000
    assert Negotiation.objects.filter(status="agreed").count() > 500
    assert Flag.objects.filter(rule="split").count() == 3
    assert Flag.objects.filter(rule="price").count() == 4
    assert Flag.objects.filter(rule="outside").count() == 3
