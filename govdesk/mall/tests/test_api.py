import json
from decimal import Decimal

import pytest
from django.test import Client

from govdesk.core import services as core
from govdesk.core.models import AuditEvent
from govdesk.core.testing import assert_status_matrix
from govdesk.mall import services
from govdesk.mall.models import Flag, Offer, Order

pytestmark = pytest.mark.django_db
API = "/api/v1/mall"


def post(client, url, data=None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def test_a_purchaser_searches_buys_and_negotiates_through_the_api(mall, client_for):
    buyer, seller = client_for(mall.buyer_a), client_for(mall.seller_x)
    found = buyer.get(f"{API}/offers", {"q": "fyz", "sort": "price"}).json()
    assert [o["supplier"] for o in found["items"]] == ["乙电商公司", "甲办公用品公司"]
    assert found["items"][0]["reference_price"] == "100.00" and found["next"] is None
    assert post(buyer, f"{API}/cart", {"offer_id": mall.paper_x.pk, "quantity": 10}).status_code == 201
    placed = post(buyer, f"{API}/orders", {"unit_id": mall.world.street_a.pk})
    assert placed.status_code == 201
    order_id = placed.json()["orders"][0]["id"]
    opened = post(buyer, f"{API}/orders/{order_id}/negotiations", {"total": "990.00"})
    assert opened.status_code == 201
    n_id = opened.json()["id"]
    countered = post(seller, f"{API}/negotiations/{n_id}/counter", {"round": 1, "total": "1040.00"})
    assert countered.json()["turn"] == "purchaser"
    stale = post(seller, f"{API}/negotiations/{n_id}/accept", {"round": 1})
    assert stale.status_code == 409 and "请刷新" in stale.json()["message"]  # answers a round already past
    agreed = post(buyer, f"{API}/negotiations/{n_id}/accept", {"round": 2}).json()
    assert agreed["status"] == "agreed" and [b["action"] for b in agreed["bids"]] == ["offer", "counter", "accept"]
    order = buyer.get(f"{API}/orders/{order_id}").json()
    assert (order["total"], order["savings"]) == ("1040.00", "60.00")
    assert post(seller, f"{API}/orders/{order_id}/confirm").json()["status"] == "confirmed"
    assert post(seller, f"{API}/orders/{order_id}/ship").json()["status"] == "shipped"
    refused = post(buyer, f"{API}/orders/{order_id}/accept", {"rating": 0})
    assert refused.status_code == 400 and refused.json()["fields"] == {"rating": "请给出 1–5 分"}
    assert post(buyer, f"{API}/orders/{order_id}/accept", {"rating": 4}).json()["rating"] == 4


def test_order_endpoints_follow_reach(mall, client_for):
    a = mall.order()
    b = mall.order(unit=mall.world.street_b, supplier=mall.supplier_y)
    w = mall.world
    assert_status_matrix(client_for, [
        (mall.buyer_a, f"{API}/orders/{a.pk}", 200), (mall.buyer_a, f"{API}/orders/{b.pk}", 404),
        (mall.seller_x, f"{API}/orders/{b.pk}", 404), (mall.seller_y, f"{API}/orders/{b.pk}", 200),
        (w.supervisor, f"{API}/orders/{b.pk}", 200), (w.outsider, f"{API}/orders/{a.pk}", 404),
    ])
    listed = client_for(mall.seller_x).get(f"{API}/orders").json()
    assert [o["id"] for o in listed["items"]] == [a.pk]
    response = post(client_for(w.supervisor), f"{API}/orders/{a.pk}/cancel", {"reason": "督查"})
    assert response.status_code == 403
    assert Order.objects.get(pk=a.pk).status == "placed"


def test_a_supplier_updates_price_and_stock_with_a_token(mall):
    _token, key = core.token_create(actor=mall.seller_x, owner=mall.seller_x, name="ERP 同步")
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    url = f"{API}/offers/{mall.paper_x.pk}"
    response = client.patch(url, json.dumps({"list_price": "108.50", "stock": 40}), content_type="application/json",
                            **auth)
    assert response.status_code == 200 and response.json()["list_price"] == "108.50"
    blocked = client.patch(url, json.dumps({"list_price": "130"}), content_type="application/json", **auth).json()
    assert blocked["status"] == "blocked" and "不予上架" in blocked["blocked_reason"]
    other = client.patch(f"{API}/offers/{mall.paper_y.pk}", json.dumps({"stock": 1}), content_type="application/json",
                         **auth)
    assert other.status_code == 404
    mall.paper_y.refresh_from_db()
    assert mall.paper_y.stock == 1000
    assert Offer.objects.get(pk=mall.paper_x.pk).stock == 40
    assert AuditEvent.objects.filter(object_type="mall.offer", object_id=str(mall.paper_x.pk),
                                     actor_name="seller_x").count() == 3  # created, repriced, blocked
    assert client.patch(url, json.dumps({"stock": 1}), content_type="application/json").status_code == 401


def test_flags_through_the_api_are_for_supervisors(mall, client_for):
    mall.order(total="6000", days_ago=2)
    mall.order(total="6000")
    services.sweep()
    flag = Flag.objects.get()
    assert client_for(mall.buyer_a).get(f"{API}/flags").json() == []
    items = client_for(mall.world.supervisor).get(f"{API}/flags").json()
    assert [f["rule"] for f in items] == ["split"] and items[0]["params"]["sum"] == "12000.00"
    response = post(client_for(mall.world.supervisor), f"{API}/flags/{flag.pk}/review",
                    {"status": "closed", "note": "已合并"})
    assert response.json()["status"] == "closed"
    assert post(client_for(mall.buyer_a), f"{API}/flags/{flag.pk}/review", {"status": "open"}).status_code == 404
    assert Decimal(items[0]["params"]["limit"]) == Decimal("10000")
