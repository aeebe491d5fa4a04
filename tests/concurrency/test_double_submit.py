"""The same form posted twice at the same moment, on every route that really writes.

The routes are those of the declared table (``tests/security/routes.py``) whose permitted POST
writes (``effect=True``: pages and API operations), on the objects ``tests/security/factories.py``
builds, plus the creation forms filled in as a person would (``BODY``). A page's body is what its
own form submits (``matrix.form_data``); two clients share one logged-in session, as a double click
in one browser does. An API operation gets the reach matrix's minimal body, twice with one token,
as a script retrying while its first call runs. The two go at once from two threads on two
PostgreSQL connections. A user expects:

- ``ONCE``: the action happens once. The second answer is a refusal (a message on the form, a
  redirect with a message, 404 for what is gone, 409) or a harmless repeat, and the audit trail
  holds no event twice for the same object and no second object created.
- ``EACH``: each submit is an event of its own — reading a personal number, downloading an
  export, logging out: every one is audited, nothing is created twice in the tables.
- ``NOTHING``: the route's POST no longer writes (the table in ``routes.py`` lags behind).

Every answer must be one a person can read (never a 500), and the audit chains must verify.
One test runs the whole table in one world, in the table's order: what removes or closes an
object comes after what still needs it.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse

from govdesk.core.audit import verify
from govdesk.core.models import AuditEvent
from tests.security.factories import Objects
from tests.security.matrix import _json, form_data, minimal_body
from tests.security.routes import ROUTES, SWAP
from tests.security.urlconf import api_routes, page_routes

from .conftest import at_once, browser_tabs

ONCE, EACH, NOTHING = "once", "each", "nothing"

# route -> (expectation, why; for EACH: why two are right). The order is the order of the runs.
EXPECT: dict[str, tuple[str, str]] = {
    # core
    "core:unit_rename": (ONCE, "the name is read under the row lock; the second finds it renamed"),
    "core:user_toggle_active": (ONCE, "the form says the state it wants; a double click cannot switch back"),
    "core:membership_remove": (ONCE, "the second finds the role gone: 404"),
    "core:token_revoke": (ONCE, "the second finds the token revoked: a message"),
    "core:webhook_delete": (ONCE, "the second finds the address gone: 404"),
    "core:tokens": (EACH, "each submit shows its own key once; an unseen key is inert and listed for revoking"),
    "core:logout": (EACH, "both requests came with a live session; each logout is recorded, the session ends"),
    # invest
    "invest:firm_edit": (ONCE, "compared with the locked row: the second changes nothing"),
    "invest:project_edit": (ONCE, "compared with the locked row: the second changes nothing"),
    "invest:parcel_edit": (ONCE, "compared with the locked row: the second changes nothing"),
    "invest:building_edit": (ONCE, "compared with the locked row: the second changes nothing"),
    "invest:meetings": (ONCE, "one meeting of a title a day: the second is refused on the form"),
    "invest:contact_phone": (EACH, "each reading of a phone number is audited"),
    "invest:ledger": (EACH, "each export is audited"),
    "invest:carrier_reports": (EACH, "a resubmitted monthly report: one report row, each submission audited"),
    # the list used to escalate overdue appeals when opened (under the rows' locks, so once); a cron
    # job does it now and a POST writes nothing, whatever the reach table still says
    "invest:squad_member_remove": (ONCE, "the second finds the member gone: 404"),
    "invest:drawing_remove": (ONCE, "the second finds the drawing gone: 404"),
    # mall
    "mall:flag": (ONCE, "the flag's status moves once; the second is refused"),
    "mall:orders_export": (EACH, "each export is audited"),
    "mall:flags_export": (EACH, "each export is audited"),
    "mall:offer_withdraw": (ONCE, "the offer row is locked; the second finds it off the shelf: a message"),
    # coal
    "coal:place_edit": (ONCE, "compared with the locked row: the second changes nothing"),
    "coal:inspection_create": (ONCE, "the form carries a client id: the second returns the first inspection"),
    "coal:inspection_correct": (ONCE, "the second is refused on the form"),
    "coal:task_assign": (ONCE, "assigning the assignee again changes nothing"),
    "coal:task": (ONCE, "the look-back is recorded once; the second is refused on the form"),
    "coal:campaign_report": (EACH, "each export is audited"),
    "coal:campaign_close": (ONCE, "the campaign closes once"),
    "coal:place_close_down": (ONCE, "the place closes down once"),
    # veterans
    "veterans:point_open_days": (ONCE, "the second finds the days open (it was a 500)"),
    "veterans:appointment_action": (ONCE, "the appointment is cancelled once"),
    "veterans:change_decide": (ONCE, "the change request is decided once"),
    "veterans:record_unmask": (EACH, "each reading of an ID number is audited"),
    "veterans:attachment": (EACH, "each download of a scan is audited"),
    "veterans:records_export": (EACH, "each export is audited"),
    "veterans:team_member_remove": (ONCE, "the second finds the member gone: 404"),
    "veterans:attendance_remove": (ONCE, "the second finds the attendance gone: 404"),
    # contest
    "contest:competition_edit": (ONCE, "compared with the locked row: the second changes nothing"),
    "contest:event_create": (ONCE, "one event of a name: the second is refused on the form (it was a 500)"),
    # creation forms (their empty form writes nothing, so the reach matrix marks no effect): filled in
    "core:user_create": (ONCE, "one account of a user name: the second is refused on the form"),
    "coal:place_create": (ONCE, "one place of a name and address: the second is refused on the form"),
    "invest:parcel_create": (ONCE, "one parcel of a name in a street: the second is refused on the form"),
    "invest:building_create": (ONCE, "one building of a name in a street: the second is refused on the form"),
    "veterans:point_new": (ONCE, "one collection point of a name in a unit: the second is refused on the form"),
    # the API: a script or device that retries while its first request runs
    "govdesk_core_api_unit_rename": (ONCE, "as the page"),
    "govdesk_core_api_token_create": (EACH, "as the page: each answer carries its own key"),
    "govdesk_core_api_token_revoke": (ONCE, "as the page"),
    "govdesk_invest_api_appeal_reassign": (ONCE, "the appeal moves to the group once"),
    "govdesk_invest_api_appeal_reply": (ONCE, "the same reply posted twice is one reply"),
    "govdesk_invest_api_appeal_resolve": (ONCE, "the appeal is resolved once"),
    "govdesk_invest_api_meeting_create": (ONCE, "as the page"),
    "govdesk_invest_api_meeting_minutes": (ONCE, "the same minutes change nothing the second time"),
    "govdesk_invest_api_squad_meeting_record": (ONCE, "one squad meeting of a day"),
    "govdesk_invest_api_building_update": (ONCE, "as the page"),
    "govdesk_invest_api_squad_member_remove": (ONCE, "as the page"),
    "govdesk_mall_api_offer_withdraw": (ONCE, "as the page: the second gets 409"),
}

# Routes without a page of their own: their form lives on another page (route, same URL kwargs).
HOST = {"core:user_toggle_active": "core:user", "coal:task_assign": "coal:task"}
# What a person types into a form whose minimal body writes nothing (laid over the page's own form).
BODY = {
    "coal:task_assign": lambda objects, world: {"assignee": world.officer_a.pk},
    "core:user_create": lambda objects, world: {
        "username": "shuangji", "display_name": "双击", "password": "Test@pass-2026-x9", "role": "street_officer",
        "unit": world.street_a.pk},
    "coal:place_create": lambda objects, world: {
        "community": world.community_a.pk, "name": "双击煤店", "kind": "restaurant", "address": "甲一社区 20 号"},
    "invest:parcel_create": lambda objects, world: {
        "unit": world.street_a.pk, "name": "双击地块", "location": "甲路 9 号", "area_mu": "12"},
    "invest:building_create": lambda objects, world: {
        "unit": world.street_a.pk, "name": "双击大厦", "address": "甲路 10 号", "total_area": "1000",
        "vacant_area": "100", "rent": "40", "owner": "某公司"},
    "veterans:point_new": lambda objects, world: {
        "unit": world.community_a.pk, "name": "双击采集点", "address": "建设路 9 号", "opens_at": "09:00",
        "closes_at": "11:00", "daily_capacity": "4", "slot_minutes": "60"},
}
NO_PAGE: set[str] = set()  # routes whose page must not be read first to fill in the form
ROLE = {"core:user_create": "admin"}


def _fresh_token(objects, world):
    from govdesk.core import services as core

    token, _key = core.token_create(actor=world.officer_a, owner=world.officer_a, name="第二个终端")
    return {"token_id": token.pk}


def _fresh_member(objects, world):
    from govdesk.invest import services as invest

    squad = objects.get("invest.squad")[0]
    member = objects.get("invest.member_user")[0]
    invest.squad_member_add(actor=world.dept_officer, squad=squad, user=member)
    return {"squad_id": squad.pk, "user_id": member.pk}


def _relisted_offer(objects, world):
    from govdesk.mall import services as mall

    offer = objects.get("mall.offer")[0]
    offer.refresh_from_db()
    if offer.status == "withdrawn":  # the page's run took it off the shelf
        mall.offer_relist(actor=world.admin, offer=offer)
    return {"offer_id": offer.pk}


# The API twin of a page route that already consumed its object gets one of its own.
FRESH = {"govdesk_core_api_token_revoke": _fresh_token, "govdesk_invest_api_squad_member_remove": _fresh_member,
         "govdesk_mall_api_offer_withdraw": _relisted_offer}

PAGES = {r.name: r for r in page_routes() + api_routes()}
WRITES = [n for n, s in ROUTES.items() if s.effect and s.write]
APPS = ("core", "invest", "mall", "coal", "veterans", "contest")
PREFERRED = ("officer_a", "dept_officer", "admin", "supervisor", "officer_b", "outsider")
READABLE = {200, 201, 204, 302, 400, 404, 409, 422}  # a form with its message, a redirect, gone, conflict


def test_the_table_names_every_writing_form_once():
    assert set(WRITES) - set(EXPECT) == set(), "add the new writing routes to EXPECT"
    assert set(EXPECT) - set(WRITES) - set(BODY) == set(), "EXPECT names routes that do not write"


def _kwargs(name: str, objects: Objects) -> dict:
    spec, route = ROUTES[name], PAGES[name]
    kwargs = {}
    for param in route.params:
        kind = spec.kinds[param]
        kwargs[param] = kind[1:] if kind.startswith("=") else objects.get(kind)[0].pk
    return kwargs


def _api_call(name: str, objects: Objects, world, role: str):
    """Two identical calls of an API operation with the minimal body (as the reach matrix makes
    it), authenticated by one token, as a retrying script sends them."""
    from govdesk.api import api
    from govdesk.core import services as core

    route, spec = PAGES[name], ROUTES[name]
    path = route.pattern
    for key, value in {**_kwargs(name, objects), **(FRESH[name](objects, world) if name in FRESH else {})}.items():
        path = path.replace("{" + key + "}", str(value))
    schema = api.get_openapi_schema()
    body = minimal_body(schema, schema["paths"][route.pattern][route.method.lower()], world.district.pk) or {}
    for field, kind in spec.body_kinds.items():
        body[field] = objects.get(kind)[0].pk
    user = getattr(world, role)
    _token, key = core.token_create(actor=user, owner=user, name=f"重试-{name}"[:100])
    headers = {"Authorization": f"Bearer {key}"}
    return [lambda: Client(raise_request_exception=False).generic(
        route.method, path, data=_json(body), content_type="application/json", headers=headers)] * 2


def _body(name: str, url: str, tab, objects: Objects, world) -> dict:
    """What the page's own form submits (as the reach matrix does), or the body a person would send."""
    typed = BODY[name](objects, world) if name in BODY else {}
    if name in NO_PAGE:
        return {}
    if name in HOST:
        page_url = reverse(HOST[name], kwargs=_kwargs(name, objects))
    elif ROUTES[name].read:
        page_url = url
    else:
        return typed
    page = tab.get(page_url)
    readable = page.status_code == 200 and not page.streaming and "html" in page.get("Content-Type", "")
    found = form_data(page.content.decode(), url) if readable else {}
    # a form hosted on another page must be found there: posting without its fields is another request
    assert found or name not in HOST, f"{name}: no form posting to {url} on {page_url} ({page.status_code})"
    return {**found, **typed}


def _events_since(last: int) -> list[tuple]:
    return list(AuditEvent.objects.filter(pk__gt=last).values_list("action", "verb", "object_type", "object_id"))


def double_submit(name: str, world, objects: Objects) -> list[str]:
    """Post the route's form twice at once; return what a user would call wrong."""
    spec = ROUTES[name]
    expectation, _why = EXPECT[name]
    role = ROLE.get(name) or next(r for r in PREFERRED if r in spec.write)
    if PAGES[name].is_api:
        calls = _api_call(name, objects, world, role)
        body = None
    else:
        url = reverse(name, kwargs=_kwargs(name, objects))
        tabs = browser_tabs(getattr(world, role))
        body = _body(name, url, tabs[0], objects, world)
        calls = [lambda tab=tab: tab.post(url, body) for tab in tabs]
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    answers = at_once(*calls)
    events = _events_since(last)
    statuses = [getattr(a, "status_code", repr(a)) for a in answers]
    problems = []
    bodies = [getattr(a, "content", b"")[:300].decode("utf-8", "replace") for a in answers if
              getattr(a, "status_code", 500) >= 500]
    sent = body if not PAGES[name].is_api else "(api)"
    where = f"{name} as {role} ({expectation}): sent {sent}, answers {statuses}, events {events} {bodies}"
    if any(s not in READABLE for s in statuses):
        problems.append(f"{where}: an answer a person cannot read")
    if expectation == NOTHING and events:
        problems.append(f"{where}: wrote")
    if expectation != NOTHING and not events:
        problems.append(f"{where}: neither submit wrote anything")
    if expectation == ONCE:
        repeated = [key for key, n in Counter(events).items() if n > 1]
        created = Counter(kind for action, _verb, kind, _id in events if action == AuditEvent.Action.CREATE)
        if repeated:
            problems.append(f"{where}: the same change written twice {repeated}")
        if any(n > 1 for n in created.values()):
            problems.append(f"{where}: two objects created {dict(created)}")
    return problems


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as conftest.py gives commits
def test_every_writing_form_posted_twice_at_once_acts_as_the_table_says(world):
    # one world for every app (a committing test's teardown costs seconds); everything is built
    # before the first submit, so a renamed unit or a closed campaign cannot change what is built
    objects = Objects(world)
    for app in APPS:
        objects.get(next(k for k in SWAP if k.startswith(app + ".")))
    problems = []
    for name in EXPECT:
        problems += double_submit(name, world, objects)
    _checked, broken = verify()
    assert broken is None, broken
    assert not problems, "\n".join(problems)
