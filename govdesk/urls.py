from django.conf import settings
from django.urls import include, path
from django.views.static import serve

from .api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("invest/", include("govdesk.invest.urls")),
    path("mall/", include("govdesk.mall.urls")),
    path("coal/", include("govdesk.coal.urls")),
    path("veterans/", include("govdesk.veterans.urls")),
    path("contest/", include("govdesk.contest.urls")),
    path("", include("govdesk.core.urls")),
]

if settings.DEBUG:
    urlpatterns.append(path("files/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}))
