from django.urls import path

from . import views

app_name = "veterans"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("expected/", views.expected, name="expected"),
    path("records/", views.records, name="records"),
    path("records/export/", views.records_export, name="records_export"),
    path("records/new/", views.record_new, name="record_new"),
    path("records/<int:pk>/", views.record_detail, name="record"),
    path("records/<int:pk>/edit/", views.record_edit, name="record_edit"),
    path("records/<int:pk>/change/", views.change_request, name="change_request"),
    path("records/<int:pk>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("records/<int:pk>/unmask/<str:field>/", views.record_unmask, name="record_unmask"),
    path("records/<int:pk>/<str:action>/", views.record_action, name="record_action"),
    path("changes/<int:pk>/<str:decision>/", views.change_decide, name="change_decide"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("points/", views.points, name="points"),
    path("points/new/", views.point_new, name="point_new"),
    path("points/<int:pk>/", views.point_detail, name="point"),
    path("points/<int:pk>/open/", views.point_open_days, name="point_open_days"),
    path("slots/<int:slot_pk>/book/", views.book, name="book"),
    path("appointments/", views.appointments, name="appointments"),
    path("appointments/<int:pk>/", views.appointment_detail, name="appointment"),
    path("appointments/<int:pk>/<str:action>/", views.appointment_action, name="appointment_action"),
    path("checkin/", views.checkin, name="checkin"),
    path("board/", views.board, name="board"),
]
