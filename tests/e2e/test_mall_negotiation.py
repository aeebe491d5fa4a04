import pytest
from playwright.sync_api import expect

from govdesk.conftest import PASSWORD, build_world
from govdesk.mall.tests.conftest import build_mall

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_purchaser_negotiates_with_a_supplier_and_the_supervisor_sees_savings_and_a_split(new_page):
    mall = build_mall(build_world())
    mall.order(total="9500", days_ago=5)  # earlier paper order of street A: the next one makes a split

    buyer = new_page()
    login(buyer, "buyer_a", PASSWORD)
    buyer.goto("/mall/catalogue/")
    buyer.fill("#catalogue-q", "fyz")  # pinyin initials of 复印纸
    expect(buyer.get_by_text("联想 台式电脑 M720")).to_have_count(0)  # htmx narrowed the results
    row = buyer.locator("tr", has_text="甲办公用品公司")
    expect(row).to_contain_text("A4复印纸")
    row.locator("input[name=quantity]").fill("10")
    row.get_by_role("button", name="加入购物车").click()
    expect(buyer.get_by_text("已将「得力 A4复印纸 7391」加入购物车")).to_be_visible()
    expect(buyer.get_by_text("合计 1100.00 元")).to_be_visible()
    buyer.get_by_role("button", name="提交订单").click()
    expect(buyer.locator("#order-status")).to_have_text("已下单")
    order_url = buyer.url
    buyer.fill("#offer-total", "950")
    buyer.get_by_role("button", name="发起议价").click()
    expect(buyer.locator("#negotiation-status")).to_have_text("议价中")

    seller = new_page()
    login(seller, "seller_x", PASSWORD)
    seller.goto(order_url)
    expect(seller.locator("#standing-total")).to_have_text("950.00")
    seller.fill("#counter-total", "1020")
    seller.get_by_role("button", name="还价").click()
    expect(seller.get_by_text("已提交新的报价")).to_be_visible()

    buyer.reload()
    expect(buyer.locator("#standing-total")).to_have_text("1020.00")
    buyer.fill("#counter-total", "1000")
    buyer.get_by_role("button", name="再次出价").click()

    seller.reload()
    expect(seller.locator("#standing-total")).to_have_text("1000.00")
    seller.get_by_role("button", name="接受对方报价").click()
    expect(seller.locator("#negotiation-status")).to_have_text("已达成")
    expect(seller.locator("#order-total")).to_have_text("1000.00 元")
    seller.get_by_role("button", name="确认订单").click()
    expect(seller.locator("#order-status")).to_have_text("供应商已确认")
    seller.get_by_role("button", name="发货").click()
    expect(seller.locator("#order-status")).to_have_text("已发货")

    buyer.reload()
    buyer.get_by_label("验收意见").fill("按时送达")
    buyer.get_by_role("button", name="验收").click()
    expect(buyer.locator("#order-status")).to_have_text("已验收")
    expect(buyer.locator("#order-savings")).to_have_text("100.00 元")
    buyer.goto("/mall/flags/")
    expect(buyer.get_by_text("疑似拆单")).to_have_count(0)

    supervisor = new_page()
    login(supervisor, "supervisor", PASSWORD)
    supervisor.goto("/mall/")
    expect(supervisor.locator("#fig-savings")).to_have_text("100.00")
    expect(supervisor.locator("[data-chart=mall-months] canvas")).to_have_count(1)
    supervisor.get_by_role("link", name="在线监管").click()
    flag_link = supervisor.get_by_role("link", name="疑似拆单")
    expect(flag_link).to_be_visible()
    flag_link.click()
    expect(supervisor.locator("#flag-message")).to_contain_text("合计 10,600.00 元，超过单次采购限额 10,000.00 元")


def test_a_price_agreed_on_the_cart_binds_the_order_placed_from_it(new_page):
    build_mall(build_world())

    buyer = new_page()
    login(buyer, "buyer_a", PASSWORD)
    buyer.goto("/mall/catalogue/")
    row = buyer.locator("tr", has_text="甲办公用品公司").filter(has_text="A4复印纸")
    row.locator("input[name=quantity]").fill("10")
    row.get_by_role("button", name="加入购物车").click()
    expect(buyer.get_by_text("合计 1100.00 元")).to_be_visible()
    buyer.fill("#cart-bid-1", "950")
    buyer.get_by_role("button", name="向供应商议价").click()
    expect(buyer.locator("#negotiation-status")).to_have_text("议价中")
    negotiation_url = buyer.url

    seller = new_page()
    login(seller, "seller_x", PASSWORD)
    seller.goto(negotiation_url)
    expect(seller.locator("#standing-total")).to_have_text("950.00")
    seller.fill("#counter-total", "1000")
    seller.get_by_role("button", name="还价").click()
    expect(seller.get_by_text("已提交新的报价")).to_be_visible()

    buyer.reload()
    expect(buyer.locator("#standing-total")).to_have_text("1000.00")
    buyer.get_by_role("button", name="接受对方报价").click()
    expect(buyer.locator("#negotiation-status")).to_have_text("已达成")
    expect(buyer.locator("#agreed-total")).to_have_text("1000.00")
    buyer.get_by_role("link", name="返回购物车").click()
    expect(buyer.get_by_text("议价已成交")).to_be_visible()
    buyer.get_by_role("button", name="提交订单").click()
    expect(buyer.locator("#order-status")).to_have_text("已下单")
    expect(buyer.locator("#order-total")).to_have_text("1000.00 元")
    expect(buyer.locator("#order-savings")).to_have_text("100.00 元")
