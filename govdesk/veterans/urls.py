from django.urls import path

from . import views

app_name = "veterans"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
