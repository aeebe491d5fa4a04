"""The machinery of the reach matrix: people, requests in savepoints, minimal API bodies."""

from __future__ import annotations

from copy import deepcopy

from django.db import transaction
from django.test import Client

from govdesk.core import services as core
from govdesk.core.models import AuditEvent

from .routes import MODULE_ROLES

ROLES = ("admin", "supervisor", "officer_a", "officer_b", "dept_officer", "outsider", "anonymous")
DENIED = {403, 404}


def roles_for(app: str) -> tuple[str, ...]:
    """Everybody of the ``world``, and on a module's routes its own people too (purchaser,
    supplier, collector, veterans bureau, judges)."""
    return ROLES + MODULE_ROLES.get(app, ())


class People:
    """One browser session and one API token per role: the ``world``'s people, and the module
    people that ``objects`` builds with their module (on first use, outside any savepoint)."""

    def __init__(self, world, objects=None):
        self.world = world
        self.objects = objects
        self.pages: dict[str, Client] = {}
        self.tokens: dict[str, str] = {}
        for role in ROLES:
            self._sign_in(role, None if role == "anonymous" else getattr(world, role))

    def join(self, roles) -> None:
        """Sign the module people in up front (building their module), so that every route of the
        module, the first included, meets the same world for everybody."""
        for role in roles:
            if role not in self.pages:
                self._sign_in(role, self.objects.person(role))

    def _sign_in(self, role: str, user) -> None:
        client = Client(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
            _token, key = core.token_create(actor=user, owner=user, name=f"matrix-{role}")
            self.tokens[role] = key
        self.pages[role] = client

    def request(self, role: str, method: str, url: str, *, api: bool = False, body=None, data=None):
        """One request whose writes are rolled back afterwards, so every request sees the same
        world. Returns (status, audit events written, response)."""
        self.join([role])
        client = self.pages[role]
        cookies = deepcopy(client.cookies)
        sid = transaction.savepoint()
        try:
            before = AuditEvent.objects.count()
            if api:
                headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}
                client = Client(raise_request_exception=False)  # token auth only: no session
                if method == "GET":
                    response = client.get(url, headers=headers)
                else:
                    response = client.generic(method, url, data=_json(body), content_type="application/json",
                                              headers=headers)
            elif method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data or {})
            written = AuditEvent.objects.count() - before
        finally:
            transaction.savepoint_rollback(sid)
            self.pages[role].cookies = cookies
        return response.status_code, written, response


def _json(body) -> str:
    import json

    return json.dumps(body if body is not None else {})


def minimal_body(schema: dict, operation: dict, unit_id: int):
    """The smallest body the operation's request schema accepts, so that the handler runs
    and its reach check answers (an empty body would stop at validation, for everybody).
    Fields naming a unit (``unit_id``, ``parent_id``...) get the district's id, the same on
    every database; other integers are 1."""
    content = operation.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    if not media:
        return None
    return _example(schema, media["schema"], unit_id=unit_id)


def _example(schema: dict, node: dict, depth: int = 0, *, unit_id: int = 1, name: str = ""):
    if "$ref" in node:
        ref = node["$ref"].rsplit("/", 1)[-1]
        return _example(schema, schema["components"]["schemas"][ref], depth + 1, unit_id=unit_id, name=name)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            options = [o for o in node[key] if o.get("type") != "null"] or node[key]
            return _example(schema, options[0], depth + 1, unit_id=unit_id, name=name)
    if "enum" in node:
        return node["enum"][0]
    if "default" in node:
        return node["default"]
    kind = node.get("type")
    fmt = node.get("format", "")
    if kind == "object" or "properties" in node:
        required = set(node.get("required", []))
        return {k: _example(schema, v, depth + 1, unit_id=unit_id, name=k)
                for k, v in node.get("properties", {}).items() if k in required}
    if kind == "array":
        return []
    if kind == "integer":
        return unit_id if name.endswith(("unit_id", "parent_id")) else 1
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if fmt == "date":
        return "2026-11-20"
    if fmt == "date-time":
        return "2026-11-20T10:00:00+08:00"
    if fmt == "uuid":
        return "00000000-0000-4000-8000-000000000001"
    return "x"


class _FormParser:
    """The fields of the POST forms of a page, as a browser would submit them unchanged."""

    def __init__(self, html: str):
        from html.parser import HTMLParser

        self.forms: list[tuple[str, dict]] = []
        outer = self

        class Parser(HTMLParser):
            current: dict | None = None
            select: str | None = None
            select_first: str | None = None
            select_chosen = False
            textarea: str | None = None

            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                if tag == "form" and (a.get("method") or "").lower() == "post":
                    self.current = {}
                    outer.forms.append((a.get("action") or "", self.current))
                if self.current is None:
                    return
                name = a.get("name")
                if tag == "input" and name and name != "csrfmiddlewaretoken":
                    kind = (a.get("type") or "text").lower()
                    if kind in ("submit", "button", "file", "image", "reset"):
                        return
                    if kind in ("checkbox", "radio") and "checked" not in a:
                        return
                    self.current.setdefault(name, a.get("value") or ("on" if kind == "checkbox" else ""))
                elif tag == "select" and name:
                    self.select, self.select_first, self.select_chosen = name, None, False
                elif tag == "option" and self.select:
                    value = a.get("value", "")
                    if "selected" in a:
                        self.current[self.select] = value
                        self.select_chosen = True
                    elif self.select_first is None and value:
                        self.select_first = value
                elif tag == "textarea" and name:
                    self.textarea = name
                    self.current[name] = ""

            def handle_endtag(self, tag):
                if tag == "select" and self.select:
                    if not self.select_chosen and self.select_first is not None:
                        self.current[self.select] = self.select_first
                    self.select = None
                elif tag == "textarea":
                    self.textarea = None
                elif tag == "form":
                    self.current = None

            def handle_data(self, data):
                if self.textarea and self.current is not None:
                    self.current[self.textarea] += data

        Parser().feed(html)


EDITED = ("name", "title", "reason", "note", "minutes", "summary", "text", "detail", "resolution")


def form_data(html: str, url: str) -> dict:
    """The first POST form of the page that submits to ``url`` itself, with its text changed a
    little (a rename to the same name writes nothing) and empty text areas filled in, so that a
    permitted submission really changes something and a refused one is seen to change nothing."""
    for action, fields in _FormParser(html).forms:
        if action in ("", url, "."):
            changed = dict(fields)
            for key, value in fields.items():
                if key in EDITED:
                    changed[key] = (value + "改") if value else "矩阵测试"
            return changed
    return {}
