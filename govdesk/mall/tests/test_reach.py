"""Who sees what: a purchaser its unit's orders, a supplier its own, a supervisor all
(changing nothing), units and suppliers nothing of the supervision queue."""

import pytest

from govdesk.core.errors import Forbidden
from govdesk.core.reach import CHANGE
from govdesk.core.testing import assert_visible_set, assert_write_refused
from govdesk.mall import services
from govdesk.mall.models import Admission, Bid, Category, Flag, Negotiation, Offer, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(mall):
    """Street A buys from X (with a negotiation) and Y; street B buys from X."""
    a_x = mall.order(supplier=mall.supplier_x)
    a_y = mall.order(supplier=mall.supplier_y)
    b_x = mall.order(unit=mall.world.street_b, supplier=mall.supplier_x)
    return a_x, a_y, b_x


def test_orders_are_seen_by_the_purchasing_unit_and_the_supplier(mall, orders):
    a_x, a_y, b_x = orders
    w = mall.world
    assert_visible_set(Order, mall.buyer_a, [a_x, a_y])
    assert_visible_set(Order, mall.buyer_b, [b_x])
    assert_visible_set(Order, mall.seller_x, [a_x, b_x])
    assert_visible_set(Order, mall.seller_y, [a_y])
    assert_visible_set(Order, w.officer_a, [a_x, a_y])
    assert_visible_set(Order, w.supervisor, [a_x, a_y, b_x])
    assert_visible_set(Order, w.admin, [a_x, a_y, b_x])
    assert_visible_set(Order, w.dept_officer, [])
    assert_visible_set(Order, w.outsider, [])


def test_only_purchasers_and_suppliers_may_change_orders(mall, orders):
    a_x, a_y, b_x = orders
    assert_visible_set(Order, mall.buyer_a, [a_x, a_y], CHANGE)
    assert_visible_set(Order, mall.seller_x, [a_x, b_x], CHANGE)
    assert_visible_set(Order, mall.world.supervisor, [], CHANGE)
    assert_visible_set(Order, mall.world.officer_a, [], CHANGE)


def test_a_supervisor_sees_every_order_and_changes_none(mall, orders):
    a_x = orders[0]
    for call in (lambda: services.order_confirm(actor=mall.world.supervisor, order=a_x),
                 lambda: services.order_cancel(actor=mall.world.supervisor, order=a_x, reason="督查"),
                 lambda: services.negotiation_open(actor=mall.world.supervisor, order=a_x, total="1")):
        assert_write_refused(call, models=[Order, Negotiation], expect=Forbidden)
    a_x.refresh_from_db()
    assert a_x.status == Order.Status.PLACED


def test_a_purchaser_of_another_unit_is_refused_as_if_the_order_did_not_exist(mall, orders):
    b_x = orders[2]
    assert_write_refused(lambda: services.order_cancel(actor=mall.buyer_a, order=b_x, reason="x"), models=[Order])
    assert_write_refused(lambda: services.negotiation_open(actor=mall.buyer_a, order=b_x, total="1"),
                         models=[Negotiation])


def test_negotiations_and_bids_follow_their_order(mall):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=5)
    order = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)[0][0]
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="500")
    for user, expected in ((mall.buyer_a, [n]), (mall.seller_x, [n]), (mall.seller_y, []), (mall.buyer_b, []),
                           (mall.world.supervisor, [n])):
        assert_visible_set(Negotiation, user, expected)
        assert_visible_set(Bid, user, list(n.bids.all()) if expected else [])


def test_a_supplier_manages_only_its_own_offers_but_everyone_sees_listed_ones(mall):
    services.offer_update(actor=mall.seller_y, offer=mall.paper_y, list_price="200")  # blocked by the listing rule
    assert_visible_set(Offer, mall.seller_x, [mall.paper_x, mall.laptop_x], CHANGE)
    assert_visible_set(Offer, mall.seller_y, [mall.paper_y], CHANGE)
    assert_visible_set(Offer, mall.buyer_a, [mall.paper_x, mall.laptop_x])  # the blocked offer is not shown
    assert_visible_set(Offer, mall.seller_x, [mall.paper_x, mall.laptop_x])
    assert_visible_set(Offer, mall.seller_y, [mall.paper_x, mall.paper_y, mall.laptop_x])
    assert_visible_set(Offer, mall.world.outsider, [])


def test_the_catalogue_is_read_by_every_member_of_the_district(mall):
    for user in (mall.buyer_a, mall.seller_x, mall.world.officer_b, mall.world.supervisor):
        assert_visible_set(Category, user, [mall.paper, mall.pcs])
    assert_visible_set(Category, mall.world.outsider, [])
    assert_visible_set(Category, mall.buyer_a, [], CHANGE)
    assert_visible_set(Category, mall.world.admin, [mall.paper, mall.pcs], CHANGE)


def test_admissions_are_seen_by_their_supplier_and_the_district_only(mall):
    own_x = list(Admission.objects.filter(supplier=mall.supplier_x))
    assert_visible_set(Admission, mall.seller_x, own_x)
    assert_visible_set(Admission, mall.buyer_a, [])
    assert_visible_set(Admission, mall.world.supervisor, list(Admission.objects.all()))


def test_the_supervision_queue_is_invisible_to_units_and_suppliers(mall, orders):
    mall.order(total="9500", days_ago=1)  # with the 1,000 of orders[0]: over the 10,000 limit
    services.sweep()
    flags = list(Flag.objects.all())
    assert flags
    assert_visible_set(Flag, mall.world.supervisor, flags)
    assert_visible_set(Flag, mall.world.admin, flags)
    for user in (mall.buyer_a, mall.seller_x, mall.world.officer_a, mall.world.dept_officer):
        assert_visible_set(Flag, user, [])
    assert_write_refused(lambda: services.flag_review(actor=mall.buyer_a, flag=flags[0], status="closed", note="x"),
                         models=[Flag])


def test_supervisors_review_close_and_escalate_flags(mall, orders):
    mall.order(total="9500", days_ago=1)
    services.sweep()
    flag = Flag.objects.get()
    services.flag_review(actor=mall.world.supervisor, flag=flag, status="reviewing")
    with pytest.raises(services.ServiceError, match="核查意见"):
        services.flag_review(actor=mall.world.supervisor, flag=flag, status="escalated")
    services.flag_review(actor=mall.world.supervisor, flag=flag, status="escalated", note="移交纪委监委")
    flag = services.flag_review(actor=mall.world.supervisor, flag=flag, status="closed", note="已约谈整改")
    assert flag.status == "closed" and flag.note == "已约谈整改" and flag.closed_at
    with pytest.raises(services.Conflict):
        services.flag_review(actor=mall.world.supervisor, flag=flag, status="reviewing")
