"""Table pages: keyset pagination, sorting and filters that stay fast on a million rows.

A page never counts the whole table (no unbounded COUNT) and never uses OFFSET:
it asks for ``size + 1`` rows after (or before) the cursor of the row it stopped at,
ordered by the sort column with the primary key as the tie-breaker, so the first
and the last page cost the same.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Q

PAGE_SIZE = 50


def _encode(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _decode(token: str):
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        return None
    return values if isinstance(values, list) and len(values) == 2 else None


@dataclass
class Page:
    rows: list
    sort: str
    has_next: bool
    has_prev: bool
    next_url: str = ""
    prev_url: str = ""
    first_url: str = ""
    last_url: str = ""
    sort_urls: dict = field(default_factory=dict)


def _value(obj, lookup: str):
    for part in lookup.split("__"):
        obj = getattr(obj, part)
    return obj


def keyset_page(queryset, params, *, sorts: dict[str, str], default: str, size: int = PAGE_SIZE) -> Page:
    """``sorts`` maps a sort name shown in the URL to a non-null model field; ``-name`` sorts descending.
    ``params`` is request.GET; the page's links keep every other parameter (filters)."""
    size = max(1, min(size, 500))
    sort = params.get("sort") or default
    name = sort.lstrip("-")
    if name not in sorts:
        sort, name = default, default.lstrip("-")
    descending = sort.startswith("-")
    column = sorts[name]
    after = _decode(params.get("after", "")) if params.get("after") else None
    before = _decode(params.get("before", "")) if params.get("before") else None
    last = params.get("last") == "1"

    backwards = bool(before) or last
    go_down = descending != backwards  # the direction the rows are read in
    order = [f"-{column}", "-pk"] if go_down else [column, "pk"]
    qs = queryset.order_by(*order)
    cursor = after or before
    if cursor:
        value, pk = cursor
        op = "lt" if go_down else "gt"
        qs = qs.filter(Q(**{f"{column}__{op}": value}) | Q(**{column: value, f"pk__{op}": pk}))
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
        has_prev, has_next = more, not last
    else:
        has_next, has_prev = more, bool(after)

    base = {k: v for k, v in params.items() if k not in {"after", "before", "last", "sort", "partial"}}

    def link(**extra) -> str:
        return "?" + urlencode({**base, "sort": sort, **extra})

    page = Page(rows=rows, sort=sort, has_next=has_next, has_prev=has_prev)
    if rows:
        if has_next:
            page.next_url = link(after=_encode([_value(rows[-1], column), rows[-1].pk]))
        if has_prev:
            page.prev_url = link(before=_encode([_value(rows[0], column), rows[0].pk]))
    page.first_url = link()
    page.last_url = link(last="1")
    for key in sorts:
        flipped = f"-{key}" if sort == key else key
        page.sort_urls[key] = "?" + urlencode({**base, "sort": flipped})
    return page
