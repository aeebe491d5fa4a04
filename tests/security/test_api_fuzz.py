"""API fuzzing: Schemathesis generates requests from the live OpenAPI document for every
operation and sends them to the WSGI application, authenticated with the API tokens of
several roles. Each operation is tried with random path parameters and with the id of a
real record in reach, in positive (schema-valid) and negative (schema-breaking) modes.
Checks: no server error, and every documented response matches its declared schema.

Budget: ``GOVDESK_FUZZ_EXAMPLES`` examples per operation, role, mode and path choice (default 2); the
whole module stays well under two minutes on SQLite. Each request runs in a savepoint that is
rolled back, so a generated write never changes what the next example meets.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from govdesk.core import services as core

from .factories import Objects
from .routes import ROUTES

EXAMPLES = int(os.environ.get("GOVDESK_FUZZ_EXAMPLES", "2"))
APPS = ("core", "invest", "mall", "coal", "veterans", "contest")
ROLES = ("admin", "officer_a")  # a district and a street: every operation is tried as both


def _schema():
    from govdesk.api import api

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema())
    loaded.app = WSGIHandler()
    return loaded


def _real_path(op, objects: Objects) -> dict | None:
    spec = ROUTES.get(op.definition.raw.get("operationId", ""))
    if spec is None or not spec.kinds:
        return None
    values = {}
    for param, kind in spec.kinds.items():
        if kind.startswith("="):
            values[param] = kind[1:]
            continue
        obj = objects.get(kind)[0]
        values[param] = str(obj.uuid) if (param.endswith("uuid") or kind == "veterans.upload") else obj.pk
    return values


def _fuzzer(strategy, headers: dict, counter: list):
    """A Hypothesis test of one strategy: each case is sent in a savepoint that is rolled back."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        sid = transaction.savepoint()
        try:
            response = case.call(headers=headers)
            counter[0] += 1
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        finally:
            transaction.savepoint_rollback(sid)

    return run


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """The WSGI handler closes the database connection after each request; the test's
    transaction lives on it, so (as Django's test client does) keep it open."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.parametrize("app", APPS)
def test_no_api_operation_errs_or_breaks_its_schema(app, world, wsgi_keeps_the_test_connection):
    schema = _schema()
    objects = Objects(world)
    tokens = {}
    for role in ROLES:
        user = getattr(world, role)
        tokens[role] = core.token_create(actor=user, owner=user, name=f"fuzz-{role}")[1]
    failures: list[str] = []
    counter = [0]
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(f"/api/v1/{app}/")]
    assert operations, f"no operation under /api/v1/{app}/"
    for op in operations:
        real = _real_path(op, objects)
        strategies = []
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append(op.as_strategy(generation_mode=mode))
            if real:
                strategies.append(op.as_strategy(generation_mode=mode, path_parameters=real))
        for role in ROLES:
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            for strategy in strategies:
                run = _fuzzer(strategy, headers, counter)
                try:
                    run()
                except Exception as exc:  # collect every operation's failure, then report them together
                    first = str(exc).strip().splitlines()[:6]
                    failures.append(f"{op.method.upper()} {op.path} as {role}: " + " | ".join(first))
                    break
    sent = counter[0]
    print(f"fuzz {app}: {len(operations)} operations, {sent} requests")
    assert sent > 0
    assert not failures, f"{len(failures)} failing operation(s):\n" + "\n".join(failures)


def test_no_two_api_schemas_share_a_name():
    """django-ninja names OpenAPI components after the schema class: two apps' ``TaskOut``
    (or ``MoveIn``) would share one component, and one endpoint would be documented with the
    other's shape (the fuzzer found exactly that)."""
    import ast
    from pathlib import Path

    seen: dict[str, str] = {}
    clashes = []
    for path in sorted(Path(__file__).resolve().parents[2].joinpath("govdesk").glob("*/api*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and node.bases:
                if node.name in seen:
                    clashes.append(f"{node.name}: {seen[node.name]} and {path.parent.name}/{path.name}")
                seen[node.name] = f"{path.parent.name}/{path.name}"
    assert not clashes, clashes
