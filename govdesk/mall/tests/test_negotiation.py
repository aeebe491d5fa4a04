import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from govdesk.core.errors import Conflict, Forbidden, NotInReach, ServiceError
from govdesk.core.models import AuditEvent, Todo
from govdesk.core.reach import Role
from govdesk.core.testing import assert_write_refused
from govdesk.mall import services
from govdesk.mall.models import Bid, Negotiation, Order, OrderLine

from .conftest import build_mall

pytestmark = pytest.mark.django_db


def placed(mall, *items):
    for offer, quantity in items or ((mall.paper_x, 10),):
        services.cart_add(actor=mall.buyer_a, offer=offer, quantity=quantity)
    orders, _ = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    return orders[0]


def audit_count(negotiation):
    return AuditEvent.objects.filter(object_type="mall.negotiation", object_id=str(negotiation.pk)).count()


def test_counter_offer_rounds_end_in_an_agreement_that_binds_the_order(mall):
    order = placed(mall)  # 10 x 110.00 = 1,100.00
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="950")
    order.refresh_from_db()
    assert order.status == Order.Status.NEGOTIATING
    assert Todo.objects.filter(user=mall.seller_x, kind=services.TODO_NEGOTIATE, done_at=None).count() == 1
    n = services.negotiation_counter(actor=mall.seller_x, negotiation=n, expected_round=1, total="1050")
    assert Todo.objects.filter(user=mall.seller_x, kind=services.TODO_NEGOTIATE, done_at=None).count() == 0
    assert Todo.objects.filter(user=mall.buyer_a, kind=services.TODO_NEGOTIATE, done_at=None).count() == 1
    n = services.negotiation_counter(actor=mall.buyer_a, negotiation=n, expected_round=2, total="1000")
    n = services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=3)
    assert n.status == Negotiation.Status.AGREED and n.agreed_total == Decimal("1000.00")
    order.refresh_from_db()
    assert (order.status, order.total, order.savings) == (Order.Status.PLACED, Decimal("1000.00"), Decimal("100.00"))
    assert OrderLine.objects.get(order=order).amount == Decimal("1000.00")
    assert list(n.bids.values_list("round", "side", "action", "total")) == [
        (1, "purchaser", "offer", Decimal("950.00")), (2, "supplier", "counter", Decimal("1050.00")),
        (3, "purchaser", "offer", Decimal("1000.00")), (4, "supplier", "accept", Decimal("1000.00"))]
    assert audit_count(n) == 4
    price_change = AuditEvent.objects.get(object_type="mall.order", object_id=str(order.pk), verb="agreed_price")
    assert price_change.changes["total"] == ["1100.00", "1000.00"]
    assert Todo.objects.filter(kind=services.TODO_NEGOTIATE, done_at=None).count() == 0
    services.order_confirm(actor=mall.seller_x, order=order)


def test_the_purchaser_can_accept_the_suppliers_counter(mall):
    order = placed(mall)
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    n = services.negotiation_counter(actor=mall.seller_x, negotiation=n, expected_round=1, total="1000")
    services.negotiation_accept(actor=mall.buyer_a, negotiation=n, expected_round=2)
    order.refresh_from_db()
    assert order.total == Decimal("1000.00") and order.savings == Decimal("100.00")


def test_a_per_line_offer_binds_each_line(mall):
    services.cart_add(actor=mall.buyer_a, offer=mall.laptop_x, quantity=2)
    order, _ = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    order = order[0]
    line = order.lines.get()
    n = services.negotiation_open(actor=mall.buyer_a, order=order, line_amounts={str(line.pk): "9500.00"})
    services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1)
    line.refresh_from_db()
    assert line.amount == Decimal("9500.00") and line.unit_price == Decimal("4750.00")


def test_a_total_spread_over_lines_never_exceeds_any_lines_list_amount(mall):
    services.cart_add(actor=mall.buyer_a, offer=mall.laptop_x, quantity=3)
    order, _ = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    order = order[0]
    amounts = services._allocate(order, Decimal("14999.99"), {})
    assert sum(amounts.values()) == Decimal("14999.99")
    assert all(a <= line.list_amount for line in order.lines.all() for a in [amounts[line.pk]])


def test_an_offer_at_or_above_list_price_is_refused(mall):
    order = placed(mall)
    with pytest.raises(ServiceError, match="应低于挂牌总价"):
        services.negotiation_open(actor=mall.buyer_a, order=order, total="1100.00")
    line = order.lines.get()
    with pytest.raises(ServiceError, match="不能高于挂牌金额"):
        services.negotiation_open(actor=mall.buyer_a, order=order, line_amounts={str(line.pk): "1100.01"})
    assert Negotiation.objects.count() == 0


def test_counters_must_move_towards_each_other(mall):
    order = placed(mall)
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    with pytest.raises(ServiceError, match="应高于采购人出价"):
        services.negotiation_counter(actor=mall.seller_x, negotiation=n, expected_round=1, total="900")
    with pytest.raises(ServiceError, match="应低于您上次的报价"):
        services.negotiation_counter(actor=mall.seller_x, negotiation=n, expected_round=1, total="1100")
    n = services.negotiation_counter(actor=mall.seller_x, negotiation=n, expected_round=1, total="1000")
    with pytest.raises(ServiceError, match="应低于供应商报价"):
        services.negotiation_counter(actor=mall.buyer_a, negotiation=n, expected_round=2, total="1000")


def test_only_the_side_whose_turn_it_is_may_answer(mall):
    order = placed(mall)
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    with pytest.raises(Forbidden, match="现在轮到供应商"):
        services.negotiation_accept(actor=mall.buyer_a, negotiation=n, expected_round=1)
    assert_write_refused(lambda: services.negotiation_accept(actor=mall.world.supervisor, negotiation=n,
                                                             expected_round=1), models=[Bid, Negotiation])
    assert_write_refused(lambda: services.negotiation_accept(actor=mall.seller_y, negotiation=n, expected_round=1),
                         models=[Bid, Negotiation])


def test_a_stale_round_is_refused_so_a_double_submit_counts_once(mall):
    order = placed(mall)
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    services.negotiation_counter(actor=mall.seller_x, negotiation=n, expected_round=1, total="1000")
    with pytest.raises(Conflict, match="请刷新"):
        services.negotiation_counter(actor=mall.seller_x, negotiation=n, expected_round=1, total="1000")
    assert n.bids.count() == 2


def test_a_second_negotiation_cannot_open_while_one_is_running_or_after_agreement(mall):
    order = placed(mall)
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    with pytest.raises(Conflict):
        services.negotiation_open(actor=mall.buyer_a, order=order, total="800")
    services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1)
    with pytest.raises(Conflict, match="已议价成交"):
        services.negotiation_open(actor=mall.buyer_a, order=order, total="800")


def test_rejection_ends_it_at_list_price_and_a_new_one_may_start(mall):
    order = placed(mall)
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="500")
    services.negotiation_reject(actor=mall.seller_x, negotiation=n, expected_round=1, note="低于成本")
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED and order.total == Decimal("1100.00")
    n.refresh_from_db()
    assert n.status == Negotiation.Status.REJECTED and n.bids.last().note == "低于成本"
    services.negotiation_open(actor=mall.buyer_a, order=order, total="1000")


def test_the_purchaser_withdraws_at_any_turn_but_the_supplier_cannot(mall):
    order = placed(mall)
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    with pytest.raises(Forbidden):
        services.negotiation_withdraw(actor=mall.seller_x, negotiation=n)
    services.negotiation_withdraw(actor=mall.buyer_a, negotiation=n)
    n.refresh_from_db()
    order.refresh_from_db()
    assert n.status == Negotiation.Status.WITHDRAWN and order.status == Order.Status.PLACED
    assert Todo.objects.filter(kind=services.TODO_NEGOTIATE, done_at=None).count() == 0


def test_a_negotiation_past_its_deadline_expires_and_cannot_be_answered(mall):
    order = placed(mall)
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    Negotiation.objects.filter(pk=n.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    with pytest.raises(Conflict, match="截止时间"):
        services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1)
    assert services.expire_negotiations() == 1
    n.refresh_from_db()
    order.refresh_from_db()
    assert n.status == Negotiation.Status.EXPIRED and order.status == Order.Status.PLACED
    assert list(n.bids.values_list("action", flat=True)) == ["offer", "expire"]
    assert audit_count(n) == 2
    assert services.expire_negotiations() == 0


def test_the_supplier_cannot_confirm_while_negotiating(mall):
    order = placed(mall)
    services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    with pytest.raises(Conflict, match="议价中"):
        services.order_confirm(actor=mall.seller_x, order=order)


def test_cancelling_an_order_withdraws_its_negotiation(mall):
    order = placed(mall)
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    services.order_cancel(actor=mall.seller_x, order=order, reason="缺货")
    n.refresh_from_db()
    assert n.status == Negotiation.Status.WITHDRAWN


# --- concurrency on PostgreSQL: real threads, separate connections ----------------------------------------

def _race(*calls):
    """Run the calls at the same moment, each on its own connection; return results/errors."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as e:  # noqa: BLE001 - the outcome is what the test inspects
            results[i] = e
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def pg_mall(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/govdesk_dev")
    from govdesk.conftest import build_world
    return build_mall(build_world())


@pytest.mark.django_db(transaction=True)
def test_both_sides_clicking_at_once_never_make_two_agreements_or_lose_an_offer(pg_mall):
    mall = pg_mall
    for _ in range(5):
        order = placed(mall)
        n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
        n = services.negotiation_counter(actor=mall.seller_x, negotiation=n, expected_round=1, total="1000")
        # the purchaser accepts the counter while the purchaser's colleague double-submits a new offer
        results = _race(
            lambda n=n: services.negotiation_accept(actor=mall.buyer_a, negotiation=n, expected_round=2),
            lambda n=n: services.negotiation_counter(actor=mall.buyer_a, negotiation=n, expected_round=2,
                                                     total="950"),
            lambda n=n: services.negotiation_counter(actor=mall.buyer_a, negotiation=n, expected_round=2,
                                                     total="950"),
        )
        winners = [r for r in results if isinstance(r, Negotiation)]
        losers = [r for r in results if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 2, results
        n.refresh_from_db()
        rounds = list(n.bids.values_list("round", flat=True))
        assert rounds == [1, 2, 3]  # exactly one third step, nothing lost, nothing doubled
        assert Negotiation.objects.filter(order=order, status="agreed").count() <= 1
        audits = AuditEvent.objects.filter(object_type="mall.negotiation", object_id=str(n.pk)).count()
        assert audits == 3


@pytest.mark.django_db(transaction=True)
def test_two_accepts_at_once_produce_one_agreement(pg_mall):
    mall = pg_mall
    order = placed(mall)
    n = services.negotiation_open(actor=mall.buyer_a, order=order, total="900")
    results = _race(*[lambda: services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1)
                      for _ in range(4)])
    assert sum(isinstance(r, Negotiation) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 3
    assert Negotiation.objects.filter(order=order, status="agreed").count() == 1
    order.refresh_from_db()
    assert order.total == Decimal("900.00") and order.savings == Decimal("200.00")
    assert Bid.objects.filter(negotiation=n, action="accept").count() == 1


# --- on a cart, before the order is placed -------------------------------------------------------------------

def cart_offer(mall, total="950", quantity=10, **kwargs):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=quantity)  # 10 x 110.00 = 1,100.00
    return services.cart_negotiation_open(actor=mall.buyer_a, supplier=mall.supplier_x, category=mall.paper,
                                          total=total, **kwargs)


def place_cart(mall):
    return services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)[0]


def test_a_cart_agreement_binds_the_order_placed_from_it(mall):
    services.cart_add(actor=mall.buyer_a, offer=mall.laptop_x, quantity=1)  # another group: stays at list price
    n = cart_offer(mall)
    assert (n.order_id, n.list_total, n.bid_total, n.turn) == (None, Decimal("1100.00"), Decimal("950.00"), "supplier")
    assert Todo.objects.filter(user=mall.seller_x, kind=services.TODO_NEGOTIATE, done_at=None,
                               url=f"/mall/negotiations/{n.pk}/").count() == 1
    n = services.negotiation_counter(actor=mall.seller_x, negotiation=n, expected_round=1, total="1050")
    n = services.negotiation_counter(actor=mall.buyer_a, negotiation=n, expected_round=2, total="1000")
    n = services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=3)
    assert n.status == "agreed" and n.agreed_total == Decimal("1000.00") and n.basket[0]["agreed"] == "1000.00"
    orders = place_cart(mall)
    paper = next(o for o in orders if o.category_id == mall.paper.pk)
    laptop = next(o for o in orders if o.category_id == mall.pcs.pk)
    assert (paper.list_total, paper.total, paper.savings) == (Decimal("1100.00"), Decimal("1000.00"), Decimal("100.00"))
    assert OrderLine.objects.get(order=paper).amount == Decimal("1000.00")
    assert (laptop.total, laptop.savings) == (Decimal("5000.00"), Decimal("0.00"))
    n.refresh_from_db()
    assert n.order_id == paper.pk
    assert list(n.bids.values_list("round", "side", "action")) == [
        (1, "purchaser", "offer"), (2, "supplier", "counter"), (3, "purchaser", "offer"), (4, "supplier", "accept")]
    with pytest.raises(Conflict, match="已议价成交"):  # the price is settled: no second negotiation on the order
        services.negotiation_open(actor=mall.buyer_a, order=paper, total="900")
    created = AuditEvent.objects.get(object_type="mall.order", object_id=str(paper.pk), action="create")
    assert created.changes["negotiation"] == n.pk and created.changes["total"] == "1000.00"


def test_a_per_line_offer_on_a_cart_names_offers_and_binds_each_line(mall):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=2)  # 220.00
    n = services.cart_negotiation_open(actor=mall.buyer_a, supplier=mall.supplier_x, category=mall.paper,
                                       line_amounts={str(mall.paper_x.pk): "200.00"})
    services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1)
    order = place_cart(mall)[0]
    assert OrderLine.objects.get(order=order).amount == Decimal("200.00") and order.savings == Decimal("20.00")
    with pytest.raises(ServiceError, match="不能高于挂牌金额"):
        services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=1)
        services.cart_negotiation_open(actor=mall.buyer_a, supplier=mall.supplier_x, category=mall.paper,
                                       line_amounts={str(mall.paper_x.pk): "110.01"})


def test_a_cart_offer_at_or_above_list_or_on_an_empty_group_changes_nothing(mall):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=10)
    for bad in ("1100", "1200", "0", "abc"):
        with pytest.raises(ServiceError):
            services.cart_negotiation_open(actor=mall.buyer_a, supplier=mall.supplier_x, category=mall.paper,
                                           total=bad)
    with pytest.raises(ServiceError, match="购物车中没有"):
        services.cart_negotiation_open(actor=mall.buyer_a, supplier=mall.supplier_y, category=mall.paper, total="1")
    assert Negotiation.objects.count() == 0
    n = services.cart_negotiation_open(actor=mall.buyer_a, supplier=mall.supplier_x, category=mall.paper,
                                       total="1000")
    with pytest.raises(Conflict, match="已有进行中"):
        services.cart_negotiation_open(actor=mall.buyer_a, supplier=mall.supplier_x, category=mall.paper,
                                       total="1000")
    assert Negotiation.objects.get().pk == n.pk


def test_an_order_cannot_be_placed_while_its_cart_is_being_negotiated(mall):
    n = cart_offer(mall)
    with pytest.raises(Conflict, match="正在议价"):
        place_cart(mall)
    assert Order.objects.count() == 0 and mall.buyer_a.mall_cart.count() == 1
    services.negotiation_withdraw(actor=mall.buyer_a, negotiation=n)
    assert place_cart(mall)[0].total == Decimal("1100.00")  # withdrawn: list price


def test_changing_the_cart_voids_its_negotiation_and_an_unused_agreement(mall):
    n = cart_offer(mall)
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=1)
    n.refresh_from_db()
    assert n.status == "withdrawn" and n.bids.last().note == "购物车已变更"
    assert Todo.objects.filter(kind=services.TODO_NEGOTIATE, done_at=None).count() == 0
    n = services.cart_negotiation_open(actor=mall.buyer_a, supplier=mall.supplier_x, category=mall.paper,
                                       total="1000")
    services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1)
    line = mall.buyer_a.mall_cart.get()
    services.cart_set_quantity(actor=mall.buyer_a, line=line, quantity=5)
    n.refresh_from_db()
    assert n.status == "withdrawn"
    assert place_cart(mall)[0].total == Decimal("550.00")


def test_an_agreement_on_a_price_that_has_since_changed_stops_the_order_with_a_message(mall):
    n = cart_offer(mall)
    services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1)
    services.offer_update(actor=mall.seller_x, offer=mall.paper_x, list_price="90.00")  # now below the agreement
    with pytest.raises(Conflict, match="现已变化"):
        place_cart(mall)
    assert Order.objects.count() == 0


def test_on_a_cart_only_its_owner_buys_and_only_its_supplier_answers(mall):
    colleague = mall.world.person("buyer_a2", Role.PURCHASER, mall.world.street_a)
    n = cart_offer(mall)
    refused = [(Forbidden, lambda: services.negotiation_withdraw(actor=colleague, negotiation=n)),
               (NotInReach, lambda: services.negotiation_accept(actor=mall.seller_y, negotiation=n, expected_round=1)),
               (NotInReach, lambda: services.negotiation_accept(actor=mall.buyer_b, negotiation=n, expected_round=1)),
               (Forbidden, lambda: services.negotiation_accept(actor=mall.world.supervisor, negotiation=n,
                                                               expected_round=1))]
    for expected, call in refused:
        assert_write_refused(call, models=[Negotiation, Bid], expect=expected)
    assert list(Negotiation.objects.restrict(mall.seller_x).values_list("pk", flat=True)) == [n.pk]
    assert not Negotiation.objects.restrict(mall.seller_y).exists()
    assert not Negotiation.objects.restrict(mall.buyer_b).exists()
    assert Bid.objects.restrict(mall.seller_x).count() == 1 and not Bid.objects.restrict(mall.seller_y).exists()


def test_a_cart_negotiation_past_its_deadline_expires(mall):
    n = cart_offer(mall)
    Negotiation.objects.filter(pk=n.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    assert services.expire_negotiations() == 1
    n.refresh_from_db()
    assert n.status == "expired"
    assert place_cart(mall)[0].total == Decimal("1100.00")


def test_the_cart_page_offers_a_price_and_the_supplier_answers_on_the_negotiation_page(mall, client_for):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=10)
    buyer = client_for(mall.buyer_a)
    line = mall.buyer_a.mall_cart.get()
    response = buyer.post("/mall/cart/negotiate/", {"line": line.pk, "total": "990"})
    n = Negotiation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/mall/negotiations/{n.pk}/"
    seller = client_for(mall.seller_x)
    assert "990.00" in seller.get(f"/mall/negotiations/{n.pk}/").content.decode()
    assert client_for(mall.seller_y).get(f"/mall/negotiations/{n.pk}/").status_code == 404
    seller.post(f"/mall/negotiations/{n.pk}/", {"action": "accept", "round": "1"})
    n.refresh_from_db()
    assert n.status == "agreed"
    assert "议价已成交" in buyer.get("/mall/cart/").content.decode()


def test_the_api_opens_a_negotiation_on_the_cart(mall, client_for):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=10)
    api = client_for(mall.buyer_a)
    response = api.post("/api/v1/mall/cart/negotiations", {"supplier_id": mall.supplier_x.pk,
                                                            "category_id": mall.paper.pk, "total": "980"},
                        content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["order_id"] is None and body["bid_total"] == "980.00" and body["basket"][0]["quantity"] == 10
    missing = api.post("/api/v1/mall/cart/negotiations", {"supplier_id": mall.supplier_y.pk,
                                                           "category_id": mall.paper.pk, "total": "1"},
                       content_type="application/json")
    assert missing.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_supplier_accepting_while_the_purchaser_places_the_order_never_loses_the_agreement(pg_mall):
    mall = pg_mall
    for _ in range(4):
        n = cart_offer(mall, total="900")
        results = _race(
            lambda n=n: services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1),
            lambda: services.order_place(actor=mall.buyer_a, unit=mall.world.street_a),
        )
        n.refresh_from_db()
        assert isinstance(results[0], Negotiation), results
        assert isinstance(results[1], (tuple, Conflict)), repr(results[1])
        if isinstance(results[1], Conflict):  # the order came first and found the negotiation still running
            assert n.status == "agreed" and n.order_id is None
            orders, _ = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
        else:  # the agreement came first: the order waited for it and took its price
            orders, _ = results[1]
        n.refresh_from_db()
        assert n.order_id == orders[0].pk and orders[0].total == Decimal("900.00")
        assert Negotiation.objects.filter(order__isnull=True, status__in=["open", "agreed"]).count() == 0


@pytest.mark.django_db(transaction=True)
def test_changing_the_cart_while_the_supplier_accepts_leaves_no_agreement_on_lines_that_changed(pg_mall):
    mall = pg_mall
    for _ in range(4):
        n = cart_offer(mall, total="900")
        line = mall.buyer_a.mall_cart.get()
        results = _race(
            lambda n=n: services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1),
            lambda line=line: services.cart_set_quantity(actor=mall.buyer_a, line=line, quantity=3),
            lambda n=n: services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1),
        )
        n.refresh_from_db()
        assert n.status == "withdrawn"  # whichever came first, the cart changed last or voided it first
        assert sum(isinstance(r, Negotiation) for r in results[::2]) <= 1
        assert n.bids.filter(action="accept").count() <= 1 and n.bids.filter(action="withdraw").count() == 1
        order = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)[0][0]
        assert (order.total, order.savings) == (Decimal("330.00"), Decimal("0.00"))


@pytest.mark.django_db(transaction=True)
def test_two_purchasers_of_one_unit_placing_at_once_stay_within_the_annual_limit_and_the_budget(pg_mall):
    from govdesk.mall.models import UnitBudget

    mall = pg_mall
    colleague = mall.world.person("buyer_a2", Role.PURCHASER, mall.world.street_a)
    mall.paper.annual_limit = Decimal("2000")  # each cart alone (1,100 or 1,050) fits, both do not
    mall.paper.save(update_fields=["annual_limit"])
    offers = {mall.buyer_a: mall.paper_x, colleague: mall.paper_y}  # two suppliers: no offer row in common
    for buyer, offer in offers.items():
        services.cart_add(actor=buyer, offer=offer, quantity=10)
    results = _race(*[lambda b=b: services.order_place(actor=b, unit=mall.world.street_a)
                      for b in (mall.buyer_a, colleague)])
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(refused) == 1 and "年度累计限额" in str(refused[0]), results
    assert Order.objects.filter(org_unit=mall.world.street_a).count() == 1

    # the same for the unit's budget (stop mode)
    mall.paper.annual_limit = None
    mall.paper.save(update_fields=["annual_limit"])
    UnitBudget.objects.create(org_unit=mall.world.street_a, year=timezone.localdate().year, amount=Decimal("3000"),
                              mode=UnitBudget.Mode.STOP)
    winner = colleague if isinstance(results[0], ServiceError) else mall.buyer_a
    services.cart_add(actor=winner, offer=offers[winner], quantity=10)  # committed + both carts > 3,000
    results = _race(*[lambda b=b: services.order_place(actor=b, unit=mall.world.street_a)
                      for b in (mall.buyer_a, colleague)])
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(refused) == 1 and "超出预算" in str(refused[0]), results
    assert Order.objects.filter(org_unit=mall.world.street_a).count() == 2
