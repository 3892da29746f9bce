"""Pages of complaint handling (SPEC §10). The API's routes are complaint-list and
complaint-detail: the pages are named apart."""

from django.urls import path

from complaints import views

urlpatterns = [
    path("", views.complaint_queue_view, name="complaint-queue"),
    path("<int:pk>/", views.complaint_detail_view, name="complaint-page"),
    path("<int:pk>/<slug:action>/", views.complaint_action_view, name="complaint-action"),
]
