"""The figures' rollup equals the live aggregate whatever happens to the orders."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from govdesk.core import services as core_services
from govdesk.core.models import OrgUnit
from govdesk.core.reach import Role
from govdesk.mall import queries, rollups, services
from govdesk.mall.models import ApprovalRule, Category, CategoryRollup, MonthRollup, Order

pytestmark = pytest.mark.django_db


def rollup_rows() -> tuple[dict, dict]:
    return ({(r.month, r.org_unit_id, r.supplier_id): (r.orders, r.amount_fen, r.savings_fen)
             for r in MonthRollup.objects.all()},
            {(r.year, r.org_unit_id, r.supplier_id, r.category_id): (r.orders, r.amount_fen, r.savings_fen)
             for r in CategoryRollup.objects.all()})


def live_rows() -> tuple[dict, dict]:
    def figures(g):
        return g["n"], rollups.fen(g["amount"]), rollups.fen(g["savings"])

    return ({(g["m"], g["org_unit_id"], g["supplier_id"]): figures(g) for g in rollups.live_months()},
            {(g["y"], g["org_unit_id"], g["supplier_id"], g["category_id"]): figures(g)
             for g in rollups.live_categories()})


def assert_rollup_is_live(mall, *people):
    assert rollup_rows() == live_rows()
    for user in people or (mall.world.admin, mall.world.supervisor, mall.buyer_a, mall.buyer_b, mall.seller_x,
                           mall.seller_y):
        assert queries.figures(user) == queries.figures_live(user), user.username


def buy(mall, buyer, offer, quantity, unit):
    services.cart_add(actor=buyer, offer=offer, quantity=quantity)
    orders, _ = services.order_place(actor=buyer, unit=unit)
    return orders


def test_the_rollup_follows_orders_negotiations_cancellations_and_settlements(mall):
    a, b = mall.world.street_a, mall.world.street_b
    first = buy(mall, mall.buyer_a, mall.paper_x, 10, a)[0]  # 1,100.00
    two = buy(mall, mall.buyer_a, mall.paper_y, 5, a) + buy(mall, mall.buyer_b, mall.laptop_x, 2, b)
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=2)
    services.cart_add(actor=mall.buyer_a, offer=mall.laptop_x, quantity=1)
    split = services.order_place(actor=mall.buyer_a, unit=a)[0]  # one cart, two orders (two categories)
    assert len(split) == 2
    assert_rollup_is_live(mall)

    # an agreed price lowers the total and records savings
    n = services.negotiation_open(actor=mall.buyer_a, order=first, total="950")
    services.negotiation_accept(actor=mall.seller_x, negotiation=n, expected_round=1)
    assert CategoryRollup.objects.get(org_unit=a, category=mall.paper, supplier=mall.supplier_x).savings_fen == 15000
    assert_rollup_is_live(mall)

    # the whole lifecycle to settlement changes nothing in the figures; a cancellation does
    order = Order.objects.get(pk=first.pk)
    services.order_confirm(actor=mall.seller_x, order=order)
    services.order_ship(actor=mall.seller_x, order=order)
    services.order_accept(actor=mall.buyer_a, order=order, rating=5)
    services.order_settle(actor=mall.buyer_a, order=order)
    services.order_cancel(actor=mall.buyer_a, order=two[0], reason="需求变更")
    services.order_cancel(actor=mall.seller_x, order=two[1], reason="缺货")
    assert_rollup_is_live(mall)
    assert not MonthRollup.objects.filter(org_unit=b).exists()
    assert not CategoryRollup.objects.filter(org_unit=b).exists()  # street B's only order was cancelled

    # a refused cancellation changes nothing
    with pytest.raises(Exception):  # noqa: B017 - any refusal: the point is the figures
        services.order_cancel(actor=mall.buyer_a, order=order, reason="晚了")
    assert_rollup_is_live(mall)


def test_declined_approvals_and_auto_cancelled_orders_leave_the_rollup(mall):
    approver = mall.world.person("approver_a", Role.STREET_OFFICER, mall.world.street_a)
    ApprovalRule.objects.create(org_unit=mall.world.street_a, threshold=Decimal("2000"))
    pending = buy(mall, mall.buyer_a, mall.laptop_x, 1, mall.world.street_a)[0]
    stale = buy(mall, mall.buyer_a, mall.paper_x, 1, mall.world.street_a)[0]
    assert pending.status == "pending"
    assert_rollup_is_live(mall)
    services.order_approve(actor=approver, order=pending, approve=False, reason="预算不足")
    Order.objects.filter(pk=stale.pk).update(placed_at=timezone.now() - timedelta(days=10),
                                             sent_at=timezone.now() - timedelta(days=10))
    assert services.orders_autocancel() == 1
    assert_rollup_is_live(mall)
    assert MonthRollup.objects.count() == CategoryRollup.objects.count() == 0


def test_history_imports_count_and_a_correction_moves_the_figures(mall):
    from govdesk.core.tables.schema import ValidRow

    def row(n, total, category):
        return ValidRow(row=n, values={
            "source": "旧商城", "external_no": "H-1", "org_unit": mall.world.street_a, "supplier": "甲办公用品公司",
            "category_code": category, "category_name": "", "total": Decimal(total), "list_total": None,
            "placed_on": timezone.localdate() - timedelta(days=40), "status": None})

    assert services.history_orders_import_batch(mall.world.admin, [row(2, "3000", "A0901")], False) == ["created"]
    assert_rollup_is_live(mall)
    assert services.history_orders_import_batch(mall.world.admin, [row(2, "2500", "A0201")], False) == ["updated"]
    assert_rollup_is_live(mall)
    assert CategoryRollup.objects.get().category_id == mall.pcs.pk


def test_rebuild_recomputes_what_the_services_kept(mall, capsys):
    buy(mall, mall.buyer_a, mall.paper_x, 3, mall.world.street_a)
    mall.order(total="777.77", days_ago=45)  # written around the services: only a rebuild sees it
    assert rollup_rows() != live_rows()
    call_command("mall", "rollup", "--rebuild")
    months, categories = live_rows()
    assert f"订单汇总已重算：{len(months) + len(categories)} 行" in capsys.readouterr().out
    assert_rollup_is_live(mall)
    with pytest.raises(CommandError, match="--rebuild"):
        call_command("mall", "rollup")


def test_a_purchaser_sees_only_the_figures_of_their_unit_and_a_supplier_only_its_own(mall):
    buy(mall, mall.buyer_a, mall.paper_x, 1, mall.world.street_a)
    buy(mall, mall.buyer_b, mall.paper_y, 2, mall.world.street_b)
    assert queries.figures(mall.buyer_a)["amount"] == Decimal("110.00")
    assert queries.figures(mall.seller_y)["amount"] == Decimal("210.00")
    assert queries.figures(mall.world.supervisor)["amount"] == Decimal("320.00")
    assert queries.figures(mall.world.outsider)["orders"] == 0
    assert_rollup_is_live(mall, mall.world.outsider)


def test_the_dashboard_reads_the_rollup_in_a_fixed_number_of_queries(mall, client, django_assert_max_num_queries):
    for _ in range(3):
        buy(mall, mall.buyer_a, mall.paper_x, 1, mall.world.street_a)
    client.force_login(mall.world.supervisor)
    with django_assert_max_num_queries(20):
        response = client.get("/mall/")
    assert response.status_code == 200 and "330.00" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_cached_figures_follow_every_change_of_the_rollups_names_and_flags(mall):
    """Outside a transaction (a page) the figures come from the cache, keyed by the reach and
    the rollups' versions: each order change, a rebuild, a renamed unit or a category's new
    encouraged flag shows on the next read."""
    cache.clear()
    a, people = mall.world.street_a, (mall.world.supervisor, mall.buyer_a, mall.buyer_b, mall.seller_x)
    first = buy(mall, mall.buyer_a, mall.paper_x, 10, a)[0]
    assert_rollup_is_live(mall, *people)
    assert_rollup_is_live(mall, *people)  # the second read of each comes from the cache
    buy(mall, mall.buyer_b, mall.laptop_x, 1, mall.world.street_b)
    assert_rollup_is_live(mall, *people)
    services.order_cancel(actor=mall.buyer_a, order=first, reason="需求变更")
    assert_rollup_is_live(mall, *people)
    buy(mall, mall.buyer_a, mall.paper_y, 3, a)
    rollups.rebuild()
    assert_rollup_is_live(mall, *people)
    Category.objects.filter(pk=mall.paper.pk).update(is_encouraged=not mall.paper.is_encouraged, name="复印纸（新）")
    OrgUnit.objects.filter(pk=a.pk).update(name="甲街道（新）")
    assert_rollup_is_live(mall, *people)
    assert "甲街道（新）" in [r["org_unit__name"] for r in queries.figures(mall.world.supervisor)["by_unit"]]

    # a community moved to the other street leaves the first street's figures with its orders
    community = mall.world.community_a
    buyer = mall.world.person("moved_buyer", Role.PURCHASER, community)
    officer = mall.world.person("moved_officer", Role.STREET_OFFICER, a)
    buy(mall, buyer, mall.paper_x, 2, community)
    assert_rollup_is_live(mall, officer, mall.world.supervisor)
    core_services.orgunit_move(actor=mall.world.admin, unit=community, new_parent=mall.world.street_b)
    assert_rollup_is_live(mall, officer, mall.world.supervisor)


@pytest.mark.django_db(transaction=True)
def test_the_figures_cache_shared_through_redis_follows_every_order(mall, settings):
    """With GOVDESK_CACHE_URL the workers share the figures' cache: what one computed another
    reads, and an order placed anywhere is on the next read."""
    from govdesk.conftest import reachable, skip_or_fail

    if not reachable("127.0.0.1", 6379):
        skip_or_fail("needs Redis at 127.0.0.1:6379")
    import redis

    server = redis.Redis.from_url("redis://127.0.0.1:6379/14")
    server.flushdb()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/14", "KEY_PREFIX": "govdesk"}}
    supervisor = mall.world.supervisor
    before = queries.figures(supervisor)
    assert [k for k in server.scan_iter("*mall:figures:*")], "the sums were not stored in Redis"
    assert queries.figures(supervisor) == before == queries.figures_live(supervisor)
    buy(mall, mall.buyer_a, mall.paper_x, 3, mall.world.street_a)
    after = queries.figures(supervisor)
    assert after["orders"] == before["orders"] + 1 and after == queries.figures_live(supervisor)
    server.flushdb()
