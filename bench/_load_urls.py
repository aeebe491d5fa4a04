"""The load benchmark's URLs: GovDesk's, plus the Django admin under /admin/ with a plain
``ModelAdmin`` (only ``list_per_page`` set to our page size) for each table the benchmark scales."""

from django.apps import apps
from django.contrib import admin
from django.urls import path

from govdesk.core.listing import PAGE_SIZE
from govdesk.urls import urlpatterns as govdesk_urlpatterns

PEER_MODELS = ("core.AuditEvent", "invest.Firm", "invest.Project", "mall.Order", "coal.Place", "coal.Inspection",
               "veterans.Record")


class PlainAdmin(admin.ModelAdmin):
    list_per_page = PAGE_SIZE


for label in PEER_MODELS:
    if not admin.site.is_registered(apps.get_model(label)):
        admin.site.register(apps.get_model(label), PlainAdmin)

urlpatterns = [path("admin/", admin.site.urls), *govdesk_urlpatterns]
