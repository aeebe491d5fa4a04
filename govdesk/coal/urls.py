from django.urls import path

from . import views

app_name = "coal"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("office/", views.office_designate, name="office"),
    path("places/", views.places, name="places"),
    path("places/new/", views.place_create, name="place_create"),
    path("places/<int:pk>/", views.place_detail, name="place"),
    path("places/<int:pk>/edit/", views.place_edit, name="place_edit"),
    path("places/<int:pk>/close-down/", views.place_close_down, name="place_close_down"),
    path("places/<int:pk>/inspect/", views.inspection_create, name="inspection_create"),
    path("inspections/", views.inspections, name="inspections"),
    path("inspections/<int:pk>/", views.inspection_detail, name="inspection"),
    path("inspections/<int:pk>/edit/", views.inspection_edit, name="inspection_edit"),
    path("inspections/<int:pk>/close/", views.inspection_close, name="inspection_close"),
    path("inspections/<int:pk>/correct/", views.inspection_correct, name="inspection_correct"),
    path("inspections/<int:pk>/photos/", views.photo_add, name="photo_add"),
    path("photos/<int:pk>/", views.photo_file, name="photo"),
    path("postings/<int:pk>/photo/", views.posting_photo, name="posting_photo"),
    path("rectifications/", views.rectifications, name="rectifications"),
    path("rectifications/<int:pk>/extend/", views.rectification_extend, name="rectification_extend"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/report/", views.campaign_report, name="campaign_report"),
    path("campaigns/<int:pk>/close/", views.campaign_close, name="campaign_close"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("tasks/<int:pk>/assign/", views.task_assign, name="task_assign"),
    path("reports/", views.reports, name="reports"),
    path("reports/submit/", views.report_submit, name="report_submit"),
    path("notices/", views.notices, name="notices"),
    path("notices/<int:pk>/", views.batch_detail, name="batch"),
    path("notices/<int:pk>/allocate/", views.allocation_set, name="allocation_set"),
    path("notices/<int:pk>/post/", views.posting_create, name="posting_create"),
]
