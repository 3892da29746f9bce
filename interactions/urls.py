from django.urls import path

from interactions import views

urlpatterns = [
    path("log/", views.interaction_log_view, name="interaction-log"),
    path("interactions/", views.interaction_list_view, name="interaction-table"),
    path("customers/<int:pk>/", views.customer_detail_view, name="customer-page"),
    path("walk-ins/", views.check_in_queue_view, name="checkin-queue"),
    path("walk-ins/<int:pk>/greet/", views.check_in_greet_view, name="checkin-greet"),
    path("walk-ins/<int:pk>/finish/", views.check_in_finish_view, name="checkin-finish"),
    path("walk-ins/<int:pk>/walk-out/", views.check_in_walk_out_view, name="checkin-walk-out"),
]
