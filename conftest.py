"""Test-session hooks for the whole repository (fixtures live in govdesk/conftest.py)."""

import pytest


def pytest_collection_modifyitems(items):
    """Every test that commits for real (browser tests on the live server, concurrency
    tests on PostgreSQL) runs with serialized rollback. Their flush would otherwise wipe
    the reference rows that data migrations seed (categories, industries, report kinds),
    and a plain flush re-creates content types that the next restore then collides with."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        fixtures = getattr(item, "fixturenames", ())
        commits = (marker is not None and marker.kwargs.get("transaction")) or \
            "live_server" in fixtures or "transactional_db" in fixtures
        if commits:
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
