"""The offline collection page and its service worker (the browser journey is in tests/e2e)."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_offline_page_is_the_record_form_for_a_signed_in_collector(vets, client, client_for):
    assert client.get("/veterans/offline/").status_code == 302
    response = client_for(vets.collector_a).get("/veterans/offline/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-api="/api/v1/veterans/records/sync"' in page and 'data-worker="/veterans/offline/sw.js"' in page
    assert f'data-user="{vets.collector_a.pk}"' in page
    assert "甲一社区" in page and "乙一社区" not in page  # only communities within reach
    assert "veterans/offline.js" in page


def test_the_service_worker_is_served_at_the_pages_scope(client):
    response = client.get("/veterans/offline/sw.js")
    body = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/veterans/offline/"
    assert response["Cache-Control"] == "no-cache"
    assert 'const PAGE = "/veterans/offline/";' in body
    assert '"/static/veterans/offline.js"' in body and '"/static/core/app.css"' in body
