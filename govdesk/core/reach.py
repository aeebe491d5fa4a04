"""The one scoping mechanism of the platform.

A record is within a user's reach for an action when the record's org unit lies
in the subtree of one of the user's memberships whose role the record's model
allows for that action. Every scoped model declares a ``Reach`` and uses
``ScopedQuerySet``; views, API handlers, exports and reports start from
``Model.objects.restrict(user, action)`` and fetch single records with
``get_in_reach`` (404 outside reach). Subtrees are materialised paths, so
"same street" is a prefix filter, not a permission row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q

from .errors import Forbidden, NotInReach

VIEW = "view"
CHANGE = "change"


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", "区级管理员"
    DEPARTMENT_OFFICER = "department_officer", "部门工作人员"
    STREET_OFFICER = "street_officer", "街道工作人员"
    COLLECTOR = "collector", "采集员"
    PURCHASER = "purchaser", "采购人"
    SUPPLIER = "supplier", "电商供应商"
    JUDGE = "judge", "评委"
    SUPERVISOR = "supervisor", "纪检督查"


OFFICERS = frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER})
# Supervisors read everything in their subtree and change nothing, whatever a model declares.
READ_ONLY_ROLES = frozenset({Role.SUPERVISOR})


@dataclass(frozen=True)
class Reach:
    """How a model reaches its org unit (``path``: lookup to the unit's ``path``)
    and which roles may do what with it."""

    path: str = "org_unit__path"
    view: frozenset = field(default_factory=lambda: OFFICERS | READ_ONLY_ROLES)
    change: frozenset = OFFICERS

    def roles_for(self, action: str) -> frozenset:
        if action == VIEW:
            return self.view
        return self.change - READ_ONLY_ROLES


def memberships_of(user) -> list[tuple[str, str]]:
    """(role, unit path) pairs of the user's active memberships, cached on the user object."""
    cached = getattr(user, "_reach_memberships", None)
    if cached is None:
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            cached = []
        else:
            cached = list(
                user.memberships.filter(org_unit__retired_at__isnull=True).values_list("role", "org_unit__path")
            )
        user._reach_memberships = cached
    return cached


def forget_memberships(user) -> None:
    user.__dict__.pop("_reach_memberships", None)


def roles_of(user) -> set[str]:
    return {role for role, _path in memberships_of(user)}


def paths_for(user, roles) -> list[str]:
    """The minimal set of subtree roots the user holds with any of ``roles``.
    The system superuser (created by setup, not a person's login) holds the whole tree."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return ["/"]
    paths = sorted({path for role, path in memberships_of(user) if role in roles})
    minimal: list[str] = []
    for path in paths:
        if not any(path.startswith(root) for root in minimal):
            minimal.append(path)
    return minimal


def subtree_q(lookup: str, paths: list[str]) -> Q | None:
    if not paths:
        return None
    q = Q()
    for path in paths:
        q |= Q(**{f"{lookup}__startswith": path})
    return q


class ScopedQuerySet(models.QuerySet):
    def restrict(self, user, action: str = VIEW):
        """Narrow to what ``user`` may do ``action`` with; empty by default."""
        q = self.model.reach_q(user, action)
        if q is None:
            return self.none()
        return self.filter(q)


class Scoped(models.Model):
    """Base of every model whose rows belong to an org unit."""

    reach = Reach()
    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def reach_q(cls, user, action: str) -> Q | None:
        """The filter for ``user`` and ``action``; ``None`` means nothing.
        A model with an extra rule (a supplier sees its own orders) overrides this."""
        return subtree_q(cls.reach.path, paths_for(user, cls.reach.roles_for(action)))

    def reach_unit_path(self) -> str:
        value = self
        for part in self.reach.path.split("__"):
            value = getattr(value, part)
        return value


def get_in_reach(queryset, user, action: str = VIEW, **lookup):
    """The one way a view or API handler fetches a single scoped record."""
    if isinstance(queryset, type):
        queryset = queryset.objects.all()
    try:
        return queryset.restrict(user, action).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotInReach() from None


def require(user, obj, action: str = CHANGE) -> None:
    """Inside a service: refuse unless ``obj`` is within reach for ``action``.
    Out of sight is 404; visible but not changeable is 403."""
    model = type(obj)
    if model.objects.restrict(user, action).filter(pk=obj.pk).exists():
        return
    if action != VIEW and model.objects.restrict(user, VIEW).filter(pk=obj.pk).exists():
        raise Forbidden("您的角色无权进行此操作", code="forbidden")
    raise NotInReach()


def require_unit(user, unit, roles, *, action_label: str = "此操作") -> None:
    """Refuse unless ``unit`` is inside the subtree of a membership with one of ``roles``
    (for creating a record in a unit, before the record exists)."""
    allowed = [r for r in roles if r not in READ_ONLY_ROLES]
    if any(unit.path.startswith(root) for root in paths_for(user, allowed)):
        return
    if any(unit.path.startswith(root) for root in paths_for(user, set(Role.values))):
        raise Forbidden(f"您的角色无权在「{unit.name}」进行{action_label}")
    raise NotInReach()


def require_somewhere(units, *, action_label: str = "此操作") -> None:
    """Before showing a create form whose unit is chosen on the form: refuse (403) unless the user
    has at least one unit to choose (``units``: the ones the service would accept, which never
    include a supervisor's). The service checks the chosen unit with ``require_unit``."""
    if not units:
        raise Forbidden(f"您的角色无权{action_label}")
