"""Core API: org units, the current user, tokens, to-dos, audit events."""

from datetime import datetime

from ninja import Router, Schema, Status

from . import queries, services
from .models import ApiToken, OrgUnit
from .reach import CHANGE, VIEW, get_in_reach, roles_of

router = Router(tags=["core"])


class UnitOut(Schema):
    id: int
    kind: str
    code: str
    name: str
    parent_id: int | None
    depth: int
    retired: bool

    @staticmethod
    def resolve_retired(obj):
        return obj.retired_at is not None


class UnitIn(Schema):
    parent_id: int
    kind: str
    code: str
    name: str


class RenameIn(Schema):
    name: str


class UnitMoveIn(Schema):
    new_parent_id: int


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    roles: list[str]


class TokenIn(Schema):
    name: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    key: str


class TodoOut(Schema):
    id: int
    kind: str
    title: str
    url: str
    created_at: datetime


class AuditOut(Schema):
    id: int
    chain: str
    seq: int
    at: datetime
    actor_name: str
    action: str
    verb: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict
    hash: str



@router.get("/me", response=MeOut)
def me(request):
    user = request.user
    return {"id": user.pk, "username": user.username, "display_name": user.display_name,
            "roles": sorted(roles_of(user))}


@router.get("/units", response=list[UnitOut])
def unit_list(request, q: str = "", kind: str = "", parent_id: int | None = None, limit: int = 200):
    parent = get_in_reach(OrgUnit, request.user, VIEW, pk=parent_id) if parent_id else None
    qs = queries.units_visible(request.user, search=q, kind=kind, parent=parent)
    return list(qs.order_by("path")[: max(1, min(limit, 1000))])


@router.get("/units/{unit_id}", response=UnitOut)
def unit_get(request, unit_id: int):
    return get_in_reach(OrgUnit, request.user, VIEW, pk=unit_id)


@router.post("/units", response={201: UnitOut})
def unit_create(request, payload: UnitIn):
    parent = get_in_reach(OrgUnit, request.user, VIEW, pk=payload.parent_id)
    unit = services.orgunit_create(actor=request.user, parent=parent, kind=payload.kind, code=payload.code,
                                   name=payload.name)
    return Status(201, unit)


@router.post("/units/{unit_id}/rename", response=UnitOut)
def unit_rename(request, unit_id: int, payload: RenameIn):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=unit_id)
    return services.orgunit_rename(actor=request.user, unit=unit, name=payload.name)


@router.post("/units/{unit_id}/move", response=UnitOut)
def unit_move(request, unit_id: int, payload: UnitMoveIn):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=unit_id)
    parent = get_in_reach(OrgUnit, request.user, CHANGE, pk=payload.new_parent_id)
    return services.orgunit_move(actor=request.user, unit=unit, new_parent=parent)


@router.post("/units/{unit_id}/retire", response=UnitOut)
def unit_retire(request, unit_id: int):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=unit_id)
    return services.orgunit_retire(actor=request.user, unit=unit)


@router.get("/tokens", response=list[TokenOut])
def token_list(request):
    return list(ApiToken.objects.filter(user=request.user))


@router.post("/tokens", response={201: TokenCreated})
def token_create(request, payload: TokenIn):
    token, key = services.token_create(actor=request.user, owner=request.user, name=payload.name)
    token.key = key
    return Status(201, token)


@router.post("/tokens/{token_id}/revoke", response=TokenOut)
def token_revoke(request, token_id: int):
    token = ApiToken.objects.filter(pk=token_id, user=request.user).first()
    if token is None:
        from .errors import NotInReach
        raise NotInReach()
    return services.token_revoke(actor=request.user, token=token)


@router.get("/todos", response=list[TodoOut])
def todo_list(request):
    return list(queries.todos_of(request.user)[:500])


@router.get("/audit", response=list[AuditOut])
def audit_list(request, object_type: str = "", object_id: str = "", actor: str = "", limit: int = 100):
    qs = queries.audit_events(request.user, object_type=object_type, object_id=object_id, actor=actor)
    return list(qs[: max(1, min(limit, 1000))])
