from django.urls import path

from . import views

app_name = "mall"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
