"""The mall's pages as a person uses them: what each page shows and what its forms do
(offers on and off the shelf, the product lookup, per-line prices, the negotiations list, the
list filters carried into the exports, paging)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from govdesk.core.models import AuditEvent
from govdesk.core.tables.testing import sheet_rows
from govdesk.mall import services
from govdesk.mall.models import Bid, CartLine, Flag, Negotiation, Offer, Order, Product

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return unescape(response.content.decode())


def rows_of(response) -> list[list]:
    assert response.status_code == 200, response
    return sheet_rows(b"".join(response.streaming_content))


def bulk_paper_x(mall) -> Offer:
    """A second paper product offered by supplier X: a cart group of two lines."""
    bulk = Product.objects.get(name__startswith="复印纸", brand="晨光")
    return services.offer_save(actor=mall.seller_x, supplier=mall.supplier_x, product=bulk, list_price="50.00",
                               stock=100)


# --- 1. offers: withdraw, relist, product lookup ---------------------------------------------------------

def test_a_supplier_withdraws_an_offer_with_a_reason_after_a_confirmation_and_relists_it(mall, client_for):
    seller = client_for(mall.seller_x)
    page = text(seller.get(reverse("mall:offers")))
    withdraw = reverse("mall:offer_withdraw", args=[mall.paper_x.pk])
    form = re.search(rf'<form method="post" action="{withdraw}"[^>]*>', page)
    assert form and 'data-confirm="确定下架「得力 A4复印纸 7391」？' in form.group(0)
    assert 'placeholder="下架原因（可不填）"' in page

    response = seller.post(withdraw, {"reason": "厂家停产"}, follow=True)
    assert "「得力 A4复印纸 7391」已下架" in text(response)
    mall.paper_x.refresh_from_db()
    assert mall.paper_x.status == Offer.Status.WITHDRAWN
    event = AuditEvent.objects.filter(object_type="mall.offer", object_id=str(mall.paper_x.pk)).latest("id")
    assert event.changes["reason"] == "厂家停产"
    catalogue = text(client_for(mall.buyer_a).get(reverse("mall:catalogue"), {"q": "A4"}))
    assert "甲办公用品公司" not in catalogue and "乙电商公司" in catalogue

    page = text(seller.get(reverse("mall:offers")))
    row = page[page.index(f'id="offer-{mall.paper_x.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "已下架" in row and "重新上架" in row and ">下架</button>" not in row
    again = seller.post(withdraw, follow=True)
    assert "该报价已下架" in text(again)

    response = seller.post(reverse("mall:offer_relist", args=[mall.paper_x.pk]), follow=True)
    assert "「得力 A4复印纸 7391」已重新上架，挂牌价 110.00 元" in text(response)
    mall.paper_x.refresh_from_db()
    assert mall.paper_x.status == Offer.Status.LISTED


def test_a_relisted_offer_that_breaks_the_listing_rule_says_why(mall, client_for):
    services.offer_withdraw(actor=mall.seller_x, offer=mall.paper_x)
    services.reference_price_record(actor=mall.world.admin, product=mall.printer_paper, price="80.00",
                                    observed_on=timezone.localdate(), source="价格监测中心")
    response = client_for(mall.seller_x).post(reverse("mall:offer_relist", args=[mall.paper_x.pk]), follow=True)
    assert "未能上架" in text(response) and "参考价 80.00 元" in text(response)


def test_another_supplier_cannot_withdraw_or_relist_an_offer(mall, client_for):
    other = client_for(mall.seller_y)
    assert other.post(reverse("mall:offer_withdraw", args=[mall.paper_x.pk])).status_code == 404
    assert other.post(reverse("mall:offer_relist", args=[mall.paper_x.pk])).status_code == 404
    assert client_for(mall.buyer_a).post(reverse("mall:offer_withdraw", args=[mall.paper_x.pk])).status_code == 404
    mall.paper_x.refresh_from_db()
    assert mall.paper_x.status == Offer.Status.LISTED


def test_the_product_lookup_finds_any_admitted_product_by_name_brand_model_category_or_initials(mall, client_for):
    for i in range(40):  # more than a page, and more than the old picker's cap would matter for
        services.product_create(actor=mall.world.admin, category=mall.paper, name=f"测试纸{i:02d}", brand="齐心",
                                model=f"QX-{i:02d}")
    seller = client_for(mall.seller_y)
    url = reverse("mall:offer_products")
    assert f'action="{url}"' in text(seller.get(reverse("mall:offers")))
    page = text(seller.get(url, {"q": "QX-39"}))
    target = Product.objects.get(model="QX-39")
    assert f'href="{reverse("mall:offer_new")}?product={target.pk}">报价</a>' in page
    assert "测试纸38" not in page
    for q in ("齐心", "复印纸", "A0901", "fyz"):
        assert "测试纸" in text(seller.get(url, {"q": q})), q
    assert "台式电脑" in text(seller.get(url, {"q": "lx"}))
    # paged: the first page ends before the last products, the next page has them
    first = seller.get(url, {"q": "齐心"})
    assert "测试纸39" not in text(first) and "下一页" in text(first)
    next_url = re.search(r'href="(\?[^"]*after=[^"]*)">下一页', text(first)).group(1)
    assert "测试纸39" in text(seller.get(url + next_url))
    # an offered product links to its offer instead
    page = text(seller.get(url, {"q": "7391"}))
    assert f'href="{reverse("mall:offer_edit", args=[mall.paper_y.pk])}">已报价，修改</a>' in page
    # the form opens on the product picked and makes the offer
    form = seller.get(reverse("mall:offer_new"), {"product": target.pk})
    assert "新增报价：齐心 测试纸39 QX-39" in text(form)
    seller.post(reverse("mall:offer_new"), {"product": target.pk, "list_price": "30", "stock": "10"})
    assert Offer.objects.get(product=target, supplier=mall.supplier_y).status == Offer.Status.LISTED


def test_the_product_lookup_is_for_suppliers_and_shows_only_admitted_categories(mall, client_for):
    other = services.category_create(actor=mall.world.admin, district=mall.world.district, code="A0301",
                                     name="打印机", is_mall=True, single_limit="50000")
    services.product_create(actor=mall.world.admin, category=other, name="激光打印机", brand="惠普")
    page = text(client_for(mall.seller_x).get(reverse("mall:offer_products")))
    assert "A4复印纸" in page and "激光打印机" not in page
    assert client_for(mall.buyer_a).get(reverse("mall:offer_products")).status_code == 403


def test_the_product_lookup_answers_htmx_with_its_results_in_a_bounded_number_of_queries(
        mall, client_for, django_assert_max_num_queries):
    seller = client_for(mall.seller_x)
    with django_assert_max_num_queries(12):
        fragment = text(seller.get(reverse("mall:offer_products"), {"q": "dl"}, HTTP_HX_REQUEST="true"))
    assert "A4复印纸" in fragment and "台式电脑" not in fragment and "<html" not in fragment
    with django_assert_max_num_queries(12):
        seller.get(reverse("mall:offers"))


# --- 2. per-line prices ----------------------------------------------------------------------------------

def test_a_purchaser_offers_per_line_prices_on_the_cart_and_the_supplier_sees_what_accepting_binds(mall, client_for):
    bulk = bulk_paper_x(mall)
    buyer, seller = client_for(mall.buyer_a), client_for(mall.seller_x)
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=10)  # 1,100.00
    services.cart_add(actor=mall.buyer_a, offer=bulk, quantity=4)  # 200.00
    cart = text(buyer.get(reverse("mall:cart")))
    assert f'name="line_{mall.paper_x.pk}"' in cart and f'name="line_{bulk.pk}"' in cart
    assert "得力 A4复印纸 7391（挂牌 1100.00 元）" in cart

    line = CartLine.objects.filter(user=mall.buyer_a).first()
    both = buyer.post(reverse("mall:cart_negotiate"), {"line": line.pk, "total": "1200",
                                                       f"line_{bulk.pk}": "150"}, follow=True)
    assert "请按总价或按明细出价，二者只填其一" in text(both)
    assert not Negotiation.objects.exists()

    response = buyer.post(reverse("mall:cart_negotiate"), {"line": line.pk, f"line_{mall.paper_x.pk}": "1000",
                                                           f"line_{bulk.pk}": "180"})
    n = Negotiation.objects.get()
    assert response["Location"] == reverse("mall:negotiation", args=[n.pk])
    assert n.bid_total == Decimal("1180.00")

    page = text(seller.get(reverse("mall:negotiation", args=[n.pk])))
    assert 'id="standing-total">1180.00<' in page
    standing = page[page.index('id="standing-lines"'):]
    assert "得力 A4复印纸 7391：1000.00 元" in standing and "晨光 复印纸(散装)：180.00 元" in standing.split("</ul>")[0]
    history = page[page.index('id="bids"'):page.index("</tbody>", page.index('id="bids"'))]
    assert "按明细" in history and "1000.00" in history and "180.00" in history

    # the supplier counters per line on the negotiation page; the purchaser sees the lines it would accept
    seller.post(reverse("mall:negotiation", args=[n.pk]), {"action": "counter", "round": 1,
                                                           f"line_{mall.paper_x.pk}": "1050",
                                                           f"line_{bulk.pk}": "190"})
    bid = Bid.objects.get(negotiation=n, round=2)
    assert bid.line_amounts == {str(mall.paper_x.pk): "1050.00", str(bulk.pk): "190.00"}
    page = text(buyer.get(reverse("mall:negotiation", args=[n.pk])))
    standing = page[page.index('id="standing-lines"'):].split("</ul>")[0]
    assert "得力 A4复印纸 7391：1050.00 元" in standing and "晨光 复印纸(散装)：190.00 元" in standing
    assert "接受即按以上明细成交" in page
    assert f'name="line_{bulk.pk}"' in page  # the purchaser may answer per line too


def test_a_counter_on_an_order_per_line_binds_those_lines_when_accepted(mall, client_for):
    bulk = bulk_paper_x(mall)
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=10)
    services.cart_add(actor=mall.buyer_a, offer=bulk, quantity=4)
    (order,), _ = services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    paper_line, bulk_line = order.lines.get(offer=mall.paper_x), order.lines.get(offer=bulk)
    buyer, seller = client_for(mall.buyer_a), client_for(mall.seller_x)
    buyer.post(reverse("mall:negotiate", args=[order.pk, "open"]), {"total": "1150"})
    n = Negotiation.objects.get()
    page = text(seller.get(reverse("mall:order", args=[order.pk])))
    assert f'name="line_{paper_line.pk}"' in page and "按总价报价：接受后按各项挂牌金额的比例分摊到明细" in page
    seller.post(reverse("mall:negotiate", args=[order.pk, "counter"]),
                {"negotiation": n.pk, "round": 1, f"line_{paper_line.pk}": "1040", f"line_{bulk_line.pk}": "190"})
    page = text(buyer.get(reverse("mall:order", args=[order.pk])))
    standing = page[page.index('id="standing-lines"'):].split("</ul>")[0]
    assert "得力 A4复印纸 7391：1040.00 元" in standing and "晨光 复印纸(散装)：190.00 元" in standing
    history = page[page.index('id="bids"'):page.index("</tbody>", page.index('id="bids"'))]
    assert "按明细" in history and "1040.00" in history
    buyer.post(reverse("mall:negotiate", args=[order.pk, "accept"]), {"negotiation": n.pk, "round": 2})
    paper_line.refresh_from_db()
    bulk_line.refresh_from_db()
    order.refresh_from_db()
    assert (paper_line.amount, bulk_line.amount, order.total) == (Decimal("1040.00"), Decimal("190.00"),
                                                                  Decimal("1230.00"))


# --- 3. the negotiations list ----------------------------------------------------------------------------

def test_a_cart_negotiation_that_ended_without_an_order_stays_findable(mall, client_for, django_assert_max_num_queries):
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=10)
    ended = services.cart_negotiation_open(actor=mall.buyer_a, supplier=mall.supplier_x, category=mall.paper,
                                           total="1000")
    services.negotiation_withdraw(actor=mall.buyer_a, negotiation=ended)
    order = mall.order(total="3000")
    running = services.negotiation_open(actor=mall.buyer_a, order=order, total="2800")
    services.cart_add(actor=mall.buyer_b, offer=mall.paper_y, quantity=3)
    services.cart_negotiation_open(actor=mall.buyer_b, supplier=mall.supplier_y, category=mall.paper, total="300")

    buyer = client_for(mall.buyer_a)
    url = reverse("mall:negotiations")
    assert f'href="{url}">议价记录</a>' in text(buyer.get(reverse("mall:orders")))
    assert f'href="{url}">议价记录</a>' in text(client_for(mall.seller_x).get(reverse("mall:orders")))
    with django_assert_max_num_queries(12):
        page = text(buyer.get(url))
    assert f'href="{reverse("mall:negotiation", args=[ended.pk])}">购物车议价</a>' in page
    assert f'href="{reverse("mall:order", args=[order.pk])}">订单 {order.number}</a>' in page
    assert "已撤回" in page and "乙电商公司" not in page
    assert page.index(f"订单 {order.number}") < page.index("购物车议价")  # newest first
    only = text(buyer.get(url, {"status": "withdrawn"}))
    assert "购物车议价" in only and order.number not in only
    seller_page = text(client_for(mall.seller_x).get(url))
    assert "购物车议价" in seller_page and order.number in seller_page
    assert order.number not in text(client_for(mall.buyer_b).get(url))
    assert running.status == Negotiation.Status.OPEN


def test_the_negotiations_list_pages_newest_first(mall, client_for):
    for i in range(55):
        order = mall.order(total="1000")
        services.negotiation_open(actor=mall.buyer_a, order=order, total=str(900 + i))
    first = text(client_for(mall.buyer_a).get(reverse("mall:negotiations")))
    assert first.count("订单 CG") == 50 and "下一页" in first
    next_url = re.search(r'href="(\?[^"]*after=[^"]*)">下一页', first).group(1)
    second = text(client_for(mall.buyer_a).get(reverse("mall:negotiations") + next_url))
    assert second.count("订单 CG") == 5


# --- 4. filters ------------------------------------------------------------------------------------------

def test_the_order_list_finds_an_order_by_its_number(mall, client_for):
    wanted = mall.order(total="1234.00")
    other = mall.order(total="999.00")
    client = client_for(mall.buyer_a)
    page = text(client.get(reverse("mall:orders"), {"q": wanted.number}))
    assert f">{wanted.number}</a>" in page and f">{other.number}</a>" not in page
    assert f">{wanted.number}</a>" in text(client.get(reverse("mall:orders"), {"q": wanted.number.lower()}))
    day = text(client.get(reverse("mall:orders"), {"q": wanted.number[:10]}))  # CG + the date: that day's orders
    assert f">{wanted.number}</a>" in day and f">{other.number}</a>" in day
    b = mall.order(unit=mall.world.street_b, supplier=mall.supplier_y)
    assert f">{b.number}</a>" not in text(client.get(reverse("mall:orders"), {"q": b.number}))  # only in reach


def test_the_order_list_filters_by_dates_unit_and_category_and_exports_the_same_rows(mall, client_for):
    old = mall.order(total="1000", days_ago=40)
    recent = mall.order(total="2000", days_ago=2)
    community = mall.order(unit=mall.world.community_a, total="3000", days_ago=2)
    computers = mall.order(category=mall.pcs, total="4000", days_ago=2, product=mall.laptop)
    client = client_for(mall.world.officer_a)
    today = timezone.localdate()
    since = (today - timedelta(days=10)).isoformat()
    page = text(client.get(reverse("mall:orders"), {"from": since, "to": today.isoformat()}))
    assert recent.number in page and community.number in page and old.number not in page
    # a street takes its communities; a category narrows further
    page = text(client.get(reverse("mall:orders"), {"unit": mall.world.community_a.pk}))
    assert community.number in page and recent.number not in page
    params = {"from": since, "unit": mall.world.street_a.pk, "category": mall.paper.pk, "q": "甲"}
    page = text(client.get(reverse("mall:orders"), params))
    assert recent.number in page and community.number in page
    assert computers.number not in page and old.number not in page
    assert f'<option value="{mall.world.street_a.pk}" selected>甲街道</option>' in page
    assert "乙街道" not in page  # the unit filter offers the units in reach only
    export = re.search(r'id="orders-export" href="([^"]+)"', page).group(1)
    assert export == (f"/mall/orders/export/?q=%E7%94%B2&from={since}&unit={mall.world.street_a.pk}"
                      f"&category={mall.paper.pk}")
    rows = rows_of(client.get(export))
    assert sorted(r[0] for r in rows[1:]) == sorted([recent.number, community.number])
    event = AuditEvent.objects.filter(action="export").latest("id")
    assert event.changes["filters"] == {"q": "甲", "from": since, "unit": str(mall.world.street_a.pk),
                                        "category": str(mall.paper.pk)}


def test_the_catalogue_filters_by_price(mall, client_for):
    client = client_for(mall.buyer_a)
    page = text(client.get(reverse("mall:catalogue"), {"min": "106", "max": "1000"}))
    assert "甲办公用品公司" in page and "乙电商公司" not in page and "台式电脑" not in page
    assert 'name="min" value="106"' in page and 'name="max" value="1000"' in page
    assert "台式电脑" in text(client.get(reverse("mall:catalogue"), {"min": "1000"}))


def test_the_flag_queue_filters_by_unit_supplier_and_date_and_exports_the_same_rows(mall, client_for):
    mall.order(total="6000", days_ago=3)
    mall.order(total="6000")
    mall.order(unit=mall.world.street_b, supplier=mall.supplier_y, total="6000", days_ago=3)
    mall.order(unit=mall.world.street_b, supplier=mall.supplier_y, total="6000")
    services.sweep()
    flag_a = Flag.objects.get(org_unit=mall.world.street_a)
    flag_b = Flag.objects.get(org_unit=mall.world.street_b)
    Flag.objects.filter(pk=flag_b.pk).update(raised_at=timezone.now() - timedelta(days=30))
    client = client_for(mall.world.supervisor)
    url = reverse("mall:flags")
    both = text(client.get(url))
    assert both.count("疑似拆单</a>") == 2
    page = text(client.get(url, {"unit": mall.world.street_a.pk}))
    assert page.count("疑似拆单</a>") == 1 and f'href="{reverse("mall:flag", args=[flag_a.pk])}"' in page
    page = text(client.get(url, {"supplier": mall.supplier_y.pk}))
    assert f'href="{reverse("mall:flag", args=[flag_b.pk])}"' in page and page.count("疑似拆单</a>") == 1
    recent = (timezone.localdate() - timedelta(days=7)).isoformat()
    page = text(client.get(url, {"from": recent}))
    assert f'href="{reverse("mall:flag", args=[flag_a.pk])}"' in page and page.count("疑似拆单</a>") == 1
    page = text(client.get(url, {"to": recent}))
    assert f'href="{reverse("mall:flag", args=[flag_b.pk])}"' in page and page.count("疑似拆单</a>") == 1
    page = text(client.get(url, {"status": "", "supplier": mall.supplier_x.pk, "from": recent}))
    export = re.search(r'id="flags-export" href="([^"]+)"', page).group(1)
    assert export == f"/mall/flags/export/?status=all&supplier={mall.supplier_x.pk}&from={recent}"
    rows = rows_of(client.get(export))
    assert [(r[1], r[2], r[3]) for r in rows[1:]] == [("疑似拆单", "甲街道", "甲办公用品公司")]


# --- 5. safe redirects and paging --------------------------------------------------------------------------

def test_adding_to_the_cart_returns_only_to_a_page_of_this_site(mall, client_for):
    client = client_for(mall.buyer_a)
    url = reverse("mall:cart_add", args=[mall.paper_x.pk])
    assert client.post(url, {"next": "https://evil.example/phish"})["Location"] == reverse("mall:cart")
    assert client.post(url, {"next": "//evil.example/"})["Location"] == reverse("mall:cart")
    assert client.post(url, {"next": "/mall/catalogue/?q=fyz"})["Location"] == "/mall/catalogue/?q=fyz"
    assert client.post(url)["Location"] == reverse("mall:cart")


def test_the_settings_page_pages_the_unit_budgets(mall, client_for):
    for year in range(2000, 2055):
        services.budget_set(actor=mall.world.admin, unit=mall.world.street_a, year=year, amount="1000")
    client = client_for(mall.world.admin)
    first = text(client.get(reverse("mall:settings")))
    assert first.count("<td>甲街道</td>") == 50 and "<td>2054</td>" in first and "<td>2004</td>" not in first
    next_url = re.search(r'href="(\?[^"]*after=[^"]*)">下一页', first).group(1)
    second = text(client.get(reverse("mall:settings") + next_url))
    assert second.count("<td>甲街道</td>") == 5 and "<td>2000</td>" in second


def test_the_approvals_page_pages_the_orders_awaiting_approval(mall, client_for):
    orders = [mall.order(total="100", status=Order.Status.PENDING) for _ in range(53)]
    client = client_for(mall.world.officer_a)
    first = text(client.get(reverse("mall:approvals")))
    assert len(re.findall(r'href="/mall/orders/\d+/"', first)) == 50 and orders[-1].number in first and orders[0].number not in first
    next_url = re.search(r'href="(\?[^"]*after=[^"]*)">下一页', first).group(1)
    second = text(client.get(reverse("mall:approvals") + next_url))
    assert orders[0].number in second and len(re.findall(r'href="/mall/orders/\d+/"', second)) == 3
