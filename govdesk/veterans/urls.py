from django.urls import path

from . import views, views_campaign, views_offline

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
    # progress report and the campaign's organisation (views_campaign)
    path("report/", views_campaign.progress_report, name="progress_report"),
    path("organisation/", views_campaign.organisation_page, name="organisation"),
    path("organisation/teams/new/", views_campaign.team_new, name="team_new"),
    path("organisation/teams/<int:pk>/members/", views_campaign.team_member_add, name="team_member_add"),
    path("organisation/members/<int:pk>/remove/", views_campaign.team_member_remove, name="team_member_remove"),
    path("organisation/offices/new/", views_campaign.office_new, name="office_new"),
    path("trainings/new/", views_campaign.training_new, name="training_new"),
    path("trainings/<int:pk>/", views_campaign.training_detail, name="training"),
    path("attendances/<int:pk>/remove/", views_campaign.attendance_remove, name="attendance_remove"),
    path("questions/", views_campaign.questions, name="questions"),
    path("questions/<int:pk>/", views_campaign.question_detail, name="question"),
    path("faq/", views_campaign.faq, name="faq"),
    # offline collection in the browser (views_offline)
    path("offline/", views_offline.offline_form, name="offline"),
    path("offline/sw.js", views_offline.offline_worker, name="offline_worker"),
]
