from django.urls import path

from consistency import views

urlpatterns = [
    path("comparison/", views.comparison_view, name="comparison"),
    path("funnel/", views.funnel_view, name="funnel"),
    path("branches/<slug:code>/", views.branch_view, name="branch-page"),
    path("flags/", views.flag_queue_view, name="flag-queue"),
    path("flags/<int:pk>/", views.flag_detail_view, name="flag-page"),
    path("flags/<int:pk>/<slug:action>/", views.flag_action_view, name="flag-action"),
]
