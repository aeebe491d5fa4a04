from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from govdesk.core.errors import Conflict, Forbidden, NotInReach, ServiceError
from govdesk.core.models import AuditEvent, Todo
from govdesk.core.testing import assert_write_refused
from govdesk.mall import services
from govdesk.mall.models import Admission, CartLine, Offer, Order, UnitBudget

pytestmark = pytest.mark.django_db


def events(obj, **filters):
    return AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk), **filters)


def place(mall, buyer, offer, quantity=1, unit=None):
    services.cart_add(actor=buyer, offer=offer, quantity=quantity)
    orders, warnings = services.order_place(actor=buyer, unit=unit or mall.world.street_a)
    return orders[0], warnings


# --- catalogue ---------------------------------------------------------------------------------

def test_an_offer_far_above_the_reference_price_is_blocked_with_the_reason(mall):
    offer = services.offer_update(actor=mall.seller_x, offer=mall.paper_x, list_price="121.00")
    assert offer.status == Offer.Status.BLOCKED
    assert "挂牌价 121.00 元高于市场参考价 100.00 元" in offer.blocked_reason
    assert "超过允许的 20%" in offer.blocked_reason


def test_an_offer_exactly_at_the_markup_ceiling_is_listed(mall):
    offer = services.offer_update(actor=mall.seller_x, offer=mall.paper_x, list_price="120.00")
    assert offer.status == Offer.Status.LISTED and offer.blocked_reason == ""


def test_a_lower_reference_price_takes_offers_too_far_above_it_off_the_shelf(mall):
    services.reference_price_record(actor=mall.world.admin, product=mall.printer_paper, price="90.00",
                                    observed_on=timezone.localdate(), source="苏宁")
    mall.paper_x.refresh_from_db()
    mall.paper_y.refresh_from_db()
    assert mall.paper_x.status == Offer.Status.BLOCKED  # 110 > 108
    assert mall.paper_y.status == Offer.Status.LISTED  # 105 <= 108
    mall.printer_paper.refresh_from_db()
    assert mall.printer_paper.reference_price == Decimal("90.00")
    assert mall.printer_paper.reference_prices.count() == 2
    assert events(mall.paper_x, verb="block").count() == 1


def test_a_supplier_without_admission_cannot_offer(mall):
    services.admission_decide(actor=mall.world.admin, admission=Admission.objects.get(
        supplier=mall.supplier_y, category=mall.pcs), status="suspended", reason="质量投诉")
    with pytest.raises(ServiceError, match="尚未获准"):
        services.offer_save(actor=mall.seller_y, supplier=mall.supplier_y, product=mall.laptop, list_price="4000",
                            stock=1)


def test_suspending_an_admission_blocks_the_suppliers_offers_in_that_category(mall):
    admission = Admission.objects.get(supplier=mall.supplier_x, category=mall.paper)
    services.admission_decide(actor=mall.world.admin, admission=admission, status="suspended", reason="价格欺诈")
    mall.paper_x.refresh_from_db()
    mall.laptop_x.refresh_from_db()
    assert mall.paper_x.status == Offer.Status.BLOCKED and "未获准" in mall.paper_x.blocked_reason
    assert mall.laptop_x.status == Offer.Status.LISTED
    admission.refresh_from_db()
    assert admission.reason == "价格欺诈" and admission.decided_on == timezone.localdate()
    services.admission_decide(actor=mall.world.admin, admission=admission, status="admitted")
    mall.paper_x.refresh_from_db()
    assert mall.paper_x.status == Offer.Status.LISTED


def test_a_removal_needs_a_reason_and_is_final(mall):
    admission = Admission.objects.get(supplier=mall.supplier_x, category=mall.paper)
    with pytest.raises(ServiceError, match="请填写理由"):
        services.admission_decide(actor=mall.world.admin, admission=admission, status="removed")
    services.admission_decide(actor=mall.world.admin, admission=admission, status="removed", reason="围标")
    with pytest.raises(ServiceError):
        services.admission_decide(actor=mall.world.admin, admission=admission, status="admitted")


def test_a_supplier_cannot_decide_its_own_admission(mall):
    admission = Admission.objects.get(supplier=mall.supplier_x, category=mall.paper)
    assert_write_refused(lambda: services.admission_decide(actor=mall.seller_x, admission=admission,
                                                           status="suspended", reason="x"), models=[Admission])


def test_a_supplier_cannot_change_another_suppliers_offer(mall):
    assert_write_refused(lambda: services.offer_update(actor=mall.seller_y, offer=mall.paper_x, list_price="1"),
                         models=[Offer])
    mall.paper_x.refresh_from_db()
    assert mall.paper_x.list_price == Decimal("110.00")


# --- ordering -------------------------------------------------------------------------------------

def test_placing_the_cart_makes_one_order_per_supplier_and_category_and_takes_stock(mall):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=3)
    services.cart_add(actor=mall.buyer_a, offer=mall.laptop_x, quantity=1)
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_y, quantity=2)
    orders, warnings = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    assert warnings == []
    assert sorted(o.total for o in orders) == [Decimal("210.00"), Decimal("330.00"), Decimal("5000.00")]
    assert CartLine.objects.filter(user=mall.buyer_a).count() == 0
    mall.paper_x.refresh_from_db()
    assert mall.paper_x.stock == 997
    for order in orders:
        assert events(order).count() == 1
    assert Todo.objects.filter(user=mall.seller_x, kind=services.TODO_CONFIRM, done_at=None).count() == 2


def test_an_order_over_the_single_purchase_limit_is_refused_and_nothing_is_written(mall):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=91)  # 10,010 > 10,000
    with pytest.raises(ServiceError, match="超过单次采购限额 10,000.00 元"):
        services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    assert Order.objects.count() == 0
    assert CartLine.objects.filter(user=mall.buyer_a).count() == 1


def test_the_annual_running_total_per_unit_and_category_counts(mall):
    mall.paper.annual_limit = Decimal("12000")
    mall.paper.save()
    mall.order(total="9000")
    mall.order(unit=mall.world.street_b, total="9000")  # another unit does not count
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=27)  # 2,970 -> 11,970: allowed
    services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=1)  # 12,080 > 12,000
    with pytest.raises(ServiceError, match="年度累计限额"):
        services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)


def test_a_stopping_budget_refuses_and_a_warning_budget_warns(mall):
    budget = UnitBudget.objects.create(org_unit=mall.world.street_a, year=timezone.localdate().year,
                                       amount=Decimal("200"), mode=UnitBudget.Mode.STOP)
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=2)
    with pytest.raises(ServiceError, match="将超出预算"):
        services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    budget.mode = UnitBudget.Mode.WARN
    budget.save()
    orders, warnings = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    assert len(orders) == 1 and "将超出预算" in warnings[0]


def test_more_than_the_stock_cannot_be_ordered(mall):
    services.cart_add(actor=mall.buyer_a, offer=mall.laptop_x, quantity=51)
    with pytest.raises(ServiceError, match="库存不足"):
        services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)


def test_a_purchaser_cannot_order_for_another_unit(mall):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x)
    assert_write_refused(lambda: services.order_place(actor=mall.buyer_a, unit=mall.world.street_b), models=[Order])


def test_the_lifecycle_runs_placed_confirmed_shipped_accepted_settled_each_audited_once(mall):
    order, _ = place(mall, mall.buyer_a, mall.paper_x, 2)
    services.order_confirm(actor=mall.seller_x, order=order)
    services.order_ship(actor=mall.seller_x, order=order)
    assert Todo.objects.filter(user=mall.buyer_a, kind=services.TODO_ACCEPT, done_at=None).count() == 1
    services.order_accept(actor=mall.buyer_a, order=order, rating=5, note="按时送达")
    order = services.order_settle(actor=mall.buyer_a, order=order)
    assert order.status == Order.Status.SETTLED
    order.refresh_from_db()
    assert order.rating == 5 and order.confirmed_at and order.shipped_at and order.accepted_at and order.settled_at
    verbs = list(events(order).order_by("seq").values_list("verb", flat=True))
    assert verbs == ["", "confirm", "ship", "accept", "settle"]
    assert Todo.objects.filter(user=mall.buyer_a, done_at=None).count() == 0
    assert Todo.objects.filter(user=mall.seller_x, done_at=None).count() == 0


def test_transitions_follow_the_rules(mall):
    order, _ = place(mall, mall.buyer_a, mall.paper_x)
    with pytest.raises(Conflict, match="不能发货"):
        services.order_ship(actor=mall.seller_x, order=order)
    with pytest.raises(Forbidden, match="只有本订单的供应商"):
        services.order_confirm(actor=mall.buyer_a, order=order)
    with pytest.raises(ServiceError, match="1–5"):
        services.order_accept(actor=mall.buyer_a, order=order, rating=9)
    with pytest.raises(Conflict):
        services.order_accept(actor=mall.buyer_a, order=order, rating=4)


def test_a_supplier_of_another_order_gets_404_not_403(mall):
    order, _ = place(mall, mall.buyer_a, mall.paper_x)
    assert_write_refused(lambda: services.order_confirm(actor=mall.seller_y, order=order),
                         models=[Order], expect=services.NotInReach)


def test_cancelling_needs_a_reason_and_gives_the_stock_back(mall):
    order, _ = place(mall, mall.buyer_a, mall.paper_x, 5)
    with pytest.raises(ServiceError, match="取消原因"):
        services.order_cancel(actor=mall.buyer_a, order=order, reason=" ")
    services.order_cancel(actor=mall.buyer_a, order=order, reason="需求变更")
    order.refresh_from_db()
    mall.paper_x.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and order.cancel_reason == "需求变更"
    assert mall.paper_x.stock == 1000


def test_unconfirmed_orders_are_cancelled_after_the_time_limit(mall):
    old, _ = place(mall, mall.buyer_a, mall.paper_x)
    Order.objects.filter(pk=old.pk).update(sent_at=timezone.now() - timedelta(days=3, minutes=1))
    fresh, _ = place(mall, mall.buyer_a, mall.paper_y)
    confirmed, _ = place(mall, mall.buyer_a, mall.laptop_x)
    services.order_confirm(actor=mall.seller_x, order=confirmed)
    Order.objects.filter(pk=confirmed.pk).update(sent_at=timezone.now() - timedelta(days=10))
    assert services.orders_autocancel() == 1
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "cancelled", fresh.pk: "placed", confirmed.pk: "confirmed"}
    assert events(old, verb="autocancel").count() == 1
    assert services.orders_autocancel() == 0


def test_the_autocancel_command_expires_negotiations_then_cancels_stale_orders(mall, capsys):
    from django.core.management import call_command

    from govdesk.mall.models import Negotiation

    order, _ = place(mall, mall.buyer_a, mall.paper_x, 10)
    stale, _ = place(mall, mall.buyer_a, mall.paper_y)
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    Negotiation.objects.filter(pk=n.pk).update(deadline=timezone.now() - timedelta(hours=1))
    Order.objects.filter(pk__in=[order.pk, stale.pk]).update(sent_at=timezone.now() - timedelta(days=4))
    call_command("mall_autocancel")
    assert "已关闭过期议价 1 个，自动取消订单 1 笔" in capsys.readouterr().out
    order.refresh_from_db(), stale.refresh_from_db()
    assert stale.status == Order.Status.CANCELLED and "3 天未确认" in stale.cancel_reason
    # back from the negotiation, the order waits for the supplier again: the clock restarts
    assert order.status == Order.Status.PLACED
    Negotiation.objects.filter(pk=n.pk).update(closed_at=timezone.now() - timedelta(days=3, minutes=1))
    call_command("mall_autocancel")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and "3 天未确认" in order.cancel_reason


def test_an_order_whose_price_was_just_agreed_is_not_cancelled_for_the_days_of_the_negotiation(mall):

    order, _ = place(mall, mall.buyer_a, mall.paper_x, 10)
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now() - timedelta(days=2))
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1)
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED and order.total == Decimal("900.00")
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now() - timedelta(days=3, minutes=1))
    assert services.orders_autocancel() == 0  # agreed a moment ago: the supplier has its three days
    services.order_confirm(actor=mall.seller_x, order=order)
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED


def test_a_withdrawn_offer_stays_off_the_shelf_when_its_price_or_stock_changes(mall):
    services.offer_withdraw(actor=mall.seller_x, offer=mall.paper_x, reason="换季")
    offer = services.offer_update(actor=mall.seller_x, offer=mall.paper_x, list_price="99.00", stock=5)
    assert (offer.status, offer.list_price, offer.stock) == (Offer.Status.WITHDRAWN, Decimal("99.00"), 5)
    with pytest.raises(NotInReach):  # out of the catalogue: purchasers no longer find it
        services.cart_add(actor=mall.buyer_a, offer=offer)
    offer = services.offer_relist(actor=mall.seller_x, offer=offer)
    assert offer.status == Offer.Status.LISTED
    with pytest.raises(Conflict):
        services.offer_relist(actor=mall.seller_x, offer=offer)
