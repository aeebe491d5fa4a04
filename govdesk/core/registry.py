"""What modules contribute to the shared shell: navigation entries and figures on the
district overview. Each app registers in its ``AppConfig.ready``; core never imports a module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset = field(default_factory=frozenset)  # empty: everybody signed in
    group: str = ""
    # A finer per-person check (e.g. only the officers of the office that leads a module);
    # called with the user after the role check passes.
    visible: Callable | None = None


NAV: list[NavItem] = []
# Each returns a dict {"title", "figures": [(label, value)], "chart": {...echarts option...} | None, "url"}
# for the given user, built from scoped queries.
OVERVIEW: list[Callable] = []


def add_nav(item: NavItem) -> None:
    if item not in NAV:
        NAV.append(item)


def add_overview(card: Callable) -> None:
    if card not in OVERVIEW:
        OVERVIEW.append(card)

# Each seeds one module's demo data: callable(context) where context holds the core
# demo objects ({"district", "streets", "departments", "users"}); run by `govdesk demo`.
DEMO: list[Callable] = []


def add_demo(seed: Callable) -> None:
    if seed not in DEMO:
        DEMO.append(seed)


# Logins a module's demo creates beyond the core's, printed by `govdesk demo`:
# (username, role label, description).
DEMO_LOGINS: list[tuple[str, str, str]] = []


def add_demo_login(username: str, role_label: str, description: str) -> None:
    entry = (username, role_label, description)
    if entry not in DEMO_LOGINS:
        DEMO_LOGINS.append(entry)
