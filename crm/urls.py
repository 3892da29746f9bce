from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from crm.views import api_not_found, api_server_error, favicon, healthz, home, language_set

api_v1 = [
    path("", include("branches.api")),
    path("", include("customers.api")),
    path("", include("interactions.api")),
    path("", include("complaints.api")),
    path("", include("consistency.api")),
    path("", include("consistency.case_api")),
    path("", include("consistency.staff_api")),
    path("", include("consistency.priority_api")),
    path("", include("consistency.type_api")),
    path("", include("feedback.api")),
    path("", include("quality.api")),
    path("", include("crm.api")),
    path("", include("crm.audit_api")),
]

urlpatterns = [
    path("", home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", language_set, name="language-set"),
    path("", include("customers.urls")),
    path("", include("interactions.urls")),
    path("complaints/", include("complaints.urls")),
    path("", include("consistency.urls")),
    path("", include("feedback.urls")),
    path("", include("quality.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

handler404 = api_not_found
handler500 = api_server_error

# The product's name; lazy, so a language that names it otherwise can.
admin.site.site_header = _("Branch CRM")
admin.site.site_title = _("Branch CRM")
