from django.urls import include, path

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
# Uploaded files are never served as a folder, not even in debug: every download goes
# through a view that checks the user's reach (and audits it where the module says so).
