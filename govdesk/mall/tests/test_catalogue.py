"""Catalogue search: pinyin initials of the name alone find a branded product."""

import pytest
from django.urls import reverse

from govdesk.mall import queries, services

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["tsdn", "lxtsdn", "TSDN", "tsjsj"])
def test_pinyin_initials_of_the_name_with_or_without_the_brand_find_the_product(mall, typed):
    # 联想 台式电脑 (category 台式计算机): name, brand + name, the category's initials
    found = {o.product.name for o in queries.catalogue_search(mall.buyer_a, q=typed)}
    assert found == {"台式电脑"}


def test_name_initials_find_a_product_whose_name_starts_with_latin_letters(mall):
    found = {o.product.name for o in queries.catalogue_search(mall.buyer_a, q="a4fyz")}
    assert found == {"A4复印纸"}
    assert not list(queries.catalogue_search(mall.buyer_a, q="fyzz"))  # initials, not any substring


def test_the_catalogue_page_finds_by_name_initials(mall, client_for):
    page = client_for(mall.buyer_a).get(reverse("mall:catalogue"), {"q": "tsdn"}).content.decode()
    assert "台式电脑" in page and "A4复印纸" not in page


def test_a_products_initials_are_its_names_then_its_brand_and_names():
    assert services.product_initials("联想", "台式电脑") == "tsdn lxtsdn"
    assert services.product_initials("", "台式电脑") == "tsdn"
