"""Pages of call monitoring (SPEC §8)."""

from django.urls import path

from quality import review_views, views

urlpatterns = [
    path("quality/queue/", views.queue_view, name="quality-queue"),
    path(
        "quality/interactions/<int:pk>/review/",
        review_views.review_new_view,
        name="quality-review-new",
    ),
    path("quality/reviews/", views.review_list_view, name="quality-reviews"),
    path("quality/reviews/<int:pk>/", review_views.review_view, name="quality-review"),
    path("quality/calibration/", views.calibration_list_view, name="quality-calibrations"),
    path("quality/calibration/<int:pk>/", views.calibration_view, name="quality-calibration"),
    path("quality/scorecards/", views.scorecards_view, name="quality-scorecards"),
]
