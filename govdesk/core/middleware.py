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
