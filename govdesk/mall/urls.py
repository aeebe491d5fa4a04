from django.urls import path

from . import views

app_name = "mall"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("categories/", views.categories, name="categories"),
    path("categories/new/", views.category_new, name="category_new"),
    path("products/new/", views.product_new, name="product_new"),
    path("products/<int:pk>/", views.product_detail, name="product"),
    path("offers/", views.offers, name="offers"),
    path("offers/new/", views.offer_edit, name="offer_new"),
    path("offers/<int:pk>/", views.offer_edit, name="offer_edit"),
    path("offers/<int:pk>/cart/", views.cart_add, name="cart_add"),
    path("admissions/", views.admissions, name="admissions"),
    path("admissions/apply/", views.admission_apply, name="admission_apply"),
    path("admissions/<int:pk>/decide/", views.admission_decide, name="admission_decide"),
    path("admissions/<int:pk>/files/", views.admission_document_add, name="admission_document_add"),
    path("sanctions/", views.sanctions, name="sanctions"),
    path("files/<str:kind>/<int:pk>/", views.stored_file, name="file"),
    path("cart/", views.cart, name="cart"),
    path("cart/<int:pk>/", views.cart_line, name="cart_line"),
    path("cart/place/", views.order_place, name="order_place"),
    path("cart/negotiate/", views.cart_negotiate, name="cart_negotiate"),
    path("negotiations/<int:pk>/", views.negotiation_detail, name="negotiation"),
    path("orders/", views.orders, name="orders"),
    path("orders/export/", views.orders_export, name="orders_export"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/<str:action>/", views.order_action, name="order_action"),
    path("orders/<int:pk>/negotiation/<str:action>/", views.negotiate, name="negotiate"),
    path("approvals/", views.approvals, name="approvals"),
    path("settings/", views.settings_page, name="settings"),
    path("flags/", views.flags, name="flags"),
    path("flags/export/", views.flags_export, name="flags_export"),
    path("flags/<int:pk>/", views.flag_detail, name="flag"),
]
