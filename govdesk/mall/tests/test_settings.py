"""The district administrator's thresholds and unit budgets."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from govdesk.core.models import AuditEvent
from govdesk.core.testing import assert_status_matrix, assert_write_refused
from govdesk.mall import services
from govdesk.mall.models import MallPolicy, Offer, UnitBudget

pytestmark = pytest.mark.django_db


def test_a_changed_listing_markup_applies_to_the_next_offer(mall):
    services.policy_update(actor=mall.world.admin, district=mall.world.district, listing_markup_pct=Decimal("5"))
    offer = services.offer_update(actor=mall.seller_x, offer=mall.paper_x, list_price="106")
    assert offer.status == Offer.Status.BLOCKED and "超过允许的 5%" in offer.blocked_reason
    event = AuditEvent.objects.get(object_type="mall.mallpolicy")
    assert event.changes == {"listing_markup_pct": ["20", "5"]}


def test_only_the_district_administrator_changes_thresholds_and_budgets(mall):
    w = mall.world
    for actor in (w.supervisor, w.officer_a, mall.buyer_a):
        assert_write_refused(lambda a=actor: services.policy_update(actor=a, district=w.district, share_pct=1),
                             models=[MallPolicy])
        assert_write_refused(lambda a=actor: services.budget_set(actor=a, unit=w.street_a, year=2026, amount="1"),
                             models=[UnitBudget])


def test_a_budget_set_through_the_page_stops_an_order_over_it(mall, client_for):
    year = timezone.localdate().year
    client = client_for(mall.world.admin)
    response = client.post(reverse("mall:settings"), {"budget": "1", "b-unit": mall.world.street_a.pk,
                                                      "b-year": year, "b-amount": "500", "b-mode": "stop"})
    assert response.status_code == 302
    assert UnitBudget.objects.get().amount == Decimal("500.00")
    services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=5)  # 550 > 500
    with pytest.raises(services.ServiceError, match="将超出预算"):
        services.order_place(actor=mall.buyer_a, unit=mall.world.street_a)
    assert_status_matrix(client_for, [(mall.world.admin, reverse("mall:settings"), 200),
                                      (mall.world.supervisor, reverse("mall:settings"), 404),
                                      (mall.buyer_a, reverse("mall:settings"), 404)])


def test_the_policy_form_saves_the_split_window(mall, client_for):
    data = {"policy": "1", "p-listing_markup_pct": "20", "p-price_flag_pct": "10", "p-split_window_days": "15",
            "p-cluster_pct": "10", "p-cluster_count": "3", "p-share_pct": "60", "p-share_min_total": "100000", "p-frequent_days": "7", "p-frequent_count": "10",
            "p-autocancel_days": "3", "p-negotiation_days": "3"}
    client_for(mall.world.admin).post(reverse("mall:settings"), data)
    assert services.policy_for(mall.world.street_a).split_window_days == 15
    mall.order(total="6000", days_ago=20)
    mall.order(total="6000", days_ago=1)
    assert services.sweep() == 0  # 19 days apart: outside a 15-day window
