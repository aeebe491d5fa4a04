from django.urls import path

from . import views

app_name = "coal"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
