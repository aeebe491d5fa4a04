"""Each rule: the cases that must be flagged and the near-misses that must not."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from govdesk.core.errors import ServiceError
from govdesk.core.models import AuditEvent
from govdesk.mall import services
from govdesk.mall.models import Category, Flag, MallPolicy, Order

pytestmark = pytest.mark.django_db


def sweep_rules():
    services.sweep()
    return sorted(Flag.objects.values_list("rule", "order_id"))


# --- split purchase (paper: single limit 10,000; window 30 days) ------------------------------------

def test_two_orders_under_the_limit_summing_over_it_within_the_window_are_a_split(mall):
    mall.order(total="6000", days_ago=20)
    second = mall.order(total="4500", days_ago=1)
    assert sweep_rules() == [("split", second.pk)]
    flag = Flag.objects.get()
    assert "甲街道在 30 天内" in flag.message and "下单 2 笔，合计 10,500.00 元，超过单次采购限额 10,000.00 元" in flag.message
    assert flag.params["orders"] == 2 and flag.params["sum"] == "10500.00" and flag.params["window_days"] == 30


def test_two_orders_summing_exactly_to_the_limit_are_not_a_split(mall):
    mall.order(total="6000", days_ago=10)
    mall.order(total="4000", days_ago=1)
    assert sweep_rules() == []


def test_the_same_amounts_in_different_categories_are_not_a_split(mall):
    pens = services.category_create(actor=mall.world.admin, district=mall.world.district, code="A0902", name="签字笔",
                                    single_limit="10000")
    services.product_create(actor=mall.world.admin, category=pens, name="中性笔")
    mall.order(total="6000", days_ago=10)
    mall.order(category=pens, total="6000", days_ago=1)
    assert sweep_rules() == []


def test_orders_of_different_units_are_not_a_split(mall):
    mall.order(total="6000", days_ago=10)
    mall.order(unit=mall.world.street_b, total="6000", days_ago=1)
    assert sweep_rules() == []


def test_orders_30_days_apart_do_not_share_a_30_day_window_but_29_days_apart_do(mall):
    mall.order(total="6000", days_ago=31)
    mall.order(total="6000", days_ago=1)  # 30 days later: a 31-day span
    assert sweep_rules() == []
    third = mall.order(total="6000", days_ago=30)  # 29 days before the last one
    services.sweep()
    assert list(Flag.objects.values_list("order_id", flat=True)) != []
    assert Flag.objects.filter(rule="split").count() == 2  # 31→30 days ago, and 30→1 days ago
    assert Flag.objects.filter(order=third).exists()


def test_a_cancelled_order_does_not_count_towards_a_split(mall):
    mall.order(total="6000", days_ago=10, status="cancelled")
    mall.order(total="6000", days_ago=1)
    assert sweep_rules() == []


def test_a_split_made_through_the_cart_is_flagged_as_it_is_placed(mall):
    mall.order(total="9000", days_ago=3)
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=10)  # 1,100 -> 10,100 in the window
    orders, _ = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    flag = Flag.objects.get(rule="split")
    assert flag.order_id == orders[0].pk
    assert AuditEvent.objects.filter(object_type="mall.flag", object_id=str(flag.pk)).count() == 1


def test_the_sweep_is_idempotent(mall):
    mall.order(total="6000", days_ago=20)
    mall.order(total="6000", days_ago=1)
    assert services.sweep() == 1
    assert services.sweep() == 0
    assert Flag.objects.count() == 1


def test_the_window_is_configurable(mall):
    MallPolicy.objects.create(org_unit=mall.world.district, split_window_days=7)
    mall.order(total="6000", days_ago=10)
    mall.order(total="6000", days_ago=1)
    assert sweep_rules() == []


# --- clustered just under the limit (paper: limit 10,000; 3 orders within 10% below it in 30 days) ---------------

def cluster_flags():
    services.sweep()
    return list(Flag.objects.filter(rule="cluster").values_list("order_id", flat=True))


def test_three_orders_each_just_under_the_limit_in_the_window_are_a_cluster(mall):
    mall.order(total="9500", days_ago=25)
    mall.order(total="9000", days_ago=12)
    third = mall.order(total="9999.99", days_ago=2)
    assert cluster_flags() == [third.pk]
    flag = Flag.objects.get(rule="cluster")
    assert "有 3 笔订单金额均在 9,000.00 至 10,000.00 元之间" in flag.message
    assert "合计 28,499.99 元" in flag.message
    assert flag.params == {"window_days": 30, "limit": "10000.00", "within_pct": "10", "min_orders": 3, "orders": 3,
                           "sum": "28499.99", "first_day": str(timezone.localdate() - timedelta(days=25)),
                           "last_day": str(timezone.localdate() - timedelta(days=2))}
    assert Flag.objects.filter(rule="split").exists()  # the sum is over the limit too: its own flag


def test_a_cluster_is_flagged_even_when_the_window_sum_rule_does_not_fire(mall):
    MallPolicy.objects.create(org_unit=mall.world.district, cluster_pct=Decimal("60"))
    for days_ago in (20, 10, 1):
        mall.order(total="4000", days_ago=days_ago)  # 4,000 is within 60% under 10,000; the sum is 12,000
    services.sweep()
    assert Flag.objects.filter(rule="cluster").count() == 1


def test_one_order_just_outside_the_band_breaks_the_cluster(mall):
    mall.order(total="9500", days_ago=25)
    mall.order(total="8999.99", days_ago=12)  # 10.0001% under the limit
    mall.order(total="9900", days_ago=2)
    assert cluster_flags() == []


def test_an_order_at_the_limit_is_not_under_it(mall):
    mall.order(total="9500", days_ago=25)
    mall.order(total="10000", days_ago=12)
    mall.order(total="9900", days_ago=2)
    assert cluster_flags() == []


def test_two_orders_just_under_the_limit_are_not_yet_a_cluster(mall):
    mall.order(total="9500", days_ago=12)
    mall.order(total="9900", days_ago=2)
    assert cluster_flags() == []


def test_a_cluster_must_fall_in_one_window_and_one_category(mall):
    pens = services.category_create(actor=mall.world.admin, district=mall.world.district, code="A0902", name="签字笔",
                                    single_limit="10000")
    services.product_create(actor=mall.world.admin, category=pens, name="中性笔")
    mall.order(total="9500", days_ago=31)  # 30 days before the last: outside its 30-day window
    mall.order(total="9500", days_ago=12)
    mall.order(category=pens, total="9500", days_ago=5)
    mall.order(total="9900", days_ago=1)
    mall.order(unit=mall.world.street_b, total="9900", days_ago=1)
    mall.order(total="9900", days_ago=3, status="cancelled")
    assert cluster_flags() == []


def test_the_cluster_band_and_count_are_settings_refused_when_meaningless(mall):
    policy = services.policy_update(actor=mall.world.admin, district=mall.world.district, cluster_pct="5",
                                    cluster_count=2)
    assert (policy.cluster_pct, policy.cluster_count) == (Decimal("5"), 2)
    for bad in ({"cluster_count": 1}, {"cluster_pct": "100"}):
        with pytest.raises(ServiceError):
            services.policy_update(actor=mall.world.admin, district=mall.world.district, **bad)
    mall.order(total="9600", days_ago=12)  # within 5%
    mall.order(total="9400", days_ago=6)  # not within 5%
    second = mall.order(total="9700", days_ago=2)
    assert cluster_flags() == [second.pk]


# --- price above reference (paper reference 100.00; flag over 10%) ---------------------------------------

def test_a_price_more_than_10_percent_over_the_reference_is_flagged(mall):
    order = mall.order(total="110.01", product=mall.printer_paper)
    assert sweep_rules() == [("price", order.pk)]
    flag = Flag.objects.get()
    assert "单价 110.01 元，高于市场参考价 100.00 元" in flag.message and "超过 10% 的预警线" in flag.message
    assert flag.params["threshold_pct"] == "10"


def test_a_price_exactly_10_percent_over_the_reference_is_not_flagged(mall):
    mall.order(total="110.00", product=mall.printer_paper)
    assert sweep_rules() == []


def test_an_agreed_price_below_the_line_clears_nothing_already_flagged_but_raises_nothing_new(mall):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=1)  # 110.00: at the line
    orders, _ = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    assert Flag.objects.count() == 0


def test_an_order_is_judged_by_the_reference_in_force_when_it_was_placed(mall):
    """paper's reference is 100.00 from today; a lower one recorded later judges later orders only."""
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=1)  # 110.00: at the line for 100.00
    (before,), _ = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    services.reference_price_record(actor=mall.world.admin, product=mall.printer_paper, price="90.00",
                                    observed_on=timezone.localdate(), source="价格监测中心")
    assert sweep_rules() == []  # 110.00 was within 10% of the reference of its day (22% over 90.00)
    after = mall.order(total="100.00", product=mall.printer_paper)  # a later order, at 100.00 for 90.00
    assert sweep_rules() == [("price", after.pk)]
    assert "高于市场参考价 90.00 元（价格监测中心" in Flag.objects.get().message
    assert before.lines.get().reference.price == Decimal("100.00")


# --- outside the mall's categories ------------------------------------------------------------------------

def test_a_purchase_outside_the_mall_categories_is_flagged_and_a_mall_category_is_not(mall):
    other = services.category_create(actor=mall.world.admin, district=mall.world.district, code="C0101",
                                      name="物业管理服务", is_mall=False)
    services.product_create(actor=mall.world.admin, category=other, name="保洁服务")
    inside = mall.order(category=mall.pcs, total="3000")
    outside = mall.order(category=other, total="3000")
    assert sweep_rules() == [("outside", outside.pk)]
    assert inside.pk != outside.pk
    assert "不属于商城品目" in Flag.objects.get().message


# --- supplier concentration (60% of a unit's year, units spending at least 100,000) -------------------------

def test_one_supplier_taking_more_than_60_percent_of_a_units_spending_is_flagged(mall):
    for _ in range(7):
        mall.order(category=mall.pcs, total="10000", supplier=mall.supplier_x)
    for _ in range(3):
        mall.order(category=mall.pcs, total="10000", supplier=mall.supplier_y)
    services.sweep()
    flag = Flag.objects.get(rule="share")
    assert flag.supplier_id == mall.supplier_x.pk and flag.order_id is None
    assert "占 70,000.00 元（70.0%，7 笔），超过 60% 的集中度预警线" in flag.message


def test_exactly_60_percent_or_a_small_spender_is_not_flagged(mall):
    for _ in range(6):
        mall.order(category=mall.pcs, total="10000", supplier=mall.supplier_x)
    for _ in range(4):
        mall.order(category=mall.pcs, total="10000", supplier=mall.supplier_y)
    mall.order(unit=mall.world.street_b, category=mall.pcs, total="90000", supplier=mall.supplier_x)  # < 100,000
    services.sweep()
    assert not Flag.objects.filter(rule="share").exists()


# --- unusually frequent orders (more than 10 in 7 days, same unit and category) -------------------------------

def test_the_eleventh_order_in_seven_days_is_flagged_and_the_tenth_is_not(mall):
    orders = [mall.order(category=mall.pcs, total="100", days_ago=i % 7) for i in range(10)]
    assert sweep_rules() == []
    eleventh = mall.order(category=mall.pcs, total="100")
    services.sweep()
    flag = Flag.objects.get(rule="frequent")
    assert flag.order_id == eleventh.pk and "已下单 11 笔，超过 10 笔的频次上限" in flag.message
    assert len(orders) == 10


def test_orders_spread_over_more_than_seven_days_are_not_frequent(mall):
    for i in range(11):
        mall.order(category=mall.pcs, total="100", days_ago=i)  # 11 orders over 11 days
    assert sweep_rules() == []


# --- the sweep command ---------------------------------------------------------------------------------------

def test_the_sweep_command_reports_what_it_raised(mall, capsys):
    mall.order(total="6000", days_ago=20)
    mall.order(total="6000", days_ago=1)
    call_command("mall_sweep")
    assert "新增预警 1 条" in capsys.readouterr().out
    call_command("mall_sweep", since=str(timezone.localdate()))
    assert "新增预警 0 条" in capsys.readouterr().out


def test_the_sweep_runs_a_fixed_number_of_queries_whatever_the_number_of_orders(mall, django_assert_max_num_queries):
    for i in range(40):
        mall.order(total="100", days_ago=i)
    with django_assert_max_num_queries(20):
        services.sweep()
    assert Order.objects.count() == 40 and Category.objects.count() == 2
    assert Decimal(Flag.objects.count()) == 0
