from decimal import Decimal

import pytest
from django.urls import reverse

from govdesk.core.testing import assert_status_matrix
from govdesk.mall import rollups, services
from govdesk.mall.models import Flag, Negotiation, Offer, Order

pytestmark = pytest.mark.django_db


def test_order_pages_answer_404_outside_reach(mall, client_for):
    a = mall.order(supplier=mall.supplier_x)
    b = mall.order(unit=mall.world.street_b, supplier=mall.supplier_y)
    url_a, url_b = reverse("mall:order", args=[a.pk]), reverse("mall:order", args=[b.pk])
    w = mall.world
    assert_status_matrix(client_for, [
        (mall.buyer_a, url_a, 200), (mall.buyer_a, url_b, 404), (mall.buyer_b, url_a, 404),
        (mall.seller_x, url_a, 200), (mall.seller_x, url_b, 404), (mall.seller_y, url_b, 200),
        (w.supervisor, url_a, 200), (w.supervisor, url_b, 200), (w.officer_a, url_a, 200), (w.officer_b, url_a, 404),
        (w.dept_officer, url_a, 404), (w.outsider, url_a, 404),
    ])


def test_the_flag_queue_pages_are_for_supervisors_only(mall, client_for):
    mall.order(total="6000", days_ago=3)
    mall.order(total="6000")
    services.sweep()
    flag = Flag.objects.get()
    url, queue = reverse("mall:flag", args=[flag.pk]), reverse("mall:flags")
    assert_status_matrix(client_for, [(mall.world.supervisor, url, 200), (mall.world.admin, url, 200),
                                      (mall.buyer_a, url, 404), (mall.seller_x, url, 404),
                                      (mall.world.supervisor, queue, 200), (mall.buyer_a, queue, 404),
                                      (mall.seller_x, queue, 404), (mall.world.officer_a, queue, 404)])
    body = client_for(mall.world.supervisor).get(reverse("mall:flags")).content.decode()
    assert "疑似拆单" in body and "合计 12,000.00 元" in body


def test_a_supervisor_closes_a_flag_with_a_note_through_the_page(mall, client_for):
    mall.order(total="6000", days_ago=3)
    mall.order(total="6000")
    services.sweep()
    flag = Flag.objects.get()
    client = client_for(mall.world.supervisor)
    response = client.post(reverse("mall:flag", args=[flag.pk]), {"status": "closed", "note": ""})
    assert "请填写核查意见" in response.content.decode()
    response = client.post(reverse("mall:flag", args=[flag.pk]), {"status": "closed", "note": "已核实，合并采购"})
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.status == "closed" and flag.note == "已核实，合并采购"


def test_a_supervisor_posting_an_order_action_changes_nothing(mall, client_for):
    order = mall.order()
    response = client_for(mall.world.supervisor).post(reverse("mall:order_action", args=[order.pk, "confirm"]))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED
    response = client_for(mall.buyer_b).post(reverse("mall:order_action", args=[order.pk, "cancel"]),
                                             {"reason": "x"})
    assert response.status_code == 404


def test_catalogue_search_by_name_brand_model_and_pinyin_initials(mall, client_for):
    client = client_for(mall.buyer_a)
    for q in ("复印纸", "得力", "7391", "dl", "fyz"):
        body = client.get(reverse("mall:catalogue"), {"q": q}).content.decode()
        assert "A4复印纸" in body and "台式电脑" not in body, q
    body = client.get(reverse("mall:catalogue"), {"q": "lx"}).content.decode()
    assert "台式电脑" in body and "A4复印纸" not in body


def test_catalogue_sorts_by_price_and_filters_encouraged_categories(mall, client_for):
    client = client_for(mall.buyer_a)
    body = client.get(reverse("mall:catalogue"), {"sort": "-price"}).content.decode()
    assert body.index("5000.00") < body.index("110.00") < body.index("105.00")
    body = client.get(reverse("mall:catalogue"), {"encouraged": "1"}).content.decode()
    assert "A4复印纸" in body and "台式电脑" not in body
    fragment = client.get(reverse("mall:catalogue"), {"q": "fyz"}, HTTP_HX_REQUEST="true").content.decode()
    assert "A4复印纸" in fragment and "<html" not in fragment


def test_the_catalogue_pages_with_a_bounded_number_of_queries(mall, client_for, django_assert_max_num_queries):
    client = client_for(mall.buyer_a)
    with django_assert_max_num_queries(14):
        client.get(reverse("mall:catalogue"))
    with django_assert_max_num_queries(14):
        client.get(reverse("mall:orders"))


def test_a_purchaser_buys_and_negotiates_through_the_pages(mall, client_for):
    buyer, seller = client_for(mall.buyer_a), client_for(mall.seller_x)
    buyer.post(reverse("mall:cart_add", args=[mall.paper_x.pk]), {"quantity": "10"})
    assert "将生成一笔订单，合计 1100.00 元" in buyer.get(reverse("mall:cart")).content.decode()
    response = buyer.post(reverse("mall:order_place"), {"unit": mall.world.street_a.pk})
    order = Order.objects.get()
    assert response["Location"] == reverse("mall:order", args=[order.pk])
    buyer.post(reverse("mall:negotiate", args=[order.pk, "open"]), {"total": "1000"})
    n = Negotiation.objects.get()
    page = seller.get(reverse("mall:order", args=[order.pk])).content.decode()
    assert "接受对方报价" in page and "1000.00" in page
    seller.post(reverse("mall:negotiate", args=[order.pk, "counter"]),
                {"negotiation": n.pk, "round": 1, "total": "1050"})
    # a double submit of the same form (same round) is refused with a message, not doubled
    response = seller.post(reverse("mall:negotiate", args=[order.pk, "counter"]),
                           {"negotiation": n.pk, "round": 1, "total": "1050"}, follow=True)
    assert "请刷新页面" in response.content.decode()
    buyer.post(reverse("mall:negotiate", args=[order.pk, "accept"]), {"negotiation": n.pk, "round": 2})
    order.refresh_from_db()
    assert (order.total, order.savings) == (Decimal("1050.00"), Decimal("50.00"))
    for action in ("confirm", "ship"):
        seller.post(reverse("mall:order_action", args=[order.pk, action]))
    buyer.post(reverse("mall:order_action", args=[order.pk, "accept"]), {"rating": "5", "note": "好"})
    buyer.post(reverse("mall:order_action", args=[order.pk, "settle"]))
    order.refresh_from_db()
    assert order.status == Order.Status.SETTLED and order.rating == 5


def test_a_supplier_sees_why_an_offer_is_not_listed(mall, client_for):
    client = client_for(mall.seller_x)
    response = client.post(reverse("mall:offer_edit", args=[mall.paper_x.pk]), {"list_price": "150", "stock": "5"},
                           follow=True)
    assert "高于市场参考价 100.00 元" in response.content.decode()
    mall.paper_x.refresh_from_db()
    assert mall.paper_x.status == Offer.Status.BLOCKED
    assert client_for(mall.seller_y).get(reverse("mall:offer_edit", args=[mall.paper_x.pk])).status_code == 404


def test_the_dashboard_and_the_home_card_show_the_users_figures(mall, client_for):
    mall.order(total="1000")
    order = mall.order(total="3000", supplier=mall.supplier_y)
    Order.objects.filter(pk=order.pk).update(total=Decimal("2800"), savings=Decimal("200"))
    mall.order(unit=mall.world.street_b, total="500")
    rollups.rebuild()  # the orders above were written around the services, which keep the rollups
    body = client_for(mall.buyer_a).get(reverse("mall:dashboard")).content.decode()
    assert 'id="fig-orders">2<' in body and "3,800.00" in body and "200.00" in body and "待核查预警" not in body
    assert 'data-chart="mall-months"' in body and 'id="mall-months"' in body
    body = client_for(mall.world.supervisor).get(reverse("mall:dashboard")).content.decode()
    assert 'id="fig-orders">3<' in body and "待核查预警" in body
    home = client_for(mall.buyer_b).get(reverse("core:home")).content.decode()
    assert "政府采购网上商城" in home and "500.00" in home
    assert "政府采购网上商城" not in client_for(mall.world.outsider).get(reverse("core:home")).content.decode()


def test_an_admin_adds_a_category_and_records_a_reference_price(mall, client_for):
    client = client_for(mall.world.admin)
    client.post(reverse("mall:category_new"), {"code": "A0301", "name": "打印机", "is_mall": "on",
                                               "single_limit": "500000"})
    assert "打印机" in client.get(reverse("mall:categories")).content.decode()
    response = client.post(reverse("mall:product", args=[mall.laptop.pk]),
                           {"price": "4000", "observed_on": "2026-01-05", "source": "价格监测中心"})
    assert response.status_code == 302
    mall.laptop.refresh_from_db()
    mall.laptop_x.refresh_from_db()
    assert mall.laptop.reference_price == Decimal("4000.00")
    assert mall.laptop_x.status == Offer.Status.BLOCKED  # 5,000 > 4,800
    assert client_for(mall.buyer_a).post(reverse("mall:category_new"), {"code": "X", "name": "x",
                                                                        "single_limit": "1"}).status_code == 403
    assert not mall.paper.__class__.objects.filter(code="X").exists()
