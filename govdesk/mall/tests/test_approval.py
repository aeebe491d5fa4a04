"""Internal approval: the purchaser (经办) places, an officer of the unit (审核) approves."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from govdesk.core.errors import Conflict, Forbidden, ServiceError
from govdesk.core.models import Todo
from govdesk.core.testing import assert_write_refused
from govdesk.mall import services
from govdesk.mall.models import ApprovalRule, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(mall):
    return services.approval_rule_set(actor=mall.world.officer_a, unit=mall.world.street_a, threshold="1000")


def place(mall, quantity):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=quantity)
    return services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)[0][0]


def test_an_order_above_the_threshold_waits_for_the_units_officer(mall, rule):
    order = place(mall, 10)  # 1,100 > 1,000
    assert order.status == Order.Status.PENDING
    assert Todo.objects.filter(user=mall.world.officer_a, kind=services.TODO_APPROVE, done_at=None).count() == 1
    assert not Todo.objects.filter(user=mall.seller_x, done_at=None).exists()
    with pytest.raises(Conflict):
        services.order_confirm(actor=mall.seller_x, order=order)
    services.order_approve(actor=mall.world.officer_a, order=order)
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED and order.approved_by == mall.world.officer_a
    assert Todo.objects.filter(user=mall.seller_x, kind=services.TODO_CONFIRM, done_at=None).count() == 1
    assert Todo.objects.filter(user=mall.world.officer_a, done_at=None).count() == 0
    services.order_confirm(actor=mall.seller_x, order=order)


def test_an_order_at_the_threshold_goes_straight_to_the_supplier(mall, rule):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_y, quantity=8)  # 840
    order = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)[0][0]
    assert order.status == Order.Status.PLACED


def test_the_purchaser_cannot_approve_and_other_streets_officers_cannot_see_it(mall, rule):
    order = place(mall, 10)
    assert_write_refused(lambda: services.order_approve(actor=mall.buyer_a, order=order), models=[Order],
                         expect=Forbidden)
    assert_write_refused(lambda: services.order_approve(actor=mall.world.officer_b, order=order), models=[Order])
    assert_write_refused(lambda: services.order_approve(actor=mall.world.supervisor, order=order), models=[Order],
                         expect=Forbidden)


def test_a_declined_order_is_cancelled_with_the_reason_and_gives_the_stock_back(mall, rule):
    order = place(mall, 10)
    with pytest.raises(ServiceError, match="退回理由"):
        services.order_approve(actor=mall.world.officer_a, order=order, approve=False)
    services.order_approve(actor=mall.world.officer_a, order=order, approve=False, reason="预算已用完")
    order.refresh_from_db()
    mall.paper_x.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and order.cancel_reason == "单位审核未通过：预算已用完"
    assert mall.paper_x.stock == 1000


def test_the_suppliers_clock_starts_at_approval(mall, rule):
    order = place(mall, 10)
    Order.objects.filter(pk=order.pk).update(placed_at=timezone.now() - timedelta(days=5))
    assert services.orders_autocancel() == 0  # pending: not with the supplier yet
    services.order_approve(actor=mall.world.officer_a, order=order)
    order.refresh_from_db()
    assert order.sent_at == order.approved_at
    assert services.orders_autocancel() == 0
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now() - timedelta(days=4))
    assert services.orders_autocancel() == 1


def test_only_the_units_officers_set_the_threshold(mall, client_for):
    assert_write_refused(lambda: services.approval_rule_set(actor=mall.buyer_a, unit=mall.world.street_a,
                                                            threshold="1"), models=[ApprovalRule], expect=Forbidden)
    client = client_for(mall.world.officer_a)
    client.post(reverse("mall:approvals"), {"unit": mall.world.street_a.pk, "threshold": "2000"})
    assert ApprovalRule.objects.get(org_unit=mall.world.street_a).threshold == 2000
    client.post(reverse("mall:approvals"), {"unit": mall.world.street_a.pk, "threshold": ""})
    assert not ApprovalRule.objects.exists()
    response = client.post(reverse("mall:approvals"), {"unit": mall.world.street_b.pk, "threshold": "1"})
    assert response.status_code == 404


def test_the_officer_approves_through_the_order_page(mall, rule, client_for):
    order = place(mall, 10)
    page = client_for(mall.world.officer_a).get(reverse("mall:order", args=[order.pk])).content.decode()
    assert "审核通过" in page
    assert "审核通过" not in client_for(mall.buyer_a).get(reverse("mall:order", args=[order.pk])).content.decode()
    client_for(mall.world.officer_a).post(reverse("mall:order_action", args=[order.pk, "approve"]))
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED


def test_the_supplier_sees_an_order_only_once_the_unit_has_approved_it(mall, rule, client_for):
    from govdesk.mall import queries

    waiting, declined = place(mall, 10), place(mall, 12)
    services.order_approve(actor=mall.world.officer_a, order=declined, approve=False, reason="内部预算另有安排")
    seller = client_for(mall.seller_x)
    for order in (waiting, declined):
        assert seller.get(reverse("mall:order", args=[order.pk])).status_code == 404
        assert seller.get(f"/api/v1/mall/orders/{order.pk}").status_code == 404
    listing = seller.get(reverse("mall:orders")).content.decode()
    assert waiting.number not in listing and "内部预算另有安排" not in listing
    assert queries.figures(mall.seller_x)["orders"] == 0  # nor in its figures
    assert client_for(mall.buyer_a).get(reverse("mall:order", args=[waiting.pk])).status_code == 200
    services.order_approve(actor=mall.world.officer_a, order=waiting)
    assert seller.get(reverse("mall:order", args=[waiting.pk])).status_code == 200
    figures = queries.figures(mall.seller_x)
    assert (figures["orders"], figures["amount"]) == (1, waiting.total)
    assert figures == queries.figures_live(mall.seller_x)
