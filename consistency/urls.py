from django.urls import path

from consistency import case_views, priority_views, staff_views, type_views, views

urlpatterns = [
    path("comparison/", views.comparison_view, name="comparison"),
    path("funnel/", views.funnel_view, name="funnel"),
    path("priorities/", priority_views.priorities_view, name="priorities"),
    path("complaint-types/", type_views.complaint_types_view, name="complaint-types"),
    path("branches/<slug:code>/", views.branch_view, name="branch-page"),
    path("cases/", case_views.case_queue_view, name="case-queue"),
    path("cases/acknowledge/", case_views.cases_acknowledge_view, name="cases-acknowledge"),
    path("cases/<int:pk>/", case_views.case_detail_view, name="case-page"),
    path("cases/<int:pk>/<slug:action>/", case_views.case_action_view, name="case-action"),
    path("flags/", views.flag_queue_view, name="flag-queue"),
    path("flags/<int:pk>/", views.flag_detail_view, name="flag-page"),
    path("staff/", staff_views.staff_team_view, name="staff-team"),
    path("staff/<int:pk>/", staff_views.staff_agent_view, name="staff-agent"),
]
