from django.urls import path

from . import views, views_tables

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_change_view, name="password_change"),
    path("units/", views.units, name="units"),
    path("units/<int:pk>/", views.unit_detail, name="unit"),
    path("units/<int:pk>/add/", views.unit_create, name="unit_create"),
    path("units/<int:pk>/rename/", views.unit_rename, name="unit_rename"),
    path("units/<int:pk>/move/", views.unit_move, name="unit_move"),
    path("units/<int:pk>/retire/", views.unit_retire, name="unit_retire"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_detail, name="user"),
    path("users/<int:pk>/active/", views.user_toggle_active, name="user_toggle_active"),
    path("memberships/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("audit/", views.audit_list, name="audit"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("todos/", views.todos, name="todos"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path("reports/", views.reports, name="reports"),
    path("tables/", views_tables.tables, name="tables"),
    path("tables/<slug:kind>/template/", views_tables.table_template, name="table_template"),
    path("tables/<slug:kind>/import/", views_tables.table_import, name="table_import"),
    path("tables/jobs/<int:pk>/", views_tables.table_job, name="table_job"),
    path("tables/jobs/<int:pk>/commit/", views_tables.table_job_commit, name="table_job_commit"),
    path("tables/jobs/<int:pk>/download/", views_tables.table_job_download, name="table_job_download"),
    path("health/", views.health, name="health"),
]
