from django.urls import path

from . import views

app_name = "contest"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", views.competition_create, name="competition_create"),
    path("<int:pk>/", views.competition_detail, name="competition"),
    path("<int:pk>/edit/", views.competition_edit, name="competition_edit"),
    path("<int:pk>/events/new/", views.event_create, name="event_create"),
    path("<int:pk>/contestants/new/", views.contestant_create, name="contestant_create"),
    path("<int:pk>/judges/new/", views.judge_create, name="judge_create"),
    path("contestants/<int:pk>/enter/", views.contestant_enter, name="contestant_enter"),
    path("<int:pk>/supervision/", views.supervision, name="supervision"),
    path("<int:pk>/board/", views.board, name="board"),
    path("events/<int:pk>/", views.event_detail, name="event"),
    path("events/<int:pk>/edit/", views.event_edit, name="event_edit"),
    path("events/<int:pk>/items/", views.item_create, name="item_create"),
    path("items/<int:pk>/remove/", views.item_remove, name="item_remove"),
    path("events/<int:pk>/written/", views.written, name="written"),
    path("events/<int:pk>/advance/", views.advance, name="advance"),
    path("events/<int:pk>/panel/", views.panel, name="panel"),
    path("events/<int:pk>/draw/", views.draw, name="draw"),
    path("events/<int:pk>/open/", views.judging_open, name="judging_open"),
    path("events/<int:pk>/close/", views.round_close, name="round_close"),
    path("events/<int:pk>/results/", views.results, name="results"),
    path("events/<int:pk>/sign/", views.sign, name="sign"),
    path("events/<int:pk>/publish/", views.publish, name="publish"),
    path("events/<int:pk>/certificates/", views.certificates, name="certificates"),
    path("sheets/", views.my_sheets, name="my_sheets"),
    path("sheets/<int:pk>/", views.sheet_detail, name="sheet"),
    path("sheets/<int:pk>/correct/", views.correction_create, name="correction_create"),
    path("corrections/<int:pk>/", views.correction_detail, name="correction"),
    path("results/", views.published, name="published"),
    path("results/<int:pk>/appeal/", views.appeal_create, name="appeal_create"),
    path("appeals/<int:pk>/", views.appeal_detail, name="appeal"),
]
