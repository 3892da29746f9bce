from django.urls import path

from feedback import views

urlpatterns = [
    path("s/<str:token>/", views.survey_view, name="survey"),
    path("follow-ups/", views.follow_up_list_view, name="follow-ups"),
    path("follow-ups/<int:pk>/", views.follow_up_view, name="follow-up"),
    path(
        "follow-ups/<int:pk>/<slug:action>/", views.follow_up_action_view, name="follow-up-action"
    ),
    path("surveys/", views.response_rates_view, name="response-rates"),
]
