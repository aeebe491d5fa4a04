"""What an API client sees of the unit's internal approval, the negotiations a supplier must
answer, withdrawing and relisting offers, the catalogue's price range and the cart line's
quantity: real requests through Django's test client, on the real database."""

import json

import pytest
from django.test import Client

from govdesk.core import services as core
from govdesk.core.models import AuditEvent
from govdesk.core.testing import assert_status_matrix
from govdesk.mall import services
from govdesk.mall.models import Offer, Order

pytestmark = pytest.mark.django_db
API = "/api/v1/mall"


def post(client, url, data=None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def token_client(user) -> Client:
    """A client that authenticates only with an API token, as a supplier's ERP does."""
    _token, key = core.token_create(actor=user, owner=user, name="ERP 同步")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def place(client, unit, offer, quantity) -> dict:
    assert post(client, f"{API}/cart", {"offer_id": offer.pk, "quantity": quantity}).status_code == 201
    placed = post(client, f"{API}/orders", {"unit_id": unit.pk})
    assert placed.status_code == 201
    return placed.json()["orders"][0]


# --- internal approval ------------------------------------------------------------------------------

@pytest.fixture
def approval_rule(mall):
    return services.approval_rule_set(actor=mall.world.officer_a, unit=mall.world.street_a, threshold="1000")


def test_an_officer_of_the_unit_approves_a_pending_order(mall, client_for, approval_rule):
    buyer, officer = client_for(mall.buyer_a), client_for(mall.world.officer_a)
    order = place(buyer, mall.world.street_a, mall.paper_x, 10)  # 1,100 > 1,000
    assert order["status"] == "pending"
    url = f"{API}/orders/{order['id']}/approve"
    own = post(buyer, url)
    assert own.status_code == 403 and own.json()["code"] == "forbidden" and "经办人" in own.json()["message"]
    assert post(client_for(mall.world.officer_b), url).status_code == 404
    assert post(client_for(mall.world.outsider), url).status_code == 404
    assert post(client_for(mall.world.supervisor), url).status_code == 403
    assert Order.objects.get(pk=order["id"]).status == "pending"
    approved = post(officer, url)
    assert approved.status_code == 200 and approved.json()["status"] == "placed"
    again = post(officer, url)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert post(client_for(mall.seller_x), f"{API}/orders/{order['id']}/confirm").json()["status"] == "confirmed"


def test_an_officer_declines_a_pending_order_with_a_reason(mall, client_for, approval_rule):
    buyer, officer = client_for(mall.buyer_a), client_for(mall.world.officer_a)
    order = place(buyer, mall.world.street_a, mall.paper_x, 10)
    url = f"{API}/orders/{order['id']}/decline"
    missing = post(officer, url)
    assert missing.status_code == 422 and "reason" in missing.json()["fields"]
    blank = post(officer, url, {"reason": "  "})
    assert blank.status_code == 400 and blank.json()["fields"] == {"reason": "请填写退回理由"}
    assert post(client_for(mall.world.officer_b), url, {"reason": "不同意"}).status_code == 404
    assert post(buyer, url, {"reason": "不要了"}).status_code == 403
    declined = post(officer, url, {"reason": "预算已用完"})
    assert declined.status_code == 200
    assert (declined.json()["status"], declined.json()["cancel_reason"]) == ("cancelled", "单位审核未通过：预算已用完")
    seen = buyer.get(f"{API}/orders/{order['id']}").json()
    assert seen["status"] == "cancelled"
    assert post(officer, f"{API}/orders/{order['id']}/approve").status_code == 409
    assert Offer.objects.get(pk=mall.paper_x.pk).stock == 1000  # the stock the order held is given back


def test_an_order_that_needs_no_approval_cannot_be_approved(mall, client_for):
    order = mall.order()
    response = post(client_for(mall.world.officer_a), f"{API}/orders/{order.pk}/approve")
    assert response.status_code == 409 and "不需要审核" in response.json()["message"]


# --- negotiations a supplier must answer -------------------------------------------------------------

@pytest.fixture
def negotiations(mall, client_for):
    """Street A's buyer bargains on an order with supplier X and on a cart with supplier X;
    street B's buyer on an order with supplier Y."""
    buyer_a, buyer_b = client_for(mall.buyer_a), client_for(mall.buyer_b)
    order_a = place(buyer_a, mall.world.street_a, mall.paper_x, 10)  # 1,100.00
    line_id = order_a["lines"][0]["id"]
    on_order = post(buyer_a, f"{API}/orders/{order_a['id']}/negotiations",
                    {"line_amounts": {str(line_id): "990.00"}, "note": "量大请优惠"})
    assert on_order.status_code == 201, on_order.json()
    order_b = place(buyer_b, mall.world.street_b, mall.paper_y, 10)
    on_b = post(buyer_b, f"{API}/orders/{order_b['id']}/negotiations", {"total": "1000.00"})
    assert post(buyer_a, f"{API}/cart", {"offer_id": mall.laptop_x.pk, "quantity": 2}).status_code == 201
    on_cart = post(buyer_a, f"{API}/cart/negotiations",
                   {"supplier_id": mall.supplier_x.pk, "category_id": mall.pcs.pk, "total": "9500.00"})
    assert on_cart.status_code == 201, on_cart.json()
    return {"order": on_order.json(), "order_line": line_id, "order_id": order_a["id"], "b": on_b.json(),
            "cart": on_cart.json()}


def test_a_supplier_with_a_token_lists_the_negotiations_awaiting_its_answer(mall, negotiations,
                                                                             django_assert_max_num_queries):
    seller = token_client(mall.seller_x)
    with django_assert_max_num_queries(5):
        page = seller.get(f"{API}/negotiations", {"status": "open", "turn": "supplier"})
    assert page.status_code == 200
    items = page.json()["items"]
    assert [n["id"] for n in items] == [negotiations["cart"]["id"], negotiations["order"]["id"]]  # newest first
    assert page.json()["next"] is None
    on_order, on_cart = items[1], items[0]
    assert (on_order["order_id"], on_order["supplier"], on_order["org_unit"], on_order["category"]) == (
        negotiations["order_id"], "甲办公用品公司", mall.world.street_a.name, "复印纸")
    assert on_order["supplier_id"] == mall.supplier_x.pk and on_order["order_number"]
    assert (on_order["bid_total"], on_order["ask_total"], on_order["turn"]) == ("990.00", "1100.00", "supplier")
    assert on_cart["order_id"] is None and on_cart["category"] == "台式计算机"
    assert "bids" not in on_order  # the list stays light; the detail carries the bids
    other = token_client(mall.seller_y).get(f"{API}/negotiations").json()["items"]
    assert [n["id"] for n in other] == [negotiations["b"]["id"]]
    assert Client().get(f"{API}/negotiations").status_code == 401


def test_the_negotiation_list_filters_by_status_and_pages(mall, negotiations, client_for):
    seller = token_client(mall.seller_x)
    n_id = negotiations["order"]["id"]
    assert post(seller, f"{API}/negotiations/{n_id}/accept", {"round": 1}).json()["status"] == "agreed"
    assert [n["id"] for n in seller.get(f"{API}/negotiations", {"status": "agreed"}).json()["items"]] == [n_id]
    assert [n["id"] for n in seller.get(f"{API}/negotiations", {"status": "open"}).json()["items"]] == [
        negotiations["cart"]["id"]]
    assert [n["id"] for n in seller.get(f"{API}/negotiations", {"turn": "purchaser"}).json()["items"]] == []
    for _ in range(50):  # 52 negotiations of supplier X: two pages of 50
        services.negotiation_open(actor=mall.buyer_a, order=mall.order(total="1000.00"), total="900")
    first = seller.get(f"{API}/negotiations").json()
    assert len(first["items"]) == 50 and first["next"]
    second = seller.get(f"{API}/negotiations{first['next']}").json()
    assert second["next"] is None
    seen = [n["id"] for n in first["items"] + second["items"]]
    assert len(seen) == len(set(seen)) == 52
    assert negotiations["b"]["id"] not in seen


def test_a_supplier_reads_a_negotiation_with_its_bids(mall, negotiations):
    seller = token_client(mall.seller_x)
    n_id, line_id = negotiations["order"]["id"], str(negotiations["order_line"])
    detail = seller.get(f"{API}/negotiations/{n_id}")
    assert detail.status_code == 200
    bids = detail.json()["bids"]
    assert [(b["round"], b["side"], b["action"], b["by"], b["total"], b["note"]) for b in bids] == [
        (1, "purchaser", "offer", "buyer_a", "990.00", "量大请优惠")]
    assert {k: str(v) for k, v in bids[0]["line_amounts"].items()} == {line_id: "990.00"} and bids[0]["at"]
    countered = post(seller, f"{API}/negotiations/{n_id}/counter",
                     {"round": 1, "total": "1050.00", "note": "最低价"})
    assert countered.status_code == 200
    bids = seller.get(f"{API}/negotiations/{n_id}").json()["bids"]
    assert [(b["round"], b["by"], b["action"], b["total"], b["note"]) for b in bids] == [
        (1, "buyer_a", "offer", "990.00", "量大请优惠"), (2, "seller_x", "counter", "1050.00", "最低价")]
    cart = seller.get(f"{API}/negotiations/{negotiations['cart']['id']}").json()
    assert cart["order_id"] is None and cart["basket"] and cart["bids"][0]["total"] == "9500.00"


def test_a_negotiation_is_read_only_within_reach(mall, negotiations, client_for):
    w = mall.world
    url_a = f"{API}/negotiations/{negotiations['order']['id']}"
    url_b = f"{API}/negotiations/{negotiations['b']['id']}"
    assert_status_matrix(client_for, [
        (mall.buyer_a, url_a, 200), (mall.seller_x, url_a, 200), (w.officer_a, url_a, 200), (w.supervisor, url_a, 200),
        (mall.seller_y, url_a, 404), (mall.buyer_b, url_a, 404), (w.officer_b, url_a, 404), (w.outsider, url_a, 404),
        (mall.buyer_a, url_b, 404), (mall.seller_x, url_b, 404), (mall.seller_y, url_b, 200),
    ])
    assert token_client(mall.seller_y).get(url_a).json()["code"] == "not_found"
    assert client_for(w.outsider).get(f"{API}/negotiations").json() == {"items": [], "next": None}
    assert Client().get(url_a).status_code == 401


# --- withdrawing and relisting offers ------------------------------------------------------------------

def test_a_supplier_withdraws_and_relists_an_offer_with_a_token(mall, client_for):
    seller, buyer = token_client(mall.seller_x), client_for(mall.buyer_a)
    url = f"{API}/offers/{mall.paper_x.pk}"

    def listed_suppliers():
        return [o["supplier"] for o in buyer.get(f"{API}/offers", {"q": "fyz"}).json()["items"]]

    withdrawn = post(seller, f"{url}/withdraw", {"reason": "停产"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert listed_suppliers() == ["乙电商公司"]
    assert post(buyer, f"{API}/cart", {"offer_id": mall.paper_x.pk}).status_code == 404  # gone from the shelf
    again = post(seller, f"{url}/withdraw")
    assert again.status_code == 409 and again.json() == {"code": "conflict", "message": "该报价已下架", "fields": {}}
    event = AuditEvent.objects.get(object_type="mall.offer", object_id=str(mall.paper_x.pk), verb="withdraw")
    assert event.actor_name == "seller_x" and event.changes["reason"] == "停产"
    relisted = post(seller, f"{url}/relist")
    assert relisted.status_code == 200 and relisted.json()["status"] == "listed"
    assert listed_suppliers() == ["乙电商公司", "甲办公用品公司"]
    not_withdrawn = post(seller, f"{url}/relist")
    assert not_withdrawn.status_code == 409 and not_withdrawn.json()["message"] == "该报价未下架"


def test_a_relisted_offer_passes_the_listing_rule_again(mall):
    seller = token_client(mall.seller_x)
    url = f"{API}/offers/{mall.paper_x.pk}"
    assert post(seller, f"{url}/withdraw").json()["status"] == "withdrawn"
    repriced = seller.patch(url, json.dumps({"list_price": "130"}), content_type="application/json").json()
    assert repriced["status"] == "withdrawn"  # a price change does not put it back on the shelf
    relisted = post(seller, f"{url}/relist").json()
    assert relisted["status"] == "blocked" and "不予上架" in relisted["blocked_reason"]


def test_only_the_offers_supplier_withdraws_or_relists_it(mall, client_for):
    w = mall.world
    seller_y = token_client(mall.seller_y)
    for action in ("withdraw", "relist"):
        assert post(seller_y, f"{API}/offers/{mall.paper_x.pk}/{action}").status_code == 404
        for user in (mall.buyer_a, w.officer_a, w.outsider):
            assert post(client_for(user), f"{API}/offers/{mall.paper_x.pk}/{action}").status_code == 404
        assert post(Client(), f"{API}/offers/{mall.paper_x.pk}/{action}").status_code == 401
    assert post(client_for(w.supervisor), f"{API}/offers/{mall.paper_x.pk}/withdraw").status_code == 404
    assert Offer.objects.get(pk=mall.paper_x.pk).status == "listed"
    assert not AuditEvent.objects.filter(verb="withdraw").exists()


# --- catalogue price range ------------------------------------------------------------------------------

def test_the_catalogue_search_filters_by_price_range(mall, client_for):
    buyer = client_for(mall.buyer_a)

    def prices(**params):
        response = buyer.get(f"{API}/offers", params)
        assert response.status_code == 200, response.json()
        return [o["list_price"] for o in response.json()["items"]]

    assert prices() == ["105.00", "110.00", "5000.00"]
    assert prices(min_price="106") == ["110.00", "5000.00"]
    assert prices(max_price="108.5") == ["105.00"]
    assert prices(min_price="105", max_price="110") == ["105.00", "110.00"]  # both ends included
    assert prices(q="fyz", min_price="200") == []
    bad = buyer.get(f"{API}/offers", {"min_price": "abc"})
    assert bad.status_code == 422 and "min_price" in bad.json()["fields"]


# --- cart line quantity --------------------------------------------------------------------------------

def test_a_cart_line_quantity_is_set_without_naming_the_offer(mall, client_for):
    buyer = client_for(mall.buyer_a)
    line = post(buyer, f"{API}/cart", {"offer_id": mall.paper_x.pk, "quantity": 2}).json()
    url = f"{API}/cart/{line['id']}"
    changed = post(buyer, url, {"quantity": 5})
    assert changed.status_code == 200 and changed.json() == {"id": line["id"], "offer_id": mall.paper_x.pk,
                                                             "quantity": 5}
    legacy = post(buyer, url, {"offer_id": mall.paper_x.pk, "quantity": 6})  # what older clients send
    assert legacy.status_code == 200 and legacy.json()["quantity"] == 6
    assert post(client_for(mall.buyer_b), url, {"quantity": 1}).status_code == 404
    removed = post(buyer, url, {"quantity": 0})
    assert removed.status_code == 204
    assert buyer.get(f"{API}/cart").json() == []


def test_the_schema_says_the_cart_lines_offer_id_is_optional(client):
    schema = client.get("/api/v1/openapi.json").json()
    body = schema["paths"][f"{API}/cart/{{line_id}}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    ref = body["$ref"].rsplit("/", 1)[-1]
    cart_set = schema["components"]["schemas"][ref]
    assert "offer_id" not in cart_set.get("required", [])
    assert "ignored" in cart_set["properties"]["offer_id"]["description"]
