"""The whole reach matrix: every page and every API operation × every role of ``world`` ×
an object in reach and its twin out of reach, checked against the declared table in
``routes.py``. A route the table does not cover fails the build.

Each request runs in a savepoint that is rolled back afterwards, so every request meets the
same world (a permitted POST that closes a campaign does not change what the next role sees).
A refused request must also have written no audit event.
"""

from __future__ import annotations

import json
import os

import pytest
from django.urls import reverse

from .factories import Objects
from .matrix import DENIED, People, form_data, minimal_body, roles_for
from .routes import BUYER, COLLECTOR, MODULE_ROLES, ROUTES, SWAP, Spec
from .urlconf import api_routes, page_routes

APPS = ("core", "invest", "mall", "coal", "veterans", "contest")
# A path prefix: instead of checking, write what every route answers to PREFIX.<app>.json
# (status, audit events written, street-B markers seen by street A's officer, whether the page's
# form was submitted) — the raw material for reviewing and updating the table.
RECORD = os.environ.get("GOVDESK_MATRIX_RECORD")


def app_of(route) -> str:
    if route.is_api:
        return route.name.split("_")[1]
    app = route.name.split(":")[0]
    return "core" if app == "api" else app  # the API's document and viewer go with core


def all_routes():
    return page_routes() + api_routes()


def test_the_table_covers_every_route_and_nothing_else():
    names = {r.name for r in all_routes()}
    missing = sorted(names - ROUTES.keys())
    stale = sorted(ROUTES.keys() - names)
    assert not missing, f"routes without a declared reach in tests/security/routes.py: {missing}"
    assert not stale, f"routes declared in tests/security/routes.py that no longer exist: {stale}"


def test_module_people_are_declared_only_on_their_own_modules_routes():
    routes = {r.name: r for r in all_routes()}
    module_people = {role for roles in MODULE_ROLES.values() for role in roles}
    misplaced = []
    for name, spec in ROUTES.items():
        own = set(MODULE_ROLES.get(app_of(routes[name]), ())) if name in routes else set()
        for roles in (spec.read or set(), spec.write or set()):
            misplaced += [f"{name}: {role}" for role in (set(roles) & module_people) - own]
    assert not misplaced, misplaced


def test_every_declared_kind_of_object_has_a_factory_and_a_swap_rule():
    kinds = {k for spec in ROUTES.values() for k in spec.kinds.values() if not k.startswith("=")}
    assert kinds <= SWAP.keys(), sorted(kinds - SWAP.keys())
    missing = [k for k in kinds if not hasattr(Objects, "_" + k.split(".")[0])]
    assert not missing


def _url(route, spec: Spec, objects: Objects, side: int):
    """The URL for the object on ``side`` (0 inside, 1 outside), or None if that side has no object."""
    values = {}
    for param in route.params:
        kind = spec.kinds[param]
        if kind.startswith("="):
            values[param] = kind[1:]
            continue
        obj = objects.get(kind)[side]
        if obj is None:
            return None
        values[param] = obj.uuid if (param.endswith("uuid") or kind == "veterans.upload") else obj.pk
    if route.is_api:
        path = route.pattern
        for key, value in values.items():
            path = path.replace("{" + key + "}", str(value))
        return path
    return reverse(route.name, kwargs=values)


def _allowed(spec: Spec, roles, side: int) -> set:
    if roles is None:
        return set()
    if side == 0 or not spec.swap_kind:
        return set(roles)
    swap = SWAP[spec.swap_kind]
    return {swap.get(r, r) for r in roles} - {None}


def _check(route, spec, method, side, role, status, written, response, allowed_inside, allowed) -> str | None:
    where = f"{route.name} {method} {'in' if side == 0 else 'out'} as {role}: {status}"
    if status >= 500:
        return f"{where} (server error)"
    if role == "anonymous" and spec.public:
        if method == "GET":
            return None if status in spec.get_ok | {200} else f"{where}, expected a public page"
        return f"{where}: wrote as anonymous" if written and route.name != "core:login" else None
    if role == "anonymous":
        if route.is_api:
            return None if status == 401 else f"{where}, expected 401"
        if status == 302 and "/login/" in response.get("Location", ""):
            return None
        return f"{where}, expected a redirect to the login page"
    if role in allowed:
        if method == "GET" and not route.is_api:
            ok = spec.get_ok
            return None if status in ok else f"{where}, expected {sorted(ok)}"
        if status in DENIED | {401, 405}:
            return f"{where}, expected the role to be let in"
        if spec.effect and not written:
            return f"{where}, expected the write to happen (no audit event)"
        return None
    if written and method != "GET":
        return f"{where}: refused but wrote {written} audit event(s)"
    if side == 1 and role in allowed_inside:
        return None if status == 404 else f"{where}, expected 404 (out of reach)"
    if status in DENIED:
        return None
    if method != "GET" and status in SOFT_REFUSAL:
        return None  # refused with a message on the page (or a validation error), nothing written
    return f"{where}, expected 403 or 404"


# A page may answer a refused POST with its form and a message (200) or a redirect with a
# message (302); the API may stop a body at validation (400/422). Either way nothing is written,
# which is checked above. Out of reach is always exactly 404.
SOFT_REFUSAL = {200, 302, 400, 409, 422}

# Names and numbers that exist only in street B's records (and another department's): street A's
# officer, purchaser and collector must never see them on any page.
STREET_A_PEOPLE = ("officer_a", BUYER, COLLECTOR)
MARKERS_B = ("李某某家", "乙地块", "乙大厦", "乙一1号院", "乙一社区", "财政局联系企业", "乙通知")


def _form(people: People, url: str, spec: Spec, side: int) -> dict:
    """What the page's own form would submit (see ``matrix.form_data``): a POST that can really succeed."""
    for role in ("admin", *sorted(_allowed(spec, spec.read or (), side))):
        status, _written, response = people.request(role, "GET", url)
        if status == 200 and "html" in response.get("Content-Type", "") and not response.streaming:
            return form_data(response.content.decode("utf-8", "replace"), url)
    return {}


def _probe_spec(route, app) -> Spec:
    """Recording: try every method as everybody, with the URL arguments' kinds from the table
    (a new route with arguments needs its ``kinds`` written into ``routes.py`` first)."""
    from .routes import EVERYONE

    everyone = EVERYONE | set(MODULE_ROLES.get(app, ()))
    api_get = route.is_api and route.method == "GET"
    known = ROUTES.get(route.name)
    return Spec(read=everyone if (not route.is_api or api_get) else None,
                write=everyone if (not route.is_api or not api_get) else None, kinds=known.kinds if known else {})


def _methods(route, spec: Spec):
    if route.is_api:
        roles = spec.read if route.method == "GET" else spec.write
        return [(route.method, roles)]
    out = []
    if spec.read is not None:
        out.append(("GET", spec.read))
    if spec.write is not None:
        out.append(("POST", spec.write))
    return out


@pytest.mark.parametrize("app", APPS)
def test_every_route_answers_each_role_as_declared(app, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    objects = Objects(world)
    people = People(world, objects)
    people.join(MODULE_ROLES.get(app, ()))
    from govdesk.api import api

    schema = api.get_openapi_schema()
    failures, observed, checked, seen_routes = [], {}, 0, set()
    for route in all_routes():
        if app_of(route) != app:
            continue
        seen_routes.add(route.name)
        spec = _probe_spec(route, app) if RECORD else ROUTES[route.name]
        body = None
        if route.is_api:
            body = minimal_body(schema, schema["paths"][route.pattern][route.method.lower()], world.district.pk)
            for name, kind in spec.body_kinds.items():
                body[name] = objects.get(kind)[0].pk
        for method, roles in _methods(route, spec):
            for side in (0, 1):
                url = _url(route, spec, objects, side)
                if url is None or (side == 1 and not spec.kinds_with_objects):
                    continue
                allowed_inside = _allowed(spec, roles, 0)
                allowed = _allowed(spec, roles, side)
                data = _form(people, url, spec, side) if method == "POST" and not route.is_api else None
                for role in roles_for(app):
                    if side == 1 and role == "anonymous":
                        continue  # the same login page as for the inside object
                    status, written, response = people.request(role, method, url, api=route.is_api, body=body,
                                                               data=data)
                    checked += 1
                    seen = []
                    if role in STREET_A_PEOPLE and status == 200 and method == "GET" and not response.streaming:
                        text = response.content.decode("utf-8", "replace")
                        seen = [m for m in MARKERS_B if m in text]
                        if seen:  # lists, search, charts and fragments are narrowed too
                            failures.append(f"{route.name} GET as {role} shows street B's {seen}")
                    observed[f"{route.name}|{method}|{side}|{role}"] = [status, written, seen, bool(data)]
                    problem = _check(route, spec, method, side, role, status, written, response,
                                     allowed_inside, allowed)
                    if problem:
                        failures.append(problem)
    if RECORD:
        path = f"{RECORD}.{app}.json"
        with open(path, "w") as fh:
            json.dump(observed, fh, indent=0, ensure_ascii=False)
        return
    print(f"matrix {app}: {len(seen_routes)} routes, {checked} answers checked")
    assert checked > 0
    assert not failures, f"{len(failures)} of {checked} answers differ from the table:\n" + "\n".join(failures)
