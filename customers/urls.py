from django.urls import path

from customers import views

urlpatterns = [
    path("customers/", views.customer_search_view, name="customer-search"),
    path("customers/new/", views.customer_create_view, name="customer-create"),
    path("customers/<int:pk>/edit/", views.customer_edit_view, name="customer-edit"),
]
