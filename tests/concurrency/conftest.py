"""Fixtures of the concurrency suite: real PostgreSQL connections, one per thread.

Every test here commits for real (``transaction=True``), so the repository's conftest gives it
serialized rollback. On SQLite, where writes are serialised anyway, the tests skip.
"""

from __future__ import annotations

import threading
from copy import deepcopy

import pytest
from django.db import connection, connections
from django.test import Client

from govdesk.conftest import World, build_world

NEEDS_POSTGRES = "needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/govdesk_dev"


@pytest.fixture
def pg(transactional_db):
    """Skip on SQLite: only PostgreSQL has parallel writers whose row locks are under test. A plain
    skip, as the modules' concurrency tests do: CI runs the suite on SQLite with
    GOVDESK_REQUIRE_SERVICES=1 and then on PostgreSQL, where these run (and a PostgreSQL that
    DATABASE_URL names but that does not answer fails the test database's creation)."""
    if connection.vendor != "postgresql":
        pytest.skip(NEEDS_POSTGRES)


@pytest.fixture
def world(pg) -> World:
    return build_world()


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT


def at_once(*calls, timeout: float = 30):
    """Run the calls at the same moment, each in its own thread and so on its own database
    connection; return what each returned or raised, in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=timeout)
            results[i] = call()
        except Exception as e:  # noqa: BLE001 — the caller inspects the outcome
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 30)
    assert not any(t.is_alive() for t in threads), "a request never finished (deadlock?)"
    return results


def browser_tabs(user, count: int = 2) -> list[Client]:
    """``count`` clients sharing one logged-in session, as a double click in one browser does."""
    first = Client(raise_request_exception=False)
    first.force_login(user)
    tabs = [first]
    for _ in range(count - 1):
        other = Client(raise_request_exception=False)
        other.cookies = deepcopy(first.cookies)
        tabs.append(other)
    return tabs
