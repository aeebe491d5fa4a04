"""The errors services raise. Views show them as Chinese messages, the API as
``{"code", "message", "fields"}``; both leave the database as it was."""

from django.core.exceptions import PermissionDenied
from django.http import Http404


class ServiceError(Exception):
    """A rule refused the change. ``fields`` maps a field name to its message."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Forbidden(ServiceError, PermissionDenied):
    """In reach for reading, but the role may not make this change. A page view that raises it
    (the service's own check, made before a form is shown) answers 403 with the message
    (``templates/403.html``), as ``NotInReach`` answers 404."""

    status = 403
    code = "forbidden"


class NotInReach(Http404):
    """Outside the user's reach: answered exactly like a record that does not exist."""

    status = 404
    code = "not_found"
    message = "记录不存在或不在您的权限范围内"
