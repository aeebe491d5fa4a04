from django.urls import path

from . import views

app_name = "contest"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
