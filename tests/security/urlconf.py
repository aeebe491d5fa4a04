"""Every route the platform answers: URL patterns (walked recursively) and API operations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str  # "coal:place" for a page, the operationId for an API operation
    pattern: str  # "coal/places/<int:pk>/" or "/api/v1/coal/places/{pk}"
    params: tuple[str, ...]
    method: str = ""  # API operations only

    @property
    def is_api(self) -> bool:
        return bool(self.method)


def _walk(patterns, prefix: str, namespace: str):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "api":
                # operations are enumerated from the OpenAPI document; the document and its
                # viewer are pages of their own
                for sub in entry.url_patterns:
                    if isinstance(sub, URLPattern) and sub.name in ("openapi-json", "openapi-view"):
                        full = prefix + str(entry.pattern) + str(sub.pattern)
                        yield Route(name=f"api:{sub.name}", pattern=full, params=())
                continue
            ns = ":".join(p for p in (namespace, entry.namespace) if p)
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            full = prefix + str(entry.pattern)
            name = f"{namespace}:{entry.name}" if namespace else (entry.name or full)
            yield Route(name=name, pattern=full, params=tuple(re.findall(r"<(?:\w+:)?(\w+)>", full)))


def page_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns, "", ""))


def api_routes() -> list[Route]:
    from govdesk.api import api

    schema = api.get_openapi_schema()
    out = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            out.append(Route(name=op["operationId"], pattern=path, params=tuple(re.findall(r"{(\w+)}", path)),
                             method=method.upper()))
    return out
