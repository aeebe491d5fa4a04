"""The role × reach matrix every module's tests reuse.

``assert_visible_set(Model, user, expected)`` checks the exact set a user sees;
``assert_page_reach(client_for, url_for, cases)`` requests a detail page (or an API
endpoint) as each user and checks the status: 200 inside reach, 404 outside.
``assert_write_refused`` checks that a service refuses and leaves nothing written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from .errors import Forbidden, NotInReach
from .models import AuditEvent
from .reach import CHANGE, VIEW


def visible_ids(model, user, action: str = VIEW) -> set:
    return set(model.objects.restrict(user, action).values_list("pk", flat=True))


def assert_visible_set(model, user, expected: Iterable, action: str = VIEW) -> None:
    expected_ids = {getattr(obj, "pk", obj) for obj in expected}
    got = visible_ids(model, user, action)
    assert got == expected_ids, (
        f"{user} {action} {model.__name__}: extra {sorted(got - expected_ids)}, missing {sorted(expected_ids - got)}")


def assert_status_matrix(client_for, cases: Iterable[tuple], *, method: str = "get", data=None) -> None:
    """cases: (user, url, expected status) — every mismatch is reported together."""
    failures = []
    for user, url, expected in cases:
        client = client_for(user)
        response = getattr(client, method)(url, data=data) if data is not None else getattr(client, method)(url)
        if response.status_code != expected:
            failures.append(f"{user} {method.upper()} {url}: {response.status_code}, expected {expected}")
    assert not failures, "\n".join(failures)


def assert_write_refused(call: Callable[[], object], *, models: Iterable = (), expect=(NotInReach, Forbidden)) -> None:
    """The service call is refused and neither the given models nor the audit trail changed."""
    tracked = list(models) + [AuditEvent]
    before = {m: m.objects.count() for m in tracked}
    with pytest.raises(expect):
        call()
    after = {m: m.objects.count() for m in tracked}
    assert before == after, f"a refused write changed row counts: {before} -> {after}"


__all__ = ["assert_status_matrix", "assert_visible_set", "assert_write_refused", "visible_ids", "VIEW", "CHANGE"]
