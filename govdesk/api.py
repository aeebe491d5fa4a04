"""The JSON API under /api/v1/: session auth (with CSRF) for the browser, token
auth (``Authorization: Bearer gdk_...``) for devices and scripts, one error shape."""

from django.core.exceptions import ValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth

from .core.errors import ServiceError
from .core.services import token_authenticate


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class TokenHeaderAuth(APIKeyHeader):
    param_name = "X-Api-Token"

    def authenticate(self, request, key):
        user = token_authenticate(key)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="GovDesk 区政通 API",
    version="1",
    urls_namespace="api",
    auth=[TokenAuth(), TokenHeaderAuth(), SessionAuth()],
    docs_url="/docs",
)


def error(request, status: int, code: str, message: str, fields: dict | None = None):
    return api.create_response(request, {"code": code, "message": message, "fields": fields or {}}, status=status)


@api.exception_handler(ServiceError)
def on_service_error(request, exc: ServiceError):
    return error(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error(request, 404, "not_found", "记录不存在或不在您的权限范围内")


@api.exception_handler(AuthenticationError)
def on_auth(request, exc):
    return error(request, 401, "unauthenticated", "请先登录或提供有效的 API 令牌")


@api.exception_handler(NinjaValidationError)
def on_validation(request, exc: NinjaValidationError):
    fields = {}
    for item in exc.errors:
        loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "path", "payload")]
        fields[".".join(loc) or "_"] = item.get("msg", "格式不正确")
    return error(request, 422, "invalid", "提交的数据格式不正确", fields)


@api.exception_handler(ValidationError)
def on_django_validation(request, exc: ValidationError):
    return error(request, 400, "invalid", "；".join(exc.messages))


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return error(request, exc.status_code, "error", str(exc))


def _mount():
    from .coal.api import router as coal
    from .contest.api import router as contest
    from .core.api import router as core
    from .invest.api import router as invest
    from .mall.api import router as mall
    from .veterans.api import router as veterans

    api.add_router("/core", core)
    api.add_router("/invest", invest)
    api.add_router("/mall", mall)
    api.add_router("/coal", coal)
    api.add_router("/veterans", veterans)
    api.add_router("/contest", contest)


_mount()
