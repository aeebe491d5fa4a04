class ContentSecurityPolicyMiddleware:
    """Only our own scripts and styles; ECharts needs inline styles on its canvas."""

    POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/v1/docs"):
            response.setdefault("Content-Security-Policy", self.POLICY)
        return response


class RejectNulMiddleware:
    """Refuse a request whose query string or text body carries a NUL character.

    Forms already refuse NUL (Django's ProhibitNullCharactersValidator), but API bodies and
    search parameters reach the ORM as they are, and PostgreSQL cannot store or even compare
    text with NUL in it: the request would end in a 500. One check here covers every route.
    Only text bodies are inspected (JSON, form-encoded): file uploads — multipart forms and the
    devices' octet-stream chunks — carry binary bytes of their own."""

    MESSAGE = "请求中含有不允许的空字符（\\0），请删除后重试"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            from django.http import JsonResponse

            if request.path.startswith("/api/"):
                return JsonResponse({"code": "invalid", "message": self.MESSAGE, "fields": {}}, status=400)
            from django.http import HttpResponseBadRequest

            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        from urllib.parse import unquote_to_bytes

        query = request.META.get("QUERY_STRING", "")
        if "\x00" in query or b"\x00" in unquote_to_bytes(query):
            return True
        if "\x00" in request.path:
            return True
        content_type = request.META.get("CONTENT_TYPE", "").lower()
        text = content_type.startswith(("application/json", "application/x-www-form-urlencoded", "text/"))
        if request.method in ("POST", "PUT", "PATCH") and text:
            body = request.body
            if b"\x00" in body or b"\\u0000" in body:
                return True
            if content_type.startswith("application/x-www-form-urlencoded") and b"%00" in body:
                return True
        return False
